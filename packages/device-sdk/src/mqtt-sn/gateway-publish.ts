// The PUBLISH family at the gateway (MQTT-SN 1.2 §6.6, §6.10, §6.12), sans-I/O: client →
// broker (PUBLISH at QoS 0/1/2 becomes a broker command; its outcome is answered with PUBACK
// or PUBREC; PUBREL → PUBCOMP), bounded by maxInflight; and broker → client (the delivery
// operation: REGISTER a new topic first, then PUBLISH, PUBREL for QoS 2). Internal.
import { MqttSnError } from './errors.js';
import { ReturnCode, type MqttSnMessage, type PublishTopic } from './messages.js';
import type { Operation } from './exchanges.js';
import type { BrokerCommand, BrokerResult, OutboundItem, Session } from './gateway-session.js';

type Publish = Extract<BrokerCommand, { kind: 'publish' }>;

/**
 * A forwarded PUBLISH lost with the aggregating gateway's broker link before the broker
 * acknowledged it: the client gets no answer and retransmits it (§6.13), with DUP, once the
 * link is back (QoS 1 is at least once).
 */
export const LINK_LOST = new MqttSnError('NOT_CONNECTED', 'the broker link was lost with this PUBLISH in flight');

/** §6.6 PUBLISH from the client, forwarded to the broker; QoS 2 held until PUBREL (§6.12). */
export function onPublish(s: Session, m: Extract<MqttSnMessage, { type: 'PUBLISH' }>): void {
  const topicId = m.topic.kind === 'short' ? 0 : m.topic.id;
  const name = s.topicName(m.topic);
  if (name === undefined || s.link === undefined) {
    // §6.6: a PUBLISH with an unknown topic id is answered with PUBACK "invalid topic id".
    s.send({ type: 'PUBACK', topicId, msgId: m.msgId, returnCode: ReturnCode.InvalidTopicId });
    return;
  }
  if (s.host.authorize !== undefined && !s.host.authorize(s, 'publish', name)) {
    // Aggregating mode: outside the client's namespace. MQTT-SN 1.2 §5.3.10 has no "not
    // authorised"; "not supported" (3) is final, as for a broker's MQTT 5 0x87 in transparent mode.
    s.send({ type: 'PUBACK', topicId, msgId: m.msgId, returnCode: ReturnCode.NotSupported });
    return;
  }
  if (m.qos === 2 && s.received2.has(m.msgId)) {
    s.send({ type: 'PUBREC', msgId: m.msgId }); // exactly once: forwarded once until PUBREL
    return;
  }
  if ((m.qos === 1 || m.qos === 2) && s.forwarding + s.received2.size >= s.host.limits.maxInflight) {
    // §6.6 allows one in flight; a client with more is answered "rejected: congestion" (§5.4.12 PUBACK).
    s.host.counted('rejectedPublishes');
    s.send({ type: 'PUBACK', topicId, msgId: m.msgId, returnCode: ReturnCode.Congestion });
    return;
  }
  if (m.qos === 2) s.received2.add(m.msgId);
  const qos = m.qos === -1 ? 0 : m.qos;
  if (qos === 1) s.forwarding += 1;
  s.host.counted('publishesIn');
  s.out.event({ type: 'broker', command: { kind: 'publish', topic: name, payload: m.payload, qos, retain: m.retain, snQos: m.qos, msgId: m.msgId, topicId } });
}

/** The broker's answer to a forwarded PUBLISH: PUBACK / PUBREC to the client. */
export function publishDone(s: Session, c: Publish, r: BrokerResult): void {
  if (c.qos === 1) s.forwarding -= 1;
  if (!r.ok) {
    if (c.snQos === 2) s.received2.delete(c.msgId);
    if (r.error === LINK_LOST) return; // no answer: the client retransmits
    // An MQTT 5 reason code ≥ 0x80 (e.g. 0x87 not authorized) is final: "not supported";
    // anything else (connection trouble) is "congestion", worth retrying later.
    // The default link says so with MqttSnError REJECTED and returnCode 3; a custom link with a numeric code.
    const rc = (r.error as { code?: unknown }).code;
    const final = (typeof rc === 'number' && rc >= 0x80) || (r.error instanceof MqttSnError && r.error.returnCode === ReturnCode.NotSupported);
    if (c.qos > 0) s.send({ type: 'PUBACK', topicId: c.topicId, msgId: c.msgId, returnCode: final ? ReturnCode.NotSupported : ReturnCode.Congestion });
    return;
  }
  if (c.snQos === 1) s.send({ type: 'PUBACK', topicId: c.topicId, msgId: c.msgId, returnCode: ReturnCode.Accepted });
  else if (c.snQos === 2) s.send({ type: 'PUBREC', msgId: c.msgId });
}

/** §6.12 PUBREL → PUBCOMP, releasing the QoS 2 msgId. */
export function onPubrel(s: Session, m: Extract<MqttSnMessage, { type: 'PUBREL' }>): void {
  s.received2.delete(m.msgId);
  s.send({ type: 'PUBCOMP', msgId: m.msgId });
}

/** The topic of a message for the client: predefined, short, registered, or REGISTERed now (§6.10). */
function* outboundTopic(s: Session, item: OutboundItem): Operation<PublishTopic | undefined> {
  const pre = s.host.predefinedByName.get(item.topic);
  if (pre !== undefined) return { kind: 'predefined', id: pre };
  if (item.topic.length === 2 && item.topic.charCodeAt(0) < 256 && item.topic.charCodeAt(1) < 256) return { kind: 'short', name: item.topic };
  const known = s.registry.idOf(item.topic);
  if (known !== undefined) return { kind: 'normal', id: known };
  // §6.10: the gateway REGISTERs a topic the client does not know before publishing on it.
  const newId = s.registry.assign(item.topic);
  if (newId === undefined) return undefined;
  const msgId = s.msgId();
  const r = yield { what: 'REGISTER', message: () => ({ type: 'REGISTER', topicId: newId, msgId, topicName: item.topic }), match: (m) => m.type === 'REGACK' && m.msgId === msgId };
  if (r.type === 'REGACK' && r.returnCode !== ReturnCode.Accepted) return undefined; // the client refused the topic
  return { kind: 'normal', id: newId };
}

/** Delivers one message to the client (§6.6 one QoS 1/2 PUBLISH in flight; §6.13 retransmitted). */
export function* deliverOp(s: Session, item: OutboundItem): Operation<void> {
  const topic = yield* outboundTopic(s, item);
  if (topic === undefined) {
    s.host.dropped(s, item, 'rejectedRegistrations');
    return;
  }
  s.host.counted('publishesOut');
  if (item.qos === 0) {
    s.send({ type: 'PUBLISH', dup: false, qos: 0, retain: item.retain, topic, msgId: 0, payload: item.payload });
    return;
  }
  const msgId = s.msgId();
  const qos = item.qos;
  yield { what: 'PUBLISH', message: (a) => ({ type: 'PUBLISH', dup: a > 0, qos, retain: item.retain, topic, msgId, payload: item.payload }), match: (m) => (m.type === 'PUBACK' || (qos === 2 && m.type === 'PUBREC')) && m.msgId === msgId };
  if (qos === 2) yield { what: 'PUBREL', message: () => ({ type: 'PUBREL', msgId }), match: (m) => m.type === 'PUBCOMP' && m.msgId === msgId };
}
