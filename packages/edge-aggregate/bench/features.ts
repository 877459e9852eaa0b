// Single-pass time-domain features over a 1-million-sample Float32Array, against a naive
// multi-pass implementation and against the raw memory-read rate (summing the array).
//   npx tsx --conditions=@outpost/source packages/edge-aggregate/bench/features.ts
import { bench, report } from '@outpost/test-peers';
import { FeatureAccumulator, timeFeatures } from '@outpost/edge-aggregate';

const N = 1_000_000;
const x = new Float32Array(N);
for (let i = 0; i < N; i++) x[i] = Math.sin(i * 0.01) + ((i * 7919) % 1000) / 1000;

function rawSum(): number {
  let s = 0;
  for (let i = 0; i < N; i++) s += x[i] as number;
  return s;
}

function naive(): number {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < N; i++) {
    const v = x[i] as number;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = sum / N;
  let m2 = 0;
  for (let i = 0; i < N; i++) {
    const d = (x[i] as number) - mean;
    m2 += d * d;
  }
  let m3 = 0;
  for (let i = 0; i < N; i++) {
    const d = (x[i] as number) - mean;
    m3 += d * d * d;
  }
  let m4 = 0;
  for (let i = 0; i < N; i++) {
    const d = (x[i] as number) - mean;
    m4 += d * d * d * d;
  }
  let sq = 0;
  for (let i = 0; i < N; i++) sq += (x[i] as number) * (x[i] as number);
  return m2 + m3 + m4 + sq + min + max;
}

const acc = new FeatureAccumulator();
const SAMPLES = [N, N, Math.ceil(N / 3), N]; // samples read per op, per row
const results = [
  bench('raw read (sum)', rawSum, { rounds: 9, minMs: 400 }),
  bench('FeatureAccumulator.push (single pass)', () => acc.reset().push(x).state().m4, { rounds: 9, minMs: 400 }),
  bench('timeFeatures, stride 3 (one axis)', () => timeFeatures(x, { stride: 3 }).kurtosis, { rounds: 9, minMs: 400 }),
  bench('naive multi-pass', naive, { rounds: 9, minMs: 400 }),
];
report('time-domain features over 1 000 000 float32 samples (ops = one full array)', results);
results.forEach((r, i) => console.log(`  ${r.name}: ${((r.opsPerSec * (SAMPLES[i] ?? N)) / 1e6).toFixed(0)} M samples/s`));
const [raw, single] = results;
if (raw !== undefined && single !== undefined) console.log(`  single pass is ${(raw.opsPerSec / single.opsPerSec).toFixed(2)}× slower than the raw read`);
