// Single-pass time-domain features over a 1-million-sample Float32Array, against a naive
// multi-pass implementation and against the raw memory-read rate (summing the array). The
// contenders alternate round by round and the median round is reported, so load from other
// processes on a shared machine hits all of them alike.
//   npx tsx --conditions=@outpost/source packages/edge-aggregate/bench/features.ts
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
const ROUNDS = 15;
const contenders: Array<{ name: string; samples: number; fn: () => unknown }> = [
  { name: 'raw read (sum)', samples: N, fn: rawSum },
  { name: 'FeatureAccumulator.push (single pass)', samples: N, fn: () => acc.reset().push(x).state().m4 },
  { name: 'timeFeatures, stride 3 (one axis)', samples: Math.ceil(N / 3), fn: () => timeFeatures(x, { stride: 3 }).kurtosis },
  { name: 'naive multi-pass', samples: N, fn: naive },
];

function rate(fn: () => unknown, ms: number): number {
  let sink: unknown;
  let k = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    sink = fn();
    k++;
  }
  if (sink === Symbol.for('never')) console.log(sink);
  return k / ((performance.now() - t0) / 1000);
}

for (const c of contenders) rate(c.fn, 300); // warm-up
const rounds = contenders.map(() => [] as number[]);
for (let r = 0; r < ROUNDS; r++) contenders.forEach((c, i) => rounds[i]?.push(rate(c.fn, 150)));
const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const msps = contenders.map((c, i) => (median(rounds[i] ?? []) * c.samples) / 1e6);
console.log(`time-domain features over 1 000 000 float32 samples, ${ROUNDS} alternating rounds, median (node ${process.version}, ${process.arch})`);
contenders.forEach((c, i) => console.log(`  ${c.name.padEnd(40)} ${(msps[i] ?? 0).toFixed(0).padStart(6)} M samples/s`));
console.log(`  single pass is ${((msps[0] ?? 0) / (msps[1] ?? 1)).toFixed(2)}× slower than the raw read`);
