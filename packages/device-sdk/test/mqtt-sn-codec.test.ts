// MQTT-SN 1.2 codec: every message type as an annotated vector (parse, generate, round-trip),
// the 3-byte Length form, Encapsulated, incomplete vs malformed, fuzzing, wrong types.
// Vectors are hand-assembled from the field tables of MQTT-SN 1.2 §5.4 / §5.5.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrame, decodeMessage, encodeMessage, MqttSnError, type MqttSnMessage } from '../src/mqtt-sn/index.js';

const b = (...xs: number[]): Uint8Array => new Uint8Array(xs);
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

interface Vector { readonly name: string; readonly bytes: Uint8Array; readonly message: MqttSnMessage }

const vectors: Vector[] = [
  // §5.4.1 ADVERTISE: Length 5 | MsgType 0x00 | GwId 7 | Duration 900 s
  { name: 'ADVERTISE', bytes: b(0x05, 0x00, 0x07, 0x03, 0x84), message: { type: 'ADVERTISE', gwId: 7, durationS: 900 } },
  // §5.4.2 SEARCHGW: Length 3 | 0x01 | Radius 1
  { name: 'SEARCHGW', bytes: b(0x03, 0x01, 0x01), message: { type: 'SEARCHGW', radius: 1 } },
  // §5.4.3 GWINFO from a gateway: Length 3 | 0x02 | GwId 7
  { name: 'GWINFO (gateway)', bytes: b(0x03, 0x02, 0x07), message: { type: 'GWINFO', gwId: 7 } },
  // GWINFO from a client: … | GwAdd 127.0.0.1
  { name: 'GWINFO (client, GwAdd)', bytes: b(0x07, 0x02, 0x07, 127, 0, 0, 1), message: { type: 'GWINFO', gwId: 7, gwAdd: b(127, 0, 0, 1) } },
  // §5.4.4 CONNECT: Length 11 | 0x04 | Flags Will+Clean 0x0c | ProtocolId 0x01 | Duration 60 | ClientId "s1abc"
  { name: 'CONNECT', bytes: b(0x0b, 0x04, 0x0c, 0x01, 0x00, 0x3c, ...ascii('s1abc')), message: { type: 'CONNECT', will: true, cleanSession: true, protocolId: 1, durationS: 60, clientId: 's1abc' } },
  // §5.4.5 CONNACK: Length 3 | 0x05 | ReturnCode 3 (not supported)
  { name: 'CONNACK', bytes: b(0x03, 0x05, 0x03), message: { type: 'CONNACK', returnCode: 3 } },
  // §5.4.6 WILLTOPICREQ: Length 2 | 0x06
  { name: 'WILLTOPICREQ', bytes: b(0x02, 0x06), message: { type: 'WILLTOPICREQ' } },
  // §5.4.7 WILLTOPIC: Length 6 | 0x07 | Flags QoS1+Retain 0x30 | WillTopic "a/b"
  { name: 'WILLTOPIC', bytes: b(0x06, 0x07, 0x30, ...ascii('a/b')), message: { type: 'WILLTOPIC', qos: 1, retain: true, topic: 'a/b' } },
  // §5.4.7 empty WILLTOPIC (delete the will): Length 2 | 0x07
  { name: 'WILLTOPIC (empty)', bytes: b(0x02, 0x07), message: { type: 'WILLTOPIC', qos: 0, retain: false, topic: '' } },
  // §5.4.8 WILLMSGREQ
  { name: 'WILLMSGREQ', bytes: b(0x02, 0x08), message: { type: 'WILLMSGREQ' } },
  // §5.4.9 WILLMSG: Length 5 | 0x09 | WillMsg "bye"
  { name: 'WILLMSG', bytes: b(0x05, 0x09, ...ascii('bye')), message: { type: 'WILLMSG', message: new Uint8Array(ascii('bye')) } },
  // §5.4.10 REGISTER: Length 9 | 0x0a | TopicId 0x0000 | MsgId 0x0102 | TopicName "t/x"
  { name: 'REGISTER', bytes: b(0x09, 0x0a, 0x00, 0x00, 0x01, 0x02, ...ascii('t/x')), message: { type: 'REGISTER', topicId: 0, msgId: 0x0102, topicName: 't/x' } },
  // §5.4.11 REGACK: Length 7 | 0x0b | TopicId 0x0005 | MsgId 0x0102 | ReturnCode 0
  { name: 'REGACK', bytes: b(0x07, 0x0b, 0x00, 0x05, 0x01, 0x02, 0x00), message: { type: 'REGACK', topicId: 5, msgId: 0x0102, returnCode: 0 } },
  // §5.4.12 PUBLISH: Length 9 | 0x0c | Flags DUP+QoS2+Retain, normal id 0xb2 | TopicId 0x0005 | MsgId 0x0009 | Data "hi"
  { name: 'PUBLISH QoS 2 normal id', bytes: b(0x09, 0x0c, 0xd0, 0x00, 0x05, 0x00, 0x09, ...ascii('hi')), message: { type: 'PUBLISH', dup: true, qos: 2, retain: true, topic: { kind: 'normal', id: 5 }, msgId: 9, payload: new Uint8Array(ascii('hi')) } },
  // PUBLISH QoS −1 predefined: Flags 0x61 (QoS bits 11, TopicIdType 01) | TopicId 0x0001 | MsgId 0 | Data 0x2a
  { name: 'PUBLISH QoS −1 predefined', bytes: b(0x08, 0x0c, 0x61, 0x00, 0x01, 0x00, 0x00, 0x2a), message: { type: 'PUBLISH', dup: false, qos: -1, retain: false, topic: { kind: 'predefined', id: 1 }, msgId: 0, payload: b(0x2a) } },
  // PUBLISH QoS 1 short name "tp": Flags 0x22 | 't' 'p' | MsgId 0x0001 | no Data
  { name: 'PUBLISH QoS 1 short', bytes: b(0x07, 0x0c, 0x22, 0x74, 0x70, 0x00, 0x01), message: { type: 'PUBLISH', dup: false, qos: 1, retain: false, topic: { kind: 'short', name: 'tp' }, msgId: 1, payload: b() } },
  // §5.4.13 PUBACK: TopicId 5 | MsgId 9 | ReturnCode 2 (invalid topic id)
  { name: 'PUBACK', bytes: b(0x07, 0x0d, 0x00, 0x05, 0x00, 0x09, 0x02), message: { type: 'PUBACK', topicId: 5, msgId: 9, returnCode: 2 } },
  // §5.4.14 PUBCOMP / PUBREC / PUBREL: Length 4 | type | MsgId
  { name: 'PUBCOMP', bytes: b(0x04, 0x0e, 0x00, 0x09), message: { type: 'PUBCOMP', msgId: 9 } },
  { name: 'PUBREC', bytes: b(0x04, 0x0f, 0x00, 0x09), message: { type: 'PUBREC', msgId: 9 } },
  { name: 'PUBREL', bytes: b(0x04, 0x10, 0xff, 0xff), message: { type: 'PUBREL', msgId: 0xffff } },
  // §5.4.15 SUBSCRIBE: Flags QoS1 name 0x20 | MsgId 3 | TopicName "a/+/#"
  { name: 'SUBSCRIBE name', bytes: b(0x0a, 0x12, 0x20, 0x00, 0x03, ...ascii('a/+/#')), message: { type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 3, topic: { kind: 'name', name: 'a/+/#' } } },
  // SUBSCRIBE predefined: Flags QoS2 predefined 0x41 | MsgId 4 | TopicId 0x0101
  { name: 'SUBSCRIBE predefined', bytes: b(0x07, 0x12, 0x41, 0x00, 0x04, 0x01, 0x01), message: { type: 'SUBSCRIBE', dup: false, qos: 2, msgId: 4, topic: { kind: 'predefined', id: 0x0101 } } },
  // SUBSCRIBE short: Flags DUP QoS0 short 0x82 | MsgId 5 | "ab"
  { name: 'SUBSCRIBE short', bytes: b(0x07, 0x12, 0x82, 0x00, 0x05, 0x61, 0x62), message: { type: 'SUBSCRIBE', dup: true, qos: 0, msgId: 5, topic: { kind: 'short', name: 'ab' } } },
  // §5.4.16 SUBACK: Flags QoS1 0x20 | TopicId 5 | MsgId 3 | ReturnCode 0
  { name: 'SUBACK', bytes: b(0x08, 0x13, 0x20, 0x00, 0x05, 0x00, 0x03, 0x00), message: { type: 'SUBACK', qos: 1, topicId: 5, msgId: 3, returnCode: 0 } },
  // §5.4.17 UNSUBSCRIBE: Flags name 0x00 | MsgId 6 | "a/#"
  { name: 'UNSUBSCRIBE', bytes: b(0x08, 0x14, 0x00, 0x00, 0x06, ...ascii('a/#')), message: { type: 'UNSUBSCRIBE', msgId: 6, topic: { kind: 'name', name: 'a/#' } } },
  // §5.4.18 UNSUBACK: MsgId 6
  { name: 'UNSUBACK', bytes: b(0x04, 0x15, 0x00, 0x06), message: { type: 'UNSUBACK', msgId: 6 } },
  // §5.4.19 PINGREQ without and with ClientId (a sleeping client waking, §6.14)
  { name: 'PINGREQ', bytes: b(0x02, 0x16), message: { type: 'PINGREQ' } },
  { name: 'PINGREQ ClientId', bytes: b(0x04, 0x16, ...ascii('s1')), message: { type: 'PINGREQ', clientId: 's1' } },
  // §5.4.20 PINGRESP
  { name: 'PINGRESP', bytes: b(0x02, 0x17), message: { type: 'PINGRESP' } },
  // §5.4.21 DISCONNECT without and with Duration 3600 s (sleep)
  { name: 'DISCONNECT', bytes: b(0x02, 0x18), message: { type: 'DISCONNECT' } },
  { name: 'DISCONNECT Duration', bytes: b(0x04, 0x18, 0x0e, 0x10), message: { type: 'DISCONNECT', durationS: 3600 } },
  // §5.4.22 WILLTOPICUPD: Flags QoS2 0x40 | "w"
  { name: 'WILLTOPICUPD', bytes: b(0x04, 0x1a, 0x40, ...ascii('w')), message: { type: 'WILLTOPICUPD', qos: 2, retain: false, topic: 'w' } },
  // §5.4.24 WILLTOPICRESP / §5.4.25 WILLMSGRESP: ReturnCode
  { name: 'WILLTOPICRESP', bytes: b(0x03, 0x1b, 0x00), message: { type: 'WILLTOPICRESP', returnCode: 0 } },
  // §5.4.23 WILLMSGUPD: "z"
  { name: 'WILLMSGUPD', bytes: b(0x03, 0x1c, ...ascii('z')), message: { type: 'WILLMSGUPD', message: new Uint8Array(ascii('z')) } },
  { name: 'WILLMSGRESP', bytes: b(0x03, 0x1d, 0x01), message: { type: 'WILLMSGRESP', returnCode: 1 } },
  // §5.5 Encapsulated: Length 5 (header only) | 0xfe | Ctrl radius 1 | WirelessNodeId 0xab 0xcd | then PINGREQ
  { name: 'ENCAPSULATED', bytes: b(0x05, 0xfe, 0x01, 0xab, 0xcd, 0x02, 0x16), message: { type: 'ENCAPSULATED', radius: 1, wirelessNodeId: b(0xab, 0xcd), message: { type: 'PINGREQ' } } },
];

