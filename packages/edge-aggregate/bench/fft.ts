// 4096-point real FFTs per second: RealFFT against fft.js (bench-only dependency).
//   npx tsx --conditions=@outpost/source packages/edge-aggregate/bench/fft.ts
import FFTJS from 'fft.js';
import { bench, report } from '@outpost/test-peers';
import { RealFFT } from '@outpost/edge-aggregate';

const N = 4096;
const input = new Float64Array(N).map((_, i) => Math.sin(i * 0.3) + ((i * 31) % 17) / 17);
const ours = new RealFFT(N);
const out = new Float64Array(N + 2);
const ref = new FFTJS(N);
const refOut = ref.createComplexArray() as number[];
const refIn = Array.from(input);

report(`${N}-point real FFT`, [
  bench('RealFFT.forward (@outpost/edge-aggregate)', () => ours.forward(input, out)),
  bench('fft.js realTransform', () => ref.realTransform(refOut, refIn)),
]);
