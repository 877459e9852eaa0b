// 64 KiB records in 'fsync' mode (one write + one fdatasync per append) against a raw loop doing
// the same work: writev(16-byte header, payload) + fdatasync per record, same disk, alternating.
// edge-buffer runs twice: with the default file system (fdatasync on the libuv thread pool) and
// with nodeFileSystem({ inlineSync: true }) (fdatasyncSync on the main thread, like the raw loop).
//   npx tsx --conditions=@outpost/source packages/edge-buffer/bench/large.ts
// Last, both interleaved in blocks of BENCH_BLOCK (50) records: the figure to trust on a noisy disk.
// BENCH_DIR=/dev/shm takes the device out (fdatasync is a no-op on tmpfs): the CPU path only.
import { closeSync, fdatasyncSync, openSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import { nodeFileSystem, openBuffer } from '@outpost/edge-buffer';
import { fmt, payload, scratch } from './util.js';

const N = Number(process.env['BENCH_LARGE_RECORDS'] ?? 1_000);
const SIZE = 64 * 1024;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const BLOCK = Number(process.env['BENCH_BLOCK'] ?? 50);

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

async function edge(inlineSync: boolean): Promise<number> {
  const { dir, done } = scratch('large-edge');
  const fs = nodeFileSystem({ inlineSync });
  const buf = await openBuffer({ dir, maxBytes: 4 * 2 ** 30, segmentBytes: 256 << 20, maxRecordBytes: SIZE, durability: 'fsync', fs });
  const p = payload(SIZE, 1);
  await buf.append(p); // segment creation out of the measurement
  const t = performance.now();
  for (let i = 0; i < N; i++) await buf.append(p);
  const s = (performance.now() - t) / 1000;
  await buf.close();
  done();
  return N / s;
}

/**
 * Raw loop and edge-buffer interleaved in blocks of BLOCK records on open files, each side's time
 * summed: under a shared, noisy disk both meet the same conditions within seconds of each other.
 */
async function interleaved(inlineSync: boolean): Promise<number> {
  const rawDir = scratch('large-raw-i');
  const edgeDir = scratch('large-edge-i');
  const fd = openSync(join(rawDir.dir, 'raw.log'), 'w');
  const buf = await openBuffer({ dir: edgeDir.dir, maxBytes: 4 * 2 ** 30, segmentBytes: 256 << 20, maxRecordBytes: SIZE, durability: 'fsync', fs: nodeFileSystem({ inlineSync }) });
  const header = payload(16, 7);
  const p = payload(SIZE, 1);
  await buf.append(p);
  let rawMs = 0;
  let edgeMs = 0;
  for (let done = 0; done < N; done += BLOCK) {
    let t = performance.now();
    for (let i = 0; i < BLOCK; i++) {
      writevSync(fd, [header, p]);
      fdatasyncSync(fd);
    }
    rawMs += performance.now() - t;
    t = performance.now();
    for (let i = 0; i < BLOCK; i++) await buf.append(p);
    edgeMs += performance.now() - t;
  }
  closeSync(fd);
  await buf.close();
  rawDir.done();
  edgeDir.done();
  return rawMs / edgeMs;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const r: number[] = [];
const e: number[] = [];
const inl: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  r.push(raw());
  e.push(await edge(false));
  inl.push(await edge(true));
}
console.log(`${fmt(N)} appends of 64 KiB, one fdatasync each, median of ${ROUNDS} alternating rounds`);
console.log(`  raw writev(header, payload) + fdatasync   ${fmt(median(r))} rec/s  ${fmt((median(r) * SIZE) / 2 ** 20)} MiB/s`);
const line = (name: string, xs: number[]): string =>
  `  ${name.padEnd(42)}${fmt(median(xs))} rec/s  ${fmt((median(xs) * SIZE) / 2 ** 20)} MiB/s  (${(median(xs) / median(r)).toFixed(2)}× raw; per round ${xs.map((x, i) => (x / r[i]!).toFixed(2)).join(', ')})`;
console.log(line("edge-buffer 'fsync' append", e));
console.log(line("edge-buffer 'fsync', inlineSync: true", inl));
const il = [await interleaved(false), await interleaved(true)];
console.log(`  interleaved in blocks of ${BLOCK} (same ${fmt(N)} records each side): edge-buffer ${il[0]!.toFixed(2)}× raw, with inlineSync ${il[1]!.toFixed(2)}× raw`);
