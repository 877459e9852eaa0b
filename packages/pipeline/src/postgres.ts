/**
 * Time-series storage in PostgreSQL: a {@link TelemetrySink} that batches points and ingests
 * them with COPY (or multi-row INSERTs) into a table that is a TimescaleDB hypertable when the
 * extension is there and a natively range-partitioned table otherwise, plus the
 * {@link TimeSeriesQueries} over it.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { PipelineError } from './errors.js';
import type { Gap, LastValue, SeriesBucket, TelemetryPoint, TelemetrySink, TimeSeriesQueries } from './types.js';
import { checkTelemetryPoint } from './schema.js';
import { describe, intOption } from './validate.js';

/**
 * Earliest point time the PostgreSQL sink stores, in epoch ms: 0001-01-01T00:00:00.000Z. Points
 * outside years 0001–9999 are rejected by `write` (RangeError) rather than failing a batch.
 *
 * @example
 * ```ts
 * import { PG_MIN_TIME } from '@outpost/pipeline';
 * new Date(PG_MIN_TIME).toISOString(); // '0001-01-01T00:00:00.000Z'
 * ```
 */
export const PG_MIN_TIME = -62_135_596_800_000;
/**
 * Latest point time the PostgreSQL sink stores, in epoch ms: 9999-12-31T23:59:59.999Z.
 *
 * @example
 * ```ts
 * import { PG_MAX_TIME } from '@outpost/pipeline';
 * new Date(PG_MAX_TIME).toISOString(); // '9999-12-31T23:59:59.999Z'
 * ```
 */
export const PG_MAX_TIME = 253_402_300_799_999;

const DAY_MS = 86_400_000;
/** PostgreSQL's wire protocol numbers bind parameters with a 16-bit count. */
const MAX_PARAMS = 65_535;
const COLS = 5;

/** Options of {@link createPostgresSink}. */
export interface PostgresSinkOptions {
  /** `postgres://user@host:port/db`; the sink then owns (and ends) its own `pg.Pool`. */
  readonly connectionString?: string;
  /** An existing pool instead of `connectionString`; `close()` leaves it open. */
  readonly pool?: pg.Pool;
  /** Table name, a plain identifier (`[A-Za-z_][A-Za-z0-9_]*`, at most 40 characters). Default `telemetry`. */
  readonly table?: string;
  /** A batch is committed once it holds this many rows (writes are not split: a larger write is one batch). Default 5,000. */
  readonly batchRows?: number;
  /**
   * A non-empty batch is committed at the latest this long after its first write. This is also
   * the acknowledgement latency the pipeline sees under light load, since `write` resolves only
   * after COMMIT. Default 1,000 ms.
   */
  readonly maxDelayMs?: number;
  /** `copy` (COPY into a staging table, then INSERT … SELECT) or `insert` (multi-row parameterised INSERTs). Default `copy`. */
  readonly method?: 'copy' | 'insert';
  /**
   * `auto` (default): a hypertable when the `timescaledb` extension is installed, or available and
   * creatable; native partitioning otherwise. `require`: fail with `DB_FAILED` without TimescaleDB.
   * `off`: native partitioning even where TimescaleDB exists.
   */
  readonly timescale?: 'auto' | 'require' | 'off';
  /** Chunk (hypertable) or partition (native) width in ms, at least one minute; partitions align to the Unix epoch. Default one day. */
  readonly chunkIntervalMs?: number;
  /** Retries of transient failures (connection refused or reset, server shutdown, serialization failure, deadlock). */
  readonly retry?: {
    /** Attempts in all, first included. Default 8. */
    readonly attempts?: number;
    /** First backoff, doubled per attempt (with jitter). Default 100 ms. */
    readonly baseDelayMs?: number;
    /** Backoff ceiling. Default 5,000 ms. */
    readonly maxDelayMs?: number;
  };
  /**
   * Batches committed at once, each on its own connection, so one batch is encoded and sent while
   * another commits. Default 2. Order between concurrent batches is irrelevant to the result:
   * the unique key makes every batch idempotent.
   */
  readonly concurrency?: number;
  /** Sink name in stats and errors. Default `postgres`. */
  readonly name?: string;
}

