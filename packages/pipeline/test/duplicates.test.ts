// One duplicate-key policy in every store (issue #13, defect 5): for one (device, metric, time)
// the last writer by arrival order wins; a replaced value that differs is counted (`replaced`)
// and reported (`onReplaced`); an identical redelivery is not a replacement. Checked against
// real stores: DuckDB, PostgreSQL, InfluxDB 1.x, and the lake read back through DuckDB.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInflux, startPostgres, tempDir, type Influx, type Postgres } from '@outpost/test-peers';
import { createDuckDbStore } from '../src/duckdb.js';
import { createPostgresSink } from '../src/postgres.js';
import { createLake } from '../src/lake.js';
import { openPipelineStack } from '../src/stack.js';
import type { LastValue, Replacement, TelemetryPoint, TelemetrySink } from '../src/types.js';

const T = Date.UTC(2026, 10, 27, 12, 0, 0);
const pt = (dt: number, value: number | null, device = 'd1', metric = 'temp'): TelemetryPoint => ({ device, time: T + dt, metric, value });

/**
 * The input, one array per write, each write flushed before the next (arrival order = this order):
 * a second write replaces 1 by 2 at T; an identical redelivery of 5 at T+1s; then 6 and 7 at
 * T+1s in one write (two replacements, the later one wins inside a batch too).
 */
const WRITES: TelemetryPoint[][] = [
  [pt(0, 1), pt(1_000, 5), pt(0, 3, 'd2')],
  [pt(0, 2)],
  [pt(1_000, 5)],
  [pt(1_000, 6), pt(1_000, 7)],
];
const LAST: LastValue[] = [
  { device: 'd1', metric: 'temp', time: T + 1_000, value: 7 },
  { device: 'd2', metric: 'temp', time: T, value: 3 },
];
const REPLACED = [
  { device: 'd1', metric: 'temp', time: T, previous: 1, value: 2 },
  { device: 'd1', metric: 'temp', time: T + 1_000, previous: 5, value: 6 },
  { device: 'd1', metric: 'temp', time: T + 1_000, previous: 6, value: 7 },
];

async function feed(sink: TelemetrySink): Promise<void> {
  for (const w of WRITES) {
    await Promise.all([sink.write(w), sink.flush()]);
  }
}

let pg: Postgres;
let influx: Influx;
beforeAll(async () => {
  [pg, influx] = await Promise.all([startPostgres(), startInflux()]);
});
afterAll(async () => {
  await Promise.all([pg?.stop(), influx?.stop()]);
});

describe('last writer by arrival order wins, replacements counted and reported', () => {
  it('DuckDB', async () => {
    const seen: Replacement[] = [];
    const db = await createDuckDbStore({ maxAgeMs: 60_000, onReplaced: (r) => seen.push(r) });
    try {
      await feed(db);
      expect(await db.lastValues()).toEqual(LAST);
      expect((await db.query('SELECT count(*) AS n FROM telemetry'))[0]).toEqual({ n: 3 });
      expect(db.stats().replaced).toBe(3);
      expect(seen).toEqual(REPLACED.map((r) => ({ sink: 'duckdb', ...r })));
    } finally {
      await db.close();
    }
  });

  for (const method of ['copy', 'insert'] as const) {
    it(`PostgreSQL (${method})`, async () => {
      const seen: Replacement[] = [];
      const sink = createPostgresSink({ connectionString: pg.url, table: `dup_${method}`, method, maxDelayMs: 60_000, onReplaced: (r) => seen.push(r) });
      try {
        await feed(sink);
        expect(await sink.lastValues()).toEqual(LAST);
        expect(sink.stats().replaced).toBe(3);
        expect(seen).toEqual(REPLACED.map((r) => ({ sink: 'postgres', ...r })));
      } finally {
        await sink.close();
      }
    });
  }

  it('InfluxDB', async () => {
    const { createInfluxSink } = await import('../src/influx.js');
    const seen: Replacement[] = [];
    const sink = createInfluxSink({ url: influx.url, database: 'dup', maxAgeMs: 60_000, onReplaced: (r) => seen.push(r) });
    try {
      await feed(sink);
      expect(await sink.lastValues()).toEqual(LAST);
      expect(sink.stats().replaced).toBe(3);
      expect(seen).toEqual(REPLACED.map((r) => ({ sink: 'influx', ...r })));
    } finally {
      await sink.close();
    }
  });

  it('the lake read back through DuckDB (lakeLastValues) gives the same answer as the stores', async () => {
    const dir = tempDir('outpost-dup-lake-');
    const lake = await createLake({ dir: dir.path, maxAgeMs: 60_000, encoder: 'inline' });
    const db = await createDuckDbStore();
    try {
      await feed(lake);
      expect(lake.stats().rows).toBe(7); // the lake keeps every arrival
      expect(await db.lakeLastValues(dir.path)).toEqual(LAST);
      expect(await db.lakeLastValues(dir.path, { device: 'd2' })).toEqual([LAST[1]]);
    } finally {
      await lake.close();
      await db.close();
      dir.cleanup();
    }
  });

  it('openPipelineStack: onReplaced reaches the stores; two messages with one timestamp: the later value in the store and in the lake read back', async () => {
    const dir = tempDir('outpost-dup-stack-');
    const seen: Replacement[] = [];
    const stack = await openPipelineStack({ lakeDir: dir.path, duckdb: ':memory:', influx: { url: influx.url, database: 'dup_stack', maxAgeMs: 0 }, onReplaced: (r) => seen.push(r), lake: { maxAgeMs: 0, encoder: 'inline' } });
    const send = (temperature: number): Promise<void> =>
      stack.pipeline.handle({ topic: 'devices/pump-7/telemetry', payload: new TextEncoder().encode(JSON.stringify({ ts: T, temperature })), receivedAt: Date.now() });
    try {
      await send(20);
      await stack.store?.flush();
      await send(21);
      await stack.store?.flush();
      expect(stack.stats().pipeline.deadLettered).toEqual({});
      const last = [{ device: 'pump-7', metric: 'temperature', time: T, value: 21 }];
      expect(await stack.store?.lastValues()).toEqual(last);
      expect(await stack.influx?.lastValues()).toEqual(last);
      expect(await (stack.store as Awaited<ReturnType<typeof createDuckDbStore>>).lakeLastValues(dir.path)).toEqual(last);
      expect(seen.map((r) => [r.sink, r.previous, r.value]).sort()).toEqual([['duckdb', 20, 21], ['influx', 20, 21]]);
    } finally {
      await stack.close();
      dir.cleanup();
    }
  });
});
