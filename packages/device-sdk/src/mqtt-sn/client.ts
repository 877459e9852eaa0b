// The MQTT-SN 1.2 client over UDP: connection, registration, publish/subscribe, keep-alive,
// retransmission and sleeping (MQTT-SN 1.2 §6.2–§6.14).
import { describe, utf8 } from './bytes.js';
import { decodeMessage, encodeMessage } from './codec.js';
import { Emitter } from './emitter.js';
import { MqttSnError } from './errors.js';
import { ReturnCode, type MqttSnMessage, type MqttSnQoS, type PublishTopic, type SubscribeTopic } from './messages.js';
import { MsgIds, Retransmitter, Serial } from './retransmit.js';
import { resolveRetry, systemTimers, type MqttSnTimers, type RetryPolicy } from './timers.js';
import { TopicRegistry, hasWildcard } from './topics.js';
import { UdpEndpoint, type DatagramTransport, type UdpPeer } from './udp.js';
import { rcName, validate, type MqttSnClientEvents, type MqttSnClientOptions, type MqttSnClientState, type MqttSnInbound, type MqttSnPublishOptions, type MqttSnWill } from './client-options.js';

export type { MqttSnClientEvents, MqttSnClientOptions, MqttSnClientState, MqttSnInbound, MqttSnPublishOptions, MqttSnWill } from './client-options.js';

function checkTopicString(fn: string, t: string, wildcards: boolean): void {
  if (t.length === 0) throw new RangeError(`${fn}: topic: must not be empty`);
  if (!wildcards && hasWildcard(t)) throw new RangeError(`${fn}: topic: wildcards are not allowed when publishing, got ${JSON.stringify(t)}`);
}

