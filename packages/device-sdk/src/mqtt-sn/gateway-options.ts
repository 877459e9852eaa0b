// The gateway's options, limits, counters and events, and the one place options are checked.
import { describe } from './bytes.js';
import { checkCredentialSource, type BrokerConnectRequest, type BrokerCredentials, type BrokerLink, type CredentialSource, type GatewayBrokerOptions } from './gateway-broker.js';
import type { MqttSnError } from './errors.js';
import { resolveRetry, type RetryPolicy } from './timers.js';
import { checkAggregateOptions, DEFAULT_NAMESPACE, namespaceAuthorizer, type AdmitSource, type Authorize } from './gateway-authorize.js';
import type { Clock } from '../transports/clock.js';
import type { DatagramBinder, UdpPeer } from './udp.js';

/**
 * Per-gateway and per-client limits, each with its default. A limit reached is answered with
 * the spec's return code and counted in {@link MqttSnGatewayStats}; nothing grows unbounded.
 *
 * @example
 * ```ts
 * import { DEFAULT_GATEWAY_LIMITS } from '@outpost/device-sdk/mqtt-sn';
 * DEFAULT_GATEWAY_LIMITS.maxRegistrations; // 1000
 * DEFAULT_GATEWAY_LIMITS.maxInflight; // 10
 * ```
 */
export interface MqttSnGatewayLimits {
  /** Clients served at once (default 1000); beyond, CONNACK "rejected: congestion". */
  readonly maxClients: number;
  /** Topic names registered per client, by either side (default 1000); beyond, REGACK "rejected: congestion". */
  readonly maxRegistrations: number;
  /** Topic filters subscribed per client (default 100); beyond, SUBACK "rejected: congestion". */
  readonly maxSubscriptions: number;
  /** QoS 1/2 PUBLISHes per client awaiting the broker or PUBREL (default 10); beyond, PUBACK "rejected: congestion". */
  readonly maxInflight: number;
  /** Messages buffered per sleeping client (default 20); beyond, the oldest is dropped. */
  readonly sleepBufferMax: number;
  /** Payload bytes buffered per sleeping client (default 65 536); beyond, the oldest is dropped. */
  readonly sleepBufferBytes: number;
  /** Messages queued per active client (default 1000); beyond, the oldest is dropped. */
  readonly maxQueued: number;
  /** Payload bytes queued per active client (default 1 MiB); beyond, the oldest is dropped. */
  readonly maxQueuedBytes: number;
  /** Will topic + message bytes (default 1024); beyond, CONNACK / WILL…RESP "not supported". */
  readonly maxWillBytes: number;
}

/**
 * The defaults of {@link MqttSnGatewayLimits}.
 *
 * @example
 * ```ts
 * import { DEFAULT_GATEWAY_LIMITS } from '@outpost/device-sdk/mqtt-sn';
 * DEFAULT_GATEWAY_LIMITS.maxClients; // 1000
 * DEFAULT_GATEWAY_LIMITS.sleepBufferBytes; // 65536
 * ```
 */
export const DEFAULT_GATEWAY_LIMITS: MqttSnGatewayLimits = Object.freeze({
  maxClients: 1000,
  maxRegistrations: 1000,
  maxSubscriptions: 100,
  maxInflight: 10,
  sleepBufferMax: 20,
  sleepBufferBytes: 65_536,
  maxQueued: 1000,
  maxQueuedBytes: 1 << 20,
  maxWillBytes: 1024,
});

/**
 * Options for {@link MqttSnGateway}. The limits of {@link MqttSnGatewayLimits} are options too.
 *
 * @example
 * ```ts
 * import type { MqttSnGatewayOptions } from '@outpost/device-sdk/mqtt-sn';
 * const o: MqttSnGatewayOptions = {
 *   udp: { host: '127.0.0.1', port: 10000 },
 *   broker: { url: 'mqtts://127.0.0.1:8883', ca: '-----BEGIN CERTIFICATE-----…' },
 *   credentials: (clientId) => undefined,
 *   predefinedTopics: { 1: 'devices/gw-1/beacon' },
 *   maxRegistrations: 100,
 * };
 * o.udp?.port; // 10000
 * ```
 */
