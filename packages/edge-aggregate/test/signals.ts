// Deterministic test signals: a seeded PRNG (mulberry32), Gaussian noise by Box-Muller, sines.
import { mulberry32 as prng } from '@outpost/test-peers';

/** The shared seeded PRNG (mulberry32) from @outpost/test-peers. */
export { prng };

/** Gaussian white noise with standard deviation `sigma`. */
export function gaussian(n: number, sigma: number, seed: number): Float32Array {
  const r = prng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - r();
    const v = r();
    const m = sigma * Math.sqrt(-2 * Math.log(u));
    out[i] = m * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = m * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** `amplitude * sin(2π f t)` sampled at `fs`. */
export function sine(n: number, amplitude: number, f: number, fs: number, phase = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = amplitude * Math.sin((2 * Math.PI * f * i) / fs + phase);
  return out;
}
