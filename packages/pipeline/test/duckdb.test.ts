// The DuckDB store against a real DuckDB (memory and file databases) and a real lake.
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mulberry32, tempDir } from '@outpost/test-peers';
import { createDuckDbStore, type DuckDbStore } from '../src/duckdb.js';
import { createLake } from '../src/lake.js';
import { PipelineError } from '../src/errors.js';
import type { TelemetryPoint } from '../src/types.js';
import { manualClock } from './fixtures/manual-clock.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
async function open(opts: Parameters<typeof createDuckDbStore>[0] = {}): Promise<DuckDbStore> {
  const db = await createDuckDbStore({ maxAgeMs: 0, ...opts });
  cleanups.push(() => db.close().catch(() => undefined));
  return db;
}
function tmp(): string {
  const d = tempDir('outpost-duckdb-');
  cleanups.push(() => d.cleanup());
  return d.path;
}

const T = Date.UTC(2026, 10, 27, 12, 0, 0); // a multiple of every bucket width used below
const p = (device: string, dt: number, metric: string, value: number | null, extra?: Record<string, unknown>): TelemetryPoint => ({
  device,
  time: T + dt,
  metric,
  value,
  ...(extra === undefined ? {} : { extra }),
});

// A small hand-checked table, shared by the query tests.
const TABLE: TelemetryPoint[] = [
  p('a', 0, 'temp', 10),
  p('a', 15_000, 'temp', 20),
  p('a', 59_999, 'temp', null, { raw: 'E1' }),
  p('a', 60_000, 'temp', 30),
  p('a', 200_000, 'temp', 5),
  p('a', 200_000, 'hum', 40),
  p('b', 1_000, 'temp', 7),
  p('b', 2_000, 'temp', 9),
  p('b', 500_000, 'temp', null),
  p('c', -1, 'temp', 99), // before the ranges queried below
];

