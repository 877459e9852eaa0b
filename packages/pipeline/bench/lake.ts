// Cold-path throughput: rows/s into the Parquet lake (encode + write + fsync + link + dir fsync)
// and into the DuckDB store (appender + INSERT OR IGNORE + commit), 1M points in batches of 50k.
//   npx tsx --conditions=@outpost/source packages/pipeline/bench/lake.ts
// BENCH_POINTS (default 1,000,000) and BENCH_ROUNDS (default 3) scale it; the median round is reported.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { report, type BenchResult } from '@outpost/test-peers';
import { createLake } from '../src/lake.js';
import { createDuckDbStore } from '../src/duckdb.js';
import type { TelemetryPoint } from '../src/types.js';

const N = Number(process.env['BENCH_POINTS'] ?? 1_000_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const BATCH = 50_000;

// 1,000 devices × 4 metrics, 1 point per device and metric per second, all in one hour; a
// tenth of the points carry an `extra` object, a twentieth a null value.
const metrics = ['temp_c', 'hum_pct', 'battery_mv', 'rssi_dbm'];
const t0 = Date.UTC(2026, 10, 27, 18);
const points: TelemetryPoint[] = Array.from({ length: N }, (_, i) => ({
  device: `device-${String(i % 1_000).padStart(4, '0')}`,
  time: t0 + Math.floor(i / 4_000) * 1_000 + (i % 1_000),
  metric: metrics[Math.floor(i / 1_000) % 4] as string,
  value: i % 20 === 0 ? null : Math.round(Math.sin(i) * 10_000) / 100,
  ...(i % 10 === 0 ? { extra: { unit: 'Cel', fw: '1.4.2' } } : {}),
}));
const batches = Array.from({ length: Math.ceil(N / BATCH) }, (_, b) => points.slice(b * BATCH, (b + 1) * BATCH));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function rate(name: string, run: (dir: string) => Promise<void>): Promise<BenchResult> {
  const secs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-lake-'));
    try {
      const t = performance.now();
      await run(dir);
      secs.push((performance.now() - t) / 1000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const s = median(secs);
  return { name, opsPerSec: N / s, usPerOp: (s * 1e6) / N };
}

const results: BenchResult[] = [];
let fileBytes = 0;

results.push(
  await rate('Parquet encode only (hyparquet-writer, snappy)', async () => {
    for (const b of batches) {
      const buf = parquetWriteBuffer({
        columnData: [
          { name: 'device', data: b.map((p) => p.device), type: 'STRING', nullable: false },
          { name: 'time', data: b.map((p) => BigInt(p.time)), type: 'TIMESTAMP', nullable: false },
          { name: 'metric', data: b.map((p) => p.metric), type: 'STRING', nullable: false },
          { name: 'value', data: b.map((p) => p.value), type: 'DOUBLE' },
          { name: 'extra', data: b.map((p) => (p.extra === undefined ? null : JSON.stringify(p.extra))), type: 'STRING' },
        ],
        codec: 'SNAPPY',
      });
      fileBytes += buf.byteLength;
    }
  }),
);
fileBytes /= ROUNDS;

results.push(
  await rate('lake: createLake write → durable part files', async (dir) => {
    const lake = await createLake({ dir, maxRows: BATCH, maxAgeMs: 60_000 });
    await Promise.all(batches.map((b) => lake.write(b)));
    await lake.close();
  }),
);

results.push(
  await rate('DuckDB store (file): write → committed', async (dir) => {
    const db = await createDuckDbStore({ path: join(dir, 'ts.duckdb'), maxRows: BATCH, maxAgeMs: 60_000 });
    await Promise.all(batches.map((b) => db.write(b)));
    await db.close();
  }),
);

results.push(
  await rate('DuckDB store (:memory:): write → committed', async () => {
    const db = await createDuckDbStore({ path: ':memory:', maxRows: BATCH, maxAgeMs: 60_000 });
    await Promise.all(batches.map((b) => db.write(b)));
    await db.close();
  }),
);

report(`Cold path, ${N.toLocaleString('en-US')} points in batches of ${BATCH.toLocaleString('en-US')} (rows/s = ops/s; median of ${ROUNDS})`, results);
console.log(`  Parquet size: ${(fileBytes / N).toFixed(1)} bytes/row (${(fileBytes / 2 ** 20).toFixed(1)} MiB for ${N.toLocaleString('en-US')} rows)`);
