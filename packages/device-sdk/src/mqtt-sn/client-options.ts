// The client's options, events and states, and the one place its options are checked.
import { describe, utf8 } from './bytes.js';
import type { MqttSnError } from './errors.js';
import type { MqttSnQoS, PublishTopic } from './messages.js';
import type { RetryPolicy } from './timers.js';
import type { Clock } from '../transports/clock.js';
import type { DatagramBinder } from '../transports/datagram.js';

/**
 * A will message the gateway publishes if the client is lost (MQTT-SN 1.2 §6.2, §6.4).
 *
 * @example
 * ```ts
 * import type { MqttSnWill } from '@outpost/device-sdk/mqtt-sn';
 * const will: MqttSnWill = { topic: 'devices/s1/status', payload: 'offline', qos: 1, retain: true };
 * will.qos; // 1
 * ```
 */
export interface MqttSnWill {
  readonly topic: string;
  readonly payload: Uint8Array | string;
  readonly qos?: 0 | 1 | 2;
  readonly retain?: boolean;
}

/**
 * Options of the client state machine ({@link MqttSnClientMachine}): the protocol side of
 * {@link MqttSnClientOptions}, without sockets or clocks.
 *
 * @example
 * ```ts
 * import type { MqttSnClientMachineOptions } from '@outpost/device-sdk/mqtt-sn';
 * const o: MqttSnClientMachineOptions = { clientId: 's1', keepAliveS: 30 };
 * o.keepAliveS; // 30
 * ```
 */
export interface MqttSnClientMachineOptions {
  /** 1…23 bytes (MQTT-SN 1.2 §5.3.1). With a per-client gateway this is also the MQTT client id. */
  readonly clientId: string;
  /** Keep-alive Duration in seconds (default 60; 0 disables PINGREQ). */
  readonly keepAliveS?: number;
  /** CleanSession flag (default true). */
  readonly cleanSession?: boolean;
  readonly will?: MqttSnWill;
  /** Tretry/Nretry (default 10 s / 3, MQTT-SN 1.2 §7.2). */
  readonly retry?: Partial<RetryPolicy>;
  /** Topic names the gateway knows by predefined id (name → id, MQTT-SN 1.2 §6.7). */
  readonly predefinedTopics?: Readonly<Record<string, number>>;
  /** Largest accepted datagram (default 65535). */
  readonly maxMessageBytes?: number;
  /** Most topic names the client keeps registered, its own and the gateway's (default 1000); beyond, the gateway's REGISTER gets REGACK "rejected: congestion". */
  readonly maxRegistrations?: number;
  /** QoS 2 message ids from the gateway awaiting PUBREL (default 10); beyond, PUBACK "rejected: congestion". */
  readonly maxAwaitingRelease?: number;
  /** Messages `wake()` collects into its result (default 1000); beyond, they are only emitted as `message` events (counted in `stats.wakeOverflow`). */
  readonly maxWakeMessages?: number;
  /** Random numbers in [0, 1) for the retransmission jitter (default Math.random). */
  readonly random?: () => number;
}

/**
 * Options for {@link connectMqttSn}: the machine's options plus the gateway address, the
 * socket, the clock and an abort signal for the connect.
 *
 * @example
 * ```ts
 * import type { MqttSnClientOptions } from '@outpost/device-sdk/mqtt-sn';
 * const o: MqttSnClientOptions = { gateway: { host: '127.0.0.1', port: 10000 }, clientId: 's1' };
 * o.clientId; // 's1'
 * ```
 */
export interface MqttSnClientOptions extends MqttSnClientMachineOptions {
  /** The gateway's UDP address. */
  readonly gateway: { readonly host: string; readonly port: number };
  /** Local address to bind (default '0.0.0.0'; tests use '127.0.0.1'). */
  readonly bind?: { readonly host?: string; readonly port?: number };
  /** Time and timers (default the system clock; a timer never fires early). */
  readonly clock?: Clock;
  /** The datagram side (default: a UDP socket on `bind`). */
  readonly transport?: DatagramBinder;
  readonly signal?: AbortSignal;
}

/**
 * A PUBLISH delivered to the client.
 *
 * @example
 * ```ts
 * import type { MqttSnInbound } from '@outpost/device-sdk/mqtt-sn';
 * const m: MqttSnInbound = { topic: 'a/b', topicRef: { kind: 'normal', id: 1 }, payload: new Uint8Array(), qos: 1, retain: false };
 * m.topic; // 'a/b'
 * ```
 */
