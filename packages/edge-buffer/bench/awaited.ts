// 16 appenders, each awaiting every append before the next (no appends in flight beyond one per
// appender), 256-byte records, every record durable before its append resolves:
// - edge-buffer 'batch' (group commit: one write + one fdatasync per group);
// - better-sqlite3 (WAL, synchronous=FULL) doing the same with the same group commit done by the
//   application: each appender awaits its insert; the inserts queued in one event-loop turn
//   commit in one transaction;
// - better-sqlite3 with one transaction per insert (what an application gets without batching).
//   npx tsx --conditions=@outpost/source packages/edge-buffer/bench/awaited.ts
import { openBuffer } from '@outpost/edge-buffer';
import { fmt, payload, percentile, scratch } from './util.js';
import { openQueueDb } from './sqlite.js';


const N = Number(process.env['BENCH_AWAITED_RECORDS'] ?? 16_000);
const APPENDERS = 16;
const SIZE = 256;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const DELAY_MS = Number(process.env['BENCH_COMMIT_DELAY_MS'] ?? 1);

/** Records per second, and the median latency of one append (ms). */
async function measure(append: (p: Uint8Array) => Promise<unknown>): Promise<{ rate: number; p50: number }> {
  const p = payload(SIZE, 1);
  let next = 0;
  const lat: number[] = [];
  const t = performance.now();
  await Promise.all(
    Array.from({ length: APPENDERS }, async () => {
      while (next < N) {
        next++;
        const t0 = performance.now();
        await append(p);
        lat.push(performance.now() - t0);
      }
    }),
  );
  return { rate: N / ((performance.now() - t) / 1000), p50: percentile(lat.sort((a, b) => a - b), 0.5) };
}
const run = async (append: (p: Uint8Array) => Promise<unknown>): Promise<number> => (await measure(append)).rate;

async function edge(commitDelayMs: number): Promise<{ rate: number; p50: number }> {
  const { dir, done } = scratch('awaited-edge');
  const buf = await openBuffer({ dir, maxBytes: 4 * 2 ** 30, segmentBytes: 64 << 20, durability: 'batch', commitDelayMs });
  const r = await measure((p) => buf.append(p));
  await buf.close();
  done();
  return r;
}

async function sqliteGrouped(): Promise<number> {
  const { dir, done } = scratch('awaited-sqlite');
  const { db, ins } = openQueueDb(dir);
  let pending: Array<{ p: Buffer; resolve: () => void }> = [];
  const commit = db.transaction((batch: Array<{ p: Buffer }>) => {
    for (const x of batch) ins.run(x.p);
  });
  const flush = (): void => {
    const batch = pending;
    pending = [];
    commit(batch);
    for (const x of batch) x.resolve();
  };
  const rate = await run(
    (p) =>
      new Promise<void>((resolve) => {
        if (pending.length === 0) setImmediate(flush);
        pending.push({ p: Buffer.from(p.buffer, p.byteOffset, p.byteLength), resolve });
      }),
  );
  db.close();
  done();
  return rate;
}

async function sqlitePerInsert(): Promise<number> {
  const { dir, done } = scratch('awaited-sqlite1');
  const { db, ins } = openQueueDb(dir);
  const rate = await run(async (p) => ins.run(Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
  db.close();
  done();
  return rate;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const e: number[] = [];
const eLat: number[] = [];
const d: number[] = [];
const dLat: number[] = [];
const g: number[] = [];
const s: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const a = await edge(0);
  e.push(a.rate);
  eLat.push(a.p50);
  const b = await edge(DELAY_MS);
  d.push(b.rate);
  dLat.push(b.p50);
  g.push(await sqliteGrouped());
  s.push(await sqlitePerInsert());
}
console.log(`${APPENDERS} appenders each awaiting every append, ${fmt(N)} records of ${SIZE} B, median of ${ROUNDS} alternating rounds`);
console.log(`  better-sqlite3, group commit per event-loop turn   ${fmt(median(g))} rec/s`);
console.log(`  better-sqlite3, one transaction per insert          ${fmt(median(s))} rec/s`);
console.log(`  edge-buffer 'batch'                                 ${fmt(median(e))} rec/s  (${(median(e) / median(g)).toFixed(2)}× sqlite grouped, ${(median(e) / median(s)).toFixed(2)}× sqlite per insert)  append p50 ${median(eLat).toFixed(3)} ms`);
console.log(`  edge-buffer 'batch', commitDelayMs ${DELAY_MS}               ${fmt(median(d))} rec/s  (${(median(d) / median(g)).toFixed(2)}× sqlite grouped)  append p50 ${median(dLat).toFixed(3)} ms`);
