// 64 KiB records in 'fsync' mode (one write + one fdatasync per append) against a raw loop doing
// the same work: writev(16-byte header, payload) + fdatasync per record, same disk, alternating.
//   npx tsx --conditions=@outpost/source packages/edge-buffer/bench/large.ts
import { closeSync, fdatasyncSync, openSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import { openBuffer } from '@outpost/edge-buffer';
import { fmt, payload, scratch } from './util.js';

const N = Number(process.env['BENCH_LARGE_RECORDS'] ?? 1_000);
const SIZE = 64 * 1024;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);

function raw(): number {
  const { dir, done } = scratch('large-raw');
  const fd = openSync(join(dir, 'raw.log'), 'w');
  const header = payload(16, 7);
  const p = payload(SIZE, 1);
  const t = performance.now();
  for (let i = 0; i < N; i++) {
    writevSync(fd, [header, p]);
    fdatasyncSync(fd);
  }
  const s = (performance.now() - t) / 1000;
  closeSync(fd);
  done();
  return N / s;
}

async function edge(): Promise<number> {
  const { dir, done } = scratch('large-edge');
  const buf = await openBuffer({ dir, maxBytes: 4 * 2 ** 30, segmentBytes: 256 << 20, maxRecordBytes: SIZE, durability: 'fsync' });
  const p = payload(SIZE, 1);
  await buf.append(p); // segment creation out of the measurement
  const t = performance.now();
  for (let i = 0; i < N; i++) await buf.append(p);
  const s = (performance.now() - t) / 1000;
  await buf.close();
  done();
  return N / s;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const r: number[] = [];
const e: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  r.push(raw());
  e.push(await edge());
}
console.log(`${fmt(N)} appends of 64 KiB, one fdatasync each, median of ${ROUNDS} alternating rounds`);
console.log(`  raw writev(header, payload) + fdatasync   ${fmt(median(r))} rec/s  ${fmt((median(r) * SIZE) / 2 ** 20)} MiB/s`);
console.log(`  edge-buffer 'fsync' append                ${fmt(median(e))} rec/s  ${fmt((median(e) * SIZE) / 2 ** 20)} MiB/s  (${(median(e) / median(r)).toFixed(2)}× raw)`);
