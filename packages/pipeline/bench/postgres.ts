// PostgreSQL ingest rates, in one run against a private server started here:
//   (a) raw COPY of N rows straight into a table of the same shape (the anchor),
//   (b) the sink with method 'copy' (COPY into staging + INSERT … ON CONFLICT DO NOTHING, batches),
//   (c) the sink with method 'insert' (multi-row parameterised INSERTs, batches).
// Run: npx tsx --conditions=@outpost/source packages/pipeline/bench/postgres.ts [N]
// `copyAnchor` and `benchPoints` are exported for the end-to-end pipeline bench.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { mulberry32, startPostgres } from '@outpost/test-peers';
import { createPostgresSink } from '../src/postgres.js';
import type { TelemetryPoint } from '../src/types.js';

/** N deterministic telemetry points: 200 devices × 4 metrics, one point per device-metric per second, 10% with extra. */
export function benchPoints(n: number, seed = 1, t0 = Date.UTC(2026, 0, 1)): TelemetryPoint[] {
  const rnd = mulberry32(seed);
  const metrics = ['temperature', 'humidity', 'pressure', 'battery_mv'];
  const out: TelemetryPoint[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const series = i % 800;
    out[i] = {
      device: `dev-${String(series >> 2).padStart(4, '0')}`,
      metric: metrics[series & 3] as string,
      time: t0 + Math.floor(i / 800) * 1000,
      value: Math.round(rnd() * 100_000) / 100,
      ...(i % 10 === 0 ? { extra: { unit: 'C', fw: '1.4.2' } } : {}),
    };
  }
  return out;
}

/** The anchor's measurement. */
export interface AnchorResult {
  readonly rows: number;
  readonly ms: number;
  readonly rowsPerSec: number;
}

const esc = (s: string): string => s.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));

/**
 * The anchor: one `COPY table FROM STDIN` (text format) of `points` into a fresh table with the
 * sink's columns and unique (device, metric, time) index, in one transaction, timed from BEGIN
 * to COMMIT. No staging, no conflict handling, no batching: the fastest way in.
 */
export async function copyAnchor(url: string, points: readonly TelemetryPoint[], table = 'anchor'): Promise<AnchorResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP TABLE IF EXISTS "${table}"`);
    await client.query(`CREATE TABLE "${table}" (device text NOT NULL, time timestamptz NOT NULL, metric text NOT NULL, value double precision, extra jsonb)`);
    await client.query(`CREATE UNIQUE INDEX ON "${table}" (device, metric, time DESC)`);
    function* chunks(): Generator<string> {
      let s = '';
      for (const p of points) {
        s += `${esc(p.device)}\t${new Date(p.time).toISOString()}\t${esc(p.metric)}\t${p.value === null ? '\\N' : String(p.value)}\t${p.extra === undefined ? '\\N' : esc(JSON.stringify(p.extra))}\n`;
        if (s.length >= 65_536) {
          yield s;
          s = '';
        }
      }
      if (s.length > 0) yield s;
    }
    const t0 = performance.now();
    await client.query('BEGIN');
    await pipeline(Readable.from(chunks()), client.query(copyFrom(`COPY "${table}" (device, time, metric, value, extra) FROM STDIN`)));
    await client.query('COMMIT');
    const ms = performance.now() - t0;
    return { rows: points.length, ms, rowsPerSec: (points.length / ms) * 1000 };
  } finally {
    await client.end();
  }
}

/** Feeds `points` to a sink in writes of `writeSize`, at most `window` writes pending (as the pipeline's in-flight MQTT messages). */
async function throughSink(url: string, points: readonly TelemetryPoint[], method: 'copy' | 'insert', writeSize = 500, window = 64): Promise<AnchorResult & { stats: object }> {
  const sink = createPostgresSink({ connectionString: url, table: `sink_${method}`, method, batchRows: 5_000, maxDelayMs: 50 });
  await sink.ensureSchema();
  const t0 = performance.now();
  const pending = new Set<Promise<void>>();
  for (let off = 0; off < points.length; off += writeSize) {
    const w = sink.write(points.slice(off, off + writeSize));
    pending.add(w);
    void w.then(() => pending.delete(w));
    if (pending.size >= window) await Promise.race(pending);
  }
  await Promise.all(pending);
  const ms = performance.now() - t0;
  const stats = sink.stats();
  await sink.close();
  return { rows: points.length, ms, rowsPerSec: (points.length / ms) * 1000, stats };
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 500_000);
  const server = await startPostgres();
  try {
    const points = benchPoints(n);
    const fmt = (r: AnchorResult): string => `${Math.round(r.rowsPerSec).toLocaleString('en-US').padStart(10)} rows/s  (${(r.ms / 1000).toFixed(2)} s)`;
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    const version = (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? '?';
    await c.end();
    console.log(`PostgreSQL ingest, N = ${n.toLocaleString('en-US')} rows (node ${process.version}, PostgreSQL ${version} private server, fsync on, one run)`);
    const anchor = await copyAnchor(server.url, points);
    console.log(`  (a) raw COPY into the table (anchor)  ${fmt(anchor)}`);
    const viaCopy = await throughSink(server.url, points, 'copy');
    console.log(`  (b) sink, method 'copy'               ${fmt(viaCopy)}  ${(viaCopy.rowsPerSec / anchor.rowsPerSec * 100).toFixed(0)}% of anchor`);
    const viaInsert = await throughSink(server.url, points, 'insert');
    console.log(`  (c) sink, method 'insert'             ${fmt(viaInsert)}  ${(viaInsert.rowsPerSec / anchor.rowsPerSec * 100).toFixed(0)}% of anchor`);
    console.log(`  sink stats: copy ${JSON.stringify(viaCopy.stats)}\n              insert ${JSON.stringify(viaInsert.stats)}`);
  } finally {
    await server.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
