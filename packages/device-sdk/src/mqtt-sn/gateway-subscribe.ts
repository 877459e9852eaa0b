// The topic family at the gateway, sans-I/O: REGISTER (MQTT-SN 1.2 §6.5), SUBSCRIBE and
// UNSUBSCRIBE (§6.9) become broker commands whose outcomes are answered with SUBACK and
// UNSUBACK; bounded by maxRegistrations and maxSubscriptions. Internal.
import { ReturnCode, type MqttSnMessage } from './messages.js';
import type { BrokerCommand, BrokerResult, Session } from './gateway-session.js';
import { hasWildcard } from './topics.js';

/** §6.5 REGISTER → REGACK (1 "congestion" when the registry is full, 3 for wildcards). */
export function onRegister(s: Session, m: Extract<MqttSnMessage, { type: 'REGISTER' }>): void {
  if (m.topicName.length === 0 || hasWildcard(m.topicName)) {
    s.send({ type: 'REGACK', topicId: 0, msgId: m.msgId, returnCode: ReturnCode.NotSupported });
    return;
  }
  if (s.host.authorize !== undefined && !s.host.authorize(s, 'publish', m.topicName)) {
    // Aggregating mode: a topic outside the client's namespace gets no id ("not supported", §5.3.10).
    s.send({ type: 'REGACK', topicId: 0, msgId: m.msgId, returnCode: ReturnCode.NotSupported });
    return;
  }
  const id = s.registry.assign(m.topicName);
  if (id === undefined) {
    // §5.4.10: a full registry is "rejected: congestion" — the client may retry after freeing ids.
    s.host.counted('rejectedRegistrations');
    s.send({ type: 'REGACK', topicId: 0, msgId: m.msgId, returnCode: ReturnCode.Congestion });
    return;
  }
  s.send({ type: 'REGACK', topicId: id, msgId: m.msgId, returnCode: ReturnCode.Accepted });
}

const suback = (s: Session, msgId: number, rc: number): void => s.send({ type: 'SUBACK', qos: 0, topicId: 0, msgId, returnCode: rc });

/** §6.9 SUBSCRIBE → SUBACK (1 "congestion" at maxSubscriptions or with the registry full). */
export function onSubscribe(s: Session, m: Extract<MqttSnMessage, { type: 'SUBSCRIBE' }>): void {
  let filter: string | undefined;
  if (m.topic.kind === 'name') filter = m.topic.name;
  else if (m.topic.kind === 'predefined') filter = s.host.predefinedById.get(m.topic.id);
  else filter = m.topic.name;
  if (filter === undefined || filter.length === 0 || s.link === undefined) return suback(s, m.msgId, ReturnCode.InvalidTopicId);
  // Aggregating mode: a filter reaching outside the client's namespace is "not supported" (§5.3.10).
  if (s.host.authorize !== undefined && !s.host.authorize(s, 'subscribe', filter)) return suback(s, m.msgId, ReturnCode.NotSupported);
  if (!s.subscriptions.has(filter) && !s.pendingSubscribes.has(filter) && s.subscriptions.size + s.pendingSubscribes.size >= s.host.limits.maxSubscriptions) {
    s.host.counted('rejectedSubscriptions'); // §5.4.16 SUBACK "rejected: congestion"
    return suback(s, m.msgId, ReturnCode.Congestion);
  }
  let topicId = 0;
  if (m.topic.kind === 'predefined') topicId = m.topic.id;
  else if (m.topic.kind === 'name' && !hasWildcard(filter)) {
    const id = s.registry.assign(filter);
    if (id === undefined) {
      s.host.counted('rejectedSubscriptions');
      return suback(s, m.msgId, ReturnCode.Congestion);
    }
    topicId = id;
  }
  s.pendingSubscribes.add(filter);
  s.out.event({ type: 'broker', command: { kind: 'subscribe', filter, qos: m.qos === -1 ? 0 : m.qos, msgId: m.msgId, topicId } });
}

/** §6.9 UNSUBSCRIBE → UNSUBACK once the broker has it. */
export function onUnsubscribe(s: Session, m: Extract<MqttSnMessage, { type: 'UNSUBSCRIBE' }>): void {
  const filter = m.topic.kind === 'predefined' ? s.host.predefinedById.get(m.topic.id) : m.topic.name;
  if (filter === undefined || s.link === undefined) {
    s.send({ type: 'UNSUBACK', msgId: m.msgId });
    return;
  }
  s.subscriptions.delete(filter);
  s.out.event({ type: 'broker', command: { kind: 'unsubscribe', filter, msgId: m.msgId } });
}

/** The broker's answer to SUBSCRIBE / UNSUBSCRIBE. */
export function subscribeDone(s: Session, c: Extract<BrokerCommand, { kind: 'subscribe' | 'unsubscribe' }>, r: BrokerResult): void {
  if (c.kind === 'unsubscribe') {
    s.send({ type: 'UNSUBACK', msgId: c.msgId }); // a failed UNSUBSCRIBE ends with the connection anyway
    return;
  }
  s.pendingSubscribes.delete(c.filter);
  if (!r.ok) return suback(s, c.msgId, ReturnCode.Congestion);
  const g = r.granted ?? 0x80;
  if (g === 0x80 || g > 2) return suback(s, c.msgId, ReturnCode.NotSupported);
  s.subscriptions.set(c.filter, g as 0 | 1 | 2);
  s.send({ type: 'SUBACK', qos: g as 0 | 1 | 2, topicId: c.topicId, msgId: c.msgId, returnCode: ReturnCode.Accepted });
}
