// Recovery on open. Rules (README "Recovery"):
// 1. A leftover `checkpoint.tmp` is removed; a corrupt `checkpoint` is reported, renamed to
//    `checkpoint.quarantine` and counts as "nothing acked" (records may repeat, none are skipped).
// 2. Segments are scanned oldest first. The newest segment's torn or CRC-failing suffix is a crash
//    mid-write (only the unsynced suffix can tear) and is truncated at the last good record.
// 3. Any other failure (a middle segment, a bad header with data, overlapping sequences) renames
//    the segment to `<name>.quarantine`; delivery continues with the next segment.
// 4. Segments whose records are all covered by the checkpoint are deleted.
// Each step is idempotent, so a crash during recovery followed by recovery gives the same state.

import { join } from 'node:path';
import type { FileSystem } from './fs.js';
import type { BufferEvent } from './events.js';
import { BufferError } from './errors.js';
import { SegmentReader } from './segment-reader.js';
import {
  CHECKPOINT_SIZE,
  decodeCheckpoint,
  decodeSegmentHeader,
  parseSegmentFileName,
  SEGMENT_HEADER_SIZE,
} from './codec.js';

export const CHECKPOINT_FILE = 'checkpoint';
export const CHECKPOINT_TMP = 'checkpoint.tmp';
export const QUARANTINE_SUFFIX = '.quarantine';

export interface LiveSegment {
  name: string;
  baseSeq: number;
  /** baseSeq - 1 when the segment holds no record. */
  lastSeq: number;
  /** Bytes up to the end of the last valid record. */
  size: number;
}

export interface Recovered {
  segments: LiveSegment[];
  ackedSeq: number;
  nextSeq: number;
  quarantined: number;
  truncatedBytes: number;
}

interface Scan {
  headerOk: boolean;
  baseSeq: number;
  lastSeq: number;
  validEnd: number;
  fileSize: number;
  headerZero: boolean;
  failure: { reason: string; offset: number } | undefined;
}

async function scanSegment(fs: FileSystem, path: string, nameSeq: number, maxPayload: number): Promise<Scan> {
  const scan: Scan = { headerOk: false, baseSeq: nameSeq, lastSeq: nameSeq - 1, validEnd: 0, fileSize: 0, headerZero: false, failure: undefined };
  let file;
  try {
    file = await fs.open(path, 'read');
  } catch (err) {
    scan.failure = { reason: `open failed: ${String(err)}`, offset: 0 };
    return scan;
  }
  try {
    scan.fileSize = await file.size();
    const head = new Uint8Array(Math.min(SEGMENT_HEADER_SIZE, scan.fileSize));
    await file.read(head, 0);
    scan.headerZero = head.every((b) => b === 0);
    const h = decodeSegmentHeader(head);
    if (h.type === 'incomplete') {
      scan.failure = { reason: `segment header: expected ${SEGMENT_HEADER_SIZE} bytes, found ${scan.fileSize}`, offset: 0 };
      return scan;
    }
    if (h.type === 'malformed') {
      scan.failure = { reason: h.reason, offset: h.offset };
      return scan;
    }
    if (h.baseSeq !== nameSeq) {
      scan.failure = { reason: `segment base seq: expected ${nameSeq} (file name), found ${h.baseSeq}`, offset: 8 };
      return scan;
    }
    scan.headerOk = true;
    scan.validEnd = SEGMENT_HEADER_SIZE;
    const reader = new SegmentReader(file, maxPayload, SEGMENT_HEADER_SIZE, 1024 * 1024);
    let expected = nameSeq;
    for (;;) {
      const step = await reader.next(scan.fileSize);
      if (step.type === 'end') break;
      if (step.type === 'incomplete') {
        scan.failure = { reason: `torn record: ${scan.fileSize - step.offset} trailing bytes`, offset: step.offset };
        break;
      }
      if (step.type === 'malformed') {
        scan.failure = { reason: step.reason, offset: step.offset };
        break;
      }
      if (step.seq !== expected) {
        scan.failure = { reason: `record seq: expected ${expected}, found ${step.seq}`, offset: step.offset + 4 };
        break;
      }
      scan.lastSeq = step.seq;
      scan.validEnd = step.offset + step.size;
      expected++;
    }
  } catch (err) {
    scan.failure = { reason: `read failed: ${String(err)}`, offset: scan.validEnd };
  } finally {
    await file.close().catch(() => undefined);
  }
  return scan;
}

