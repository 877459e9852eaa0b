/**
 * DuckDB as the embedded time-series store: a {@link TelemetrySink} and
 * {@link TimeSeriesQueries} over a DuckDB database file (or `:memory:`), which also queries the
 * Parquet lake. `@duckdb/node-api` is an optional peer dependency, imported only when a store is
 * created.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createBatcher } from './batcher.js';
import { replacedOption, reportReplaced } from './dedupe.js';
import { duckDbInsert, duckDbQueries, plain, type DuckDbConnection } from './duckdb-queries.js';
import { PipelineError } from './errors.js';
import { describe, intOption, isPlainObject, optString } from './validate.js';
import type { LakeClock } from './lake.js';
import { checkedExtras } from './schema.js';
import type { LastValue, Replacement, TelemetrySink, TimeSeriesQueries } from './types.js';

type DuckDbModule = typeof import('@duckdb/node-api');

/** Options of {@link createDuckDbStore}. */
export interface DuckDbStoreOptions {
  /** Database file, or `':memory:'` (the default). */
  readonly path?: string;
  /** Points per transaction. Default 10,000. */
  readonly maxRows?: number;
  /**
   * Longest time a point waits before its batch is committed. Default 1,000 ms. As with the
   * lake, this is also the worst-case acknowledgement latency the broker sees (without
   * `groupCommit`).
   */
  readonly maxAgeMs?: number;
  /**
   * Group commit (default true): while no transaction is running, points are committed at the
   * end of the turn that wrote them; points that come during a transaction are committed as soon
   * as it ends (so batches grow with the load, up to `maxRows`), and at most once per
   * `groupCommitIntervalMs`. The store never makes the broker wait out `maxAgeMs` for its
   * acknowledgements; false batches by `maxRows`/`maxAgeMs` only.
   */
  readonly groupCommit?: boolean;
  /**
   * With `groupCommit`: the least time between two group commits (default 100 ms). A DuckDB
   * commit (its transaction's statements) costs 7–13 ms of CPU on DuckDB's threads whatever its
   * size (`bench/duckdb-commit.ts`): committing every turn's points at 5,000 points/s kept
   * ~0.7 of a core busy (88 commits/s, 143 µs per point), one commit per 100 ms costs 27 µs per
   * point. Points written less often than this still commit at once; under load the store
   * commits at most once per interval, so acknowledgements wait at most this much longer. 0:
   * every idle turn commits.
   */
  readonly groupCommitIntervalMs?: number;
  /** Attempts after the first when a batch's transaction fails. Default 2. */
  readonly retries?: number;
  /** Delay before the first retry, doubled for each further one. Default 50 ms. */
  readonly retryDelayMs?: number;
  /**
   * Loads `@duckdb/node-api`; `() => import('@duckdb/node-api')` by default. A seam for tests
   * and bundlers.
   */
  readonly importer?: () => Promise<unknown>;
  /**
   * Called after a commit for every stored value it replaced with a different one (the last
   * writer by arrival order wins; an identical redelivery is not a replacement).
   */
  readonly onReplaced?: (r: Replacement) => void;
  /** Timers for the age bound and the retry delays; the global timers by default. */
  readonly clock?: LakeClock;
  /**
   * DuckDB's worker threads (its `threads` setting). Default: DuckDB's own, one per core. At
   * 5,000 messages/s the store's commits kept DuckDB's threads busy for most of a core beside the
   * pipeline (README, session 7); fewer threads leave the cores to the consumer's event loop and
   * the broker, and make the store's queries slower.
   */
  readonly threads?: number;
}

/**
 * Rows per Hive partition of the lake, from {@link DuckDbStore.lakeSummary}.
 *
 * @example
 * ```ts
 * import type { LakePartition } from '@outpost/pipeline';
 * const label = (p: LakePartition): string => `date=${p.date}/hour=${p.hour}: ${p.rows} rows in ${p.files} files`;
 * ```
 */
export interface LakePartition {
  /** `YYYY-MM-DD`. */
  readonly date: string;
  /** `HH`. */
  readonly hour: string;
  readonly rows: number;
  readonly files: number;
}

