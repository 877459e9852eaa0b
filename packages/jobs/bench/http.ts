// Resumable HTTP download (downloadHttp: Range-capable request, SHA-256 as bytes arrive, journal
// fsync'd every 1 MiB, final fsync and rename) vs a plain undici GET piped to a file (and the same
// with a final fsync, the durability downloadHttp gives), for the same 64 MiB file from
// startFileServer on loopback, alternating, in the same run. Goal: ≥ 0.8× the plain GET.
// Run: npx tsx --conditions=@outpost/source packages/jobs/bench/http.ts
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';
import { downloadHttp, startFileServer } from '@outpost/jobs';

const SIZE = 64 * 1024 * 1024;
const ROUNDS = 5;
const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-http-'));
mkdirSync(join(dir, 'www'));
const image = new Uint8Array(randomBytes(SIZE));
const sha256 = new Uint8Array(createHash('sha256').update(image).digest());
writeFileSync(join(dir, 'www', 'img.bin'), image);
const server = await startFileServer({ root: join(dir, 'www') });
const url = `${server.url}/img.bin`;

async function plain(): Promise<number> {
  const t0 = performance.now();
  const res = await request(url);
  await pipeline(res.body, createWriteStream(join(dir, 'plain.bin')));
  return performance.now() - t0;
}
async function plainSynced(): Promise<number> {
  const t0 = performance.now();
  const res = await request(url);
  const out = join(dir, 'plain-sync.bin');
  await pipeline(res.body, createWriteStream(out));
  const fd = await open(out, 'r+');
  await fd.sync();
  await fd.close();
  return performance.now() - t0;
}
async function resumable(): Promise<number> {
  rmSync(join(dir, 'res.bin'), { force: true });
  const t0 = performance.now();
  await downloadHttp({ url, path: join(dir, "res.bin"), sha256, size: SIZE, ...(process.env["JOURNAL"] !== undefined ? { journalEveryBytes: Number(process.env["JOURNAL"]) } : {}) });
  return performance.now() - t0;
}

const a: number[] = [];
const b: number[] = [];
const c: number[] = [];
await plain();
for (let r = 0; r < ROUNDS; r++) {
  a.push(await plain());
  c.push(await plainSynced());
  b.push(await resumable());
}
const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const mibs = (ms: number): string => (SIZE / 1048576 / (ms / 1000)).toFixed(0);
console.log(`64 MiB over loopback, median of ${ROUNDS}`);
console.log(`plain undici GET → file      ${mibs(median(a)).padStart(5)} MiB/s  (${a.map((x) => x.toFixed(0)).join(', ')} ms)`);
console.log(`plain GET → file + fsync      ${mibs(median(c)).padStart(5)} MiB/s  (${c.map((x) => x.toFixed(0)).join(', ')} ms)  ratio ${(median(a) / median(c)).toFixed(2)}`);
console.log(`downloadHttp (hash+journal)  ${mibs(median(b)).padStart(5)} MiB/s  (${b.map((x) => x.toFixed(0)).join(', ')} ms)  ratio ${(median(a) / median(b)).toFixed(2)}`);
await server.stop();
rmSync(dir, { recursive: true, force: true });
