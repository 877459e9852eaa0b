// Real FFTs per second: RealFFT against fft.js (bench-only dependency), at 4096 points (the
// issue's figure) and at 1024 and 8192. The contenders alternate round by round and the median
// round is reported, so load from other processes on a shared machine hits both alike.
//   npx tsx --conditions=@outpost/source packages/edge-aggregate/bench/fft.ts
import FFTJS from 'fft.js';
import { RealFFT } from '@outpost/edge-aggregate';

const ROUNDS = 15;

function rate(fn: () => unknown, ms: number): number {
  let sink: unknown;
  let k = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < 20; i++) sink = fn();
    k += 20;
  }
  if (sink === Symbol.for('never')) console.log(sink);
  return k / ((performance.now() - t0) / 1000);
}

const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

console.log(`real FFT, ${ROUNDS} alternating rounds, median (node ${process.version}, ${process.arch})`);
for (const n of [1024, 4096, 8192]) {
  const input = new Float64Array(n).map((_, i) => Math.sin(i * 0.3) + ((i * 31) % 17) / 17);
  const ours = new RealFFT(n);
  const out = new Float64Array(n + 2);
  const ref = new FFTJS(n);
  const refOut = ref.createComplexArray() as number[];
  const refIn = Array.from(input);
  const a: number[] = [];
  const b: number[] = [];
  rate(() => ours.forward(input, out), 200); // warm-up
  rate(() => ref.realTransform(refOut, refIn), 200);
  for (let r = 0; r < ROUNDS; r++) {
    a.push(rate(() => ours.forward(input, out), 100));
    b.push(rate(() => ref.realTransform(refOut, refIn), 100));
  }
  const ma = median(a);
  const mb = median(b);
  const fmt = (x: number): string => Math.round(x).toLocaleString('en-US').padStart(9);
  console.log(`  N = ${String(n).padStart(4)}: RealFFT.forward ${fmt(ma)} FFTs/s   fft.js realTransform ${fmt(mb)} FFTs/s   ratio ${(ma / mb).toFixed(2)}`);
}
