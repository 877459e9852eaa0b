// The PUBLISH family at the gateway, client → broker: PUBLISH at QoS 0/1/2 and PUBREL
// (MQTT-SN 1.2 §6.6, §6.12), bounded by maxInflight. Internal.
import { ReturnCode, type MqttSnMessage } from './messages.js';
import type { Session } from './gateway-session.js';

/** §6.6 PUBLISH from the client, forwarded to the broker; QoS 2 held until PUBREL (§6.12). */
export async function onPublish(s: Session, m: Extract<MqttSnMessage, { type: 'PUBLISH' }>): Promise<void> {
  const topicId = m.topic.kind === 'short' ? 0 : m.topic.id;
  const name = s.topicName(m.topic);
  const link = s.link;
  if (name === undefined || link === undefined) {
    // §6.6: a PUBLISH with an unknown topic id is answered with PUBACK "invalid topic id".
    s.send({ type: 'PUBACK', topicId, msgId: m.msgId, returnCode: ReturnCode.InvalidTopicId });
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
  try {
    s.host.counted('publishesIn');
    await link.publish(name, m.payload, qos, m.retain);
  } catch (e) {
    if (m.qos === 2) s.received2.delete(m.msgId);
    // An MQTT 5 reason code ≥ 0x80 (e.g. 0x87 not authorized) is final: "not supported";
    // anything else (connection trouble) is "congestion", worth retrying later.
    const rc = (e as { code?: unknown }).code;
    const final = typeof rc === 'number' && rc >= 0x80;
    if (qos > 0) s.send({ type: 'PUBACK', topicId, msgId: m.msgId, returnCode: final ? ReturnCode.NotSupported : ReturnCode.Congestion });
    return;
  } finally {
    if (qos === 1) s.forwarding -= 1;
  }
  if (m.qos === 1) s.send({ type: 'PUBACK', topicId, msgId: m.msgId, returnCode: ReturnCode.Accepted });
  else if (m.qos === 2) s.send({ type: 'PUBREC', msgId: m.msgId });
}

/** §6.12 PUBREL → PUBCOMP, releasing the QoS 2 msgId. */
export function onPubrel(s: Session, m: Extract<MqttSnMessage, { type: 'PUBREL' }>): void {
  s.received2.delete(m.msgId);
  s.send({ type: 'PUBCOMP', msgId: m.msgId });
}
