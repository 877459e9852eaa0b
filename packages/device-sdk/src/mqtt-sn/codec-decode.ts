// The MQTT-SN 1.2 decoder (§5): the Length/MsgType header (§5.2), the PUBLISH hot path, and
// one body decoder per message family. Internal: the API is decodeMessage/decodeFrame in codec.ts.
import { fromUtf8, readU16BE, viewOf } from './bytes.js';
import { CLEAN, DUP, RETAIN, TYPE_NAMES, WILL, copyOut, qosFromFlags } from './codec-fields.js';
import { MqttSnError } from './errors.js';
import { MsgType, type MqttSnMessage, type PublishTopic, type SubscribeTopic } from './messages.js';

export interface Frame {
  readonly message: MqttSnMessage;
  readonly bytesRead: number;
}

type Type = MqttSnMessage['type'];

/** The body of one message: checked readers over bytes[body, end). */
class Body {
  readonly size: number;
  private view: DataView | undefined;
  constructor(readonly bytes: Uint8Array, readonly type: Type, readonly body: number, readonly end: number) {
    this.size = end - body;
  }
  need(k: number, field: string): void {
    if (this.size < k) throw new MqttSnError('MALFORMED', `${this.type}: ${field}: Length ${this.end} too short, expected ≥ ${this.body + k} at offset ${this.end}`, { offset: this.end });
  }
  exact(k: number): void {
    if (this.size !== k) throw new MqttSnError('MALFORMED', `${this.type}: expected Length ${this.body + k}, got ${this.end} at offset 0`, { offset: 0 });
  }
  str(from: number, field: string): string {
    const s = fromUtf8(this.bytes.subarray(this.body + from, this.end));
    if (s === undefined) throw new MqttSnError('MALFORMED', `${this.type}: ${field}: invalid UTF-8 at offset ${this.body + from}`, { offset: this.body + from });
    return s;
  }
  u8(o: number): number {
    return this.bytes[this.body + o] as number;
  }
  u16(o: number): number {
    this.view ??= viewOf(this.bytes);
    return readU16BE(this.view, this.body + o);
  }
  rest(from: number): Uint8Array {
    return copyOut(this.bytes, this.body + from, this.end);
  }
  reserved(): never {
    throw new MqttSnError('MALFORMED', `${this.type}: Flags: TopicIdType 0b11 is reserved at offset ${this.body}`, { offset: this.body });
  }
}

/** §5.2.1 Length: 1 octet, or 0x01 followed by a 2-octet length when the message is > 255. */
function header(bytes: Uint8Array, maxLength: number): { length: number; hdr: number } {
  const n = bytes.length;
  if (n < 1) throw new MqttSnError('INCOMPLETE', 'Length: need at least 1 byte, got 0', { offset: 0, needed: 1 });
  const b0 = bytes[0] as number;
  let length: number;
  let hdr: number;
  if (b0 === 0x01) {
    if (n < 3) throw new MqttSnError('INCOMPLETE', `Length: 3-byte form needs 3 bytes, got ${n}`, { offset: n, needed: 3 - n });
    length = ((bytes[1] as number) << 8) | (bytes[2] as number);
    hdr = 3;
    if (length < 4) throw new MqttSnError('MALFORMED', `Length: 3-byte form must be ≥ 4, got ${length} at offset 1`, { offset: 1 });
  } else {
    if (b0 < 2) throw new MqttSnError('MALFORMED', `Length: must be ≥ 2, got ${b0} at offset 0`, { offset: 0 });
    length = b0;
    hdr = 1;
  }
  if (length > maxLength) throw new MqttSnError('TOO_LARGE', `Length: ${length} exceeds maxLength ${maxLength}`, { offset: 0 });
  if (n < hdr + 1) throw new MqttSnError('INCOMPLETE', `MsgType: need ${hdr + 1} bytes, got ${n}`, { offset: n, needed: hdr + 1 - n });
  return { length, hdr };
}

/** Hot path (the message a sensor sends most): PUBLISH, §5.4.12, without per-call objects. */
function publishFast(bytes: Uint8Array, body: number, length: number, alias: boolean): Frame {
  const f = bytes[body] as number;
  const tt = f & 0x03;
  const hi = bytes[body + 1] as number;
  const lo = bytes[body + 2] as number;
  let topic: PublishTopic;
  if (tt === 0) topic = { kind: 'normal', id: (hi << 8) | lo };
  else if (tt === 1) topic = { kind: 'predefined', id: (hi << 8) | lo };
  else if (tt === 2) topic = { kind: 'short', name: String.fromCharCode(hi, lo) };
  else throw new MqttSnError('MALFORMED', `PUBLISH: Flags: TopicIdType 0b11 is reserved at offset ${body}`, { offset: body });
  const payload = alias ? bytes.subarray(body + 5, length) : copyOut(bytes, body + 5, length);
  return { message: { type: 'PUBLISH', dup: (f & DUP) !== 0, qos: qosFromFlags(f), retain: (f & RETAIN) !== 0, topic, msgId: ((bytes[body + 3] as number) << 8) | (bytes[body + 4] as number), payload }, bytesRead: length };
}

