// Radix-2 real FFT. An N-point real transform is computed as an N/2-point complex FFT of the
// even/odd samples packed as z[m] = x[2m] + i·x[2m+1], followed by the split step
// X[k] = E[k] + W_N^k·O[k] (e.g. Oppenheim & Schafer, "Discrete-Time Signal Processing", §9.3;
// or the classic "two real FFTs for the price of one" packing). Tables (bit reversal, twiddles)
// are built once per size; forward() allocates nothing when given an output buffer.
import { assertInt, assertSamples, type Samples } from './validate.js';

/**
 * A reusable N-point real FFT (N a power of two, 2 … 2²⁴).
 *
 * `forward` returns the one-sided spectrum as interleaved `[re₀, im₀, re₁, im₁, …, re_{N/2}, im_{N/2}]`
 * (N + 2 numbers), unnormalised: `X[k] = Σ x[n]·e^{-2πikn/N}`.
 *
 * @example
 * ```ts
 * import { RealFFT } from '@outpost/edge-aggregate';
 * const fft = new RealFFT(4);
 * Array.from(fft.forward(new Float32Array([1, 0, -1, 0]))); // [0, 0, 2, 0, 0, 0]
 * ```
 */
export class RealFFT {
  /** Transform length N. */
  readonly size: number;
  readonly #m: number;
  readonly #rev: Uint32Array;
  readonly #cos: Float64Array; // cos(2πj/M), j < M/2
  readonly #sin: Float64Array;
  readonly #splitCos: Float64Array; // cos(2πk/N), k ≤ M
  readonly #splitSin: Float64Array;
  readonly #re: Float64Array;
  readonly #im: Float64Array;

  /**
   * @throws {TypeError} when `size` is not a number.
   * @throws {RangeError} when `size` is not a power of two in [2, 2²⁴].
   */
  constructor(size: number) {
    assertInt('size', size, 2, 1 << 24);
    if ((size & (size - 1)) !== 0) throw new RangeError(`size: expected a power of two, got ${size}`);
    this.size = size;
    const m = size / 2;
    this.#m = m;
    const bits = Math.log2(m);
    this.#rev = new Uint32Array(m);
    for (let i = 0; i < m; i++) {
      let r = 0;
      for (let b = 0, v = i; b < bits; b++, v >>= 1) r = (r << 1) | (v & 1);
      this.#rev[i] = r;
    }
    this.#cos = new Float64Array(Math.max(1, m / 2));
    this.#sin = new Float64Array(Math.max(1, m / 2));
    for (let j = 0; j < m / 2; j++) {
      this.#cos[j] = Math.cos((2 * Math.PI * j) / m);
      this.#sin[j] = Math.sin((2 * Math.PI * j) / m);
    }
    this.#splitCos = new Float64Array(m + 1);
    this.#splitSin = new Float64Array(m + 1);
    for (let k = 0; k <= m; k++) {
      this.#splitCos[k] = Math.cos((2 * Math.PI * k) / size);
      this.#splitSin[k] = Math.sin((2 * Math.PI * k) / size);
    }
    this.#re = new Float64Array(m);
    this.#im = new Float64Array(m);
  }

  /**
   * One-sided spectrum of `input` (exactly `size` samples).
   *
   * @param out Optional output of length `size + 2`, reused to avoid allocation.
   * @throws {TypeError} for non-sample input or output.
   * @throws {RangeError} for a wrong input or output length.
   * @example
   * ```ts
   * import { RealFFT } from '@outpost/edge-aggregate';
   * const out = new Float64Array(10);
   * new RealFFT(8).forward(new Float64Array(8).fill(1), out);
   * out[0]; // 8
   * ```
   */
  forward(input: Samples, out?: Float64Array): Float64Array {
    assertSamples('input', input);
    const n = this.size;
    if (input.length !== n) throw new RangeError(`input: expected ${n} samples, got ${input.length}`);
    if (out === undefined) out = new Float64Array(n + 2);
    else {
      if (!(out instanceof Float64Array)) throw new TypeError('out: expected a Float64Array');
      if (out.length !== n + 2) throw new RangeError(`out: expected ${n + 2} numbers, got ${out.length}`);
    }
    const m = this.#m;
    const re = this.#re;
    const im = this.#im;
    const rev = this.#rev;
    for (let i = 0; i < m; i++) {
      const r = rev[i] as number;
      re[r] = input[2 * i] as number;
      im[r] = input[2 * i + 1] as number;
    }
    const cos = this.#cos;
    const sin = this.#sin;
    for (let len = 2; len <= m; len <<= 1) {
      const half = len >> 1;
      const step = m / len;
      for (let i = 0; i < m; i += len) {
        for (let j = 0, t = 0; j < half; j++, t += step) {
          const wr = cos[t] as number;
          const wi = -(sin[t] as number);
          const a = i + j;
          const b = a + half;
          const br = re[b] as number;
          const bi = im[b] as number;
          const tr = wr * br - wi * bi;
          const ti = wr * bi + wi * br;
          const ar = re[a] as number;
          const ai = im[a] as number;
          re[b] = ar - tr;
          im[b] = ai - ti;
          re[a] = ar + tr;
          im[a] = ai + ti;
        }
      }
    }
    const sc = this.#splitCos;
    const ss = this.#splitSin;
    for (let k = 0; k <= m; k++) {
      const p = k === m ? 0 : k;
      const q = k === 0 ? 0 : m - k;
      const zr = re[p] as number;
      const zi = im[p] as number;
      const yr = re[q] as number;
      const yi = im[q] as number;
      const er = (zr + yr) / 2;
      const ei = (zi - yi) / 2;
      const or = (zi + yi) / 2;
      const oi = -(zr - yr) / 2;
      const c = sc[k] as number;
      const s = ss[k] as number;
      out[2 * k] = er + c * or + s * oi;
      out[2 * k + 1] = ei + c * oi - s * or;
    }
    return out;
  }
}

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