/**
 * An MQTT-SN 1.2 client over UDP. Create it with {@link connectMqttSn}.
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
  private readonly rtx: Retransmitter;
  private readonly serial = new Serial();
  private readonly ids = new MsgIds();
  private readonly registry: TopicRegistry;
  private readonly predefined: Map<string, number>;
  private readonly predefinedById: Map<number, string>;
  private readonly received2 = new Set<number>(); // QoS 2 msgIds awaiting PUBREL (exactly once)
  private readonly gw: UdpPeer;
  private readonly timers: MqttSnTimers;
  private keepAliveTimer: unknown;
  private wakeBuffer: MqttSnInbound[] | undefined;
  private _state: MqttSnClientState = 'connecting';
  private udp!: DatagramTransport;
  /** Counters for diagnostics. */
  readonly stats = { sent: 0, received: 0, malformed: 0, duplicatesDropped: 0, rejectedRegistrations: 0, rejectedPublishes: 0, wakeOverflow: 0 };
  private readonly maxWakeMessages: number;
  private readonly maxAwaitingRelease: number;

  /** @internal */
  constructor(readonly options: MqttSnClientOptions, private readonly retry: RetryPolicy) {
    this.gw = { address: options.gateway.host, port: options.gateway.port };
    this.timers = options.timers ?? systemTimers;
    this.rtx = new Retransmitter(this.timers, () => this.retry, options.random ?? Math.random);
    this.registry = new TopicRegistry(options.maxRegistrations ?? 1000);
    this.maxAwaitingRelease = options.maxAwaitingRelease ?? 10;
    this.maxWakeMessages = options.maxWakeMessages ?? 1000;
    this.predefined = new Map(Object.entries(options.predefinedTopics ?? {}));
    this.predefinedById = new Map([...this.predefined].map(([k, v]) => [v, k]));
  }

  /** Current state. */
  get state(): MqttSnClientState {
    return this._state;
  }

  /** Retransmissions sent so far (Tretry expiries). */
  get retransmissions(): number {
    return this.rtx.retransmissions;
  }

  /** Sizes of the client's bounded tables: registered topics, QoS 2 ids awaiting PUBREL, exchanges awaiting a reply. */
  sizes(): { registrations: number; awaitingRelease: number; pending: number } {
    return { registrations: this.registry.size, awaitingRelease: this.received2.size, pending: this.rtx.size };
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
    const onDatagram = (d: Uint8Array, from: UdpPeer): void => this.onDatagram(d, from);
    this.udp = this.options.transport !== undefined ? await this.options.transport(onDatagram, () => {}) : await UdpEndpoint.bind(b.host ?? '0.0.0.0', b.port ?? 0, onDatagram, () => {});
  }

  private send(m: MqttSnMessage): void {
    if (this._state === 'closed') throw new MqttSnError('CLOSED', 'MQTT-SN client is closed');
    this.stats.sent += 1;
    this.udp.send(encodeMessage(m), this.gw);
    this.armKeepAlive();
  }

  private onDatagram(data: Uint8Array, from: UdpPeer): void {
    if (from.port !== this.gw.port || this._state === 'closed') return;
    let m: MqttSnMessage;
    try {
      m = decodeMessage(data, { maxLength: this.options.maxMessageBytes ?? 65535, aliasPayload: true }); // the datagram is ours: no payload copy
    } catch (e) {
      this.stats.malformed += 1;
      if (e instanceof MqttSnError) this.events.emit('malformed', { error: e });
      return;
    }
    this.stats.received += 1;
    this.dispatch(m);
  }

  private dispatch(m: MqttSnMessage): void {
    switch (m.type) {
      case 'PUBLISH':
        this.rtx.offer(m); // progress for a pending wake
        this.onPublish(m);
        return;
      case 'PUBREL':
        this.rtx.offer(m);
        // MQTT-SN 1.2 §6.10 / MQTT 3.1.1 §4.3.3: release the stored msgId, then PUBCOMP.
        this.received2.delete(m.msgId);
        this.send({ type: 'PUBCOMP', msgId: m.msgId });
        return;
      case 'REGISTER':
        this.rtx.offer(m);
        // §6.10: the gateway registers a topic (e.g. for a wildcard subscription) before publishing on it.
        this.send({ type: 'REGACK', topicId: m.topicId, msgId: m.msgId, returnCode: this.acceptRegister(m.topicName, m.topicId) });
        return;
      case 'WILLTOPICREQ': {
        const w = this.options.will;
        this.rtx.offer(m); // restarts Tretry of the pending CONNECT
        this.send(w === undefined ? { type: 'WILLTOPIC', qos: 0, retain: false, topic: '' } : { type: 'WILLTOPIC', qos: w.qos ?? 0, retain: w.retain ?? false, topic: w.topic });
        return;
      }
      case 'WILLMSGREQ': {
        const w = this.options.will;
        this.rtx.offer(m);
        this.send({ type: 'WILLMSG', message: w === undefined ? new Uint8Array() : typeof w.payload === 'string' ? utf8(w.payload) : w.payload });
        return;
      }
      case 'DISCONNECT':
        if (this.rtx.offer(m)) return;
        if (this._state === 'active' || this._state === 'awake') {
          this._state = 'disconnected';
          this.stopKeepAlive();
          this.events.emit('disconnect', { reason: 'the gateway sent DISCONNECT' });
        }
        return;
      case 'PINGREQ':
        this.send({ type: 'PINGRESP' });
        return;
      default:
        this.rtx.offer(m);
    }
  }

  /** §6.10 a gateway REGISTER: a full registry answers "rejected: congestion" (§5.4.10), never grows past its limit. */
  private acceptRegister(name: string, id: number): number {
    if (id === 0 || id === 0xffff || name.length === 0 || hasWildcard(name)) return ReturnCode.InvalidTopicId;
    if (this.registry.set(name, id)) return ReturnCode.Accepted;
    this.stats.rejectedRegistrations += 1;
    return ReturnCode.Congestion;
  }

  private onPublish(m: Extract<MqttSnMessage, { type: 'PUBLISH' }>): void {
    let topic: string | undefined;
    if (m.topic.kind === 'short') topic = m.topic.name;
    else if (m.topic.kind === 'predefined') topic = this.predefinedById.get(m.topic.id);
    else topic = this.registry.nameOf(m.topic.id);
    const topicId = m.topic.kind === 'short' ? 0 : m.topic.id;
    if (topic === undefined && m.topic.kind === 'normal') {
      // §6.10: unknown topic id → PUBACK "invalid topic id".
      if (m.qos === 1 || m.qos === 2) this.send({ type: 'PUBACK', topicId, msgId: m.msgId, returnCode: ReturnCode.InvalidTopicId });
      return;
    }
    const inbound: MqttSnInbound = { topic, topicRef: m.topic, payload: m.payload, qos: m.qos, retain: m.retain };
    if (m.qos === 2) {
      if (this.received2.has(m.msgId)) this.stats.duplicatesDropped += 1;
      else if (this.received2.size >= this.maxAwaitingRelease) {
        // A gateway that never releases (PUBREL) meets the limit: "rejected: congestion" (§5.4.12).
        this.stats.rejectedPublishes += 1;
        this.send({ type: 'PUBACK', topicId, msgId: m.msgId, returnCode: ReturnCode.Congestion });
        return;
      } else {
        this.received2.add(m.msgId);
        this.deliver(inbound);
      }
      this.send({ type: 'PUBREC', msgId: m.msgId });
      return;
    }
    this.deliver(inbound);
    if (m.qos === 1) this.send({ type: 'PUBACK', topicId, msgId: m.msgId, returnCode: ReturnCode.Accepted });
  }

  private deliver(m: MqttSnInbound): void {
    const wb = this.wakeBuffer;
    if (wb !== undefined) {
      if (wb.length < this.maxWakeMessages) wb.push(m);
      else this.stats.wakeOverflow += 1; // still emitted below; only wake()'s array is bounded
    }
    this.events.emit('message', m);
  }

  // ------------------------------------------------------------ keep-alive (§6.11)

  private armKeepAlive(): void {
    const ka = this.options.keepAliveS ?? 60;
    if (ka === 0 || this._state !== 'active') return;
    this.timers.clearTimeout(this.keepAliveTimer);
    this.keepAliveTimer = this.timers.setTimeout(() => {
      this.ping().catch((e: unknown) => {
        if (this._state !== 'active') return;
        this._state = 'disconnected';
        this.events.emit('disconnect', { reason: `keep-alive failed: ${(e as Error).message}` });
      });
    }, ka * 1000);
  }

  private stopKeepAlive(): void {
    this.timers.clearTimeout(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
  }

  private requireActive(fn: string): void {
    if (this._state === 'closed') throw new MqttSnError('CLOSED', `${fn}: the client is closed`);
    if (this._state !== 'active' && this._state !== 'awake') throw new MqttSnError('NOT_CONNECTED', `${fn}: not connected (state ${this._state})`);
  }

  // ------------------------------------------------------------ connect (§6.2)

  /**
   * @internal CONNECT (with the will dialogue when a will is set) → CONNACK. `resuming` sends
   * CleanSession=0 and keeps the registry (MQTT-SN 1.2 §6.14: a sleeper's CONNECT resumes its
   * session; §5.3.4 CleanSession=0 keeps subscriptions and registrations).
   */
  async connect(signal?: AbortSignal, resuming = false): Promise<void> {
    const o = this.options;
    const clean = !resuming && (o.cleanSession ?? true);
    const connect: MqttSnMessage = { type: 'CONNECT', will: o.will !== undefined, cleanSession: clean, protocolId: 1, durationS: o.keepAliveS ?? 60, clientId: o.clientId };
    const r = await this.serial.run(() =>
      this.rtx.request('CONNECT', () => this.send(connect), (m) => m.type === 'CONNACK', {
        signal,
        // The will dialogue (WILLTOPICREQ/WILLMSGREQ) is progress: answer it, restart Tretry.
        progress: (m) => m.type === 'WILLTOPICREQ' || m.type === 'WILLMSGREQ',
      }),
    );
    if (r.type === 'CONNACK' && r.returnCode !== ReturnCode.Accepted) {
      throw new MqttSnError('REJECTED', `CONNECT rejected by the gateway: return code ${r.returnCode} (${rcName(r.returnCode)})`, { returnCode: r.returnCode });
    }
    this._state = 'active';
    if (clean) this.registry.clear();
    this.armKeepAlive();
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
    this.requireActive('register');
    const known = this.registry.idOf(topicName);
    if (known !== undefined) return known;
    return this.serial.run(async () => {
      const msgId = this.ids.next();
      const r = await this.rtx.request('REGISTER', () => this.send({ type: 'REGISTER', topicId: 0, msgId, topicName }), (m) => m.type === 'REGACK' && m.msgId === msgId, { signal: options.signal });
      if (r.type !== 'REGACK' || r.returnCode !== ReturnCode.Accepted) {
        const rc = r.type === 'REGACK' ? r.returnCode : -1;
        throw new MqttSnError('REJECTED', `REGISTER "${topicName}" rejected: return code ${rc} (${rcName(rc)})`, { returnCode: rc });
      }
      this.registry.set(topicName, r.topicId);
      return r.topicId;
    });
  }

  private async resolvePublishTopic(topic: string | PublishTopic, signal: AbortSignal | undefined): Promise<PublishTopic> {
    if (typeof topic !== 'string') return topic;
    checkTopicString('publish', topic, false);
    const pre = this.predefined.get(topic);
    if (pre !== undefined) return { kind: 'predefined', id: pre };
    if (topic.length === 2) return { kind: 'short', name: topic };
    return { kind: 'normal', id: await this.register(topic, signal === undefined ? {} : { signal }) };
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
    this.requireActive('publish');
    const data = typeof payload === 'string' ? utf8(payload) : payload;
    const t = await this.resolvePublishTopic(topic, options.signal);
    const retain = options.retain ?? false;
    if (qos === 0) {
      this.send({ type: 'PUBLISH', dup: false, qos: 0, retain, topic: t, msgId: 0, payload: data });
      return;
    }
    await this.serial.run(async () => {
      const msgId = this.ids.next();
      const pub = (attempt: number): void => this.send({ type: 'PUBLISH', dup: attempt > 0, qos, retain, topic: t, msgId, payload: data });
      const first = await this.rtx.request('PUBLISH', pub, (m) => (m.type === 'PUBACK' && m.msgId === msgId) || (qos === 2 && m.type === 'PUBREC' && m.msgId === msgId), { signal: options.signal });
      if (first.type === 'PUBACK') {
        if (first.returnCode !== ReturnCode.Accepted) {
          if (first.returnCode === ReturnCode.InvalidTopicId && t.kind === 'normal') this.registry.clear();
          throw new MqttSnError(first.returnCode === ReturnCode.InvalidTopicId ? 'INVALID_TOPIC' : 'REJECTED', `PUBLISH rejected: return code ${first.returnCode} (${rcName(first.returnCode)})`, { returnCode: first.returnCode });
        }
        return;
      }
      await this.rtx.request('PUBREL', () => this.send({ type: 'PUBREL', msgId }), (m) => m.type === 'PUBCOMP' && m.msgId === msgId, { signal: options.signal });
    });
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
    this.requireActive('subscribe');
    return this.serial.run(async () => {
      const msgId = this.ids.next();
      const r = await this.rtx.request('SUBSCRIBE', (a) => this.send({ type: 'SUBSCRIBE', dup: a > 0, qos, msgId, topic: st }), (m) => m.type === 'SUBACK' && m.msgId === msgId, { signal: options.signal });
      if (r.type !== 'SUBACK' || r.returnCode !== ReturnCode.Accepted) {
        const rc = r.type === 'SUBACK' ? r.returnCode : -1;
        throw new MqttSnError('REJECTED', `SUBSCRIBE rejected: return code ${rc} (${rcName(rc)})`, { returnCode: rc });
      }
      if (st.kind === 'name' && !hasWildcard(st.name) && r.topicId !== 0) this.registry.set(st.name, r.topicId);
      return { topicId: r.topicId, qos: r.qos };
    });
  }

  /** Unsubscribes (UNSUBSCRIBE → UNSUBACK). */
  async unsubscribe(topic: string | SubscribeTopic, options: { signal?: AbortSignal } = {}): Promise<void> {
    const st = this.subscribeTopic('unsubscribe', topic);
    this.requireActive('unsubscribe');
    await this.serial.run(async () => {
      const msgId = this.ids.next();
      await this.rtx.request('UNSUBSCRIBE', () => this.send({ type: 'UNSUBSCRIBE', msgId, topic: st }), (m) => m.type === 'UNSUBACK' && m.msgId === msgId, { signal: options.signal });
    });
  }

  private subscribeTopic(fn: string, topic: string | SubscribeTopic): SubscribeTopic {
    if (typeof topic === 'string') {
      checkTopicString(fn, topic, true);
      const pre = this.predefined.get(topic);
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
    this.requireActive('updateWill');
    await this.serial.run(async () => {
      const t = await this.rtx.request('WILLTOPICUPD', () => this.send(will === undefined ? { type: 'WILLTOPICUPD', qos: 0, retain: false, topic: '' } : { type: 'WILLTOPICUPD', qos: will.qos ?? 0, retain: will.retain ?? false, topic: will.topic }), (m) => m.type === 'WILLTOPICRESP', { signal: options.signal });
      if (t.type === 'WILLTOPICRESP' && t.returnCode !== ReturnCode.Accepted) throw new MqttSnError('REJECTED', `WILLTOPICUPD rejected: return code ${t.returnCode} (${rcName(t.returnCode)})`, { returnCode: t.returnCode });
      if (will === undefined) return;
      const payload = typeof will.payload === 'string' ? utf8(will.payload) : will.payload;
      const r = await this.rtx.request('WILLMSGUPD', () => this.send({ type: 'WILLMSGUPD', message: payload }), (m) => m.type === 'WILLMSGRESP', { signal: options.signal });
      if (r.type === 'WILLMSGRESP' && r.returnCode !== ReturnCode.Accepted) throw new MqttSnError('REJECTED', `WILLMSGUPD rejected: return code ${r.returnCode} (${rcName(r.returnCode)})`, { returnCode: r.returnCode });
    });
  }

  // ------------------------------------------------------------ ping, sleep, wake (§6.11, §6.14)

  /** Sends PINGREQ and waits for PINGRESP. */
  async ping(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.requireActive('ping');
    await this.rtx.request('PINGREQ', () => this.send({ type: 'PINGREQ' }), (m) => m.type === 'PINGRESP', { signal: options.signal });
  }

  /**
   * Goes to sleep: DISCONNECT with a Duration (MQTT-SN 1.2 §6.14). The gateway buffers
   * messages for the client until it wakes with {@link MqttSnClient.wake}.
   */
  async sleep(durationS: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (typeof durationS !== 'number') throw new TypeError(`sleep: durationS: expected a number, got ${describe(durationS)}`);
    if (!Number.isInteger(durationS) || durationS < 1 || durationS > 0xffff) throw new RangeError(`sleep: durationS: expected an integer 1…65535, got ${durationS}`);
    this.requireActive('sleep');
    await this.serial.run(() => this.rtx.request('DISCONNECT', () => this.send({ type: 'DISCONNECT', durationS }), (m) => m.type === 'DISCONNECT', { signal: options.signal }));
    this.stopKeepAlive();
    this._state = 'asleep';
  }

  /**
   * Wakes briefly: PINGREQ with the client id; the gateway sends what it buffered, then
   * PINGRESP, and the client is asleep again (MQTT-SN 1.2 §6.14). Resolves with the messages
   * received during the wake (they are also emitted as `message` events), in order.
   */
  async wake(options: { signal?: AbortSignal } = {}): Promise<MqttSnInbound[]> {
    if (this._state !== 'asleep') throw new MqttSnError('NOT_CONNECTED', `wake: the client is not asleep (state ${this._state})`);
    const got: MqttSnInbound[] = [];
    this.wakeBuffer = got;
    this._state = 'awake';
    try {
      await this.serial.run(() =>
        this.rtx.request('PINGREQ', () => this.send({ type: 'PINGREQ', clientId: this.options.clientId }), (m) => m.type === 'PINGRESP', {
          signal: options.signal,
          // Buffered PUBLISHes arriving are progress: the gateway is busy flushing.
          progress: (m) => m.type === 'PUBLISH' || m.type === 'REGISTER' || m.type === 'PUBREL',
        }),
      );
    } finally {
      this.wakeBuffer = undefined;
      if (this._state === 'awake') this._state = 'asleep';
    }
    return got;
  }

  /**
   * Becomes active again after sleeping or a gateway DISCONNECT (CONNECT with CleanSession=0,
   * MQTT-SN 1.2 §6.14), keeping the session: subscriptions at the gateway and broker, and the
   * topic registry on both sides.
   */
  async resume(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this._state !== 'asleep' && this._state !== 'disconnected') throw new MqttSnError('NOT_CONNECTED', `resume: expected asleep or disconnected, got ${this._state}`);
    const was = this._state;
    this._state = 'connecting';
    try {
      await this.connect(options.signal, true);
    } catch (e) {
      if (this._state === 'connecting') this._state = was === 'asleep' ? 'disconnected' : was;
      throw e;
    }
  }

  /** Disconnects cleanly (DISCONNECT → DISCONNECT; no will) and closes the socket. */
  async disconnect(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this._state === 'closed') return;
    if (this._state === 'active' || this._state === 'asleep') {
      try {
        await this.serial.run(() => this.rtx.request('DISCONNECT', () => this.send({ type: 'DISCONNECT' }), (m) => m.type === 'DISCONNECT', { signal: options.signal }));
      } catch {
        // the gateway will time the session out
      }
    }
    await this.close();
  }

  /** Closes the socket without telling the gateway (the gateway will publish the will). */
  async close(): Promise<void> {
    if (this._state === 'closed') return;
    this._state = 'closed';
    this.stopKeepAlive();
    this.rtx.failAll(new MqttSnError('CLOSED', 'MQTT-SN client closed'));
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
  const o = validate(options);
  const retry = resolveRetry('connectMqttSn', o.retry === undefined ? undefined : { ...o.retry });
  const client = new MqttSnClient(o, retry);
  await client.open();
  try {
    await client.connect(o.signal);
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
  const udp = await UdpEndpoint.bind(options.bind?.host ?? '0.0.0.0', options.bind?.port ?? 0, () => {}, () => {});
  try {
    udp.send(bytes, { address: g.host, port: g.port });
    await new Promise((r) => setImmediate(r));
  } finally {
    await udp.close();
  }
}
