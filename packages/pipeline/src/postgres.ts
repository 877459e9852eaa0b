/**
 * Time-series storage in PostgreSQL: a {@link TelemetrySink} that batches points on the shared
 * batcher and ingests them with COPY (or multi-row INSERTs) into a table that is a TimescaleDB
 * hypertable when the extension is there and a natively range-partitioned table otherwise, plus
 * the {@link TimeSeriesQueries} over it. The parts: postgres-rows.ts (row text, errors),
 * postgres-schema.ts (table, index, partitions), postgres-commit.ts (one batch's transaction),
 * postgres-queries.ts (the queries).
 */
import pg from 'pg';
import { createBatcher, systemClock, type Batch, type BatchCommit, type Pending } from './batcher.js';
import { generations, replacedOption, reportReplaced } from './dedupe.js';
import { PipelineError } from './errors.js';
import type { LakeClock } from './lake.js';
import { columnArrays, commitGenerations, insertNew, type ColumnArrays, type CommitTarget } from './postgres-commit.js';
import { postgresQueries } from './postgres-queries.js';
import { DAY_MS, enumOption, isoTime, isTransient, optionalString, quoteIdent, sqlstate, withRetry, type RetryPolicy, type Row } from './postgres-rows.js';
import { checkedExtras } from './schema.js';
import { createSchema, type SchemaInfo } from './postgres-schema.js';
import type { Replacement, TelemetryPoint, TelemetrySink, TimeSeriesQueries } from './types.js';
import { describe, intOption } from './validate.js';

export { PG_MAX_TIME, PG_MIN_TIME } from './postgres-rows.js';

/** Options of {@link createPostgresSink}. */
export interface PostgresSinkOptions {
  /** `postgres://user@host:port/db`; the sink then owns (and ends) its own `pg.Pool`. */
  readonly connectionString?: string;
  /** An existing pool instead of `connectionString`; `close()` leaves it open. */
  readonly pool?: pg.Pool;
  /** Table name, a plain identifier (`[A-Za-z_][A-Za-z0-9_]*`, at most 40 characters). Default `telemetry`. */
  readonly table?: string;
  /** A batch is committed once it holds this many rows (a larger write spans several batches). Default 5,000. */
  readonly batchRows?: number;
  /**
   * A non-empty batch is committed at the latest this long after its first write. This is also
   * the acknowledgement latency the pipeline sees under light load, since `write` resolves only
   * after COMMIT. Default 1,000 ms.
   */
  readonly maxDelayMs?: number;
  /**
   * How the transaction's path (a batch with a key stored already or twice) loads its staging table:
   * `copy` (COPY) or `insert` (multi-row parameterised INSERTs). Default `copy`. A batch of new keys
   * needs neither: it is one `INSERT … SELECT FROM unnest(…)` statement.
   */
  readonly method?: 'copy' | 'insert';
  /**
   * `auto` (default): a hypertable when the `timescaledb` extension is installed, or available and
   * creatable; native partitioning otherwise. `require`: fail with `DB_FAILED` without TimescaleDB.
   * `off`: native partitioning even where TimescaleDB exists.
   */
  readonly timescale?: 'auto' | 'require' | 'off';
  /** Chunk (hypertable) or partition (native) width in ms, at least one minute; partitions align to the Unix epoch. Default one day. */
  readonly chunkIntervalMs?: number;
  /**
   * Retries of transient failures (connection refused or reset, server shutdown, serialization
   * failure, deadlock), for batches (on the shared batcher) and for schema work and queries.
   */
  readonly retry?: {
    /** Attempts in all, first included. Default 8. */
    readonly attempts?: number;
    /** First backoff, doubled per attempt. Default 100 ms. */
    readonly baseDelayMs?: number;
    /** Backoff ceiling. Default 5,000 ms. */
    readonly maxDelayMs?: number;
  };
  /**
   * Called after a commit for every stored value it replaced with a different one (the last
   * writer by arrival order wins; an identical redelivery is not a replacement).
   */
  readonly onReplaced?: (r: Replacement) => void;
  /** Timers for the age bound and the retry delays; the global timers by default. */
  readonly clock?: LakeClock;
  /** Sink name in stats and errors. Default `postgres`. */
  readonly name?: string;
}

