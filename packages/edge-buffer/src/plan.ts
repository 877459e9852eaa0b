// The recovery decisions as a pure function: what the segments found on disk mean (which
// records are kept, which are lost and why, which bytes are damaged) and which file operations
// make the directory consistent. `recover` applies the steps; `inspectBuffer` only reports them.
// Rules: README "Recovery" (and the header of recovery.ts).

import type { BufferEvent } from './events.js';
import type { CheckpointState } from './codec.js';
import type { Hole, SegmentScan } from './scan.js';
import { SEGMENT_HEADER_SIZE, segmentFileName } from './codec.js';

/** One segment file as found: trusted from the seal's index, or CRC-scanned. */
export interface Found {
  name: string;
  scan: SegmentScan;
  trusted: boolean;
}

export interface LiveSegment {
  name: string;
  baseSeq: number;
  /** baseSeq - 1 when the segment holds no record. */
  lastSeq: number;
  /** Bytes up to the end of the last valid record: readers stop here. */
  size: number;
  /** Damaged ranges inside `size`, already reported. */
  holes: Hole[];
  /** The header is valid and matches the file name: appends may continue here. */
  appendable: boolean;
}

/** A file operation recovery performs, with the event that reports it; or an event alone. */
export type Step =
  | { kind: 'quarantine'; name: string; event: Extract<BufferEvent, { type: 'quarantine' }> }
  | { kind: 'unlink'; name: string; event: Extract<BufferEvent, { type: 'truncate' }> }
  | { kind: 'truncate'; name: string; at: number; event: Extract<BufferEvent, { type: 'truncate' }> }
  /** Cut the zeros after the last frame (unwritten preallocated space): no event, nothing lost. */
  | { kind: 'trim'; name: string; at: number }
  | { kind: 'report'; event: Extract<BufferEvent, { type: 'damage' | 'lost' }> };

export interface Plan {
  steps: Step[];
  /** Segments kept, oldest first (before deleting those the checkpoint covers). */
  live: LiveSegment[];
  lostRecords: number;
  /** Unacknowledged records kept (readable). */
  records: number;
  /** Above every seq seen and the high-water mark. */
  nextSeq: number;
}

/** Decides what the scanned segments mean; no I/O. `found` is in seq order. */
/**
 * In the newest segment, valid frames after damage prove corruption only when the high-water
 * mark shows they were durably appended: a crash during a group write leaves random sectors of
 * the unsynced group behind, so beyond the mark a damaged region and whatever follows it is the
 * torn tail. Returns the scan cut at the first hole followed by frames above the mark.
 */
function cutTornTail(s: SegmentScan, highSeq: number): SegmentScan {
  const i = s.holes.findIndex((h) => h.nextSeq > highSeq);
  if (i < 0) return s;
  const h = s.holes[i]!;
  return {
    ...s,
    holes: s.holes.slice(0, i),
    gaps: s.gaps.filter((g) => g.last <= h.prevSeq),
    count: h.framesBefore,
    lastSeq: h.prevSeq,
    validEnd: h.start,
    tail: { start: h.start, end: s.fileSize, reason: h.reason },
  };
}

