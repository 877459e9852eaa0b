// Pure on-disk codec: segment header, record frame and checkpoint over Uint8Array.
// No I/O, no clocks. All multi-byte fields are little-endian.
//
// Segment file = header (24 B) followed by records:
//   header: magic "OPBF" | version u16 | header size u16 | base seq u64 | reserved u32 | crc32c u32 (of bytes 0..19)
//   record: payload length u32 | seq u64 | crc32c u32 (of bytes 0..11 and the payload) | payload
// Checkpoint file v1 (20 B): magic "OPBC" | version u16 = 1 | reserved u16 | acked seq u64 | crc32c u32 (of bytes 0..15)
// Checkpoint file v2 (32 + 24n B): adds the high-water mark and the segment index (see encodeCheckpoint).

import { crc32c } from './crc32c.js';

export const FORMAT_VERSION = 1;
export const SEGMENT_MAGIC = 0x4642504f; // "OPBF" read as u32 LE
export const CHECKPOINT_MAGIC = 0x4342504f; // "OPBC" read as u32 LE
export const SEGMENT_HEADER_SIZE = 24;
export const RECORD_HEADER_SIZE = 16;
export const CHECKPOINT_SIZE = 20;
/** Largest payload length the frame can express; instances use a much smaller limit. */
export const MAX_FRAME_PAYLOAD = 0xffff_ffff;

/** Result of decoding: a value, "need more bytes", or "malformed" (never both). */
export type Decoded<T> =
  | ({ type: 'ok' } & T)
  | { type: 'incomplete'; needed: number }
  | { type: 'malformed'; reason: string; offset: number };