describe('vectors (MQTT-SN 1.2 §5.4, §5.5)', () => {
  it('covers every message type', () => {
    const types = new Set(vectors.map((v) => v.message.type));
    expect(types.size).toBe(28);
  });
  for (const v of vectors) {
    it(`${v.name}: parse, generate, round-trip`, () => {
      expect(decodeMessage(v.bytes)).toEqual(v.message);
      expect(encodeMessage(v.message)).toEqual(v.bytes);
      expect(decodeMessage(encodeMessage(decodeMessage(v.bytes)))).toEqual(v.message);
    });
  }
});

describe('3-byte Length form (§5.2.1)', () => {
  it('a 300-byte PUBLISH uses 0x01 + u16 length', () => {
    const payload = new Uint8Array(293).fill(7);
    const bytes = encodeMessage({ type: 'PUBLISH', dup: false, qos: 0, retain: false, topic: { kind: 'normal', id: 1 }, msgId: 0, payload });
    // 0x01 | Length 0x012e (302) | MsgType 0x0c | Flags | TopicId | MsgId | Data…
    expect([...bytes.subarray(0, 4)]).toEqual([0x01, 0x01, 0x2e, 0x0c]);
    expect(bytes.length).toBe(302);
    expect(decodeMessage(bytes)).toMatchObject({ type: 'PUBLISH', payload });
  });
  it('the boundary: 255 bytes in the short form, 256 in the long form', () => {
    const at = (n: number): Uint8Array => encodeMessage({ type: 'WILLMSG', message: new Uint8Array(n) });
    expect(at(253)[0]).toBe(255);
    expect(at(254)[0]).toBe(0x01);
    expect(at(254).length).toBe(258);
    expect(decodeMessage(at(254))).toMatchObject({ type: 'WILLMSG' });
  });
  it('decodes a small message in the long form too', () => {
    expect(decodeMessage(b(0x01, 0x00, 0x04, 0x17))).toEqual({ type: 'PINGRESP' });
  });
});

