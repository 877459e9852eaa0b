import { describe, expect, it } from 'vitest';
import { crc32c, crc32cImplementation, crc32cTable } from '../src/crc32c.js';
import {
  decodeCheckpoint,
  decodeRecordAt,
  decodeSegmentHeader,
  encodeCheckpoint,
  encodeRecord,
  encodeSegmentHeader,
  parseSegmentFileName,
  segmentFileName,
} from '../src/codec.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('crc32c', () => {
  // RFC 3720 §B.4 and the iSCSI / SSE4.2 check value.
  it.each([
    ['123456789', 0xe3069283],
    ['', 0],
    ['a', 0xc1d04330],
  ])('crc32c(%j) = %i', (input, want) => {
    expect(crc32c(ascii(input))).toBe(want);
  });

  // RFC 3720 §B.4 test vectors: 32 bytes of zeros, of 0xff, incrementing, decrementing.
  it('RFC 3720 B.4 vectors', () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it('hardware CRC-32C (@node-rs/crc32) is used here and agrees with the table for every length and chaining across the threshold', () => {
    expect(crc32cImplementation).toBe('native'); // the optional dependency is installed in this workspace
    const data = Uint8Array.from({ length: 5000 }, (_, i) => (i * 2654435761) >>> 24);
    for (let len = 900; len <= 5000; len += 97) {
      expect(crc32c(data, 0, 0, len)).toBe(crc32cTable(data, 0, 0, len));
      const cut = len >> 1;
      expect(crc32c(data, crc32c(data, 0, 0, cut), cut, len)).toBe(crc32cTable(data, 0, 0, len));
    }
    expect(crc32c(new Uint8Array(64 * 1024).fill(0x5a))).toBe(crc32cTable(new Uint8Array(64 * 1024).fill(0x5a)));
  });

  it('chains: crc(a ++ b) = crc(b, crc(a)), and ranges match slices', () => {
    const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 131) & 0xff);
    for (const cut of [0, 1, 7, 8, 9, 500, 999, 1000]) {
      expect(crc32c(data.subarray(cut), crc32c(data.subarray(0, cut)))).toBe(crc32c(data));
    }
    expect(crc32c(data, 0, 13, 777)).toBe(crc32c(data.subarray(13, 777)));
  });
});

describe('record frame', () => {
  it('encodes length | seq | crc | payload, little-endian, crc over length+seq+payload', () => {
    const rec = encodeRecord(0x0102030405, ascii('hi'));
    // length u32 LE = 2
    expect([...rec.subarray(0, 4)]).toEqual([2, 0, 0, 0]);
    // seq u64 LE
    expect([...rec.subarray(4, 12)]).toEqual([0x05, 0x04, 0x03, 0x02, 0x01, 0, 0, 0]);
    const crc = crc32c(ascii('hi'), crc32c(rec.subarray(0, 12)));
    expect(new DataView(rec.buffer).getUint32(12, true)).toBe(crc);
    expect([...rec.subarray(16)]).toEqual([0x68, 0x69]);
  });

  it('round-trips, including the empty payload and the largest safe seq', () => {
    for (const [seq, len] of [[1, 0], [2, 1], [Number.MAX_SAFE_INTEGER, 300]] as const) {
      const payload = Uint8Array.from({ length: len }, (_, i) => i & 0xff);
      const r = decodeRecordAt(encodeRecord(seq, payload), 0, 1024);
      expect(r).toMatchObject({ type: 'ok', seq, size: 16 + len });
      if (r.type === 'ok') expect(r.payload).toEqual(payload);
    }
  });

  it('tells "need more bytes" apart from "malformed"', () => {
    const rec = encodeRecord(7, ascii('hello'));
    for (let n = 0; n < rec.length; n++) {
      const r = decodeRecordAt(rec.subarray(0, n), 0, 1024);
      expect(r.type).toBe('incomplete');
      if (r.type === 'incomplete') expect(r.needed).toBe(n < 16 ? 16 - n : rec.length - n);
    }
    const bad = rec.slice();
    bad[20] = bad[20]! ^ 1;
    expect(decodeRecordAt(bad, 0, 1024)).toMatchObject({ type: 'malformed', offset: 12 });
  });

  it('rejects seq 0 (zero-filled region), seq beyond 2^53 and a length over the limit before slicing', () => {
    expect(decodeRecordAt(new Uint8Array(64), 0, 1024)).toMatchObject({ type: 'malformed', reason: expect.stringContaining('seq') });
    const big = encodeRecord(1, new Uint8Array(0));
    big[11] = 0xff;
    expect(decodeRecordAt(big, 0, 1024)).toMatchObject({ type: 'malformed', reason: expect.stringContaining('2^53') });
    const long = encodeRecord(1, new Uint8Array(0));
    long.set([0xff, 0xff, 0xff, 0xff], 0);
    expect(decodeRecordAt(long, 0, 1024)).toEqual({ type: 'malformed', reason: 'record length: expected at most 1024, found 4294967295', offset: 0 });
  });
});