/** What {@link PostgresSink.ensureSchema} found or created. */
export interface PostgresSchemaInfo {
  /** `hypertable` (TimescaleDB), `partitioned` (native range partitions) or `table` (an existing plain table, used as is). */
  readonly kind: 'hypertable' | 'partitioned' | 'table';
  /** The quoted table name used in SQL. */
  readonly table: string;
}

/** Counters of a {@link PostgresSink}. */
export interface PostgresSinkStats {
  /** Rows inserted (the INSERT's row count over committed batches). */
  readonly rowsWritten: number;
  /** Rows not inserted because (device, metric, time) was already stored: redeliveries. */
  readonly rowsSkipped: number;
  /** Batches committed. */
  readonly batches: number;
  /** Batches that failed for good (their writes rejected). */
  readonly failedBatches: number;
  /** Transient failures retried. */
  readonly retries: number;
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

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

interface Batch {
  readonly rows: Row[];
  readonly waiters: Waiter[];
  done(): void;
  failed(err: unknown): void;
}

interface Row {
  readonly device: string;
  readonly time: string;
  readonly metric: string;
  readonly value: number | null;
  readonly extra: string | null;
  readonly ms: number;
}

function enumOption<T extends string>(name: string, v: unknown, allowed: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (typeof v !== 'string') throw new TypeError(`${name}: expected one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(v)}`);
  if (!(allowed as readonly string[]).includes(v)) throw new RangeError(`${name}: expected one of ${allowed.map((a) => `'${a}'`).join(', ')}, got '${v}'`);
  return v as T;
}

function assertMs(name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number') throw new TypeError(`${name}: expected epoch milliseconds (an integer), got ${describe(v)}`);
  if (!Number.isSafeInteger(v)) throw new RangeError(`${name}: expected epoch milliseconds (a safe integer), got ${v}`);
}

function optionalString(name: string, v: unknown): string | null {
  if (v === undefined) return null;
  if (typeof v !== 'string') throw new TypeError(`${name}: expected a string, got ${describe(v)}`);
  return v;
}

/**
 * One point as the text the database receives. The checks are the one schema's
 * (`checkTelemetryPoint`, schema.ts): a decoded point was checked at decode and is trusted; a
 * point built by hand meets the same rules, so PostgreSQL accepts exactly what the lake accepts.
 */
function toRow(p: unknown, i: number): Row {
  const extra = checkTelemetryPoint(p, `points[${i}]`);
  const { device, time, metric, value } = p as TelemetryPoint;
  return { device, metric, time: new Date(time).toISOString(), ms: time, value, extra };
}

/** COPY text format: backslash, tab, newline and carriage return are escaped; `\N` is NULL. */
const COPY_SPECIAL = /[\\\t\n\r]/g;
function copyEscape(s: string): string {
  return s.replace(COPY_SPECIAL, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

function* copyChunks(rows: readonly Row[]): Generator<string> {
  let chunk = '';
  for (const r of rows) {
    chunk += `${copyEscape(r.device)}\t${r.time}\t${copyEscape(r.metric)}\t${r.value === null ? '\\N' : String(r.value)}\t${r.extra === null ? '\\N' : copyEscape(r.extra)}\n`;
    if (chunk.length >= 65_536) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}

const TRANSIENT_SQLSTATE = new Set(['57P01', '57P02', '57P03', '40001', '40P01', '53300', '55P03']);
const TRANSIENT_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** Transient: worth retrying the whole batch (it is idempotent, so even an unknown COMMIT outcome is safe to repeat). */
function isTransient(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (TRANSIENT_SQLSTATE.has(code) || TRANSIENT_ERRNO.has(code) || code.startsWith('08')) return true;
  const msg = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|connection error|not queryable|timeout exceeded when trying to connect|Client was closed/i.test(msg);
}

function sqlstate(err: unknown): string {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : '';
}

function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

function noop(): void {}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function partitionName(table: string, start: number, intervalMs: number): string {
  const iso = new Date(start).toISOString(); // YYYY-MM-DDTHH:MM
  const day = iso.slice(0, 10).replace(/-/g, '');
  return intervalMs % DAY_MS === 0 ? `${table}_p${day}` : `${table}_p${day}_${iso.slice(11, 13)}${iso.slice(14, 16)}`;
}

/** A timestamptz literal for a query bound: ±infinity outside the storable range. */
function boundLiteral(ms: number): string {
  if (ms < PG_MIN_TIME) return '-infinity';
  if (ms > PG_MAX_TIME) return 'infinity';
  return new Date(ms).toISOString();
}

const MS = (col: string): string => `(extract(epoch from ${col}) * 1000)::float8`;

/**
 * Creates a PostgreSQL telemetry sink with query helpers. Points are batched (by `batchRows`
 * and `maxDelayMs`) and each batch is committed in one transaction: COPY into a temporary
 * staging table, then `INSERT … SELECT … ON CONFLICT DO NOTHING` into the table, so a
 * redelivered point never becomes a second row. `write` resolves after COMMIT; transient
 * failures are retried with bounded backoff; a batch that fails for good rejects its writes
 * with `SINK_FAILED` (the database error as `cause`). A point the database could not store
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
 * import { createPostgresSink } from '@outpost/pipeline';
 * import { startPostgres } from '@outpost/test-peers';
 * const server = await startPostgres(); // a private PostgreSQL, as the tests start one
 * const sink = createPostgresSink({ connectionString: server.url });
 * await sink.write([{ device: 'pump-1', time: 1764201600000, metric: 'temperature', value: 21.5 }]); // resolves when committed
 * await sink.lastValues({ metric: 'temperature' }); // [{ device: 'pump-1', metric: 'temperature', time: 1764201600000, value: 21.5 }]
 * await sink.close();
 * await server.stop();
 * ```
 */
export function createPostgresSink(options: PostgresSinkOptions): PostgresSink {
  if (typeof options !== 'object' || options === null) throw new TypeError(`options: expected an object, got ${describe(options)}`);
  const connectionString = optionalString('options.connectionString', options.connectionString);
  const external = options.pool;
  if (external !== undefined && !(external instanceof pg.Pool)) throw new TypeError(`options.pool: expected a pg.Pool, got ${describe(external)}`);
  if ((connectionString === null) === (external === undefined)) {
    throw new TypeError('options: expected exactly one of connectionString or pool');
  }
  const tableName = optionalString('options.table', options.table) ?? 'telemetry';
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,39}$/.test(tableName)) {
    throw new RangeError(`options.table: expected an identifier [A-Za-z_][A-Za-z0-9_]* of at most 40 characters, got '${tableName}'`);
  }
  const batchRows = intOption('options.batchRows', options.batchRows, 5_000, 1);
  const maxDelayMs = intOption('options.maxDelayMs', options.maxDelayMs, 1_000, 0, 2_147_483_647);
  const method = enumOption('options.method', options.method, ['copy', 'insert'], 'copy');
  const timescale = enumOption('options.timescale', options.timescale, ['auto', 'require', 'off'], 'auto');
  const chunkIntervalMs = intOption('options.chunkIntervalMs', options.chunkIntervalMs, DAY_MS, 60_000);
  const retry = options.retry ?? {};
  if (typeof retry !== 'object' || retry === null) throw new TypeError(`options.retry: expected an object, got ${describe(retry)}`);
  const attempts = intOption('options.retry.attempts', retry.attempts, 8, 1, 100);
  const baseDelayMs = intOption('options.retry.baseDelayMs', retry.baseDelayMs, 100, 0, 60_000);
  const backoffCapMs = intOption('options.retry.maxDelayMs', retry.maxDelayMs, 5_000, 0, 600_000);
  const name = optionalString('options.name', options.name) ?? 'postgres';
  const concurrency = intOption('options.concurrency', options.concurrency, 2, 1, 64);

  const pool =
    external ??
    new pg.Pool({ connectionString: connectionString as string, max: concurrency + 2, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000 });
  // An idle client whose server went away emits 'error' on the pool; unhandled, that would
  // crash the process. The next batch then gets a fresh connection (or retries).
  const onPoolError = (): void => {};
  if (external === undefined) pool.on('error', onPoolError);

  const table = quoteIdent(tableName);
  const stage = quoteIdent(`outpost_stage_${tableName}`);
  const staged = new WeakSet<pg.PoolClient>();
  const partitions = new Set<string>();
  const creatingPartitions = new Map<string, Promise<void>>();
  let schema: Promise<PostgresSchemaInfo> | undefined;
  let kind: PostgresSchemaInfo['kind'] | undefined;

  const stats = { rowsWritten: 0, rowsSkipped: 0, batches: 0, failedBatches: 0, retries: 0, partitionsCreated: 0 };
  let rowsBuffered: Row[] = [];
  let waiters: Waiter[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const queue: Batch[] = [];
  let active = 0;
  /** Every sealed batch not yet settled (queued or committing); settles without rejecting. */
  const unsettled = new Set<Promise<void>>();
  let closed = false;
  let closing: Promise<void> | undefined;

  async function createSchema(): Promise<PostgresSchemaInfo> {
    const client = await pool.connect();
    let broken: Error | undefined;
    const onClientError = (err: Error): void => {
      broken = err;
    };
    client.on('error', onClientError);
    try {
      const existing = await client.query<{ relkind: string }>(
        `SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass($1)`,
        [table],
      );
      const ext = await client.query<{ installed: boolean; available: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') AS installed,
                EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') AS available`,
      );
      let useTimescale = false;
      if (timescale !== 'off') {
        const { installed, available } = ext.rows[0] ?? { installed: false, available: false };
        if (installed) useTimescale = true;
        else if (available) {
          try {
            // Fails unless timescaledb is in shared_preload_libraries; 'auto' then falls back.
            await client.query('CREATE EXTENSION IF NOT EXISTS timescaledb');
            useTimescale = true;
          } catch (err) {
            if (timescale === 'require') throw new PipelineError('DB_FAILED', `${name}: CREATE EXTENSION timescaledb failed: ${(err as Error).message}`, { cause: err });
          }
        }
        if (!useTimescale && timescale === 'require') {
          throw new PipelineError('DB_FAILED', `${name}: timescale 'require' but the timescaledb extension is not available on this server`);
        }
      }
      const relkind = existing.rows[0]?.relkind;
      const columns = `device text NOT NULL, time timestamptz NOT NULL, metric text NOT NULL, value double precision, extra jsonb`;
      let info: PostgresSchemaInfo;
      const isHypertable = async (): Promise<boolean> =>
        (
          await client.query<{ yes: boolean }>(
            `SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables
                            WHERE to_regclass(format('%I.%I', hypertable_schema, hypertable_name)) = to_regclass($1)) AS yes`,
            [table],
          )
        ).rows[0]?.yes === true;
      if (useTimescale && (relkind === undefined || (relkind === 'r' && (await isHypertable())))) {
        // UNTESTED here (TimescaleDB is not in Debian's archive on the build machine).
        // Only a table created here (empty) or one that already is a hypertable: migrate_data
        // stays false, and if_not_exists makes a second call (or a concurrent process) a no-op.
        // A unique index on a hypertable must contain the time column; (device, metric, time) does.
        await client.query(`CREATE TABLE IF NOT EXISTS ${table} (${columns})`);
        await client.query(
          `SELECT create_hypertable($1::regclass, 'time', chunk_time_interval => $2::interval, if_not_exists => TRUE, migrate_data => FALSE)`,
          [table, `${chunkIntervalMs} milliseconds`],
        );
        info = { kind: 'hypertable', table };
      } else if (relkind === 'r') {
        info = { kind: 'table', table }; // an existing plain table (with rows, perhaps): used as is
      } else {
        // Native range partitions, created on demand per interval that a batch touches. There is
        // deliberately no DEFAULT partition: once a default partition holds rows for a range,
        // creating the proper partition for that range fails (PostgreSQL must move those rows and
        // refuses when they would overlap), so rows would pile up there for good. A batch whose
        // partition is missing instead creates it first.
        await client.query(`CREATE TABLE IF NOT EXISTS ${table} (${columns}) PARTITION BY RANGE (time)`);
        info = { kind: 'partitioned', table };
        const children = await client.query<{ relname: string }>(
          `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass($1)`,
          [table],
        );
        for (const r of children.rows) partitions.add(r.relname);
      }
      // One index serves as the redelivery key (ON CONFLICT) and as the last-value index.
      await client.query(`CREATE UNIQUE INDEX IF NOT EXISTS ${quoteIdent(`${tableName}_device_metric_time`)} ON ${table} (device, metric, time DESC)`);
      kind = info.kind;
      return info;
    } catch (err) {
      if (err instanceof PipelineError) throw err;
      // Two processes creating the same table or index at once: the loser sees a duplicate.
      if (['42P07', '23505'].includes(sqlstate(err))) throw Object.assign(new Error('schema race'), { code: '40001', cause: err });
      if (isTransient(err)) broken = err as Error;
      throw err;
    } finally {
      client.off('error', onClientError);
      client.release(broken);
    }
  }

  function ensureSchema(): Promise<PostgresSchemaInfo> {
    if (schema === undefined) {
      schema = withRetry(createSchema);
      schema.catch(() => {
        schema = undefined; // try again on the next call
      });
    }
    return schema;
  }

  async function withRetry<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof PipelineError) throw err;
        if (!isTransient(err) || attempt >= attempts) throw err;
        stats.retries++;
        const cap = Math.min(backoffCapMs, baseDelayMs * 2 ** (attempt - 1));
        await sleep(cap / 2 + (Math.random() * cap) / 2);
      }
    }
  }

  async function ensurePartitions(rows: readonly Row[]): Promise<void> {
    if (kind !== 'partitioned') return;
    const starts = new Set<number>();
    for (const r of rows) starts.add(Math.floor(r.ms / chunkIntervalMs) * chunkIntervalMs);
    for (const start of starts) {
      const part = partitionName(tableName, start, chunkIntervalMs);
      if (partitions.has(part)) continue;
      // Concurrent batches of this sink share one creation of a partition.
      let creating = creatingPartitions.get(part);
      if (creating === undefined) {
        creating = createPartition(part, start).finally(() => creatingPartitions.delete(part));
        creatingPartitions.set(part, creating);
      }
      await creating;
    }
  }

  async function createPartition(part: string, start: number): Promise<void> {
    const end = start + chunkIntervalMs;
    const to = end > PG_MAX_TIME ? 'infinity' : new Date(end).toISOString();
    try {
      await pool.query(
        `CREATE TABLE IF NOT EXISTS ${quoteIdent(part)} PARTITION OF ${table} FOR VALUES FROM ('${new Date(Math.max(start, PG_MIN_TIME)).toISOString()}') TO ('${to}')`,
      );
      stats.partitionsCreated++;
    } catch (err) {
      // 42P07/23505: another process created it at the same moment. 42P17: an overlapping
      // partition made by hand already covers (part of) the range; rows outside it will fail.
      if (!['42P07', '23505', '42P17'].includes(sqlstate(err))) throw err;
    }
    partitions.add(part);
  }

  async function insertRows(client: pg.PoolClient, rows: readonly Row[]): Promise<number> {
    const perStatement = Math.floor(MAX_PARAMS / COLS);
    let inserted = 0;
    for (let off = 0; off < rows.length; off += perStatement) {
      const slice = rows.slice(off, off + perStatement);
      const params: unknown[] = [];
      const tuples: string[] = [];
      for (const r of slice) {
        const n = params.length;
        tuples.push(`($${n + 1},$${n + 2}::timestamptz,$${n + 3},$${n + 4}::float8,$${n + 5}::jsonb)`);
        params.push(r.device, r.time, r.metric, r.value, r.extra);
      }
      const res = await client.query(
        `INSERT INTO ${table} (device, time, metric, value, extra) VALUES ${tuples.join(',')} ON CONFLICT DO NOTHING`,
        params,
      );
      inserted += res.rowCount ?? 0;
    }
    return inserted;
  }

  async function copyRows(client: pg.PoolClient, rows: readonly Row[]): Promise<number> {
    if (!staged.has(client)) {
      await client.query(
        `CREATE TEMP TABLE IF NOT EXISTS ${stage} (device text, time timestamptz, metric text, value double precision, extra jsonb) ON COMMIT DELETE ROWS`,
      );
    }
    await pipeline(Readable.from(copyChunks(rows)), client.query(copyFrom(`COPY ${stage} (device, time, metric, value, extra) FROM STDIN`)));
    const res = await client.query(
      `INSERT INTO ${table} (device, time, metric, value, extra) SELECT device, time, metric, value, extra FROM ${stage} ON CONFLICT DO NOTHING`,
    );
    return res.rowCount ?? 0;
  }

  async function commitOnce(rows: readonly Row[]): Promise<number> {
    await ensurePartitions(rows);
    const client = await pool.connect();
    let broken: Error | undefined;
    // A checked-out client whose server dies between two queries emits 'error' (unhandled, it
    // would crash the process); the next query then fails and the batch is retried.
    const onClientError = (err: Error): void => {
      broken = err;
    };
    client.on('error', onClientError);
    try {
      await client.query('BEGIN');
      try {
        const inserted = method === 'copy' ? await copyRows(client, rows) : await insertRows(client, rows);
        await client.query('COMMIT');
        if (method === 'copy') staged.add(client); // the temp table survives only a committed transaction
        return inserted;
      } catch (err) {
        await client.query('ROLLBACK').catch((e: unknown) => {
          broken = e as Error;
        });
        throw err;
      }
    } catch (err) {
      if (isTransient(err)) broken = err as Error;
      throw err;
    } finally {
      client.off('error', onClientError);
      client.release(broken); // a broken connection is discarded, not returned to the pool
    }
  }

  async function commitBatch(rows: readonly Row[]): Promise<void> {
    await ensureSchema();
    let partitionRetried = false;
    for (;;) {
      try {
        const inserted = await withRetry(() => commitOnce(rows));
        stats.rowsWritten += inserted;
        stats.rowsSkipped += rows.length - inserted;
        stats.batches++;
        return;
      } catch (err) {
        // 23514 "no partition of relation found for row": a partition we remembered was dropped
        // (retention) — forget the cache and create it again, once.
        if (sqlstate(err) === '23514' && kind === 'partitioned' && !partitionRetried) {
          partitionRetried = true;
          partitions.clear();
          stats.retries++;
          continue;
        }
        throw err;
      }
    }
  }

  function failure(err: unknown): PipelineError {
    if (err instanceof PipelineError) return err;
    const code = sqlstate(err);
    const why = isTransient(err) ? `still failing after ${attempts} attempts` : code.startsWith('22') || code.startsWith('23') ? 'data rejected' : 'failed';
    return new PipelineError('SINK_FAILED', `${name}: batch ${why}: ${(err as Error)?.message ?? String(err)}${code === '' ? '' : ` (SQLSTATE ${code})`}`, { cause: err });
  }

  async function run(job: Batch): Promise<void> {
    try {
      await commitBatch(job.rows);
      for (const w of job.waiters) w.resolve();
      job.done();
    } catch (err) {
      stats.failedBatches++;
      const e = failure(err);
      for (const w of job.waiters) w.reject(e);
      job.failed(e);
    }
  }

  /** Starts queued batches, at most `concurrency` at once (each on its own connection). */
  function pump(): void {
    while (active < concurrency) {
      const job = queue.shift();
      if (job === undefined) return;
      active++;
      void run(job).finally(() => {
        active--;
        pump();
      });
    }
  }

  /**
   * Seals the buffer into a batch. Resolves when that batch and every batch sealed before it
   * have settled; rejects if that batch failed (earlier failures already reached their writes).
   */
  async function seal(): Promise<void> {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    const earlier = [...unsettled];
    let mine: Promise<void> | undefined;
    if (rowsBuffered.length > 0) {
      const rows = rowsBuffered;
      const batchWaiters = waiters;
      rowsBuffered = [];
      waiters = [];
      mine = new Promise<void>((done, failed) => queue.push({ rows, waiters: batchWaiters, done, failed }));
      const quiet = mine.then(noop, noop);
      unsettled.add(quiet);
      void quiet.then(() => unsettled.delete(quiet));
      pump();
    }
    await Promise.all(earlier);
    await mine;
  }

  function write(points: readonly TelemetryPoint[]): Promise<void> {
    if (closed) return Promise.reject(new PipelineError('CLOSED', `${name}: write after close()`));
    if (!Array.isArray(points)) return Promise.reject(new TypeError(`points: expected an array of TelemetryPoint, got ${describe(points)}`));
    let rows: Row[];
    try {
      rows = points.map((p, i) => toRow(p, i));
    } catch (err) {
      return Promise.reject(err);
    }
    if (rows.length === 0) return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
    for (const r of rows) rowsBuffered.push(r);
    if (rowsBuffered.length >= batchRows) seal().catch(noop);
    else if (timer === undefined) timer = setTimeout(() => void seal().catch(noop), maxDelayMs);
    return p;
  }

  function flush(): Promise<void> {
    return seal();
  }

  function close(): Promise<void> {
    if (closing !== undefined) return closing;
    closed = true;
    closing = (async () => {
      try {
        await seal();
      } finally {
        if (external === undefined) {
          await pool.end();
          pool.off('error', onPoolError);
        }
      }
    })();
    return closing;
  }

  async function query<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<R[]> {
    if (closed) throw new PipelineError('CLOSED', `${name}: query after close()`);
    await ensureSchema();
    try {
      return (await withRetry(() => pool.query<R>(sql, params))).rows;
    } catch (err) {
      throw new PipelineError('DB_FAILED', `${name}: query failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
  }

  function assertRange(q: Record<string, unknown>, name: string): void {
    assertMs(`${name}.from`, q['from']);
    assertMs(`${name}.to`, q['to']);
    if ((q['from'] as number) > (q['to'] as number)) throw new RangeError(`${name}: expected from <= to, got from ${String(q['from'])} > to ${String(q['to'])}`);
  }

  async function lastValues(filter?: { readonly metric?: string; readonly device?: string }): Promise<LastValue[]> {
    if (filter !== undefined && (typeof filter !== 'object' || filter === null)) throw new TypeError(`filter: expected an object, got ${describe(filter)}`);
    const metric = optionalString('filter.metric', filter?.metric);
    const device = optionalString('filter.device', filter?.device);
    // DISTINCT ON walks the (device, metric, time DESC) index; the outer sort uses byte order
    // ("C") so the result is ordered the same as in the DuckDB store, whatever the DB collation.
    const rows = await query<{ device: string; metric: string; time: number; value: number | null }>(
      `SELECT device, metric, time, value FROM (
         SELECT DISTINCT ON (device, metric) device, metric, ${MS('time')} AS time, value
         FROM ${table}
         WHERE ($1::text IS NULL OR metric = $1) AND ($2::text IS NULL OR device = $2)
         ORDER BY device, metric, time DESC) AS last
       ORDER BY device COLLATE "C", metric COLLATE "C"`,
      [metric, device],
    );
    return rows.map((r) => ({ device: r.device, metric: r.metric, time: r.time, value: r.value }));
  }

  async function downsample(q: { readonly device: string; readonly metric: string; readonly from: number; readonly to: number; readonly bucketMs: number }): Promise<SeriesBucket[]> {
    if (typeof q !== 'object' || q === null) throw new TypeError(`query: expected an object, got ${describe(q)}`);
    if (typeof q.device !== 'string') throw new TypeError(`query.device: expected a string, got ${describe(q.device)}`);
    if (typeof q.metric !== 'string') throw new TypeError(`query.metric: expected a string, got ${describe(q.metric)}`);
    assertRange(q as unknown as Record<string, unknown>, 'query');
    intOption('query.bucketMs', q.bucketMs, 0, 1);
    if (q.from === q.to) return [];
    await ensureSchema();
    // Buckets aligned to the Unix epoch: time_bucket's default origin (2000-01-03) is overridden.
    const bin =
      kind === 'hypertable'
        ? `time_bucket($5::interval, time, origin => TIMESTAMPTZ '1970-01-01 00:00:00+00')`
        : `date_bin($5::interval, time, TIMESTAMPTZ '1970-01-01 00:00:00+00')`;
    const rows = await query<{ bucket: number; count: number; min: number | null; max: number | null; avg: number | null }>(
      `SELECT ${MS('b')} AS bucket, count(*)::float8 AS count, min(value) AS min, max(value) AS max, avg(value) AS avg
       FROM (SELECT ${bin} AS b, value FROM ${table}
             WHERE device = $1 AND metric = $2 AND time >= $3::timestamptz AND time < $4::timestamptz) AS s
       GROUP BY b ORDER BY b`,
      [q.device, q.metric, boundLiteral(q.from), boundLiteral(q.to), `${q.bucketMs} milliseconds`],
    );
    return rows.map((r) => ({ bucket: r.bucket, count: r.count, min: r.min, max: r.max, avg: r.avg }));
  }

  async function gaps(q: { readonly from: number; readonly to: number; readonly minGapMs: number; readonly device?: string }): Promise<Gap[]> {
    if (typeof q !== 'object' || q === null) throw new TypeError(`query: expected an object, got ${describe(q)}`);
    assertRange(q as unknown as Record<string, unknown>, 'query');
    intOption('query.minGapMs', q.minGapMs, 0, 0);
    const device = optionalString('query.device', q.device);
    if (q.from === q.to) return [];
    const rows = await query<{ device: string; from: number; to: number }>(
      `SELECT device, prev AS from, t AS to FROM (
         SELECT device, ${MS('time')} AS t, ${MS('lag(time) OVER (PARTITION BY device ORDER BY time)')} AS prev
         FROM ${table}
         WHERE time >= $1::timestamptz AND time < $2::timestamptz AND ($4::text IS NULL OR device = $4)) AS s
       WHERE prev IS NOT NULL AND t - prev > $3::float8
       ORDER BY device COLLATE "C", prev`,
      [boundLiteral(q.from), boundLiteral(q.to), q.minGapMs, device],
    );
    return rows.map((r) => ({ device: r.device, from: r.from, to: r.to, durationMs: r.to - r.from }));
  }

  return {
    name,
    write,
    flush,
    close,
    ensureSchema,
    stats: () => ({ ...stats }),
    lastValues,
    downsample,
    gaps,
  };
}
