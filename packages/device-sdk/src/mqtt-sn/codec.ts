// Pure MQTT-SN 1.2 codec: Uint8Array in, MqttSnMessage out (and back). No sockets, no timers.
import { describe, fromUtf8, readU16BE, utf8, viewOf, writeU16BE } from './bytes.js';
import { MqttSnError } from './errors.js';
import { MsgType, type MqttSnMessage, type MqttSnQoS, type PublishTopic, type SubscribeTopic } from './messages.js';

/** Options for {@link decodeMessage} and {@link decodeFrame}. */
export interface DecodeOptions {
  /** Largest accepted message length in bytes (default 65535, the 3-byte Length maximum). */
  readonly maxLength?: number;
  /**
   * A PUBLISH payload is a view into `bytes` instead of a copy (default false). Zero-copy for a
   * caller that owns the buffer and does not reuse it (a received datagram); with it, changing
   * `bytes` later changes the payload.
   */
  readonly aliasPayload?: boolean;
}

/**
 * A decoded message and how many bytes it took, from {@link decodeFrame}.
 *
 * @example
 * ```ts
 * import { decodeFrame, type DecodedFrame } from '@outpost/device-sdk/mqtt-sn';
 * const f: DecodedFrame = decodeFrame(new Uint8Array([0x02, 0x17, 0x02, 0x17]));
 * f.bytesRead; // 2
 * ```
 */
export interface DecodedFrame {
  readonly message: MqttSnMessage;
  readonly bytesRead: number;
}

/** A copy of bytes[from, to), also when `bytes` is a Node Buffer (whose slice() is a view). */
const copyOut = (bytes: Uint8Array, from: number, to: number): Uint8Array => Uint8Array.prototype.slice.call(bytes, from, to);

const TYPE_NAMES = new Map<number, MqttSnMessage['type']>(Object.entries(MsgType).map(([k, v]) => [v, k as MqttSnMessage['type']]));

// §5.3.4 Flags
const DUP = 0x80;
const RETAIN = 0x10;
const WILL = 0x08;
const CLEAN = 0x04;

function qosFromFlags(f: number): MqttSnQoS {
  const q = (f >> 5) & 0x03;
  return q === 3 ? -1 : (q as 0 | 1 | 2);
}
function qosToFlags(q: MqttSnQoS): number {
  return (q === -1 ? 3 : q) << 5;
}

// ---------------------------------------------------------------- decoding

/**
 * Decodes exactly one MQTT-SN message (one UDP datagram).
 *
 * @param bytes - the datagram; views are read without copying, payloads are copied out.
 * @returns the message as a discriminated union on `type`.
 * @throws MqttSnError `INCOMPLETE` (with `needed`) when the Length field promises more bytes
 *   than given; `MALFORMED` (with `offset`) for invalid fields or trailing bytes;
 *   `UNKNOWN_TYPE` for an unknown MsgType; `TOO_LARGE` over `maxLength`.
 * @throws TypeError if `bytes` is not a Uint8Array.
 *
 * @example
 * ```ts
 * import { decodeMessage } from '@outpost/device-sdk/mqtt-sn';
 * const m = decodeMessage(new Uint8Array([0x07, 0x0d, 0x00, 0x01, 0x00, 0x07, 0x00]));
 * m.type; // 'PUBACK'
 * decodeMessage(new Uint8Array([0x03, 0x05, 0x00])).type; // 'CONNACK'
 * ```
 */
export function decodeMessage(bytes: Uint8Array, options: DecodeOptions = {}): MqttSnMessage {
  const { message, bytesRead } = decodeFrame(bytes, options);
  if (bytesRead !== bytes.length) {
    throw new MqttSnError('MALFORMED', `${message.type}: Length says ${bytesRead} bytes, datagram has ${bytes.length} at offset ${bytesRead}`, { offset: bytesRead });
  }
  return message;
}

/**
 * Decodes the first MQTT-SN message in `bytes` (a stream or a buffer of several messages)
 * and reports how many bytes it used.
 *
 * @throws MqttSnError as {@link decodeMessage}, except that trailing bytes are allowed.
 *
 * @example
 * ```ts
 * import { decodeFrame } from '@outpost/device-sdk/mqtt-sn';
 * const f = decodeFrame(new Uint8Array([0x02, 0x16, 0xff]));
 * f.message.type; // 'PINGREQ'
 * f.bytesRead;    // 2
 * ```
 */
