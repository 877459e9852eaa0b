// The DuckDB store's cost on the thread it shares with the hot path: N batches of ROWS points
// (four metrics of ROWS/4 devices × readings, with extras on a quarter), written one batch at a
// time; prints the main thread's busy time per point (event-loop utilisation × wall time: the
// staging work that blocks MQTT and the rules) and the wall time per batch.
//   npx tsx --conditions=@outpost/source packages/pipeline/bench/duckdb-write.ts [ROWS] [BATCHES]
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createDuckDbStore, type TelemetryPoint } from '@outpost/pipeline';

const ROWS = Number(process.argv[2] ?? 5_000);
const BATCHES = Number(process.argv[3] ?? 20);
const METRICS = ['temperature', 'humidity', 'pressure', 'battery'];
const t0 = Date.UTC(2026, 10, 1);

function batch(b: number): TelemetryPoint[] {
  return Array.from({ length: ROWS }, (_, i) => ({
    device: `meter-${i % 50}`,
    time: t0 + (b * ROWS + i) * 10,
    metric: METRICS[i % 4] as string,
    value: i % 97 === 0 ? null : 20 + ((b * 7 + i) % 1000) / 10,
    ...(i % 4 === 0 ? { extra: { unit: 'C', n: i } } : {}),
  }));
}

const db = await createDuckDbStore({ maxAgeMs: 0, maxRows: ROWS });
await db.write(batch(0)); // first use
const elu0 = performance.eventLoopUtilization();
const w0 = performance.now();
for (let b = 1; b <= BATCHES; b++) await db.write(batch(b));
const wall = performance.now() - w0;
const elu = performance.eventLoopUtilization(elu0);
const rows = (await db.query('SELECT count(*) AS n FROM telemetry'))[0] as { n: number };
await db.close();
// The batch generation (batch()) is on the main thread too: measured alone and subtracted.
const g0 = performance.now();
for (let b = 1; b <= BATCHES; b++) batch(b);
const gen = performance.now() - g0;
console.log(`DuckDB store, ${BATCHES} batches of ${ROWS} points (${rows.n} rows stored): main thread busy ${((1000 * (elu.active - gen)) / (BATCHES * ROWS)).toFixed(2)} µs per point, wall ${(wall / BATCHES).toFixed(1)} ms per batch; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
