// The MQTT-SN 1.2 client as a sans-I/O state machine (DESIGN.md "One time and I/O model"):
// datagrams from the gateway, timer ticks and commands go in; datagrams to send, events and the
// next deadline come out. Connection, registration, publish/subscribe, keep-alive,
// retransmission and sleeping (MQTT-SN 1.2 §6.2–§6.14). The promise API (client.ts) and the
// stateful fuzzer both drive this.
import { utf8 } from './bytes.js';
import { decodeMessage, encodeMessage } from './codec.js';
import { MqttSnError } from './errors.js';
import { type MqttSnMessage, type PublishTopic, type SubscribeTopic } from './messages.js';
import { Exchanges, Running, type Operation } from './exchanges.js';
import { resolveRetry, type RetryPolicy } from './timers.js';
import { TopicRegistry } from './topics.js';
import { clientOps } from './client-ops.js';
import { clientInbound } from './client-inbound.js';
import { validateMachine, type MqttSnClientMachineEvent, type MqttSnClientMachineOptions, type MqttSnClientState, type MqttSnInbound, type MqttSnWill } from './client-options.js';
import { Outbox, earliest, type OutDatagram, type SansIoMachine } from '../transports/sansio.js';
import type { DatagramPeer } from '../transports/datagram.js';

/**
 * The MQTT-SN client state machine: no socket, no timer, no promise. Every command returns an
 * operation id; its outcome comes out later as a `done` or `failed` event. Time comes in as
 * `now` (ms on the caller's monotonic clock).
 *
 * @example
 * ```ts
 * import { MqttSnClientMachine, encodeMessage } from '@outpost/device-sdk/mqtt-sn';
 * const m = new MqttSnClientMachine({ clientId: 's1' });
 * const op = m.connect(0);
 * m.poll().datagrams.length; // 1 (the CONNECT)
 * m.handleDatagram(encodeMessage({ type: 'CONNACK', returnCode: 0 }), 5);
 * m.poll().events.some((e) => e.type === 'done' && e.op === op); // true
 * m.state; // 'active'
 * ```
 */
export class MqttSnClientMachine implements SansIoMachine<MqttSnClientMachineEvent> {
  /** Counters for diagnostics. */
  readonly stats = { sent: 0, received: 0, malformed: 0, duplicatesDropped: 0, rejectedRegistrations: 0, rejectedPublishes: 0, wakeOverflow: 0 };
  /** @internal */ readonly out = new Outbox<MqttSnClientMachineEvent>();
  /** @internal */ readonly xs: Exchanges;
  /** @internal */ readonly registry: TopicRegistry;
  /** @internal */ readonly predefined: Map<string, number>;
  /** @internal */ readonly predefinedById: Map<number, string>;
  /** @internal QoS 2 msgIds from the gateway awaiting PUBREL (exactly once) */
  readonly received2 = new Set<number>();
  /** @internal */ wakeBuffer: MqttSnInbound[] | undefined;
  /** @internal */ st: MqttSnClientState = 'connecting';
  /** @internal the time of the input being handled */
  t = 0;
  private nextMsgId = 0;
  private nextOp = 0;
  private readonly queue: Array<{ id: number; op: Operation }> = [];
  /** One completion callback for every serial operation (none allocated per operation). */
  private readonly serialDone = (r: Running, res: { value: unknown } | { error: Error }): void => this.serialFinished(r, res);
  private current: Running | undefined;
  private readonly running = new Map<number, Running>();
  private keepAliveAt: number | undefined;
  private keepAlivePing: number | undefined;
  /** @internal */ readonly o: MqttSnClientMachineOptions;

  /** @throws TypeError / RangeError for bad options. */
  constructor(options: MqttSnClientMachineOptions) {
    this.o = validateMachine('MqttSnClientMachine', options);
    const retry: RetryPolicy = resolveRetry('MqttSnClientMachine', options.retry === undefined ? undefined : { ...options.retry });
    this.xs = new Exchanges({ retry, random: options.random ?? Math.random, send: (m) => this.send(m) });
    this.registry = new TopicRegistry(options.maxRegistrations ?? 1000);
    this.predefined = new Map(Object.entries(options.predefinedTopics ?? {}));
    this.predefinedById = new Map([...this.predefined].map(([k, v]) => [v, k]));
  }

  /** Current state. */
  get state(): MqttSnClientState {
    return this.st;
  }

  /** Retransmissions sent so far (Tretry expiries). */
  get retransmissions(): number {
    return this.xs.retransmissions;
  }

  /** Sizes of the bounded tables: registered topics, QoS 2 ids awaiting PUBREL, exchanges awaiting a reply. */
  sizes(): { registrations: number; awaitingRelease: number; pending: number } {
    return { registrations: this.registry.size, awaitingRelease: this.received2.size, pending: this.xs.size };
  }

  // ------------------------------------------------------------ sans-I/O surface