export function decodeFrame(bytes: Uint8Array, options: DecodeOptions = {}): DecodedFrame {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`decodeMessage: bytes: expected a Uint8Array, got ${describe(bytes)}`);
  if (options === null || typeof options !== 'object') throw new TypeError(`decodeMessage: options: expected an object, got ${describe(options)}`);
  const maxLength = options.maxLength ?? 65535;
  if (typeof maxLength !== 'number' || !Number.isInteger(maxLength) || maxLength < 2) {
    throw new RangeError(`decodeMessage: maxLength: expected an integer ≥ 2, got ${String(maxLength)}`);
  }
  return decodeAt(bytes, maxLength, false, options.aliasPayload === true);
}

function decodeAt(bytes: Uint8Array, maxLength: number, inner: boolean, alias: boolean): DecodedFrame {
  const n = bytes.length;
  if (n < 1) throw new MqttSnError('INCOMPLETE', 'Length: need at least 1 byte, got 0', { offset: 0, needed: 1 });
  const b0 = bytes[0] as number;
  let length: number;
  let hdr: number;
  // §5.2.1 Length: 1 octet, or 0x01 followed by a 2-octet length when the message is > 255.
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
  const typeByte = bytes[hdr];
  if (typeByte === undefined) throw new MqttSnError('INCOMPLETE', `MsgType: need ${hdr + 1} bytes, got ${n}`, { offset: n, needed: hdr + 1 - n });
  if (typeByte === MsgType.PUBLISH && n >= length && length - hdr - 1 >= 5) {
    // Hot path (the message a sensor sends most): PUBLISH, §5.4.12, without per-call closures.
    const body = hdr + 1;
    const f = bytes[body] as number;
    const tt = f & 0x03;
    const hi = bytes[body + 1] as number;
    const lo = bytes[body + 2] as number;
    let topic: PublishTopic;
    if (tt === 0) topic = { kind: 'normal', id: (hi << 8) | lo };
    else if (tt === 1) topic = { kind: 'predefined', id: (hi << 8) | lo };
    else if (tt === 2) topic = { kind: 'short', name: String.fromCharCode(hi, lo) };
    else throw new MqttSnError('MALFORMED', `PUBLISH: Flags: TopicIdType 0b11 is reserved at offset ${body}`, { offset: body });
    return {
      message: { type: 'PUBLISH', dup: (f & DUP) !== 0, qos: qosFromFlags(f), retain: (f & RETAIN) !== 0, topic, msgId: ((bytes[body + 3] as number) << 8) | (bytes[body + 4] as number), payload: alias ? bytes.subarray(body + 5, length) : copyOut(bytes, body + 5, length) },
      bytesRead: length,
    };
  }
  const type = TYPE_NAMES.get(typeByte);
  if (type === undefined) {
    throw new MqttSnError('UNKNOWN_TYPE', `unknown MQTT-SN MsgType 0x${typeByte.toString(16).padStart(2, '0')} at offset ${hdr}`, { offset: hdr });
  }
  if (type === 'ENCAPSULATED') {
    // §5.5: Length covers only the encapsulation header; the wrapped message follows.
    if (inner) throw new MqttSnError('MALFORMED', `ENCAPSULATED: nested encapsulation at offset ${hdr}`, { offset: hdr });
    if (length < hdr + 2) throw new MqttSnError('MALFORMED', `ENCAPSULATED: Length ${length} leaves no room for Ctrl at offset ${hdr + 1}`, { offset: hdr + 1 });
    if (n < length) throw new MqttSnError('INCOMPLETE', `ENCAPSULATED: need ${length} header bytes, got ${n}`, { offset: n, needed: length - n });
    const ctrl = bytes[hdr + 1] as number;
    const wirelessNodeId = copyOut(bytes, hdr + 2, length);
    if (n === length) throw new MqttSnError('INCOMPLETE', 'ENCAPSULATED: the wrapped message is missing', { offset: n, needed: 2 });
    let innerFrame: DecodedFrame;
    try {
      innerFrame = decodeAt(bytes.subarray(length), maxLength, true, alias);
    } catch (e) {
      if (e instanceof MqttSnError && e.offset !== undefined) {
        throw new MqttSnError(e.code, `${e.message} (in ENCAPSULATED, offset ${length + e.offset})`, { offset: length + e.offset, ...(e.needed !== undefined ? { needed: e.needed } : {}) });
      }
      throw e;
    }
    return { message: { type, radius: ctrl & 0x03, wirelessNodeId, message: innerFrame.message }, bytesRead: length + innerFrame.bytesRead };
  }
  if (n < length) throw new MqttSnError('INCOMPLETE', `${type}: need ${length} bytes, got ${n}`, { offset: n, needed: length - n });
  const body = hdr + 1;
  const size = length - body;
  const need = (k: number, field: string): void => {
    if (size < k) throw new MqttSnError('MALFORMED', `${type}: ${field}: Length ${length} too short, expected ≥ ${body + k} at offset ${body + size}`, { offset: body + size });
  };
  const exact = (k: number): void => {
    if (size !== k) throw new MqttSnError('MALFORMED', `${type}: expected Length ${body + k}, got ${length} at offset 0`, { offset: 0 });
  };
  const str = (from: number, to: number, field: string): string => {
    const s = fromUtf8(bytes.subarray(from, to));
    if (s === undefined) throw new MqttSnError('MALFORMED', `${type}: ${field}: invalid UTF-8 at offset ${from}`, { offset: from });
    return s;
  };
  const view = viewOf(bytes);
  const u16 = (o: number): number => readU16BE(view, body + o);
  const u8 = (o: number): number => bytes[body + o] as number;
  const end = length;
  let message: MqttSnMessage;
  switch (type) {
    case 'ADVERTISE':
      exact(3);
      message = { type, gwId: u8(0), durationS: u16(1) };
      break;
    case 'SEARCHGW':
      exact(1);
      message = { type, radius: u8(0) };
      break;
    case 'GWINFO':
      need(1, 'GwId');
      message = size > 1 ? { type, gwId: u8(0), gwAdd: copyOut(bytes, body + 1, end) } : { type, gwId: u8(0) };
      break;
    case 'CONNECT': {
      need(5, 'ClientId');
      const f = u8(0);
      message = { type, will: (f & WILL) !== 0, cleanSession: (f & CLEAN) !== 0, protocolId: u8(1), durationS: u16(2), clientId: str(body + 4, end, 'ClientId') };
      break;
    }
    case 'CONNACK':
    case 'WILLTOPICRESP':
    case 'WILLMSGRESP':
      exact(1);
      message = { type, returnCode: u8(0) };
      break;
    case 'WILLTOPICREQ':
    case 'WILLMSGREQ':
    case 'PINGRESP':
      exact(0);
      message = { type };
      break;
    case 'WILLTOPIC':
    case 'WILLTOPICUPD': {
      if (size === 0) {
        // §5.4.7: an empty WILLTOPIC (no Flags, no WillTopic) deletes the will.
        message = { type, qos: 0, retain: false, topic: '' };
        break;
      }
      const f = u8(0);
      const q = qosFromFlags(f);
      if (q === -1) throw new MqttSnError('MALFORMED', `${type}: Flags: QoS −1 is not a will QoS at offset ${body}`, { offset: body });
      const topic = str(body + 1, end, 'WillTopic');
      // An empty WillTopic deletes the will whatever the flags say: normalise to the empty form.
      message = topic === '' ? { type, qos: 0, retain: false, topic } : { type, qos: q, retain: (f & RETAIN) !== 0, topic };
      break;
    }
    case 'WILLMSG':
    case 'WILLMSGUPD':
      message = { type, message: copyOut(bytes, body, end) };
      break;
    case 'REGISTER':
      need(4, 'MsgId');
      message = { type, topicId: u16(0), msgId: u16(2), topicName: str(body + 4, end, 'TopicName') };
      break;
    case 'REGACK':
    case 'PUBACK':
      exact(5);
      message = { type, topicId: u16(0), msgId: u16(2), returnCode: u8(4) };
      break;
    case 'PUBLISH': {
      need(5, 'MsgId');
      const f = u8(0);
      const tt = f & 0x03;
      let topic: PublishTopic;
      if (tt === 0) topic = { kind: 'normal', id: u16(1) };
      else if (tt === 1) topic = { kind: 'predefined', id: u16(1) };
      else if (tt === 2) topic = { kind: 'short', name: String.fromCharCode(u8(1), u8(2)) };
      else throw new MqttSnError('MALFORMED', `PUBLISH: Flags: TopicIdType 0b11 is reserved at offset ${body}`, { offset: body });
      message = { type, dup: (f & DUP) !== 0, qos: qosFromFlags(f), retain: (f & RETAIN) !== 0, topic, msgId: u16(3), payload: alias ? bytes.subarray(body + 5, end) : copyOut(bytes, body + 5, end) };
      break;
    }
    case 'PUBREC':
    case 'PUBREL':
    case 'PUBCOMP':
    case 'UNSUBACK':
      exact(2);
      message = { type, msgId: u16(0) };
      break;
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE': {
      need(3, 'MsgId');
      const f = u8(0);
      const tt = f & 0x03;
      let topic: SubscribeTopic;
      if (tt === 0) topic = { kind: 'name', name: str(body + 3, end, 'TopicName') };
      else if (tt === 1 || tt === 2) {
        if (size !== 5) throw new MqttSnError('MALFORMED', `${type}: ${tt === 1 ? 'TopicId' : 'short TopicName'}: expected 2 bytes, got ${size - 3} at offset ${body + 3}`, { offset: body + 3 });
        topic = tt === 1 ? { kind: 'predefined', id: u16(3) } : { kind: 'short', name: String.fromCharCode(u8(3), u8(4)) };
      } else throw new MqttSnError('MALFORMED', `${type}: Flags: TopicIdType 0b11 is reserved at offset ${body}`, { offset: body });
      message = type === 'SUBSCRIBE' ? { type, dup: (f & DUP) !== 0, qos: qosFromFlags(f), msgId: u16(1), topic } : { type, msgId: u16(1), topic };
      break;
    }
    case 'SUBACK':
      exact(6);
      message = { type, qos: qosFromFlags(u8(0)), topicId: u16(1), msgId: u16(3), returnCode: u8(5) };
      break;
    case 'PINGREQ':
      message = size > 0 ? { type, clientId: str(body, end, 'ClientId') } : { type };
      break;
    case 'DISCONNECT':
      if (size !== 0 && size !== 2) throw new MqttSnError('MALFORMED', `DISCONNECT: Duration: expected 0 or 2 bytes, got ${size} at offset ${body}`, { offset: body });
      message = size === 2 ? { type, durationS: u16(0) } : { type };
      break;
  }
  return { message, bytesRead: length };
}

