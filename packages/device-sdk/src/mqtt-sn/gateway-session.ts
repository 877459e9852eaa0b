// One MQTT-SN client as the gateway sees it, as a sans-I/O state machine (DESIGN.md "One time
// and I/O model"): the client's messages, timer ticks, messages from its broker session and
// the outcomes of broker commands go in; datagrams for the client, broker commands and session
// events come out with the next deadline. Its topic registry, the outbound queue (one QoS 1/2
// PUBLISH in flight, MQTT-SN 1.2 §6.6/§6.10), sleep state (§6.14), keep-alive watchdog (§6.11)
// and per-client limits (every table bounded by a MqttSnGatewayLimits value). The gateway
// (gateway.ts) is the I/O around it. Internal.
import type { BrokerLink } from './gateway-broker.js';
import type { MqttSnGatewayLimits, MqttSnGatewayStats } from './gateway-options.js';
import { decodeMessage, encodeMessage } from './codec.js';
import { MqttSnError } from './errors.js';
import type { MqttSnMessage, PublishTopic } from './messages.js';
import { Exchanges, Running, type Operation } from './exchanges.js';
import type { RetryPolicy } from './timers.js';
import { TopicRegistry } from './topics.js';
import { deliverOp, onPublish, onPubrel, publishDone } from './gateway-publish.js';
import { onRegister, onSubscribe, onUnsubscribe, subscribeDone } from './gateway-subscribe.js';
import { onWillUpdate, willUpdateDone } from './gateway-will.js';
import { Outbox, earliest, type OutDatagram, type SansIoMachine } from '../transports/sansio.js';
import type { DatagramPeer } from '../transports/datagram.js';

export type SessionState = 'connecting' | 'active' | 'asleep' | 'awake' | 'closed';

export interface OutboundItem {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
}

export type Will = { topic: string; payload: Uint8Array; qos: 0 | 1 | 2; retain: boolean };

export type Counter = Exclude<keyof MqttSnGatewayStats, 'clients' | 'retransmissions' | 'tlsContexts' | 'brokerLinks'>;

/** What a session asks of its broker connection; the outcome comes back through {@link Session.brokerDone}. */
export type BrokerCommand =
  | { readonly kind: 'publish'; readonly topic: string; readonly payload: Uint8Array; readonly qos: 0 | 1 | 2; readonly retain: boolean; readonly snQos: number; readonly msgId: number; readonly topicId: number }
  | { readonly kind: 'subscribe'; readonly filter: string; readonly qos: 0 | 1 | 2; readonly msgId: number; readonly topicId: number }
  | { readonly kind: 'unsubscribe'; readonly filter: string; readonly msgId: number }
  /** MQTT fixes the will at CONNECT: a new broker session with the current will, then the subscriptions again. */
  | { readonly kind: 'will'; readonly respond: 'WILLTOPICRESP' | 'WILLMSGRESP' };

/** A broker command's outcome: `granted` QoS for a subscribe; `error.code` an MQTT reason code when the broker refused. */
export type BrokerResult = { readonly ok: true; readonly granted?: number } | { readonly ok: false; readonly error: Error };

/** What a session hands its gateway besides datagrams. */
export type SessionEvent =
  | { readonly type: 'broker'; readonly command: BrokerCommand }
  | { readonly type: 'lost'; readonly reason: string }
  | { readonly type: 'disconnect'; readonly sleepS: number | undefined };

/** Configuration and counters shared by the gateway's sessions (no I/O). */
export interface SessionHost {
  readonly retry: RetryPolicy;
  readonly random: () => number;
  readonly limits: MqttSnGatewayLimits;
  readonly predefinedByName: ReadonlyMap<string, number>;
  readonly predefinedById: ReadonlyMap<number, string>;
  readonly maxMessageBytes: number;
  /**
   * The aggregating gateway's own authorisation of a client's PUBLISH topic or SUBSCRIBE filter
   * (counted and reported by the host when it refuses); absent in transparent mode, where the
   * broker authorises each client's own connection.
   */
  readonly authorize?: (s: Session, action: 'publish' | 'subscribe', topic: string) => boolean;
  dropped(session: Session, item: OutboundItem, counter: Counter): void;
  counted(what: Counter): void;
}

/** Will topic + message bytes, for maxWillBytes. */
export function willBytes(w: Will): number {
  return Buffer.byteLength(w.topic) + w.payload.byteLength;
}

