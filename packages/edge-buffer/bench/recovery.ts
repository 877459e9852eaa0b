// Recovery (openBuffer) time for a large buffer: every segment is scanned and every record's CRC
// checked. Default 1 GiB of 256-byte records; BENCH_RECOVERY_MIB to change.
//   npx tsx --conditions=@outpost/source packages/edge-buffer/bench/recovery.ts
import { openBuffer } from '@outpost/edge-buffer';
import { fillConcurrently, fmt, payload, scratch } from './util.js';

const MIB = Number(process.env['BENCH_RECOVERY_MIB'] ?? 1024);
const SIZE = 256;
const N = Math.floor((MIB * 2 ** 20) / (SIZE + 16));
const options = { maxBytes: 8 * 2 ** 30, segmentBytes: 64 << 20 } as const;

const { dir, done } = scratch('recovery');
try {
  const buf = await openBuffer({ dir, ...options, durability: 'none' });
  const t0 = performance.now();
  await fillConcurrently(buf, N, payload(SIZE, 1), 16, 256);
  await buf.close();
  const fillS = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const again = await openBuffer({ dir, ...options });
  const openS = (performance.now() - t1) / 1000;
  const st = again.stats();
  if (st.records !== N) throw new Error(`recovered ${st.records} of ${N}`);
  // A torn tail costs only the newest segment's scan plus a truncate.
  await again.close();
  console.log(`recovery of ${MIB} MiB (${fmt(N)} records of ${SIZE} B, ${st.segments} segments of 64 MiB; filled in ${fillS.toFixed(1)} s with 'none')`);
  console.log(`  openBuffer (scan + CRC of every record, page cache warm)   ${openS.toFixed(2)} s  = ${fmt(MIB / openS)} MiB/s`);
} finally {
  done();
}
