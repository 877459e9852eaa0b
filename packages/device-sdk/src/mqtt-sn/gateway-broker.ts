// The broker side of the gateway: one MQTT session per MQTT-SN client, over mTLS with that
// client's own certificate (so the broker's per-device identity and ACLs still apply). The
// default link is gateway-link.ts. Internal.
import { describe } from './bytes.js';
import { MqttSnError } from './errors.js';
import type { BrokerCommand, BrokerResult } from './gateway-session.js';

/**
 * A certificate and private key (PEM) for one MQTT connection.
 *
 * @example
 * ```ts
 * import type { BrokerCredentials } from '@outpost/device-sdk/mqtt-sn';
 * const c: BrokerCredentials = { cert: '-----BEGIN CERTIFICATE-----…', key: '-----BEGIN PRIVATE KEY-----…' };
 * typeof c.cert; // 'string'
 * ```
 */
export interface BrokerCredentials {
  readonly cert: string | Uint8Array;
  readonly key: string | Uint8Array;
}

/**
 * Where the gateway finds each client's broker credentials: a record or map keyed by MQTT-SN
 * client id, or a function (sync or async) returning them, or `undefined` for "none".
 *
 * @example
 * ```ts
 * import type { CredentialSource } from '@outpost/device-sdk/mqtt-sn';
 * const byFunction: CredentialSource = async (clientId) => undefined;
 * typeof byFunction; // 'function'
 * ```
 */
export type CredentialSource =
  | Readonly<Record<string, BrokerCredentials>>
  | ReadonlyMap<string, BrokerCredentials>
  | ((clientId: string) => BrokerCredentials | undefined | Promise<BrokerCredentials | undefined>);

/**
 * The MQTT broker the gateway bridges to.
 *
 * @example
 * ```ts
 * import type { GatewayBrokerOptions } from '@outpost/device-sdk/mqtt-sn';
 * const b: GatewayBrokerOptions = { url: 'mqtts://broker.example:8883', ca: '-----BEGIN CERTIFICATE-----…', protocolVersion: 4 };
 * b.protocolVersion; // 4
 * ```
 */
export interface GatewayBrokerOptions {
  /** `mqtts://host:port` (or `mqtt://` only with `insecure: true`). */
  readonly url: string;
  /** The CA(s) that signed the broker's certificate. */
  readonly ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  /** MQTT version towards the broker (default 4 = 3.1.1). */
  readonly protocolVersion?: 4 | 5;
  /** Broker connect timeout (default 10 000 ms). */
  readonly connectTimeoutMs?: number;
  /** Allow a plain `mqtt://` broker URL (development only). */
  readonly insecure?: boolean;
}

/**
 * What the gateway asks for when a client connects: one broker session for that client.
 *
 * @example
 * ```ts
 * import type { BrokerConnectRequest } from '@outpost/device-sdk/mqtt-sn';
 * const r: BrokerConnectRequest = { clientId: 's1', creds: undefined, clean: true, keepAliveS: 60, will: undefined };
 * r.clean; // true
 * ```
 */
export interface BrokerConnectRequest {
  readonly clientId: string;
  readonly creds: BrokerCredentials | undefined;
  readonly clean: boolean;
  readonly keepAliveS: number;
  readonly will: { topic: string; payload: Uint8Array; qos: 0 | 1 | 2; retain: boolean } | undefined;
}

/**
 * What a {@link BrokerLink} reports back to its session.
 *
 * @example
 * ```ts
 * import type { BrokerLinkHandlers } from '@outpost/device-sdk/mqtt-sn';
 * const got: string[] = [];
 * const h: BrokerLinkHandlers = { message: (topic) => { got.push(topic); }, close: () => {}, error: () => {} };
 * h.message('devices/s1/cmd', new Uint8Array(), 1, false);
 * got; // ['devices/s1/cmd']
 * ```
 */
export interface BrokerLinkHandlers {
  message(topic: string, payload: Uint8Array, qos: 0 | 1 | 2, retain: boolean): void;
  close(): void;
  error(e: Error): void;
}

