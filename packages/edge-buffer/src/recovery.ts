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
import type { SegmentScan } from './scan.js';
import type { Found, LiveSegment } from './plan.js';
import { BufferError } from './errors.js';
import { decodeCheckpoint, decodeSegmentHeader, parseSegmentFileName, SEGMENT_HEADER_SIZE, segmentFileName } from './codec.js';
import { scanSegment } from './scan.js';
import { planRecovery } from './plan.js';

export type { LiveSegment } from './plan.js';

export const CHECKPOINT_FILE = 'checkpoint';
export const CHECKPOINT_TMP = 'checkpoint.tmp';
export const QUARANTINE_SUFFIX = '.quarantine';
/** A checkpoint larger than this is not read (a forged count never allocates). */
const MAX_CHECKPOINT_BYTES = 4 * 1024 * 1024;

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

/** The checkpoint, or undefined (reported) when it is unreadable. */
export async function readCheckpoint(fs: FileSystem, dir: string, emit: (e: BufferEvent) => void): Promise<CheckpointState | undefined> {
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

/** Every segment file in `names`, trusted from `cp`'s index or scanned (up to `limits`' length, if given). */
export async function findSegments(
  fs: FileSystem,
  dir: string,
  names: string[],
  cp: CheckpointState | undefined,
  maxPayload: number,
  limits?: ReadonlyMap<string, number>,
): Promise<Found[]> {
  const index = new Map<string, IndexEntry>();
  for (const e of cp?.segments ?? []) index.set(segmentFileName(e.baseSeq), e);
  const found: Found[] = [];
  for (const name of names) {
    const nameSeq = parseSegmentFileName(name);
    if (nameSeq === undefined) continue;
    if (limits !== undefined && !limits.has(name)) continue; // not (yet) a segment of the open buffer
    const path = join(dir, name);
    const entry = index.get(name);
    const trusted = entry === undefined ? undefined : await trust(fs, path, entry);
    if (trusted !== undefined) {
      found.push({ name, scan: trusted, trusted: true });
      continue;
    }
    let file;
    try {
      file = await fs.open(path, 'read');
    } catch (err) {
      if (limits !== undefined && (err as { code?: unknown }).code === 'ENOENT') continue; // deleted under an open buffer's verify
      throw err;
    }
    try {
      found.push({ name, scan: await scanSegment(file, nameSeq, maxPayload, limits?.get(name)), trusted: false });
    } finally {
      await file.close().catch(() => undefined);
    }
  }
  // In seq order by content (a renamed or swapped file still sorts by what it holds); on a tie,
  // the file whose name matches its header first.
  const consistent = (f: Found): number => (f.name === segmentFileName(f.scan.baseSeq) ? 0 : 1);
  return found.sort((a, b) => a.scan.baseSeq - b.scan.baseSeq || consistent(a) - consistent(b) || (a.name < b.name ? -1 : 1));
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
  const plan = planRecovery(found, cp);
  let quarantined = 0;
  let truncatedBytes = 0;
  for (const step of plan.steps) {
    if (step.kind === 'quarantine') {
      await fs.rename(join(dir, step.name), join(dir, step.name + QUARANTINE_SUFFIX));
      // Durable before anything else changes: which segment is "newest" must not flip if a later
      // unlink reaches the disk and this rename does not.
      await fs.syncDir(dir);
      quarantined++;
    } else if (step.kind === 'unlink') {
      await fs.unlink(join(dir, step.name));
      changed = true;
      truncatedBytes += step.event.bytes;
    } else if (step.kind === 'truncate' || step.kind === 'trim') {
      const file = await fs.open(join(dir, step.name), 'readwrite');
      try {
        await file.truncate(step.at);
        await file.sync();
      } finally {
        await file.close().catch(() => undefined);
      }
      if (step.kind === 'trim') continue;
      truncatedBytes += step.event.bytes;
    }
    emit(step.event);
  }
  const live = plan.live;
  const nextSeq = plan.nextSeq;
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
  return { segments: kept, ackedSeq, nextSeq, quarantined, truncatedBytes, lostRecords: plan.lostRecords, scanned: found.filter((f) => !f.trusted).length };
}