export interface MqttSnGatewayOptions extends Partial<MqttSnGatewayLimits> {
  /**
   * UDP address to serve on (default 0.0.0.0:10000, the Paho gateway's port), and the socket's
   * receive buffer (default 4 MiB, capped by the kernel's net.core.rmem_max): a burst from a
   * fleet must not overflow the kernel's default ~208 KiB.
   */
  readonly udp?: { readonly host?: string; readonly port?: number; readonly recvBufferSize?: number };
  readonly broker: GatewayBrokerOptions;
  /** Per-client broker credentials (client id → cert/key), or a resolver. */
  readonly credentials?: CredentialSource;
  /**
   * The gateway's own identity: its MQTT client id and certificate. Used for QoS −1 publishes
   * (which come from unconnected clients, MQTT-SN 1.2 §6.8) and, with `useGatewayIdentity`,
   * for clients without credentials.
   */
  readonly identity?: BrokerCredentials & { readonly clientId: string };
  /**
   * `'never'` (default): a client without its own credentials is refused (CONNACK 3).
   * `'fallback'`: such clients connect with the gateway's identity. `'always'`: every client
   * does (one shared identity: the broker can no longer tell devices apart — avoid).
   */
  readonly useGatewayIdentity?: 'never' | 'fallback' | 'always';
  /** Predefined topic ids (id → topic name, MQTT-SN 1.2 §6.7), the same for every client. */
  readonly predefinedTopics?: Readonly<Record<number, string>>;
  /** GwId in ADVERTISE and GWINFO (default 1). */
  readonly gwId?: number;
  /** Where to send ADVERTISE (MQTT-SN 1.2 §6.1), and how often (default every 900 s). */
  readonly advertise?: { readonly targets: ReadonlyArray<{ readonly host: string; readonly port: number }>; readonly intervalS?: number };
  /** Tretry/Nretry/jitter for gateway-initiated exchanges (default 10 s / 3 / 0.25). */
  readonly retry?: Partial<RetryPolicy>;
  /** Largest accepted datagram (default 65535). */
  readonly maxMessageBytes?: number;
  /** Time and timers (default the system clock; a timer never fires early). */
  readonly clock?: Clock;
  /** The datagram side (default: UDP on `udp`). */
  readonly transport?: DatagramBinder;
  /** The broker side (default: one MQTT session per client, or the one shared session in aggregating mode, to `broker`). */
  readonly connectBroker?: (request: BrokerConnectRequest) => Promise<BrokerLink>;
  /**
   * `'transparent'` (default, MQTT-SN 1.2 §4 "Transparent Gateway"): one broker connection per client, with the
   * client's own certificate; the broker authorises each device. `'aggregating'` (§4 "Aggregating Gateway"): ONE
   * broker connection under `identity` carries every client; the gateway itself admits client
   * ids (`admit`, else `credentials`) and confines each client to `namespace` / `authorize`.
   */
  readonly mode?: 'transparent' | 'aggregating';
  /**
   * Aggregating mode: topic patterns a client may publish to and subscribe inside, `%c` the
   * client id (default `['devices/%c/#']`, the fleet broker ACL's device pattern). Ignored when
   * `authorize` is given.
   */
  readonly namespace?: readonly string[];
  /** Aggregating mode: the authorisation itself, `true` allows (replaces `namespace`). Called for PUBLISH topics, REGISTER, SUBSCRIBE filters and wills. */
  readonly authorize?: Authorize;
  /**
   * Aggregating mode: the client ids served (a list, a Set, or a function). Default: a client id
   * with an entry in `credentials`. Either way a client id must be a device id
   * (`[A-Za-z0-9._-]{1,64}`); others get CONNACK 3.
   */
  readonly admit?: AdmitSource;
  /** Aggregating mode: QoS 1/2 PUBLISHes on the broker link awaiting the broker (default 10 000); beyond, PUBACK 1 "congestion". */
  readonly maxLinkInflight?: number;
  /** Aggregating mode: reconnect delays of the broker link (default { min: 500, max: 30 000 } ms, doubling, jittered 50–100 %). */
  readonly linkBackoffMs?: { readonly min: number; readonly max: number };
}

/**
 * Counters of a running gateway.
 *
 * @example
 * ```ts
 * import type { MqttSnGatewayStats } from '@outpost/device-sdk/mqtt-sn';
 * const s: Partial<MqttSnGatewayStats> = { malformed: 0, rejectedRegistrations: 0 };
 * s.malformed; // 0
 * ```
 */