/**
 * Counters of a {@link DuckDbStore}.
 *
 * @example
 * ```ts
 * import type { DuckDbStats } from '@outpost/pipeline';
 * const line = (s: DuckDbStats): string => `${s.rows} points in ${s.batches} batches`;
 * ```
 */
export interface DuckDbStats {
  /** Points handed to committed batches (redelivered duplicates included). */
  readonly rows: number;
  readonly batches: number;
  readonly batchesFailed: number;
  readonly pendingRows: number;
  /** Stored values replaced by a later arrival with a different value or extra. */
  readonly replaced: number;
}

/**
 * The embedded DuckDB time-series store.
 *
 * @example
 * ```ts
 * import { createDuckDbStore } from '@outpost/pipeline';
 * import type { DuckDbStore } from '@outpost/pipeline';
 * const db: DuckDbStore = await createDuckDbStore({ path: ':memory:' });
 * await db.close();
 * ```
 */
export interface DuckDbStore extends TelemetrySink, TimeSeriesQueries {
  readonly name: 'duckdb';
  /**
   * Runs any SQL (`$1`, `$2`… placeholders bound from `params`) and returns plain objects:
   * timestamps become epoch ms, BIGINTs numbers where safe. @throws PipelineError `DB_FAILED`.
   */
  query(sql: string, params?: readonly (string | number | boolean | null)[]): Promise<Record<string, unknown>[]>;
  /**
   * Row and file counts per partition of the Parquet lake under `lakeDir/prefix` (default
   * prefix `telemetry`), read with `read_parquet(…, hive_partitioning = true)`; `[]` when the
   * lake has no file yet. Sorted by date, then hour.
   */
  lakeSummary(lakeDir: string, prefix?: string): Promise<LakePartition[]>;
  /**
   * The latest value of each (device, metric) in the Parquet lake under `lakeDir/prefix`, read
   * with the stores' duplicate policy: of the rows the lake holds for one (device, metric, time),
   * the last by arrival (part number, then row in file) wins. Same shape and order as
   * {@link TimeSeriesQueries.lastValues}; `[]` when the lake has no file yet.
   */
  lakeLastValues(lakeDir: string, filter?: { readonly metric?: string; readonly device?: string }, prefix?: string): Promise<LastValue[]>;
  /** Counters since open. */
  stats(): DuckDbStats;
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS telemetry (
  device VARCHAR NOT NULL,
  time TIMESTAMP NOT NULL,
  metric VARCHAR NOT NULL,
  value DOUBLE,
  extra JSON,
  PRIMARY KEY (device, metric, time)
)`;

/** Loads `@duckdb/node-api` and opens the database with its table and staging table. */
async function openDuckDb(importer: () => Promise<unknown>, path: string, threads: number | undefined): Promise<{ conn: DuckDbConnection; closeInstance: () => void }> {
  let mod: DuckDbModule;
  try {
    mod = (await importer()) as DuckDbModule;
    if (typeof mod?.DuckDBInstance?.create !== 'function') throw new Error('the module has no DuckDBInstance.create');
  } catch (err) {
    throw new PipelineError('PEER_MISSING', `duckdb: cannot load @duckdb/node-api (${(err as Error)?.message ?? String(err)}); install @duckdb/node-api`, {
      cause: err,
    });
  }

  try {
    if (path !== ':memory:') await mkdir(dirname(resolve(path)), { recursive: true }); // DuckDB creates the file, not its directory
    const instance = await mod.DuckDBInstance.create(path, threads !== undefined ? { threads: String(threads) } : undefined);
    const conn = await instance.connect();
    await conn.run(SCHEMA);
    await conn.run(`CREATE TEMP TABLE IF NOT EXISTS telemetry_staging (device VARCHAR, time BIGINT, metric VARCHAR, value DOUBLE, extra VARCHAR)`);
    return { conn, closeInstance: () => instance.closeSync() };
  } catch (err) {
    throw new PipelineError('DB_FAILED', `duckdb: opening ${path} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}

