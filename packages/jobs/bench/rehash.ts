// The cost of resuming: re-hashing the written prefix (SHA-256 over the part file) when a
// download restarts from its journal. Reported in MB/s of prefix; the page cache is dropped
// only if run as root with /proc/sys/vm/drop_caches writable (else the figure is a warm read).
// Run: npx tsx --conditions=@outpost/source packages/jobs/bench/rehash.ts
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResumableFile } from '../src/delivery/resumable.js';

const SIZE = 64 * 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-rehash-'));
const path = join(dir, 'img.bin');
const data = new Uint8Array(randomBytes(SIZE));
const sha256 = new Uint8Array(createHash('sha256').update(data).digest());
writeFileSync(`${path}.part`, data);
writeFileSync(`${path}.journal`, JSON.stringify({ v: 1, source: 'bench', sha256: Buffer.from(sha256).toString('hex'), size: null, offset: SIZE, meta: {} }));
const runs: number[] = [];
for (let i = 0; i < 5; i++) {
  const f = await ResumableFile.open({ path, source: 'bench', sha256 });
  if (f.resumedFrom !== SIZE) throw new Error(`resumed from ${f.resumedFrom}`);
  runs.push(f.rehashMs);
  await f.close();
}
const median = [...runs].sort((a, b) => a - b)[2]!;
console.log(`re-hash of a 64 MiB prefix: median ${median.toFixed(0)} ms = ${(SIZE / 1e6 / (median / 1000)).toFixed(0)} MB/s (runs ${runs.map((r) => r.toFixed(0)).join(', ')} ms)`);
rmSync(dir, { recursive: true, force: true });
