// `outpost pipeline` end to end: run() with a capturing Io against a real Mosquitto with mTLS
// (the device SDK's fleet fixture, whose application identity may read devices/+/#), devices
// publishing meanwhile; the lake, the embedded DuckDB store and the dead letters on real files.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createDuckDbStore } from '@outpost/pipeline';
import { freePort, startInflux, tempDir } from '@outpost/test-peers';
import { run } from '../src/run.js';
import { startFleet, type Fleet } from '../../device-sdk/test/fixtures/fleet.js';

const tmp = tempDir('outpost-cli-pipeline-');
let fleet: Fleet;
const APP = 'app-observer';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), cwd: tmp.path });
  return { code, out, err };
}

beforeAll(async () => {
  fleet = await startFleet();
  writeFileSync(join(tmp.path, 'ca.pem'), fleet.ca.certificatePem);
  const c = await fleet.device(APP);
  writeFileSync(join(tmp.path, `${APP}.pem`), c.cert);
  writeFileSync(join(tmp.path, `${APP}.key`), c.key);
  writeFileSync(
    join(tmp.path, 'rules.json'),
    JSON.stringify({ rules: [{ id: 'overheat', kind: 'threshold', metric: 'temperature', above: 80, clearAt: 75 }] }),
  );
  writeFileSync(join(tmp.path, 'bad-rules.json'), JSON.stringify({ rules: [{ id: 'x', kind: 'threshold', metric: 'temperature', above: 'hot' }] }));
});
afterAll(async () => {
  await fleet?.stop();
  tmp.cleanup();
});

const conn = (): string[] => ['--broker', fleet.url, '--ca', 'ca.pem', '--cert', `${APP}.pem`, '--key', `${APP}.key`];