/**
 * Opens (or creates) a DuckDB database as the embedded time-series store: table `telemetry`
 * (`device` VARCHAR, `time` TIMESTAMP in UTC, `metric` VARCHAR, `value` DOUBLE, `extra` JSON,
 * primary key `(device, metric, time)`). Writes are batched (up to `maxRows` or `maxAgeMs`),
 * appended to a staging table and moved with `INSERT OR REPLACE` inside one transaction per
 * batch: for one key the last writer by arrival order wins, a replaced value that differs is
 * counted (`replaced`) and reported (`onReplaced`), and a redelivered point never becomes a
 * second row. Every `write` of a batch resolves after its transaction committed, or rejects
 * with `DB_FAILED`.
 *
 * Queries follow the shared {@link TimeSeriesQueries} semantics (buckets aligned to the Unix
 * epoch, half-open ranges), and `lakeSummary` reads the Parquet lake.
 *
 * @returns the open store.
 * @throws (as rejections) TypeError / RangeError for bad options; `PipelineError('PEER_MISSING')`
 * when `@duckdb/node-api` is not installed; `PipelineError('DB_FAILED')` when the database
 * cannot be opened.
 *
 * @example
 * ```ts
 * import { createDuckDbStore } from '@outpost/pipeline';
 * const db = await createDuckDbStore({ maxAgeMs: 0 });
 * const t = Date.UTC(2026, 10, 27, 18);
 * await db.write([
 *   { device: 'pump-1', time: t, metric: 'temp_c', value: 20 },
 *   { device: 'pump-1', time: t + 30_000, metric: 'temp_c', value: 22 },
 * ]);
 * await db.write([{ device: 'pump-1', time: t, metric: 'temp_c', value: 20 }]); // redelivery: ignored
 * await db.write([{ device: 'pump-1', time: t + 30_000, metric: 'temp_c', value: 23 }]); // same key, new value: replaces
 * (await db.query('SELECT count(*) AS n FROM telemetry'))[0]; // { n: 2 }
 * (await db.lastValues())[0]?.value; // 23
 * db.stats().replaced; // 1
 * (await db.downsample({ device: 'pump-1', metric: 'temp_c', from: t, to: t + 60_000, bucketMs: 60_000 }))[0]?.avg; // 21.5
 * await db.close();
 * ```
 */
export async function createDuckDbStore(options: DuckDbStoreOptions = {}): Promise<DuckDbStore> {
  const { path, maxRows, maxAgeMs, retries, retryDelayMs, importer, onReplaced, clock, groupCommit, groupCommitIntervalMs, threads } = duckDbSettings(options);
  const { conn, closeInstance } = await openDuckDb(importer, path, threads);
  const { locked, rows, idle } = serialized(conn);
  let closed = false;

  // Global timers (systemClock) by default, not unref'd: an awaited batch keeps the process alive until it commits.
  const batcher = createBatcher({
    ...(clock !== undefined ? { clock } : {}),
    maxRows,
    maxAgeMs,
    retries,
    retryDelayMs,
    sealWhenIdle: groupCommit,
    sealIntervalMs: groupCommitIntervalMs,
    commit: (batch) => ({
      attempt: () => insert(batch),
      fail: (lastErr) =>
        new PipelineError(
          'DB_FAILED',
          `duckdb: committing a batch of ${batch.points.length} points failed after ${retries + 1} attempts: ${(lastErr as Error)?.message ?? String(lastErr)}`,
          { cause: lastErr },
        ),
    }),
  });

  function checkClosed(what: string): void {
    if (closed) throw new PipelineError('CLOSED', `duckdb: ${what} after close()`);
  }

  const counts = { replaced: 0 };
  const { insert, warm } = duckDbInsert(conn, locked, (found) => reportReplaced('duckdb', found, counts, onReplaced));
  await warm().catch(() => undefined); // an optimisation only: a store that cannot do it fails its first commit instead
  const queries = duckDbQueries(rows, checkClosed);

  return {
    name: 'duckdb',
    async write(points) {
      checkClosed('write');
      if (!Array.isArray(points)) throw new TypeError(`points: expected an array of telemetry points, got ${describe(points)}`);
      const extras = checkedExtras(points);
      await batcher.write(points, extras);
    },
    flush: () => batcher.flush(),
    async close() {
      if (closed) return;
      closed = true;
      const sealed = batcher.seal();
      await batcher.idle();
      await idle();
      try {
        conn.closeSync();
        closeInstance();
      } catch {
        // already closed
      }
      if (sealed !== undefined) await sealed;
    },
    async query(sql, params) {
      checkClosed('query');
      if (typeof sql !== 'string') throw new TypeError(`sql: expected a string, got ${describe(sql)}`);
      checkParams(params);
      return rows(sql, params?.map((p) => (typeof p === 'number' && Number.isInteger(p) ? BigInt(p) : p)));
    },
    ...queries,
    stats: () => ({ ...batcher.stats(), ...counts }),
  };
}

