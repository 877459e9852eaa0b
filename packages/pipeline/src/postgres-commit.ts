// PostgreSQL sink internals: one batch in one transaction. Each generation of the batch (each
// key at most once, see dedupe.ts) is loaded into a temporary staging table (COPY or multi-row
// INSERT), the stored values it replaces are read, and it is upserted: the last writer by
// arrival order wins, an identical redelivery changes nothing.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pointKey } from './dedupe.js';
import { copyChunks, isTransient, MS, type Row } from './postgres-rows.js';
import type { Replacement, TelemetryPoint } from './types.js';

/** PostgreSQL's wire protocol numbers bind parameters with a 16-bit count. */
const MAX_PARAMS = 65_535;
const COLS = 5;

/** What one committed batch did. */
export interface CommitResult {
  /** New rows. */
  readonly inserted: number;
  /** Stored values replaced by different ones, in arrival order. */
  readonly replaced: Omit<Replacement, 'sink'>[];
}

/** The tables and the load method of a sink. */
export interface CommitTarget {
  /** Quoted table name. */
  readonly table: string;
  /** Quoted staging table name (temporary, one per connection). */
  readonly stage: string;
  readonly method: 'copy' | 'insert';
  /** Connections whose staging table exists (it survives only a committed transaction). */
  readonly staged: WeakSet<pg.PoolClient>;
}

async function load(client: pg.PoolClient, t: CommitTarget, rows: readonly Row[]): Promise<void> {
  if (t.method === 'copy') {
    await pipeline(Readable.from(copyChunks(rows)), client.query(copyFrom(`COPY ${t.stage} (device, time, metric, value, extra) FROM STDIN`)));
    return;
  }
  const perStatement = Math.floor(MAX_PARAMS / COLS);
  for (let off = 0; off < rows.length; off += perStatement) {
    const params: unknown[] = [];
    const tuples: string[] = [];
    for (const r of rows.slice(off, off + perStatement)) {
      const n = params.length;
      tuples.push(`($${n + 1},$${n + 2}::timestamptz,$${n + 3},$${n + 4}::float8,$${n + 5}::jsonb)`);
      params.push(r.device, r.time, r.metric, r.value, r.extra);
    }
    await client.query(`INSERT INTO ${t.stage} (device, time, metric, value, extra) VALUES ${tuples.join(',')}`, params);
  }
}

/**
 * One generation: staged, then inserted where its keys are new (the common case ends here);
 * when some keys exist, the stored values it replaces are read and those rows updated.
 */
async function upsert(client: pg.PoolClient, t: CommitTarget, rows: readonly Row[], first: boolean): Promise<CommitResult> {
  if (!first) await client.query(`DELETE FROM ${t.stage}`); // the first one finds it empty (ON COMMIT DELETE ROWS)
  await load(client, t, rows);
  const cols = 'device, time, metric, value, extra';
  const fresh = await client.query(`INSERT INTO ${t.table} (${cols}) SELECT ${cols} FROM ${t.stage} ON CONFLICT DO NOTHING`);
  const inserted = fresh.rowCount ?? 0;
  if (inserted === rows.length) return { inserted, replaced: [] };
  // Rows just inserted equal their staged copy, so only stored values that differ come back.
  const found = await client.query<Omit<Replacement, 'sink'>>(
    `SELECT s.device, s.metric, ${MS('s.time')} AS time, t.value AS previous, s.value FROM ${t.stage} s
     JOIN ${t.table} t ON t.device = s.device AND t.metric = s.metric AND t.time = s.time
     WHERE (t.value, t.extra) IS DISTINCT FROM (s.value, s.extra)`,
  );
  if (found.rows.length === 0) return { inserted, replaced: [] };
  await client.query(
    `INSERT INTO ${t.table} AS t (${cols}) SELECT ${cols} FROM ${t.stage}
     ON CONFLICT (device, metric, time) DO UPDATE SET value = EXCLUDED.value, extra = EXCLUDED.extra
     WHERE (t.value, t.extra) IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.extra)`,
  );
  // Arrival order for the report (the join returns rows in no particular order).
  const order = new Map(rows.map((r, i) => [pointKey(r.device, r.metric, r.ms), i]));
  const replaced = found.rows.sort((a, b) => (order.get(pointKey(a.device, a.metric, a.time)) ?? 0) - (order.get(pointKey(b.device, b.metric, b.time)) ?? 0));
  return { inserted, replaced };
}

/** The five columns of a batch as PostgreSQL array literals (device, time as epoch ms, metric, value, extra). */
export type ColumnArrays = [string, string, string, string, string];