/** §5.5: Length covers only the encapsulation header; the wrapped message follows. */
function encapsulated(bytes: Uint8Array, hdr: number, length: number, maxLength: number, alias: boolean): Frame {
  const n = bytes.length;
  if (length < hdr + 2) throw new MqttSnError('MALFORMED', `ENCAPSULATED: Length ${length} leaves no room for Ctrl at offset ${hdr + 1}`, { offset: hdr + 1 });
  if (n < length) throw new MqttSnError('INCOMPLETE', `ENCAPSULATED: need ${length} header bytes, got ${n}`, { offset: n, needed: length - n });
  const ctrl = bytes[hdr + 1] as number;
  const wirelessNodeId = copyOut(bytes, hdr + 2, length);
  if (n === length) throw new MqttSnError('INCOMPLETE', 'ENCAPSULATED: the wrapped message is missing', { offset: n, needed: 2 });
  let inner: Frame;
  try {
    inner = decodeAt(bytes.subarray(length), maxLength, true, alias);
  } catch (e) {
    if (e instanceof MqttSnError && e.offset !== undefined) {
      throw new MqttSnError(e.code, `${e.message} (in ENCAPSULATED, offset ${length + e.offset})`, { offset: length + e.offset, ...(e.needed !== undefined ? { needed: e.needed } : {}) });
    }
    throw e;
  }
  return { message: { type: 'ENCAPSULATED', radius: ctrl & 0x03, wirelessNodeId, message: inner.message }, bytesRead: length + inner.bytesRead };
}

export function decodeAt(bytes: Uint8Array, maxLength: number, inner: boolean, alias: boolean): Frame {
  const { length, hdr } = header(bytes, maxLength);
  const typeByte = bytes[hdr] as number;
  if (typeByte === MsgType.PUBLISH && bytes.length >= length && length - hdr - 1 >= 5) return publishFast(bytes, hdr + 1, length, alias);
  if (typeByte === MsgType.PUBACK && length === 7 && hdr === 1 && bytes.length >= 7) {
    // Hot path: PUBACK (§5.4.13), the answer to every QoS 1 PUBLISH.
    const b = bytes;
    return { message: { type: 'PUBACK', topicId: ((b[2] as number) << 8) | (b[3] as number), msgId: ((b[4] as number) << 8) | (b[5] as number), returnCode: b[6] as number }, bytesRead: 7 };
  }
  const type = TYPE_NAMES.get(typeByte);
  if (type === undefined) throw new MqttSnError('UNKNOWN_TYPE', `unknown MQTT-SN MsgType 0x${typeByte.toString(16).padStart(2, '0')} at offset ${hdr}`, { offset: hdr });
  if (type === 'ENCAPSULATED') {
    if (inner) throw new MqttSnError('MALFORMED', `ENCAPSULATED: nested encapsulation at offset ${hdr}`, { offset: hdr });
    return encapsulated(bytes, hdr, length, maxLength, alias);
  }
  if (bytes.length < length) throw new MqttSnError('INCOMPLETE', `${type}: need ${length} bytes, got ${bytes.length}`, { offset: bytes.length, needed: length - bytes.length });
  const b = new Body(bytes, type, hdr + 1, length);
  const message = connectFamily(b) ?? topicFamily(b) ?? publishFamily(b) ?? sessionFamily(b);
  // every MsgType in TYPE_NAMES is handled by one family above
  return { message: message as MqttSnMessage, bytesRead: length };
}

