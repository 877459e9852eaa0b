// The InfluxDB sink against a real InfluxDB 1.x (Debian's influxdb, started privately by the
// test): layout and round trip, gzip, refused points (HTTP 400 partial writes) against
// transient failures (connection refused, a stopped server, a killed one), and bad options.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startInflux, type Influx } from '@outpost/test-peers';
import { PipelineError } from '../src/errors.js';
import { createInfluxSink, type InfluxSink, type InfluxSinkOptions } from '../src/influx.js';
import type { TelemetryPoint } from '../src/types.js';

let server: Influx;
const sinks: InfluxSink[] = [];
beforeAll(async () => {
  server = await startInflux();
});
afterAll(async () => {
  for (const s of sinks) await s.close().catch(() => undefined);
  await server?.stop();
});

let dbSeq = 0;
function sink(opts: Partial<InfluxSinkOptions> = {}): InfluxSink & { db: string } {
  const db = `db${++dbSeq}`;
  const s = createInfluxSink({ url: server.url, database: db, maxAgeMs: 0, retryDelayMs: 10, ...opts });
  sinks.push(s);
  return Object.assign(s, { db });
}
async function count(db: string, measurement = 'temp'): Promise<number> {
  const series = await server.query(`SELECT count("value") FROM "${measurement}"`, db);
  return (series[0]?.values[0]?.[1] as number | undefined) ?? 0;
}
const T = Date.UTC(2026, 10, 27, 12);
const points = (n: number, from = 0, device = 'pump-1'): TelemetryPoint[] =>
  Array.from({ length: n }, (_, i) => ({ device, time: T + (from + i) * 1000, metric: 'temp', value: from + i + 0.5 }));

describe('writes', () => {
  for (const gzip of [true, false]) {
    it(`store one measurement per metric, device as tag, value and extra as fields (gzip ${gzip})`, async () => {
      const s = sink({ gzip, tags: ['site'] });
      await s.write([
        { device: 'pump 1', time: T, metric: 'temp', value: 21.5, extra: { unit: 'Cel', site: 'north', ok: true } },
        { device: 'pump 1', time: T + 1, metric: 'battery_mv', value: 3300 },
        { device: 'pump 1', time: T + 2, metric: 'temp', value: null }, // nothing to store: skipped
      ]);
      expect(await server.query('SELECT * FROM "temp"', s.db)).toEqual([
        { name: 'temp', columns: ['time', 'device', 'ok', 'site', 'unit', 'value'], values: [[T, 'pump 1', true, 'north', 'Cel', 21.5]] },
      ]);
      expect(await s.lastValues()).toEqual([
        { device: 'pump 1', metric: 'battery_mv', time: T + 1, value: 3300 },
        { device: 'pump 1', metric: 'temp', time: T, value: 21.5 },
      ]);
      expect(await s.lastValues({ metric: 'temp', device: 'pump 1' })).toEqual([{ device: 'pump 1', metric: 'temp', time: T, value: 21.5 }]);
      expect(s.stats()).toMatchObject({ rows: 3, batches: 1, requests: 1, rowsRejected: 0 });
    });
  }

  it('batches by rows: 2,500 points in writes of 100 go out in requests of 1,000', async () => {
    const s = sink({ maxRows: 1_000, maxAgeMs: 60_000 });
    const all = points(2_500);
    const writes = Array.from({ length: 25 }, (_, w) => s.write(all.slice(w * 100, w * 100 + 100)));
    await Promise.all([...writes.slice(0, 20), s.flush().then(() => Promise.all(writes))]);
    expect(await count(s.db)).toBe(2_500);
    expect(s.stats()).toMatchObject({ rows: 2_500, batches: 3, requests: 3 });
  });

  it('a refused point (field type conflict: HTTP 400 partial write) rejects only its own write with SINK_REJECTED; the rest of the batch is stored', async () => {
    const s = sink({ maxAgeMs: 60_000 });
    await Promise.all([s.write([{ device: 'a', time: T, metric: 'temp', value: 1, extra: { unit: 'Cel' } }]), s.flush()]);
    const good1 = s.write(points(10, 1));
    const bad = s.write([{ device: 'a', time: T + 500, metric: 'temp', value: 2, extra: { unit: 7 } }]); // unit was a string
    const good2 = s.write(points(10, 11));
    const settled = await Promise.allSettled([good1, bad, good2, s.flush()]);
    expect(settled.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    const err = (settled[1] as PromiseRejectedResult).reason as PipelineError;
    expect(err).toBeInstanceOf(PipelineError);
    expect(err.code).toBe('SINK_REJECTED');
    expect(err.message).toMatch(/field type conflict/);
    expect(await count(s.db)).toBe(21);
    expect(s.stats()).toMatchObject({ rowsRejected: 1, batchesFailed: 0 });
  });

  it('a point line protocol cannot carry (a metric beginning with "_") is refused with SINK_REJECTED, without a request', async () => {
    const s = sink();
    const err = await s.write([{ device: 'a', time: T, metric: '_secret', value: 1 }]).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'PipelineError', code: 'SINK_REJECTED' });
    expect(s.stats()).toMatchObject({ rowsRejected: 1, requests: 0 });
  });
});

