// PostgreSQL sink internals: the table (TimescaleDB hypertable, native range partitions, or an
// existing plain table), its unique (device, metric, time) index, and partitions on demand.
import type pg from 'pg';
import { PipelineError } from './errors.js';
import { PG_MAX_TIME, PG_MIN_TIME, partitionName, quoteIdent, sqlstate, withClient, withRetry, type RetryPolicy } from './postgres-rows.js';
import type { TelemetryPoint } from './types.js';

/** What the schema work found or created. */
export interface SchemaInfo {
  /** `hypertable` (TimescaleDB), `partitioned` (native range partitions) or `table` (an existing plain table, used as is). */
  readonly kind: 'hypertable' | 'partitioned' | 'table';
  /** The quoted table name used in SQL. */
  readonly table: string;
}

/** What the schema work needs. */
export interface SchemaContext {
  readonly pool: pg.Pool;
  readonly tableName: string;
  readonly timescale: 'auto' | 'require' | 'off';
  readonly chunkIntervalMs: number;
  readonly name: string;
  readonly retry: RetryPolicy;
  onPartitionCreated(): void;
}

/** The schema state of one sink. */
export interface Schema {
  /** Creates what is missing (once; again after a failure); safe from several processes at once. */
  ensure(): Promise<SchemaInfo>;
  /** Creates the native partitions the points need (no-op for other kinds). */
  ensurePartitions(points: readonly TelemetryPoint[]): Promise<void>;
  /** Forgets the known partitions (after one was dropped behind the sink's back). */
  forgetPartitions(): void;
  /** The kind found by `ensure`, once it succeeded. */
  kind(): SchemaInfo['kind'] | undefined;
}

/** Whether to use TimescaleDB on this server, creating the extension when it is available. */
async function useTimescale(client: pg.PoolClient, timescale: SchemaContext['timescale'], name: string): Promise<boolean> {
  if (timescale === 'off') return false;
  const ext = await client.query<{ installed: boolean; available: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') AS installed,
            EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') AS available`,
  );
  const { installed, available } = ext.rows[0] ?? { installed: false, available: false };
  if (installed) return true;
  if (available) {
    try {
      // Fails unless timescaledb is in shared_preload_libraries; 'auto' then falls back.
      await client.query('CREATE EXTENSION IF NOT EXISTS timescaledb');
      return true;
    } catch (err) {
      if (timescale === 'require') throw new PipelineError('DB_FAILED', `${name}: CREATE EXTENSION timescaledb failed: ${(err as Error).message}`, { cause: err });
    }
  }
  if (timescale === 'require') {
    throw new PipelineError('DB_FAILED', `${name}: timescale 'require' but the timescaledb extension is not available on this server`);
  }
  return false;
}

/** Creates (or finds) the table and its index; fills `partitions` with the native ones that exist. */
async function createTable(ctx: SchemaContext, partitions: Set<string>): Promise<SchemaInfo> {
  const { pool, tableName, timescale, chunkIntervalMs, name } = ctx;
  const table = quoteIdent(tableName);
  return withClient(pool, async (client) => {
    try {
      const existing = await client.query<{ relkind: string }>(
        `SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass($1)`,
        [table],
      );
      const hyper = await useTimescale(client, timescale, name);
      const relkind = existing.rows[0]?.relkind;
      const columns = `device text NOT NULL, time timestamptz NOT NULL, metric text NOT NULL, value double precision, extra jsonb`;
      let info: SchemaInfo;
      const isHypertable = async (): Promise<boolean> =>
        (
          await client.query<{ yes: boolean }>(
            `SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables
                            WHERE to_regclass(format('%I.%I', hypertable_schema, hypertable_name)) = to_regclass($1)) AS yes`,
            [table],
          )
        ).rows[0]?.yes === true;
      if (hyper && (relkind === undefined || (relkind === 'r' && (await isHypertable())))) {
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
      return info;
    } catch (err) {
      if (err instanceof PipelineError) throw err;
      // Two processes creating the same table or index at once: the loser sees a duplicate.
      if (['42P07', '23505'].includes(sqlstate(err))) throw Object.assign(new Error('schema race'), { code: '40001', cause: err });
      throw err;
    }
  });
}

/** Creates the schema state of a sink. */
export function createSchema(ctx: SchemaContext): Schema {
  const { pool, tableName, chunkIntervalMs } = ctx;
  const table = quoteIdent(tableName);
  const partitions = new Set<string>();
  const creatingPartitions = new Map<string, Promise<void>>();
  let schema: Promise<SchemaInfo> | undefined;
  let kind: SchemaInfo['kind'] | undefined;

  async function create(): Promise<SchemaInfo> {
    const info = await createTable(ctx, partitions);
    kind = info.kind;
    return info;
  }

  function ensure(): Promise<SchemaInfo> {
    if (schema === undefined) {
      schema = withRetry(create, ctx.retry);
      schema.catch(() => {
        schema = undefined; // try again on the next call
      });
    }
    return schema;
  }

  async function ensurePartitions(points: readonly TelemetryPoint[]): Promise<void> {
    if (kind !== 'partitioned') return;
    const starts = new Set<number>();
    for (const p of points) starts.add(Math.floor(p.time / chunkIntervalMs) * chunkIntervalMs);
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
      ctx.onPartitionCreated();
    } catch (err) {
      // 42P07/23505: another process created it at the same moment. 42P17: an overlapping
      // partition made by hand already covers (part of) the range; rows outside it will fail.
      if (!['42P07', '23505', '42P17'].includes(sqlstate(err))) throw err;
    }
    partitions.add(part);
  }

  return { ensure, ensurePartitions, forgetPartitions: () => partitions.clear(), kind: () => kind };
}