describe('outpost pipeline', () => {
  test('--help has usage, options and an example', async () => {
    const r = await cli('pipeline', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: outpost pipeline --lake DIR \[--broker URL\]/);
    expect(r.out).toContain('Options:');
    expect(r.out).toContain('Example:\n  outpost pipeline');
    expect((await cli('--help')).out).toContain('pipeline');
  });

  test('usage errors are one line and exit 2; a bad rules file exits 1 naming the field', async () => {
    for (const argv of [
      ['pipeline', '--lake', 'lake'],
      ['pipeline', ...conn()],
      ['pipeline', ...conn(), '--lake', 'lake', '--pg', 'postgres://x', '--duckdb', 'x.duckdb'],
      ['pipeline', ...conn(), '--lake', 'lake', '--duration', 'soon'],
      ['pipeline', '--broker', fleet.url, '--lake', 'lake'], // no certificate and no --insecure
    ]) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
    const bad = await cli('pipeline', ...conn(), '--lake', 'lake', '--rules', 'bad-rules.json');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/rules\[0\]\.above/);
  });

  test('consumes telemetry into the lake and DuckDB, raises one alert and one resolve (console and webhook), dead-letters garbage', async () => {
    const posts: { body: Record<string, unknown>; signature: string | undefined }[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        posts.push({ body: JSON.parse(body) as Record<string, unknown>, signature: req.headers['x-outpost-signature'] as string | undefined });
        res.writeHead(204).end();
      });
    });
    const port = await freePort();
    await new Promise<void>((r) => hook.listen(port, '127.0.0.1', r));
    const running = cli('pipeline', ...conn(), '--client-id', 'pipeline-cli', '--group', 'cli', '--lake', 'lake', '--rules', 'rules.json', '--webhook', `http://127.0.0.1:${port}/alerts`, '--webhook-secret', 's3cret', '--json', '--duration', '4000');
    await new Promise((r) => setTimeout(r, 1200)); // the consumer is subscribed
    const dev = await fleet.device('pump-9');
    const client = await mqtt.connectAsync(fleet.url, { ca: fleet.ca.certificatePem, cert: dev.cert, key: dev.key, clientId: 'pump-9', protocolVersion: 5 });
    const t0 = Date.now() - 10_000;
    const temps = [70, 72, 85, 90, 88, 74, 71, 70];
    for (const [i, temperature] of temps.entries()) {
      await client.publishAsync('devices/pump-9/telemetry', JSON.stringify({ ts: t0 + i * 1000, temperature }), { qos: 1 });
    }
    await client.publishAsync('devices/pump-9/telemetry', 'not telemetry', { qos: 1 });
    await client.endAsync();
    const r = await running;
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    expect(lines[0]).toMatchObject({ type: 'started', store: 'duckdb', rules: 1, group: 'cli' });
    expect(lines.filter((l) => l.type === 'alert').map((l) => [l.kind, l.ruleId, l.device, l.value])).toEqual([
      ['fired', 'overheat', 'pump-9', 85],
      ['resolved', 'overheat', 'pump-9', 74],
    ]);
    const stopped = lines.at(-1) as Record<string, any>;
    expect(stopped.type).toBe('stopped');
    expect(stopped.pipeline).toMatchObject({ messages: 9, points: 8, deadLettered: { DECODE_FAILED: 1 } });
    expect(stopped.lake.rows).toBe(8);
    expect(stopped.ingest.acked).toBe(9);
    // What is on disk, read back independently.
    const store = await createDuckDbStore({ path: join(tmp.path, 'lake', 'timeseries.duckdb') });
    try {
      const rows = await store.query('SELECT time, value FROM telemetry ORDER BY time');
      expect(rows.map((x) => x['value'])).toEqual(temps);
      const parts = await store.lakeSummary(join(tmp.path, 'lake'));
      expect(parts.reduce((a, p) => a + p.rows, 0)).toBe(8);
    } finally {
      await store.close();
    }
    expect(readdirSync(join(tmp.path, 'lake', 'dead-letter')).length).toBe(1);
    hook.close();
    expect(posts.map((p) => [p.body['kind'], p.body['device']])).toEqual([['fired', 'pump-9'], ['resolved', 'pump-9']]);
    expect(posts.every((p) => /^sha256=[0-9a-f]{64}$/.test(p.signature ?? ''))).toBe(true);

    // outpost pipeline query over what the run stored (ts: t0 … t0 + 7 s, one point a second)
    const db = ['--duckdb', join('lake', 'timeseries.duckdb')];
    const last = await cli('pipeline', 'query', 'last', ...db, '--json');
    expect(last.err).toBe('');
    expect(JSON.parse(last.out)).toEqual([{ device: 'pump-9', metric: 'temperature', time: new Date(t0 + 7000).toISOString(), value: 70 }]);
    const from = new Date(t0).toISOString();
    const series = await cli('pipeline', 'query', 'series', ...db, '--device', 'pump-9', '--metric', 'temperature', '--from', from, '--to', 'now', '--bucket', '4s', '--json');
    const buckets = JSON.parse(series.out) as { count: number; max: number }[];
    expect(buckets.reduce((a, b) => a + b.count, 0)).toBe(8);
    expect(Math.max(...buckets.map((b) => b.max))).toBe(90);
    const none = await cli('pipeline', 'query', 'gaps', ...db, '--from', from, '--min-gap', '1500ms', '--json');
    expect(JSON.parse(none.out)).toEqual([]);
    const gaps = await cli('pipeline', 'query', 'gaps', ...db, '--from', from, '--min-gap', '500ms', '--json');
    expect((JSON.parse(gaps.out) as unknown[]).length).toBe(7);
    const human = await cli('pipeline', 'query', 'last', ...db);
    expect(human.out).toMatch(/^pump-9 {2}temperature {2}70 {2}/);
  });

  test('pipeline query: usage errors exit 2 with one line', async () => {
    for (const argv of [
      ['pipeline', 'query'],
      ['pipeline', 'query', 'median', '--duckdb', 'x.duckdb'],
      ['pipeline', 'query', 'last'],
      ['pipeline', 'query', 'last', '--duckdb', 'x.duckdb', '--pg', 'postgres://x'],
      ['pipeline', 'query', 'series', '--duckdb', 'x.duckdb', '--device', 'd'],
      ['pipeline', 'query', 'gaps', '--duckdb', 'x.duckdb', '--min-gap', 'soon'],
      ['pipeline', 'query', 'gaps', '--duckdb', 'x.duckdb', '--from', 'yesterday'],
      ['pipeline', 'query', 'last', '--duckdb', 'x.duckdb', '--influx', 'http://127.0.0.1:1'],
      ['pipeline', 'query', 'series', '--influx', 'http://127.0.0.1:1', '--device', 'd', '--metric', 'm'],
      ['pipeline', ...conn(), '--lake', 'lake', '--influx-db', 'fleet'],
      ['pipeline', ...conn(), '--lake', 'lake', '--influx', 'ftp://x'],
    ]) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
    expect((await cli('pipeline', 'query', '--help')).out).toMatch(/^Usage: outpost pipeline query last\|series\|gaps/);
  });

  test('pipeline query refuses a missing DuckDB file and does not create it', async () => {
    const missing = join(tmpdir(), `outpost-missing-${process.pid}.duckdb`);
    const r = await cli('pipeline', 'query', 'last', '--duckdb', missing, '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ error: { code: 'FILE_NOT_FOUND' } });
    expect(existsSync(missing)).toBe(false);
  });

  test('--influx URL --influx-db DB: the time series go to InfluxDB too (a private server started here), and query last reads them back', async () => {
    const influx = await startInflux();
    try {
      const running = cli('pipeline', ...conn(), '--client-id', 'pipeline-influx', '--lake', 'lake-influx', '--influx', influx.url, '--influx-db', 'fleet', '--json', '--duration', '3000');
      await new Promise((r) => setTimeout(r, 1200)); // the consumer is subscribed
      const dev = await fleet.device('pump-8');
      const client = await mqtt.connectAsync(fleet.url, { ca: fleet.ca.certificatePem, cert: dev.cert, key: dev.key, clientId: 'pump-8', protocolVersion: 5 });
      const t0 = Date.now() - 10_000;
      for (const [i, temperature] of [60, 61, 62].entries()) {
        await client.publishAsync('devices/pump-8/telemetry', JSON.stringify({ ts: t0 + i * 1000, temperature }), { qos: 1 });
      }
      await client.endAsync();
      const r = await running;
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
      expect(lines[0]).toMatchObject({ type: 'started', store: 'duckdb and influx' });
      expect((lines.at(-1) as Record<string, any>).influx).toMatchObject({ rows: 3, rowsRejected: 0, batchesFailed: 0 });
      const stored = await influx.query('SELECT "value" FROM "temperature" ORDER BY time', 'fleet');
      expect(stored[0]?.values).toEqual([[t0, 60], [t0 + 1000, 61], [t0 + 2000, 62]]);
      const last = await cli('pipeline', 'query', 'last', '--influx', influx.url, '--influx-db', 'fleet', '--json');
      expect(last.err).toBe('');
      expect(JSON.parse(last.out)).toEqual([{ device: 'pump-8', metric: 'temperature', time: new Date(t0 + 2000).toISOString(), value: 62 }]);
    } finally {
      await influx.stop();
    }
  });
});