export class Session implements SansIoMachine<SessionEvent> {
  state: SessionState = 'connecting';
  link: BrokerLink | undefined;
  keepAliveS = 0;
  sleepS = 0;
  cleanSession = true;
  will: Will | undefined;
  readonly registry: TopicRegistry;
  readonly xs: Exchanges;
  readonly subscriptions = new Map<string, 0 | 1 | 2>();
  /** @internal filters with a SUBSCRIBE at the broker not yet answered */
  readonly pendingSubscribes = new Set<string>();
  /** @internal */ readonly out = new Outbox<SessionEvent>();
  /** @internal */ readonly queue: OutboundItem[] = [];
  /** @internal */ queueBytes = 0;
  /** @internal QoS 2 msgIds forwarded and awaiting PUBREL (§6.12) */
  readonly received2 = new Set<number>();
  /** @internal QoS 1 PUBLISHes awaiting the broker */
  forwarding = 0;
  /** @internal the delivery running (one at a time, §6.6) */
  delivering: Running | undefined;
  /** @internal the time of the input being handled */
  t = 0;
  /** @internal aggregating mode: the last PUBLISH topic the gateway's authorisation allowed (checked once per topic change) */
  allowedTopic: string | undefined;
  private watchdogAt: number | undefined;
  private nextMsgId = 0;

  constructor(
    readonly clientId: string,
    public peer: DatagramPeer,
    public key: string,
    readonly host: SessionHost,
    /** Wraps replies for clients behind a forwarder (MQTT-SN 1.2 §5.5). */
    public wrap: ((m: MqttSnMessage) => MqttSnMessage) | undefined,
  ) {
    this.xs = new Exchanges({ retry: host.retry, random: host.random, send: (m) => this.send(m) });
    this.registry = new TopicRegistry(host.limits.maxRegistrations);
  }

  // ------------------------------------------------------------ sans-I/O surface

  /** Decodes one datagram from the client and handles it. Never throws for network input. */
  handleDatagram(bytes: Uint8Array, now: number): void {
    let m: MqttSnMessage;
    try {
      m = decodeMessage(bytes, { maxLength: this.host.maxMessageBytes, aliasPayload: true });
    } catch {
      this.host.counted('malformed');
      return;
    }
    this.handleMessage(m, now);
  }

  /** One decoded message from the client (the gateway decodes once to find the session). */
  handleMessage(m: MqttSnMessage, now: number): void {
    this.t = now;
    if (this.state === 'closed') return;
    if (this.state === 'connecting') {
      this.xs.offer(m, now); // §6.2: during CONNECT only the will dialogue (WILLTOPIC, WILLMSG) is expected
      return;
    }
    this.touch();
    switch (m.type) {
      case 'REGISTER': return onRegister(this, m);
      case 'PUBLISH': return onPublish(this, m);
      case 'PUBREL': return onPubrel(this, m);
      case 'SUBSCRIBE': return onSubscribe(this, m);
      case 'UNSUBSCRIBE': return onUnsubscribe(this, m);
      case 'PINGREQ': return this.send({ type: 'PINGRESP' });
      case 'DISCONNECT': return this.onDisconnect(m.durationS);
      case 'WILLTOPICUPD':
      case 'WILLMSGUPD':
        return onWillUpdate(this, m);
      default:
        this.xs.offer(m, now); // replies to gateway-initiated exchanges
    }
  }

  /** Retransmissions (§6.13) and the watchdog: lost after 1.5 × keep-alive of silence (§6.11), a sleeper after 1.5 × its Duration (§6.14). */
  handleTimer(now: number): void {
    this.t = now;
    this.xs.expire(now);
    if (this.watchdogAt !== undefined && this.watchdogAt <= now && this.state !== 'closed') {
      this.watchdogAt = undefined;
      const s = this.state === 'asleep' ? this.sleepS : this.keepAliveS;
      this.out.event({ type: 'lost', reason: this.state === 'asleep' ? `did not wake within ${s} s` : `silent for 1.5 × keep-alive ${s} s` });
    }
  }

  nextDeadline(): number | undefined {
    return earliest(this.xs.nextDeadline(), this.watchdogAt);
  }

  poll(): { datagrams: readonly OutDatagram[]; events: readonly SessionEvent[] } {
    return this.out.poll();
  }

  /** A message from the client's broker session, for the client (queued; bounded per instance). */
  handleBrokerMessage(item: OutboundItem, now: number): void {
    this.t = now;
    if (this.state === 'closed' || this.state === 'connecting') return;
    const asleep = this.state === 'asleep';
    // A broker payload is a view into the connection's read chunk; one held for a sleeper is
    // copied so the buffer's bytes are what the limits count.
    if (asleep) item = { ...item, payload: item.payload.slice() };
    this.queue.push(item);
    this.queueBytes += item.payload.byteLength;
    if (asleep) this.host.counted('sleepBuffered');
    // §6.14: buffer for the sleeping client, bounded per instance; an active client's queue too.
    const max = asleep ? this.host.limits.sleepBufferMax : this.host.limits.maxQueued;
    const maxBytes = asleep ? this.host.limits.sleepBufferBytes : this.host.limits.maxQueuedBytes;
    // The head may be mid-delivery while awake or active: never drop it from under the pump.
    const keep = this.delivering !== undefined ? 1 : 0;
    while (this.queue.length > keep && (this.queue.length > max || this.queueBytes > maxBytes)) {
      const old = this.queue.splice(keep, 1)[0] as OutboundItem;
      this.queueBytes -= old.payload.byteLength;
      this.host.dropped(this, old, asleep ? 'sleepDropped' : 'queueDropped');
    }
    if (!asleep) this.pump();
  }

