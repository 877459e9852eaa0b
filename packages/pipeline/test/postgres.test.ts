// The PostgreSQL sink against a real server (Debian's postgresql, started privately by the test):
// schema, native partitions, COPY and INSERT ingest, escaping, idempotent redelivery, queries,
// data errors, CLOSED and wrong types. The crash test (kill -9 mid-batch) is in
// postgres-crash.test.ts.
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { mulberry32, startPostgres, type Postgres } from '@outpost/test-peers';
import { PipelineError } from '../src/errors.js';
import type { Pool } from 'pg';
import type { PostgresSink } from '../src/postgres.js';
import type { TelemetryPoint } from '../src/types.js';
import { testPool } from './fixtures/test-pool.js';

const { createPostgresSink } = await import('../src/postgres.js');
const { MIN_POINT_TIME, MAX_POINT_TIME } = await import('../src/schema.js');

let server: Postgres;
let db: Pool;
const sinks: PostgresSink[] = [];

beforeAll(async () => {
  server = await startPostgres();
  db = testPool({ connectionString: server.url, max: 2 });
});

afterAll(async () => {
  for (const s of sinks) await s.close().catch(() => {});
  await db?.end();
  await server?.stop();
});

let tableSeq = 0;
function sink(opts: Partial<Parameters<typeof createPostgresSink>[0]> = {}): PostgresSink {
  const s = createPostgresSink({ connectionString: server.url, table: `t${++tableSeq}`, maxDelayMs: 5, ...opts });
  sinks.push(s);
  return s;
}

interface Stored {
  device: string;
  metric: string;
  time: number;
  value: number | null;
  extra: unknown;
}
async function rows(table: string): Promise<Stored[]> {
  const r = await db.query<Stored>(
    `SELECT device, metric, (extract(epoch from time) * 1000)::float8 AS time, value, extra FROM "${table}" ORDER BY device COLLATE "C", metric COLLATE "C", time`,
  );
  return r.rows;
}
function expected(points: readonly TelemetryPoint[]): Stored[] {
  const cmp = (a: string, b: string): number => (Buffer.from(a) < Buffer.from(b) ? -1 : Buffer.from(a) > Buffer.from(b) ? 1 : 0);
  return points
    .map((p) => ({ device: p.device, metric: p.metric, time: p.time, value: p.value, extra: p.extra ?? null }))
    .sort((a, b) => cmp(a.device, b.device) || cmp(a.metric, b.metric) || a.time - b.time);
}

const T0 = Date.UTC(2026, 0, 10, 12, 0, 0);
const AWKWARD = [
  'plain',
  'tab\there',
  'new\nline',
  'carriage\rreturn',
  'back\\slash',
  '\\N',
  '\\.',
  'end\\',
  '"double" \'single\'',
  'comma,semi;pipe|',
  'ünïcödé ✓ 🚀 𝔘 中文',
  'e\u0301 combining',
  '{"json":"looking"}',
  ' leading and trailing ',
  '',
];

