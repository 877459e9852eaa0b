// Segment scanning that tells a torn tail from corruption (issue #15).
//
// The writer puts records into a segment back to back with dense seqs, so after a valid frame
// with seq s ending at byte e, a frame starting at byte q can only carry a seq in
// (s, s + 1 + (q − e) / 16]: every skipped seq needs a frame of at least 16 bytes between them.
// After a bad frame the scanner looks for the next offset holding a frame that passes this bound,
// its length limit and its CRC-32C: if one exists, only the bytes in between are damaged (a hole,
// skipped and reported, never delivered); if none does, the rest of the file is damaged (in the
// newest segment that is the torn, unsynced suffix of a crash).

import type { FileHandle } from './fs.js';
import { decodeRecordAt, decodeSegmentHeader, RECORD_HEADER_SIZE, SEGMENT_HEADER_SIZE } from './codec.js';
import { SegmentReader } from './segment-reader.js';

/** A damaged byte range `[start, end)` of a segment file. */
export interface Hole {
  start: number;
  end: number;
  reason: string;
}

/** A hole found by a scan, with the frames around it. */
export interface ScanHole extends Hole {
  /** Seq of the last valid frame before it (base − 1 if none) and of the first after it. */
  prevSeq: number;
  nextSeq: number;
  /** Valid frames before it in the file. */
  framesBefore: number;
}

/** A frame found by {@link findNextFrame}. */
export interface FoundFrame {
  offset: number;
  seq: number;
  size: number;
}

const RESYNC_WINDOW = 64 * 1024;

function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/**
 * The first offset in `[from, end)` holding a valid frame that may follow the frame with seq
 * `prevSeq` ending at `prevEnd` (see the bound above), with seq at most `maxSeq`.
 */
export async function findNextFrame(
  file: FileHandle,
  from: number,
  end: number,
  prev: { seq: number; end: number },
  maxSeq: number,
  maxPayload: number,
): Promise<FoundFrame | undefined> {
  const buf = new Uint8Array(RESYNC_WINDOW + RECORD_HEADER_SIZE);
  for (let base = from; base + RECORD_HEADER_SIZE <= end; base += RESYNC_WINDOW) {
    const n = await file.read(buf.subarray(0, Math.min(buf.length, end - base)), base);
    for (let i = 0; i + RECORD_HEADER_SIZE <= n && i < RESYNC_WINDOW; i++) {
      const q = base + i;
      const length = u32(buf, i);
      const hi = u32(buf, i + 8);
      if (length > maxPayload || hi > 0x1f_ffff || q + RECORD_HEADER_SIZE + length > end) continue;
      const seq = hi * 0x1_0000_0000 + u32(buf, i + 4);
      if (seq <= prev.seq || seq > maxSeq || seq > prev.seq + 1 + Math.floor((q - prev.end) / RECORD_HEADER_SIZE)) continue;
      const frame = new Uint8Array(RECORD_HEADER_SIZE + length);
      if ((await file.read(frame, q)) < frame.length) continue;
      const d = decodeRecordAt(frame, 0, maxPayload);
      if (d.type === 'ok') return { offset: q, seq: d.seq, size: d.size };
    }
  }
  return undefined;
}

/** What {@link scanSegment} found in one segment file. */
export interface SegmentScan {
  /** `ok`; `damaged` (bad magic/CRC: the base comes from the file name); `unknown` (a valid header of another version or size); `short`; `zero` (all-zero header). */
  header: 'ok' | 'damaged' | 'unknown' | 'short' | 'zero';
  headerReason: string;
  /** Seq of the first record: the header's base seq if valid, else the file name's. */
  baseSeq: number;
  fileSize: number;
  /** Valid frames kept. */
  count: number;
  firstSeq: number;
  /** baseSeq − 1 when no frame is valid. */
  lastSeq: number;
  /** End of the last valid frame (the header size when none). */
  validEnd: number;
  /** Damaged ranges followed by a valid frame. */
  holes: ScanHole[];
  /** Damaged bytes after the last valid frame, up to the end of the file. */
  tail: Hole | undefined;
  /**
   * Set when only zeros follow the last valid frame (from `validEnd` to the end of the file):
   * unwritten space of a preallocated segment, not damage and not lost records.
   */
  zeroFrom?: number;
  /** Seq ranges missing between valid frames (the frames inside a hole). */
  gaps: Array<{ first: number; last: number; reason: string }>;
}

/** Whether `[from, end)` of `file` holds only zero bytes. */
export async function allZero(file: FileHandle, from: number, end: number): Promise<boolean> {
  const buf = new Uint8Array(Math.min(RESYNC_WINDOW, Math.max(0, end - from)));
  for (let at = from; at < end; at += buf.length) {
    const chunk = buf.subarray(0, Math.min(buf.length, end - at));
    if ((await file.read(chunk, at)) < chunk.length) return false;
    // Eight bytes at a time where aligned (the window is a multiple of 8 from offset 0).
    const words = new BigUint64Array(chunk.buffer, chunk.byteOffset, chunk.length >>> 3);
    for (let i = 0; i < words.length; i++) if (words[i] !== 0n) return false;
    for (let i = words.length << 3; i < chunk.length; i++) if (chunk[i] !== 0) return false;
  }
  return true;
}

