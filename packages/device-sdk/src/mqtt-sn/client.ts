// The MQTT-SN 1.2 client's promise API: a thin wrapper that runs the sans-I/O state machine
// (client-machine.ts) on a Clock and a datagram transport (UDP by default).
import { describe, utf8 } from './bytes.js';
import { encodeMessage } from './codec.js';
import { Emitter } from './emitter.js';
import { MqttSnError } from './errors.js';
import type { MqttSnQoS, PublishTopic, SubscribeTopic } from './messages.js';
import { MqttSnClientMachine } from './client-machine.js';
import { hasWildcard } from './topics.js';
import { systemClock, type Clock } from '../transports/clock.js';
import type { DatagramPeer, DatagramTransport } from '../transports/datagram.js';
import { MachineDriver } from '../transports/sansio.js';
import { UdpEndpoint } from '../transports/udp.js';
import { validate, type MqttSnClientEvents, type MqttSnClientMachineEvent, type MqttSnClientOptions, type MqttSnClientState, type MqttSnInbound, type MqttSnPublishOptions, type MqttSnWill } from './client-options.js';

export type { MqttSnClientEvents, MqttSnClientMachineEvent, MqttSnClientMachineOptions, MqttSnClientOptions, MqttSnClientState, MqttSnInbound, MqttSnPublishOptions, MqttSnWill } from './client-options.js';

const wrapError = (message: string, cause: Error): Error => new MqttSnError('NETWORK_ERROR', message, { cause });

function checkTopicString(fn: string, t: string, wildcards: boolean): void {
  if (t.length === 0) throw new RangeError(`${fn}: topic: must not be empty`);
  if (!wildcards && hasWildcard(t)) throw new RangeError(`${fn}: topic: wildcards are not allowed when publishing, got ${JSON.stringify(t)}`);
}

/** A promise API call waiting for its operation's outcome. */
class Waiter {
  resolve!: (v: unknown) => void;
  reject!: (e: Error) => void;
  onAbort: (() => void) | undefined;
  constructor(readonly what: string, readonly signal: AbortSignal | undefined) {}
  /** Removes the abort listener, if any. */
  settle(): void {
    if (this.onAbort !== undefined) this.signal?.removeEventListener('abort', this.onAbort);
  }
}

/**
 * An MQTT-SN 1.2 client over UDP. Create it with {@link connectMqttSn}. Every method is a thin
 * wrapper over a command of its {@link MqttSnClientMachine}.
 *
 * @example
 * ```ts
 * import { connectMqttSn } from '@outpost/device-sdk/mqtt-sn';
 * const c = await connectMqttSn({ gateway: { host: '127.0.0.1', port: 10000 }, clientId: 's1' });
 * await c.publish('devices/s1/temp', '21.5', { qos: 1 });
 * await c.disconnect();
 * ```
 */
export class MqttSnClient {
  private readonly events = new Emitter<MqttSnClientEvents>();
  private readonly waiting = new Map<number, Waiter>();
  private readonly gw: DatagramPeer;
  private readonly clock: Clock;
  private readonly driver: MachineDriver<MqttSnClientMachineEvent>;
  private udp!: DatagramTransport;
  /** The state machine this client runs. */
  readonly machine: MqttSnClientMachine;

  /** @internal */
  constructor(readonly options: MqttSnClientOptions) {
    this.gw = { address: options.gateway.host, port: options.gateway.port };
    this.clock = options.clock ?? systemClock;
    this.machine = new MqttSnClientMachine(options);
    this.driver = new MachineDriver(this.machine, this.clock, (d) => this.udp.send(d.bytes, this.gw), (e) => this.onEvent(e));
  }

  /** Current state. */
  get state(): MqttSnClientState {
    return this.machine.state;
  }

  /** Counters for diagnostics. */
  get stats(): MqttSnClientMachine['stats'] {
    return this.machine.stats;
  }

  /** Retransmissions sent so far (Tretry expiries). */
  get retransmissions(): number {
    return this.machine.retransmissions;
  }

  /** Sizes of the client's bounded tables: registered topics, QoS 2 ids awaiting PUBREL, exchanges awaiting a reply. */
  sizes(): { registrations: number; awaitingRelease: number; pending: number } {
    return this.machine.sizes();
  }

  /** Local UDP address. */
  address(): { address: string; port: number } {
    return this.udp.address();
  }

