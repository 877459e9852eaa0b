// Open time for a large buffer: after a clean close (the seal: segment headers only), after a
// crash (the tail segment is CRC-scanned), and a full verify() (every record's CRC).
// Default 1 GiB of 256-byte records; BENCH_RECOVERY_MIB to change.
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
  const sealed = await openBuffer({ dir, ...options });
  const sealedMs = performance.now() - t1;
  const st = sealed.stats();
  if (st.records !== N) throw new Error(`recovered ${st.records} of ${N}`);
  const t2 = performance.now();
  const report = await sealed.verify();
  const verifyS = (performance.now() - t2) / 1000;
  if (report.records !== N || report.damage.length > 0) throw new Error(`verify: ${report.records} records, ${report.damage.length} damaged`);
  // A crash: the tail grows after the seal and the process dies (here: the buffer is abandoned,
  // not closed), so the seal's entry for the tail no longer matches and only the tail is scanned.
  for (let i = 0; i < 100; i++) await sealed.append(payload(SIZE, i));
  const t3 = performance.now();
  const crashed = await openBuffer({ dir, ...options });
  const crashMs = performance.now() - t3;
  if (crashed.stats().records !== N + 100) throw new Error(`after the crash: ${crashed.stats().records} of ${N + 100}`);
  await crashed.close();
  await sealed.close().catch(() => undefined);

  console.log(`open of ${MIB} MiB (${fmt(N)} records of ${SIZE} B, ${st.segments} segments of 64 MiB; filled in ${fillS.toFixed(1)} s with 'none'), page cache warm`);
  console.log(`  after a clean close (seal: segment headers only)          ${sealedMs.toFixed(1)} ms`);
  console.log(`  after a crash (tail segment CRC-scanned)                   ${crashMs.toFixed(1)} ms`);
  console.log(`  verify(): CRC of every record                              ${verifyS.toFixed(2)} s  = ${fmt(MIB / verifyS)} MiB/s`);
} finally {
  done();
}
