import type { FileSystem } from './fs.js';
import type { BufferEvent } from './events.js';
import { nodeFileSystem } from './fs.js';
import { RECORD_HEADER_SIZE, SEGMENT_HEADER_SIZE } from './codec.js';

/**
 * When `append` resolves, and what a crash can take away:
 * - `'fsync'` (default): each record is written and `fdatasync`ed on its own; `append` resolves
 *   only after that. A new segment's directory entry is synced before its first append resolves.
 * - `'batch'`: group commit. Appends queued while a sync is in flight are written with one
 *   `write` and share one `fdatasync`; each `append` still resolves only after its sync.
 * - `'none'`: `append` resolves once the OS has the bytes (page cache). A power cut may lose
 *   the unsynced tail; a process crash does not. Segments are synced when sealed and on `close`.
 *
 * @example
 * ```ts
 * import type { Durability } from '@outpost/edge-buffer';
 * const durability: Durability = process.env['LOW_WEAR'] === '1' ? 'batch' : 'fsync';
 * ```
 */
export type Durability = 'fsync' | 'batch' | 'none';

/**
 * What `append` does when the buffer is full: refuse (`BUFFER_FULL`) or drop the oldest segment.
 *
 * @example
 * ```ts
 * import type { OverflowPolicy } from '@outpost/edge-buffer';
 * const overflow: OverflowPolicy = 'drop-oldest'; // telemetry: the newest data matters most
 * ```
 */
export type OverflowPolicy = 'reject' | 'drop-oldest';

/**
 * Options of {@link openBuffer}.
 *
 * @example
 * ```ts
 * import type { BufferOptions } from '@outpost/edge-buffer';
 * const options: BufferOptions = { dir: '/var/lib/app/telemetry', maxBytes: 64 * 1024 * 1024, overflow: 'drop-oldest', durability: 'batch' };
 * ```
 */
export interface BufferOptions {
  /** Directory holding segments and the checkpoint; created if missing. One open buffer per directory. */
  dir: string;
  /** Bound on the bytes of segments that still hold an unacknowledged record (headers included). */
  maxBytes: number;
  /** Bound on unacknowledged records. Default: no bound besides `maxBytes`. */
  maxRecords?: number;
  /** Default `'reject'`. */
  overflow?: OverflowPolicy;
  /** Default `'fsync'`. */
  durability?: Durability;
  /** Segment file size at which a new segment starts. Default `min(16 MiB, max(4 KiB, maxBytes / 8))`. */
  segmentBytes?: number;
  /** Largest payload accepted. Default `min(1 MiB, segmentBytes - 40)`. */
  maxRecordBytes?: number;
  /** Largest single write in `'batch'`/`'none'` mode. Default 4 MiB. */
  maxBatchBytes?: number;
  /**
   * Payloads of at least this many bytes are written from the caller's buffer by a vectored
   * write (`FileHandle.writev`, [frame header, payload]) instead of being copied into the write
   * arena — when the writer is idle, so the bytes reach the file inside the `append()` call;
   * otherwise they are copied before `append()` returns. Default 8192 (8 KiB).
   */
  directWriteBytes?: number;
  /**
   * Segment preallocation (`'fsync'`/`'batch'` mode), as PostgreSQL does for WAL segments: while
   * a segment fills, the next one is written full of zeros (`segmentBytes`), fdatasynced and kept
   * as `segment.prep` in the background, then renamed into place at rotation, so a durable append
   * overwrites allocated blocks and its sync need not commit a size change through the file
   * system's journal. Costs a second write of every byte (the zeros, off the append path) and up
   * to `segmentBytes` of extra disk. Default `true`.
   */
  preallocate?: boolean;
  /**
   * `'batch'` mode: when concurrent appenders were seen and fewer appends are queued than the last
   * group held, wait up to this many milliseconds for more before writing (PostgreSQL's
   * `commit_delay`). Each append's latency grows by at most this much. Default 0 (0..1000).
   */
  commitDelayMs?: number;
  /** Timer for `commitDelayMs`. Default `setTimeout`-based; tests inject their own. */
  delay?: (ms: number) => Promise<void>;
  /** File-system layer. Default {@link nodeFileSystem}. */
  fs?: FileSystem;
  /** Receives every event, including those raised while recovering inside `openBuffer`. */
  onEvent?: (event: BufferEvent) => void;
}

export interface ResolvedOptions {
  dir: string;
  maxBytes: number;
  maxRecords: number;
  overflow: OverflowPolicy;
  durability: Durability;
  segmentBytes: number;
  maxRecordBytes: number;
  maxBatchBytes: number;
  directWriteBytes: number;
  preallocate: boolean;
  commitDelayMs: number;
  delay: (ms: number) => Promise<void>;
  fs: FileSystem;
  onEvent: ((event: BufferEvent) => void) | undefined;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return `number ${v}`;
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return typeof v;
}