export interface MqttSnGatewayStats {
  datagramsIn: number;
  datagramsOut: number;
  malformed: number;
  unknownClient: number;
  clients: number;
  publishesIn: number;
  publishesOut: number;
  qosMinus1: number;
  sleepBuffered: number;
  sleepDropped: number;
  /** Messages dropped because an active client's queue was full. */
  queueDropped: number;
  retransmissions: number;
  /** CONNECTs refused (too many clients, no credentials, broker refused). */
  rejected: number;
  /** REGISTERs (both directions) refused at `maxRegistrations`. */
  rejectedRegistrations: number;
  /** SUBSCRIBEs refused at `maxSubscriptions`. */
  rejectedSubscriptions: number;
  /** PUBLISHes refused at `maxInflight`. */
  rejectedPublishes: number;
  /** Wills refused at `maxWillBytes`. */
  rejectedWills: number;
  lost: number;
  /** TLS secure contexts built for broker connections: one per distinct credential set (CA, certificate, key), not one per connect. */
  tlsContexts: number;
  /** Aggregating mode: PUBLISH topics, REGISTERs, SUBSCRIBE filters and wills refused by the gateway's own authorisation. */
  unauthorized: number;
  /** Broker connections open now (per client in transparent mode; 1 in aggregating mode while the link is up; QoS −1's own not counted). */
  brokerLinks: number;
  /** Aggregating mode: times the broker link went down. */
  linkDrops: number;
}

/**
 * Events of an {@link MqttSnGateway}.
 *
 * @example
 * ```ts
 * import type { MqttSnGatewayEvents } from '@outpost/device-sdk/mqtt-sn';
 * const e: keyof MqttSnGatewayEvents = 'malformed';
 * e; // 'malformed'
 * ```
 */
export interface MqttSnGatewayEvents extends Record<string, unknown> {
  /** A datagram that did not decode; it was dropped. */
  malformed: { readonly from: UdpPeer; readonly error: MqttSnError; readonly length: number };
  /** A client's life: connect, sleep, wake, disconnect, lost (will published), rejected. */
  client: { readonly clientId: string; readonly event: 'connect' | 'sleep' | 'wake' | 'disconnect' | 'lost' | 'rejected'; readonly reason?: string };
  /** A message for a client dropped (a full buffer or queue, or no topic id left). */
  dropped: { readonly clientId: string; readonly topic: string };
  /** Aggregating mode: a client's PUBLISH, REGISTER, SUBSCRIBE or will refused by the gateway's authorisation. */
  unauthorized: { readonly clientId: string; readonly action: 'publish' | 'subscribe'; readonly topic: string };
  /** Aggregating mode: the broker link came up or went down (sessions stay; it reconnects). */
  link: { readonly up: boolean; readonly reason?: string };
  /** Anything else that went wrong (broker errors); the gateway keeps serving. */
  error: { readonly error: Error; readonly clientId?: string };
}

export interface ResolvedGatewayOptions {
  readonly limits: MqttSnGatewayLimits;
  readonly retry: RetryPolicy;
  readonly predefinedById: Map<number, string>;
  readonly predefinedByName: Map<string, number>;
  readonly recvBufferSize: number;
  /** Aggregating mode only: the authorisation in force. */
  readonly authorize: Authorize | undefined;
}

