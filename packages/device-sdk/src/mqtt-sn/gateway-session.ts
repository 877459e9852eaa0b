// One MQTT-SN client as the gateway sees it: its broker link, topic registry, the outbound
// queue (one QoS 1/2 PUBLISH in flight, MQTT-SN 1.2 §6.6/§6.10), sleep state (§6.14), and the
// per-client limits. Every table here is bounded by a MqttSnGatewayLimits value. Internal.
import type { BrokerLink } from './gateway-broker.js';
import type { MqttSnGatewayLimits, MqttSnGatewayStats } from './gateway-options.js';
import { MqttSnError } from './errors.js';
import { ReturnCode, type MqttSnMessage, type PublishTopic } from './messages.js';
import { MsgIds, Retransmitter } from './retransmit.js';
import type { RetryPolicy } from './timers.js';
import type { Clock } from '../transports/clock.js';
import { TopicRegistry } from './topics.js';
import type { UdpPeer } from './udp.js';

export type SessionState = 'connecting' | 'active' | 'asleep' | 'awake' | 'closed';

export interface OutboundItem {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
}

export type Will = { topic: string; payload: Uint8Array; qos: 0 | 1 | 2; retain: boolean };

type Counter = Exclude<keyof MqttSnGatewayStats, 'clients' | 'retransmissions'>;

/** What a session needs from its gateway. */
export interface SessionHost {
  readonly timers: Clock;
  readonly retry: RetryPolicy;
  readonly random: () => number;
  readonly limits: MqttSnGatewayLimits;
  readonly predefinedByName: ReadonlyMap<string, number>;
  readonly predefinedById: ReadonlyMap<number, string>;
  send(session: Session, m: MqttSnMessage): void;
  lost(session: Session, reason: string): void;
  dropped(session: Session, item: OutboundItem, counter: Counter): void;
  counted(what: Counter): void;
}

/** Will topic + message bytes, for maxWillBytes. */
export function willBytes(w: Will): number {
  return Buffer.byteLength(w.topic) + w.payload.byteLength;
}

export class Session {
  state: SessionState = 'connecting';
  link: BrokerLink | undefined;
  keepAliveS = 0;
  sleepS = 0;
  cleanSession = true;
  will: Will | undefined;
  readonly registry: TopicRegistry;
  readonly rtx: Retransmitter;
  readonly subscriptions = new Map<string, 0 | 1 | 2>();
  /** @internal filters with a SUBSCRIBE at the broker not yet answered */
  readonly pendingSubscribes = new Set<string>();
  private readonly ids = new MsgIds();
  private readonly queue: OutboundItem[] = [];
  private queueBytes = 0;
  /** @internal QoS 2 msgIds forwarded and awaiting PUBREL (§6.12) */
  readonly received2 = new Set<number>();
  /** @internal QoS 1 PUBLISHes awaiting the broker */
  forwarding = 0;
  private pumping = false;
  private watchdog: unknown;

  constructor(
    readonly clientId: string,
    public peer: UdpPeer,
    public key: string,
    readonly host: SessionHost,
    /** Wraps replies for clients behind a forwarder (MQTT-SN 1.2 §5.5). */
    public wrap: ((m: MqttSnMessage) => MqttSnMessage) | undefined,
  ) {
    this.rtx = new Retransmitter(host.timers, () => host.retry, host.random);
    this.registry = new TopicRegistry(host.limits.maxRegistrations);
  }

  send(m: MqttSnMessage): void {
    this.host.send(this, m);
  }

  /** Sizes of the bounded tables (for stats and the invariants the tests check). */
  footprint(): { registrations: number; subscriptions: number; inflight: number; queued: number; queuedBytes: number; pending: number } {
    return { registrations: this.registry.size, subscriptions: this.subscriptions.size + this.pendingSubscribes.size, inflight: this.forwarding + this.received2.size, queued: this.queue.length, queuedBytes: this.queueBytes, pending: this.rtx.size };
  }

  // ------------------------------------------------------------ liveness

  /** Any datagram from the client proves it alive; re-arm the watchdog. */
  touch(): void {
    const t = this.host.timers;
    t.clearTimer(this.watchdog);
    this.watchdog = undefined;
    // §6.11: lost after no traffic for 1.5 × keep-alive; a sleeper after 1.5 × its sleep Duration (§6.14).
    const s = this.state === 'asleep' ? this.sleepS : this.state === 'active' ? this.keepAliveS : 0;
    if (s > 0) this.watchdog = t.setTimer(() => this.host.lost(this, this.state === 'asleep' ? `did not wake within ${s} s` : `silent for 1.5 × keep-alive ${s} s`), s * 1500);
  }

