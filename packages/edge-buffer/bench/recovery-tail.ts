// Recovery after a crash is proportional to the tail segment, not to the buffer: a buffer of
// BENCH_RECOVERY_MIB (default 1,024) MiB of 256-byte records in 64 MiB segments, sealed by a
// clean close; then, per case, a writer child (bench/recovery-writer.ts) appends until a new
// segment holds TAIL MiB and is killed with SIGKILL (no close, no seal; the page cache keeps
// what it wrote), and the next openBuffer is timed. The same tails are then measured again
// after the buffer has grown to twice the size.
//   npx tsx --conditions=@outpost/source packages/edge-buffer/bench/recovery-tail.ts
//   BENCH_TAILS_MIB=1,16,48 BENCH_RECOVERY_MIB=1024 … (tails must stay below 64)
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openBuffer } from '@outpost/edge-buffer';
import { fillConcurrently, fmt, payload, scratch } from './util.js';

const MIB = Number(process.env['BENCH_RECOVERY_MIB'] ?? 1024);
const TAILS = (process.env['BENCH_TAILS_MIB'] ?? '1,16,48').split(',').map(Number);
const SIZE = 256;
const options = { maxBytes: 8 * 2 ** 30, segmentBytes: 64 << 20 } as const;
const writer = fileURLToPath(new URL('./recovery-writer.ts', import.meta.url));

async function grow(dir: string, mib: number): Promise<void> {
  const buf = await openBuffer({ dir, ...options, durability: 'none' });
  await fillConcurrently(buf, Math.floor((mib * 2 ** 20) / (SIZE + 16)), payload(SIZE, 1), 16, 256);
  await buf.close();
}

/** Runs the writer child until it reports the tail written, then SIGKILLs it. */
function crashWithTail(dir: string, tailMiB: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@outpost/source', writer, dir, String(tailMiB)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited with ${code ?? signal}`))));
  });
}

async function timedOpen(dir: string): Promise<{ ms: number; records: number; segments: number; bytes: number }> {
  const t = performance.now();
  const buf = await openBuffer({ dir, ...options });
  const ms = performance.now() - t;
  const st = buf.stats();
  await buf.close(); // seals again: the next case starts from a clean close
  return { ms, records: st.records, segments: st.segments, bytes: st.bytes };
}

const { dir, done } = scratch('recovery-tail');
try {
  const rows: string[] = [];
  for (const round of [1, 2]) {
    const t0 = performance.now();
    await grow(dir, MIB);
    const fillS = (performance.now() - t0) / 1000;
    const clean = await timedOpen(dir);
    rows.push(`buffer ${fmt(clean.bytes / 2 ** 20)} MiB, ${clean.segments} segments (grown by ${MIB} MiB in ${fillS.toFixed(1)} s): open after a clean close ${clean.ms.toFixed(1)} ms`);
    for (const tail of TAILS) {
      await crashWithTail(dir, tail);
      const r = await timedOpen(dir);
      rows.push(`  kill -9 with a ${String(tail).padStart(2)} MiB tail segment: open ${r.ms.toFixed(1).padStart(8)} ms  (${fmt(r.bytes / 2 ** 20)} MiB, ${fmt(r.records)} records)`);
    }
    if (round === 1) console.log(rows.join('\n'));
  }
  console.log(rows.slice(TAILS.length + 1).join('\n'));
} finally {
  done();
}
