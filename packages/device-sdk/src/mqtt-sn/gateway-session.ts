// One MQTT-SN client as the gateway sees it: its broker connection, topic registry, the
// outbound queue (one QoS 1/2 PUBLISH in flight, MQTT-SN 1.2 §6.6/§6.10), and sleep state
// (§6.14). Internal.
import type { MqttClient } from 'mqtt';
import { MqttSnError } from './errors.js';
import { ReturnCode, type MqttSnMessage, type PublishTopic } from './messages.js';
import { MsgIds, Retransmitter } from './retransmit.js';
import type { MqttSnTimers, RetryPolicy } from './timers.js';
import { TopicRegistry, hasWildcard } from './topics.js';
import type { UdpPeer } from './udp.js';

export type SessionState = 'connecting' | 'active' | 'asleep' | 'awake' | 'closed';

export interface OutboundItem {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
}

/** What a session needs from its gateway. */
export interface SessionHost {
  readonly timers: MqttSnTimers;
  readonly retry: RetryPolicy;
  readonly sleepBufferMax: number;
  readonly predefinedByName: ReadonlyMap<string, number>;
  readonly predefinedById: ReadonlyMap<number, string>;
  send(session: Session, m: MqttSnMessage): void;
  lost(session: Session, reason: string): void;
  dropped(session: Session, item: OutboundItem): void;
  counted(what: 'publishesIn' | 'publishesOut' | 'sleepBuffered'): void;
}

export class Session {
  state: SessionState = 'connecting';
  mqtt: MqttClient | undefined;
  keepAliveS = 0;
  sleepS = 0;
  cleanSession = true;
  will: { topic: string; payload: Uint8Array; qos: 0 | 1 | 2; retain: boolean } | undefined;
  readonly registry = new TopicRegistry();
  readonly rtx: Retransmitter;
  readonly subscriptions = new Map<string, 0 | 1 | 2>();
  private readonly ids = new MsgIds();
  private readonly queue: OutboundItem[] = [];
  private readonly received2 = new Set<number>();
  private pumping = false;
  private watchdog: unknown;

  constructor(
    readonly clientId: string,
    public peer: UdpPeer,
    public key: string,
    private readonly host: SessionHost,
    /** Wraps replies for clients behind a forwarder (MQTT-SN 1.2 §5.5). */
    public wrap: ((m: MqttSnMessage) => MqttSnMessage) | undefined,
  ) {
    this.rtx = new Retransmitter(host.timers, () => host.retry);
  }

  send(m: MqttSnMessage): void {
    this.host.send(this, m);
  }

  // ------------------------------------------------------------ liveness

  /** Any datagram from the client proves it alive; re-arm the watchdog. */
  touch(): void {
    const t = this.host.timers;
    t.clearTimeout(this.watchdog);
    this.watchdog = undefined;
    // §6.11: lost after no traffic for 1.5 × keep-alive; a sleeper after 1.5 × its sleep Duration (§6.14).
    const s = this.state === 'asleep' ? this.sleepS : this.state === 'active' ? this.keepAliveS : 0;
    if (s > 0) this.watchdog = t.setTimeout(() => this.host.lost(this, this.state === 'asleep' ? `did not wake within ${s} s` : `silent for 1.5 × keep-alive ${s} s`), s * 1500);
  }

  stop(): void {
    this.state = 'closed';
    this.host.timers.clearTimeout(this.watchdog);
    this.rtx.failAll(new MqttSnError('CLOSED', `session ${this.clientId} closed`));
    this.queue.length = 0;
  }

  // ------------------------------------------------------------ client → broker

  topicName(t: PublishTopic): string | undefined {
    if (t.kind === 'short') return t.name;
    if (t.kind === 'predefined') return this.host.predefinedById.get(t.id);
    return this.registry.nameOf(t.id);
  }

  onRegister(m: Extract<MqttSnMessage, { type: 'REGISTER' }>): void {
    if (m.topicName.length === 0 || hasWildcard(m.topicName)) {
      this.send({ type: 'REGACK', topicId: 0, msgId: m.msgId, returnCode: ReturnCode.NotSupported });
      return;
    }
    this.send({ type: 'REGACK', topicId: this.registry.assign(m.topicName), msgId: m.msgId, returnCode: ReturnCode.Accepted });
  }

