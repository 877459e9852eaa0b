/**
 * The cold path: telemetry batches written as Parquet files in a Hive-style layout
 * (`<prefix>/date=YYYY-MM-DD/hour=HH/part-N.parquet`, partitioned by event time in UTC), each
 * file made visible atomically. Any engine that reads Parquet with Hive partitioning (DuckDB,
 * Spark, Athena, Polars) queries the lake directly.
 */
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createBatcher, systemClock } from './batcher.js';
import type { Batch, BatchCommit } from './batcher.js';
import { PipelineError } from './errors.js';
import { checkTelemetryPoint } from './schema.js';
import { describe, intOption, isPlainObject } from './validate.js';
import { inlineEncoder, workerEncoder } from './parquet-encoder.js';
import type { TelemetryPoint, TelemetrySink } from './types.js';

// ---------------------------------------------------------------------------------------------
// Argument checks: TypeError for a wrong type, RangeError for a bad value; messages name the
// field, what was expected and what was found.

function checkPoints(where: string, points: unknown): asserts points is readonly TelemetryPoint[] {
  if (!Array.isArray(points)) throw new TypeError(`${where}: expected an array of telemetry points, got ${describe(points)}`);
}

// ---------------------------------------------------------------------------------------------
// The object-store seam.

/**
 * Where finished Parquet files go: the local file system by default ({@link localLakeStore}),
 * or an object store through an adapter of yours.
 *
 * Keys are `/`-separated paths relative to the lake root, such as
 * `telemetry/date=2026-11-27/hour=18/part-3.parquet`.
 *
 * **An S3-compatible adapter** (AWS S3, MinIO, Ceph RGW, R2) implements it in a few lines with
 * the SDK of your choice; no staging is needed because an S3 PUT is atomic per object (readers
 * see the whole object or nothing):
 * - `put`: `PutObject { Bucket, Key: prefix + key, Body: bytes, IfNoneMatch: '*' }`. The
 *   conditional header makes the put no-replace (S3 answers `412 Precondition Failed` when the key
 *   exists); translate that into an error whose `code` is `'EEXIST'` so the lake tries the next
 *   part number. Resolve only after the PUT returned 200 (the object is then durable).
 * - `list`: `ListObjectsV2 { Prefix }`, following `ContinuationToken`, returning the keys that
 *   end in `.parquet`.
 * - `remove` (optional): `DeleteObject`. `cleanup` is not needed (there are no temp objects;
 *   abort incomplete multipart uploads with a bucket lifecycle rule if you use them).
 *
 * @example
 * ```ts
 * import type { LakeStore } from '@outpost/pipeline';
 * const objects = new Map<string, Uint8Array>();
 * const memoryStore: LakeStore = {
 *   async put(key, bytes) {
 *     if (objects.has(key)) throw Object.assign(new Error(`${key} exists`), { code: 'EEXIST' });
 *     objects.set(key, bytes);
 *   },
 *   async list(prefix) { return [...objects.keys()].filter((k) => k.startsWith(prefix)); },
 * };
 * ```
 */
export interface LakeStore {
  /**
   * Stores `bytes` under `key` atomically and durably, never replacing an existing object:
   * when `key` exists, rejects with an error whose `code` is `'EEXIST'`. Resolves when the
   * object is durable and visible in full; a failed put leaves nothing visible under `key`.
   */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** Keys of the `.parquet` objects under `prefix` (a `/`-terminated key prefix). */
  list(prefix: string): Promise<string[]>;
  /** Removes an object; used to roll back the other files of a batch whose commit failed. */
  remove?(key: string): Promise<void>;
  /** Removes leftovers of interrupted puts under `prefix`; returns how many were removed. */
  cleanup?(prefix: string): Promise<number>;
}

