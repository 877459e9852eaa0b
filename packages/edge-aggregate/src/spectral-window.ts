// Spectral windows for the FFT: cosine-sum coefficients (Harris, "On the use of windows for
// harmonic analysis with the discrete Fourier transform", Proc. IEEE 66(1), 1978).
import { assertInt } from './validate.js';

/** Spectral windows implemented by {@link windowCoefficients}. */
export type WindowKind = 'rectangular' | 'hann' | 'hamming' | 'flattop';

// Cosine-sum coefficients. Flat-top: the 5-term window of MATLAB `flattopwin` / SciPy `flattop`
// (D'Antona & Ferrero, "Digital Signal Processing for Measurement Systems", 2006).
const COSINE_SUM: Readonly<Record<WindowKind, readonly number[]>> = {
  rectangular: [1],
  hann: [0.5, 0.5],
  hamming: [0.54, 0.46],
  flattop: [0.21557895, 0.41663158, 0.277263158, 0.083578947, 0.006947368],
};

/**
 * Periodic (DFT-even) window coefficients of length `n`, as spectral analysis uses them:
 * `w[i] = Σ (-1)^k a_k cos(2πki/n)`.
 *
 * @throws {TypeError} when `n` is not a number.
 * @throws {RangeError} for an unknown kind or a bad length.
 * @example
 * ```ts
 * import { windowCoefficients } from '@outpost/edge-aggregate';
 * const w = windowCoefficients('hann', 4); // periodic: 0, ½, 1, ½
 * w[0]; // 0
 * w[2]; // 1
 * ```
 */
export function windowCoefficients(kind: WindowKind, n: number): Float64Array {
  const a = Object.hasOwn(COSINE_SUM, kind) ? COSINE_SUM[kind] : undefined;
  if (a === undefined) {
    if (typeof kind !== 'string') throw new TypeError(`kind: expected a string, got ${typeof kind}`);
    throw new RangeError(`kind: expected one of ${Object.keys(COSINE_SUM).join(', ')}, got '${kind}'`);
  }
  assertInt('n', n, 1, 1 << 24);
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let k = 0; k < a.length; k++) v += (k % 2 === 0 ? 1 : -1) * (a[k] as number) * Math.cos((2 * Math.PI * k * i) / n);
    w[i] = Math.abs(v) < 1e-15 ? 0 : v;
  }
  return w;
}