// ---------------------------------------------------------------- encoding

function fail(field: string, expected: string, got: unknown): never {
  throw new TypeError(`encodeMessage: ${field}: expected ${expected}, got ${describe(got)}`);
}
function int(v: unknown, field: string, max: number): number {
  if (typeof v !== 'number') fail(field, `an integer 0…${max}`, v);
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`encodeMessage: ${field}: expected an integer 0…${max}, got ${String(v)}`);
  return v;
}
function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') fail(field, 'a boolean', v);
  return v;
}
function text(v: unknown, field: string): Uint8Array {
  if (typeof v !== 'string') fail(field, 'a string', v);
  return utf8(v);
}
function bytesOf(v: unknown, field: string): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(field, 'a Uint8Array', v);
  return v;
}
function qosOf(v: unknown, field: string, allowMinus1: boolean): MqttSnQoS {
  if (typeof v !== 'number') fail(field, 'a QoS number', v);
  if (v !== 0 && v !== 1 && v !== 2 && !(allowMinus1 && v === -1)) throw new RangeError(`encodeMessage: ${field}: expected ${allowMinus1 ? '−1, ' : ''}0, 1 or 2, got ${String(v)}`);
  return v;
}
function shortName(v: unknown, field: string): [number, number] {
  if (typeof v !== 'string') fail(field, 'a 2-character string', v);
  const a = v.charCodeAt(0);
  const b = v.charCodeAt(1);
  if (v.length !== 2 || a > 0xff || b > 0xff) throw new RangeError(`encodeMessage: ${field}: a short topic name is exactly 2 one-byte characters, got ${JSON.stringify(v)}`);
  return [a, b];
}