/** An element of a PostgreSQL array literal: quoted, with `"` and `\\` escaped. */
const ARRAY_SPECIAL = /["\\]/;
const ARRAY_SPECIAL_G = /["\\]/g;
function arrayText(s: string): string {
  return ARRAY_SPECIAL.test(s) ? `"${s.replace(ARRAY_SPECIAL_G, '\\$&')}"` : `"${s}"`;
}

/** Quoted array elements of the strings a batch repeats (a fleet's device and metric names), per batch. */
function quoter(): (s: string) => string {
  const seen = new Map<string, string>();
  return (s) => {
    let q = seen.get(s);
    if (q === undefined) {
      q = arrayText(s);
      if (seen.size < 4_096) seen.set(s, q);
    }
    return q;
  };
}

/**
 * The five columns of a batch's points as PostgreSQL array literals (`{"a","b"}`), built here in
 * one pass straight from the points (node-postgres would run two regular-expression replacements
 * per element, and a row object per point would live until the batch commits).
 */
export function columnArrays(points: readonly TelemetryPoint[], extras: readonly (string | null)[]): ColumnArrays {
  // Element arrays joined natively: one flat string per column, not a chain of concatenations.
  const quote = quoter();
  const n = points.length;
  const device = new Array<string>(n);
  const time = new Array<number>(n); // epoch ms, made a timestamptz by the statement (insertNew)
  const metric = new Array<string>(n);
  const value = new Array<string>(n);
  const extra = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const p = points[i] as TelemetryPoint;
    const x = extras[i] ?? null;
    device[i] = quote(p.device);
    time[i] = p.time; // an integer in the schema's range: no ISO text per point (half of this function's time before)
    metric[i] = quote(p.metric);
    value[i] = p.value === null ? 'NULL' : String(p.value);
    extra[i] = x === null ? 'NULL' : arrayText(x);
  }
  return [`{${device.join(',')}}`, `{${time.join(',')}}`, `{${metric.join(',')}}`, `{${value.join(',')}}`, `{${extra.join(',')}}`];
}

/**
 * The common case in one statement and one round trip: the batch's rows (as {@link columnArrays})
 * inserted where their key is new, committed on their own (autocommit); a key twice in the batch
 * is inserted once (`DO NOTHING` skips the later arrival). Returns the rows inserted; fewer than
 * the batch's rows means some key was stored already or came twice, and the caller runs the
 * batch's transaction ({@link commitGenerations}) for the rest — repeating the inserted rows there
 * changes nothing, as an identical redelivery does not. The staged path costs 4–5 round trips per
 * batch (BEGIN, COPY's two, INSERT, COMMIT), each waiting for a turn of a busy event loop.
 */
export async function insertNew(pool: pg.Pool, t: CommitTarget, columns: ColumnArrays): Promise<number> {
  const cols = 'device, time, metric, value, extra';
  const r = await pool.query(
    // The times travel as epoch ms (int8) and become timestamptz here, exactly (integer microseconds).
    `INSERT INTO ${t.table} (${cols}) SELECT d, timestamptz 'epoch' + ms * interval '1 millisecond', m, v, x
     FROM unnest($1::text[], $2::int8[], $3::text[], $4::float8[], $5::jsonb[]) AS u(d, ms, m, v, x) ON CONFLICT DO NOTHING`,
    columns,
  );
  return r.rowCount ?? 0;
}

/**
 * Runs the generations of one batch in one transaction on one pooled connection and sends
 * COMMIT. Resolves once every statement ran (the transaction holds the row locks of its keys, so
 * a later batch touching one of them waits for this COMMIT: arrival order is kept) with the
 * COMMIT still on its way; `durable` settles with it. A connection that broke is discarded.
 */
export async function commitGenerations(pool: pg.Pool, t: CommitTarget, gens: readonly (readonly Row[])[], insertedBefore = 0): Promise<{ durable: Promise<CommitResult> }> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // A checked-out client whose server dies between two queries emits 'error' (unhandled, it
  // would crash the process); the next query then fails and the batch is retried.
  const broke = (e: Error): void => {
    broken = e;
  };
  client.on('error', broke);
  const release = (): void => {
    client.off('error', broke);
    client.release(broken);
  };
  let inserted = insertedBefore;
  const replaced: Omit<Replacement, 'sink'>[] = [];
  try {
    if (!t.staged.has(client)) {
      await client.query(
        `CREATE TEMP TABLE IF NOT EXISTS ${t.stage} (device text, time timestamptz, metric text, value double precision, extra jsonb) ON COMMIT DELETE ROWS`,
      );
      t.staged.add(client); // created outside the transaction: it stays for the session
    }
    await client.query('BEGIN');
    try {
      for (const [g, rows] of gens.entries()) {
        const r = await upsert(client, t, rows, g === 0);
        inserted += r.inserted;
        replaced.push(...r.replaced);
      }
    } catch (err) {
      await client.query('ROLLBACK').catch((e: unknown) => broke(e as Error));
      throw err;
    }
  } catch (err) {
    if (isTransient(err)) broken = err as Error;
    release();
    throw err;
  }
  const durable = client.query('COMMIT').then(
    () => ({ inserted, replaced }),
    (err: unknown) => {
      broken = err as Error; // the outcome of this COMMIT is unknown: never reuse the connection
      throw err;
    },
  );
  void durable.then(release, release);
  return { durable };
}