export { describe as describeValue };

function positiveInt(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number') throw new TypeError(`openBuffer: ${name}: expected a number, found ${describe(v)}`);
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new RangeError(`openBuffer: ${name}: expected an integer in ${min}..${max}, found ${v}`);
  }
  return v;
}

function oneOf<T extends string>(name: string, v: unknown, allowed: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (typeof v !== 'string') throw new TypeError(`openBuffer: ${name}: expected a string, found ${describe(v)}`);
  if (!(allowed as readonly string[]).includes(v)) {
    throw new RangeError(`openBuffer: ${name}: expected one of ${allowed.map((a) => `'${a}'`).join(', ')}, found '${v}'`);
  }
  return v as T;
}

const OVERHEAD = SEGMENT_HEADER_SIZE + RECORD_HEADER_SIZE;
const defaultDelay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const MIB = 1024 * 1024;

export function resolveOptions(options: unknown): ResolvedOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`openBuffer: options: expected an object, found ${describe(options)}`);
  }
  const o = options as Record<string, unknown>;
  if (typeof o['dir'] !== 'string') throw new TypeError(`openBuffer: dir: expected a string, found ${describe(o['dir'])}`);
  if (o['dir'] === '') throw new RangeError('openBuffer: dir: expected a non-empty path, found ""');
  const maxBytes = positiveInt('maxBytes', o['maxBytes'], 4096);
  const maxRecords = o['maxRecords'] === undefined ? Number.MAX_SAFE_INTEGER : positiveInt('maxRecords', o['maxRecords'], 1);
  const overflow = oneOf<OverflowPolicy>('overflow', o['overflow'], ['reject', 'drop-oldest'], 'reject');
  const durability = oneOf<Durability>('durability', o['durability'], ['fsync', 'batch', 'none'], 'fsync');
  const segmentBytes =
    o['segmentBytes'] === undefined
      ? Math.min(16 * MIB, Math.max(4096, Math.floor(maxBytes / 8)))
      : positiveInt('segmentBytes', o['segmentBytes'], OVERHEAD + 1, Math.min(maxBytes, 0x7fff_ffff));
  if (segmentBytes > maxBytes) throw new RangeError(`openBuffer: segmentBytes: expected at most maxBytes (${maxBytes}), found ${segmentBytes}`);
  const maxRecordBytes =
    o['maxRecordBytes'] === undefined
      ? Math.min(MIB, segmentBytes - OVERHEAD)
      : positiveInt('maxRecordBytes', o['maxRecordBytes'], 1, segmentBytes - OVERHEAD);
  const maxBatchBytes = o['maxBatchBytes'] === undefined ? 4 * MIB : positiveInt('maxBatchBytes', o['maxBatchBytes'], 1);
  const directWriteBytes = o['directWriteBytes'] === undefined ? 8192 : positiveInt('directWriteBytes', o['directWriteBytes'], 1);
  const preallocate = o['preallocate'] ?? true;
  if (typeof preallocate !== 'boolean') throw new TypeError(`openBuffer: preallocate: expected a boolean, found ${describe(preallocate)}`);
  const commitDelayMs = o['commitDelayMs'] === undefined ? 0 : positiveInt('commitDelayMs', o['commitDelayMs'], 0, 1000);
  const delay = o['delay'] ?? defaultDelay;
  if (typeof delay !== 'function') throw new TypeError(`openBuffer: delay: expected a function, found ${describe(delay)}`);
  let fs: FileSystem;
  if (o['fs'] === undefined) fs = nodeFileSystem();
  else if (typeof o['fs'] === 'object' && o['fs'] !== null) fs = o['fs'] as FileSystem;
  else throw new TypeError(`openBuffer: fs: expected a FileSystem object, found ${describe(o['fs'])}`);
  const onEvent = o['onEvent'];
  if (onEvent !== undefined && typeof onEvent !== 'function') {
    throw new TypeError(`openBuffer: onEvent: expected a function, found ${describe(onEvent)}`);
  }
  return {
    dir: o['dir'],
    maxBytes,
    maxRecords,
    overflow,
    durability,
    segmentBytes,
    maxRecordBytes,
    maxBatchBytes,
    directWriteBytes,
    preallocate,
    commitDelayMs,
    delay: delay as (ms: number) => Promise<void>,
    fs,
    onEvent: onEvent as ((event: BufferEvent) => void) | undefined,
  };
}
