// Recovery on open. Rules (README "Recovery"):
// 1. A leftover `checkpoint.tmp` is removed; a corrupt `checkpoint` is reported, renamed to
//    `checkpoint.quarantine` and counts as "nothing acked" (records may repeat, none are skipped).
// 2. A segment listed in the checkpoint's index (the seal) whose size and header still match is
//    trusted without a CRC scan; every other segment is scanned (src/scan.ts). After a clean
//    close that is none; after a crash, the segments written since the last checkpoint.
// 3. A damaged range followed by valid frames is corruption: the bytes are skipped in place
//    (`damage` event) and everything after them is kept. Damage with no valid frame after it in
//    the newest segment is the torn, unsynced suffix of a crash and is truncated.
// 4. Whole files are set aside (renamed `<name>.quarantine`) only when nothing in them can be
//    used: an unknown format, no valid frame, or only duplicates of records kept elsewhere.
// 5. Every seq above the checkpoint and up to the high-water mark that no kept frame holds is
//    lost: counted and reported (`lost` event with the range and the reason).
// 6. Segments whose records are all covered by the checkpoint are deleted; the next seq is above
//    the high-water mark and every seq seen, so none is ever reused.
// Each step is idempotent, so a crash during recovery followed by recovery gives the same state.

import { join } from 'node:path';
import type { FileSystem } from './fs.js';
import type { BufferEvent } from './events.js';
import type { CheckpointState, IndexEntry } from './codec.js';
import type { Hole, SegmentScan } from './scan.js';
import { BufferError } from './errors.js';
import { decodeCheckpoint, decodeSegmentHeader, parseSegmentFileName, SEGMENT_HEADER_SIZE, segmentFileName } from './codec.js';
import { scanSegment } from './scan.js';

export const CHECKPOINT_FILE = 'checkpoint';
export const CHECKPOINT_TMP = 'checkpoint.tmp';
export const QUARANTINE_SUFFIX = '.quarantine';
/** A checkpoint larger than this is not read (a forged count never allocates). */
const MAX_CHECKPOINT_BYTES = 4 * 1024 * 1024;

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

export interface Recovered {
  segments: LiveSegment[];
  ackedSeq: number;
  nextSeq: number;
  quarantined: number;
  truncatedBytes: number;
  lostRecords: number;
  /** Segments CRC-scanned (the rest were trusted from the seal). */
  scanned: number;
}

/** One segment file as found: trusted from the index, or scanned. */
interface Found {
  name: string;
  scan: SegmentScan;
  trusted: boolean;
}

/** The checkpoint, or undefined (reported) when it is unreadable. */
async function readCheckpoint(fs: FileSystem, dir: string, emit: (e: BufferEvent) => void): Promise<CheckpointState | undefined> {
  const path = join(dir, CHECKPOINT_FILE);
  try {
    const file = await fs.open(path, 'read');
    try {
      const size = await file.size();
      const bytes = new Uint8Array(Math.min(size, MAX_CHECKPOINT_BYTES));
      await file.read(bytes, 0);
      const d = size <= MAX_CHECKPOINT_BYTES ? decodeCheckpoint(bytes) : ({ type: 'malformed', reason: `checkpoint: ${size} bytes`, offset: 0 } as const);
      if (d.type === 'ok') return d;
      const reason = d.type === 'malformed' ? d.reason : `checkpoint: truncated to ${size} bytes`;
      emit({ type: 'error', error: new BufferError('CORRUPT', `${reason}; delivering from the oldest segment (records may repeat)`) });
      return undefined;
    } finally {
      await file.close().catch(() => undefined);
    }
  } catch (err) {
    emit({ type: 'error', error: new BufferError('CORRUPT', `checkpoint: cannot read (${String(err)}); delivering from the oldest segment`, { cause: err }) });
    return undefined;
  }
}

/** A scan result for a segment the seal describes, if its size and header still match. */
async function trust(fs: FileSystem, path: string, e: IndexEntry): Promise<SegmentScan | undefined> {
  const file = await fs.open(path, 'read');
  try {
    if ((await file.size()) !== e.size) return undefined;
    const head = new Uint8Array(SEGMENT_HEADER_SIZE);
    await file.read(head, 0);
    const h = decodeSegmentHeader(head);
    if (h.type !== 'ok' || h.baseSeq !== e.baseSeq) return undefined;
  } finally {
    await file.close().catch(() => undefined);
  }
  return {
    header: 'ok', headerReason: '', baseSeq: e.baseSeq, fileSize: e.size, count: e.lastSeq - e.baseSeq + 1, firstSeq: e.baseSeq,
    lastSeq: e.lastSeq, validEnd: e.size, holes: [], tail: undefined, gaps: [],
  };
}

