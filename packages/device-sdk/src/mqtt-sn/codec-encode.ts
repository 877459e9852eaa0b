// The MQTT-SN 1.2 encoder (§5): one body plan per message family (fixed fields, a variable
// trailing field, and how to write the fixed ones), then one allocation for the whole message
// (§5.2.1 Length, 1 or 3 octets); PUBLISH written directly on its hot path. Internal: the API is
// encodeMessage in codec.ts.
import { viewOf, writeU16BE } from './bytes.js';
import { CLEAN, DUP, RETAIN, WILL, allocOut, bool, bytesOf, fail, int, qosOf, qosToFlags, shortName, text } from './codec-fields.js';
import { MsgType, type MqttSnMessage, type PublishTopic, type SubscribeTopic } from './messages.js';

interface Plan {
  /** Bytes of fixed fields. */
  fixed: number;
  /** The variable trailing field. */
  tail?: Uint8Array | undefined;
  fill?: (v: DataView, o: number, b: Uint8Array) => void;
}

type M<T extends MqttSnMessage['type']> = Extract<MqttSnMessage, { type: T }>;

/** §5.4.2–§5.4.9, §5.4.21–§5.4.24: discovery, CONNECT/CONNACK and the will messages. */
function connectFamily(m: MqttSnMessage): Plan | undefined {
  switch (m.type) {
    case 'ADVERTISE': {
      const gw = int(m.gwId, 'gwId', 0xff);
      const d = int(m.durationS, 'durationS', 0xffff);
      return { fixed: 3, fill: (v, o, b) => { b[o] = gw; writeU16BE(v, o + 1, d); } };
    }
    case 'SEARCHGW': {
      const r = int(m.radius, 'radius', 0xff);
      return { fixed: 1, fill: (_v, o, b) => { b[o] = r; } };
    }
    case 'GWINFO': {
      const gw = int(m.gwId, 'gwId', 0xff);
      return { fixed: 1, tail: m.gwAdd === undefined ? undefined : bytesOf(m.gwAdd, 'gwAdd'), fill: (_v, o, b) => { b[o] = gw; } };
    }
    case 'CONNECT': return connect(m);
    case 'CONNACK':
    case 'WILLTOPICRESP':
    case 'WILLMSGRESP': {
      const rc = int(m.returnCode, 'returnCode', 0xff);
      return { fixed: 1, fill: (_v, o, b) => { b[o] = rc; } };
    }
    case 'WILLTOPICREQ':
    case 'WILLMSGREQ':
      return { fixed: 0 };
    case 'WILLTOPIC':
    case 'WILLTOPICUPD': {
      const q = qosOf(m.qos, 'qos', false);
      const r = bool(m.retain, 'retain');
      const tail = text(m.topic, 'topic');
      if (tail.length === 0) return { fixed: 0, tail }; // §5.4.7 empty form: delete the will
      const f = qosToFlags(q) | (r ? RETAIN : 0);
      return { fixed: 1, tail, fill: (_v, o, b) => { b[o] = f; } };
    }
    case 'WILLMSG':
    case 'WILLMSGUPD':
      return { fixed: 0, tail: bytesOf(m.message, 'message') };
    default:
      return undefined;
  }
}

function connect(m: M<'CONNECT'>): Plan {
  const f = (bool(m.will, 'will') ? WILL : 0) | (bool(m.cleanSession, 'cleanSession') ? CLEAN : 0);
  const p = int(m.protocolId, 'protocolId', 0xff);
  const d = int(m.durationS, 'durationS', 0xffff);
  const tail = text(m.clientId, 'clientId');
  if (tail.length < 1) throw new RangeError('encodeMessage: clientId: expected 1…23 bytes (MQTT-SN 1.2 §5.3.1), got 0');
  return { fixed: 4, tail, fill: (v, o, b) => { b[o] = f; b[o + 1] = p; writeU16BE(v, o + 2, d); } };
}

