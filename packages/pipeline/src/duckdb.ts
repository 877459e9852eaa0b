/**
 * DuckDB as the embedded time-series store: a {@link TelemetrySink} and
 * {@link TimeSeriesQueries} over a DuckDB database file (or `:memory:`), which also queries the
 * Parquet lake. `@duckdb/node-api` is an optional peer dependency, imported only when a store is
 * created.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createBatcher } from './batcher.js';
import type { Batch } from './batcher.js';
import { generations, replacedOption, reportReplaced, type Generation } from './dedupe.js';
import { PipelineError } from './errors.js';
import { describe, intArg, intOption, isPlainObject, optString } from './validate.js';
import { checkTelemetryPoint, type LakeClock } from './lake.js';
import type { Gap, LastValue, Replacement, SeriesBucket, TelemetryPoint, TelemetrySink, TimeSeriesQueries } from './types.js';

type DuckDbModule = typeof import('@duckdb/node-api');
type DuckDbConnection = Awaited<ReturnType<Awaited<ReturnType<DuckDbModule['DuckDBInstance']['create']>>['connect']>>;

function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** DuckDB values → plain JS: timestamps to epoch ms, BIGINTs to numbers when safe. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (v instanceof Date) return v.getTime();
  if (Array.isArray(v)) return v.map(plain);
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = plain(x);
    return out;
  }
  return v;
}

/** Options of {@link createDuckDbStore}. */
export interface DuckDbStoreOptions {
  /** Database file, or `':memory:'` (the default). */
  readonly path?: string;
  /** Points per transaction. Default 10,000. */
  readonly maxRows?: number;
  /**
   * Longest time a point waits before its batch is committed. Default 1,000 ms. As with the
   * lake, this is also the worst-case acknowledgement latency the broker sees.
   */
  readonly maxAgeMs?: number;
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
  if (!isPlainObject(options)) throw new TypeError(`options: expected an object, got ${describe(options)}`);
  const path = optString('path', options.path) ?? ':memory:';
  if (path.length === 0) throw new RangeError(`path: expected a file path or ':memory:', got ''`);
  const maxRows = intOption('maxRows', options.maxRows, 10_000, 1, 10_000_000);
  const maxAgeMs = intOption('maxAgeMs', options.maxAgeMs, 1_000, 0, 2_147_483_647);
  const retries = intOption('retries', options.retries, 2, 0, 100);
  const retryDelayMs = intOption('retryDelayMs', options.retryDelayMs, 50, 0, 60_000);
  const importer = options.importer ?? (() => import('@duckdb/node-api'));
  if (typeof importer !== 'function') throw new TypeError(`importer: expected a function, got ${describe(importer)}`);
  const onReplaced = replacedOption('onReplaced', options.onReplaced);
  const clock = (options as DuckDbStoreOptions).clock;
  if (clock !== undefined && (typeof clock !== 'object' || (clock as unknown) === null)) throw new TypeError(`clock: expected an object, got ${describe(clock)}`);

  let mod: DuckDbModule;
  try {
    mod = (await importer()) as DuckDbModule;
    if (typeof mod?.DuckDBInstance?.create !== 'function') throw new Error('the module has no DuckDBInstance.create');
  } catch (err) {
    throw new PipelineError('PEER_MISSING', `duckdb: cannot load @duckdb/node-api (${(err as Error)?.message ?? String(err)}); install @duckdb/node-api`, {
      cause: err,
    });
  }