  /** Subscribes to client events; returns a function that removes the listener. */
  on<K extends keyof MqttSnClientEvents>(event: K, listener: (value: MqttSnClientEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  /** @internal */
  async open(): Promise<void> {
    const b = this.options.bind ?? {};
    const onDatagram = (d: Uint8Array, from: DatagramPeer): void => {
      if (from.port !== this.gw.port) return;
      this.machine.handleDatagram(d, this.clock.now(), from);
      this.driver.flush();
    };
    // The default socket is connected to the gateway: the kernel drops datagrams from anyone else and a send needs no address.
    this.udp = this.options.transport !== undefined ? await this.options.transport(onDatagram, () => {}) : await UdpEndpoint.bind({ host: b.host ?? '0.0.0.0', port: b.port ?? 0, connect: this.gw, wrapError }, onDatagram, () => {});
  }

  private onEvent(e: MqttSnClientMachineEvent): void {
    switch (e.type) {
      case 'message': return this.events.emit('message', e.message);
      case 'disconnect': return this.events.emit('disconnect', { reason: e.reason });
      case 'malformed': return this.events.emit('malformed', { error: e.error });
      case 'done': {
        const w = this.waiting.get(e.op);
        if (w === undefined) return;
        this.waiting.delete(e.op);
        w.settle();
        return w.resolve(e.value);
      }
      default: {
        const w = this.waiting.get(e.op);
        if (w === undefined) return;
        this.waiting.delete(e.op);
        w.settle();
        const err = e.error;
        return w.reject(err instanceof MqttSnError && err.code === 'ABORTED' ? new MqttSnError('ABORTED', `${w.what}: aborted`, { cause: w.signal?.reason }) : err);
      }
    }
  }

  /** Runs one machine command and waits for its outcome; `signal` aborts it (ABORTED). */
  private run<T>(what: string, start: (now: number) => number, signal: AbortSignal | undefined): Promise<T> {
    if (signal?.aborted === true) return Promise.reject(new MqttSnError('ABORTED', `${what}: aborted`, { cause: signal.reason }));
    let op: number;
    try {
      op = start(this.clock.now());
    } catch (e) {
      this.driver.flush();
      return Promise.reject(e as Error);
    }
    return this.wait(what, op, signal);
  }

  /**
   * Waits for operation `op`'s outcome, a machine event (onEvent): one Waiter per call and no
   * closure beyond the promise's executor (and the abort listener, only with a signal).
   */
  private wait<T>(what: string, op: number, signal: AbortSignal | undefined): Promise<T> {
    const w = new Waiter(what, signal);
    const p = new Promise<T>((resolve, reject) => {
      w.resolve = resolve as (v: unknown) => void;
      w.reject = reject;
    });
    if (signal !== undefined) {
      w.onAbort = (): void => {
        this.machine.abort(op, signal.reason, this.clock.now());
        this.driver.flush();
      };
      signal.addEventListener('abort', w.onAbort, { once: true });
    }
    this.waiting.set(op, w);
    this.driver.flush();
    return p;
  }

  /** @internal CONNECT (with the will dialogue when a will is set) → CONNACK. */
  connect(signal?: AbortSignal): Promise<void> {
    return this.run('CONNECT', (now) => this.machine.connect(now), signal);
  }

  // ------------------------------------------------------------ topics (§6.5, §6.7)

  /**
   * Registers a topic name and returns its topic id (REGISTER → REGACK, MQTT-SN 1.2 §6.5).
   *
   * @throws MqttSnError REJECTED (with `returnCode`), TIMEOUT, NOT_CONNECTED.
   */
  async register(topicName: string, options: { signal?: AbortSignal } = {}): Promise<number> {
    if (typeof topicName !== 'string') throw new TypeError(`register: topicName: expected a string, got ${describe(topicName)}`);
    checkTopicString('register', topicName, false);
    return this.run('REGISTER', (now) => this.machine.register(topicName, now), options.signal);
  }

  // ------------------------------------------------------------ publish (§6.6)

  /**
   * Publishes at QoS 0, 1 or 2. A topic string is sent as a predefined id when configured, as
   * a short name when it has two characters, otherwise registered first. At most one QoS 1/2
   * PUBLISH is in flight (MQTT-SN 1.2 §6.6); later ones wait their turn.
   *
   * @throws MqttSnError REJECTED (PUBACK with a return code), TIMEOUT, NOT_CONNECTED, ABORTED.
   */
  async publish(topic: string | PublishTopic, payload: Uint8Array | string, options: MqttSnPublishOptions = {}): Promise<void> {
    if (typeof topic !== 'string' && (topic === null || typeof topic !== 'object')) throw new TypeError(`publish: topic: expected a string or a topic object, got ${describe(topic)}`);
    if (typeof payload !== 'string' && !(payload instanceof Uint8Array)) throw new TypeError(`publish: payload: expected a Uint8Array or a string, got ${describe(payload)}`);
    if (options === null || typeof options !== 'object') throw new TypeError(`publish: options: expected an object, got ${describe(options)}`);
    const qos = options.qos ?? 0;
    if (qos !== 0 && qos !== 1 && qos !== 2) throw new RangeError(`publish: qos: expected 0, 1 or 2 (QoS −1 is publishQoSMinus1), got ${String(qos)}`);
    if (typeof topic === 'string') checkTopicString('publish', topic, false);
    const data = typeof payload === 'string' ? utf8(payload) : payload;
    // The per-message call: run()'s steps inline, without a closure.
    const signal = options.signal;
    if (signal?.aborted === true) throw new MqttSnError('ABORTED', 'PUBLISH: aborted', { cause: signal.reason });
    let op: number;
    try {
      op = this.machine.publish(topic, data, qos, options.retain ?? false, this.clock.now());
    } catch (e) {
      this.driver.flush();
      throw e;
    }
    return this.wait('PUBLISH', op, signal);
  }

  // ------------------------------------------------------------ subscribe (§6.9)

  /**
   * Subscribes to a topic filter (wildcards allowed), a predefined topic or a short name.
   * Returns the topic id the gateway assigned (0 for wildcard filters) and the granted QoS.
   *
   * @throws MqttSnError REJECTED (SUBACK return code), TIMEOUT, NOT_CONNECTED.
   */
  async subscribe(topic: string | SubscribeTopic, options: { qos?: 0 | 1 | 2; signal?: AbortSignal } = {}): Promise<{ topicId: number; qos: MqttSnQoS }> {
    const st = this.subscribeTopic('subscribe', topic);
    const qos = options.qos ?? 0;
    if (qos !== 0 && qos !== 1 && qos !== 2) throw new RangeError(`subscribe: qos: expected 0, 1 or 2, got ${String(qos)}`);
    return this.run('SUBSCRIBE', (now) => this.machine.subscribe(st, qos, now), options.signal);
  }

  /** Unsubscribes (UNSUBSCRIBE → UNSUBACK). */
  async unsubscribe(topic: string | SubscribeTopic, options: { signal?: AbortSignal } = {}): Promise<void> {
    const st = this.subscribeTopic('unsubscribe', topic);
    return this.run('UNSUBSCRIBE', (now) => this.machine.unsubscribe(st, now), options.signal);
  }

  private subscribeTopic(fn: string, topic: string | SubscribeTopic): SubscribeTopic {
    if (typeof topic === 'string') {
      checkTopicString(fn, topic, true);
      const pre = this.machine.predefined.get(topic);
      if (pre !== undefined) return { kind: 'predefined', id: pre };
      if (topic.length === 2 && !hasWildcard(topic)) return { kind: 'short', name: topic };
      return { kind: 'name', name: topic };
    }
    if (topic === null || typeof topic !== 'object') throw new TypeError(`${fn}: topic: expected a string or a topic object, got ${describe(topic)}`);
    return topic;
  }

  // ------------------------------------------------------------ will update (§6.4)

  /**
   * Changes the will while connected: WILLTOPICUPD → WILLTOPICRESP, then WILLMSGUPD →
   * WILLMSGRESP (MQTT-SN 1.2 §6.4). `undefined` deletes the will.
   *
   * @throws MqttSnError REJECTED (with `returnCode`), TIMEOUT, NOT_CONNECTED.
   */
  async updateWill(will: MqttSnWill | undefined, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (will !== undefined && (will === null || typeof will !== 'object' || typeof will.topic !== 'string' || (typeof will.payload !== 'string' && !(will.payload instanceof Uint8Array)))) {
      throw new TypeError('updateWill: will: expected { topic: string, payload: string | Uint8Array } or undefined');
    }
    return this.run('WILLTOPICUPD', (now) => this.machine.updateWill(will, now), options.signal);
  }

  // ------------------------------------------------------------ ping, sleep, wake (§6.11, §6.14)

  /** Sends PINGREQ and waits for PINGRESP. */
  async ping(options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.run('PINGREQ', (now) => this.machine.ping(now), options.signal);
  }

  /**
   * Goes to sleep: DISCONNECT with a Duration (MQTT-SN 1.2 §6.14). The gateway buffers
   * messages for the client until it wakes with {@link MqttSnClient.wake}.
   */
  async sleep(durationS: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (typeof durationS !== 'number') throw new TypeError(`sleep: durationS: expected a number, got ${describe(durationS)}`);
    if (!Number.isInteger(durationS) || durationS < 1 || durationS > 0xffff) throw new RangeError(`sleep: durationS: expected an integer 1…65535, got ${durationS}`);
    return this.run('DISCONNECT', (now) => this.machine.sleep(durationS, now), options.signal);
  }

  /**
   * Wakes briefly: PINGREQ with the client id; the gateway sends what it buffered, then
   * PINGRESP, and the client is asleep again (MQTT-SN 1.2 §6.14). Resolves with the messages
   * received during the wake (they are also emitted as `message` events), in order.
   */
  async wake(options: { signal?: AbortSignal } = {}): Promise<MqttSnInbound[]> {
    return this.run('PINGREQ', (now) => this.machine.wake(now), options.signal);
  }

  /**
   * Becomes active again after sleeping or a gateway DISCONNECT (CONNECT with CleanSession=0,
   * MQTT-SN 1.2 §6.14), keeping the session: subscriptions at the gateway and broker, and the
   * topic registry on both sides.
   */
  async resume(options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.run('CONNECT', (now) => this.machine.resume(now), options.signal);
  }

  /** Disconnects cleanly (DISCONNECT → DISCONNECT; no will) and closes the socket. */
  async disconnect(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.machine.state === 'closed') return;
    await this.run('DISCONNECT', (now) => this.machine.disconnect(now), options.signal).catch(() => undefined);
    await this.close();
  }

  /** Closes the socket without telling the gateway (the gateway will publish the will). */
  async close(): Promise<void> {
    if (this.machine.state === 'closed') return;
    this.machine.close(this.clock.now());
    this.driver.flush();
    this.driver.stop();
    await this.udp.close();
  }
}

/**
 * Opens a UDP socket and connects to an MQTT-SN gateway (CONNECT, with the will dialogue when
 * `will` is set; MQTT-SN 1.2 §6.2). CONNECT is retransmitted every Tretry, Nretry times.
 *
 * @throws TypeError / RangeError for bad options; MqttSnError `REJECTED` (CONNACK return
 *   code in `returnCode`), `TIMEOUT`, `ABORTED`.
 *
 * @example
 * ```ts
 * import { connectMqttSn } from '@outpost/device-sdk/mqtt-sn';
 * const sensor = await connectMqttSn({
 *   gateway: { host: '127.0.0.1', port: 10000 },
 *   clientId: 'sensor-1',
 *   keepAliveS: 60,
 *   will: { topic: 'devices/sensor-1/status', payload: 'lost', qos: 1 },
 * });
 * await sensor.subscribe('devices/sensor-1/cmd/#', { qos: 1 });
 * sensor.on('message', (m) => console.log(m.topic, m.payload));
 * ```
 */
export async function connectMqttSn(options: MqttSnClientOptions): Promise<MqttSnClient> {
  const client = new MqttSnClient(validate(options));
  await client.open();
  try {
    await client.connect(options.signal);
  } catch (e) {
    await client.close();
    throw e;
  }
  return client;
}

/**
 * Sends one QoS −1 PUBLISH without any connection (MQTT-SN 1.2 §6.8): fire and forget, to a
 * predefined topic id or a short topic name only.
 *
 * @example
 * ```ts
 * import { publishQoSMinus1 } from '@outpost/device-sdk/mqtt-sn';
 * await publishQoSMinus1({ gateway: { host: '127.0.0.1', port: 10000 }, topic: { kind: 'predefined', id: 1 }, payload: 'ping' });
 * ```
 */
export async function publishQoSMinus1(options: {
  readonly gateway: { readonly host: string; readonly port: number };
  readonly topic: Exclude<PublishTopic, { kind: 'normal' }>;
  readonly payload: Uint8Array | string;
  readonly bind?: { readonly host?: string; readonly port?: number };
}): Promise<void> {
  if (options === null || typeof options !== 'object') throw new TypeError(`publishQoSMinus1: options: expected an object, got ${describe(options)}`);
  const t = options.topic as PublishTopic | null;
  if (t === null || typeof t !== 'object') throw new TypeError(`publishQoSMinus1: topic: expected { kind: 'predefined', id } or { kind: 'short', name }, got ${describe(t)}`);
  if (t.kind !== 'predefined' && t.kind !== 'short') throw new RangeError(`publishQoSMinus1: topic.kind: QoS −1 works with predefined ids and short names only (MQTT-SN 1.2 §6.8), got ${JSON.stringify(t.kind)}`);
  const p = options.payload;
  if (typeof p !== 'string' && !(p instanceof Uint8Array)) throw new TypeError(`publishQoSMinus1: payload: expected a Uint8Array or a string, got ${describe(p)}`);
  const g = options.gateway as { host?: unknown; port?: unknown } | null;
  if (g === null || typeof g !== 'object' || typeof g.host !== 'string' || typeof g.port !== 'number') throw new TypeError('publishQoSMinus1: gateway: expected { host: string, port: number }');
  const bytes = encodeMessage({ type: 'PUBLISH', dup: false, qos: -1, retain: false, topic: t, msgId: 0, payload: typeof p === 'string' ? utf8(p) : p });
  const udp = await UdpEndpoint.bind({ host: options.bind?.host ?? '0.0.0.0', port: options.bind?.port ?? 0, wrapError }, () => {}, () => {});
  try {
    udp.send(bytes, { address: g.host, port: g.port });
    await new Promise((r) => setImmediate(r));
  } finally {
    await udp.close();
  }
}
