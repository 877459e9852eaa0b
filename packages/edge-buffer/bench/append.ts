// Append throughput and latency against a raw file loop and better-sqlite3, on the same disk.
//   npx tsx --conditions=@outpost/source packages/edge-buffer/bench/append.ts
import { closeSync, fdatasyncSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { openBuffer } from '@outpost/edge-buffer';
import { fmt, ms, payload, percentile, scratch } from './util.js';

// better-sqlite3 ships no types and @types/better-sqlite3 is not installed: the few calls used here.
interface Statement {
  run(...params: unknown[]): unknown;
}
interface Db {
  pragma(sql: string): unknown;
  exec(sql: string): unknown;
  prepare(sql: string): Statement;
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
  close(): void;
}
const Database = createRequire(import.meta.url)('better-sqlite3') as new (path: string) => Db;

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
  const db = new Database(join(dir, 'q.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE q (seq INTEGER PRIMARY KEY, payload BLOB NOT NULL)');
  const ins = db.prepare('INSERT INTO q (payload) VALUES (?)');
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

async function edge(appenders: number, inFlight: number): Promise<{ rate: number; groups: number }> {
  const { dir, done } = scratch('edge');
  const buf = await openBuffer({ dir, maxBytes: 4 * 2 ** 30, segmentBytes: 64 << 20, durability: 'batch' });
  const p = payload(SIZE, 1);
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: appenders }, async () => {
      const window: Promise<number>[] = [];
      while (next < N) {
        next++;
        window.push(buf.append(p));
        if (window.length >= inFlight) await window.shift();
      }
      await Promise.all(window);
    }),
  );
  const s = (performance.now() - t) / 1000;
  await buf.close();
  done();
  return { rate: N / s, groups: 0 };
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

const rawRate = raw();
const sqliteRate = sqlite();
const strict = await edge(16, 1);
const piped = await edge(16, 64);
console.log(`append throughput, ${N} records of ${SIZE} B`);
console.log(`  raw writeSync + fsync per 1,000          ${fmt(rawRate)} rec/s`);
console.log(`  better-sqlite3 WAL FULL, 1,000 per tx    ${fmt(sqliteRate)} rec/s`);
console.log(`  edge-buffer 'batch', 16 appenders × 1    ${fmt(strict.rate)} rec/s  (${(strict.rate / sqliteRate).toFixed(2)}× sqlite, ${((100 * strict.rate) / rawRate).toFixed(0)}% of raw)`);
console.log(`  edge-buffer 'batch', 16 appenders × 64   ${fmt(piped.rate)} rec/s  (${(piped.rate / sqliteRate).toFixed(2)}× sqlite, ${((100 * piped.rate) / rawRate).toFixed(0)}% of raw)`);

const rl = rawLatency();
const el = await edgeLatency();
console.log(`'fsync' append latency, ${LAT_N} sequential appends of ${SIZE} B`);
console.log(`  raw write + fdatasync   p50 ${ms(percentile(rl, 0.5))}  p99 ${ms(percentile(rl, 0.99))}`);
console.log(`  edge-buffer 'fsync'     p50 ${ms(percentile(el, 0.5))}  p99 ${ms(percentile(el, 0.99))}  (${(percentile(el, 0.5) / percentile(rl, 0.5)).toFixed(2)}× raw at p50)`);
