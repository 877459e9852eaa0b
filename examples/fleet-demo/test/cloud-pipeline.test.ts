import { expect, test } from 'vitest';
import { runDemo } from '../src/index.js';

test('the pipeline chapter: every point in the lake and the store, one overheat alert and one resolve, the silent meter noticed, garbage dead-lettered', async () => {
  let out = '';
  let err = '';
  const code = await runDemo(['--chapter', 'cloudPipeline', '--json'], { stdout: (t) => { out += t; }, stderr: (t) => { err += t; } });
  expect(err).toBe('');
  expect(code).toBe(0);
  const s = (JSON.parse(out) as Record<string, any>)['cloudPipeline'];
  expect(s.store).toBe('duckdb');
  // 4 devices × 60 readings + meter-2's 10, and one truncated message.
  expect(s.messages).toBe(4 * 60 + 10 + 1);
  expect(s.deadLetters).toBe(1);
  expect(s.points).toBeGreaterThan(s.messages - 1);
  expect(s.lakeRows).toBe(s.points);
  expect(s.timeSeriesRows).toBe(s.points);
  expect(s.alerts).toEqual([
    { kind: 'fired', rule: 'overheat', device: 'pump-2' },
    { kind: 'resolved', rule: 'overheat', device: 'pump-2' },
    { kind: 'fired', rule: 'silent', device: 'meter-2' },
  ]);
  expect(s.pump2MaxTemperature).toBeGreaterThan(80);
});

test('with --pg URL the time series go to PostgreSQL (a private server started here)', async () => {
  const { startPostgres } = await import('@outpost/test-peers');
  const pg = await startPostgres();
  try {
    let out = '';
    let err = '';
    const code = await runDemo(['--chapter', 'cloudPipeline', '--json', '--pg', pg.url], { stdout: (t) => { out += t; }, stderr: (t) => { err += t; } });
    expect(err).toBe('');
    expect(code).toBe(0);
    const s = (JSON.parse(out) as Record<string, any>)['cloudPipeline'];
    expect(s.store).toBe('postgres');
    expect(s.timeSeriesRows).toBe(s.points);
    expect(s.lakeRows).toBe(s.points);
    expect(s.alerts.filter((a: { rule: string }) => a.rule === 'overheat')).toHaveLength(2);
    expect(s.pump2MaxTemperature).toBeGreaterThan(80);
  } finally {
    await pg.stop();
  }
}, 60_000);

test('with --influx URL the time series go to InfluxDB as well (a private server started here)', async () => {
  const { startInflux } = await import('@outpost/test-peers');
  const influx = await startInflux();
  try {
    let out = '';
    let err = '';
    const code = await runDemo(['--chapter', 'cloudPipeline', '--json', '--influx', influx.url], { stdout: (t) => { out += t; }, stderr: (t) => { err += t; } });
    expect(err).toBe('');
    expect(code).toBe(0);
    const s = (JSON.parse(out) as Record<string, any>)['cloudPipeline'];
    expect(s.influxPoints).toBe(s.points);
    // Read back independently over InfluxQL: one point per (device, metric, time), every one of them.
    const series = await influx.query('SELECT count("value") FROM /.*/', 'outpost_demo');
    expect(series.reduce((a, x) => a + (x.values[0]?.[1] as number), 0)).toBe(s.points);
    expect(s.influxLast.map((l: { device: string }) => l.device)).toEqual(['gateway-1', 'meter-1', 'meter-2', 'pump-1', 'pump-2']);
    const pump2 = s.influxLast.find((l: { device: string }) => l.device === 'pump-2');
    expect(typeof pump2.value).toBe('number');
  } finally {
    await influx.stop();
  }
}, 60_000);
