// Sliding windows that advance one sample at a time: frames per second through a
// SlidingCountWindow (1 s at 25.6 kHz, features emitted after every frame, and after every
// 256th) and a SlidingTimeWindow, against recomputing the window's features from scratch.
//   npx tsx --conditions=@outpost/source packages/edge-aggregate/bench/sliding.ts
import { SlidingCountWindow, SlidingTimeWindow, timeFeatures } from '@outpost/edge-aggregate';

const N = 1_000_000;
const x = new Float32Array(N);
for (let i = 0; i < N; i++) x[i] = Math.sin(i * 0.01) + ((i * 7919) % 1000) / 1000;
const SIZE = 25_600;

let sink = 0;
function time(name: string, frames: number, run: () => void): void {
  run(); // warm-up
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    run();
    rounds.push(frames / ((performance.now() - t0) / 1000));
  }
  rounds.sort((a, b) => a - b);
  console.log(`  ${name.padEnd(72)} ${Math.round(rounds[2] as number).toLocaleString('en-US').padStart(11)} frames/s`);
}

console.log(`sliding windows over ${N.toLocaleString('en-US')} samples, window ${SIZE} frames, median of 5 (node ${process.version}, ${process.arch})`);
time('SlidingCountWindow, features after every frame', N, () => {
  new SlidingCountWindow({ size: SIZE }, (e) => { sink += e.features[0]?.rms ?? 0; }).push(x);
});
time('SlidingCountWindow, features after every 256th frame', N, () => {
  new SlidingCountWindow({ size: SIZE, every: 256 }, (e) => { sink += e.features[0]?.rms ?? 0; }).push(x);
});
time('SlidingTimeWindow (1000 ms at 25.6 kHz), every frame', N, () => {
  new SlidingTimeWindow({ size: 1000, clock: () => 0 }, (e) => { sink += e.features[0]?.rms ?? 0; }).push(x, 0, 1000 / 25_600);
});
const M = 20_000;
time('recompute timeFeatures over the window at every frame (20 000 frames)', M, () => {
  for (let i = SIZE; i < SIZE + M; i++) sink += timeFeatures(x, { offset: i - SIZE, count: SIZE }).rms;
});
if (sink === 0.5) console.log(sink);