async function findSegments(fs: FileSystem, dir: string, names: string[], cp: CheckpointState | undefined, maxPayload: number): Promise<Found[]> {
  const index = new Map<string, IndexEntry>();
  for (const e of cp?.segments ?? []) index.set(segmentFileName(e.baseSeq), e);
  const found: Found[] = [];
  for (const name of names) {
    const nameSeq = parseSegmentFileName(name);
    if (nameSeq === undefined) continue;
    const path = join(dir, name);
    const entry = index.get(name);
    const trusted = entry === undefined ? undefined : await trust(fs, path, entry);
    if (trusted !== undefined) {
      found.push({ name, scan: trusted, trusted: true });
      continue;
    }
    const file = await fs.open(path, 'read');
    try {
      found.push({ name, scan: await scanSegment(file, nameSeq, maxPayload), trusted: false });
    } finally {
      await file.close().catch(() => undefined);
    }
  }
  // In seq order by content (a renamed or swapped file still sorts by what it holds); on a tie,
  // the file whose name matches its header first.
  const consistent = (f: Found): number => (f.name === segmentFileName(f.scan.baseSeq) ? 0 : 1);
  return found.sort((a, b) => a.scan.baseSeq - b.scan.baseSeq || consistent(a) - consistent(b) || (a.name < b.name ? -1 : 1));
}

/** Collects lost seq ranges above the ack floor and reports each once. */
class LostLog {
  total = 0;
  constructor(
    private readonly floor: number,
    private readonly emit: (e: BufferEvent) => void,
  ) {}

  add(first: number, last: number, reason: string): void {
    const lo = Math.max(first, this.floor + 1);
    if (last < lo) return;
    this.total += last - lo + 1;
    this.emit({ type: 'lost', firstSeq: lo, lastSeq: last, count: last - lo + 1, reason, during: 'recovery' });
  }
}