/** Reads the header of a segment; falls back to the name's base seq when it is damaged. */
async function scanHeader(file: FileHandle, nameSeq: number, scan: SegmentScan): Promise<void> {
  const head = new Uint8Array(Math.min(SEGMENT_HEADER_SIZE, scan.fileSize));
  await file.read(head, 0);
  if (scan.fileSize < SEGMENT_HEADER_SIZE) {
    scan.header = 'short';
    scan.headerReason = `segment header: expected ${SEGMENT_HEADER_SIZE} bytes, found ${scan.fileSize}`;
    return;
  }
  if (head.every((b) => b === 0)) {
    scan.header = 'zero';
    scan.headerReason = 'segment header: all zero';
    return;
  }
  const h = decodeSegmentHeader(head);
  if (h.type === 'ok') {
    scan.header = 'ok';
    scan.baseSeq = h.baseSeq;
    if (h.baseSeq !== nameSeq) scan.headerReason = `segment base seq: expected ${nameSeq} (file name), found ${h.baseSeq}`;
    return;
  }
  const reason = h.type === 'malformed' ? h.reason : 'segment header: truncated';
  // A CRC-valid header of another version or size is a format we do not know, not damage.
  scan.header = h.type === 'malformed' && (reason.startsWith('segment version') || reason.startsWith('segment header size')) ? 'unknown' : 'damaged';
  scan.headerReason = reason;
  scan.baseSeq = nameSeq;
}

/**
 * Scans one segment file, CRC-checking every frame and resynchronising after damage.
 * `fileSize` limits the scan (a reader passes its known-good length).
 */
export async function scanSegment(file: FileHandle, nameSeq: number, maxPayload: number, limit?: number): Promise<SegmentScan> {
  const fileSize = limit ?? (await file.size());
  const scan: SegmentScan = {
    header: 'ok', headerReason: '', baseSeq: nameSeq, fileSize, count: 0, firstSeq: 0, lastSeq: nameSeq - 1,
    validEnd: SEGMENT_HEADER_SIZE, holes: [], tail: undefined, gaps: [],
  };
  await scanHeader(file, nameSeq, scan);
  scan.lastSeq = scan.baseSeq - 1;
  if (scan.header === 'short' || scan.header === 'unknown') {
    scan.validEnd = Math.min(fileSize, SEGMENT_HEADER_SIZE);
    return scan;
  }
  const prev = { seq: scan.baseSeq - 1, end: SEGMENT_HEADER_SIZE };
  let reader = new SegmentReader(file, maxPayload, SEGMENT_HEADER_SIZE, 1024 * 1024);
  for (;;) {
    const step = await reader.next(fileSize);
    if (step.type === 'end') break;
    let at = reader.offset;
    let reason: string;
    if (step.type === 'record' && step.seq === prev.seq + 1) {
      if (scan.count === 0) scan.firstSeq = step.seq;
      scan.count++;
      prev.seq = step.seq;
      prev.end = step.offset + step.size;
      continue;
    }
    if (step.type === 'record') {
      at = step.offset;
      reason = `record seq: expected ${prev.seq + 1}, found ${step.seq}`;
    } else {
      reason = step.type === 'malformed' ? step.reason : `torn record: ${fileSize - at} trailing bytes`;
    }
    // Zeros from here to the end: the unwritten rest of a preallocated segment (prepare.ts). A bad
    // frame with anything but zeros after it is damage (a torn tail, or a hole if a frame follows).
    if (await allZero(file, at, fileSize)) {
      scan.zeroFrom = at;
      break;
    }
    const next = await findNextFrame(file, at + 1, fileSize, prev, Number.MAX_SAFE_INTEGER, maxPayload);
    if (next === undefined) {
      scan.tail = { start: at, end: fileSize, reason };
      break;
    }
    scan.holes.push({ start: at, end: next.offset, reason, prevSeq: prev.seq, nextSeq: next.seq, framesBefore: scan.count });
    if (next.seq > prev.seq + 1) scan.gaps.push({ first: prev.seq + 1, last: next.seq - 1, reason: `damaged bytes ${at}..${next.offset}: ${reason}` });
    reader = new SegmentReader(file, maxPayload, next.offset, 1024 * 1024);
    prev.seq = next.seq - 1; // the frame found continues the sequence
    prev.end = next.offset;
  }
  scan.lastSeq = prev.seq;
  scan.validEnd = prev.end;
  return scan;
}