function checkParams(params: unknown): void {
  if (params === undefined) return;
  if (!Array.isArray(params)) throw new TypeError(`params: expected an array, got ${describe(params)}`);
  params.forEach((p: unknown, i) => {
    if (p !== null && typeof p !== 'string' && typeof p !== 'number' && typeof p !== 'boolean') {
      throw new TypeError(`params[${i}]: expected a string, number, boolean or null, got ${describe(p)}`);
    }
  });
}

/** The checked options of a DuckDB store, with their defaults (stated in {@link DuckDbStoreOptions}). */
function duckDbSettings(options: DuckDbStoreOptions) {
  if (!isPlainObject(options)) throw new TypeError(`options: expected an object, got ${describe(options)}`);
  const path = optString('path', options.path) ?? ':memory:';
  if (path.length === 0) throw new RangeError(`path: expected a file path or ':memory:', got ''`);
  const importer = options.importer ?? (() => import('@duckdb/node-api'));
  if (typeof importer !== 'function') throw new TypeError(`importer: expected a function, got ${describe(importer)}`);
  const clock = (options as DuckDbStoreOptions).clock;
  if (clock !== undefined && (typeof clock !== 'object' || (clock as unknown) === null)) throw new TypeError(`clock: expected an object, got ${describe(clock)}`);
  if (options.groupCommit !== undefined && typeof options.groupCommit !== 'boolean') throw new TypeError(`groupCommit: expected a boolean, got ${describe(options.groupCommit)}`);
  return {
    groupCommit: options.groupCommit ?? true,
    groupCommitIntervalMs: intOption('groupCommitIntervalMs', options.groupCommitIntervalMs, 100, 0, 60_000),
    path,
    maxRows: intOption('maxRows', options.maxRows, 10_000, 1, 10_000_000),
    maxAgeMs: intOption('maxAgeMs', options.maxAgeMs, 1_000, 0, 2_147_483_647),
    retries: intOption('retries', options.retries, 2, 0, 100),
    retryDelayMs: intOption('retryDelayMs', options.retryDelayMs, 50, 0, 60_000),
    importer: importer as () => Promise<unknown>,
    onReplaced: replacedOption('onReplaced', options.onReplaced),
    clock,
    threads: options.threads === undefined ? undefined : intOption('threads', options.threads, 1, 1, 1024),
  };
}

/** One connection; every statement sequence runs under one lock so transactions never interleave. */
function serialized(conn: DuckDbConnection) {
  let lock: Promise<unknown> = Promise.resolve();
  function locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = lock.then(fn, fn);
    lock = run.catch(() => undefined);
    return run;
  }
  async function rows(sql: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]> {
    return locked(async () => {
      try {
        const reader = await conn.runAndReadAll(sql, params as never);
        return reader.getRowObjectsJS().map((r) => plain(r) as Record<string, unknown>);
      } catch (err) {
        throw new PipelineError('DB_FAILED', `duckdb: query failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      }
    });
  }
  return { locked, rows, idle: () => lock };
}