/** What {@link PostgresSink.ensureSchema} found or created. */
export type PostgresSchemaInfo = SchemaInfo;

/** Counters of a {@link PostgresSink}. */
export interface PostgresSinkStats {
  /** Rows inserted (the INSERT's row count over committed batches). */
  readonly rowsWritten: number;
  /** Rows not written because (device, metric, time) was already stored with the same value and extra: redeliveries. */
  readonly rowsSkipped: number;
  /** Stored values replaced by a later arrival with a different value or extra. */
  readonly replaced: number;
  /** Batches committed. */
  readonly batches: number;
  /** Batches that failed for good (their writes rejected). */
  readonly failedBatches: number;
  /** Transient failures retried. */
  readonly retries: number;
  /** Points buffered or being committed. */
  readonly pendingRows: number;
  /** Native partitions created by this sink. */
  readonly partitionsCreated: number;
}

/** The PostgreSQL telemetry sink and query helpers returned by {@link createPostgresSink}. */
export interface PostgresSink extends TelemetrySink, TimeSeriesQueries {
  /**
   * Creates the table, its unique key and index, and the extension/hypertable when chosen; safe
   * to call again and concurrently from several processes. Called by the first write.
   */
  ensureSchema(): Promise<PostgresSchemaInfo>;
  /** Counters since creation. */
  stats(): PostgresSinkStats;
}

function retryPolicy(options: PostgresSinkOptions, clock: LakeClock, onRetry: () => void): RetryPolicy {
  const retry = options.retry ?? {};
  if (typeof retry !== 'object' || retry === null) throw new TypeError(`options.retry: expected an object, got ${describe(retry)}`);
  return {
    attempts: intOption('options.retry.attempts', retry.attempts, 8, 1, 100),
    baseDelayMs: intOption('options.retry.baseDelayMs', retry.baseDelayMs, 100, 0, 60_000),
    maxDelayMs: intOption('options.retry.maxDelayMs', retry.maxDelayMs, 5_000, 0, 600_000),
    clock,
    onRetry,
  };
}

function ownPool(options: PostgresSinkOptions): { pool: pg.Pool; external: boolean } {
  const connectionString = optionalString('options.connectionString', options.connectionString);
  const external = options.pool;
  if (external !== undefined && !(external instanceof pg.Pool)) throw new TypeError(`options.pool: expected a pg.Pool, got ${describe(external)}`);
  if ((connectionString === null) === (external === undefined)) {
    throw new TypeError('options: expected exactly one of connectionString or pool');
  }
  if (external !== undefined) return { pool: external, external: true };
  const pool = new pg.Pool({ connectionString: connectionString as string, max: 4, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000 });
  // An idle client whose server went away emits 'error' on the pool; unhandled, that would
  // crash the process. The next batch then gets a fresh connection (or retries).
  pool.on('error', () => {});
  return { pool, external: false };
}

/** The error every write of a batch that failed for good rejects with. */
function failure(name: string, attempts: number, err: unknown): PipelineError {
  if (err instanceof PipelineError) return err;
  const code = sqlstate(err);
  const dataError = code.startsWith('22') || code.startsWith('23'); // SQLSTATE classes 22 (data) and 23 (constraint)
  const why = isTransient(err) ? `still failing after ${attempts} attempts` : dataError ? 'data rejected' : 'failed';
  // A data error can never succeed on retry: SINK_REJECTED (dead letter), not a held outage.
  return new PipelineError(dataError ? 'SINK_REJECTED' : 'SINK_FAILED', `${name}: batch ${why}: ${(err as Error)?.message ?? String(err)}${code === '' ? '' : ` (SQLSTATE ${code})`}`, { cause: err });
}