export interface MqttSnInbound {
  /** The topic name, when known (registered, predefined or short). */
  readonly topic: string | undefined;
  readonly topicRef: PublishTopic;
  readonly payload: Uint8Array;
  readonly qos: MqttSnQoS;
  readonly retain: boolean;
}

/**
 * Events of an {@link MqttSnClient}.
 *
 * @example
 * ```ts
 * import type { MqttSnClientEvents } from '@outpost/device-sdk/mqtt-sn';
 * const on: keyof MqttSnClientEvents = 'message';
 * on; // 'message'
 * ```
 */
export interface MqttSnClientEvents extends Record<string, unknown> {
  message: MqttSnInbound;
  /** The gateway sent DISCONNECT, or keep-alive failed: the client is disconnected. */
  disconnect: { readonly reason: string };
  /** A datagram from the gateway did not decode (it is dropped). */
  malformed: { readonly error: MqttSnError };
}

/**
 * Options for {@link MqttSnClient.publish}.
 *
 * @example
 * ```ts
 * import type { MqttSnPublishOptions } from '@outpost/device-sdk/mqtt-sn';
 * const o: MqttSnPublishOptions = { qos: 2 };
 * o.qos; // 2
 * ```
 */
export interface MqttSnPublishOptions {
  readonly qos?: 0 | 1 | 2;
  readonly retain?: boolean;
  readonly signal?: AbortSignal;
}

/**
 * The client's connection state.
 *
 * @example
 * ```ts
 * import type { MqttSnClientState } from '@outpost/device-sdk/mqtt-sn';
 * const s: MqttSnClientState = 'asleep';
 * s; // 'asleep'
 * ```
 */
export type MqttSnClientState = 'connecting' | 'active' | 'asleep' | 'awake' | 'disconnected' | 'closed';

export function rcName(rc: number): string {
  return rc === 0 ? 'accepted' : rc === 1 ? 'rejected: congestion' : rc === 2 ? 'rejected: invalid topic id' : rc === 3 ? 'rejected: not supported' : 'unknown';
}

export function validate(o: unknown): MqttSnClientOptions {
  const fn = 'connectMqttSn';
  if (o === null || typeof o !== 'object') throw new TypeError(`${fn}: options: expected an object, got ${describe(o)}`);
  const opts = o as MqttSnClientOptions;
  const g = opts.gateway as unknown;
  if (g === null || typeof g !== 'object') throw new TypeError(`${fn}: gateway: expected { host, port }, got ${describe(g)}`);
  const { host, port } = g as { host: unknown; port: unknown };
  if (typeof host !== 'string') throw new TypeError(`${fn}: gateway.host: expected a string, got ${describe(host)}`);
  if (typeof port !== 'number') throw new TypeError(`${fn}: gateway.port: expected a number, got ${describe(port)}`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`${fn}: gateway.port: expected 1…65535, got ${port}`);
  if (opts.transport !== undefined && typeof opts.transport !== 'function') throw new TypeError(`${fn}: transport: expected a function, got ${describe(opts.transport)}`);
  if (opts.clock !== undefined && (opts.clock === null || typeof opts.clock !== 'object' || typeof opts.clock.setTimer !== 'function')) throw new TypeError(`${fn}: clock: expected a Clock, got ${describe(opts.clock)}`);
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) throw new TypeError(`${fn}: signal: expected an AbortSignal, got ${describe(opts.signal)}`);
  validateMachine(fn, opts);
  return opts;
}

