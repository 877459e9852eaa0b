// PostgreSQL sink internals: one batch in one transaction. Each generation of the batch (each
// key at most once, see dedupe.ts) is loaded into a temporary staging table (COPY or multi-row
// INSERT), the stored values it replaces are read, and it is upserted: the last writer by
// arrival order wins, an identical redelivery changes nothing.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pointKey } from './dedupe.js';
import { copyChunks, MS, withClient, type Row } from './postgres-rows.js';
import type { Replacement } from './types.js';

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

/** One generation: staged, the values it replaces read, then upserted. */
async function upsert(client: pg.PoolClient, t: CommitTarget, rows: readonly Row[]): Promise<CommitResult> {
  await client.query(`DELETE FROM ${t.stage}`);
  await load(client, t, rows);
  const found = await client.query<Omit<Replacement, 'sink'>>(
    `SELECT s.device, s.metric, ${MS('s.time')} AS time, t.value AS previous, s.value FROM ${t.stage} s
     JOIN ${t.table} t ON t.device = s.device AND t.metric = s.metric AND t.time = s.time
     WHERE (t.value, t.extra) IS DISTINCT FROM (s.value, s.extra)`,
  );
  const res = await client.query(
    `INSERT INTO ${t.table} AS t (device, time, metric, value, extra) SELECT device, time, metric, value, extra FROM ${t.stage}
     ON CONFLICT (device, metric, time) DO UPDATE SET value = EXCLUDED.value, extra = EXCLUDED.extra
     WHERE (t.value, t.extra) IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.extra)`,
  );
  // Arrival order for the report (the join returns rows in no particular order).
  const order = new Map(rows.map((r, i) => [pointKey(r.device, r.metric, r.ms), i]));
  const replaced = found.rows.sort((a, b) => (order.get(pointKey(a.device, a.metric, a.time)) ?? 0) - (order.get(pointKey(b.device, b.metric, b.time)) ?? 0));
  return { inserted: (res.rowCount ?? 0) - replaced.length, replaced };
}

/**
 * Commits the generations of one batch in one transaction on one pooled connection.
 */
export async function commitGenerations(pool: pg.Pool, t: CommitTarget, gens: readonly (readonly Row[])[]): Promise<CommitResult> {
  return withClient(pool, async (client, broke) => {
    if (!t.staged.has(client)) {
      await client.query(
        `CREATE TEMP TABLE IF NOT EXISTS ${t.stage} (device text, time timestamptz, metric text, value double precision, extra jsonb) ON COMMIT DELETE ROWS`,
      );
      t.staged.add(client); // created outside the transaction: it stays for the session
    }
    await client.query('BEGIN');
    try {
      let inserted = 0;
      const replaced: Omit<Replacement, 'sink'>[] = [];
      for (const rows of gens) {
        const r = await upsert(client, t, rows);
        inserted += r.inserted;
        replaced.push(...r.replaced);
      }
      await client.query('COMMIT');
      return { inserted, replaced };
    } catch (err) {
      await client.query('ROLLBACK').catch((e: unknown) => broke(e as Error));
      throw err;
    }
  });
}
