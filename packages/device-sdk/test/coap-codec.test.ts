/**
 * RFC 7252 §3 codec: annotated vectors (parse, generate, round-trip), error vectors with
 * offsets, fast-check round-trip, fuzzing (only CoapError escapes; the decoder still works
 * afterwards), block option values (RFC 7959 §2.2), content formats incl. SenML+CBOR.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBlock, encodeBlock } from '../src/coap/block.js';
import { decodeBody, encodeBody } from '../src/coap/content-format.js';
import { CoapError, ContentFormat, decodeMessage, encodeMessage, formatCode, parseCode, type CoapMessage } from '../src/coap/index.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/[^0-9a-f]/gi, ''), 'hex'));
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const E = new Uint8Array(0);

interface Vector { name: string; bytes: string; msg: CoapMessage }
// Bytes annotated field by field: header | token | options | 0xff payload.
const VECTORS: Vector[] = [
  {
    name: 'CON GET /temperature, token 0x71 (RFC 7252 Appendix A, Figure 16)',
    // 41: ver 1, T=CON(0), TKL 1 | 01: GET | 7d34: MID | 71: token | bb: delta 11 (Uri-Path), len 11 | "temperature"
    bytes: '41 01 7d34 71 bb 74656d7065726174757265',
    msg: { type: 'CON', code: 1, messageId: 0x7d34, token: hex('71'), options: [{ number: 11, value: ascii('temperature') }], payload: E },
  },
  {
    name: 'ACK 2.05 piggybacked, Content-Format 0 (empty uint), payload "22.3 C"',
    // 61: ver 1, ACK(2), TKL 1 | 45: 2.05 | 7d34 | 71 | c0: delta 12 (Content-Format), len 0 | ff | "22.3 C"
    bytes: '61 45 7d34 71 c0 ff 32322e332043',
    msg: { type: 'ACK', code: 0x45, messageId: 0x7d34, token: hex('71'), options: [{ number: 12, value: E }], payload: ascii('22.3 C') },
  },
  {
    name: 'Empty ACK',
    // 60: ver 1, ACK, TKL 0 | 00: 0.00 | 1234: MID
    bytes: '60 00 1234',
    msg: { type: 'ACK', code: 0, messageId: 0x1234, token: E, options: [], payload: E },
  },
  {
    name: 'NON 2.05 with Observe 5, Block2 and Size1: 1-byte and 2-byte extended deltas',
    // 52: NON, TKL 2 | 45 | 0001 | beef | 61 05: delta 6 (Observe) len 1 = 5 |
    // d1 04 1a: delta 13+4=17 → 23 (Block2), len 1, num 1 M 1 SZX 2 | d2 18 0100: delta 13+24=37 → 60 (Size1), len 2 = 256 |
    // e1 00 d8 aa: delta 269+216=485?? — no: 292-60=232 → nibble 14 needs ≥269, so 13+219: d1 db aa (Request-Tag 292)
    bytes: '52 45 0001 beef 61 05 d1 04 1a d2 18 0100 d1 db aa',
    msg: {
      type: 'NON', code: 0x45, messageId: 1, token: hex('beef'),
      options: [{ number: 6, value: hex('05') }, { number: 23, value: hex('1a') }, { number: 60, value: hex('0100') }, { number: 292, value: hex('aa') }],
      payload: E,
    },
  },
  {
    name: 'RST with a 2-byte extended option delta (delta 300) and a 13-byte value',
    // 70: RST, TKL 0 | 00 | 0002 | ed 001f 00: delta 14 → 269+31 = 300, len 13 → 13+0 | 13 bytes
    bytes: '70 00 0002 ed 001f 00 41424344454647484950515253',
    msg: { type: 'RST', code: 0, messageId: 2, token: E, options: [{ number: 300, value: ascii('ABCDEFGHIPQRS') }], payload: E },
  },
  {
    name: 'repeated options keep their order (Uri-Path "a", "b")',
    // 40: CON TKL 0 | 03: PUT | 0003 | b1 61: delta 11 len 1 "a" | 01 62: delta 0 len 1 "b" | ff 78
    bytes: '40 03 0003 b1 61 01 62 ff 78',
    msg: { type: 'CON', code: 3, messageId: 3, token: E, options: [{ number: 11, value: ascii('a') }, { number: 11, value: ascii('b') }], payload: ascii('x') },
  },
];

// the RST vector with an "empty message" code and an option is malformed; fix it to code 4.04
VECTORS[4] = { ...VECTORS[4]!, bytes: VECTORS[4]!.bytes.replace(/^70 00/, '70 84'), msg: { ...VECTORS[4]!.msg, code: 0x84 } };

const plain = (m: CoapMessage): unknown => ({
  ...m,
  token: Buffer.from(m.token).toString('hex'),
  payload: Buffer.from(m.payload).toString('hex'),
  options: m.options.map((o) => ({ number: o.number, value: Buffer.from(o.value).toString('hex') })),
});

describe('codec vectors', () => {
  for (const v of VECTORS) {
    it(`${v.name}: parse, generate, round-trip`, () => {
      const bytes = hex(v.bytes);
      expect(plain(decodeMessage(bytes))).toEqual(plain(v.msg));
      expect(Buffer.from(encodeMessage(v.msg)).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
      expect(plain(decodeMessage(encodeMessage(v.msg)))).toEqual(plain(v.msg));
    });
  }

  it('encode sorts options by number (stably)', () => {
    const m: CoapMessage = { type: 'CON', code: 1, messageId: 0, token: E, options: [{ number: 15, value: ascii('q') }, { number: 11, value: ascii('a') }, { number: 11, value: ascii('b') }], payload: E };
    expect(decodeMessage(encodeMessage(m)).options.map((o) => [o.number, new TextDecoder().decode(o.value)])).toEqual([[11, 'a'], [11, 'b'], [15, 'q']]);
  });

  const ERRORS: [string, string, 'MALFORMED' | 'TRUNCATED', number][] = [
    ['empty datagram', '', 'TRUNCATED', 0],
    ['3-byte header', '40 01 00', 'TRUNCATED', 3],
    ['version 2', '80 01 0001', 'MALFORMED', 0],
    ['TKL 9 (reserved)', '49 01 0001 0102030405060708 09', 'MALFORMED', 0],
    ['token shorter than TKL', '44 01 0001 0102', 'TRUNCATED', 6],
    ['payload marker, empty payload', '40 01 0001 ff', 'MALFORMED', 4],
    ['option delta nibble 15 (not a marker)', '40 01 0001 f1 00', 'MALFORMED', 4],
    ['option length nibble 15', '40 01 0001 bf', 'MALFORMED', 4],
    ['1-byte delta extension missing', '40 01 0001 d0', 'TRUNCATED', 5],
    ['2-byte length extension cut', '40 01 0001 be 01', 'TRUNCATED', 5],
    ['option value cut', '40 01 0001 b5 6162', 'TRUNCATED', 7],
    ['empty message with a token', '41 00 0001 aa', 'MALFORMED', 4],
    ['empty message with bytes after the header', '40 00 0001 ff 01', 'MALFORMED', 4],
    ['option number over 65535', '40 01 0001 e0 fef2 e0 0000', 'MALFORMED', 7],
  ];
  for (const [name, bytes, code, offset] of ERRORS) {
    it(`rejects ${name}: ${code} at offset ${offset}`, () => {
      let err: unknown;
      try {
        decodeMessage(hex(bytes));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CoapError);
      expect(err).toMatchObject({ code, offset });
    });
  }

  it('formats and parses response codes', () => {
    expect(formatCode(0x45)).toBe('2.05');
    expect(formatCode(0x84)).toBe('4.04');
    expect(formatCode(0xa0)).toBe('5.00');
    expect(parseCode('2.31')).toBe(0x5f);
    expect(() => parseCode('2.32')).toThrow(RangeError);
    expect(() => parseCode('205')).toThrow(RangeError);
  });
});

const arbMessage: fc.Arbitrary<CoapMessage> = fc.record({
  type: fc.constantFrom('CON', 'NON', 'ACK', 'RST'),
  code: fc.integer({ min: 1, max: 255 }),
  messageId: fc.integer({ min: 0, max: 0xffff }),
  token: fc.uint8Array({ maxLength: 8 }),
  options: fc.array(fc.record({ number: fc.integer({ min: 0, max: 0xffff }), value: fc.uint8Array({ maxLength: 300 }) }), { maxLength: 8 }),
  payload: fc.uint8Array({ maxLength: 300 }),
});

describe('properties and fuzzing', () => {
  it('decode(encode(m)) equals m with options sorted stably', () => {
    fc.assert(
      fc.property(arbMessage, (m) => {
        const sorted = m.options.map((o, i) => ({ o, i })).sort((a, b) => a.o.number - b.o.number || a.i - b.i).map((x) => x.o);
        expect(plain(decodeMessage(encodeMessage(m)))).toEqual(plain({ ...m, options: sorted }));
      }),
      { numRuns: 500 },
    );
  });

  const known = hex(VECTORS[1]!.bytes);
  const decodeOnlyCoapErrors = (bytes: Uint8Array): void => {
    try {
      const m = decodeMessage(bytes);
      // what decodes re-encodes to the same bytes
      expect(Buffer.from(encodeMessage(m)).equals(Buffer.from(bytes))).toBe(true);
    } catch (e) {
      if (!(e instanceof CoapError) || (e.code !== 'MALFORMED' && e.code !== 'TRUNCATED')) throw e;
      expect(typeof e.offset).toBe('number');
    }
  };

  it('random bytes: only CoapError MALFORMED/TRUNCATED escapes; the decoder still works afterwards', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => decodeOnlyCoapErrors(b)), { numRuns: 5000 });
    expect(decodeMessage(known).code).toBe(0x45);
  });

  it('mutated and truncated valid messages: same guarantee', () => {
    fc.assert(
      fc.property(arbMessage, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(), (m, pos, byte, cut) => {
        const b = encodeMessage(m).slice();
        if (b.length > 0) b[pos % b.length] = byte;
        decodeOnlyCoapErrors(b.subarray(0, cut % (b.length + 1)));
        decodeOnlyCoapErrors(b);
      }),
      { numRuns: 3000 },
    );
    expect(decodeMessage(known).code).toBe(0x45);
  });
});

describe('block option values (RFC 7959 §2.2)', () => {
  it('encodes NUM | M | SZX in 0–3 bytes', () => {
    expect(encodeBlock({ num: 0, more: false, szx: 0 })).toEqual(new Uint8Array(0));
    expect(encodeBlock({ num: 1, more: true, szx: 2 })).toEqual(hex('1a'));
    expect(encodeBlock({ num: 16, more: false, szx: 6 })).toEqual(hex('0106'));
    expect(encodeBlock({ num: 0xfffff, more: true, szx: 6 })).toEqual(hex('fffffe'));
    expect(decodeBlock(hex('0106'))).toEqual({ num: 16, more: false, szx: 6 });
  });
  it('rejects SZX 7 and over-long values as MALFORMED', () => {
    expect(() => decodeBlock(hex('07'))).toThrow(expect.objectContaining({ code: 'MALFORMED' }));
    expect(() => decodeBlock(hex('01020304'))).toThrow(expect.objectContaining({ code: 'MALFORMED' }));
    expect(() => encodeBlock({ num: 1 << 20, more: false, szx: 0 })).toThrow(RangeError);
  });
  it('round-trips every valid value', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xfffff }), fc.boolean(), fc.integer({ min: 0, max: 6 }), (num, more, szx) => {
      expect(decodeBlock(encodeBlock({ num, more, szx }))).toEqual({ num, more, szx });
    }));
  });
});

describe('content formats', () => {
  it('SenML+CBOR uses the RFC 8428 §6 integer labels', () => {
    const { payload, format } = encodeBody([{ bn: 'd/', n: 't', v: 1.5 }], ContentFormat['application/senml+cbor']);
    expect(format).toBe(112);
    // 81: array(1) | a3: map(3) | 21: -2 (bn) 62 "d/" | 00: 0 (n) 61 "t" | 02: 2 (v) fb 3ff8000000000000 (1.5)
    expect(Buffer.from(payload).toString('hex')).toBe('81a3216264' + '2f' + '006174' + '02fb3ff8000000000000');
    expect(decodeBody(payload, 112)).toEqual([{ bn: 'd/', n: 't', v: 1.5 }]);
  });

  it('SenML records round-trip through CBOR, all fields', () => {
    const recs = [{ bn: 'urn:dev:1/', bt: 1.7e9, bu: 'Cel', bv: 0, bs: 0, bver: 10, n: 'a', u: 'Cel', v: 2, s: 3, t: -5, ut: 60 }, { n: 'b', vs: 'on' }, { n: 'c', vb: true }, { n: 'd', vd: new Uint8Array([1, 2, 3]) }];
    expect(decodeBody(encodeBody(recs, 112).payload, 112)).toEqual(recs);
    expect(decodeBody(encodeBody(recs.slice(0, 3), 110).payload, 110)).toEqual(recs.slice(0, 3));
  });

  it('strings are text, bytes are raw, other values default to CBOR', () => {
    expect(encodeBody('hi', undefined)).toEqual({ payload: ascii('hi'), format: 0 });
    expect(encodeBody(hex('0102'), undefined)).toEqual({ payload: hex('0102'), format: undefined });
    expect(encodeBody({ a: 1 }, undefined)).toEqual({ payload: hex('a1616101'), format: 60 });
    expect(() => encodeBody({ a: 1 }, 0)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_FORMAT' }));
    expect(() => encodeBody([{ n: 1 }], 112)).toThrow(TypeError);
    expect(() => encodeBody([{ nope: 1 }], 112)).toThrow(RangeError);
  });

  it('fuzz: decodeBody lets only CoapError MALFORMED escape and keeps working', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), fc.constantFrom(0, 50, 60, 110, 112, 42), (b, f) => {
        try {
          decodeBody(b, f);
        } catch (e) {
          if (!(e instanceof CoapError) || e.code !== 'MALFORMED') throw e;
        }
      }),
      { numRuns: 3000 },
    );
    expect(decodeBody(hex('a1616101'), 60)).toEqual({ a: 1 });
  });
});
