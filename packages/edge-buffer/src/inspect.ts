// Read-only inspection of a buffer directory: what recovery would find and do, without doing it.
// Used by `EdgeBuffer.verify()` and by `outpost buffer inspect|verify|export`.

import { join } from 'node:path';
import type { FileSystem } from './fs.js';
import type { BufferEvent } from './events.js';
import type { CheckpointState } from './codec.js';
import { nodeFileSystem } from './fs.js';
import { planRecovery } from './plan.js';
import { CHECKPOINT_FILE, findSegments, QUARANTINE_SUFFIX, readCheckpoint } from './recovery.js';
import { describeValue } from './options.js';

/**
 * What {@link inspectBuffer} and `EdgeBuffer.verify()` report about a buffer directory.
 *
 * @example
 * ```ts
 * import type { BufferReport } from '@outpost/edge-buffer';
 * const healthy = (r: BufferReport): boolean => r.damage.length === 0 && r.lost.length === 0;
 * ```
 */
export interface BufferReport {
  dir: string;
  /** Every segment was CRC-checked (`verify`), or only those the seal does not cover. */
  verified: boolean;
  /** The checkpoint as read; `error` when it is unreadable; undefined when there is none. */
  checkpoint: { ackedSeq: number; highSeq: number; indexed: number } | { error: string } | undefined;
  /** Segment files in seq order, with the records each holds. */
  segments: Array<{ file: string; baseSeq: number; lastSeq: number; records: number; bytes: number; checked: boolean }>;
  /** Unacknowledged records that can be read. */
  records: number;
  /** Damaged byte ranges (skipped, never delivered), with the reason. */
  damage: Array<{ file: string; offset: number; bytes: number; reason: string }>;
  /** Unacknowledged seq ranges that cannot be recovered, with the reason. */
  lost: Array<{ firstSeq: number; lastSeq: number; count: number; reason: string }>;
  /** What the next open would change: files set aside, a torn tail cut, a torn creation removed. */
  repairs: Array<{ action: 'quarantine' | 'truncate' | 'remove'; file: string; offset: number; reason: string }>;
  /** Files set aside earlier (`*.quarantine`), with their size. */
  quarantine: Array<{ file: string; bytes: number }>;
}

/**
 * Options of {@link inspectBuffer}.
 *
 * @example
 * ```ts
 * import type { InspectOptions } from '@outpost/edge-buffer';
 * const options: InspectOptions = { dir: '/var/lib/app/telemetry', verify: true };
 * ```
 */
export interface InspectOptions {
  dir: string;
  /** CRC-check every segment, including those the seal covers. Default false. */
  verify?: boolean;
  /** File-system layer. Default {@link nodeFileSystem}. */
  fs?: FileSystem;
  /** Largest payload a valid frame may claim. Default 64 MiB. */
  maxRecordBytes?: number;
}

/** Internal: an open buffer limits each segment to its known-good length (appends may be in flight). */
export interface InspectLimits {
  limits?: ReadonlyMap<string, number>;
}

function checkOptions(options: unknown): Required<Omit<InspectOptions, 'fs'>> & { fs: FileSystem } {
  if (typeof options !== 'object' || options === null) throw new TypeError(`inspectBuffer: options: expected an object, found ${describeValue(options)}`);
  const o = options as Record<string, unknown>;
  if (typeof o['dir'] !== 'string') throw new TypeError(`inspectBuffer: dir: expected a string, found ${describeValue(o['dir'])}`);
  if (o['dir'] === '') throw new RangeError('inspectBuffer: dir: expected a non-empty path, found ""');
  if (o['verify'] !== undefined && typeof o['verify'] !== 'boolean') throw new TypeError(`inspectBuffer: verify: expected a boolean, found ${describeValue(o['verify'])}`);
  const max = o['maxRecordBytes'] ?? 64 * 1024 * 1024;
  if (typeof max !== 'number') throw new TypeError(`inspectBuffer: maxRecordBytes: expected a number, found ${describeValue(max)}`);
  if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`inspectBuffer: maxRecordBytes: expected a positive integer, found ${max}`);
  return { dir: o['dir'], verify: o['verify'] === true, fs: (o['fs'] as FileSystem | undefined) ?? nodeFileSystem(), maxRecordBytes: max };
}

/**
 * Reports what a buffer directory holds — segments, checkpoint, damage, lost ranges, files set
 * aside — and what the next open would repair, without changing anything.
 *
 * @throws TypeError / RangeError for bad options; the file-system error when the directory cannot be read.
 * @example
 * ```ts
 * import { inspectBuffer, openBuffer } from '@outpost/edge-buffer';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const dir = mkdtempSync(join(tmpdir(), 'eb-'));
 * const buf = await openBuffer({ dir, maxBytes: 1 << 20 });
 * await buf.append(new Uint8Array([1, 2, 3]));
 * await buf.close();
 * const report = await inspectBuffer({ dir, verify: true });
 * if (report.records !== 1 || report.damage.length !== 0 || report.lost.length !== 0) throw new Error('unexpected report');
 * ```
 */
export async function inspectBuffer(options: InspectOptions & InspectLimits): Promise<BufferReport> {
  const o = checkOptions(options);
  const { fs, dir } = o;
  const names = (await fs.readdir(dir)).sort();
  const errors: string[] = [];
  const collect = (e: BufferEvent): void => {
    if (e.type === 'error') errors.push(e.error.message);
  };
  let cp: CheckpointState | undefined;
  if (names.includes(CHECKPOINT_FILE)) cp = await readCheckpoint(fs, dir, collect);
  const found = await findSegments(fs, dir, names, o.verify ? undefined : cp, o.maxRecordBytes, options.limits);
  const plan = planRecovery(found, cp);
  const report: BufferReport = {
    dir,
    verified: o.verify,
    checkpoint: cp !== undefined ? { ackedSeq: cp.ackedSeq, highSeq: cp.highSeq, indexed: cp.segments.length } : errors.length > 0 ? { error: errors[0]! } : undefined,
    segments: found.map((f) => ({ file: f.name, baseSeq: f.scan.baseSeq, lastSeq: f.scan.lastSeq, records: f.scan.count, bytes: f.scan.fileSize, checked: !f.trusted })),
    records: plan.records,
    damage: [],
    lost: [],
    repairs: [],
    quarantine: [],
  };
  for (const step of plan.steps) {
    if (step.kind === 'trim') {
      report.repairs.push({ action: 'truncate', file: step.name, offset: step.at, reason: 'unwritten preallocated space (zeros) after the last record' });
      continue;
    }
    const e = step.event;
    if (e.type === 'damage') report.damage.push({ file: e.file, offset: e.offset, bytes: e.bytes, reason: e.reason });
    else if (e.type === 'lost') report.lost.push({ firstSeq: e.firstSeq, lastSeq: e.lastSeq, count: e.count, reason: e.reason });
    else if (step.kind === 'quarantine') report.repairs.push({ action: 'quarantine', file: step.name, offset: e.offset, reason: e.reason });
    else if (step.kind === 'truncate') report.repairs.push({ action: 'truncate', file: step.name, offset: step.at, reason: e.reason });
    else if (step.kind === 'unlink') report.repairs.push({ action: 'remove', file: step.name, offset: 0, reason: e.reason });
  }
  for (const name of names) {
    if (!name.endsWith(QUARANTINE_SUFFIX)) continue;
    const file = await fs.open(join(dir, name), 'read');
    try {
      report.quarantine.push({ file: name, bytes: await file.size() });
    } finally {
      await file.close().catch(() => undefined);
    }
  }
  return report;
}
