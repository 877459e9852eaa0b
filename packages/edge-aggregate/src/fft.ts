// Real FFT. An N-point real transform is computed as one M = N/2-point complex FFT of the
// samples packed as z[m] = x[2m] + i·x[2m+1], followed by the split step
// X[k] = E[k] + W_N^k·O[k] with E, O the transforms of the even and odd samples
// (Oppenheim & Schafer, "Discrete-Time Signal Processing", 3rd ed., §9.3; the classic "two real
// FFTs for the price of one" packing), done for k and M − k together.
//
// The complex FFT is iterative decimation in time on two preallocated arrays (re, im): the
// first pass (twiddle-free radix-8, or radix-4 when log2 M is even) reads the input in
// bit-reversed order; every later pass is a radix-4 butterfly — two radix-2 stages fused, three
// complex multiplications per four points — looping over j outside (twiddles stay in registers,
// j = 0 without multiplications) with its twiddles precomputed in the order the loop reads them.
// The last pass is fused with the split step, which writes the interleaved output. Nothing is
// allocated per call when an output buffer is given. (Radix-8 passes everywhere were tried and
// were slower in V8: the butterfly spills registers.)
import { assertInt, assertSamples, type Samples } from './validate.js';
import { firstPass32, firstPass64, lastPassSplit, radix4Passes, split } from './fft-kernels.js';

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
  /** Bit reversal over log2(M) bits, premultiplied by 2 (an index into interleaved data). */
  readonly #rev: Uint32Array;
  /** Per radix-4 pass of length L, for j < L/4: W^j, W^2j, W^3j (re, im) with W = e^{-2πi/L}. */
  readonly #tw: Float64Array;
  /** cos and sin of 2πk/N for k ≤ M/2, for the split step. */
  readonly #splitCos: Float64Array;
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
    const bits = Math.round(Math.log2(m));
    this.#rev = new Uint32Array(m);
    for (let i = 0; i < m; i++) {
      let r = 0;
      for (let b = 0, v = i; b < bits; b++, v >>= 1) r = (r << 1) | (v & 1);
      this.#rev[i] = 2 * r;
    }
    let twLen = 0;
    for (let len = bits % 2 === 0 ? 16 : 32; len <= m; len *= 4) twLen += (6 * len) / 4;
    this.#tw = new Float64Array(twLen);
    let t = 0;
    for (let len = bits % 2 === 0 ? 16 : 32; len <= m; len *= 4) {
      for (let j = 0; j < len / 4; j++) {
        for (let p = 1; p <= 3; p++) {
          const a = (2 * Math.PI * p * j) / len;
          this.#tw[t++] = Math.cos(a);
          this.#tw[t++] = -Math.sin(a);
        }
      }
    }
    const half = Math.floor(m / 2);
    this.#splitCos = new Float64Array(half + 1);
    this.#splitSin = new Float64Array(half + 1);
    for (let k = 0; k <= half; k++) {
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
    const re = this.#re;
    const im = this.#im;
    if (input instanceof Float64Array) firstPass64(input, re, im, this.#rev, this.#m);
    else firstPass32(input, re, im, this.#rev, this.#m);
    const m = this.#m;
    if (m >= ((31 - Math.clz32(m)) % 2 === 0 ? 16 : 32)) {
      const t0 = radix4Passes(re, im, this.#tw, m); // every pass but the last
      lastPassSplit(re, im, out, this.#tw, t0, m, this.#splitCos, this.#splitSin);
    } else split(re, im, out, this.#splitCos, this.#splitSin, m);
    return out;
  }
}
