// The hot path's first messages in a fresh process: CPU per message of the synchronous part of
// pipeline.handle (decode, schema, rules, alert dispatch, the write group) in slices of 250
// messages, from the stack's first message on, with the stack's JIT warm-up (default) and
// without (warmUpMessages: 0). Each variant runs ROUNDS times, each in a fresh child process
// (a warm JIT would carry over), interleaved; medians per slice. The first second of
// bench/latency.ts is this cold code plus the broker's and the publisher's; this part is ours.
//   npx tsx --conditions=@outpost/source packages/pipeline/bench/cold-start.ts [ROUNDS]
import { fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { tempDir } from '@outpost/test-peers';
import { openPipelineStack } from '@outpost/pipeline';

const SLICE = 250;
const SLICES = 16;

async function child(warmUpMessages: number): Promise<void> {
  const tmp = tempDir('outpost-bench-cold-');
  const t0 = Date.now();
  const stack = await openPipelineStack({
    lakeDir: join(tmp.path, 'lake'),
    rules: [{ id: 'overheat', kind: 'threshold', metric: 'temperature', above: 80, clearAt: 75 }],
    alertSinks: [{ name: 'count', send: async () => undefined }],
    warmUpMessages,
  });
  const opened = Date.now() - t0;
  // process.cpuUsage counts every thread: let the threads the stack started (the Parquet
  // worker's own warm-up, DuckDB's) settle, so the slices measure handle's thread.
  await new Promise((r) => setTimeout(r, 500));
  const enc = new TextEncoder();
  const perSlice: number[] = [];
  const pending: Promise<void>[] = [];
  for (let s = 0; s < SLICES; s++) {
    const msgs = Array.from({ length: SLICE }, (_, i) => {
      const n = s * SLICE + i;
      return { topic: `devices/bench-${n % 50}/telemetry`, payload: enc.encode(`{"ts":${Date.now()},"temperature":${n % 2 === 0 ? 90 : 70},"humidity":${40 + (n % 17)}}`), receivedAt: Date.now() };
    });
    const c = process.cpuUsage();
    for (const m of msgs) pending.push(stack.pipeline.handle(m));
    const u = process.cpuUsage(c);
    perSlice.push((u.user + u.system) / SLICE);
    await new Promise((r) => setImmediate(r)); // the write group goes out, as between socket reads
  }
  await stack.pipeline.flush();
  await Promise.all(pending);
  await stack.close();
  tmp.cleanup();
  process.send?.({ perSlice, opened });
}

if (process.argv[2] === 'child') {
  await child(Number(process.argv[3]));
} else {
  const ROUNDS = Number(process.argv[2] ?? 3);
  const runs: Record<string, { perSlice: number[]; opened: number }[]> = { warm: [], cold: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, n] of [['cold', 0], ['warm', 2000]] as const) {
      const c = fork(import.meta.filename, ['child', String(n)], { stdio: 'inherit' });
      runs[name]?.push(await new Promise((resolve) => c.once('message', resolve)));
      await new Promise((r2) => c.once('exit', r2));
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  console.log(`\nSynchronous CPU of pipeline.handle per message, µs, by slice of ${SLICE} messages from the first (medians of ${ROUNDS} fresh processes; lake + DuckDB, one rule)`);
  for (const name of ['cold', 'warm'] as const) {
    const rs = runs[name] ?? [];
    const slices = Array.from({ length: SLICES }, (_, s) => median(rs.map((x) => x.perSlice[s] ?? Number.NaN)));
    const first = slices.slice(0, 4).reduce((a, b) => a + b, 0) / 4;
    const last = slices.slice(-4).reduce((a, b) => a + b, 0) / 4;
    console.log(`  ${name === 'cold' ? 'warmUpMessages: 0   ' : 'warmUpMessages: 2000'}: ${slices.map((x) => x.toFixed(0)).join(' ')}  (first 1,000: ${first.toFixed(1)}, last 1,000: ${last.toFixed(1)}; stack opened in ${median(rs.map((x) => x.opened))} ms)`);
  }
  console.log(`  load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}
