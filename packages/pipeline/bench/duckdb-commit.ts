// What the DuckDB store's commits cost the process (every thread: DuckDB runs its statements on
// its own worker threads) when points arrive as a pipeline delivers them at a steady rate: RATE
// points/s in bursts of 50 every 10 ms for SECONDS, group commit on (the default), with
// groupCommitIntervalMs = each of INTERVALS in turn (a fresh in-memory store each). Prints CPU per
// point and commits per second. A commit's six statements cost the same few ms whatever its size,
// so the commits per second set the cost.
//   npx tsx --conditions=@outpost/source packages/pipeline/bench/duckdb-commit.ts [SECONDS] [INTERVALS]
//   e.g. … duckdb-commit.ts 5 0,20,50,100   (THREADS=N: DuckDB's worker threads)
import { loadavg } from 'node:os';
import { createDuckDbStore, type TelemetryPoint } from '@outpost/pipeline';

const SECONDS = Number(process.argv[2] ?? 5);
const INTERVALS = (process.argv[3] ?? '0,50').split(',').map(Number);
const THREADS = process.env['THREADS'] === undefined ? {} : { threads: Number(process.env['THREADS']) };
const BURST = 50;
const t0 = Date.UTC(2026, 10, 1);

for (const interval of INTERVALS) {
  const db = await createDuckDbStore({ groupCommitIntervalMs: interval, ...THREADS });
  let n = 0;
  const burst = (): TelemetryPoint[] => Array.from({ length: BURST }, (_, i) => ({ device: `bench-${i}`, time: t0 + n++, metric: 'temperature', value: 20 + (n % 50) }));
  await db.write(burst()); // first use
  const before = db.stats().batches;
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  const writes: Promise<void>[] = [];
  const ticks = SECONDS * 100;
  for (let t = 0; t < ticks; t++) {
    writes.push(db.write(burst()));
    await new Promise((r) => setTimeout(r, 10));
  }
  await Promise.all(writes);
  const c = process.cpuUsage(c0);
  const wall = (performance.now() - w0) / 1000;
  const points = ticks * BURST;
  const commits = db.stats().batches - before;
  console.log(
    `groupCommitIntervalMs ${String(interval).padStart(3)}: ${((c.user + c.system) / points).toFixed(1)} µs CPU per point, ` +
      `${(points / wall).toFixed(0)} points/s, ${(commits / wall).toFixed(1)} commits/s (${(points / commits).toFixed(0)} points each), ` +
      `${((c.user + c.system) / 1000 / commits).toFixed(1)} ms CPU per commit; load ${loadavg()[0]?.toFixed(1)}`,
  );
  await db.close();
}