/**
 * Encodes one MQTT-SN message; uses the 3-byte Length form (0x01 + u16) when the message is
 * longer than 255 bytes (MQTT-SN 1.2 §5.2.1).
 *
 * @returns a new Uint8Array holding the whole message. Under Node a PUBLISH is written into
 *   Node's Buffer pool, so its `.buffer` may be shared with other small allocations: copy it
 *   (`.slice()`) before transferring that ArrayBuffer to a worker.
 * @throws TypeError for wrong field types; RangeError for out-of-range values or a message
 *   over 65535 bytes.
 *
 * @example
 * ```ts
 * import { encodeMessage } from '@outpost/device-sdk/mqtt-sn';
 * encodeMessage({ type: 'PINGRESP' }); // Uint8Array [0x02, 0x17]
 * encodeMessage({ type: 'PUBREL', msgId: 258 }); // Uint8Array [0x04, 0x10, 0x01, 0x02]
 * ```
 */
export function encodeMessage(message: MqttSnMessage): Uint8Array {
  if (message === null || typeof message !== 'object') throw new TypeError(`encodeMessage: message: expected an object, got ${describe(message)}`);
  const m = message as MqttSnMessage;
  if (m.type === 'PUBLISH') return encodePublish(m);
  if (m.type === 'ENCAPSULATED') {
    const radius = int(m.radius, 'radius', 3);
    const node = bytesOf(m.wirelessNodeId, 'wirelessNodeId');
    if ((m.message as { type?: unknown } | null)?.type === 'ENCAPSULATED') throw new RangeError('encodeMessage: message: encapsulation cannot be nested');
    const inner = encodeMessage(m.message);
    const hl = 3 + node.length;
    if (hl > 255) throw new RangeError(`encodeMessage: wirelessNodeId: at most 252 bytes, got ${node.length}`);
    const out = new Uint8Array(hl + inner.length);
    out[0] = hl;
    out[1] = MsgType.ENCAPSULATED;
    out[2] = radius;
    out.set(node, 3);
    out.set(inner, hl);
    return out;
  }
  const typeCode = (MsgType as Record<string, number | undefined>)[String((m as { type?: unknown }).type)];
  if (typeCode === undefined) throw new TypeError(`encodeMessage: type: expected an MQTT-SN message type, got ${JSON.stringify((m as { type?: unknown }).type)}`);
  // Compute the body first, then allocate once.
  let fixed = 0; // bytes of fixed fields
  let tail: Uint8Array | undefined; // variable trailing field
  let fill: (v: DataView, o: number, b: Uint8Array) => void = () => {};
  switch (m.type) {
    case 'ADVERTISE': {
      const gw = int(m.gwId, 'gwId', 0xff);
      const d = int(m.durationS, 'durationS', 0xffff);
      fixed = 3;
      fill = (v, o, b) => { b[o] = gw; writeU16BE(v, o + 1, d); };
      break;
    }
    case 'SEARCHGW': {
      const r = int(m.radius, 'radius', 0xff);
      fixed = 1;
      fill = (_v, o, b) => { b[o] = r; };
      break;
    }
    case 'GWINFO': {
      const gw = int(m.gwId, 'gwId', 0xff);
      if (m.gwAdd !== undefined) tail = bytesOf(m.gwAdd, 'gwAdd');
      fixed = 1;
      fill = (_v, o, b) => { b[o] = gw; };
      break;
    }
    case 'CONNECT': {
      const f = (bool(m.will, 'will') ? WILL : 0) | (bool(m.cleanSession, 'cleanSession') ? CLEAN : 0);
      const p = int(m.protocolId, 'protocolId', 0xff);
      const d = int(m.durationS, 'durationS', 0xffff);
      tail = text(m.clientId, 'clientId');
      if (tail.length < 1) throw new RangeError('encodeMessage: clientId: expected 1…23 bytes (MQTT-SN 1.2 §5.3.1), got 0');
      fixed = 4;
      fill = (v, o, b) => { b[o] = f; b[o + 1] = p; writeU16BE(v, o + 2, d); };
      break;
    }
    case 'CONNACK':
    case 'WILLTOPICRESP':
    case 'WILLMSGRESP': {
      const rc = int(m.returnCode, 'returnCode', 0xff);
      fixed = 1;
      fill = (_v, o, b) => { b[o] = rc; };
      break;
    }
    case 'WILLTOPICREQ':
    case 'WILLMSGREQ':
    case 'PINGRESP':
      break;
    case 'WILLTOPIC':
    case 'WILLTOPICUPD': {
      const q = qosOf(m.qos, 'qos', false);
      const r = bool(m.retain, 'retain');
      tail = text(m.topic, 'topic');
      if (tail.length === 0) break; // §5.4.7 empty form: delete the will
      const f = qosToFlags(q) | (r ? RETAIN : 0);
      fixed = 1;
      fill = (_v, o, b) => { b[o] = f; };
      break;
    }
    case 'WILLMSG':
    case 'WILLMSGUPD':
      tail = bytesOf(m.message, 'message');
      break;
    case 'REGISTER': {
      const t = int(m.topicId, 'topicId', 0xffff);
      const id = int(m.msgId, 'msgId', 0xffff);
      tail = text(m.topicName, 'topicName');
      fixed = 4;
      fill = (v, o) => { writeU16BE(v, o, t); writeU16BE(v, o + 2, id); };
      break;
    }
    case 'REGACK':
    case 'PUBACK': {
      const t = int(m.topicId, 'topicId', 0xffff);
      const id = int(m.msgId, 'msgId', 0xffff);
      const rc = int(m.returnCode, 'returnCode', 0xff);
      fixed = 5;
      fill = (v, o, b) => { writeU16BE(v, o, t); writeU16BE(v, o + 2, id); b[o + 4] = rc; };
      break;
    }
    case 'PUBREC':
    case 'PUBREL':
    case 'PUBCOMP':
    case 'UNSUBACK': {
      const id = int(m.msgId, 'msgId', 0xffff);
      fixed = 2;
      fill = (v, o) => { writeU16BE(v, o, id); };
      break;
    }
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE': {
      let f = 0;
      if (m.type === 'SUBSCRIBE') f = (bool(m.dup, 'dup') ? DUP : 0) | qosToFlags(qosOf(m.qos, 'qos', true));
      const id = int(m.msgId, 'msgId', 0xffff);
      const t = m.topic as SubscribeTopic | null;
      if (t === null || typeof t !== 'object') fail('topic', 'a topic object', t);
      if (t.kind === 'name') {
        tail = text(t.name, 'topic.name');
        fixed = 3;
        fill = (v, o, b) => { b[o] = f; writeU16BE(v, o + 1, id); };
      } else if (t.kind === 'predefined') {
        const tid = int(t.id, 'topic.id', 0xffff);
        fixed = 5;
        fill = (v, o, b) => { b[o] = f | 1; writeU16BE(v, o + 1, id); writeU16BE(v, o + 3, tid); };
      } else if (t.kind === 'short') {
        const [hi, lo] = shortName(t.name, 'topic.name');
        fixed = 5;
        fill = (v, o, b) => { b[o] = f | 2; writeU16BE(v, o + 1, id); b[o + 3] = hi; b[o + 4] = lo; };
      } else fail('topic.kind', "'name', 'predefined' or 'short'", (t as { kind: unknown }).kind);
      break;
    }
    case 'SUBACK': {
      const f = qosToFlags(qosOf(m.qos, 'qos', true));
      const t = int(m.topicId, 'topicId', 0xffff);
      const id = int(m.msgId, 'msgId', 0xffff);
      const rc = int(m.returnCode, 'returnCode', 0xff);
      fixed = 6;
      fill = (v, o, b) => { b[o] = f; writeU16BE(v, o + 1, t); writeU16BE(v, o + 3, id); b[o + 5] = rc; };
      break;
    }
    case 'PINGREQ':
      if (m.clientId !== undefined) tail = text(m.clientId, 'clientId');
      break;
    case 'DISCONNECT':
      if (m.durationS !== undefined) {
        const d = int(m.durationS, 'durationS', 0xffff);
        fixed = 2;
        fill = (v, o) => { writeU16BE(v, o, d); };
      }
      break;
  }
  const bodyLen = fixed + (tail?.length ?? 0);
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
  fill(view, hdr + 1, out);
  if (tail !== undefined) out.set(tail, hdr + 1 + fixed);
  return out;
}

// Node's Buffer.allocUnsafe skips the zero fill (every byte is written below) and draws small
// messages from its pool; elsewhere a plain Uint8Array.
// (Returned as a plain Uint8Array view: a Buffer's slice() would alias where callers expect a copy.)
const allocOut: (n: number) => Uint8Array = typeof Buffer === 'function'
  ? (n) => {
      const b = Buffer.allocUnsafe(n);
      return new Uint8Array(b.buffer, b.byteOffset, n);
    }
  : (n) => new Uint8Array(n);

// Hot path: PUBLISH (§5.4.12) written directly, one allocation.
function encodePublish(m: Extract<MqttSnMessage, { type: 'PUBLISH' }>): Uint8Array {
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
