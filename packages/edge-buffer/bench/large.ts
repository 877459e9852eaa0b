// 64 KiB records in 'fsync' mode (one durable write per append) against a raw loop doing the
// same work on the event loop's thread: writev(16-byte header, payload) + fdatasync per record.
//   npx tsx --conditions=@outpost/source packages/edge-buffer/bench/large.ts
// Contenders (each prints its ratio to the raw loop):
//   default        openBuffer defaults: segment preallocation (preallocate: true; the next segment
//                  zero-filled in the background, so a fresh buffer's first segment is not) and
//                  nodeFileSystem(): pwritev on an O_DSYNC descriptor on the thread pool (writeDurable)
//   preallocate: false   the same without preallocation (the session-5 default)
//   dsyncWrites    nodeFileSystem({ dsyncWrites: false }): writevSync on the event loop, then
//                  fdatasync on the thread pool (the default before session 5); no preallocation
//   inlineSync     nodeFileSystem({ inlineSync: true }): writevSync + fdatasyncSync, both on the
//                  event loop's thread (blocks it, like the raw loop); no preallocation
//   raw O_DSYNC    for reference: writevSync on an O_DSYNC descriptor (blocking), no edge-buffer
//   preallocated   for reference: the raw loop into a file zero-filled and fsynced beforehand, so
//                  no fdatasync has to commit a size change (what segment preallocation would buy)
// Three figures: separate rounds (median of BENCH_ROUNDS, 3), all contenders interleaved in blocks
// of BENCH_BLOCK (50) records on open files (each meets the same disk within seconds: the figure
// to trust on a noisy disk), and the median latency of one append in the interleaved run.
// BENCH_DIR=/dev/shm takes the device out (fdatasync is a no-op on tmpfs): the CPU path only.
// Segments of BENCH_SEGMENT_MIB (16, the default for maxBytes ≥ 128 MiB), so 1,000 records rotate 3 times.
// Fair by construction: same flags (O_CREAT|O_TRUNC, no O_DIRECT), no preallocation on either
// side (but the default's own, which it pays for inside its timing, and the last reference line), the same 65,552 bytes per record at the same offsets modulo the 24-byte segment header.
import { closeSync, constants, fdatasyncSync, fsyncSync, openSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import { nodeFileSystem, openBuffer, type EdgeBuffer, type NodeFileSystemOptions } from '@outpost/edge-buffer';
import { fmt, payload, scratch } from './util.js';

const N = Number(process.env['BENCH_LARGE_RECORDS'] ?? 1_000);
const SIZE = 64 * 1024;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const BLOCK = Number(process.env['BENCH_BLOCK'] ?? 50);
const SEGMENT = Number(process.env['BENCH_SEGMENT_MIB'] ?? 16) * 2 ** 20;
const header = payload(16, 7);
const p = payload(SIZE, 1);

interface Contender {
  name: string;
  open(): Promise<{ append(): unknown; close(): Promise<void> }>;
}

/** `prealloc`: the file is zero-filled and fsynced first (outside the timing), so no sync commits a size change. */
function rawContender(name: string, dsync: boolean, prealloc = false): Contender {
  return {
    name,
    open: async () => {
      const { dir, done } = scratch('large-raw');
      const path = join(dir, 'raw.log');
      if (prealloc) {
        const zfd = openSync(path, 'w');
        const zeros = new Uint8Array(1 << 20);
        for (let o = 0; o < (N + 1) * (SIZE + 16); o += zeros.length) writevSync(zfd, [zeros], o);
        fsyncSync(zfd);
        closeSync(zfd);
      }
      const fd = openSync(path, constants.O_WRONLY | (prealloc ? 0 : constants.O_CREAT | constants.O_TRUNC) | (dsync ? constants.O_DSYNC : 0));
      return {
        append: dsync
          ? () => writevSync(fd, [header, p])
          : () => {
              writevSync(fd, [header, p]);
              fdatasyncSync(fd);
            },
        close: async () => {
          closeSync(fd);
          done();
        },
      };
    },
  };
}

function edgeContender(name: string, fsOptions: NodeFileSystemOptions, preallocate = true): Contender {
  return {
    name,
    open: async () => {
      const { dir, done } = scratch('large-edge');
      const buf: EdgeBuffer = await openBuffer({ dir, maxBytes: 4 * 2 ** 30, segmentBytes: SEGMENT, maxRecordBytes: SIZE, durability: 'fsync', preallocate, fs: nodeFileSystem(fsOptions) });
      await buf.append(p); // segment creation out of the measurement
      return {
        append: () => buf.append(p),
        close: async () => {
          await buf.close();
          done();
        },
      };
    },
  };
}

const raw = rawContender('raw writev + fdatasync (the reference)', false);
// BENCH_ONLY='default,preallocate: false': only the raw reference and the contenders whose names contain one of these words.
const only = (process.env['BENCH_ONLY'] ?? '').split(',').filter((w) => w !== '');
const all: Contender[] = [
  edgeContender('edge-buffer default (preallocated, O_DSYNC)', {}),
  edgeContender('edge-buffer preallocate: false (O_DSYNC)', {}, false),
  edgeContender('edge-buffer dsyncWrites: false (pool fdatasync)', { dsyncWrites: false }, false),
  edgeContender('edge-buffer inlineSync: true (blocks the loop)', { inlineSync: true }, false),
  rawContender('raw O_DSYNC writev (blocking)', true),
  rawContender('raw writev + fdatasync, preallocated file', false, true),
];
const contenders: Contender[] = [raw, ...all.filter((c) => only.length === 0 || only.some((w) => c.name.includes(w)))];

async function rate(c: Contender): Promise<number> {
  const h = await c.open();
  const t = performance.now();
  for (let i = 0; i < N; i++) await h.append();
  const s = (performance.now() - t) / 1000;
  await h.close();
  return N / s;
}

/** Every contender open at once, taking turns in blocks of BLOCK records: summed ms and per-append latencies. */
async function interleaved(): Promise<{ ms: number[]; lat: number[][] }> {
  const hs = [];
  for (const c of contenders) hs.push(await c.open());
  const ms = hs.map(() => 0);
  const lat: number[][] = hs.map(() => []);
  for (let done = 0; done < N; done += BLOCK) {
    for (let k = 0; k < hs.length; k++) {
      const h = hs[k]!;
      const t0 = performance.now();
      for (let i = 0; i < BLOCK; i++) {
        const t = performance.now();
        await h.append();
        lat[k]!.push(performance.now() - t);
      }
      ms[k]! += performance.now() - t0;
    }
  }
  for (const h of hs) await h.close();
  return { ms, lat };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rounds: number[][] = contenders.map(() => []);
for (let r = 0; r < ROUNDS; r++) for (let k = 0; k < contenders.length; k++) rounds[k]!.push(await rate(contenders[k]!));
const il = await interleaved();

console.log(`${fmt(N)} appends of 64 KiB, one durable write each (fdatasync or O_DSYNC); ratio = rate ÷ the raw loop's, >1 is faster`);
console.log(`  ${'contender'.padEnd(48)}${`separate rounds, median of ${ROUNDS} (per round)`.padEnd(60)}${`interleaved, blocks of ${BLOCK}`.padEnd(26)}p50 latency (interleaved)`);
const p50raw = median(il.lat[0]!);
contenders.forEach((c, k) => {
  const xs = rounds[k]!;
  const perRound = xs.map((x, i) => (x / rounds[0]![i]!).toFixed(2)).join(', ');
  const mid = median(xs);
  const sep = `${fmt(mid).padStart(6)} rec/s ${(mid / median(rounds[0]!)).toFixed(2)}× (${perRound})`;
  const inter = `${(il.ms[0]! / il.ms[k]!).toFixed(2)}×`;
  const p50 = median(il.lat[k]!);
  console.log(`  ${c.name.padEnd(48)}${sep.padEnd(60)}${inter.padEnd(26)}${p50.toFixed(3)} ms (${(p50raw / p50).toFixed(2)}×)`);
});