/** The acked seq, or undefined (reported) when the checkpoint is unreadable. */
async function readCheckpoint(fs: FileSystem, dir: string, emit: (e: BufferEvent) => void): Promise<number | undefined> {
  const path = join(dir, CHECKPOINT_FILE);
  try {
    const file = await fs.open(path, 'read');
    try {
      const size = await file.size();
      const bytes = new Uint8Array(Math.min(size, CHECKPOINT_SIZE));
      await file.read(bytes, 0);
      const d = size === CHECKPOINT_SIZE ? decodeCheckpoint(bytes) : ({ type: 'malformed', reason: `checkpoint: expected ${CHECKPOINT_SIZE} bytes, found ${size}`, offset: 0 } as const);
      if (d.type === 'ok') return d.ackedSeq;
      const reason = d.type === 'malformed' ? d.reason : 'checkpoint: truncated';
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

export async function recover(fs: FileSystem, dir: string, maxPayload: number, emit: (e: BufferEvent) => void): Promise<Recovered> {
  await fs.mkdir(dir);
  const names = await fs.readdir(dir);
  let changed = false;
  if (names.includes(CHECKPOINT_TMP)) {
    await fs.unlink(join(dir, CHECKPOINT_TMP));
    changed = true;
  }
  let ackedSeq = 0;
  if (names.includes(CHECKPOINT_FILE)) {
    const c = await readCheckpoint(fs, dir, emit);
    if (c === undefined) {
      // Set aside once so the report is not repeated on every open; the next ack writes a new one.
      await fs.rename(join(dir, CHECKPOINT_FILE), join(dir, CHECKPOINT_FILE + QUARANTINE_SUFFIX));
      changed = true;
    } else {
      ackedSeq = c;
    }
  }
  const segNames = names
    .map((name) => ({ name, seq: parseSegmentFileName(name) }))
    .filter((s): s is { name: string; seq: number } => s.seq !== undefined)
    .sort((a, b) => a.seq - b.seq);

  const live: LiveSegment[] = [];
  let maxSeq = ackedSeq;
  let quarantined = 0;
  let truncatedBytes = 0;

  const quarantine = async (name: string, reason: string, offset: number): Promise<void> => {
    await fs.rename(join(dir, name), join(dir, name + QUARANTINE_SUFFIX));
    // Durable before anything else changes: which segment is "newest" must not flip if a later
    // unlink reaches the disk and this rename does not.
    await fs.syncDir(dir);
    quarantined++;
    emit({ type: 'quarantine', file: name, reason, offset, during: 'recovery' });
  };

  for (let i = 0; i < segNames.length; i++) {
    const { name, seq } = segNames[i]!;
    const newest = i === segNames.length - 1;
    const path = join(dir, name);
    const s = await scanSegment(fs, path, seq, maxPayload);
    if (s.headerOk) maxSeq = Math.max(maxSeq, s.lastSeq);
    const prevLast = live.length > 0 ? live[live.length - 1]!.lastSeq : 0;
    if (s.headerOk && s.baseSeq <= prevLast) {
      await quarantine(name, `segment base seq ${s.baseSeq} overlaps the previous segment (last seq ${prevLast})`, 8);
      continue;
    }
    if (s.failure !== undefined) {
      if (!newest) {
        await quarantine(name, s.failure.reason, s.failure.offset);
        continue;
      }
      if (!s.headerOk) {
        if (s.fileSize < SEGMENT_HEADER_SIZE || s.headerZero) {
          // A segment whose creation was torn: it never held an acknowledged record.
          await fs.unlink(path);
          changed = true;
          truncatedBytes += s.fileSize;
          emit({ type: 'truncate', file: name, offset: 0, bytes: s.fileSize, reason: s.failure.reason });
        } else {
          await quarantine(name, s.failure.reason, s.failure.offset);
        }
        continue;
      }
      const file = await fs.open(path, 'readwrite');
      try {
        await file.truncate(s.validEnd);
        await file.sync();
      } finally {
        await file.close().catch(() => undefined);
      }
      truncatedBytes += s.fileSize - s.validEnd;
      emit({ type: 'truncate', file: name, offset: s.validEnd, bytes: s.fileSize - s.validEnd, reason: s.failure.reason });
    }
    live.push({ name, baseSeq: s.baseSeq, lastSeq: s.lastSeq, size: s.validEnd });
  }

  const nextSeq = maxSeq + 1;
  const kept: LiveSegment[] = [];
  for (let i = 0; i < live.length; i++) {
    const seg = live[i]!;
    const isLast = i === live.length - 1;
    const empty = seg.lastSeq < seg.baseSeq;
    const keepEmptyTail = empty && isLast && seg.baseSeq === nextSeq;
    if ((seg.lastSeq <= ackedSeq || empty) && !keepEmptyTail) {
      await fs.unlink(join(dir, seg.name));
      changed = true;
    } else {
      kept.push(seg);
    }
  }
  if (changed) await fs.syncDir(dir);
  return { segments: kept, ackedSeq, nextSeq, quarantined, truncatedBytes };
}