  async onPublish(m: Extract<MqttSnMessage, { type: 'PUBLISH' }>): Promise<void> {
    const topicId = m.topic.kind === 'short' ? 0 : m.topic.id;
    const name = this.topicName(m.topic);
    const mq = this.mqtt;
    if (name === undefined || mq === undefined) {
      // §6.6: a PUBLISH with an unknown topic id is answered with PUBACK "invalid topic id".
      this.send({ type: 'PUBACK', topicId, msgId: m.msgId, returnCode: ReturnCode.InvalidTopicId });
      return;
    }
    if (m.qos === 2) {
      // Exactly once: a msgId is forwarded once until PUBREL releases it.
      if (this.received2.has(m.msgId)) {
        this.send({ type: 'PUBREC', msgId: m.msgId });
        return;
      }
      this.received2.add(m.msgId);
    }
    const qos = m.qos === -1 ? 0 : m.qos;
    try {
      this.host.counted('publishesIn');
      if (qos === 0) mq.publish(name, Buffer.from(m.payload), { qos: 0, retain: m.retain });
      else await mq.publishAsync(name, Buffer.from(m.payload), { qos, retain: m.retain });
    } catch (e) {
      if (m.qos === 2) this.received2.delete(m.msgId);
      // An MQTT 5 reason code ≥ 0x80 (e.g. 0x87 not authorized) is final: "not supported";
      // anything else (connection trouble) is "congestion", worth retrying later.
      const rc = (e as { code?: unknown }).code;
      const final = typeof rc === 'number' && rc >= 0x80;
      if (qos > 0) this.send({ type: 'PUBACK', topicId, msgId: m.msgId, returnCode: final ? ReturnCode.NotSupported : ReturnCode.Congestion });
      return;
    }
    if (m.qos === 1) this.send({ type: 'PUBACK', topicId, msgId: m.msgId, returnCode: ReturnCode.Accepted });
    else if (m.qos === 2) this.send({ type: 'PUBREC', msgId: m.msgId });
  }

  onPubrel(m: Extract<MqttSnMessage, { type: 'PUBREL' }>): void {
    this.received2.delete(m.msgId);
    this.send({ type: 'PUBCOMP', msgId: m.msgId });
  }

  async onSubscribe(m: Extract<MqttSnMessage, { type: 'SUBSCRIBE' }>): Promise<void> {
    const mq = this.mqtt;
    let filter: string | undefined;
    let topicId = 0;
    if (m.topic.kind === 'name') {
      filter = m.topic.name;
      if (!hasWildcard(filter) && filter.length > 0) topicId = this.registry.assign(filter);
    } else if (m.topic.kind === 'predefined') {
      filter = this.host.predefinedById.get(m.topic.id);
      topicId = m.topic.id;
    } else filter = m.topic.name;
    const qos = m.qos === -1 ? 0 : m.qos;
    if (filter === undefined || filter.length === 0 || mq === undefined) {
      this.send({ type: 'SUBACK', qos: 0, topicId: 0, msgId: m.msgId, returnCode: ReturnCode.InvalidTopicId });
      return;
    }
    try {
      const granted = await mq.subscribeAsync(filter, { qos });
      const g = granted[0]?.qos ?? 0x80;
      if (g === 0x80 || g > 2) {
        this.send({ type: 'SUBACK', qos: 0, topicId: 0, msgId: m.msgId, returnCode: ReturnCode.NotSupported });
        return;
      }
      this.subscriptions.set(filter, g as 0 | 1 | 2);
      this.send({ type: 'SUBACK', qos: g as 0 | 1 | 2, topicId, msgId: m.msgId, returnCode: ReturnCode.Accepted });
    } catch {
      this.send({ type: 'SUBACK', qos: 0, topicId: 0, msgId: m.msgId, returnCode: ReturnCode.Congestion });
    }
  }

  async onUnsubscribe(m: Extract<MqttSnMessage, { type: 'UNSUBSCRIBE' }>): Promise<void> {
    const filter = m.topic.kind === 'predefined' ? this.host.predefinedById.get(m.topic.id) : m.topic.name;
    if (filter !== undefined && this.mqtt !== undefined) {
      this.subscriptions.delete(filter);
      await this.mqtt.unsubscribeAsync(filter).catch(() => undefined);
    }
    this.send({ type: 'UNSUBACK', msgId: m.msgId });
  }

  // ------------------------------------------------------------ broker → client

  fromBroker(item: OutboundItem): void {
    if (this.state === 'closed' || this.state === 'connecting') return;
    this.queue.push(item);
    if (this.state === 'asleep') {
      // §6.14: buffer for the sleeping client, bounded per instance.
      this.host.counted('sleepBuffered');
      while (this.queue.length > this.host.sleepBufferMax) {
        const old = this.queue.shift();
        if (old !== undefined) this.host.dropped(this, old);
      }
      return;
    }
    void this.pump();
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
        if (this.queue[0] === item) this.queue.shift();
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

  private async deliver(item: OutboundItem): Promise<void> {
    let topic: PublishTopic;
    const pre = this.host.predefinedByName.get(item.topic);
    if (pre !== undefined) topic = { kind: 'predefined', id: pre };
    else if (item.topic.length === 2 && item.topic.charCodeAt(0) < 256 && item.topic.charCodeAt(1) < 256) topic = { kind: 'short', name: item.topic };
    else {
      let id = this.registry.idOf(item.topic);
      if (id === undefined) {
        // §6.10: the gateway REGISTERs a topic the client does not know before publishing on it.
        const newId = this.registry.assign(item.topic);
        const msgId = this.ids.next();
        const r = await this.rtx.request('REGISTER', () => this.send({ type: 'REGISTER', topicId: newId, msgId, topicName: item.topic }), (m) => m.type === 'REGACK' && m.msgId === msgId);
        if (r.type === 'REGACK' && r.returnCode !== ReturnCode.Accepted) return; // the client refused the topic
        id = newId;
      }
      topic = { kind: 'normal', id };
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
    this.host.timers.clearTimeout(this.watchdog);
    void this.pump();
  }

  /** Back to active (CONNECT after sleeping): flush what was buffered. */
  activate(): void {
    this.state = 'active';
    this.touch();
    void this.pump();
  }
}