  let conn: DuckDbConnection;
  let closeInstance: () => void;
  try {
    if (path !== ':memory:') await mkdir(dirname(resolve(path)), { recursive: true }); // DuckDB creates the file, not its directory
    const instance = await mod.DuckDBInstance.create(path);
    closeInstance = () => instance.closeSync();
    conn = await instance.connect();
    await conn.run(SCHEMA);
    await conn.run(`CREATE TEMP TABLE IF NOT EXISTS telemetry_staging (device VARCHAR, time BIGINT, metric VARCHAR, value DOUBLE, extra VARCHAR)`);
  } catch (err) {
    throw new PipelineError('DB_FAILED', `duckdb: opening ${path} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }

  // One connection; every statement sequence runs under this lock so transactions never interleave.
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

  let closed = false;

  const counts = { replaced: 0 };

  /** One generation (each key once): staged, replaced values read, then upserted. */
  async function upsert(gen: Generation): Promise<Omit<Replacement, 'sink'>[]> {
    await conn.run('DELETE FROM telemetry_staging');
    const app = await conn.createAppender('telemetry_staging', 'main', 'temp');
    try {
      for (let i = 0; i < gen.points.length; i++) {
        const p = gen.points[i] as TelemetryPoint;
        const extra = gen.extras[i] ?? null;
        app.appendVarchar(p.device);
        app.appendBigInt(BigInt(p.time));
        app.appendVarchar(p.metric);
        if (p.value === null) app.appendNull();
        else app.appendDouble(p.value);
        if (extra === null) app.appendNull();
        else app.appendVarchar(extra);
        app.endRow();
        // The appender runs on this thread (~5 µs a row): let the event loop (MQTT, the hot
        // path's alerts) in every 2,000 rows instead of blocking it for a whole batch.
        if (i % 2_000 === 1_999) await new Promise((r) => setImmediate(r));
      }
      app.flushSync();
    } finally {
      app.closeSync();
    }
    // The duplicate policy: the stored values this generation replaces with different ones.
    const reader = await conn.runAndReadAll(
      `SELECT s.device, s.metric, s.time, t.value AS previous, s.value FROM telemetry_staging s
       JOIN telemetry t ON t.device = s.device AND t.metric = s.metric AND t.time = epoch_ms(s.time)
       WHERE t.value IS DISTINCT FROM s.value OR t.extra IS DISTINCT FROM s.extra::JSON`,
    );
    const replaced = reader.getRowObjectsJS().map((r) => plain(r) as unknown as Omit<Replacement, 'sink'>);
    await conn.run(`INSERT OR REPLACE INTO telemetry SELECT device, epoch_ms(time), metric, value, extra::JSON FROM telemetry_staging`);
    await conn.run('DELETE FROM telemetry_staging');
    return replaced;
  }

  async function insert(batch: Batch): Promise<void> {
    const replaced = await locked(async () => {
      await conn.run('BEGIN TRANSACTION');
      try {
        const found: Omit<Replacement, 'sink'>[] = [];
        for (const gen of generations(batch.points, batch.extras)) found.push(...(await upsert(gen)));
        await conn.run('COMMIT');
        return found;
      } catch (err) {
        await conn.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
    reportReplaced('duckdb', replaced, counts, onReplaced);
  }

  // Global timers (systemClock) by default, not unref'd: an awaited batch keeps the process alive until it commits.
  const batcher = createBatcher({
    ...(clock !== undefined ? { clock } : {}),
    maxRows,
    maxAgeMs,
    retries,
    retryDelayMs,
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

  /** The lake's Parquet glob, or undefined when it has no file yet. */
  async function lakeGlob(lakeDir: unknown, prefix: unknown): Promise<string | undefined> {
    if (typeof lakeDir !== 'string') throw new TypeError(`lakeDir: expected a directory path string, got ${describe(lakeDir)}`);
    if (typeof prefix !== 'string') throw new TypeError(`prefix: expected a string, got ${describe(prefix)}`);
    if (lakeDir.length === 0) throw new RangeError(`lakeDir: expected a non-empty path, got ''`);
    const any = await readdir(`${lakeDir}/${prefix}`, { recursive: true }).then(
      (names) => names.some((n) => n.endsWith('.parquet')),
      () => false,
    );
    return any ? `${lakeDir.replace(/\/+$/, '')}/${prefix}/**/*.parquet` : undefined;
  }

  function checkClosed(what: string): void {
    if (closed) throw new PipelineError('CLOSED', `duckdb: ${what} after close()`);
  }

  function checkFilter(name: string, v: unknown): void {
    if (!isPlainObject(v)) throw new TypeError(`${name}: expected an object, got ${describe(v)}`);
  }

  return {
    name: 'duckdb',
    async write(points) {
      checkClosed('write');
      if (!Array.isArray(points)) throw new TypeError(`points: expected an array of telemetry points, got ${describe(points)}`);
      const extras = points.map((p: unknown, i) => checkTelemetryPoint(p, `points[${i}]`));
      await batcher.write(points, extras);
    },
    flush: () => batcher.flush(),
    async close() {
      if (closed) return;
      closed = true;
      const sealed = batcher.seal();
      await batcher.idle();
      await lock;
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
      if (params !== undefined) {
        if (!Array.isArray(params)) throw new TypeError(`params: expected an array, got ${describe(params)}`);
        params.forEach((p: unknown, i) => {
          if (p !== null && typeof p !== 'string' && typeof p !== 'number' && typeof p !== 'boolean') {
            throw new TypeError(`params[${i}]: expected a string, number, boolean or null, got ${describe(p)}`);
          }
        });
      }
      return rows(sql, params?.map((p) => (typeof p === 'number' && Number.isInteger(p) ? BigInt(p) : p)));
    },
    async lastValues(filter = {}) {
      checkClosed('lastValues');
      checkFilter('filter', filter);
      const metric = optString('filter.metric', filter.metric);
      const device = optString('filter.device', filter.device);
      const found = await rows(
        `SELECT device, metric, epoch_ms(time) AS time, value FROM telemetry
         WHERE ($1::VARCHAR IS NULL OR metric = $1::VARCHAR) AND ($2::VARCHAR IS NULL OR device = $2::VARCHAR)
         QUALIFY row_number() OVER (PARTITION BY device, metric ORDER BY time DESC) = 1
         ORDER BY device, metric`,
        [metric ?? null, device ?? null],
      );
      return found as unknown as LastValue[];
    },
    async downsample(q) {
      checkClosed('downsample');
      checkFilter('q', q);
      const device = optString('q.device', q.device);
      const metric = optString('q.metric', q.metric);
      if (device === undefined) throw new TypeError('q.device: expected a string, got undefined');
      if (metric === undefined) throw new TypeError('q.metric: expected a string, got undefined');
      const from = intArg('q.from', q.from, 0);
      const to = intArg('q.to', q.to, 0);
      const bucketMs = intArg('q.bucketMs', q.bucketMs, 1);
      if (to < from) throw new RangeError(`q.to: expected an epoch ms >= q.from (${from}), got ${to}`);
      // Integer arithmetic on epoch ms: buckets aligned to the Unix epoch for any width
      // (DuckDB's time_bucket aligns to 2000-01-03 by default).
      const found = await rows(
        `SELECT (epoch_ms(time) // $4) * $4 AS bucket, count(*) AS count, min(value) AS min, max(value) AS max, avg(value) AS avg
         FROM telemetry
         WHERE device = $1 AND metric = $2 AND time >= epoch_ms($3::BIGINT) AND time < epoch_ms($5::BIGINT)
         GROUP BY bucket ORDER BY bucket`,
        [device, metric, BigInt(from), BigInt(bucketMs), BigInt(to)],
      );
      return found as unknown as SeriesBucket[];
    },
    async gaps(q) {
      checkClosed('gaps');
      checkFilter('q', q);
      const from = intArg('q.from', q.from, 0);
      const to = intArg('q.to', q.to, 0);
      const minGapMs = intArg('q.minGapMs', q.minGapMs, 0);
      const device = optString('q.device', q.device);
      if (to < from) throw new RangeError(`q.to: expected an epoch ms >= q.from (${from}), got ${to}`);
      const found = await rows(
        `SELECT device, prev AS "from", t AS "to", t - prev AS "durationMs" FROM (
           SELECT device, epoch_ms(time) AS t, lag(epoch_ms(time)) OVER (PARTITION BY device ORDER BY time) AS prev
           FROM telemetry
           WHERE time >= epoch_ms($1::BIGINT) AND time < epoch_ms($2::BIGINT) AND ($4::VARCHAR IS NULL OR device = $4::VARCHAR)
         ) WHERE prev IS NOT NULL AND t - prev > $3::BIGINT
         ORDER BY device, "from"`,
        [BigInt(from), BigInt(to), BigInt(minGapMs), device ?? null],
      );
      return found as unknown as Gap[];
    },
    async lakeSummary(lakeDir, prefix = 'telemetry') {
      checkClosed('lakeSummary');
      const glob = await lakeGlob(lakeDir, prefix);
      if (glob === undefined) return [];
      const found = await rows(
        `SELECT CAST("date" AS VARCHAR) AS date, CAST(hour AS VARCHAR) AS hour, count(*) AS rows, count(DISTINCT filename) AS files
         FROM read_parquet(${sqlString(glob)}, hive_partitioning = true, hive_types_autocast = false, filename = true)
         GROUP BY ALL ORDER BY date, hour`,
      );
      return found as unknown as LakePartition[];
    },
    async lakeLastValues(lakeDir, filter = {}, prefix = 'telemetry') {
      checkClosed('lakeLastValues');
      const glob = await lakeGlob(lakeDir, prefix);
      checkFilter('filter', filter);
      const metric = optString('filter.metric', filter.metric);
      const device = optString('filter.device', filter.device);
      if (glob === undefined) return [];
      // Arrival order in the lake: part files are numbered in commit order per partition, rows
      // keep write order in a file. A key's rows share a partition (it is derived from time).
      const found = await rows(
        `SELECT device, metric, time, value FROM (
           SELECT device, metric, epoch_ms(time) AS time, value,
                  row_number() OVER (PARTITION BY device, metric, time
                    ORDER BY CAST(regexp_extract(filename, 'part-([0-9]+)[.]parquet$', 1) AS BIGINT) DESC, file_row_number DESC) AS arrival
           FROM read_parquet(${sqlString(glob)}, hive_partitioning = true, hive_types_autocast = false, filename = true, file_row_number = true)
           WHERE ($1::VARCHAR IS NULL OR metric = $1::VARCHAR) AND ($2::VARCHAR IS NULL OR device = $2::VARCHAR))
         WHERE arrival = 1
         QUALIFY row_number() OVER (PARTITION BY device, metric ORDER BY time DESC) = 1
         ORDER BY device, metric`,
        [metric ?? null, device ?? null],
      );
      return found as unknown as LastValue[];
    },
    stats: () => ({ ...batcher.stats(), ...counts }),
  };
}