/** The table and batching options, checked. */
function parseOptions(options: PostgresSinkOptions) {
  if (typeof options !== 'object' || options === null) throw new TypeError(`options: expected an object, got ${describe(options)}`);
  const tableName = optionalString('options.table', options.table) ?? 'telemetry';
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,39}$/.test(tableName)) {
    throw new RangeError(`options.table: expected an identifier [A-Za-z_][A-Za-z0-9_]* of at most 40 characters, got '${tableName}'`);
  }
  const clock = options.clock;
  if (clock !== undefined && (typeof clock !== 'object' || (clock as unknown) === null)) throw new TypeError(`options.clock: expected an object, got ${describe(clock)}`);
  return {
    tableName,
    batchRows: intOption('options.batchRows', options.batchRows, 5_000, 1),
    maxDelayMs: intOption('options.maxDelayMs', options.maxDelayMs, 1_000, 0, 2_147_483_647),
    method: enumOption('options.method', options.method, ['copy', 'insert'], 'copy'),
    timescale: enumOption('options.timescale', options.timescale, ['auto', 'require', 'off'], 'auto'),
    chunkIntervalMs: intOption('options.chunkIntervalMs', options.chunkIntervalMs, DAY_MS, 60_000),
    name: optionalString('options.name', options.name) ?? 'postgres',
    onReplaced: replacedOption('options.onReplaced', options.onReplaced),
    clock,
  };
}

const toRowOf = (p: TelemetryPoint, extra: string | null): Row => ({ device: p.device, metric: p.metric, time: isoTime(p.time), ms: p.time, value: p.value, extra });

/**
 * Creates a PostgreSQL telemetry sink with query helpers. Points are batched on the shared
 * batcher (by `batchRows` and `maxDelayMs`, batches committed one at a time in arrival order)
 * and each batch is committed in one transaction: COPY into a temporary staging table, then
 * `INSERT … SELECT … ON CONFLICT (device, metric, time) DO UPDATE` into the table. The duplicate
 * policy of every store: for one key the last writer by arrival order wins, a replaced value
 * that differs is counted (`replaced`) and reported (`onReplaced`), and an identical
 * redelivery changes nothing (`rowsSkipped`). `write` resolves after COMMIT; transient failures
 * are retried with a doubling delay; a batch that still fails rejects its writes with
 * `SINK_FAILED` (the database error as `cause`), which the pipeline treats as transient. A point the database could not store
 * (wrong type, time outside years 0001–9999, a non-finite value, NUL in a string) rejects its
 * own write with TypeError/RangeError before it can spoil a batch.
 *
 * Schema (column names shared with the DuckDB and Parquet sinks): `device text`, `time
 * timestamptz`, `metric text`, `value double precision`, `extra jsonb`, with a unique index on
 * (device, metric, time DESC) that is both the redelivery key and the last-value index.
 *
 * @throws TypeError / RangeError for bad options.
 * @example
 * ```ts
 * // Writing needs a PostgreSQL server (the sink's tests start one); creating the sink does not connect.
 * import { createPostgresSink } from '@outpost/pipeline';
 * const sink = createPostgresSink({ connectionString: 'postgres://postgres@127.0.0.1:1/postgres', table: 'fleet' });
 * sink.name; // 'postgres'
 * sink.stats().rowsWritten; // 0
 * await sink.close();
 * ```
 */
