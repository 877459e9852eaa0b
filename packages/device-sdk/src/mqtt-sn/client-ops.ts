// The client's operations as generators over exchanges (sans-I/O, see exchanges.ts): each
// yields the request/reply exchanges it needs, in order, and returns its result or throws a
// typed error. MQTT-SN 1.2 §6.2 connect, §6.4 will update, §6.5 register, §6.6 publish, §6.9
// subscribe, §6.11 ping, §6.14 sleep and wake. Internal.
import { MqttSnError } from './errors.js';
import { ReturnCode, type MqttSnMessage, type MqttSnQoS, type PublishTopic, type SubscribeTopic } from './messages.js';
import type { Exchange, Operation } from './exchanges.js';
import type { MqttSnClientMachine } from './client-machine.js';
import { rcName, type MqttSnClientState, type MqttSnInbound, type MqttSnWill } from './client-options.js';
import { hasWildcard } from './topics.js';

const x = (what: string, message: (attempt: number) => MqttSnMessage, match: (m: MqttSnMessage) => boolean, progress?: (m: MqttSnMessage) => boolean): Exchange =>
  progress === undefined ? { what, message, match } : { what, message, match, progress };

function rejected(what: string, rc: number): MqttSnError {
  return new MqttSnError('REJECTED', `${what} rejected: return code ${rc} (${rcName(rc)})`, { returnCode: rc });
}

/**
 * CONNECT → CONNACK. `resuming` sends CleanSession=0 and keeps the registry (MQTT-SN 1.2 §6.14:
 * a sleeper's CONNECT resumes its session; §5.3.4 CleanSession=0 keeps subscriptions and
 * registrations); on failure the state goes back to what it was (`was`).
 */
function* connect(c: MqttSnClientMachine, resuming: boolean, was?: MqttSnClientState): Operation<void> {
  const o = c.o;
  const clean = !resuming && (o.cleanSession ?? true);
  const msg: MqttSnMessage = { type: 'CONNECT', will: o.will !== undefined, cleanSession: clean, protocolId: 1, durationS: o.keepAliveS ?? 60, clientId: o.clientId };
  try {
    // The will dialogue (WILLTOPICREQ/WILLMSGREQ) is progress: answered by the inbound handler, it restarts Tretry.
    const r = yield x('CONNECT', () => msg, (m) => m.type === 'CONNACK', (m) => m.type === 'WILLTOPICREQ' || m.type === 'WILLMSGREQ');
    if (r.type === 'CONNACK' && r.returnCode !== ReturnCode.Accepted) {
      throw new MqttSnError('REJECTED', `CONNECT rejected by the gateway: return code ${r.returnCode} (${rcName(r.returnCode)})`, { returnCode: r.returnCode });
    }
  } catch (e) {
    if (was !== undefined && c.st === 'connecting') c.st = was === 'asleep' ? 'disconnected' : was;
    throw e;
  }
  c.st = 'active';
  if (clean) c.registry.clear();
  c.armKeepAlive();
}

/** §6.5 REGISTER → REGACK; the id goes into the registry. */
function* register(c: MqttSnClientMachine, topicName: string): Operation<number> {
  const known = c.registry.idOf(topicName);
  if (known !== undefined) return known; // registered while this one waited its turn
  const msgId = c.msgId();
  const r = yield x('REGISTER', () => ({ type: 'REGISTER', topicId: 0, msgId, topicName }), (m) => m.type === 'REGACK' && m.msgId === msgId);
  if (r.type !== 'REGACK' || r.returnCode !== ReturnCode.Accepted) throw rejected(`REGISTER "${topicName}"`, r.type === 'REGACK' ? r.returnCode : -1);
  c.registry.set(topicName, r.topicId);
  return r.topicId;
}

/**
 * The PUBLISH exchange of §6.6 (QoS 1 → PUBACK, QoS 2 → PUBREC) as a class: the one exchange
 * every QoS 1/2 message runs, so its message and matcher are methods, not two closures per
 * message. Retransmissions carry DUP (§5.3.1).
 */
class PublishExchange implements Exchange {
  readonly what = 'PUBLISH';
  constructor(private readonly topic: PublishTopic, private readonly payload: Uint8Array, private readonly qos: 1 | 2, private readonly retain: boolean, private readonly msgId: number) {}
  message(attempt: number): MqttSnMessage {
    return { type: 'PUBLISH', dup: attempt > 0, qos: this.qos, retain: this.retain, topic: this.topic, msgId: this.msgId, payload: this.payload };
  }
  match(m: MqttSnMessage): boolean {
    return (m.type === 'PUBACK' && m.msgId === this.msgId) || (this.qos === 2 && m.type === 'PUBREC' && m.msgId === this.msgId);
  }
}

/** A topic string sent without registering: predefined id, short name, or already registered. */
function quickTopic(c: MqttSnClientMachine, topic: string): PublishTopic | undefined {
  const pre = c.predefined.get(topic);
  if (pre !== undefined) return { kind: 'predefined', id: pre };
  if (topic.length === 2) return { kind: 'short', name: topic };
  const id = c.registry.idOf(topic);
  return id === undefined ? undefined : { kind: 'normal', id };
}