  /** The outcome of a {@link BrokerCommand} this session asked for. */
  brokerDone(c: BrokerCommand, r: BrokerResult, now: number): void {
    this.t = now;
    if (c.kind === 'publish') publishDone(this, c, r);
    else if (c.kind === 'will') willUpdateDone(this, c, r);
    else if (this.state !== 'closed') subscribeDone(this, c, r);
  }

  // ------------------------------------------------------------ lifecycle (driven by the gateway)

  /** Starts a gateway-initiated exchange sequence (the will dialogue, §6.2); `done` gets its outcome. */
  run(op: Operation, done: (r: { value: unknown } | { error: Error }) => void): void {
    this.xs.start(new Running(0, op, (_r, res) => done(res)), this.t);
  }

  /** §6.14: PINGREQ with the client id → send the buffered messages, then PINGRESP. */
  wake(now: number): void {
    this.t = now;
    if (this.state !== 'asleep' && this.state !== 'awake') return;
    this.state = 'awake';
    this.watchdogAt = undefined;
    this.pump();
  }

  /** Active (CONNACK sent, or CONNECT after sleeping): flush what was buffered. */
  activate(now: number): void {
    this.t = now;
    this.state = 'active';
    this.touch();
    this.pump();
  }

  stop(now: number): void {
    this.t = now;
    this.state = 'closed';
    this.watchdogAt = undefined;
    this.xs.failAll(new MqttSnError('CLOSED', `session ${this.clientId} closed`), now);
    this.queue.length = 0;
    this.queueBytes = 0;
  }

  // ------------------------------------------------------------ internals (used by the handler modules)

  /** @internal Queues one message for the client. */
  send(m: MqttSnMessage): void {
    if (this.state === 'closed') return;
    this.out.datagram(encodeMessage(this.wrap === undefined ? m : this.wrap(m)), this.peer);
  }

  /** @internal Message ids 1…65535, wrapping (MQTT-SN 1.2 §5.3.7). */
  msgId(): number {
    this.nextMsgId = (this.nextMsgId % 0xffff) + 1;
    return this.nextMsgId;
  }

  /** Sizes of the bounded tables (for stats and the invariants the tests check). */
  footprint(): { registrations: number; subscriptions: number; inflight: number; queued: number; queuedBytes: number; pending: number } {
    return { registrations: this.registry.size, subscriptions: this.subscriptions.size + [...this.pendingSubscribes].filter((f) => !this.subscriptions.has(f)).length, inflight: this.forwarding + this.received2.size, queued: this.queue.length, queuedBytes: this.queueBytes, pending: this.xs.size };
  }

  /** Any datagram from the client proves it alive; moves the watchdog. */
  touch(): void {
    const s = this.state === 'asleep' ? this.sleepS : this.state === 'active' ? this.keepAliveS : 0;
    this.watchdogAt = s > 0 ? this.t + s * 1500 : undefined;
  }

  topicName(t: PublishTopic): string | undefined {
    if (t.kind === 'short') return t.name;
    if (t.kind === 'predefined') return this.host.predefinedById.get(t.id);
    return this.registry.nameOf(t.id);
  }

  /** Delivers queued messages one at a time; when awake and drained, ends the wake (PINGRESP). */
  pump(): void {
    if (this.delivering !== undefined) return;
    while (this.queue.length > 0 && (this.state === 'active' || this.state === 'awake')) {
      const item = this.queue[0] as OutboundItem;
      let sync = true;
      let failed: Error | undefined;
      const r = new Running(0, deliverOp(this, item), (_r, res) => {
        this.delivering = undefined;
        if ('error' in res) failed = res.error;
        if (this.queue[0] === item) {
          this.queue.shift();
          this.queueBytes -= item.payload.byteLength;
        }
        if (failed !== undefined) {
          if (this.state !== 'closed') this.out.event({ type: 'lost', reason: `delivery failed: ${failed.message}` });
          return;
        }
        if (!sync) this.pump();
      });
      this.delivering = r;
      this.xs.start(r, this.t);
      sync = false;
      if (this.delivering !== undefined || failed !== undefined) return; // waits for a reply
    }
    if (this.state === 'awake' && this.queue.length === 0) {
      this.state = 'asleep';
      this.send({ type: 'PINGRESP' });
      this.touch();
    }
  }

  private onDisconnect(durationS: number | undefined): void {
    this.send({ type: 'DISCONNECT' });
    if (durationS !== undefined && durationS > 0) {
      // §6.14: asleep; the broker connection stays, messages are buffered.
      this.state = 'asleep';
      this.sleepS = durationS;
      this.touch();
    }
    this.out.event({ type: 'disconnect', sleepS: durationS !== undefined && durationS > 0 ? durationS : undefined });
  }
}
