// InfluxDB sink throughput against plain HTTP, in one run against a private InfluxDB 1.x:
//   (a) the anchor: the same points as line protocol (the sink's layout, precision ms), cut into
//       the same batches of 5,000 lines, each gzipped and POSTed to /write one after another over
//       a keep-alive connection, timed from the first request to the last 204;
//   (b) the sink: writes of 500 points with at most 64 pending (as the pipeline's in-flight MQTT
//       messages), batches of 5,000 (maxRows), timed from the first write to the last resolve.
// Each pass writes a fresh database; passes alternate (a, b, a, b, a, b); the figures are the
// medians, and the ratio is the median of the three pairs' ratios.
// Run: npx tsx --conditions=@outpost/source packages/pipeline/bench/influx.ts [N]
import http from 'node:http';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { startInflux, type Influx } from '@outpost/test-peers';
import { createInfluxSink } from '../src/influx.js';
import { encodeLineProtocol } from '../src/line-protocol.js';
import type { TelemetryPoint } from '../src/types.js';
import { benchPoints } from './postgres.js';

const gzip = promisify(gzipCb);
const BATCH = 5_000;

async function createDb(influx: Influx, db: string): Promise<void> {
  await influx.query(`CREATE DATABASE "${db}"`);
}

function post(agent: http.Agent, url: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-encoding': 'gzip', 'content-length': String(body.length) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function anchor(influx: Influx, points: readonly TelemetryPoint[], db: string): Promise<number> {
  await createDb(influx, db);
  const bodies: string[] = [];
  for (let i = 0; i < points.length; i += BATCH) {
    bodies.push(encodeLineProtocol(points.slice(i, i + BATCH), { metricAs: 'measurement', precision: 'ms' }));
  }
  const agent = new http.Agent({ keepAlive: true });
  const url = `${influx.url}/write?db=${db}&precision=ms`;
  const t0 = performance.now();
  for (const b of bodies) {
    const status = await post(agent, url, await gzip(Buffer.from(b)));
    if (status !== 204) throw new Error(`anchor: /write answered ${status}`);
  }
  const ms = performance.now() - t0;
  agent.destroy();
  return (points.length / ms) * 1000;
}

async function throughSink(influx: Influx, points: readonly TelemetryPoint[], db: string, writeSize = 500, window = 64): Promise<number> {
  const sink = createInfluxSink({ url: influx.url, database: db, maxRows: BATCH, maxAgeMs: 50 });
  await sink.write([]); // nothing: the database is created by the first batch below
  const t0 = performance.now();
  const pending = new Set<Promise<void>>();
  for (let i = 0; i < points.length; i += writeSize) {
    const w = sink.write(points.slice(i, i + writeSize));
    pending.add(w);
    void w.finally(() => pending.delete(w));
    if (pending.size >= window) await Promise.race(pending);
  }
  await Promise.all(pending);
  const ms = performance.now() - t0;
  const s = sink.stats();
  if (s.rows !== points.length || s.rowsRejected !== 0 || s.batchesFailed !== 0) throw new Error(`sink: ${JSON.stringify(s)}`);
  await sink.close();
  return (points.length / ms) * 1000;
}

const n = Number(process.argv[2] ?? 200_000);
const points = benchPoints(n);
const influx = await startInflux();
try {
  const a: number[] = [];
  const b: number[] = [];
  for (let pass = 0; pass < 3; pass++) {
    a.push(await anchor(influx, points, `anchor${pass}`));
    b.push(await throughSink(influx, points, `sink${pass}`));
  }
  const median = (x: number[]): number => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)] as number;
  const fmt = (r: number): string => `${Math.round(r).toLocaleString('en-US').padStart(9)} points/s`;
  console.log(`InfluxDB ${n.toLocaleString('en-US')} points, batches of ${BATCH} (node ${process.version})`);
  console.log(`  (a) plain HTTP, gzip, sequential   ${fmt(median(a))}`);
  console.log(`  (b) createInfluxSink               ${fmt(median(b))}  ${median(b.map((x, i) => x / (a[i] as number))).toFixed(2)}× of (a) (median of pairs: ${b.map((x, i) => (x / (a[i] as number)).toFixed(2)).join(', ')})`);
} finally {
  await influx.stop();
}