  stop(): void {
    this.state = 'closed';
    this.host.timers.clearTimer(this.watchdog);
    this.rtx.failAll(new MqttSnError('CLOSED', `session ${this.clientId} closed`));
    this.queue.length = 0;
    this.queueBytes = 0;
  }

  // ------------------------------------------------------------ client → broker (handlers: gateway-publish.ts, gateway-subscribe.ts)

  topicName(t: PublishTopic): string | undefined {
    if (t.kind === 'short') return t.name;
    if (t.kind === 'predefined') return this.host.predefinedById.get(t.id);
    return this.registry.nameOf(t.id);
  }

  // ------------------------------------------------------------ broker → client

  fromBroker(item: OutboundItem): void {
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
    const keep = this.pumping ? 1 : 0;
    while (this.queue.length > keep && (this.queue.length > max || this.queueBytes > maxBytes)) {
      const old = this.queue.splice(keep, 1)[0] as OutboundItem;
      this.queueBytes -= old.payload.byteLength;
      this.host.dropped(this, old, asleep ? 'sleepDropped' : 'queueDropped');
    }
    if (!asleep) void this.pump();
  }

  /** Delivers queued messages one at a time; when awake and drained, ends the wake (PINGRESP). */
  async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && (this.state === 'active' || this.state === 'awake')) {
        const item = this.queue[0] as OutboundItem;
        try {
          await this.deliver(item);
        } catch (e) {
          if ((this.state as SessionState) !== 'closed') this.host.lost(this, `delivery failed: ${(e as Error).message}`);
          return;
        }
        if (this.queue[0] === item) {
          this.queue.shift();
          this.queueBytes -= item.payload.byteLength;
        }
      }
      if (this.state === 'awake') {
        this.state = 'asleep';
        this.send({ type: 'PINGRESP' });
        this.touch();
      }
    } finally {
      this.pumping = false;
    }
  }

  private async outboundTopic(item: OutboundItem): Promise<PublishTopic | undefined> {
    const pre = this.host.predefinedByName.get(item.topic);
    if (pre !== undefined) return { kind: 'predefined', id: pre };
    if (item.topic.length === 2 && item.topic.charCodeAt(0) < 256 && item.topic.charCodeAt(1) < 256) return { kind: 'short', name: item.topic };
    const known = this.registry.idOf(item.topic);
    if (known !== undefined) return { kind: 'normal', id: known };
    // §6.10: the gateway REGISTERs a topic the client does not know before publishing on it.
    const newId = this.registry.assign(item.topic);
    if (newId === undefined) return undefined;
    const msgId = this.ids.next();
    const r = await this.rtx.request('REGISTER', () => this.send({ type: 'REGISTER', topicId: newId, msgId, topicName: item.topic }), (m) => m.type === 'REGACK' && m.msgId === msgId);
    if (r.type === 'REGACK' && r.returnCode !== ReturnCode.Accepted) return undefined; // the client refused the topic
    return { kind: 'normal', id: newId };
  }

  private async deliver(item: OutboundItem): Promise<void> {
    const topic = await this.outboundTopic(item);
    if (topic === undefined) {
      this.host.dropped(this, item, 'rejectedRegistrations');
      return;
    }
    this.host.counted('publishesOut');
    if (item.qos === 0) {
      this.send({ type: 'PUBLISH', dup: false, qos: 0, retain: item.retain, topic, msgId: 0, payload: item.payload });
      return;
    }
    const msgId = this.ids.next();
    const qos = item.qos;
    await this.rtx.request('PUBLISH', (a) => this.send({ type: 'PUBLISH', dup: a > 0, qos, retain: item.retain, topic, msgId, payload: item.payload }), (m) => (m.type === 'PUBACK' || (qos === 2 && m.type === 'PUBREC')) && m.msgId === msgId);
    if (qos === 2) await this.rtx.request('PUBREL', () => this.send({ type: 'PUBREL', msgId }), (m) => m.type === 'PUBCOMP' && m.msgId === msgId);
  }

  /** §6.14: PINGREQ with the client id → send the buffered messages, then PINGRESP. */
  wake(): void {
    if (this.state !== 'asleep' && this.state !== 'awake') return;
    this.state = 'awake';
    this.host.timers.clearTimer(this.watchdog);
    void this.pump();
  }

  /** Back to active (CONNECT after sleeping): flush what was buffered. */
  activate(): void {
    this.state = 'active';
    this.touch();
    void this.pump();
  }
}