describe('incomplete vs malformed', () => {
  it('every strict prefix of every vector is INCOMPLETE with the right shortfall', () => {
    for (const v of vectors) {
      for (let i = 0; i < v.bytes.length; i++) {
        let err: unknown;
        try { decodeMessage(v.bytes.subarray(0, i)); } catch (e) { err = e; }
        expect(err, `${v.name}[0..${i}]`).toBeInstanceOf(MqttSnError);
        expect((err as MqttSnError).code, `${v.name}[0..${i}]`).toBe('INCOMPLETE');
        expect((err as MqttSnError).needed).toBeGreaterThan(0);
      }
    }
    expect(() => decodeMessage(b(0x09, 0x0c, 0x00))).toThrow(expect.objectContaining({ code: 'INCOMPLETE', needed: 6, offset: 3 }));
  });
  const cases: Array<[string, Uint8Array, string, number]> = [
    ['Length 0', b(0x00, 0x17), 'MALFORMED', 0],
    ['3-byte Length < 4', b(0x01, 0x00, 0x03, 0x17), 'MALFORMED', 1],
    ['unknown MsgType 0x1f', b(0x02, 0x1f), 'UNKNOWN_TYPE', 1],
    ['reserved MsgType 0x03', b(0x02, 0x03), 'UNKNOWN_TYPE', 1],
    ['trailing bytes', b(0x02, 0x17, 0x00), 'MALFORMED', 2],
    ['PUBACK too short', b(0x06, 0x0d, 0, 1, 0, 1), 'MALFORMED', 0],
    ['PUBLISH TopicIdType 11', b(0x07, 0x0c, 0x03, 0, 1, 0, 1), 'MALFORMED', 2],
    ['PUBLISH without MsgId', b(0x05, 0x0c, 0x00, 0, 1), 'MALFORMED', 5],
    ['CONNECT invalid UTF-8 ClientId', b(0x07, 0x04, 0x04, 0x01, 0, 60, 0xff), 'MALFORMED', 6],
    ['DISCONNECT 1-byte Duration', b(0x03, 0x18, 0x01), 'MALFORMED', 2],
    ['SUBSCRIBE predefined, 1-byte id', b(0x06, 0x12, 0x01, 0, 1, 5), 'MALFORMED', 5],
    ['WILLTOPIC QoS −1', b(0x04, 0x07, 0x60, 0x61), 'MALFORMED', 2],
    ['nested ENCAPSULATED', b(0x03, 0xfe, 0x00, 0x03, 0xfe, 0x00, 0x02, 0x16), 'MALFORMED', 4],
    ['ENCAPSULATED wrapping garbage', b(0x03, 0xfe, 0x00, 0x02, 0x1f), 'UNKNOWN_TYPE', 4],
  ];
  for (const [name, bytes, code, offset] of cases) {
    it(`${name} → ${code} at offset ${offset}`, () => {
      expect(() => decodeMessage(bytes)).toThrow(expect.objectContaining({ name: 'MqttSnError', code, offset }));
    });
  }
  it('maxLength is per call: TOO_LARGE', () => {
    const big = encodeMessage({ type: 'WILLMSG', message: new Uint8Array(100) });
    expect(() => decodeMessage(big, { maxLength: 64 })).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
    expect(decodeMessage(big).type).toBe('WILLMSG');
  });
  it('WILLTOPIC with flags but an empty topic is the "delete the will" form (found by fuzzing)', () => {
    // Length 3 | 0x07 | Flags Retain 0x10 | no WillTopic
    expect(decodeMessage(b(0x03, 0x07, 0x10))).toEqual({ type: 'WILLTOPIC', qos: 0, retain: false, topic: '' });
  });
  it('decodeFrame reads one of several concatenated messages', () => {
    const two = b(0x02, 0x17, 0x04, 0x0e, 0x00, 0x01);
    const f = decodeFrame(two);
    expect(f).toEqual({ message: { type: 'PINGRESP' }, bytesRead: 2 });
    expect(decodeFrame(two.subarray(f.bytesRead)).message).toEqual({ type: 'PUBCOMP', msgId: 1 });
  });
  it('decoded payloads are copies, not views of the datagram', () => {
    const bytes = b(0x08, 0x0c, 0x00, 0x00, 0x01, 0x00, 0x00, 0x2a);
    const m = decodeMessage(bytes);
    bytes[7] = 0;
    expect(m.type === 'PUBLISH' && m.payload[0]).toBe(0x2a);
  });
});

