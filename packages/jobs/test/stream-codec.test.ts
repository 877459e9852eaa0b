// The stream codec: AWS's documented examples, the ota.c bitmap layout, round-trips in both
// formats, field rules, and a fuzz run where only JobsError escapes and the decoders still work.
import fc from 'fast-check';
import { encode as cborEncode } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import {
  bitmapOf, decodeDataBlock, decodeDescribeStream, decodeGetStream, decodeStreamDescription, decodeStreamRejection,
  encodeDataBlock, encodeGetStream, encodeStreamDescription, JobsError, requestedBlocks, type StreamFormat,
} from '../src/index.js';

const te = new TextEncoder();
const formats: StreamFormat[] = ['json', 'cbor'];

describe('AWS documented messages', () => {
  it('decodes the DescribeStream response example of the AWS IoT developer guide', () => {
    // "Using AWS IoT MQTT-based file delivery in devices", DescribeStream response (JSON).
    const doc = '{ "c": "ec944cfb-1e3c-49ac-97de-9dc4aaad0039", "s": 1, "d": "This is the description of stream ABC.", "r": [ { "f": 0, "z": 131072 }, { "f": 1, "z": 51200 } ] }';
    const d = decodeStreamDescription(te.encode(doc), 'json');
    expect(d).toEqual({ c: 'ec944cfb-1e3c-49ac-97de-9dc4aaad0039', s: 1, d: 'This is the description of stream ABC.', r: [{ f: 0, z: 131072 }, { f: 1, z: 51200 }] });
  });

  it('decodes a CBOR GetStream request built as ota_cbor.c builds it (text keys, byte-string bitmap)', () => {
    const bytes = cborEncode({ c: 'rdy', f: 0, l: 1024, o: 0, b: Buffer.from([0xff, 0x01]), n: 9 });
    const r = decodeGetStream(bytes, 'cbor');
    expect(r).toMatchObject({ c: 'rdy', f: 0, l: 1024, o: 0, n: 9 });
    expect(requestedBlocks(r, 100)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('an empty DescribeStream payload is a request without a client token', () => {
    expect(decodeDescribeStream(new Uint8Array(0), 'json')).toEqual({});
  });
});

describe('bitmap (ota.c layout: bit i%8 of byte i/8, least significant first)', () => {
  it('sets the bits of the asked blocks relative to the offset', () => {
    expect(Array.from(bitmapOf(0, [0, 1, 9]))).toEqual([0b11, 0b10]);
    expect(Array.from(bitmapOf(100, [107]))).toEqual([0x80]);
  });

  it('requestedBlocks inverts bitmapOf, capped by n and by the block count', () => {
    fc.assert(fc.property(fc.nat(1000), fc.uniqueArray(fc.nat(500), { minLength: 1, maxLength: 64 }), (o, rel) => {
      const ids = rel.map((x) => x + o).sort((a, b) => a - b);
      const req = { f: 0, l: 256, o, n: ids.length, b: bitmapOf(o, ids) };
      expect(requestedBlocks(req, 1_000_000)).toEqual(ids);
      expect(requestedBlocks({ ...req, n: 1 }, 1_000_000)).toEqual(ids.slice(0, 1));
      expect(requestedBlocks(req, ids[0]!)).toEqual([]);
    }));
  });

  it('refuses a block below the offset', () => {
    expect(() => bitmapOf(5, [4])).toThrow(RangeError);
  });
});

describe('round trips', () => {
  it.each(formats)('data blocks, GetStream and descriptions (%s)', (format) => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 255 }), fc.integer({ min: 256, max: 4096 }), fc.nat(1 << 20), fc.uint8Array({ maxLength: 256 }), fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
      (f, l, i, p, c) => {
        const block = { ...(c !== undefined ? { c } : {}), f, l, i, p };
        expect(decodeDataBlock(encodeDataBlock(block, format), format)).toEqual(block);
        const req = { ...(c !== undefined ? { c } : {}), s: 2, f, l, o: i, n: 3, b: new Uint8Array([5]) };
        expect(decodeGetStream(encodeGetStream(req, format), format)).toEqual(req);
        const desc = { s: i, r: [{ f, z: i }] };
        expect(decodeStreamDescription(encodeStreamDescription(desc, format), format)).toEqual(desc);
      },
    ), { numRuns: 200 });
  });
});

describe('field rules', () => {
  const bad = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(JobsError);
      expect((e as JobsError).code).toBe('BAD_MESSAGE');
      return (e as Error).message;
    }
    throw new Error('no error');
  };
  it('block size outside 256 B–128 KiB', () => {
    expect(bad(() => decodeGetStream(te.encode('{"f":0,"l":255,"o":0,"n":1}'), 'json'))).toMatch(/l: block size 255/);
    expect(bad(() => decodeGetStream(te.encode('{"f":0,"l":131073,"o":0,"n":1}'), 'json'))).toMatch(/l: block size/);
  });
  it('a payload longer than the block size, a client token over 64 bytes, a file id over 255', () => {
    expect(bad(() => decodeDataBlock(encodeDataBlock({ f: 0, l: 256, i: 0, p: new Uint8Array(257) }, 'cbor'), 'cbor'))).toMatch(/p: 257 bytes/);
    expect(bad(() => decodeDescribeStream(te.encode(JSON.stringify({ c: 'x'.repeat(65) })), 'json'))).toMatch(/c: client token/);
    expect(bad(() => decodeGetStream(te.encode('{"f":256,"l":256,"o":0,"n":1}'), 'json'))).toMatch(/f: expected/);
  });
  it('not JSON, not a map, base64 with junk, a message over the limit', () => {
    expect(bad(() => decodeDataBlock(te.encode('{"f":0'), 'json'))).toMatch(/not json/);
    expect(bad(() => decodeDataBlock(te.encode('[1]'), 'json'))).toMatch(/expected a map/);
    expect(bad(() => decodeDataBlock(te.encode('{"f":0,"l":256,"i":0,"p":"@@@@"}'), 'json'))).toMatch(/base64/);
    expect(bad(() => decodeDataBlock(new Uint8Array(100), 'cbor', 10))).toMatch(/exceed maxMessageBytes 10/);
  });
  it('a "__proto__" key is data, never a prototype', () => {
    const d = decodeStreamDescription(te.encode('{"s":1,"r":[],"__proto__":{"polluted":1}}'), 'json');
    expect((d as unknown as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
  it('wrong argument types are TypeErrors', () => {
    expect(() => decodeDataBlock('x' as unknown as Uint8Array, 'json')).toThrow(TypeError);
    expect(() => decodeDataBlock(new Uint8Array(1), 'xml' as StreamFormat)).toThrow(TypeError);
  });
});

describe('fuzz', () => {
  const decoders = [decodeDataBlock, decodeGetStream, decodeStreamDescription, decodeStreamRejection, decodeDescribeStream];
  it('random and mutated messages end in a value or a JobsError, and the decoders still work afterwards', () => {
    const good = encodeDataBlock({ c: 't', f: 1, l: 512, i: 9, p: new Uint8Array(40).fill(7) }, 'cbor');
    const mutated = fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 })).map(([at, x]) => {
      const b = new Uint8Array(good);
      b[at]! ^= x;
      return b;
    });
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated, fc.json().map((s) => te.encode(s))), fc.constantFrom(...formats), (bytes, format) => {
      for (const d of decoders) {
        try {
          d(bytes, format);
        } catch (e) {
          if (!(e instanceof JobsError)) throw e;
        }
      }
    }), { numRuns: 1500 });
    expect(decodeDataBlock(good, 'cbor').i).toBe(9);
  });
});