/** §5.4.2–§5.4.9, §5.4.21–§5.4.24: discovery, CONNECT/CONNACK and the will messages. */
function connectFamily(b: Body): MqttSnMessage | undefined {
  const type = b.type;
  switch (type) {
    case 'ADVERTISE': b.exact(3); return { type, gwId: b.u8(0), durationS: b.u16(1) };
    case 'SEARCHGW': b.exact(1); return { type, radius: b.u8(0) };
    case 'GWINFO': b.need(1, 'GwId'); return b.size > 1 ? { type, gwId: b.u8(0), gwAdd: b.rest(1) } : { type, gwId: b.u8(0) };
    case 'CONNECT': {
      b.need(5, 'ClientId');
      const f = b.u8(0);
      return { type, will: (f & WILL) !== 0, cleanSession: (f & CLEAN) !== 0, protocolId: b.u8(1), durationS: b.u16(2), clientId: b.str(4, 'ClientId') };
    }
    case 'CONNACK':
    case 'WILLTOPICRESP':
    case 'WILLMSGRESP':
      b.exact(1);
      return { type, returnCode: b.u8(0) };
    case 'WILLTOPICREQ':
    case 'WILLMSGREQ':
      b.exact(0);
      return { type };
    case 'WILLTOPIC':
    case 'WILLTOPICUPD': {
      // §5.4.7: an empty WILLTOPIC (no Flags, no WillTopic) deletes the will.
      if (b.size === 0) return { type, qos: 0, retain: false, topic: '' };
      const f = b.u8(0);
      const q = qosFromFlags(f);
      if (q === -1) throw new MqttSnError('MALFORMED', `${type}: Flags: QoS −1 is not a will QoS at offset ${b.body}`, { offset: b.body });
      const topic = b.str(1, 'WillTopic');
      // An empty WillTopic deletes the will whatever the flags say: normalise to the empty form.
      return topic === '' ? { type, qos: 0, retain: false, topic } : { type, qos: q, retain: (f & RETAIN) !== 0, topic };
    }
    case 'WILLMSG':
    case 'WILLMSGUPD':
      return { type, message: b.rest(0) };
    default:
      return undefined;
  }
}

/** §5.4.10–§5.4.11, §5.4.15–§5.4.18: REGISTER/REGACK, SUBSCRIBE/UNSUBSCRIBE and their acks. */
function topicFamily(b: Body): MqttSnMessage | undefined {
  const type = b.type;
  switch (type) {
    case 'REGISTER': b.need(4, 'MsgId'); return { type, topicId: b.u16(0), msgId: b.u16(2), topicName: b.str(4, 'TopicName') };
    case 'REGACK': b.exact(5); return { type, topicId: b.u16(0), msgId: b.u16(2), returnCode: b.u8(4) };
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE': {
      b.need(3, 'MsgId');
      const f = b.u8(0);
      const tt = f & 0x03;
      let topic: SubscribeTopic;
      if (tt === 0) topic = { kind: 'name', name: b.str(3, 'TopicName') };
      else if (tt === 1 || tt === 2) {
        if (b.size !== 5) throw new MqttSnError('MALFORMED', `${type}: ${tt === 1 ? 'TopicId' : 'short TopicName'}: expected 2 bytes, got ${b.size - 3} at offset ${b.body + 3}`, { offset: b.body + 3 });
        topic = tt === 1 ? { kind: 'predefined', id: b.u16(3) } : { kind: 'short', name: String.fromCharCode(b.u8(3), b.u8(4)) };
      } else return b.reserved();
      return type === 'SUBSCRIBE' ? { type, dup: (f & DUP) !== 0, qos: qosFromFlags(f), msgId: b.u16(1), topic } : { type, msgId: b.u16(1), topic };
    }
    case 'SUBACK': b.exact(6); return { type, qos: qosFromFlags(b.u8(0)), topicId: b.u16(1), msgId: b.u16(3), returnCode: b.u8(5) };
    case 'UNSUBACK': b.exact(2); return { type, msgId: b.u16(0) };
    default:
      return undefined;
  }
}

/** §5.4.12–§5.4.14: PUBLISH (short ones the fast path does not take), PUBACK, PUBREC/PUBREL/PUBCOMP. */
function publishFamily(b: Body): MqttSnMessage | undefined {
  const type = b.type;
  switch (type) {
    case 'PUBLISH':
      b.need(5, 'MsgId');
      return undefined; // unreachable: the fast path takes every PUBLISH of 5 body bytes or more
    case 'PUBACK': b.exact(5); return { type, topicId: b.u16(0), msgId: b.u16(2), returnCode: b.u8(4) };
    case 'PUBREC':
    case 'PUBREL':
    case 'PUBCOMP':
      b.exact(2);
      return { type, msgId: b.u16(0) };
    default:
      return undefined;
  }
}

/** §5.4.19–§5.4.21: PINGREQ (with a client id when waking), PINGRESP, DISCONNECT (with a Duration when sleeping). */
function sessionFamily(b: Body): MqttSnMessage | undefined {
  const type = b.type;
  switch (type) {
    case 'PINGREQ': return b.size > 0 ? { type, clientId: b.str(0, 'ClientId') } : { type };
    case 'PINGRESP': b.exact(0); return { type };
    case 'DISCONNECT':
      if (b.size !== 0 && b.size !== 2) throw new MqttSnError('MALFORMED', `DISCONNECT: Duration: expected 0 or 2 bytes, got ${b.size} at offset ${b.body}`, { offset: b.body });
      return b.size === 2 ? { type, durationS: b.u16(0) } : { type };
    default:
      return undefined;
  }
}