/** §6.6 PUBLISH (QoS 1 → PUBACK; QoS 2 → PUBREC, PUBREL → PUBCOMP); registers the topic first when needed. */
function* publish(c: MqttSnClientMachine, topic: string | PublishTopic, quick: PublishTopic | undefined, payload: Uint8Array, qos: 0 | 1 | 2, retain: boolean): Operation<void> {
  const t: PublishTopic = quick ?? (typeof topic === 'string' ? (quickTopic(c, topic) ?? { kind: 'normal', id: yield* register(c, topic) }) : topic);
  if (qos === 0) {
    c.send({ type: 'PUBLISH', dup: false, qos: 0, retain, topic: t, msgId: 0, payload });
    return;
  }
  const msgId = c.msgId();
  const first = yield new PublishExchange(t, payload, qos, retain, msgId);
  if (first.type === 'PUBACK') {
    if (first.returnCode === ReturnCode.Accepted) return;
    if (first.returnCode === ReturnCode.InvalidTopicId && t.kind === 'normal') c.registry.clear();
    throw new MqttSnError(first.returnCode === ReturnCode.InvalidTopicId ? 'INVALID_TOPIC' : 'REJECTED', `PUBLISH rejected: return code ${first.returnCode} (${rcName(first.returnCode)})`, { returnCode: first.returnCode });
  }
  yield x('PUBREL', () => ({ type: 'PUBREL', msgId }), (m) => m.type === 'PUBCOMP' && m.msgId === msgId);
}

/** §6.9 SUBSCRIBE → SUBACK: the topic id (0 for wildcard filters) and the granted QoS. */
function* subscribe(c: MqttSnClientMachine, st: SubscribeTopic, qos: 0 | 1 | 2): Operation<{ topicId: number; qos: MqttSnQoS }> {
  const msgId = c.msgId();
  const r = yield x('SUBSCRIBE', (a) => ({ type: 'SUBSCRIBE', dup: a > 0, qos, msgId, topic: st }), (m) => m.type === 'SUBACK' && m.msgId === msgId);
  if (r.type !== 'SUBACK' || r.returnCode !== ReturnCode.Accepted) throw rejected('SUBSCRIBE', r.type === 'SUBACK' ? r.returnCode : -1);
  if (st.kind === 'name' && !hasWildcard(st.name) && r.topicId !== 0) c.registry.set(st.name, r.topicId);
  return { topicId: r.topicId, qos: r.qos };
}

function* unsubscribe(c: MqttSnClientMachine, st: SubscribeTopic): Operation<void> {
  const msgId = c.msgId();
  yield x('UNSUBSCRIBE', () => ({ type: 'UNSUBSCRIBE', msgId, topic: st }), (m) => m.type === 'UNSUBACK' && m.msgId === msgId);
}

/** §6.4 WILLTOPICUPD → WILLTOPICRESP, then WILLMSGUPD → WILLMSGRESP. */
function* updateWill(c: MqttSnClientMachine, will: MqttSnWill | undefined): Operation<void> {
  const topic: MqttSnMessage = will === undefined ? { type: 'WILLTOPICUPD', qos: 0, retain: false, topic: '' } : { type: 'WILLTOPICUPD', qos: will.qos ?? 0, retain: will.retain ?? false, topic: will.topic };
  const t = yield x('WILLTOPICUPD', () => topic, (m) => m.type === 'WILLTOPICRESP');
  if (t.type === 'WILLTOPICRESP' && t.returnCode !== ReturnCode.Accepted) throw rejected('WILLTOPICUPD', t.returnCode);
  if (will === undefined) return;
  const message = c.willPayload(will);
  const r = yield x('WILLMSGUPD', () => ({ type: 'WILLMSGUPD', message }), (m) => m.type === 'WILLMSGRESP');
  if (r.type === 'WILLMSGRESP' && r.returnCode !== ReturnCode.Accepted) throw rejected('WILLMSGUPD', r.returnCode);
}

/** §6.11 PINGREQ → PINGRESP. */
function* ping(_c: MqttSnClientMachine, clientId: string | undefined): Operation<void> {
  yield x('PINGREQ', () => (clientId === undefined ? { type: 'PINGREQ' } : { type: 'PINGREQ', clientId }), (m) => m.type === 'PINGRESP');
}

/** §6.14 DISCONNECT with a Duration → DISCONNECT: asleep. */
function* sleep(c: MqttSnClientMachine, durationS: number): Operation<void> {
  yield x('DISCONNECT', () => ({ type: 'DISCONNECT', durationS }), (m) => m.type === 'DISCONNECT');
  c.stopKeepAlive();
  c.st = 'asleep';
}

/** §6.14 PINGREQ with the client id; buffered PUBLISHes arrive, then PINGRESP: asleep again. */
function* wake(c: MqttSnClientMachine): Operation<MqttSnInbound[]> {
  const got = c.wakeBuffer ?? [];
  try {
    // Buffered PUBLISHes arriving are progress: the gateway is busy flushing.
    yield x('PINGREQ', () => ({ type: 'PINGREQ', clientId: c.o.clientId }), (m) => m.type === 'PINGRESP', (m) => m.type === 'PUBLISH' || m.type === 'REGISTER' || m.type === 'PUBREL');
  } finally {
    c.wakeBuffer = undefined;
    if (c.st === 'awake') c.st = 'asleep';
  }
  return got;
}

/** DISCONNECT → DISCONNECT; a silent gateway times the session out, so failure is fine. */
function* disconnect(_c: MqttSnClientMachine): Operation<void> {
  try {
    yield x('DISCONNECT', () => ({ type: 'DISCONNECT' }), (m) => m.type === 'DISCONNECT');
  } catch {
    // the gateway will time the session out
  }
}

export const clientOps = { connect, register, quickTopic, publish, subscribe, unsubscribe, updateWill, ping, sleep, wake, disconnect };