function intOption(fn: string, name: string, v: unknown, min: number, max: number): void {
  if (typeof v !== 'number') throw new TypeError(`${fn}: ${name}: expected a number, got ${describe(v)}`);
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${fn}: ${name}: expected an integer ${min}…${max}, got ${v}`);
}

/** Checks every option once, where it enters. */
export function resolveGatewayOptions(options: MqttSnGatewayOptions): ResolvedGatewayOptions {
  const fn = 'MqttSnGateway';
  if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: options: expected an object, got ${describe(options)}`);
  const b = options.broker as GatewayBrokerOptions | undefined;
  if (b === null || typeof b !== 'object') throw new TypeError(`${fn}: broker: expected { url, ca? }, got ${describe(b)}`);
  if (typeof b.url !== 'string') throw new TypeError(`${fn}: broker.url: expected a string, got ${describe(b.url)}`);
  let url: URL;
  try { url = new URL(b.url); } catch { throw new RangeError(`${fn}: broker.url: not a URL: ${JSON.stringify(b.url)}`); }
  if (url.protocol !== 'mqtts:' && url.protocol !== 'ssl:' && !(b.insecure === true && url.protocol === 'mqtt:')) {
    throw new RangeError(`${fn}: broker.url: expected mqtts:// (plain mqtt:// needs broker.insecure: true), got ${url.protocol}//`);
  }
  if (b.protocolVersion !== undefined && b.protocolVersion !== 4 && b.protocolVersion !== 5) throw new RangeError(`${fn}: broker.protocolVersion: expected 4 or 5, got ${String(b.protocolVersion)}`);
  checkCredentialSource(fn, options.credentials);
  const u = options.useGatewayIdentity ?? 'never';
  if (u !== 'never' && u !== 'fallback' && u !== 'always') throw new RangeError(`${fn}: useGatewayIdentity: expected 'never', 'fallback' or 'always', got ${JSON.stringify(u)}`);
  if (u !== 'never' && options.identity === undefined) throw new RangeError(`${fn}: useGatewayIdentity '${u}' needs identity { clientId, cert, key }`);
  if (options.identity !== undefined) {
    const id = options.identity as unknown as Record<string, unknown> | null;
    if (id === null || typeof id !== 'object' || typeof id['clientId'] !== 'string') throw new TypeError(`${fn}: identity: expected { clientId, cert, key }`);
  }
  const port = options.udp?.port ?? 10000;
  if (typeof port !== 'number') throw new TypeError(`${fn}: udp.port: expected a number, got ${describe(port)}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`${fn}: udp.port: expected 0…65535, got ${port}`);
  const recvBufferSize = options.udp?.recvBufferSize ?? 4 << 20;
  intOption(fn, 'udp.recvBufferSize', recvBufferSize, 1024, 1 << 30);
  const limits: Record<string, number> = { ...DEFAULT_GATEWAY_LIMITS };
  for (const k of Object.keys(DEFAULT_GATEWAY_LIMITS) as Array<keyof MqttSnGatewayLimits>) {
    const v = options[k];
    if (v === undefined) continue;
    intOption(fn, k, v, k === 'sleepBufferMax' ? 0 : 1, k === 'maxRegistrations' ? 0xfffe : Number.MAX_SAFE_INTEGER);
    limits[k] = v;
  }
  if (options.maxLinkInflight !== undefined) intOption(fn, 'maxLinkInflight', options.maxLinkInflight, 1, 65_535);
  checkAggregateOptions(fn, options);
  if (options.transport !== undefined && typeof options.transport !== 'function') throw new TypeError(`${fn}: transport: expected a function, got ${describe(options.transport)}`);
  if (options.connectBroker !== undefined && typeof options.connectBroker !== 'function') throw new TypeError(`${fn}: connectBroker: expected a function, got ${describe(options.connectBroker)}`);
  const predefinedById = new Map<number, string>();
  if (options.predefinedTopics !== undefined) {
    if (options.predefinedTopics === null || typeof options.predefinedTopics !== 'object') throw new TypeError(`${fn}: predefinedTopics: expected an object, got ${describe(options.predefinedTopics)}`);
    for (const [k, v] of Object.entries(options.predefinedTopics)) {
      const id = Number(k);
      if (!Number.isInteger(id) || id < 1 || id > 0xfffe) throw new RangeError(`${fn}: predefinedTopics: id ${k}: expected 1…65534`);
      if (typeof v !== 'string' || v.length === 0) throw new TypeError(`${fn}: predefinedTopics[${k}]: expected a topic name, got ${describe(v)}`);
      predefinedById.set(id, v);
    }
  }
  return {
    limits: limits as unknown as MqttSnGatewayLimits,
    retry: resolveRetry(fn, options.retry === undefined ? undefined : { ...options.retry }),
    predefinedById,
    predefinedByName: new Map([...predefinedById].map(([k, v]) => [v, k])),
    recvBufferSize,
    authorize: options.mode !== 'aggregating' ? undefined : options.authorize ?? namespaceAuthorizer(options.namespace ?? DEFAULT_NAMESPACE, limits['maxClients'] as number),
  };
}