describe('writes', () => {
  it('are idempotent on redelivery and keep nulls and extra JSON', async () => {
    const db = await open();
    await db.write(TABLE);
    await db.write(TABLE.slice(2, 6)); // redelivered
    await Promise.all([db.write(TABLE.slice(0, 3)), db.write([TABLE[0] as TelemetryPoint, TABLE[0] as TelemetryPoint])]);
    const rows = await db.query('SELECT device, time, metric, value, extra FROM telemetry ORDER BY device, metric, time');
    expect(rows).toHaveLength(TABLE.length);
    const sorted = [...TABLE].sort((x, y) => (x.device + x.metric).localeCompare(y.device + y.metric) || x.time - y.time);
    expect(rows).toEqual(sorted.map((q) => ({ device: q.device, time: q.time, metric: q.metric, value: q.value, extra: q.extra === undefined ? null : JSON.stringify(q.extra) })));
    const [j] = await db.query(`SELECT extra->>'raw' AS raw FROM telemetry WHERE extra IS NOT NULL`);
    expect(j).toEqual({ raw: 'E1' });
  });

  it('every value comes back exactly (a generation is staged as one JSON text): seeded doubles of every exponent, extremes, nulls, extras with quotes, escapes and non-ASCII text', async () => {
    const db = await open();
    const r = mulberry32(13);
    const bits = new DataView(new ArrayBuffer(8));
    const values: (number | null)[] = [Number.MAX_VALUE, Number.MIN_VALUE, -Number.MAX_VALUE, 0.1 + 0.2, 1e21, -1.5e-300, 2 ** 53 + 2, null, 0];
    while (values.length < 400) {
      bits.setUint32(0, Math.floor(r() * 2 ** 32));
      bits.setUint32(4, Math.floor(r() * 2 ** 32));
      const v = bits.getFloat64(0);
      if (Number.isFinite(v) && !Object.is(v, -0)) values.push(v);
    }
    const extras = [undefined, { s: 'quote " backslash \\ newline \n tab \t' }, { s: 'ü Δ 设备 😀', n: -0.5, nested: { a: [1, null, true] } }, { k: '\u0001\u001f' }];
    const points = values.map((v, i) => p(`dev-${i % 7}`, i * 1_000, i % 2 === 0 ? 'temp_c' : 'rh.pct', v, extras[i % extras.length]));
    await db.write(points);
    const rows = await db.query('SELECT device, time, metric, value, extra FROM telemetry ORDER BY time');
    expect(rows).toEqual(points.map((q) => ({ device: q.device, time: q.time, metric: q.metric, value: q.value, extra: q.extra === undefined ? null : JSON.stringify(q.extra) })));
  });

  it('persist in a database file across close and reopen; batching by rows and age', async () => {
    const path = join(tmp(), 'ts.duckdb');
    const db = await createDuckDbStore({ path, maxRows: 3, maxAgeMs: 20 });
    await Promise.all([db.write(TABLE.slice(0, 5)), db.write(TABLE.slice(5))]);
    expect(db.stats()).toMatchObject({ rows: TABLE.length, batchesFailed: 0, pendingRows: 0 });
    expect(db.stats().batches).toBeGreaterThanOrEqual(4); // maxRows 3 → at least ceil(10 / 3) transactions
    await db.close();
    const again = await open({ path });
    expect(await again.query('SELECT count(*) AS n FROM telemetry')).toEqual([{ n: TABLE.length }]);
  });

  it('group commit (the default): an idle store commits at the end of the turn, not after maxAgeMs; points written meanwhile commit together next', async () => {
    // A clock whose age timers never fire: only the group commit can seal a batch.
    const never = { setTimeout: () => 0, clearTimeout: () => undefined };
    const db = await open({ maxAgeMs: 3_600_000, clock: never, groupCommitIntervalMs: 0 });
    await db.write([p('g', 0, 'temp', 1)]);
    const during = [db.write([p('g', 1, 'temp', 2)]), db.write([p('g', 2, 'temp', 3)])]; // the first's commit is running
    await Promise.all(during);
    expect(db.stats()).toMatchObject({ rows: 3, batches: 2 }); // the two written during the commit shared one batch
    expect((await db.lastValues({ device: 'g' }))[0]?.value).toBe(3);

    const batched = await open({ maxAgeMs: 3_600_000, clock: never, groupCommit: false });
    let done = false;
    const written = batched.write([p('h', 0, 'temp', 1)]).then(() => (done = true));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(done).toBe(false); // waits for maxAgeMs (or maxRows, or flush)
    await batched.flush();
    await written;
    expect(batched.stats()).toMatchObject({ rows: 1, batches: 1 });
    await expect(createDuckDbStore({ groupCommit: 'yes' as unknown as boolean })).rejects.toThrow(TypeError);
  });

  it('groupCommitIntervalMs (default 100): writes within 100 ms of the last commit wait for its end and commit together; a write after a quiet spell commits at once', async () => {
    const clock = manualClock();
    const db = await open({ maxAgeMs: 3_600_000, clock });
    await db.write([p('i', 0, 'temp', 1)]); // no commit before: at once
    expect(db.stats()).toMatchObject({ rows: 1, batches: 1 });
    await clock.advance(5);
    let done = 0;
    const within = [db.write([p('i', 1, 'temp', 2)]), db.write([p('j', 1, 'temp', 3)])].map((w) => w.then(() => done++));
    await clock.advance(90); // 95 ms after the first commit
    expect(done).toBe(0);
    expect(db.stats()).toMatchObject({ rows: 1, batches: 1 });
    await clock.advance(5); // the interval ends: one commit for both
    await Promise.all(within);
    expect(db.stats()).toMatchObject({ rows: 3, batches: 2 });
    await clock.advance(1_000);
    await db.write([p('i', 2, 'temp', 4)]); // quiet for longer than the interval: at once again
    expect(db.stats()).toMatchObject({ rows: 4, batches: 3 });
    await expect(createDuckDbStore({ groupCommitIntervalMs: -1 })).rejects.toThrow(RangeError);
    await expect(createDuckDbStore({ groupCommitIntervalMs: '50' as unknown as number })).rejects.toThrow(TypeError);
  });

  it('a failing transaction rejects every waiting write with DB_FAILED and the next batch still works', async () => {
    const db = await open({ maxAgeMs: 0, retries: 1, retryDelayMs: 1 });
    // A column added behind the store's back makes the batch's INSERT fail.
    await db.query(`ALTER TABLE telemetry ADD COLUMN guard INTEGER DEFAULT 1`);
    const err = await db.write([p('z', 0, 'm', 1)]).then(
      () => undefined,
      (e: unknown) => e,
    );
    // The store's INSERT … SELECT names five columns positionally, so a sixth column breaks it.
    expect(err).toBeInstanceOf(PipelineError);
    expect((err as PipelineError).code).toBe('DB_FAILED');
    expect(db.stats().batchesFailed).toBe(1);
    await db.query(`ALTER TABLE telemetry DROP COLUMN guard`);
    await db.write([p('z', 0, 'm', 1)]);
    expect(await db.query(`SELECT device FROM telemetry`)).toEqual([{ device: 'z' }]);
  });
});

