// The topic family at the gateway: REGISTER (MQTT-SN 1.2 §6.5), SUBSCRIBE and UNSUBSCRIBE
// (§6.9), bounded by maxRegistrations and maxSubscriptions. Internal.
import { ReturnCode, type MqttSnMessage } from './messages.js';
import type { Session } from './gateway-session.js';
import { hasWildcard } from './topics.js';

/** §6.5 REGISTER → REGACK (1 "congestion" when the registry is full, 3 for wildcards). */
export function onRegister(s: Session, m: Extract<MqttSnMessage, { type: 'REGISTER' }>): void {
  if (m.topicName.length === 0 || hasWildcard(m.topicName)) {
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

/** §6.9 SUBSCRIBE → SUBACK (1 "congestion" at maxSubscriptions or with the registry full). */
export async function onSubscribe(s: Session, m: Extract<MqttSnMessage, { type: 'SUBSCRIBE' }>): Promise<void> {
  const link = s.link;
  const reject = (rc: number): void => s.send({ type: 'SUBACK', qos: 0, topicId: 0, msgId: m.msgId, returnCode: rc });
  let filter: string | undefined;
  if (m.topic.kind === 'name') filter = m.topic.name;
  else if (m.topic.kind === 'predefined') filter = s.host.predefinedById.get(m.topic.id);
  else filter = m.topic.name;
  if (filter === undefined || filter.length === 0 || link === undefined) return reject(ReturnCode.InvalidTopicId);
  if (!s.subscriptions.has(filter) && !s.pendingSubscribes.has(filter) && s.subscriptions.size + s.pendingSubscribes.size >= s.host.limits.maxSubscriptions) {
    s.host.counted('rejectedSubscriptions'); // §5.4.16 SUBACK "rejected: congestion"
    return reject(ReturnCode.Congestion);
  }
  let topicId = 0;
  if (m.topic.kind === 'predefined') topicId = m.topic.id;
  else if (m.topic.kind === 'name' && !hasWildcard(filter)) {
    const id = s.registry.assign(filter);
    if (id === undefined) {
      s.host.counted('rejectedSubscriptions');
      return reject(ReturnCode.Congestion);
    }
    topicId = id;
  }
  const qos = m.qos === -1 ? 0 : m.qos;
  s.pendingSubscribes.add(filter);
  try {
    const g = await link.subscribe(filter, qos);
    if (g === 0x80 || g > 2) return reject(ReturnCode.NotSupported);
    if (s.state === 'closed') return;
    s.subscriptions.set(filter, g as 0 | 1 | 2);
    s.send({ type: 'SUBACK', qos: g as 0 | 1 | 2, topicId, msgId: m.msgId, returnCode: ReturnCode.Accepted });
  } catch {
    reject(ReturnCode.Congestion);
  } finally {
    s.pendingSubscribes.delete(filter);
  }
}

/** §6.9 UNSUBSCRIBE → UNSUBACK. */
export async function onUnsubscribe(s: Session, m: Extract<MqttSnMessage, { type: 'UNSUBSCRIBE' }>): Promise<void> {
  const filter = m.topic.kind === 'predefined' ? s.host.predefinedById.get(m.topic.id) : m.topic.name;
  if (filter !== undefined && s.link !== undefined) {
    s.subscriptions.delete(filter);
    await s.link.unsubscribe(filter).catch(() => undefined);
  }
  s.send({ type: 'UNSUBACK', msgId: m.msgId });
}
