// Append throughput and latency against a raw file loop and better-sqlite3, on the same disk.
//   npx tsx --conditions=@outpost/source packages/edge-buffer/bench/append.ts
import { closeSync, fdatasyncSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { nodeFileSystem, openBuffer, type FileHandle, type FileSystem } from '@outpost/edge-buffer';
import { openQueueDb } from './sqlite.js';
import { fillConcurrently, fmt, ms, payload, percentile, scratch } from './util.js';


const N = Number(process.env['BENCH_RECORDS'] ?? 200_000);
const SIZE = 256;
const LAT_N = Number(process.env['BENCH_LATENCY_RECORDS'] ?? 2_000);

function raw(): number {
  const { dir, done } = scratch('raw');
  const fd = openSync(join(dir, 'raw.log'), 'w');
  const frame = payload(SIZE + 16, 1);
  const t = performance.now();
  for (let i = 1; i <= N; i++) {
    writeSync(fd, frame);
    if (i % 1000 === 0) fsyncSync(fd);
  }
  fsyncSync(fd);
  const s = (performance.now() - t) / 1000;
  closeSync(fd);
  done();
  return N / s;
}

function sqlite(): number {
  const { dir, done } = scratch('sqlite');
  const { db, ins } = openQueueDb(dir);
  const p = Buffer.from(payload(SIZE, 1));
  const batch = db.transaction((n: number) => {
    for (let i = 0; i < n; i++) ins.run(p);
  });
  const t = performance.now();
  for (let i = 0; i < N; i += 1000) batch(Math.min(1000, N - i));
  const s = (performance.now() - t) / 1000;
  db.close();
  done();
  return N / s;
}

/** nodeFileSystem with a counter of file syncs (fdatasync), to report records per sync. */
function countingFs(): { fs: FileSystem; syncs: () => number } {
  const real = nodeFileSystem();
  let n = 0;
  const fs: FileSystem = {
    ...real,
    open: async (path, mode) => {
      const f = await real.open(path, mode);
      const h: FileHandle = {
        read: (b, p) => f.read(b, p),
        write: (b, p) => f.write(b, p),
        sync: () => {
          n++;
          return f.sync();
        },
        truncate: (l) => f.truncate(l),
        size: () => f.size(),
        close: () => f.close(),
      };
      // The default path: one O_DSYNC write per group (a sync each).
      if (f.writeDurable !== undefined) {
        h.writeDurable = (c, p) => {
          n++;
          return f.writeDurable!(c, p);
        };
      }
      return h;
    },
  };
  return { fs, syncs: () => n };
}

async function edge(appenders: number, inFlight: number): Promise<{ rate: number; perSync: number }> {
  const { dir, done } = scratch('edge');
  const counting = countingFs();
  const buf = await openBuffer({ dir, maxBytes: 4 * 2 ** 30, segmentBytes: 64 << 20, durability: 'batch', fs: counting.fs });
  const t = performance.now();
  await fillConcurrently(buf, N, payload(SIZE, 1), appenders, inFlight);
  const s = (performance.now() - t) / 1000;
  await buf.close();
  done();
  return { rate: N / s, perSync: N / counting.syncs() };
}

function rawLatency(): number[] {
  const { dir, done } = scratch('rawlat');
  const fd = openSync(join(dir, 'raw.log'), 'w');
  const frame = payload(SIZE, 1);
  const lat: number[] = [];
  for (let i = 0; i < LAT_N; i++) {
    const t = performance.now();
    writeSync(fd, frame);
    fdatasyncSync(fd);
    lat.push(performance.now() - t);
  }
  closeSync(fd);
  done();
  return lat.sort((a, b) => a - b);
}

async function edgeLatency(): Promise<number[]> {
  const { dir, done } = scratch('edgelat');
  const buf = await openBuffer({ dir, maxBytes: 1 << 30, segmentBytes: 64 << 20, durability: 'fsync' });
  const p = payload(SIZE, 1);
  await buf.append(p); // segment creation out of the measurement
  const lat: number[] = [];
  for (let i = 0; i < LAT_N; i++) {
    const t = performance.now();
    await buf.append(p);
    lat.push(performance.now() - t);
  }
  await buf.close();
  done();
  return lat.sort((a, b) => a - b);
}

// The disk is shared (and on this machine, busy): contenders alternate over ROUNDS rounds and the
// median of each is reported, so a slow minute hurts all of them alike.
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rates = { raw: [] as number[], sqlite: [] as number[], strict: [] as number[], piped: [] as number[] };
const perSync = { strict: [] as number[], piped: [] as number[] };
for (let r = 0; r < ROUNDS; r++) {
  rates.raw.push(raw());
  rates.sqlite.push(sqlite());
  const a = await edge(16, 1);
  rates.strict.push(a.rate);
  perSync.strict.push(a.perSync);
  const b = await edge(16, 128);
  rates.piped.push(b.rate);
  perSync.piped.push(b.perSync);
}
const rawRate = median(rates.raw);
const sqliteRate = median(rates.sqlite);
const strict = median(rates.strict);
const piped = median(rates.piped);
console.log(`append throughput, ${fmt(N)} records of ${SIZE} B, median of ${ROUNDS} alternating rounds`);
console.log(`  raw writeSync + fsync per 1,000           ${fmt(rawRate)} rec/s`);
console.log(`  better-sqlite3 WAL FULL, 1,000 per tx     ${fmt(sqliteRate)} rec/s`);
console.log(`  edge-buffer 'batch', 16 appenders × 1     ${fmt(strict)} rec/s  (${(strict / sqliteRate).toFixed(2)}× sqlite, ${((100 * strict) / rawRate).toFixed(0)}% of raw; ${median(perSync.strict).toFixed(0)} records per fdatasync)`);
console.log(`  edge-buffer 'batch', 16 appenders × 128   ${fmt(piped)} rec/s  (${(piped / sqliteRate).toFixed(2)}× sqlite, ${((100 * piped) / rawRate).toFixed(0)}% of raw; ${median(perSync.piped).toFixed(0)} records per fdatasync)`);

const rl: number[] = [];
const el: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  rl.push(...rawLatency());
  el.push(...(await edgeLatency()));
}
rl.sort((a, b) => a - b);
el.sort((a, b) => a - b);
console.log(`'fsync' append latency, ${fmt(LAT_N * ROUNDS)} sequential appends of ${SIZE} B (alternating rounds)`);
console.log(`  raw writeSync + fdatasyncSync   p50 ${ms(percentile(rl, 0.5))}  p99 ${ms(percentile(rl, 0.99))}`);
console.log(`  edge-buffer 'fsync' append      p50 ${ms(percentile(el, 0.5))}  p99 ${ms(percentile(el, 0.99))}  (${(percentile(el, 0.5) / percentile(rl, 0.5)).toFixed(2)}× raw at p50)`);