function readU32LE(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

function writeU32LE(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

/** u64 LE restricted to safe integers; returns -1 when the high word is beyond 2^53. */
function readU64LE(b: Uint8Array, o: number): number {
  const lo = readU32LE(b, o);
  const hi = readU32LE(b, o + 4);
  if (hi > 0x1f_ffff) return -1;
  return hi * 0x1_0000_0000 + lo;
}

function writeU64LE(b: Uint8Array, o: number, v: number): void {
  writeU32LE(b, o, v >>> 0);
  writeU32LE(b, o + 4, Math.floor(v / 0x1_0000_0000));
}

// --- segment header ---

export function encodeSegmentHeader(baseSeq: number): Uint8Array {
  const b = new Uint8Array(SEGMENT_HEADER_SIZE);
  writeU32LE(b, 0, SEGMENT_MAGIC);
  b[4] = FORMAT_VERSION & 0xff;
  b[5] = FORMAT_VERSION >>> 8;
  b[6] = SEGMENT_HEADER_SIZE;
  b[7] = 0;
  writeU64LE(b, 8, baseSeq);
  writeU32LE(b, 20, crc32c(b, 0, 0, 20));
  return b;
}

export function decodeSegmentHeader(b: Uint8Array): Decoded<{ version: number; baseSeq: number }> {
  if (b.length < 4) return { type: 'incomplete', needed: SEGMENT_HEADER_SIZE - b.length };
  const magic = readU32LE(b, 0);
  if (magic !== SEGMENT_MAGIC) {
    return { type: 'malformed', reason: `segment magic: expected 0x${SEGMENT_MAGIC.toString(16)}, found 0x${magic.toString(16)}`, offset: 0 };
  }
  if (b.length < SEGMENT_HEADER_SIZE) return { type: 'incomplete', needed: SEGMENT_HEADER_SIZE - b.length };
  const stored = readU32LE(b, 20);
  const actual = crc32c(b, 0, 0, 20);
  if (stored !== actual) {
    return { type: 'malformed', reason: `segment header crc: expected 0x${actual.toString(16)}, found 0x${stored.toString(16)}`, offset: 20 };
  }
  const version = b[4]! | (b[5]! << 8);
  if (version !== FORMAT_VERSION) {
    return { type: 'malformed', reason: `segment version: expected ${FORMAT_VERSION}, found ${version}`, offset: 4 };
  }
  const size = b[6]! | (b[7]! << 8);
  if (size !== SEGMENT_HEADER_SIZE) {
    return { type: 'malformed', reason: `segment header size: expected ${SEGMENT_HEADER_SIZE}, found ${size}`, offset: 6 };
  }
  const baseSeq = readU64LE(b, 8);
  if (baseSeq < 1) return { type: 'malformed', reason: `segment base seq: expected 1..2^53-1, found ${baseSeq < 0 ? '>2^53' : baseSeq}`, offset: 8 };
  return { type: 'ok', version, baseSeq };
}

// --- record frame ---

export function recordSize(payloadLength: number): number {
  return RECORD_HEADER_SIZE + payloadLength;
}

/** Writes one framed record into `out` at `offset`; returns the offset after it. */
export function encodeRecordInto(out: Uint8Array, offset: number, seq: number, payload: Uint8Array): number {
  writeU32LE(out, offset, payload.length);
  writeU64LE(out, offset + 4, seq);
  out.set(payload, offset + RECORD_HEADER_SIZE);
  let c = crc32c(out, 0, offset, offset + 12);
  c = crc32c(payload, c);
  writeU32LE(out, offset + 12, c);
  return offset + RECORD_HEADER_SIZE + payload.length;
}

/**
 * Writes only the 16-byte frame header for `payload` into `out` at `offset` (the payload is
 * written separately, e.g. by a vectored write of the caller's buffer: no copy). The CRC covers
 * the header's first 12 bytes and the payload as they are now.
 */
export function encodeRecordHeaderInto(out: Uint8Array, offset: number, seq: number, payload: Uint8Array): void {
  writeU32LE(out, offset, payload.length);
  writeU64LE(out, offset + 4, seq);
  let c = crc32c(out, 0, offset, offset + 12);
  c = crc32c(payload, c);
  writeU32LE(out, offset + 12, c);
}

export function encodeRecord(seq: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(RECORD_HEADER_SIZE + payload.length);
  encodeRecordInto(out, 0, seq, payload);
  return out;
}

/**
 * Decodes the record at `b[offset..]`. The payload is a view into `b` (no copy).
 * `maxPayload` is checked before anything is sliced, so a forged length never allocates.
 */
export function decodeRecordAt(
  b: Uint8Array,
  offset: number,
  maxPayload: number,
): Decoded<{ seq: number; payload: Uint8Array; size: number }> {
  const avail = b.length - offset;
  if (avail < RECORD_HEADER_SIZE) return { type: 'incomplete', needed: RECORD_HEADER_SIZE - avail };
  const length = readU32LE(b, offset);
  const seq = readU64LE(b, offset + 4);
  if (seq < 1) {
    return { type: 'malformed', reason: `record seq: expected 1..2^53-1, found ${seq < 0 ? '>2^53' : seq}`, offset: offset + 4 };
  }
  if (length > maxPayload) {
    return { type: 'malformed', reason: `record length: expected at most ${maxPayload}, found ${length}`, offset };
  }
  const size = RECORD_HEADER_SIZE + length;
  if (avail < size) return { type: 'incomplete', needed: size - avail };
  let c = crc32c(b, 0, offset, offset + 12);
  c = crc32c(b, c, offset + RECORD_HEADER_SIZE, offset + size);
  const stored = readU32LE(b, offset + 12);
  if (c !== stored) {
    return { type: 'malformed', reason: `record crc: expected 0x${c.toString(16)}, found 0x${stored.toString(16)}`, offset: offset + 12 };
  }
  return { type: 'ok', seq, payload: b.subarray(offset + RECORD_HEADER_SIZE, offset + size), size };
}

// --- checkpoint ---

/** One entry of the segment index a checkpoint carries (the seal): a complete, durable segment. */
export interface IndexEntry {
  baseSeq: number;
  lastSeq: number;
  /** File size in bytes when the entry was written. */
  size: number;
}

/** What a checkpoint records. Version 1 files (20 bytes) carry only `ackedSeq`. */
export interface CheckpointState {
  ackedSeq: number;
  /** High-water mark: every seq at or below was durably appended once, so is never handed out again. */
  highSeq: number;
  /** Segments trusted at the next open without a CRC scan when their size and header match. */
  segments: IndexEntry[];
}

export const CHECKPOINT_VERSION = 2;
const CHECKPOINT_V2_FIXED = 32;
const INDEX_ENTRY_SIZE = 24;

/** Checkpoint v2: magic | version 2 | reserved u16 | acked u64 | high u64 | count u32 | count × (base u64, last u64, size u64) | crc32c u32 of all before. */
export function encodeCheckpoint(ackedSeq: number, highSeq = ackedSeq, segments: readonly IndexEntry[] = []): Uint8Array {
  const b = new Uint8Array(CHECKPOINT_V2_FIXED + INDEX_ENTRY_SIZE * segments.length);
  writeU32LE(b, 0, CHECKPOINT_MAGIC);
  b[4] = CHECKPOINT_VERSION;
  writeU64LE(b, 8, ackedSeq);
  writeU64LE(b, 16, highSeq);
  writeU32LE(b, 24, segments.length);
  let o = 28;
  for (const e of segments) {
    writeU64LE(b, o, e.baseSeq);
    writeU64LE(b, o + 8, e.lastSeq);
    writeU64LE(b, o + 16, e.size);
    o += INDEX_ENTRY_SIZE;
  }
  writeU32LE(b, o, crc32c(b, 0, 0, o));
  return b;
}

export function decodeCheckpoint(b: Uint8Array): Decoded<CheckpointState> {
  if (b.length < CHECKPOINT_SIZE) return { type: 'incomplete', needed: CHECKPOINT_SIZE - b.length };
  const magic = readU32LE(b, 0);
  if (magic !== CHECKPOINT_MAGIC) {
    return { type: 'malformed', reason: `checkpoint magic: expected 0x${CHECKPOINT_MAGIC.toString(16)}, found 0x${magic.toString(16)}`, offset: 0 };
  }
  const version = b[4]! | (b[5]! << 8);
  const end = version === CHECKPOINT_VERSION ? b.length - 4 : 16;
  if (version === CHECKPOINT_VERSION && b.length < CHECKPOINT_V2_FIXED) return { type: 'malformed', reason: `checkpoint: expected at least ${CHECKPOINT_V2_FIXED} bytes, found ${b.length}`, offset: 0 };
  if (version === FORMAT_VERSION && b.length !== CHECKPOINT_SIZE) return { type: 'malformed', reason: `checkpoint: expected ${CHECKPOINT_SIZE} bytes, found ${b.length}`, offset: 0 };
  const stored = readU32LE(b, end);
  const actual = crc32c(b, 0, 0, end);
  if (stored !== actual) {
    return { type: 'malformed', reason: `checkpoint crc: expected 0x${actual.toString(16)}, found 0x${stored.toString(16)}`, offset: end };
  }
  if (version !== FORMAT_VERSION && version !== CHECKPOINT_VERSION) {
    return { type: 'malformed', reason: `checkpoint version: expected ${FORMAT_VERSION} or ${CHECKPOINT_VERSION}, found ${version}`, offset: 4 };
  }
  const ackedSeq = readU64LE(b, 8);
  if (ackedSeq < 0) return { type: 'malformed', reason: 'checkpoint seq: beyond 2^53', offset: 8 };
  if (version === FORMAT_VERSION) return { type: 'ok', ackedSeq, highSeq: ackedSeq, segments: [] };
  const highSeq = readU64LE(b, 16);
  const count = readU32LE(b, 24);
  if (highSeq < 0 || CHECKPOINT_V2_FIXED + count * INDEX_ENTRY_SIZE !== b.length) {
    return { type: 'malformed', reason: `checkpoint: ${count} index entries do not fit ${b.length} bytes`, offset: 24 };
  }
  const segments: IndexEntry[] = [];
  for (let i = 0, o = 28; i < count; i++, o += INDEX_ENTRY_SIZE) {
    const e = { baseSeq: readU64LE(b, o), lastSeq: readU64LE(b, o + 8), size: readU64LE(b, o + 16) };
    if (e.baseSeq < 1 || e.lastSeq < e.baseSeq || e.size < SEGMENT_HEADER_SIZE) return { type: 'malformed', reason: `checkpoint index entry ${i}: invalid`, offset: o };
    segments.push(e);
  }
  return { type: 'ok', ackedSeq, highSeq, segments };
}

// --- file names ---

const SEGMENT_NAME = /^(\d{20})\.seg$/;

export function segmentFileName(baseSeq: number): string {
  return `${String(baseSeq).padStart(20, '0')}.seg`;
}

/** Base seq encoded in a segment file name, or undefined when `name` is not a segment. */
export function parseSegmentFileName(name: string): number | undefined {
  const m = SEGMENT_NAME.exec(name);
  if (m === null) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}