  /** Feeds one datagram from the gateway (`from`, when given, must be the gateway). Never throws. */
  handleDatagram(bytes: Uint8Array, now: number, _from?: DatagramPeer): void {
    this.t = now;
    if (this.st === 'closed') return;
    let m: MqttSnMessage;
    try {
      m = decodeMessage(bytes, { maxLength: this.o.maxMessageBytes ?? 65535, aliasPayload: true }); // the datagram is ours: no payload copy
    } catch (e) {
      this.stats.malformed += 1;
      if (e instanceof MqttSnError) this.out.event({ type: 'malformed', error: e });
      return;
    }
    this.stats.received += 1;
    clientInbound(this, m);
  }

  /** Fires due retransmissions (MQTT-SN 1.2 §6.13) and the keep-alive PINGREQ (§6.11). */
  handleTimer(now: number): void {
    this.t = now;
    this.xs.expire(now);
    if (this.keepAliveAt !== undefined && this.keepAliveAt <= now) {
      this.keepAliveAt = undefined;
      if (this.keepAlivePing === undefined && this.st === 'active') this.keepAlivePing = this.side(clientOps.ping(this, undefined), (r) => this.keepAliveDone(r));
    }
  }

  nextDeadline(): number | undefined {
    return earliest(this.xs.nextDeadline(), this.keepAliveAt);
  }

  poll(): { datagrams: readonly OutDatagram[]; events: readonly MqttSnClientMachineEvent[] } {
    return this.out.poll();
  }

  // ------------------------------------------------------------ commands (outcome: a `done`/`failed` event)

  /** CONNECT (with the will dialogue when a will is set) → CONNACK (§6.2). */
  connect(now: number): number {
    this.t = now;
    if (this.st === 'closed') throw new MqttSnError('CLOSED', 'connect: the client is closed');
    return this.serial(clientOps.connect(this, false));
  }

  /** REGISTER → REGACK (§6.5); done at once with the id when the topic is registered already. */
  register(topicName: string, now: number): number {
    this.begin('register', now);
    const known = this.registry.idOf(topicName);
    if (known !== undefined) return this.settled(known);
    return this.serial(clientOps.register(this, topicName));
  }

  /** PUBLISH at QoS 0, 1 or 2 (§6.6, one QoS 1/2 in flight); a topic name is sent predefined, short or registered first. */
  publish(topic: string | PublishTopic, payload: Uint8Array, qos: 0 | 1 | 2, retain: boolean, now: number): number {
    this.begin('publish', now);
    const t = typeof topic === 'string' ? clientOps.quickTopic(this, topic) : topic;
    if (t !== undefined && qos === 0) {
      this.send({ type: 'PUBLISH', dup: false, qos: 0, retain, topic: t, msgId: 0, payload });
      return this.settled(undefined);
    }
    return this.serial(clientOps.publish(this, topic, t, payload, qos, retain));
  }

  /** SUBSCRIBE → SUBACK (§6.9): done with `{ topicId, qos }`. */
  subscribe(topic: SubscribeTopic, qos: 0 | 1 | 2, now: number): number {
    this.begin('subscribe', now);
    return this.serial(clientOps.subscribe(this, topic, qos));
  }

  /** UNSUBSCRIBE → UNSUBACK (§6.9). */
  unsubscribe(topic: SubscribeTopic, now: number): number {
    this.begin('unsubscribe', now);
    return this.serial(clientOps.unsubscribe(this, topic));
  }

  /** WILLTOPICUPD → WILLTOPICRESP, WILLMSGUPD → WILLMSGRESP (§6.4); `undefined` deletes the will. */
  updateWill(will: MqttSnWill | undefined, now: number): number {
    this.begin('updateWill', now);
    return this.serial(clientOps.updateWill(this, will));
  }

  /** PINGREQ → PINGRESP (§6.11); runs beside the serialized exchanges. */
  ping(now: number): number {
    this.begin('ping', now);
    return this.side(clientOps.ping(this, undefined));
  }

  /** DISCONNECT with a Duration (§6.14): asleep once the gateway answers. */
  sleep(durationS: number, now: number): number {
    this.begin('sleep', now);
    return this.serial(clientOps.sleep(this, durationS));
  }

  /** PINGREQ with the client id (§6.14): done with the messages received during the wake. */
  wake(now: number): number {
    this.t = now;
    if (this.st !== 'asleep') throw new MqttSnError('NOT_CONNECTED', `wake: the client is not asleep (state ${this.st})`);
    this.wakeBuffer = [];
    this.st = 'awake';
    return this.serial(clientOps.wake(this));
  }

  /** CONNECT with CleanSession=0 after sleeping or a gateway DISCONNECT (§6.14): the session is kept. */
  resume(now: number): number {
    this.t = now;
    if (this.st !== 'asleep' && this.st !== 'disconnected') throw new MqttSnError('NOT_CONNECTED', `resume: expected asleep or disconnected, got ${this.st}`);
    const was = this.st;
    this.st = 'connecting';
    return this.serial(clientOps.connect(this, true, was));
  }

