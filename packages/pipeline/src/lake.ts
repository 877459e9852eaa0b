/**
 * The cold path: telemetry batches written as Parquet files in a Hive-style layout
 * (`<prefix>/date=YYYY-MM-DD/hour=HH/part-N.parquet`, partitioned by event time in UTC), each
 * file made visible atomically. Any engine that reads Parquet with Hive partitioning (DuckDB,
 * Spark, Athena, Polars) queries the lake directly.
 */
import { createBatcher, systemClock } from './batcher.js';
import type { Batch, BatchCommit } from './batcher.js';
import { PipelineError } from './errors.js';
import { checkedExtras } from './schema.js';
import { describe, intOption, isPlainObject } from './validate.js';
import { inlineEncoder, workerEncoder, type ParquetEncoder } from './parquet-encoder.js';
import { localLakeStore, type LakeStore } from './lake-store.js';
import type { TelemetryPoint, TelemetrySink } from './types.js';

function checkPoints(where: string, points: unknown): asserts points is readonly TelemetryPoint[] {
  if (!Array.isArray(points)) throw new TypeError(`${where}: expected an array of telemetry points, got ${describe(points)}`);
}

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
  const o = lakeSettings(options);
  const { store, prefix, encoder } = o;
  if (store.cleanup !== undefined) {
    try {
      await store.cleanup(`${prefix}/`);
    } catch (err) {
      throw new PipelineError('LAKE_IO', `lake: removing stale temp files under ${prefix}/ failed: ${(err as Error).message}`, { cause: err });
    }
  }
  encoder.warm(); // the first commit does not wait for the worker to start (seconds on a loaded machine)
  const stats = { files: 0, bytes: 0 }; // the rest is counted by the batcher
  const putPart = partPutter(store, prefix);
  let closed = false;
  const batcher = createBatcher({
    maxRows: o.maxRows,
    maxBytes: o.maxBytes,
    size: (p, extra) => 2 * (p.device.length + p.metric.length + (extra?.length ?? 0)) + 16,
    maxAgeMs: o.maxAgeMs,
    retries: o.retries,
    retryDelayMs: o.retryDelayMs,
    clock: o.clock,
    commit: (batch) => lakeCommit(batch, o, putPart, stats),
  });

  return {
    name: 'lake',
    async write(points) {
      if (closed) throw new PipelineError('CLOSED', 'lake: write after close()');
      checkPoints('points', points);
      const extras = checkedExtras(points); // all checked before any is buffered
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

/** The checked options of a lake, with their defaults (stated in {@link LakeOptions}). */
interface LakeSettings {
  readonly store: LakeStore;
  readonly prefix: string;
  readonly maxRows: number;
  readonly maxBytes: number;
  readonly maxAgeMs: number;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly clock: LakeClock;
  readonly encoder: ParquetEncoder;
}

function checkStoreOrDir(options: LakeOptions): void {
  const { dir, store } = options;
  if (store !== undefined) {
    if (typeof store !== 'object' || store === null) throw new TypeError(`store: expected a LakeStore object, got ${describe(store)}`);
    for (const m of ['put', 'list'] as const) {
      if (typeof store[m] !== 'function') throw new TypeError(`store.${m}: expected a function, got ${describe(store[m])}`);
    }
  } else if (typeof dir !== 'string') {
    throw new TypeError(`dir: expected a directory path string (or a store), got ${describe(dir)}`);
  } else if (dir.length === 0) {
    throw new RangeError(`dir: expected a non-empty path, got ''`);
  }
}

function lakeSettings(options: LakeOptions): LakeSettings {
  if (!isPlainObject(options as unknown)) throw new TypeError(`options: expected an object, got ${describe(options)}`);
  checkStoreOrDir(options);
  const prefix = options.prefix ?? 'telemetry';
  if (typeof prefix !== 'string') throw new TypeError(`prefix: expected a string, got ${describe(prefix)}`);
  if (!/^[A-Za-z0-9_.=-]+(\/[A-Za-z0-9_.=-]+)*$/.test(prefix) || prefix.split('/').some((s) => s === '.' || s === '..')) {
    throw new RangeError(`prefix: expected path segments of [A-Za-z0-9_.=-] separated by '/', got '${prefix}'`);
  }
  const clock = options.clock ?? defaultClock;
  if (options.encoder !== undefined && typeof options.encoder !== 'string') throw new TypeError(`encoder: expected 'worker' or 'inline', got ${describe(options.encoder)}`);
  if (options.encoder !== undefined && options.encoder !== 'worker' && options.encoder !== 'inline') throw new RangeError(`encoder: expected 'worker' or 'inline', got '${String(options.encoder)}'`);
  if (typeof clock !== 'object' || clock === null || typeof clock.setTimeout !== 'function' || typeof clock.clearTimeout !== 'function') {
    throw new TypeError(`clock: expected an object with setTimeout and clearTimeout functions, got ${describe(clock)}`);
  }
  return {
    store: options.store ?? localLakeStore(options.dir as string),
    prefix,
    maxRows: intOption('maxRows', options.maxRows, 50_000, 1, 10_000_000),
    maxBytes: intOption('maxBytes', options.maxBytes, 16 << 20, 1),
    maxAgeMs: intOption('maxAgeMs', options.maxAgeMs, 5_000, 0, 2_147_483_647),
    retries: intOption('retries', options.retries, 2, 0, 100),
    retryDelayMs: intOption('retryDelayMs', options.retryDelayMs, 100, 0, 60_000),
    clock,
    encoder: options.encoder === 'inline' ? inlineEncoder() : workerEncoder(),
  };
}

/** Puts a file under the first free part number of its partition (listing once, then counting on); returns its key. */
function partPutter(store: LakeStore, prefix: string): (partition: string, bytes: Uint8Array) => Promise<string> {
  const nextPart = new Map<string, number>(); // partition → next part number to try
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
  return async (partition, bytes) => {
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
  };
}

/** A batch's commit: one file per partition, kept across attempts; all taken back if it fails for good. */
function lakeCommit(batch: Batch, o: LakeSettings, putPart: (partition: string, bytes: Uint8Array) => Promise<string>, stats: { files: number; bytes: number }): BatchCommit {
  const { encoder, store, prefix, retries } = o;
  // Points grouped by the hour they fall in (one Date per hour, not per point), then by partition.
  const byHour = new Map<number, number[]>();
  for (let i = 0; i < batch.points.length; i++) {
    const hour = Math.floor((batch.points[i] as TelemetryPoint).time / 3_600_000);
    let g = byHour.get(hour);
    if (g === undefined) byHour.set(hour, (g = []));
    g.push(i);
  }
  const groups = new Map<string, number[]>();
  for (const [hour, idx] of byHour) {
    const part = partitionOf(hour * 3_600_000);
    const g = groups.get(part);
    if (g === undefined) groups.set(part, idx);
    else for (const i of idx) g.push(i);
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