describe('segment header', () => {
  it('is 24 bytes: "OPBF", version 1, size 24, base seq, reserved, crc', () => {
    const h = encodeSegmentHeader(42);
    expect(h.length).toBe(24);
    expect([...h.subarray(0, 8)]).toEqual([0x4f, 0x50, 0x42, 0x46, 1, 0, 24, 0]);
    expect(decodeSegmentHeader(h)).toEqual({ type: 'ok', version: 1, baseSeq: 42 });
  });

  it('empty and short inputs are incomplete; wrong magic is malformed at once', () => {
    expect(decodeSegmentHeader(new Uint8Array(0)).type).toBe('incomplete');
    expect(decodeSegmentHeader(encodeSegmentHeader(1).subarray(0, 10))).toEqual({ type: 'incomplete', needed: 14 });
    expect(decodeSegmentHeader(ascii('NOPE')).type).toBe('malformed');
  });

  it('unknown version is malformed (with a valid crc) and names the version', () => {
    const h = encodeSegmentHeader(1);
    h[4] = 2;
    new DataView(h.buffer).setUint32(20, crc32c(h.subarray(0, 20)), true);
    expect(decodeSegmentHeader(h)).toEqual({ type: 'malformed', reason: 'segment version: expected 1, found 2', offset: 4 });
  });

  it('a flipped bit anywhere fails the crc or the magic', () => {
    const h = encodeSegmentHeader(9);
    for (let bit = 0; bit < 24 * 8; bit++) {
      const b = h.slice();
      b[bit >> 3] = b[bit >> 3]! ^ (1 << (bit & 7));
      expect(decodeSegmentHeader(b).type).toBe('malformed');
    }
  });
});

describe('checkpoint and names', () => {
  it('checkpoint round-trips and detects corruption', () => {
    const index = [{ baseSeq: 1, lastSeq: 9, size: 500 }, { baseSeq: 10, lastSeq: 12, size: 100 }];
    const c = encodeCheckpoint(123456789012, 123456789099, index);
    expect(c.length).toBe(32 + 2 * 24); // fixed 32 bytes + 24 per index entry
    expect(decodeCheckpoint(c)).toEqual({ type: 'ok', ackedSeq: 123456789012, highSeq: 123456789099, segments: index });
    c[9] = c[9]! ^ 0x10;
    expect(decodeCheckpoint(c).type).toBe('malformed');
    expect(decodeCheckpoint(c.subarray(0, 5)).type).toBe('incomplete');
    expect(decodeCheckpoint(c.subarray(0, 40)).type).toBe('malformed');
  });

  it('version 1 checkpoints (20 bytes, no high-water mark) still decode', () => {
    const v1 = new Uint8Array([0x4f, 0x50, 0x42, 0x43, 1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    new DataView(v1.buffer).setUint32(16, crc32c(v1.subarray(0, 16)), true);
    expect(decodeCheckpoint(v1)).toEqual({ type: 'ok', ackedSeq: 7, highSeq: 7, segments: [] });
  });

  it('segment file names sort numerically', () => {
    expect(segmentFileName(12)).toBe('00000000000000000012.seg');
    expect(parseSegmentFileName('00000000000000000012.seg')).toBe(12);
    expect(parseSegmentFileName('12.seg')).toBeUndefined();
    expect(parseSegmentFileName('00000000000000000012.seg.quarantine')).toBeUndefined();
  });
});