export function planRecovery(found: readonly Found[], cp: CheckpointState | undefined): Plan {
  const ackedSeq = cp?.ackedSeq ?? 0;
  const highSeq = cp?.highSeq ?? 0;
  const steps: Step[] = [];
  const live: LiveSegment[] = [];
  let lostRecords = 0;
  let records = 0;
  const lost = (first: number, last: number, reason: string): number => {
    const lo = Math.max(first, ackedSeq + 1);
    if (last < lo) return 0;
    lostRecords += last - lo + 1;
    steps.push({ kind: 'report', event: { type: 'lost', firstSeq: lo, lastSeq: last, count: last - lo + 1, reason, during: 'recovery' } });
    return last - lo + 1;
  };
  const setAside: string[] = [];
  const quarantine = (name: string, reason: string, offset: number): void => {
    setAside.push(name);
    steps.push({ kind: 'quarantine', name, event: { type: 'quarantine', file: name, reason, offset, during: 'recovery' } });
  };
  // Seqs of a torn tail were never acknowledged and are handed out again (seqs stay dense);
  // every other seq seen, and everything up to the high-water mark, is never reused.
  let maxSeq = Math.max(ackedSeq, highSeq);
  found.forEach((f, i) => {
    const s = i === found.length - 1 ? cutTornTail(f.scan, highSeq) : f.scan;
    if (s.count > 0) maxSeq = Math.max(maxSeq, s.lastSeq);
  });

  let keptLast = 0;
  // Lost records are counted from the checkpoint on; without a valid one nothing is known below
  // the first segment, so counting starts there.
  let countFrom = cp === undefined ? undefined : ackedSeq;
  for (let i = 0; i < found.length; i++) {
    const newest = i === found.length - 1;
    const name = found[i]!.name;
    const s = newest ? cutTornTail(found[i]!.scan, highSeq) : found[i]!.scan;
    if (s.header === 'unknown') {
      quarantine(name, s.headerReason, 4);
      continue;
    }
    if (newest && s.count === 0 && (s.header === 'short' || s.header === 'zero')) {
      // A segment whose creation was torn: it never held an acknowledged record.
      // All zeros: a prepared (preallocated) file renamed into place before its first write — no data cut.
      const unwritten = s.header === 'zero' && s.zeroFrom !== undefined;
      const reason = unwritten ? `${s.headerReason} (an unwritten preallocated segment)` : s.headerReason;
      steps.push({ kind: 'unlink', name, event: { type: 'truncate', file: name, offset: 0, bytes: unwritten ? 0 : s.fileSize, reason } });
      continue;
    }
    if ((s.count === 0 && !(newest && s.header === 'ok')) || (s.count > 0 && s.lastSeq <= keptLast)) {
      const why = s.count === 0 ? s.headerReason || s.tail?.reason || 'no valid record' : `records ${s.firstSeq}..${s.lastSeq} duplicate seqs already kept`;
      quarantine(name, why, s.count === 0 ? (s.tail?.start ?? 0) : 8);
      continue;
    }
    const damage = (offset: number, bytes: number, reason: string): void => {
      steps.push({ kind: 'report', event: { type: 'damage', file: name, offset, bytes, reason, during: 'recovery' } });
    };
    if (s.header === 'damaged') damage(0, SEGMENT_HEADER_SIZE, s.headerReason);
    for (const h of s.holes) damage(h.start, h.end - h.start, h.reason);
    if (s.count > 0) {
      const first = Math.max(s.firstSeq, keptLast + 1);
      // Seqs below this file's base belong to no file; those inside it are in its scan's gaps.
      const below = Math.min(first, s.baseSeq);
      if (countFrom !== undefined && below > countFrom + 1) {
        const gone = setAside.length > 0 ? `segment ${setAside.join(', ')} quarantined` : 'missing segment';
        lost(countFrom + 1, below - 1, `${gone}: no file holds these records`);
      }
      const from = Math.max(ackedSeq, first - 1); // records kept here: (from, lastSeq] minus the gaps inside
      let missing = 0;
      for (const g of s.gaps) {
        lost(Math.max(g.first, keptLast + 1), g.last, `${name}: ${g.reason}`);
        missing += Math.max(0, g.last - Math.max(g.first - 1, from));
      }
      records += Math.max(0, s.lastSeq - from - missing);
      countFrom = Math.max(countFrom ?? 0, s.lastSeq);
    }
    setAside.length = 0;
    if (s.tail !== undefined && newest) {
      // The newest segment's damaged suffix with nothing valid after it: the torn, unsynced tail.
      steps.push({ kind: 'truncate', name, at: s.validEnd, event: { type: 'truncate', file: name, offset: s.validEnd, bytes: s.fileSize - s.validEnd, reason: s.tail.reason } });
    } else if (s.tail !== undefined) {
      damage(s.tail.start, s.tail.end - s.tail.start, s.tail.reason);
    }
    if (s.zeroFrom !== undefined && s.fileSize > s.validEnd) steps.push({ kind: 'trim', name, at: s.validEnd });
    const appendable = s.header === 'ok' && name === segmentFileName(s.baseSeq) && (s.tail === undefined || newest);
    // baseSeq stays the file's own (readers check each file's frames from it); seqs a previous
    // segment already holds are skipped by the reader's cursor.
    live.push({ name, baseSeq: s.baseSeq, lastSeq: s.count > 0 ? s.lastSeq : s.baseSeq - 1, size: s.validEnd, holes: s.holes, appendable });
    if (s.count > 0) keptLast = s.lastSeq;
  }
  if (countFrom !== undefined && highSeq > countFrom) {
    lost(countFrom + 1, highSeq, `records up to the high-water mark ${highSeq} are gone (tail destroyed or newest segment missing)`);
  }
  return { steps, live, lostRecords, records, nextSeq: maxSeq + 1 };
}