describe('queries (hand-computed expectations)', () => {
  it('lastValues: latest point per (device, metric), sorted, with filters', async () => {
    const db = await open();
    await db.write(TABLE);
    expect(await db.lastValues()).toEqual([
      { device: 'a', metric: 'hum', time: T + 200_000, value: 40 },
      { device: 'a', metric: 'temp', time: T + 200_000, value: 5 },
      { device: 'b', metric: 'temp', time: T + 500_000, value: null },
      { device: 'c', metric: 'temp', time: T - 1, value: 99 },
    ]);
    expect(await db.lastValues({ metric: 'hum' })).toEqual([{ device: 'a', metric: 'hum', time: T + 200_000, value: 40 }]);
    expect(await db.lastValues({ device: 'b' })).toEqual([{ device: 'b', metric: 'temp', time: T + 500_000, value: null }]);
    expect(await db.lastValues({ device: 'a', metric: 'temp' })).toEqual([{ device: 'a', metric: 'temp', time: T + 200_000, value: 5 }]);
    expect(await db.lastValues({ device: 'nobody' })).toEqual([]);
  });

  it('downsample: epoch-aligned non-empty buckets in [from, to), nulls counted but not aggregated', async () => {
    const db = await open();
    await db.write(TABLE);
    expect(await db.downsample({ device: 'a', metric: 'temp', from: T - 60_000, to: T + 200_000, bucketMs: 60_000 })).toEqual([
      { bucket: T, count: 3, min: 10, max: 20, avg: 15 },
      { bucket: T + 60_000, count: 1, min: 30, max: 30, avg: 30 },
      // T + 200_000 is excluded: the range is half-open
    ]);
    expect(await db.downsample({ device: 'a', metric: 'temp', from: T + 59_999, to: T + 60_000, bucketMs: 60_000 })).toEqual([
      { bucket: T, count: 1, min: null, max: null, avg: null },
    ]);
    // A width that does not divide a day: aligned to the epoch, not to the range start.
    expect(T % 7_000).toBe(2_000); // so the 7 s bucket holding T + 1 s and T + 2 s starts at T - 2 s
    expect(await db.downsample({ device: 'b', metric: 'temp', from: T, to: T + 3_000, bucketMs: 7_000 })).toEqual([
      { bucket: T - 2_000, count: 2, min: 7, max: 9, avg: 8 },
    ]);
    expect(await db.downsample({ device: 'a', metric: 'nothing', from: 0, to: T * 2, bucketMs: 1 })).toEqual([]);
  });

  it('gaps: consecutive points of any metric further apart than minGapMs, per device', async () => {
    const db = await open();
    await db.write(TABLE);
    expect(await db.gaps({ from: T, to: T + 1_000_000, minGapMs: 50_000 })).toEqual([
      { device: 'a', from: T + 60_000, to: T + 200_000, durationMs: 140_000 },
      { device: 'b', from: T + 2_000, to: T + 500_000, durationMs: 498_000 },
    ]);
    expect(await db.gaps({ from: T, to: T + 1_000_000, minGapMs: 15_000 })).toEqual([
      { device: 'a', from: T + 15_000, to: T + 59_999, durationMs: 44_999 },
      { device: 'a', from: T + 60_000, to: T + 200_000, durationMs: 140_000 },
      { device: 'b', from: T + 2_000, to: T + 500_000, durationMs: 498_000 },
    ]);
    // exactly minGapMs apart is not a gap; the range end is exclusive
    expect(await db.gaps({ from: T, to: T + 500_000, minGapMs: 15_000, device: 'a' })).toEqual([
      { device: 'a', from: T + 15_000, to: T + 59_999, durationMs: 44_999 },
      { device: 'a', from: T + 60_000, to: T + 200_000, durationMs: 140_000 },
    ]);
    expect(await db.gaps({ from: T, to: T + 500_000, minGapMs: 1_000, device: 'b' })).toEqual([]);
  });

  it('query() returns plain values: epoch ms for timestamps, numbers for safe BIGINTs', async () => {
    const db = await open();
    expect(
      await db.query(`SELECT TIMESTAMP '2026-01-01 00:00:00.123' AS t, 42::BIGINT AS n, 9007199254740993::BIGINT AS big, $1 AS s, $2 AS i, [1::BIGINT, 2] AS l`, ['x', 7]),
    ).toEqual([{ t: Date.UTC(2026, 0, 1, 0, 0, 0, 123), n: 42, big: 9007199254740993n, s: 'x', i: 7, l: [1, 2] }]);
    await expect(db.query('SELEC nonsense')).rejects.toMatchObject({ code: 'DB_FAILED' });
    expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]); // still usable after an error
  });
});