/**
 * One client's broker session as the gateway uses it. The default is the gateway's own MQTT
 * session on mqtt-packet (over mTLS, TCP_NODELAY, keep-alive); tests and custom bridges may pass
 * their own through `MqttSnGatewayOptions.connectBroker`. A rejected publish carries the MQTT
 * reason code in `code` (a number ≥ 0x80 is final), or is an MqttSnError with `returnCode` 3.
 *
 * @example
 * ```ts
 * import type { BrokerLink } from '@outpost/device-sdk/mqtt-sn';
 * const sink: BrokerLink = {
 *   publish: async () => {}, subscribe: async (_f, qos) => qos, unsubscribe: async () => {},
 *   end: async () => {}, listen: () => {},
 * };
 * await sink.subscribe('a/#', 1); // 1
 * ```
 */
export interface BrokerLink {
  /** QoS 0 resolves once written; QoS 1/2 once the broker acknowledged. */
  publish(topic: string, payload: Uint8Array, qos: 0 | 1 | 2, retain: boolean): Promise<void>;
  /** The same with a callback (no promise per message); the gateway's forward path uses it when present. */
  publishCallback?(topic: string, payload: Uint8Array, qos: 0 | 1 | 2, retain: boolean, done: (err?: Error) => void): void;
  /** Resolves with the granted QoS, or 0x80 for a refusal. */
  subscribe(filter: string, qos: 0 | 1 | 2): Promise<number>;
  unsubscribe(filter: string): Promise<void>;
  /** `abrupt`: close without DISCONNECT so the broker publishes the will (MQTT 3.1.1 §3.1.2.5). */
  end(abrupt: boolean): Promise<void>;
  listen(h: BrokerLinkHandlers): void;
}

export async function lookupCredentials(src: CredentialSource | undefined, clientId: string): Promise<BrokerCredentials | undefined> {
  if (src === undefined) return undefined;
  if (typeof src === 'function') return await src(clientId);
  if (src instanceof Map) return src.get(clientId);
  const rec = src as Readonly<Record<string, BrokerCredentials>>;
  return Object.prototype.hasOwnProperty.call(rec, clientId) ? rec[clientId] : undefined;
}

export function checkCredentialSource(fn: string, src: unknown): void {
  if (src === undefined || typeof src === 'function' || src instanceof Map) return;
  if (src === null || typeof src !== 'object') throw new TypeError(`${fn}: credentials: expected a record, a Map or a function, got ${describe(src)}`);
  for (const [k, v] of Object.entries(src)) {
    const c = v as Record<string, unknown> | null;
    if (c === null || typeof c !== 'object' || (typeof c['cert'] !== 'string' && !(c['cert'] instanceof Uint8Array)) || (typeof c['key'] !== 'string' && !(c['key'] instanceof Uint8Array))) {
      throw new TypeError(`${fn}: credentials["${k}"]: expected { cert, key } as PEM strings or bytes`);
    }
  }
}


/** The gateway's choice of broker credentials for a client (its own, or the gateway's per `useGatewayIdentity`). */
export async function credentialsFor(o: { readonly useGatewayIdentity?: 'never' | 'fallback' | 'always'; readonly identity?: BrokerCredentials; readonly credentials?: CredentialSource }, clientId: string): Promise<BrokerCredentials | undefined> {
  const mode = o.useGatewayIdentity ?? 'never';
  if (mode === 'always') return o.identity;
  const own = await lookupCredentials(o.credentials, clientId);
  return own ?? (mode === 'fallback' ? o.identity : undefined);
}

/** The one successful outcome (shared: a session never changes it). */
export const OK: BrokerResult = { ok: true };

/** Runs a session's publish/subscribe/unsubscribe on its link and reports the outcome. */
export function runBrokerCommand(link: BrokerLink | undefined, c: Exclude<BrokerCommand, { kind: 'will' }>, done: (r: BrokerResult) => void): void {
  const fail = (error: unknown): void => done({ ok: false, error: error as Error });
  if (link === undefined) return fail(new MqttSnError('NOT_CONNECTED', 'no broker connection'));
  if (c.kind === 'publish') {
    // The hot path: a callback, no promise per message, when the link offers one.
    if (link.publishCallback !== undefined) link.publishCallback(c.topic, c.payload, c.qos, c.retain, (err) => done(err === undefined ? OK : { ok: false, error: err }));
    else link.publish(c.topic, c.payload, c.qos, c.retain).then(() => done(OK), fail);
  } else if (c.kind === 'subscribe') link.subscribe(c.filter, c.qos).then((granted) => done({ ok: true, granted }), fail);
  else link.unsubscribe(c.filter).then(() => done(OK), () => done(OK));
}