/** §5.4.10–§5.4.11, §5.4.15–§5.4.18: REGISTER/REGACK, SUBSCRIBE/UNSUBSCRIBE and their acks. */
function topicFamily(m: MqttSnMessage): Plan | undefined {
  switch (m.type) {
    case 'REGISTER': {
      const t = int(m.topicId, 'topicId', 0xffff);
      const id = int(m.msgId, 'msgId', 0xffff);
      return { fixed: 4, tail: text(m.topicName, 'topicName'), fill: (v, o) => { writeU16BE(v, o, t); writeU16BE(v, o + 2, id); } };
    }
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE': return subscribe(m);
    case 'SUBACK': {
      const f = qosToFlags(qosOf(m.qos, 'qos', true));
      const t = int(m.topicId, 'topicId', 0xffff);
      const id = int(m.msgId, 'msgId', 0xffff);
      const rc = int(m.returnCode, 'returnCode', 0xff);
      return { fixed: 6, fill: (v, o, b) => { b[o] = f; writeU16BE(v, o + 1, t); writeU16BE(v, o + 3, id); b[o + 5] = rc; } };
    }
    default:
      return undefined;
  }
}

function subscribe(m: M<'SUBSCRIBE' | 'UNSUBSCRIBE'>): Plan {
  let f = 0;
  if (m.type === 'SUBSCRIBE') f = (bool(m.dup, 'dup') ? DUP : 0) | qosToFlags(qosOf(m.qos, 'qos', true));
  const id = int(m.msgId, 'msgId', 0xffff);
  const t = m.topic as SubscribeTopic | null;
  if (t === null || typeof t !== 'object') fail('topic', 'a topic object', t);
  if (t.kind === 'name') return { fixed: 3, tail: text(t.name, 'topic.name'), fill: (v, o, b) => { b[o] = f; writeU16BE(v, o + 1, id); } };
  if (t.kind === 'predefined') {
    const tid = int(t.id, 'topic.id', 0xffff);
    return { fixed: 5, fill: (v, o, b) => { b[o] = f | 1; writeU16BE(v, o + 1, id); writeU16BE(v, o + 3, tid); } };
  }
  if (t.kind === 'short') {
    const [hi, lo] = shortName(t.name, 'topic.name');
    return { fixed: 5, fill: (v, o, b) => { b[o] = f | 2; writeU16BE(v, o + 1, id); b[o + 3] = hi; b[o + 4] = lo; } };
  }
  return fail('topic.kind', "'name', 'predefined' or 'short'", (t as { kind: unknown }).kind);
}

/** §5.4.13–§5.4.14, §5.4.18–§5.4.21: the acks that carry a MsgId, PINGREQ/PINGRESP, DISCONNECT. */
function ackAndSessionFamily(m: MqttSnMessage): Plan | undefined {
  switch (m.type) {
    case 'REGACK':
    case 'PUBACK': {
      const t = int(m.topicId, 'topicId', 0xffff);
      const id = int(m.msgId, 'msgId', 0xffff);
      const rc = int(m.returnCode, 'returnCode', 0xff);
      return { fixed: 5, fill: (v, o, b) => { writeU16BE(v, o, t); writeU16BE(v, o + 2, id); b[o + 4] = rc; } };
    }
    case 'PUBREC':
    case 'PUBREL':
    case 'PUBCOMP':
    case 'UNSUBACK': {
      const id = int(m.msgId, 'msgId', 0xffff);
      return { fixed: 2, fill: (v, o) => { writeU16BE(v, o, id); } };
    }
    case 'PINGREQ': return { fixed: 0, tail: m.clientId === undefined ? undefined : text(m.clientId, 'clientId') };
    case 'PINGRESP': return { fixed: 0 };
    case 'DISCONNECT': {
      if (m.durationS === undefined) return { fixed: 0 };
      const d = int(m.durationS, 'durationS', 0xffff);
      return { fixed: 2, fill: (v, o) => { writeU16BE(v, o, d); } };
    }
    default:
      return undefined;
  }
}