/**
 * The file-system calls {@link localLakeStore} makes: `node:fs/promises` by default, or a
 * wrapper that injects failures (ENOSPC, EIO) in tests.
 *
 * @example
 * ```ts
 * import type { LakeFs } from '@outpost/pipeline';
 * // A disk that is full when a file is linked into place (pass it as localLakeStore(dir, { fs })).
 * const diskFull = (fs: LakeFs): LakeFs => ({
 *   ...fs,
 *   link: async () => { throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }); },
 * });
 * ```
 */
export type LakeFs = Pick<typeof fsp, 'mkdir' | 'open' | 'link' | 'unlink' | 'readdir' | 'stat'>;

/** Options of {@link localLakeStore}. */
export interface LocalLakeStoreOptions {
  /** File-system layer; `node:fs/promises` by default. */
  readonly fs?: LakeFs;
  /**
   * Temp files of another host (or of a live process that cannot be probed) older than this are
   * removed by `cleanup`; temp files of dead processes on this host always are. Default 1 hour.
   */
  readonly staleTempMs?: number;
}

const TEMP_SUFFIX = '.tmp';

function tempName(): string {
  return `.inflight_${encodeURIComponent(hostname())}_${process.pid}_${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The default {@link LakeStore}: files under `root` on the local file system.
 *
 * A put writes the bytes to a temp file in the destination directory (`.inflight_…tmp`, which
 * no `*.parquet` glob matches; same directory, so same file system), fsyncs it, links it to the
 * final name (`link()` fails with EEXIST instead of replacing, so two processes writing the same
 * lake never overwrite each other's parts), unlinks the temp name and fsyncs the directory (and
 * the parents of directories it created). A crash at any point leaves either no file or a
 * complete one under the final name, plus at most a temp file that `cleanup` removes.
 *
 * @example
 * ```ts
 * import { localLakeStore } from '@outpost/pipeline';
 * import { mkdtempSync, rmSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * // What `createLake({ dir })` uses (e.g. dir = /var/lib/outpost/lake).
 * const dir = mkdtempSync(join(tmpdir(), 'lake-'));
 * const store = localLakeStore(dir, { staleTempMs: 600_000 });
 * await store.put('telemetry/date=2026-11-27/hour=18/part-0.parquet', new Uint8Array([1, 2, 3]));
 * await store.list('telemetry/'); // ['telemetry/date=2026-11-27/hour=18/part-0.parquet']
 * await store.put('telemetry/date=2026-11-27/hour=18/part-0.parquet', new Uint8Array([4])).catch((e: { code?: string }) => e.code); // 'EEXIST'
 * rmSync(dir, { recursive: true });
 * ```
 */
export function localLakeStore(root: string, options: LocalLakeStoreOptions = {}): LakeStore {
  if (typeof root !== 'string') throw new TypeError(`root: expected a directory path string, got ${describe(root)}`);
  if (root.length === 0) throw new RangeError(`root: expected a non-empty path, got ''`);
  if (!isPlainObject(options as unknown)) throw new TypeError(`options: expected an object, got ${describe(options)}`);
  const fs: LakeFs = options.fs ?? fsp;
  const staleTempMs = intOption('staleTempMs', options.staleTempMs, 3_600_000, 0);
  const host = encodeURIComponent(hostname());
  const pathOf = (key: string): string => join(root, ...key.split('/'));

  async function fsyncDir(dir: string): Promise<void> {
    const h = await fs.open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  }

  async function walk(dir: string, out: string[], want: (name: string) => boolean): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p, out, want);
      else if (e.isFile() && want(e.name)) out.push(p);
    }
  }

  const keyOf = (path: string): string => path.slice(root.length).split(sep).filter((s) => s !== '').join('/');

  return {
    async put(key, bytes) {
      const final = pathOf(key);
      const dir = dirname(final);
      const created = await fs.mkdir(dir, { recursive: true });
      const temp = join(dir, tempName());
      let linked = false;
      try {
        const h = await fs.open(temp, 'wx', 0o644);
        try {
          let off = 0;
          while (off < bytes.length) {
            const { bytesWritten } = await h.write(bytes, off, bytes.length - off);
            off += bytesWritten;
          }
          await h.sync();
        } finally {
          await h.close();
        }
        await fs.link(temp, final); // EEXIST instead of replacing: no-replace commit
        linked = true;
      } finally {
        await fs.unlink(temp).catch(() => undefined);
      }
      if (!linked) return;
      try {
        await fsyncDir(dir);
        if (created !== undefined) {
          // New partition directories: their entries in the parents must be durable too.
          for (let d = dir; d.length >= created.length; d = dirname(d)) await fsyncDir(dirname(d));
        }
      } catch (err) {
        // Not durable: take the file back so a retry under another number cannot duplicate it.
        await fs.unlink(final).catch(() => undefined);
        throw err;
      }
    },
    async list(prefix) {
      const out: string[] = [];
      await walk(pathOf(prefix), out, (n) => n.endsWith('.parquet'));
      return out.map(keyOf).sort();
    },
    async remove(key) {
      const final = pathOf(key);
      await fs.unlink(final);
      await fsyncDir(dirname(final));
    },
    async cleanup(prefix) {
      const temps: string[] = [];
      await walk(pathOf(prefix), temps, (n) => n.startsWith('.inflight_') && n.endsWith(TEMP_SUFFIX));
      let removed = 0;
      for (const t of temps) {
        const parts = t.slice(dirname(t).length + 1, -TEMP_SUFFIX.length).split('_');
        const pid = Number(parts[parts.length - 2]);
        const tHost = parts.slice(1, -2).join('_');
        let stale = tHost === host && Number.isInteger(pid) && (pid === process.pid || !pidAlive(pid));
        if (!stale) {
          const st = await fs.stat(t).catch(() => undefined);
          stale = st !== undefined && Date.now() - st.mtimeMs > staleTempMs;
        }
        if (stale) {
          await fs.unlink(t).catch(() => undefined);
          removed++;
        }
      }
      return removed;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The lake sink.

/**
 * Timers the lake uses for the age bound; `globalThis` timers by default, a fake in tests.
 *
 * @example
 * ```ts
 * import type { LakeClock } from '@outpost/pipeline';
 * const clock: LakeClock = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };
 * ```
 */
export interface LakeClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Options of {@link createLake}. */
export interface LakeOptions {
  /** Lake root directory (used by the default {@link localLakeStore}; ignored when `store` is given). */
  readonly dir?: string;
  /** Where finished files go; `localLakeStore(dir)` by default. */
  readonly store?: LakeStore;
  /** Key prefix of the dataset. Default `telemetry`. */
  readonly prefix?: string;
  /** Rows per batch (and at most per file). Default 50,000. */
  readonly maxRows?: number;
  /** Estimated in-memory bytes per batch (strings, JSON, 16 bytes per number). Default 16 MiB. */
  readonly maxBytes?: number;
  /**
   * Longest time a point waits in the buffer before its batch is committed. Default 5,000 ms.
   * The pipeline acknowledges MQTT messages only once the batch holding them is durable, so
   * this bound is also the worst-case **acknowledgement latency** the broker sees: keep it well
   * below the broker's redelivery timeout and the in-flight window (`receiveMaximum`) of the
   * consumer, or the broker stops sending while the batch waits.
   */
  readonly maxAgeMs?: number;
  /** Attempts after the first when a commit fails. Default 2. */
  readonly retries?: number;
  /** Delay before the first retry, doubled for each further one. Default 100 ms. */
  readonly retryDelayMs?: number;
  /** Timers for the age bound and retries. */
  readonly clock?: LakeClock;
  /**
   * Where Parquet encoding runs: `worker` (default), a worker thread, so a large batch never
   * blocks the event loop (and with it the hot path's alerts) for tens of milliseconds; or
   * `inline`, on the calling thread.
   */
  readonly encoder?: 'worker' | 'inline';
}

/**
 * Counters of a {@link Lake}.
 *
 * @example
 * ```ts
 * import type { LakeStats } from '@outpost/pipeline';
 * const line = (s: LakeStats): string => `${s.rows} rows in ${s.files} files, ${s.batchesFailed} failed batches`;
 * ```
 */
export interface LakeStats {
  /** Rows in committed files. */
  readonly rows: number;
  /** Files committed. */
  readonly files: number;
  /** Parquet bytes committed. */
  readonly bytes: number;
  /** Batches committed. */
  readonly batches: number;
  /** Batches that failed for good (their writes rejected with `LAKE_IO`). */
  readonly batchesFailed: number;
  /** Points buffered or being committed. */
  readonly pendingRows: number;
}

/**
 * The Parquet lake, a {@link TelemetrySink}.
 *
 * @example
 * ```ts
 * import { createLake } from '@outpost/pipeline';
 * import type { Lake } from '@outpost/pipeline';
 * const lake: Lake = await createLake({ dir: '/var/lib/outpost/lake' });
 * lake.stats().pendingRows; // 0
 * await lake.close();
 * ```
 */
export interface Lake extends TelemetrySink {
  readonly name: 'lake';
  /** Counters since open. */
  stats(): LakeStats;
}

function twoDigits(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Hive partition path of an event time: `date=YYYY-MM-DD/hour=HH`. */
function partitionOf(time: number): string {
  const d = new Date(time);
  const y = d.getUTCFullYear();
  return `date=${String(y).padStart(4, '0')}-${twoDigits(d.getUTCMonth() + 1)}-${twoDigits(d.getUTCDate())}/hour=${twoDigits(d.getUTCHours())}`;
}

function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code as string | undefined : undefined;
}

// The age timer is not unref'd (systemClock): a batch that someone awaits keeps the process
// alive until it commits (at most maxAgeMs), instead of the process exiting with the points
// still in memory.
const defaultClock: LakeClock = systemClock;

/**
 * Opens the Parquet lake: a {@link TelemetrySink} that buffers points, and commits them as one
 * Parquet file per Hive partition touched (`<prefix>/date=YYYY-MM-DD/hour=HH/part-N.parquet`, by
 * event time in UTC) when the batch reaches `maxRows`, `maxBytes` or `maxAgeMs`, on `flush()`
 * and on `close()`. Every `write` of a batch resolves when all of the batch's files are durable,
 * or rejects with `PipelineError('LAKE_IO')` if the commit failed after its retries; the files
 * of a failed batch are removed (when the store can), so nothing of it stays visible.
 *
 * Columns: `device` STRING, `time` TIMESTAMP (ms, UTC), `metric` STRING, `value` DOUBLE
 * (nullable), `extra` STRING (JSON text, nullable). Part numbers continue after the highest one
 * already in a partition and skip numbers another writer took, so restarts and several
 * processes writing the same lake never overwrite a file. Delivery is at least once: a point
 * redelivered after a crash may appear in two files (deduplicate on `(device, metric, time)`
 * when reading, or load into a store with that unique key).
 *
 * On open, leftover temp files of crashed writers under the prefix are removed.
 *
 * @param options `dir` (or `store`) and the roll-over bounds.
 * @returns the open lake.
 * @throws TypeError / RangeError for bad options (as a rejection); `PipelineError('LAKE_IO')`
 * when the clean-up on open fails.
 *
 * @example
 * ```ts
 * import { createLake } from '@outpost/pipeline';
 * // `dir: '/var/lib/outpost/lake'` writes local files; an in-memory store keeps this example self-contained.
 * const objects = new Map<string, Uint8Array>();
 * const store = {
 *   put: async (key: string, bytes: Uint8Array) => void objects.set(key, bytes),
 *   list: async (prefix: string) => [...objects.keys()].filter((k) => k.startsWith(prefix)),
 * };
 * const lake = await createLake({ store, maxAgeMs: 1_000 });
 * await lake.write([
 *   { device: 'pump-1', time: Date.UTC(2026, 10, 27, 18), metric: 'temp_c', value: 21.5 },
 *   { device: 'pump-1', time: Date.UTC(2026, 10, 27, 19), metric: 'state', value: null, extra: { state: 'idle' } },
 * ]); // resolves within maxAgeMs, when both files are durable
 * lake.stats().files; // 2
 * [...objects.keys()]; // ['telemetry/date=2026-11-27/hour=18/part-0.parquet', 'telemetry/date=2026-11-27/hour=19/part-0.parquet']
 * await lake.close();
 * ```
 */
export async function createLake(options: LakeOptions): Promise<Lake> {
  if (!isPlainObject(options as unknown)) throw new TypeError(`options: expected an object, got ${describe(options)}`);
  const { dir, store: givenStore } = options;
  if (givenStore !== undefined) {
    if (typeof givenStore !== 'object' || givenStore === null) throw new TypeError(`store: expected a LakeStore object, got ${describe(givenStore)}`);
    for (const m of ['put', 'list'] as const) {
      if (typeof givenStore[m] !== 'function') throw new TypeError(`store.${m}: expected a function, got ${describe(givenStore[m])}`);
    }
  } else if (typeof dir !== 'string') {
    throw new TypeError(`dir: expected a directory path string (or a store), got ${describe(dir)}`);
  } else if (dir.length === 0) {
    throw new RangeError(`dir: expected a non-empty path, got ''`);
  }
  const prefix = options.prefix ?? 'telemetry';
  if (typeof prefix !== 'string') throw new TypeError(`prefix: expected a string, got ${describe(prefix)}`);
  if (!/^[A-Za-z0-9_.=-]+(\/[A-Za-z0-9_.=-]+)*$/.test(prefix) || prefix.split('/').some((s) => s === '.' || s === '..')) {
    throw new RangeError(`prefix: expected path segments of [A-Za-z0-9_.=-] separated by '/', got '${prefix}'`);
  }
  const maxRows = intOption('maxRows', options.maxRows, 50_000, 1, 10_000_000);
  const maxBytes = intOption('maxBytes', options.maxBytes, 16 << 20, 1);
  const maxAgeMs = intOption('maxAgeMs', options.maxAgeMs, 5_000, 0, 2_147_483_647);
  const retries = intOption('retries', options.retries, 2, 0, 100);
  const retryDelayMs = intOption('retryDelayMs', options.retryDelayMs, 100, 0, 60_000);
  const clock = options.clock ?? defaultClock;
  if (options.encoder !== undefined && typeof options.encoder !== 'string') throw new TypeError(`encoder: expected 'worker' or 'inline', got ${describe(options.encoder)}`);
  if (options.encoder !== undefined && options.encoder !== 'worker' && options.encoder !== 'inline') throw new RangeError(`encoder: expected 'worker' or 'inline', got '${String(options.encoder)}'`);
  const encoder = options.encoder === 'inline' ? inlineEncoder() : workerEncoder();
  if (typeof clock !== 'object' || clock === null || typeof clock.setTimeout !== 'function' || typeof clock.clearTimeout !== 'function') {
    throw new TypeError(`clock: expected an object with setTimeout and clearTimeout functions, got ${describe(clock)}`);
  }
  const store: LakeStore = givenStore ?? localLakeStore(dir as string);

  if (store.cleanup !== undefined) {
    try {
      await store.cleanup(`${prefix}/`);
    } catch (err) {
      throw new PipelineError('LAKE_IO', `lake: removing stale temp files under ${prefix}/ failed: ${(err as Error).message}`, { cause: err });
    }
  }

  const stats = { files: 0, bytes: 0 }; // the rest is counted by the batcher
  const nextPart = new Map<string, number>(); // partition → next part number to try
  let closed = false;

  async function partNumber(partition: string): Promise<number> {
    let n = nextPart.get(partition);
    if (n === undefined) {
      n = 0;
      for (const key of await store.list(`${prefix}/${partition}/`)) {
        const m = /\/part-(\d+)\.parquet$/.exec(key);
        if (m !== null) n = Math.max(n, Number(m[1]) + 1);
      }
    }
    return n;
  }

  /** Puts one file under the first free part number of its partition; returns its key. */
  async function putPart(partition: string, bytes: Uint8Array): Promise<string> {
    for (let attempt = 0; attempt < 1_000; attempt++) {
      const n = await partNumber(partition);
      const key = `${prefix}/${partition}/part-${n}.parquet`;
      nextPart.set(partition, n + 1);
      try {
        await store.put(key, bytes);
        return key;
      } catch (err) {
        if (errCode(err) !== 'EEXIST') throw err;
        if (attempt % 16 === 15) nextPart.delete(partition); // many taken: list again
      }
    }
    throw new Error(`no free part number in ${prefix}/${partition}/ after 1000 attempts`);
  }

  /** A batch's commit: one file per partition, kept across attempts; all taken back if it fails for good. */
  function commit(batch: Batch): BatchCommit {
    const groups = new Map<string, number[]>();
    for (let i = 0; i < batch.points.length; i++) {
      const part = partitionOf((batch.points[i] as TelemetryPoint).time);
      let g = groups.get(part);
      if (g === undefined) groups.set(part, (g = []));
      g.push(i);
    }
    const done: string[] = [];
    let bytesDone = 0;
    const pending = new Map<string, Uint8Array>();
    return {
      async attempt() {
        for (const [part, idx] of groups) {
          if (done.some((k) => k.startsWith(`${prefix}/${part}/`))) continue;
          let bytes = pending.get(part);
          if (bytes === undefined) {
            bytes = await encoder.encode(idx.map((i) => batch.points[i] as TelemetryPoint), idx.map((i) => batch.extras[i] ?? null));
            pending.set(part, bytes);
          }
          done.push(await putPart(part, bytes));
          bytesDone += bytes.length;
        }
        stats.files += done.length;
        stats.bytes += bytesDone;
      },
      async fail(lastErr) {
        // Failed for good: take back the files this batch did put, so none of it stays visible.
        try {
          if (store.remove !== undefined) {
            for (const key of done) await store.remove(key).catch(() => undefined);
          }
        } catch (err) {
          // A store whose remove throws instead of rejecting.
          return new PipelineError('LAKE_IO', `lake: commit failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
        }
        return new PipelineError(
          'LAKE_IO',
          `lake: committing a batch of ${batch.points.length} points failed after ${retries + 1} attempts: ${(lastErr as Error)?.message ?? String(lastErr)}`,
          { cause: lastErr },
        );
      },
    };
  }

  const batcher = createBatcher({
    maxRows,
    maxBytes,
    size: (p, extra) => 2 * (p.device.length + p.metric.length + (extra?.length ?? 0)) + 16,
    maxAgeMs,
    retries,
    retryDelayMs,
    clock,
    commit,
  });

  return {
    name: 'lake',
    async write(points) {
      if (closed) throw new PipelineError('CLOSED', 'lake: write after close()');
      checkPoints('points', points);
      const extras = points.map((p, i) => checkTelemetryPoint(p, `points[${i}]`)); // all checked before any is buffered
      await batcher.write(points, extras);
    },
    flush: () => batcher.flush(),
    async close() {
      if (closed) return batcher.idle();
      closed = true;
      const sealed = batcher.seal();
      try {
        await batcher.idle();
        if (sealed !== undefined) await sealed;
      } finally {
        await encoder.close();
      }
    },
    stats: () => {
      const { rows, batches, batchesFailed, pendingRows } = batcher.stats();
      return { rows, files: stats.files, bytes: stats.bytes, batches, batchesFailed, pendingRows };
    },
  };
}