export function validateMachine<T extends MqttSnClientMachineOptions>(fn: string, o: T): T {
  if (o === null || typeof o !== 'object') throw new TypeError(`${fn}: options: expected an object, got ${describe(o)}`);
  const opts: MqttSnClientMachineOptions = o;
  if (typeof opts.clientId !== 'string') throw new TypeError(`${fn}: clientId: expected a string, got ${describe(opts.clientId)}`);
  const idLen = utf8(opts.clientId).length;
  if (idLen < 1 || idLen > 23) throw new RangeError(`${fn}: clientId: expected 1…23 bytes (MQTT-SN 1.2 §5.3.1), got ${idLen}`);
  const ka = opts.keepAliveS;
  if (ka !== undefined) {
    if (typeof ka !== 'number') throw new TypeError(`${fn}: keepAliveS: expected a number, got ${describe(ka)}`);
    if (!Number.isInteger(ka) || ka < 0 || ka > 0xffff) throw new RangeError(`${fn}: keepAliveS: expected 0…65535, got ${ka}`);
  }
  if (opts.cleanSession !== undefined && typeof opts.cleanSession !== 'boolean') throw new TypeError(`${fn}: cleanSession: expected a boolean, got ${describe(opts.cleanSession)}`);
  if (opts.will !== undefined) {
    const w = opts.will as unknown as Record<string, unknown> | null;
    if (w === null || typeof w !== 'object') throw new TypeError(`${fn}: will: expected an object, got ${describe(w)}`);
    if (typeof w['topic'] !== 'string') throw new TypeError(`${fn}: will.topic: expected a string, got ${describe(w['topic'])}`);
    if (typeof w['payload'] !== 'string' && !(w['payload'] instanceof Uint8Array)) throw new TypeError(`${fn}: will.payload: expected a string or Uint8Array, got ${describe(w['payload'])}`);
  }
  if (opts.predefinedTopics !== undefined) {
    if (opts.predefinedTopics === null || typeof opts.predefinedTopics !== 'object') throw new TypeError(`${fn}: predefinedTopics: expected an object, got ${describe(opts.predefinedTopics)}`);
    for (const [k, v] of Object.entries(opts.predefinedTopics)) {
      if (typeof v !== 'number') throw new TypeError(`${fn}: predefinedTopics["${k}"]: expected a number, got ${describe(v)}`);
      if (!Number.isInteger(v) || v < 1 || v > 0xfffe) throw new RangeError(`${fn}: predefinedTopics["${k}"]: expected 1…65534, got ${v}`);
    }
  }
  if (opts.maxAwaitingRelease !== undefined) {
    if (typeof opts.maxAwaitingRelease !== 'number') throw new TypeError(`${fn}: maxAwaitingRelease: expected a number, got ${describe(opts.maxAwaitingRelease)}`);
    if (!Number.isInteger(opts.maxAwaitingRelease) || opts.maxAwaitingRelease < 1) throw new RangeError(`${fn}: maxAwaitingRelease: expected an integer ≥ 1, got ${opts.maxAwaitingRelease}`);
  }
  if (opts.maxWakeMessages !== undefined) {
    if (typeof opts.maxWakeMessages !== 'number') throw new TypeError(`${fn}: maxWakeMessages: expected a number, got ${describe(opts.maxWakeMessages)}`);
    if (!Number.isInteger(opts.maxWakeMessages) || opts.maxWakeMessages < 0) throw new RangeError(`${fn}: maxWakeMessages: expected an integer ≥ 0, got ${opts.maxWakeMessages}`);
  }
  if (opts.random !== undefined && typeof opts.random !== 'function') throw new TypeError(`${fn}: random: expected a function, got ${describe(opts.random)}`);
  const mr = opts.maxRegistrations;
  if (mr !== undefined) {
    if (typeof mr !== 'number') throw new TypeError(`${fn}: maxRegistrations: expected a number, got ${describe(mr)}`);
    if (!Number.isInteger(mr) || mr < 1 || mr > 0xfffe) throw new RangeError(`${fn}: maxRegistrations: expected an integer 1…65534, got ${mr}`);
  }
  return o;
}


/**
 * What the client state machine hands out besides datagrams: the client events, and the outcome
 * of each command (`done` with its value, `failed` with a typed error), by operation id.
 *
 * @example
 * ```ts
 * import type { MqttSnClientMachineEvent } from '@outpost/device-sdk/mqtt-sn';
 * const e: MqttSnClientMachineEvent = { type: 'done', op: 1, value: 7 };
 * e.type; // 'done'
 * ```
 */
export type MqttSnClientMachineEvent =
  | { readonly type: 'message'; readonly message: MqttSnInbound }
  | { readonly type: 'disconnect'; readonly reason: string }
  | { readonly type: 'malformed'; readonly error: MqttSnError }
  | { readonly type: 'done'; readonly op: number; readonly value: unknown }
  | { readonly type: 'failed'; readonly op: number; readonly error: Error };