// ---- properties and fuzzing

const u16 = fc.integer({ min: 0, max: 0xffff });
const short = fc.tuple(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x20, max: 0x7e })).map(([a, c]) => String.fromCharCode(a, c));
const publishTopic = fc.oneof(
  u16.map((id) => ({ kind: 'normal' as const, id })),
  u16.map((id) => ({ kind: 'predefined' as const, id })),
  short.map((name) => ({ kind: 'short' as const, name })),
);
const subTopic = fc.oneof(
  fc.string({ maxLength: 40 }).map((name) => ({ kind: 'name' as const, name })),
  u16.map((id) => ({ kind: 'predefined' as const, id })),
  short.map((name) => ({ kind: 'short' as const, name })),
);
const qos = fc.constantFrom(-1 as const, 0 as const, 1 as const, 2 as const);
const arbMessage: fc.Arbitrary<MqttSnMessage> = fc.oneof(
  fc.record({ type: fc.constant('PUBLISH' as const), dup: fc.boolean(), qos, retain: fc.boolean(), topic: publishTopic, msgId: u16, payload: fc.uint8Array({ maxLength: 600 }) }),
  fc.record({ type: fc.constant('SUBSCRIBE' as const), dup: fc.boolean(), qos, msgId: u16, topic: subTopic }),
  fc.record({ type: fc.constant('REGISTER' as const), topicId: u16, msgId: u16, topicName: fc.string({ maxLength: 300 }) }),
  fc.record({ type: fc.constant('CONNECT' as const), will: fc.boolean(), cleanSession: fc.boolean(), protocolId: fc.constant(1), durationS: u16, clientId: fc.string({ minLength: 1, maxLength: 23 }) }),
  fc.record({ type: fc.constant('SUBACK' as const), qos, topicId: u16, msgId: u16, returnCode: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ type: fc.constant('ADVERTISE' as const), gwId: fc.integer({ min: 0, max: 255 }), durationS: u16 }),
);

