// Drain throughput (read + ack) of 1M records, and memory while 1M are appended and drained live.
//   npx tsx --conditions=@outpost/source packages/edge-buffer/bench/drain.ts
import { openBuffer, type EdgeBuffer } from '@outpost/edge-buffer';
import { fillConcurrently, fmt, payload, scratch } from './util.js';

const N = Number(process.env['BENCH_DRAIN_RECORDS'] ?? 1_000_000);
const SIZE = 256;
const options = { maxBytes: 4 * 2 ** 30, segmentBytes: 16 << 20, durability: 'batch' } as const;

async function fill(buf: EdgeBuffer, n: number): Promise<void> {
  await fillConcurrently(buf, n, payload(SIZE, 1), 16, 64);
}

async function drainHelper(): Promise<number> {
  const { dir, done } = scratch('drain');
  const buf = await openBuffer({ dir, ...options });
  await fill(buf, N);
  const t = performance.now();
  const r = await buf.drain(() => undefined, { maxInFlight: 64 });
  const s = (performance.now() - t) / 1000;
  if (r.sent !== N) throw new Error(`drained ${r.sent} of ${N}`);
  await buf.close();
  done();
  return N / s;
}

async function readAckLoop(): Promise<number> {
  const { dir, done } = scratch('readack');
  const buf = await openBuffer({ dir, ...options });
  await fill(buf, N);
  const t = performance.now();
  let n = 0;
  let last: Promise<void> = Promise.resolve();
  for (let r = await buf.tryRead(); r !== undefined; r = await buf.tryRead()) {
    n++;
    last = buf.ack(r.seq);
  }
  await last;
  const s = (performance.now() - t) / 1000;
  if (n !== N) throw new Error(`read ${n} of ${N}`);
  await buf.close();
  done();
  return N / s;
}

async function memoryLive(): Promise<{ rss: number[]; heap: number[]; seconds: number }> {
  const { dir, done } = scratch('memory');
  const buf = await openBuffer({ dir, ...options });
  const rss: number[] = [];
  const heap: number[] = [];
  const ac = new AbortController();
  let drained = 0;
  const t = performance.now();
  const consumer = buf.drain(
    () => {
      drained++;
      if (drained === N) ac.abort();
    },
    { follow: true, signal: ac.signal, maxInFlight: 64 },
  );
  const p = payload(SIZE, 1);
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      const window: Promise<number>[] = [];
      while (next < N) {
        next++;
        if (next % 100_000 === 0) {
          const m = process.memoryUsage();
          rss.push(m.rss);
          heap.push(m.heapUsed);
        }
        window.push(buf.append(p));
        if (window.length >= 64) await window.shift();
      }
      await Promise.all(window);
    }),
  );
  await consumer;
  const seconds = (performance.now() - t) / 1000;
  await buf.close();
  done();
  return { rss, heap, seconds };
}

const mb = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;
console.log(`drain, ${fmt(N)} records of ${SIZE} B`);
console.log(`  drain(send, { maxInFlight: 64 })   ${fmt(await drainHelper())} rec/s`);
console.log(`  tryRead() + ack(seq) loop          ${fmt(await readAckLoop())} rec/s`);
const m = await memoryLive();
console.log(`memory while ${fmt(N)} are appended and drained live (${m.seconds.toFixed(1)} s), sampled every 100k appends:`);
console.log(`  rss  ${m.rss.map(mb).join(' ')}`);
console.log(`  heap ${m.heap.map(mb).join(' ')}`);