describe('replacements (the duplicate policy)', () => {
  it('InfluxDB keeps the last write of a key; a replacement is counted while the series remembers the time (trackPerSeries), applied either way', async () => {
    const seen: unknown[] = [];
    const s = sink({ trackPerSeries: 2, onReplaced: (r) => seen.push(r) });
    await s.write(points(3)); // times T, T+1s, T+2s: the series remembers the last two
    await s.write([{ device: 'pump-1', time: T, metric: 'temp', value: 100 }]); // forgotten: applied, not counted
    await s.write([{ device: 'pump-1', time: T + 2000, metric: 'temp', value: 102 }]); // remembered: counted
    await s.write([{ device: 'pump-1', time: T + 2000, metric: 'temp', value: 102 }]); // identical: not a replacement
    const series = await server.query('SELECT "value" FROM "temp" ORDER BY time', s.db);
    expect(series[0]?.values).toEqual([[T, 100], [T + 1000, 1.5], [T + 2000, 102]]);
    expect(s.stats().replaced).toBe(1);
    expect(seen).toEqual([{ sink: 'influx', device: 'pump-1', metric: 'temp', time: T + 2000, previous: 2.5, value: 102 }]);
  });
});

describe('transient failures: SINK_FAILED, never SINK_REJECTED, and the same points succeed later', () => {
  it('connection refused', async () => {
    const s = createInfluxSink({ url: `http://127.0.0.1:${await freePort()}`, maxAgeMs: 0, retries: 2, retryDelayMs: 1 });
    sinks.push(s);
    const err = await s.write(points(3)).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'PipelineError', code: 'SINK_FAILED' });
    expect((err as Error).message).toMatch(/ECONNREFUSED.*3 attempts|3 attempts.*ECONNREFUSED/);
    expect(s.stats()).toMatchObject({ batchesFailed: 1, rowsRejected: 0 });
  });

  it('a missing database without createDatabase is a configuration problem: transient (holds the stream), not a refusal', async () => {
    const s = sink({ createDatabase: false, retries: 0 });
    const err = await s.write(points(1)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SINK_FAILED' });
    expect((err as Error).message).toMatch(/404.*database not found/);
  });

  it('InfluxDB stopped (SIGSTOP) then continued, and killed (SIGKILL) then restarted: writes fail transiently, then the same points land exactly once', async () => {
    const s = sink({ retries: 0, timeoutMs: 300 });
    await s.write(points(50));
    await server.pause();
    try {
      const err = await s.write(points(50, 50)).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'SINK_FAILED' });
      expect((err as Error).message).toMatch(/no response within 300 ms/);
    } finally {
      server.resume();
    }
    await s.write(points(50, 50)); // the delivery module's retry of the same points
    await server.kill9();
    const err = await s.write(points(50, 100)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SINK_FAILED' });
    await server.restart();
    await s.write(points(50, 100));
    await s.write(points(150)); // a redelivery of everything: overwrites, never doubles
    expect(await count(s.db)).toBe(150);
    const series = await server.query('SELECT "value" FROM "temp" ORDER BY time', s.db);
    expect(series[0]?.values.map((v) => v[1])).toEqual(points(150).map((p) => p.value));
    expect(s.stats()).toMatchObject({ batchesFailed: 2, rowsRejected: 0, replaced: 0 });
  }, 60_000);
});

describe('lifecycle and bad input', () => {
  it('close flushes what is buffered; write and lastValues after close reject with CLOSED', async () => {
    const s = sink({ maxAgeMs: 60_000 });
    const w = s.write(points(5));
    await s.close();
    await w;
    await s.close(); // idempotent
    expect(await count(s.db)).toBe(5);
    await expect(s.write(points(1))).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(s.lastValues()).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('bad options: TypeError for wrong types, RangeError for bad values', () => {
    const url = 'http://127.0.0.1:1';
    expect(() => createInfluxSink(null as never)).toThrow(TypeError);
    expect(() => createInfluxSink({} as never)).toThrow(TypeError);
    expect(() => createInfluxSink({ url: 'ftp://x' })).toThrow(RangeError);
    expect(() => createInfluxSink({ url: 'not a url' })).toThrow(RangeError);
    expect(() => createInfluxSink({ url, database: '' })).toThrow(RangeError);
    expect(() => createInfluxSink({ url, maxRows: 0 })).toThrow(RangeError);
    expect(() => createInfluxSink({ url, timeoutMs: 1.5 })).toThrow(RangeError);
    expect(() => createInfluxSink({ url, gzip: 'yes' as never })).toThrow(TypeError);
    expect(() => createInfluxSink({ url, username: 'u' })).toThrow(TypeError);
    expect(() => createInfluxSink({ url, username: 'u', password: 'p', token: 't' })).toThrow(TypeError);
    expect(() => createInfluxSink({ url, onReplaced: 1 as never })).toThrow(TypeError);
    expect(() => createInfluxSink({ url, tags: 'site' as never })).toThrow(TypeError);
  });

  it('write and lastValues reject wrong types', async () => {
    const s = sink();
    await expect(s.write('x' as never)).rejects.toThrow(TypeError);
    await expect(s.lastValues('x' as never)).rejects.toThrow(TypeError);
    await expect(s.lastValues({ device: 1 } as never)).rejects.toThrow(TypeError);
  });
});