/** Every message but PUBLISH and ENCAPSULATED: plan the body, then allocate once. */
export function encodeOther(m: MqttSnMessage, typeCode: number): Uint8Array {
  const plan = connectFamily(m) ?? topicFamily(m) ?? ackAndSessionFamily(m) ?? { fixed: 0 };
  const bodyLen = plan.fixed + (plan.tail?.length ?? 0);
  const hdr = bodyLen + 2 <= 255 ? 1 : 3;
  const total = hdr + 1 + bodyLen;
  if (total > 0xffff) throw new RangeError(`encodeMessage: ${m.type} would be ${total} bytes, over the 65535 maximum`);
  const out = new Uint8Array(total);
  const view = viewOf(out);
  if (hdr === 1) out[0] = total;
  else {
    out[0] = 0x01;
    writeU16BE(view, 1, total);
  }
  out[hdr] = typeCode;
  plan.fill?.(view, hdr + 1, out);
  if (plan.tail !== undefined) out.set(plan.tail, hdr + 1 + plan.fixed);
  return out;
}

/** Hot path: PUBACK (§5.4.13), the gateway's answer to every QoS 1 PUBLISH, written directly. */
export function encodePuback(m: M<'PUBACK'>): Uint8Array {
  const t = int(m.topicId, 'topicId', 0xffff);
  const id = int(m.msgId, 'msgId', 0xffff);
  const rc = int(m.returnCode, 'returnCode', 0xff);
  const out = allocOut(7);
  out[0] = 7;
  out[1] = MsgType.PUBACK;
  out[2] = t >> 8; // §5.2 big-endian
  out[3] = t & 0xff;
  out[4] = id >> 8;
  out[5] = id & 0xff;
  out[6] = rc;
  return out;
}

/** Hot path: PUBLISH (§5.4.12) written directly, one allocation. */
export function encodePublish(m: M<'PUBLISH'>): Uint8Array {
  const q = qosOf(m.qos, 'qos', true);
  let f = (bool(m.dup, 'dup') ? DUP : 0) | qosToFlags(q) | (bool(m.retain, 'retain') ? RETAIN : 0);
  const id = int(m.msgId, 'msgId', 0xffff);
  const t = m.topic as PublishTopic | null;
  if (t === null || typeof t !== 'object') fail('topic', 'a topic object', t);
  let tid: number;
  if (t.kind === 'short') {
    const [hi, lo] = shortName(t.name, 'topic.name');
    tid = (hi << 8) | lo;
    f |= 2;
  } else if (t.kind === 'normal' || t.kind === 'predefined') {
    tid = int(t.id, 'topic.id', 0xffff);
    if (t.kind === 'predefined') f |= 1;
  } else fail('topic.kind', "'normal', 'predefined' or 'short'", (t as { kind: unknown }).kind);
  const payload = bytesOf(m.payload, 'payload');
  const bodyLen = 5 + payload.length;
  const hdr = bodyLen + 2 <= 255 ? 1 : 3;
  const total = hdr + 1 + bodyLen;
  if (total > 0xffff) throw new RangeError(`encodeMessage: PUBLISH would be ${total} bytes, over the 65535 maximum`);
  const out = allocOut(total);
  if (hdr === 1) out[0] = total;
  else {
    out[0] = 0x01;
    out[1] = total >> 8;
    out[2] = total & 0xff;
  }
  out[hdr] = MsgType.PUBLISH;
  out[hdr + 1] = f;
  out[hdr + 2] = tid >> 8; // §5.2 big-endian
  out[hdr + 3] = tid & 0xff;
  out[hdr + 4] = id >> 8;
  out[hdr + 5] = id & 0xff;
  out.set(payload, hdr + 6);
  return out;
}