describe('properties', () => {
  it('decode(encode(m)) == m', () => {
    fc.assert(fc.property(arbMessage, (m) => { expect(decodeMessage(encodeMessage(m))).toEqual(m); }), { numRuns: 500 });
  });
});

describe('fuzz', () => {
  const documented = new Set(['INCOMPLETE', 'MALFORMED', 'UNKNOWN_TYPE', 'TOO_LARGE']);
  const check = (bytes: Uint8Array): void => {
    try {
      const m = decodeMessage(bytes);
      // whatever decodes must re-encode and decode to the same message
      expect(decodeMessage(encodeMessage(m))).toEqual(m);
    } catch (e) {
      if (!(e instanceof MqttSnError) || !documented.has(e.code) || e.offset === undefined) throw e;
    }
  };
  it('random bytes: only documented MqttSnErrors escape, each with an offset', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => { check(bytes); }), { numRuns: 5000 });
  });
  it('mutated valid messages (bit flips, truncation, extension)', () => {
    const seeds = vectors.map((v) => v.bytes);
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.integer({ min: -3, max: 3 }), (seed, flips, grow) => {
        const bytes = new Uint8Array(Math.max(0, seed.length + grow));
        bytes.set(seed.subarray(0, Math.min(seed.length, bytes.length)));
        for (const [at, v] of flips) if (bytes.length > 0) bytes[at % bytes.length] = v;
        check(bytes);
      }),
      { numRuns: 5000 },
    );
  });
  it('the decoder still works afterwards', () => {
    for (const v of vectors) expect(decodeMessage(v.bytes)).toEqual(v.message);
  });
});