export function createPostgresSink(options: PostgresSinkOptions): PostgresSink {
  const { tableName, batchRows, maxDelayMs, method, timescale, chunkIntervalMs, name, onReplaced, clock } = parseOptions(options);
  const stats = { rowsWritten: 0, rowsSkipped: 0, replaced: 0, retries: 0, partitionsCreated: 0 };
  const retry = retryPolicy(options, clock ?? systemClock, () => stats.retries++);
  const { pool, external } = ownPool(options);
  const table = quoteIdent(tableName);
  const target: CommitTarget = { table, stage: quoteIdent(`outpost_stage_${tableName}`), method, staged: new WeakSet() };
  const schema = createSchema({ pool, tableName, timescale, chunkIntervalMs, name, retry, onPartitionCreated: () => stats.partitionsCreated++ });
  let closed = false;
  let closing: Promise<void> | undefined;

  const batcher = createBatcher({
    maxRows: batchRows,
    maxAgeMs: maxDelayMs,
    retries: retry.attempts - 1,
    retryDelayMs: retry.baseDelayMs,
    maxRetryDelayMs: retry.maxDelayMs,
    // Transient errors, and once a dropped partition (23514) that the next attempt creates again.
    retryable: (err) => isTransient(err) || (sqlstate(err) === '23514' && schema.kind() === 'partitioned'),
    ...(clock !== undefined ? { clock } : {}),
    // The next batch's statements run while this one's COMMIT (its fsync) is on its way.
    maxPending: 2,
    commit: (batch): BatchCommit => {
      // Made when the batch is sealed, so the rows are ready while the batch before commits.
      const prepared = prepareBatch(batch);
      let attempts = 0;
      return {
        attempt: () => {
          if (attempts++ > 0) stats.retries++;
          return pgAttempt({ pool, target, schema, name, stats, onReplaced }, batch, prepared);
        },
        fail: (err) => failure(name, retry.attempts, err),
      };
    },
  });

  async function query<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<R[]> {
    if (closed) throw new PipelineError('CLOSED', `${name}: query after close()`);
    await schema.ensure();
    try {
      return (await withRetry(() => pool.query<R>(sql, params), retry)).rows;
    } catch (err) {
      throw new PipelineError('DB_FAILED', `${name}: query failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
  }
  const queries = postgresQueries({ table, query, ensureSchema: () => schema.ensure() });

  return {
    name,
    async write(points) {
      if (closed) throw new PipelineError('CLOSED', `${name}: write after close()`);
      if (!Array.isArray(points)) throw new TypeError(`points: expected an array of TelemetryPoint, got ${describe(points)}`);
      const extras = checkedExtras(points);
      await batcher.write(points, extras);
    },
    flush: () => batcher.flush(),
    close() {
      if (closing !== undefined) return closing;
      closed = true;
      closing = (async () => {
        try {
          await batcher.flush();
        } finally {
          await batcher.idle();
          if (!external) await pool.end();
        }
      })();
      return closing;
    },
    ensureSchema: () => schema.ensure(),
    stats: () => {
      const b = batcher.stats();
      return { ...stats, batches: b.batches, failedBatches: b.batchesFailed, pendingRows: b.pendingRows };
    },
    ...queries,
  };
}

/** A batch's column arrays, made when it is sealed (see `insertNew`). */
interface Prepared {
  readonly columns: ColumnArrays;
}

function prepareBatch(batch: Batch): Prepared {
  return { columns: columnArrays(batch.points, batch.extras) };
}

/** One attempt of a batch: resolves when the statements ran, with the COMMIT pending (see commitGenerations). */
async function pgAttempt(
  c: { pool: pg.Pool; target: CommitTarget; schema: ReturnType<typeof createSchema>; name: string; stats: { rowsWritten: number; rowsSkipped: number; replaced: number }; onReplaced: Parameters<typeof reportReplaced>[3] },
  batch: Batch,
  { columns }: Prepared,
): Promise<Pending> {
  const { schema } = c;
  await schema.ensure();
  await schema.ensurePartitions(batch.points);
  let pending;
  try {
    // Almost every batch: all of its keys new and distinct, inserted by one statement. Otherwise
    // (a key stored already, or twice in the batch) the transaction applies the generations, the
    // last arrival winning, each replacement reported; the rows inserted here are identical there.
    const fresh = await insertNew(c.pool, c.target, columns);
    if (fresh === batch.points.length) pending = { durable: Promise.resolve({ inserted: fresh, replaced: [] }) };
    else {
      const gens = generations(batch.points, batch.extras).map((g) => g.points.map((p, i) => toRowOf(p, g.extras[i] ?? null)));
      pending = await commitGenerations(c.pool, c.target, gens, fresh);
    }
  } catch (err) {
    // 23514 "no partition of relation found for row": a partition we remembered was dropped
    // (retention): forget the cache; the retry creates it again.
    if (sqlstate(err) === '23514' && schema.kind() === 'partitioned') schema.forgetPartitions();
    throw err;
  }
  return {
    durable: pending.durable.then((result) => {
      c.stats.rowsWritten += result.inserted;
      c.stats.rowsSkipped += batch.points.length - result.inserted - result.replaced.length;
      reportReplaced(c.name, result.replaced, c.stats, c.onReplaced);
    }),
  };
}
