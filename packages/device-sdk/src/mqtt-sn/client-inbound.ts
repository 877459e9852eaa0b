// What the client does with each message the gateway sends, by family: replies to its own
// exchanges, the PUBLISH family (PUBLISH, PUBREL; MQTT-SN 1.2 §6.6, §6.10), REGISTER (§6.10),
// the will dialogue (§6.2), DISCONNECT (§6.12) and PINGREQ (§6.11). Internal.
import { ReturnCode, type MqttSnMessage } from './messages.js';
import type { MqttSnClientMachine } from './client-machine.js';
import type { MqttSnInbound } from './client-options.js';
import { hasWildcard } from './topics.js';

export function clientInbound(c: MqttSnClientMachine, m: MqttSnMessage): void {
  switch (m.type) {
    case 'PUBLISH':
      c.offer(m); // progress for a pending wake
      onPublish(c, m);
      return;
    case 'PUBREL':
      c.offer(m);
      // MQTT-SN 1.2 §6.10 / MQTT 3.1.1 §4.3.3: release the stored msgId, then PUBCOMP.
      c.received2.delete(m.msgId);
      c.send({ type: 'PUBCOMP', msgId: m.msgId });
      return;
    case 'REGISTER':
      c.offer(m);
      // §6.10: the gateway registers a topic (e.g. for a wildcard subscription) before publishing on it.
      c.send({ type: 'REGACK', topicId: m.topicId, msgId: m.msgId, returnCode: acceptRegister(c, m.topicName, m.topicId) });
      return;
    case 'WILLTOPICREQ': {
      const w = c.o.will;
      c.offer(m); // restarts Tretry of the pending CONNECT
      c.send(w === undefined ? { type: 'WILLTOPIC', qos: 0, retain: false, topic: '' } : { type: 'WILLTOPIC', qos: w.qos ?? 0, retain: w.retain ?? false, topic: w.topic });
      return;
    }
    case 'WILLMSGREQ': {
      const w = c.o.will;
      c.offer(m);
      c.send({ type: 'WILLMSG', message: w === undefined ? new Uint8Array() : c.willPayload(w) });
      return;
    }
    case 'DISCONNECT':
      if (c.offer(m)) return;
      if (c.st === 'active' || c.st === 'awake') {
        c.st = 'disconnected';
        c.stopKeepAlive();
        c.out.event({ type: 'disconnect', reason: 'the gateway sent DISCONNECT' });
      }
      return;
    case 'PINGREQ':
      c.send({ type: 'PINGRESP' });
      return;
    default:
      c.offer(m);
  }
}

/** §6.10 a gateway REGISTER: a full registry answers "rejected: congestion" (§5.4.10), never grows past its limit. */
function acceptRegister(c: MqttSnClientMachine, name: string, id: number): number {
  if (id === 0 || id === 0xffff || name.length === 0 || hasWildcard(name)) return ReturnCode.InvalidTopicId;
  if (c.registry.set(name, id)) return ReturnCode.Accepted;
  c.stats.rejectedRegistrations += 1;
  return ReturnCode.Congestion;
}

function onPublish(c: MqttSnClientMachine, m: Extract<MqttSnMessage, { type: 'PUBLISH' }>): void {
  let topic: string | undefined;
  if (m.topic.kind === 'short') topic = m.topic.name;
  else if (m.topic.kind === 'predefined') topic = c.predefinedById.get(m.topic.id);
  else topic = c.registry.nameOf(m.topic.id);
  const topicId = m.topic.kind === 'short' ? 0 : m.topic.id;
  if (topic === undefined && m.topic.kind === 'normal') {
    // §6.10: unknown topic id → PUBACK "invalid topic id".
    if (m.qos === 1 || m.qos === 2) c.send({ type: 'PUBACK', topicId, msgId: m.msgId, returnCode: ReturnCode.InvalidTopicId });
    return;
  }
  const inbound: MqttSnInbound = { topic, topicRef: m.topic, payload: m.payload, qos: m.qos, retain: m.retain };
  if (m.qos === 2) {
    if (c.received2.has(m.msgId)) c.stats.duplicatesDropped += 1;
    else if (c.received2.size >= (c.o.maxAwaitingRelease ?? 10)) {
      // A gateway that never releases (PUBREL) meets the limit: "rejected: congestion" (§5.4.12).
      c.stats.rejectedPublishes += 1;
      c.send({ type: 'PUBACK', topicId, msgId: m.msgId, returnCode: ReturnCode.Congestion });
      return;
    } else {
      c.received2.add(m.msgId);
      deliver(c, inbound);
    }
    c.send({ type: 'PUBREC', msgId: m.msgId });
    return;
  }
  deliver(c, inbound);
  if (m.qos === 1) c.send({ type: 'PUBACK', topicId, msgId: m.msgId, returnCode: ReturnCode.Accepted });
}

function deliver(c: MqttSnClientMachine, m: MqttSnInbound): void {
  const wb = c.wakeBuffer;
  if (wb !== undefined) {
    if (wb.length < (c.o.maxWakeMessages ?? 1000)) wb.push(m);
    else c.stats.wakeOverflow += 1; // still emitted; only wake()'s array is bounded
  }
  c.out.event({ type: 'message', message: m });
}