  /** DISCONNECT → DISCONNECT (no will); done either way (the gateway times a silent session out). */
  disconnect(now: number): number {
    this.t = now;
    if (this.st !== 'active' && this.st !== 'asleep') return this.settled(undefined);
    return this.serial(clientOps.disconnect(this));
  }

  /** Fails operation `op` with ABORTED (queued or running). */
  abort(op: number, reason: unknown, now: number): void {
    this.t = now;
    const q = this.queue.findIndex((x) => x.id === op);
    const err = new MqttSnError('ABORTED', 'aborted', { cause: reason });
    if (q >= 0) {
      this.queue.splice(q, 1);
      this.out.event({ type: 'failed', op, error: err });
      return;
    }
    const r = this.running.get(op);
    if (r !== undefined) this.xs.fail(r, err, now);
  }

  /** Closed for good: every operation fails with CLOSED; nothing more is sent. */
  close(now: number): void {
    this.t = now;
    if (this.st === 'closed') return;
    this.st = 'closed';
    this.keepAliveAt = undefined;
    const err = new MqttSnError('CLOSED', 'MQTT-SN client closed');
    for (const q of this.queue.splice(0)) this.out.event({ type: 'failed', op: q.id, error: err });
    this.xs.failAll(err, now);
  }

  // ------------------------------------------------------------ internals (used by client-ops.ts, client-inbound.ts)

  /** @internal Queues one message to the gateway; re-arms keep-alive (§6.11: any message counts). */
  send(m: MqttSnMessage): void {
    if (this.st === 'closed') return;
    this.stats.sent += 1;
    this.out.datagram(encodeMessage(m));
    this.armKeepAlive();
  }

  /** @internal Message ids 1…65535, wrapping (0 is not used, MQTT-SN 1.2 §5.3.7). */
  msgId(): number {
    this.nextMsgId = (this.nextMsgId % 0xffff) + 1;
    return this.nextMsgId;
  }

  /** @internal */
  offer(m: MqttSnMessage): boolean {
    return this.xs.offer(m, this.t);
  }

  /** @internal */
  armKeepAlive(): void {
    const ka = this.o.keepAliveS ?? 60;
    if (ka === 0 || this.st !== 'active') return;
    this.keepAliveAt = this.t + ka * 1000;
  }

  /** @internal */
  stopKeepAlive(): void {
    this.keepAliveAt = undefined;
  }

  /** @internal the will from the options as bytes */
  willPayload(w: MqttSnWill): Uint8Array {
    return typeof w.payload === 'string' ? utf8(w.payload) : w.payload;
  }

  private begin(fn: string, now: number): void {
    this.t = now;
    if (this.st === 'closed') throw new MqttSnError('CLOSED', `${fn}: the client is closed`);
    if (this.st !== 'active' && this.st !== 'awake') throw new MqttSnError('NOT_CONNECTED', `${fn}: not connected (state ${this.st})`);
  }

  private settled(value: unknown): number {
    const id = ++this.nextOp;
    this.out.event({ type: 'done', op: id, value });
    return id;
  }

  /**
   * One exchange at a time, in order (MQTT-SN 1.2 §6.6: one QoS 1/2 PUBLISH in flight). `op` is
   * a generator object: its body runs from the first `next()`, i.e. when its turn comes.
   */
  private serial(op: Operation): number {
    const id = ++this.nextOp;
    this.queue.push({ id, op });
    if (this.current === undefined) this.next();
    return id;
  }

  private next(): void {
    while (this.current === undefined && this.queue.length > 0) {
      const q = this.queue.shift() as { id: number; op: Operation };
      const r = new Running(q.id, q.op, this.serialDone);
      this.current = r;
      this.running.set(q.id, r);
      this.xs.start(r, this.t);
    }
  }

  private serialFinished(r: Running, res: { value: unknown } | { error: Error }): void {
    this.running.delete(r.id);
    if (this.current === r) this.current = undefined;
    this.report(r.id, res);
    this.next();
  }

  private side(op: Operation, done?: (r: { value: unknown } | { error: Error }) => void): number {
    const id = ++this.nextOp;
    const r = new Running(id, op, (_r, res) => {
      this.running.delete(id);
      if (done !== undefined) done(res);
      else this.report(id, res);
    });
    this.running.set(id, r);
    this.xs.start(r, this.t);
    return id;
  }

  private report(op: number, res: { value: unknown } | { error: Error }): void {
    this.out.event('error' in res ? { type: 'failed', op, error: res.error } : { type: 'done', op, value: res.value });
  }

  private keepAliveDone(r: { value: unknown } | { error: Error }): void {
    this.keepAlivePing = undefined;
    if (!('error' in r) || this.st !== 'active') return;
    this.st = 'disconnected';
    this.out.event({ type: 'disconnect', reason: `keep-alive failed: ${r.error.message}` });
  }
}
