// The broker side of the gateway: one MQTT.js connection per MQTT-SN client, over mTLS with
// that client's own certificate (so the broker's per-device identity and ACLs still apply).
// Internal.
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { describe } from './bytes.js';

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

export interface BrokerConnectRequest {
  readonly clientId: string;
  readonly creds: BrokerCredentials | undefined;
  readonly clean: boolean;
  readonly keepAliveS: number;
  readonly will: { topic: string; payload: Uint8Array; qos: 0 | 1 | 2; retain: boolean } | undefined;
}

function pem(v: string | Uint8Array): string | Buffer {
  return typeof v === 'string' ? v : Buffer.from(v);
}

export async function connectBroker(b: GatewayBrokerOptions, r: BrokerConnectRequest): Promise<MqttClient> {
  const opts: IClientOptions = {
    clientId: r.clientId,
    protocolVersion: b.protocolVersion ?? 4,
    clean: r.clean,
    keepalive: Math.max(0, Math.min(r.keepAliveS, 65535)),
    reconnectPeriod: 0,
    connectTimeout: b.connectTimeoutMs ?? 10_000,
    rejectUnauthorized: true,
    ...(b.ca !== undefined ? { ca: (Array.isArray(b.ca) ? b.ca : [b.ca]).map((c: string | Uint8Array) => (typeof c === 'string' ? c : Buffer.from(c).toString('utf8'))) } : {}),
    ...(r.creds !== undefined ? { cert: pem(r.creds.cert), key: pem(r.creds.key) } : {}),
    ...(r.will !== undefined ? { will: { topic: r.will.topic, payload: Buffer.from(r.will.payload), qos: r.will.qos, retain: r.will.retain } } : {}),
  };
  return connectAsync(b.url, opts);
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

/** Closes without DISCONNECT, so the broker publishes the will (MQTT 3.1.1 §3.1.2.5). */
export function dropBroker(mq: MqttClient): void {
  mq.end(true);
}

export async function endBroker(mq: MqttClient): Promise<void> {
  await mq.endAsync(false).catch(() => undefined);
}