describe('schema', () => {
  it('ensureSchema is idempotent, also from two sinks at once, and creates the unique last-value index', async () => {
    const a = sink({ table: 'schema_twice' });
    const b = sink({ table: 'schema_twice' });
    const [ia, ib] = await Promise.all([a.ensureSchema(), b.ensureSchema()]);
    expect(ia.kind).toBe('partitioned');
    expect(ib.kind).toBe('partitioned');
    const c = sink({ table: 'schema_twice' });
    expect((await c.ensureSchema()).kind).toBe('partitioned');
    const idx = await db.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE tablename = 'schema_twice'`);
    expect(idx.rows.map((r) => r.indexdef)).toEqual([expect.stringMatching(/UNIQUE INDEX .* \(device, metric, "time" DESC\)/)]);
    const part = await db.query<{ strategy: string }>(`SELECT partstrat AS strategy FROM pg_partitioned_table WHERE partrelid = 'schema_twice'::regclass`);
    expect(part.rows).toEqual([{ strategy: 'r' }]);
  });

  it("timescale 'require' fails with DB_FAILED on a server without TimescaleDB", async () => {
    const s = sink({ timescale: 'require' });
    await expect(s.ensureSchema()).rejects.toMatchObject({ code: 'DB_FAILED', message: expect.stringMatching(/timescaledb/) });
    await expect(s.write([{ device: 'd', time: T0, metric: 'm', value: 1 }])).rejects.toMatchObject({ code: 'DB_FAILED' });
  });

  it('native partitioning creates one partition per UTC day a batch touches, and rows land in theirs', async () => {
    const s = sink({ table: 'parts' });
    const day = (y: number, m: number, d: number, h = 0, mi = 0, sec = 0, ms = 0): number => Date.UTC(y, m - 1, d, h, mi, sec, ms);
    const points: TelemetryPoint[] = [
      { device: 'a', metric: 'x', time: day(2026, 3, 1, 23, 59, 59, 999), value: 1 },
      { device: 'a', metric: 'x', time: day(2026, 3, 2), value: 2 },
      { device: 'a', metric: 'x', time: day(2026, 3, 2, 12), value: 3 },
      { device: 'b', metric: 'x', time: day(1999, 12, 31, 23), value: 4 },
    ];
    await s.write(points);
    await s.write([{ device: 'a', metric: 'x', time: day(2026, 3, 5, 1), value: 5 }]);
    const parts = await db.query<{ name: string; bound: string }>(
      `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'parts'::regclass ORDER BY 1`,
    );
    expect(parts.rows.map((r) => r.name)).toEqual(['parts_p19991231', 'parts_p20260301', 'parts_p20260302', 'parts_p20260305']);
    expect(parts.rows[1]?.bound).toBe("FOR VALUES FROM ('2026-03-01 00:00:00+00') TO ('2026-03-02 00:00:00+00')");
    const placed = await db.query<{ part: string; value: number }>(`SELECT tableoid::regclass::text AS part, value FROM parts ORDER BY value`);
    expect(placed.rows).toEqual([
      { part: 'parts_p20260301', value: 1 },
      { part: 'parts_p20260302', value: 2 },
      { part: 'parts_p20260302', value: 3 },
      { part: 'parts_p19991231', value: 4 },
      { part: 'parts_p20260305', value: 5 },
    ]);
    expect(s.stats().partitionsCreated).toBe(4);
    // A second sink on the same table finds the partitions instead of creating them again.
    const again = sink({ table: 'parts' });
    await again.write([{ device: 'c', metric: 'x', time: day(2026, 3, 2, 3), value: 6 }]);
    expect(again.stats().partitionsCreated).toBe(0);
  });

  it('a partition dropped behind the sink’s back (retention) is created again', async () => {
    const s = sink({ table: 'dropped' });
    await s.write([{ device: 'a', metric: 'x', time: T0, value: 1 }]);
    await db.query('DROP TABLE dropped_p20260110');
    await s.write([{ device: 'a', metric: 'x', time: T0 + 1, value: 2 }]);
    expect((await rows('dropped')).map((r) => r.value)).toEqual([2]);
  });
});

describe('ingest', () => {
  function awkwardPoints(): TelemetryPoint[] {
    const out: TelemetryPoint[] = [];
    // Device ids and metric names follow the one schema (schema.ts); awkward text lives in extra.
    AWKWARD.forEach((s, i) => {
      out.push({
        device: `d.${i}_x-${i % 3}`,
        metric: `m:${i}/a.b_c-d`,
        time: T0 + i,
        value: i % 4 === 0 ? null : i * 1.5 - 7.25,
        extra: { s, nested: { list: [s, i, true, null], [s]: s }, unit: '°C' },
      });
    });
    out.push({ device: 'num', metric: 'tiny', time: T0, value: 5e-324 });
    out.push({ device: 'num', metric: 'huge', time: T0, value: -1.7976931348623157e308 });
    out.push({ device: 'num', metric: 'third', time: T0, value: 1 / 3 });
    out.push({ device: 'num', metric: 'negzero', time: T0, value: -0 });
    out.push({ device: 'time', metric: 'first', time: MIN_POINT_TIME, value: 1 });
    out.push({ device: 'time', metric: 'last', time: MAX_POINT_TIME, value: 1 });
    return out;
  }

  for (const method of ['copy', 'insert'] as const) {
    it(`${method}: every awkward character in device, metric and extra round-trips exactly`, async () => {
      const table = `awkward_${method}`;
      const s = sink({ table, method });
      const points = awkwardPoints();
      await s.write(points);
      const got = await rows(table);
      const want = expected(points).map((p) => (Object.is(p.value, -0) ? { ...p, value: 0 } : p));
      expect(got).toEqual(want);
      expect(s.stats()).toMatchObject({ rowsWritten: points.length, rowsSkipped: 0, batches: 1 });
    });
  }

  it('the one-statement path stores every time exactly (epoch ms made timestamptz in SQL): the schema’s ends, millisecond edges, 2,000 seeded times over two days', async () => {
    const rnd = mulberry32(7);
    const times = [MIN_POINT_TIME, MAX_POINT_TIME, 1, 999, 1_000, 59_999, 3_599_999, 86_399_999, T0 + 1, T0 + 999, Date.UTC(2262, 3, 11, 23, 47, 16, 853)];
    for (let i = 0; i < 2_000; i++) times.push(T0 + Math.floor(rnd() * 2 * 86_400_000)); // few days: one partition each
    const points = times.map((time, i): TelemetryPoint => ({ device: 'ms', metric: `m${i}`, time, value: i }));
    const s = sink({ table: 'exact_ms' });
    await s.write(points);
    expect(s.stats()).toMatchObject({ rowsWritten: points.length, batches: 1 });
    expect(await rows('exact_ms')).toEqual(expected(points));
  });

  it('copy and insert store the same rows for the same seeded random batch', async () => {
    const rnd = mulberry32(9);
    const chars = ['a', 'Z', '\t', '\n', '\\', '"', ',', ' ', 'é', '🚀', '=', '\r', '.', 'N'];
    const str = (n: number): string => Array.from({ length: 1 + Math.floor(rnd() * n) }, () => chars[Math.floor(rnd() * chars.length)]).join('');
    const name = (n: number): string => Array.from({ length: 1 + Math.floor(rnd() * n) }, () => 'aZ9._-'[Math.floor(rnd() * 6)]).join('');
    const points: TelemetryPoint[] = Array.from({ length: 3_000 }, (_, i) => ({
      device: `d${i % 17}${name(3)}`,
      metric: `m${name(4)}`,
      time: T0 + Math.floor(rnd() * 5 * 86_400_000),
      value: rnd() < 0.1 ? null : (rnd() - 0.5) * 1e6,
      ...(rnd() < 0.5 ? { extra: { k: str(6), n: Math.floor(rnd() * 1000) } } : {}),
    }));
    const a = sink({ table: 'same_copy', method: 'copy', batchRows: 700 });
    const b = sink({ table: 'same_insert', method: 'insert', batchRows: 700 });
    await Promise.all([a.write(points.slice(0, 1500)), a.write(points.slice(1500))]);
    await Promise.all([b.write(points.slice(0, 1500)), b.write(points.slice(1500))]);
    const ra = await rows('same_copy');
    const rb = await rows('same_insert');
    expect(ra.length).toBeGreaterThan(2_900); // random collisions on (device, metric, time) are rare but allowed
    expect(rb).toEqual(ra);
    expect(a.stats().rowsWritten + a.stats().rowsSkipped).toBe(points.length);
    expect(a.stats()).toMatchObject({ rowsWritten: ra.length });
    expect(b.stats()).toMatchObject({ rowsWritten: rb.length });
  });

  it('insert splits a batch larger than the 65535-parameter limit into several statements', async () => {
    const s = sink({ table: 'many_params', method: 'insert', batchRows: 30_000 });
    const points = Array.from({ length: 30_000 }, (_, i) => ({ device: `d${i % 3}`, metric: 'm', time: T0 + i, value: i }));
    await s.write(points);
    const n = await db.query<{ n: string }>('SELECT count(*) AS n FROM many_params');
    expect(Number(n.rows[0]?.n)).toBe(30_000);
    expect(s.stats()).toMatchObject({ rowsWritten: 30_000, batches: 1 });
  });

  for (const method of ['copy', 'insert'] as const) {
    it(`${method}: redelivery of the same batch inserts nothing twice (count and skipped stat)`, async () => {
      const table = `redeliver_${method}`;
      const s = sink({ table, method });
      const points = Array.from({ length: 250 }, (_, i) => ({ device: `d${i % 5}`, metric: i % 2 ? 'a' : 'b', time: T0 + i * 1000, value: i }));
      await s.write(points);
      await s.write(points);
      // within one batch: the identical copy changes nothing, the later different one wins (the duplicate policy)
      await s.write([points[0] as TelemetryPoint, { ...(points[0] as TelemetryPoint), value: 999 }]);
      const got = await rows(table);
      expect(got).toEqual(expected([{ ...(points[0] as TelemetryPoint), value: 999 }, ...points.slice(1)]));
      expect(s.stats()).toMatchObject({ rowsWritten: 250, rowsSkipped: 251, replaced: 1, batches: 3 });
      // and after a restart of the sink (a new process): still nothing twice
      const again = sink({ table, method });
      await again.write(points.slice(1, 11));
      expect(again.stats()).toMatchObject({ rowsWritten: 0, rowsSkipped: 10 });
      expect(await rows(table)).toHaveLength(250);
    });
  }

  it('batches by size and by time; concurrent writes share a batch and all resolve after its COMMIT', async () => {
    const s = sink({ table: 'batching', batchRows: 100, maxDelayMs: 50 });
    const writes = Array.from({ length: 10 }, (_, w) =>
      s.write(Array.from({ length: 25 }, (_, i) => ({ device: `w${w}`, metric: 'm', time: T0 + i, value: i }))),
    );
    await Promise.all(writes);
    // 250 points in writes of 25 with batchRows 100: two full batches and a timed one of 50
    expect(s.stats()).toMatchObject({ rowsWritten: 250, batches: 3 });
    expect(await rows('batching')).toHaveLength(250);
  });

  it('flush commits what is buffered now; an empty write resolves at once', async () => {
    const s = sink({ table: 'flushing', maxDelayMs: 60_000 });
    let resolved = false;
    const w = s.write([{ device: 'd', metric: 'm', time: T0, value: 1 }]).then(() => {
      resolved = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(resolved).toBe(false); // held for the batch, not committed yet
    await s.flush();
    await w;
    expect(await rows('flushing')).toHaveLength(1);
    await s.write([]);
    await s.flush();
  });

  it('a data error rejects the whole batch with SINK_REJECTED (retrying cannot help: a dead letter, not a held outage) and the database error as cause; later batches still work', async () => {
    await db.query('CREATE TABLE checked (device text NOT NULL, time timestamptz NOT NULL, metric text NOT NULL, value double precision CHECK (value < 1000), extra jsonb)');
    const s = sink({ table: 'checked', batchRows: 10 });
    expect((await s.ensureSchema()).kind).toBe('table');
    const bad = s.write([
      { device: 'd', metric: 'm', time: T0, value: 1 },
      { device: 'd', metric: 'm', time: T0 + 1, value: 5000 },
    ]);
    const err = await bad.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineError);
    expect(err).toMatchObject({ code: 'SINK_REJECTED', cause: { code: '23514' } });
    expect(s.stats()).toMatchObject({ failedBatches: 1, retries: 0, rowsWritten: 0 });
    await s.write([{ device: 'd', metric: 'm', time: T0 + 2, value: 2 }]);
    expect((await rows('checked')).map((r) => r.value)).toEqual([2]);
  });

  it('write, flush and queries after close() reject with CLOSED; close is idempotent and commits first', async () => {
    const s = sink({ table: 'closing', maxDelayMs: 60_000 });
    const pending = s.write([{ device: 'd', metric: 'm', time: T0, value: 1 }]);
    await s.close();
    await pending;
    expect(await rows('closing')).toHaveLength(1);
    await s.close();
    await expect(s.write([{ device: 'd', metric: 'm', time: T0, value: 1 }])).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(s.lastValues()).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('a batch of new keys is one statement (no transaction); one with a stored key runs the transaction, which reports the replacement and counts both', async () => {
    const pool = testPool({ connectionString: server.url, max: 2 });
    const statements: string[] = [];
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...a: unknown[]) => unknown;
      (client as unknown as { query: (...a: unknown[]) => unknown }).query = (...a: unknown[]) => {
        const q = a[0] as string | { text?: string };
        statements.push((typeof q === 'string' ? q : q.text ?? 'COPY').split(' ')[0] ?? '');
        return query(...a);
      };
    });
    const replaced: number[] = [];
    const s = createPostgresSink({ pool, table: 'one_statement', maxDelayMs: 5, onReplaced: (r) => replaced.push(r.value ?? NaN) });
    onTestFinished(() => pool.end());
    await s.write([{ device: 'first', metric: 'm', time: T0, value: 0 }]); // creates the day's partition
    statements.length = 0;
    const points = Array.from({ length: 300 }, (_, i) => ({ device: `d${i % 3}`, metric: 'm', time: T0 + i, value: i, ...(i % 7 === 0 ? { extra: { note: `"q" \\ ${i}` } } : {}) }));
    await s.write(points);
    expect(statements).toEqual(['INSERT']);
    expect((await rows('one_statement')).filter((r) => r.device !== 'first')).toEqual(expected(points));
    statements.length = 0;
    await s.write([{ ...(points[5] as TelemetryPoint), value: -5 }, { device: 'new', metric: 'm', time: T0, value: 1 }, points[6] as TelemetryPoint]);
    expect(statements).toContain('BEGIN');
    expect(statements).toContain('COMMIT');
    expect(replaced).toEqual([-5]);
    expect(s.stats()).toMatchObject({ rowsWritten: 302, rowsSkipped: 1, replaced: 1, batches: 3 });
    expect((await rows('one_statement')).find((r) => r.time === T0 + 5 && r.device === 'd2')?.value).toBe(-5);
    // a new key twice in one batch: the one statement inserts the first arrival, the transaction makes the later one win
    await s.write([{ device: 'twice', metric: 'm', time: T0, value: 1 }, { device: 'twice', metric: 'm', time: T0, value: 2 }]);
    expect(replaced).toEqual([-5, 2]);
    expect((await rows('one_statement')).filter((r) => r.device === 'twice').map((r) => r.value)).toEqual([2]);
    expect(s.stats()).toMatchObject({ rowsWritten: 303, rowsSkipped: 1, replaced: 2 });
    await s.close();
  });

  it('uses an existing pg.Pool and leaves it open on close()', async () => {
    const pool = testPool({ connectionString: server.url, max: 2 });
    const s = createPostgresSink({ pool, table: 'shared_pool', maxDelayMs: 5 });
    await s.write([{ device: 'd', metric: 'm', time: T0, value: 1 }]);
    await s.close();
    expect((await pool.query('SELECT count(*)::int AS n FROM shared_pool')).rows).toEqual([{ n: 1 }]);
    await pool.end();
  });
});

describe('queries', () => {
  const H = 3_600_000;
  // device a: temperature every 10 min with one null; a 45-minute silence; device b: sparse.
  const data: TelemetryPoint[] = [
    { device: 'a', metric: 'temp', time: T0, value: 20 },
    { device: 'a', metric: 'temp', time: T0 + 10 * 60_000, value: 22 },
    { device: 'a', metric: 'temp', time: T0 + 20 * 60_000, value: null, extra: { status: 'sensor fault' } },
    { device: 'a', metric: 'temp', time: T0 + 65 * 60_000, value: 30 },
    { device: 'a', metric: 'hum', time: T0 + 20 * 60_000, value: 55 },
    { device: 'a', metric: 'hum', time: T0 + 70 * 60_000, value: 50 },
    { device: 'b', metric: 'temp', time: T0 - 2 * H, value: 5 },
    { device: 'b', metric: 'temp', time: T0 + 3 * H, value: 7 },
    { device: 'B', metric: 'temp', time: T0, value: 1 },
  ];
  let s: PostgresSink;
  beforeAll(async () => {
    s = sink({ table: 'queries' });
    await s.write(data);
  });

  it('lastValues: the latest point of each (device, metric), sorted by device then metric in byte order', async () => {
    expect(await s.lastValues()).toEqual([
      { device: 'B', metric: 'temp', time: T0, value: 1 },
      { device: 'a', metric: 'hum', time: T0 + 70 * 60_000, value: 50 },
      { device: 'a', metric: 'temp', time: T0 + 65 * 60_000, value: 30 },
      { device: 'b', metric: 'temp', time: T0 + 3 * H, value: 7 },
    ]);
    expect(await s.lastValues({ metric: 'hum' })).toEqual([{ device: 'a', metric: 'hum', time: T0 + 70 * 60_000, value: 50 }]);
    expect(await s.lastValues({ device: 'b' })).toEqual([{ device: 'b', metric: 'temp', time: T0 + 3 * H, value: 7 }]);
    expect(await s.lastValues({ device: 'nobody' })).toEqual([]);
  });

  it('downsample: non-empty epoch-aligned buckets in [from, to), count of all points, min/max/avg of non-null values', async () => {
    expect(await s.downsample({ device: 'a', metric: 'temp', from: T0, to: T0 + 2 * H, bucketMs: 30 * 60_000 })).toEqual([
      { bucket: T0, count: 3, min: 20, max: 22, avg: 21 },
      { bucket: T0 + H, count: 1, min: 30, max: 30, avg: 30 },
    ]);
    // to is exclusive: the point at T0 + 65 min is outside [T0, T0 + 65 min)
    expect(await s.downsample({ device: 'a', metric: 'temp', from: T0, to: T0 + 65 * 60_000, bucketMs: H })).toEqual([
      { bucket: T0, count: 3, min: 20, max: 22, avg: 21 },
    ]);
    // a bucket holding only a null value: count 1, aggregates null
    expect(await s.downsample({ device: 'a', metric: 'temp', from: T0 + 15 * 60_000, to: T0 + 25 * 60_000, bucketMs: 7 * 60_000 })).toEqual([
      { bucket: Math.floor((T0 + 20 * 60_000) / (7 * 60_000)) * 7 * 60_000, count: 1, min: null, max: null, avg: null },
    ]);
    // buckets are aligned to the epoch, not to `from`
    const odd = 7 * 60_000;
    expect((await s.downsample({ device: 'a', metric: 'temp', from: T0 + 1, to: T0 + 11 * 60_000, bucketMs: odd })).map((b) => b.bucket)).toEqual([
      Math.floor((T0 + 10 * 60_000) / odd) * odd,
    ]);
    expect(await s.downsample({ device: 'a', metric: 'temp', from: T0, to: T0, bucketMs: H })).toEqual([]);
    // day buckets span the whole history, with from/to beyond the storable range
    expect(await s.downsample({ device: 'b', metric: 'temp', from: -Number.MAX_SAFE_INTEGER, to: Number.MAX_SAFE_INTEGER, bucketMs: 86_400_000 })).toEqual([
      { bucket: Date.UTC(2026, 0, 10), count: 2, min: 5, max: 7, avg: 6 },
    ]);
  });

  it('gaps: consecutive points (any metric) further apart than minGapMs, per device, in [from, to)', async () => {
    expect(await s.gaps({ from: T0 - 3 * H, to: T0 + 4 * H, minGapMs: 30 * 60_000 })).toEqual([
      { device: 'a', from: T0 + 20 * 60_000, to: T0 + 65 * 60_000, durationMs: 45 * 60_000 },
      { device: 'b', from: T0 - 2 * H, to: T0 + 3 * H, durationMs: 5 * H },
    ]);
    // exactly minGapMs is not a gap ("more than")
    expect(await s.gaps({ from: T0, to: T0 + H, minGapMs: 10 * 60_000, device: 'a' })).toEqual([]);
    expect(await s.gaps({ from: T0, to: T0 + H, minGapMs: 10 * 60_000 - 1, device: 'a' })).toEqual([
      { device: 'a', from: T0, to: T0 + 10 * 60_000, durationMs: 10 * 60_000 },
      { device: 'a', from: T0 + 10 * 60_000, to: T0 + 20 * 60_000, durationMs: 10 * 60_000 },
    ]);
    // the range cuts b's gap: only one of its points is inside
    expect(await s.gaps({ from: T0 - H, to: T0 + 4 * H, minGapMs: 1, device: 'b' })).toEqual([]);
  });

  it('downsample floors to whole buckets (bucket = floor(time / bucketMs) * bucketMs)', async () => {
    // Points before 1970 are outside the one schema (schema.ts), so the floor is checked above it.
    const pre = sink({ table: 'pre_epoch' });
    const B = 10 * H;
    await pre.write([B - 1, B - H, B - H - 1, B].map((time, i) => ({ device: 'd', metric: 'm', time, value: i })));
    expect(await pre.downsample({ device: 'd', metric: 'm', from: 0, to: B + H, bucketMs: H })).toEqual([
      { bucket: B - 2 * H, count: 1, min: 2, max: 2, avg: 2 },
      { bucket: B - H, count: 2, min: 0, max: 1, avg: 0.5 },
      { bucket: B, count: 1, min: 3, max: 3, avg: 3 },
    ]);
  });

  it('answers do not depend on the session time zone', async () => {
    const tz = createPostgresSink({ connectionString: `${server.url}?options=-c%20TimeZone%3DPacific%2FChatham`, table: 'queries' });
    sinks.push(tz);
    const pool = testPool({ connectionString: `${server.url}?options=-c%20TimeZone%3DPacific%2FChatham`, max: 1 });
    expect((await pool.query<{ TimeZone: string }>('SHOW TimeZone')).rows).toEqual([{ TimeZone: 'Pacific/Chatham' }]);
    await pool.end();
    const day = { device: 'b', metric: 'temp', from: T0 - 86_400_000, to: T0 + 86_400_000, bucketMs: 86_400_000 };
    expect(await tz.downsample(day)).toEqual(await s.downsample(day));
    expect(await tz.lastValues()).toEqual(await s.lastValues());
    const g = { from: T0 - 3 * H, to: T0 + 4 * H, minGapMs: 60_000 };
    expect(await tz.gaps(g)).toEqual(await s.gaps(g));
    const tzWriter = createPostgresSink({ connectionString: `${server.url}?options=-c%20TimeZone%3DPacific%2FChatham`, table: 'tz_write', maxDelayMs: 1 });
    sinks.push(tzWriter);
    await tzWriter.write([{ device: 'tz', metric: 'm', time: T0, value: 1 }]);
    expect(await rows('tz_write')).toEqual([{ device: 'tz', metric: 'm', time: T0, value: 1, extra: null }]);
  });

  it('the three queries agree with a JavaScript model on seeded random data', async () => {
    const rnd = mulberry32(42);
    const q = sink({ table: 'queries_model' });
    const pts = new Map<string, TelemetryPoint>();
    for (let i = 0; i < 2_000; i++) {
      const p = {
        device: `dev${Math.floor(rnd() * 6)}`,
        metric: ['t', 'h', 'p'][Math.floor(rnd() * 3)] as string,
        time: T0 + Math.floor(rnd() * 2 * 86_400_000),
        value: rnd() < 0.05 ? null : Math.round((rnd() * 100 - 50) * 8) / 8, // eighths: sums are exact
      };
      if (!pts.has(`${p.device}|${p.metric}|${p.time}`)) pts.set(`${p.device}|${p.metric}|${p.time}`, p);
    }
    const all = [...pts.values()];
    await q.write(all);
    const from = T0 + 3 * 3_600_000;
    const to = T0 + 30 * 3_600_000;
    const bucketMs = 5_400_000;
    // model
    const last = new Map<string, TelemetryPoint>();
    for (const p of all) {
      const k = `${p.device}|${p.metric}`;
      if ((last.get(k)?.time ?? -Infinity) < p.time) last.set(k, p);
    }
    const wantLast = [...last.values()]
      .sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0))
      .map((p) => ({ device: p.device, metric: p.metric, time: p.time, value: p.value }));
    expect(await q.lastValues()).toEqual(wantLast);
    const series = all.filter((p) => p.device === 'dev2' && p.metric === 'h' && p.time >= from && p.time < to);
    const buckets = new Map<number, (number | null)[]>();
    for (const p of series) {
      const b = Math.floor(p.time / bucketMs) * bucketMs;
      buckets.set(b, [...(buckets.get(b) ?? []), p.value]);
    }
    const wantBuckets = [...buckets.entries()]
      .sort((x, y) => x[0] - y[0])
      .map(([bucket, vs]) => {
        const nn = vs.filter((v): v is number => v !== null);
        return {
          bucket,
          count: vs.length,
          min: nn.length ? Math.min(...nn) : null,
          max: nn.length ? Math.max(...nn) : null,
          avg: nn.length ? nn.reduce((x, y) => x + y, 0) / nn.length : null,
        };
      });
    const gotBuckets = await q.downsample({ device: 'dev2', metric: 'h', from, to, bucketMs });
    expect(gotBuckets.map((b) => ({ ...b, avg: b.avg === null ? null : Math.round(b.avg * 1e9) / 1e9 }))).toEqual(
      wantBuckets.map((b) => ({ ...b, avg: b.avg === null ? null : Math.round(b.avg * 1e9) / 1e9 })),
    );
    const minGapMs = 20 * 60_000;
    const wantGaps: { device: string; from: number; to: number; durationMs: number }[] = [];
    for (const d of [...new Set(all.map((p) => p.device))].sort()) {
      const ts = all.filter((p) => p.device === d && p.time >= from && p.time < to).map((p) => p.time).sort((x, y) => x - y);
      for (let i = 1; i < ts.length; i++) {
        const a = ts[i - 1] as number;
        const b = ts[i] as number;
        if (b - a > minGapMs) wantGaps.push({ device: d, from: a, to: b, durationMs: b - a });
      }
    }
    expect(wantGaps.length).toBeGreaterThan(3);
    expect(await q.gaps({ from, to, minGapMs })).toEqual(wantGaps);
  });
});

describe('wrong types and bad values', () => {
  const p = { device: 'd', metric: 'm', time: T0, value: 1 };
  it('createPostgresSink rejects bad options', () => {
    const url = 'postgres://x@127.0.0.1:1/x';
    expect(() => createPostgresSink(undefined as never)).toThrow(TypeError);
    expect(() => createPostgresSink({})).toThrow(/exactly one of connectionString or pool/);
    expect(() => createPostgresSink({ connectionString: 5 as never })).toThrow(/options.connectionString: expected a string, got number/);
    expect(() => createPostgresSink({ connectionString: url, pool: {} as never })).toThrow(/options.pool: expected a pg.Pool, got Object/);
    expect(() => createPostgresSink({ connectionString: url, table: 'bad name' })).toThrow(RangeError);
    expect(() => createPostgresSink({ connectionString: url, table: 'x"; DROP TABLE y; --' })).toThrow(/options.table/);
    expect(() => createPostgresSink({ connectionString: url, table: 'a'.repeat(41) })).toThrow(RangeError);
    expect(() => createPostgresSink({ connectionString: url, batchRows: 0 })).toThrow(/options.batchRows: expected an integer in \[1,/);
    expect(() => createPostgresSink({ connectionString: url, batchRows: '5' as never })).toThrow(TypeError);
    expect(() => createPostgresSink({ connectionString: url, maxDelayMs: -1 })).toThrow(RangeError);
    expect(() => createPostgresSink({ connectionString: url, method: 'upsert' as never })).toThrow(/options.method: expected one of 'copy', 'insert', got 'upsert'/);
    expect(() => createPostgresSink({ connectionString: url, timescale: true as never })).toThrow(TypeError);
    expect(() => createPostgresSink({ connectionString: url, chunkIntervalMs: 1000 })).toThrow(RangeError);
    expect(() => createPostgresSink({ connectionString: url, retry: { attempts: 0 } })).toThrow(/options.retry.attempts/);
    expect(() => createPostgresSink({ connectionString: url, retry: 3 as never })).toThrow(TypeError);
    expect(() => createPostgresSink({ connectionString: url, onReplaced: 'log' as never })).toThrow(/options.onReplaced: expected a function/);
    expect(() => createPostgresSink({ connectionString: url, name: {} as never })).toThrow(/options.name: expected a string/);
  });

  it('write rejects bad points before they reach a batch; the batch of the good writes is unaffected', async () => {
    const s = sink({ table: 'wrong_types' });
    const cases: [unknown, ErrorConstructor, RegExp][] = [
      [null, TypeError, /points: expected an array/],
      [[null], TypeError, /points\[0\]: expected a telemetry point object, got null/],
      [[p, { ...p, device: 1 }], TypeError, /points\[1\]\.device: expected a string, got number/],
      [[{ ...p, metric: undefined }], TypeError, /points\[0\]\.metric/],
      [[{ ...p, time: '2026' }], TypeError, /points\[0\]\.time: expected an integer \(epoch ms\)/],
      [[{ ...p, time: 1.5 }], RangeError, /points\[0\]\.time/],
      [[{ ...p, time: MAX_POINT_TIME + 1 }], RangeError, /1970-01-01 to 2262-04-11/],
      [[{ ...p, time: -1 }], RangeError, /points\[0\]\.time/],
      [[{ ...p, value: '1' }], TypeError, /points\[0\]\.value: expected a number or null, got string/],
      [[{ ...p, value: NaN }], RangeError, /finite/],
      [[{ ...p, value: Infinity }], RangeError, /finite/],
      [[{ ...p, extra: [] }], TypeError, /points\[0\]\.extra: expected a plain object or undefined, got array/],
      [[{ ...p, extra: { n: 1n } }], TypeError, /points\[0\]\.extra/],
      [[{ ...p, device: 'nul\0' }], RangeError, /points\[0\]\.device: expected 1–128 characters/],
      [[{ ...p, metric: '\uD800' }], RangeError, /points\[0\]\.metric: expected 1–256 characters/],
      [[{ ...p, extra: { s: 'x\0' } }], RangeError, /points\[0\]\.extra\.s/],
    ];
    const good = s.write([p]);
    for (const [arg, type, msg] of cases) {
      const err = await s.write(arg as never).catch((e: unknown) => e);
      expect(err, String(msg)).toBeInstanceOf(type);
      expect((err as Error).message).toMatch(msg);
    }
    await good;
    expect(await rows('wrong_types')).toHaveLength(1);
  });

  it('queries reject bad arguments', async () => {
    const s = sink({ table: 'wrong_query' });
    await expect(s.lastValues(5 as never)).rejects.toThrow(TypeError);
    await expect(s.lastValues({ metric: 5 as never })).rejects.toThrow(/filter.metric: expected a string, got number/);
    await expect(s.downsample(null as never)).rejects.toThrow(TypeError);
    await expect(s.downsample({ device: 'd', metric: 'm', from: 0, to: 10, bucketMs: 0 })).rejects.toThrow(/query.bucketMs/);
    await expect(s.downsample({ device: 'd', metric: 'm', from: 10, to: 0, bucketMs: 1 })).rejects.toThrow(RangeError);
    await expect(s.downsample({ device: 'd', metric: 1 as never, from: 0, to: 10, bucketMs: 1 })).rejects.toThrow(/query.metric/);
    await expect(s.gaps({ from: 0, to: '1' as never, minGapMs: 1 })).rejects.toThrow(/query.to: expected epoch milliseconds/);
    await expect(s.gaps({ from: 0, to: 1, minGapMs: -1 })).rejects.toThrow(RangeError);
    await expect(s.gaps({ from: 0, to: 1, minGapMs: 1, device: 3 as never })).rejects.toThrow(TypeError);
  });
});

describe('isoTime (the rows\' time text)', () => {
  it('is new Date(ms).toISOString() for every storable time: hour, minute, second and millisecond edges and 100,000 seeded ones', async () => {
    const { isoTime, PG_MAX_TIME, PG_MIN_TIME } = await import('../src/postgres-rows.js');
    const rnd = mulberry32(13);
    const xs = [0, 1, 9, 10, 99, 100, 999, 1_000, 59_999, 60_000, 3_599_999, 3_600_000, 86_399_999, MIN_POINT_TIME, MAX_POINT_TIME, PG_MAX_TIME, PG_MIN_TIME, -1];
    for (let i = 0; i < 100_000; i++) xs.push(Math.floor(rnd() * PG_MAX_TIME));
    const wrong = xs.filter((x) => isoTime(x) !== new Date(x).toISOString());
    expect(wrong).toEqual([]);
  });
});