describe('wrong-type matrix', () => {
  const notBytes: unknown[] = [undefined, null, 1, 'ab', [1, 2], {}, new ArrayBuffer(2)];
  it('decodeMessage / decodeFrame: bytes must be a Uint8Array', () => {
    for (const v of notBytes) {
      expect(() => decodeMessage(v as Uint8Array)).toThrow(TypeError);
      expect(() => decodeFrame(v as Uint8Array)).toThrow(TypeError);
    }
    expect(() => decodeMessage(b(2, 0x17), null as never)).toThrow(TypeError);
    expect(() => decodeMessage(b(2, 0x17), { maxLength: 1 })).toThrow(RangeError);
  });
  it('encodeMessage: wrong field types are TypeError, bad values RangeError', () => {
    const base = { type: 'PUBLISH', dup: false, qos: 1, retain: false, topic: { kind: 'normal', id: 1 }, msgId: 1, payload: b() } as const;
    const typeErrors: Array<Record<string, unknown>> = [
      { dup: 'no' }, { qos: '1' }, { retain: 1 }, { topic: null }, { topic: { kind: 'x', id: 1 } }, { msgId: '1' }, { payload: 'x' }, { payload: [1] }, { topic: { kind: 'normal', id: '1' } },
    ];
    for (const patch of typeErrors) expect(() => encodeMessage({ ...base, ...patch } as never), JSON.stringify(patch)).toThrow(TypeError);
    const rangeErrors: Array<Record<string, unknown>> = [
      { qos: 3 }, { qos: 1.5 }, { msgId: -1 }, { msgId: 65536 }, { topic: { kind: 'short', name: 'abc' } }, { topic: { kind: 'normal', id: 70000 } }, { payload: new Uint8Array(70000) },
    ];
    for (const patch of rangeErrors) expect(() => encodeMessage({ ...base, ...patch } as never), JSON.stringify(patch)).toThrow(RangeError);
    for (const v of [undefined, null, 1, 'PUBLISH']) expect(() => encodeMessage(v as never)).toThrow(TypeError);
    expect(() => encodeMessage({ type: 'NOPE' } as never)).toThrow(TypeError);
    expect(() => encodeMessage({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, durationS: 10, clientId: '' })).toThrow(RangeError);
    expect(() => encodeMessage({ type: 'WILLTOPIC', qos: -1, retain: false, topic: 'x' } as never)).toThrow(RangeError);
  });
});

describe('zero-copy paths', () => {
  const pub = (n: number): MqttSnMessage => ({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topic: { kind: 'normal', id: 9 }, msgId: 3, payload: new Uint8Array(n).fill(7) });
  it('aliasPayload: the PUBLISH payload is a view of the datagram (1- and 3-byte Length forms, encapsulated)', () => {
    for (const n of [16, 300]) {
      const wire = encodeMessage(pub(n));
      const m = decodeMessage(wire, { aliasPayload: true });
      if (m.type !== 'PUBLISH') throw new Error('not a PUBLISH');
      expect(m.payload.buffer).toBe(wire.buffer);
      expect(m.payload.byteOffset).toBe(wire.byteOffset + wire.length - n);
      wire[wire.length - 1] = 0x55;
      expect(m.payload[n - 1]).toBe(0x55);
    }
    const enc = encodeMessage({ type: 'ENCAPSULATED', radius: 1, wirelessNodeId: b(1, 2), message: pub(20) });
    const e = decodeMessage(enc, { aliasPayload: true });
    expect(e.type === 'ENCAPSULATED' && e.message.type === 'PUBLISH' && e.message.payload.buffer === enc.buffer).toBe(true);
  });
  it('by default the payload is a copy: changing the datagram later leaves it alone', () => {
    const wire = encodeMessage(pub(16));
    const m = decodeMessage(wire);
    wire[wire.length - 1] = 0x55;
    expect(m.type === 'PUBLISH' && m.payload[15]).toBe(7);
  });
  it('encodings drawn from a shared pool never overlap each other', () => {
    const a = encodeMessage(pub(16));
    const bb = encodeMessage(pub(16));
    bb.fill(0);
    expect(decodeMessage(a)).toEqual(pub(16));
  });
});