describe('lake summary', () => {
  it('counts rows and files per partition of the lake', async () => {
    const dir = tmp();
    const db = await open();
    expect(await db.lakeSummary(dir)).toEqual([]);
    const lake = await createLake({ dir, maxRows: 40, maxAgeMs: 0 });
    const rnd = mulberry32(3);
    const pts: TelemetryPoint[] = Array.from({ length: 500 }, (_, i) => ({ device: `d${i % 3}`, time: T + Math.floor(rnd() * 3 * 3_600_000), metric: `m${i}`, value: i }));
    await lake.write(pts);
    await lake.close();
    const expected = new Map<string, number>();
    for (const q of pts) {
      const iso = new Date(q.time).toISOString();
      const k = `${iso.slice(0, 10)} ${iso.slice(11, 13)}`;
      expected.set(k, (expected.get(k) ?? 0) + 1);
    }
    const got = await db.lakeSummary(dir);
    expect(new Map(got.map((r) => [`${r.date} ${r.hour}`, r.rows]))).toEqual(expected);
    expect(got.reduce((a, r) => a + r.files, 0)).toBe(lake.stats().files);
    expect(got.map((r) => `${r.date} ${r.hour}`)).toEqual([...expected.keys()].sort());
  });
});

describe('errors', () => {
  it('PEER_MISSING when @duckdb/node-api cannot be imported', async () => {
    const missing = Object.assign(new Error("Cannot find package '@duckdb/node-api'"), { code: 'ERR_MODULE_NOT_FOUND' });
    const err = await createDuckDbStore({ importer: () => Promise.reject(missing) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PipelineError);
    expect((err as PipelineError).code).toBe('PEER_MISSING');
    expect((err as PipelineError).message).toMatch(/install @duckdb\/node-api/);
    expect((err as PipelineError).cause).toBe(missing);
    await expect(createDuckDbStore({ importer: () => Promise.resolve({}) })).rejects.toMatchObject({ code: 'PEER_MISSING' });
  });

  it('creates a missing directory for the database file; DB_FAILED when the database cannot be opened', async () => {
    const nested = await createDuckDbStore({ path: join(tmp(), 'new', 'dir', 'x.duckdb') });
    await nested.close();
    const file = join(tmp(), 'a-file');
    writeFileSync(file, 'not a directory');
    await expect(createDuckDbStore({ path: join(file, 'x.duckdb') })).rejects.toMatchObject({ code: 'DB_FAILED' });
  });

  it('threads: DuckDB runs with the given number of worker threads (default: its own); bad values are refused', async () => {
    const one = await createDuckDbStore({ threads: 1 });
    expect(await one.query("SELECT current_setting('threads') AS t")).toEqual([{ t: 1 }]);
    await one.close();
    const own = await createDuckDbStore({});
    expect(Number((await own.query("SELECT current_setting('threads') AS t"))[0]?.['t'])).toBeGreaterThanOrEqual(1);
    await own.close();
    await expect(createDuckDbStore({ threads: 0 })).rejects.toThrow(RangeError);
    await expect(createDuckDbStore({ threads: 1.5 })).rejects.toThrow(RangeError);
    await expect(createDuckDbStore({ threads: '2' as never })).rejects.toThrow(/threads/);
  });

  it('CLOSED after close(), for writes and queries', async () => {
    const db = await createDuckDbStore({ maxAgeMs: 10_000 });
    const pending = db.write([p('a', 0, 'm', 1)]);
    await db.close();
    await pending; // close() flushed it
    for (const call of [
      () => db.write([p('a', 1, 'm', 1)]),
      () => db.query('SELECT 1'),
      () => db.lastValues(),
      () => db.downsample({ device: 'a', metric: 'm', from: 0, to: 1, bucketMs: 1 }),
      () => db.gaps({ from: 0, to: 1, minGapMs: 1 }),
      () => db.lakeSummary('/tmp'),
    ]) {
      await expect(call()).rejects.toMatchObject({ name: 'PipelineError', code: 'CLOSED' });
    }
    await db.close(); // idempotent
  });

  it('wrong types and bad values', async () => {
    const db = await open();
    const cases: [() => Promise<unknown>, ErrorConstructor, RegExp][] = [
      [() => createDuckDbStore(null as never), TypeError, /options: expected an object/],
      [() => createDuckDbStore({ path: 1 as never }), TypeError, /path: expected a string/],
      [() => createDuckDbStore({ path: '' }), RangeError, /path/],
      [() => createDuckDbStore({ maxRows: 0 }), RangeError, /maxRows/],
      [() => createDuckDbStore({ maxAgeMs: '1' as never }), TypeError, /maxAgeMs/],
      [() => createDuckDbStore({ importer: 'x' as never }), TypeError, /importer/],
      [() => db.write('x' as never), TypeError, /points: expected an array/],
      [() => db.write([{ device: 'd', time: 'now', metric: 'm', value: 1 }] as never), TypeError, /points\[0\].time/],
      [() => db.write([{ device: 'd', time: 0, metric: 'm', value: NaN }]), RangeError, /points\[0\].value/],
      [() => db.query(5 as never), TypeError, /sql: expected a string/],
      [() => db.query('SELECT 1', 'x' as never), TypeError, /params: expected an array/],
      [() => db.query('SELECT $1', [{}] as never), TypeError, /params\[0\]/],
      [() => db.lastValues(5 as never), TypeError, /filter: expected an object/],
      [() => db.lastValues({ metric: 5 } as never), TypeError, /filter.metric/],
      [() => db.downsample({ device: 'a', metric: 'm', from: 0, to: 1 } as never), TypeError, /q.bucketMs/],
      [() => db.downsample({ device: 'a', metric: 'm', from: 0, to: 1, bucketMs: 0 }), RangeError, /q.bucketMs/],
      [() => db.downsample({ device: 'a', metric: 'm', from: 5, to: 1, bucketMs: 1 }), RangeError, /q.to/],
      [() => db.downsample({ metric: 'm', from: 0, to: 1, bucketMs: 1 } as never), TypeError, /q.device/],
      [() => db.gaps({ from: 0, to: 1.5, minGapMs: 1 }), RangeError, /q.to/],
      [() => db.gaps({ from: 0, to: 1, minGapMs: -1 }), RangeError, /q.minGapMs/],
      [() => db.gaps({ from: 0, to: 1, minGapMs: 1, device: 3 } as never), TypeError, /q.device/],
      [() => db.gaps(null as never), TypeError, /q: expected an object/],
      [() => db.lakeSummary(1 as never), TypeError, /lakeDir/],
      [() => db.lakeSummary(''), RangeError, /lakeDir/],
    ];
    for (const [call, ctor, msg] of cases) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, String(msg)).toBeInstanceOf(ctor);
      expect((err as Error).message).toMatch(msg);
    }
    expect(db.stats()).toMatchObject({ rows: 0, pendingRows: 0 });
  });
});