export async function recover(fs: FileSystem, dir: string, maxPayload: number, emit: (e: BufferEvent) => void): Promise<Recovered> {
  await fs.mkdir(dir);
  const names = (await fs.readdir(dir)).sort();
  let changed = false;
  if (names.includes(CHECKPOINT_TMP)) {
    await fs.unlink(join(dir, CHECKPOINT_TMP));
    changed = true;
  }
  let cp: CheckpointState | undefined;
  if (names.includes(CHECKPOINT_FILE)) {
    cp = await readCheckpoint(fs, dir, emit);
    if (cp === undefined) {
      // Set aside once so the report is not repeated on every open; the next ack writes a new one.
      await fs.rename(join(dir, CHECKPOINT_FILE), join(dir, CHECKPOINT_FILE + QUARANTINE_SUFFIX));
      changed = true;
    }
  }
  const ackedSeq = cp?.ackedSeq ?? 0;
  const found = await findSegments(fs, dir, names, cp, maxPayload);
  let maxSeq = Math.max(ackedSeq, cp?.highSeq ?? 0);
  for (const f of found) if (f.scan.count > 0) maxSeq = Math.max(maxSeq, f.scan.lastSeq);

  let quarantined = 0;
  let truncatedBytes = 0;
  const setAside: string[] = [];
  const quarantine = async (f: Found, reason: string, offset: number): Promise<void> => {
    await fs.rename(join(dir, f.name), join(dir, f.name + QUARANTINE_SUFFIX));
    // Durable before anything else changes: which segment is "newest" must not flip if a later
    // unlink reaches the disk and this rename does not.
    await fs.syncDir(dir);
    quarantined++;
    setAside.push(f.name);
    emit({ type: 'quarantine', file: f.name, reason, offset, during: 'recovery' });
  };

  const lost = new LostLog(ackedSeq, emit);
  const live: LiveSegment[] = [];
  let keptLast = 0;
  // Lost records are counted from the checkpoint on; without a valid one nothing is known below
  // the first segment, so counting starts there.
  let countFrom = cp === undefined ? undefined : ackedSeq;
  for (let i = 0; i < found.length; i++) {
    const f = found[i]!;
    const s = f.scan;
    const newest = i === found.length - 1;
    if (s.header === 'unknown') {
      await quarantine(f, s.headerReason, 4);
      continue;
    }
    if (newest && s.count === 0 && (s.header === 'short' || s.header === 'zero')) {
      // A segment whose creation was torn: it never held an acknowledged record.
      await fs.unlink(join(dir, f.name));
      changed = true;
      truncatedBytes += s.fileSize;
      emit({ type: 'truncate', file: f.name, offset: 0, bytes: s.fileSize, reason: s.headerReason });
      continue;
    }
    if ((s.count === 0 && !(newest && s.header === 'ok')) || (s.count > 0 && s.lastSeq <= keptLast)) {
      const why = s.count === 0 ? s.headerReason || s.tail?.reason || 'no valid record' : `records ${s.firstSeq}..${s.lastSeq} duplicate seqs already kept`;
      await quarantine(f, why, s.count === 0 ? (s.tail?.start ?? 0) : 8);
      continue;
    }
    if (s.header === 'damaged') emit({ type: 'damage', file: f.name, offset: 0, bytes: SEGMENT_HEADER_SIZE, reason: s.headerReason, during: 'recovery' });
    for (const h of s.holes) emit({ type: 'damage', file: f.name, offset: h.start, bytes: h.end - h.start, reason: h.reason, during: 'recovery' });
    if (s.count > 0) {
      const first = Math.max(s.firstSeq, keptLast + 1);
      if (countFrom !== undefined && first > countFrom + 1) {
        const gone = setAside.length > 0 ? `segment ${setAside.join(', ')} quarantined` : 'missing segment';
        lost.add(countFrom + 1, first - 1, `${gone}: no file holds these records`);
      }
      for (const g of s.gaps) lost.add(Math.max(g.first, keptLast + 1), g.last, `${f.name}: ${g.reason}`);
      countFrom = Math.max(countFrom ?? 0, s.lastSeq);
    }
    setAside.length = 0;
    if (s.tail !== undefined && newest) {
      // The newest segment's damaged suffix with nothing valid after it: the torn, unsynced tail.
      const file = await fs.open(join(dir, f.name), 'readwrite');
      try {
        await file.truncate(s.validEnd);
        await file.sync();
      } finally {
        await file.close().catch(() => undefined);
      }
      truncatedBytes += s.fileSize - s.validEnd;
      emit({ type: 'truncate', file: f.name, offset: s.validEnd, bytes: s.fileSize - s.validEnd, reason: s.tail.reason });
    } else if (s.tail !== undefined) {
      emit({ type: 'damage', file: f.name, offset: s.tail.start, bytes: s.tail.end - s.tail.start, reason: s.tail.reason, during: 'recovery' });
    }
    const appendable = s.header === 'ok' && f.name === segmentFileName(s.baseSeq) && (s.tail === undefined || newest);
    // baseSeq stays the file's own (readers check each file's frames from it); seqs a previous
    // segment already holds are skipped by the reader's cursor.
    live.push({ name: f.name, baseSeq: s.baseSeq, lastSeq: s.count > 0 ? s.lastSeq : s.baseSeq - 1, size: s.validEnd, holes: s.holes, appendable });
    if (s.count > 0) keptLast = s.lastSeq;
  }
  const highSeq = cp?.highSeq ?? 0;
  if (countFrom !== undefined && highSeq > countFrom) {
    lost.add(countFrom + 1, highSeq, `records up to the high-water mark ${highSeq} are gone (tail destroyed or newest segment missing)`);
  }

  const nextSeq = maxSeq + 1;
  const kept: LiveSegment[] = [];
  for (let i = 0; i < live.length; i++) {
    const seg = live[i]!;
    const isLast = i === live.length - 1;
    const empty = seg.lastSeq < seg.baseSeq;
    const keepEmptyTail = empty && isLast && seg.baseSeq === nextSeq && seg.appendable;
    if ((seg.lastSeq <= ackedSeq || empty) && !keepEmptyTail) {
      await fs.unlink(join(dir, seg.name));
      changed = true;
    } else {
      kept.push(seg);
    }
  }
  if (changed) await fs.syncDir(dir);
  return { segments: kept, ackedSeq, nextSeq, quarantined, truncatedBytes, lostRecords: lost.total, scanned: found.filter((f) => !f.trusted).length };
}
