import fc from 'fast-check';
import FFTJS from 'fft.js';
import { describe, expect, it } from 'vitest';
import { RealFFT, windowCoefficients } from '../src/index.js';
import { gaussian, sine } from './signals.js';

/** Naive O(N²) DFT, one-sided, interleaved re/im. */
function dft(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const out = new Float64Array(n + 2);
  for (let k = 0; k <= n / 2; k++) {
    let re = 0;
    let im = 0;
    for (let t = 0; t < n; t++) {
      const a = (-2 * Math.PI * ((k * t) % n)) / n;
      re += (x[t] as number) * Math.cos(a);
      im += (x[t] as number) * Math.sin(a);
    }
    out[2 * k] = re;
    out[2 * k + 1] = im;
  }
  return out;
}

describe('RealFFT', () => {
  // Powers of 4 and powers of 2 that are not (radix-2 first pass), down to the degenerate N = 2, 4.
  for (const n of [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048]) {
    it(`matches a naive DFT for N = ${n}`, () => {
      const x = gaussian(n, 1, n).map((v, i) => v + 0.5 * Math.cos(i));
      const got = new RealFFT(n).forward(x);
      const want = dft(x);
      const tol = 1e-9 * n;
      for (let i = 0; i < want.length; i++) expect(Math.abs((got[i] as number) - (want[i] as number))).toBeLessThan(tol);
    });
  }

  it('matches a naive DFT on arbitrary inputs (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 128, maxLength: 128 }), (p, vals) => {
        const n = 2 ** p;
        const x = Float64Array.from(vals.slice(0, n));
        const got = new RealFFT(n).forward(x);
        const want = dft(x);
        for (let i = 0; i < want.length; i++) expect(Math.abs((got[i] as number) - (want[i] as number))).toBeLessThan(1e-7 * n);
      }),
      { numRuns: 100, seed: 1 },
    );
  });

  for (const n of [4, 8, 2048, 4096, 8192, 16384]) {
    it(`agrees with fft.js (the benchmark reference) for N = ${n}, Float64Array and Float32Array input`, () => {
      const x = gaussian(n, 1, 9 + n);
      const ref = new FFTJS(n);
      const out = ref.createComplexArray() as number[];
      ref.realTransform(out, Array.from(x));
      const fft = new RealFFT(n);
      const got = fft.forward(x);
      const got32 = fft.forward(Float32Array.from(x));
      const x32 = Float32Array.from(x);
      const out32 = ref.createComplexArray() as number[];
      ref.realTransform(out32, Array.from(x32));
      const tol = 1e-10 * Math.sqrt(n) * Math.log2(n);
      for (let k = 0; k <= n / 2; k++) {
        // fft.js leaves the Nyquist bin of its half spectrum at index n/2 (re) only.
        expect(Math.abs((got[2 * k] as number) - (out[2 * k] as number))).toBeLessThan(tol);
        expect(Math.abs((got[2 * k + 1] as number) - (out[2 * k + 1] as number))).toBeLessThan(tol);
        expect(Math.abs((got32[2 * k] as number) - (out32[2 * k] as number))).toBeLessThan(tol);
        expect(Math.abs((got32[2 * k + 1] as number) - (out32[2 * k + 1] as number))).toBeLessThan(tol);
      }
    });
  }

  it('is linear and satisfies Parseval on seeded random input of every size 2 … 2¹⁴', () => {
    for (let p = 1; p <= 14; p++) {
      const n = 2 ** p;
      const fft = new RealFFT(n);
      const a = gaussian(n, 1, p);
      const b = gaussian(n, 2, 100 + p);
      const A = fft.forward(a);
      const B = fft.forward(b);
      const AB = fft.forward(Float64Array.from(a, (v, i) => 3 * v - (b[i] as number)));
      for (let i = 0; i < AB.length; i++) expect(Math.abs((AB[i] as number) - (3 * (A[i] as number) - (B[i] as number)))).toBeLessThan(1e-9 * n);
      // Σ|x|² = (1/N)(|X0|² + |X_{N/2}|² + 2 Σ_{0<k<N/2} |Xk|²)
      let time = 0;
      for (const v of a) time += v * v;
      let freq = 0;
      for (let k = 0; k <= n / 2; k++) freq += (k === 0 || k === n / 2 ? 1 : 2) * ((A[2 * k] as number) ** 2 + (A[2 * k + 1] as number) ** 2);
      expect(freq / n).toBeCloseTo(time, 8);
    }
  });

  it('a sine of amplitude A at bin k gives |X[k]| = A·N/2 and nothing elsewhere', () => {
    const n = 512;
    const x = sine(n, 3, 20, n); // exactly 20 cycles
    const X = new RealFFT(n).forward(x);
    for (let k = 0; k <= n / 2; k++) {
      const mag = Math.hypot(X[2 * k] as number, X[2 * k + 1] as number);
      expect(mag).toBeCloseTo(k === 20 ? (3 * n) / 2 : 0, 2);
    }
  });

  it('reuses the output buffer and the instance (no state leaks between calls)', () => {
    const fft = new RealFFT(16);
    const out = new Float64Array(18);
    const a = gaussian(16, 1, 1);
    const first = Array.from(fft.forward(a, out));
    fft.forward(gaussian(16, 1, 2), out);
    expect(Array.from(fft.forward(a, out))).toEqual(first);
    expect(() => fft.forward(a, new Float64Array(17))).toThrow(RangeError);
    expect(() => fft.forward(new Float32Array(8))).toThrow(RangeError);
    expect(() => new RealFFT(12)).toThrow(RangeError);
    expect(() => new RealFFT(1)).toThrow(RangeError);
  });
});

describe('windowCoefficients', () => {
  it('periodic Hann, Hamming and flat-top have their textbook coherent gains', () => {
    const mean = (w: Float64Array) => w.reduce((s, v) => s + v, 0) / w.length;
    expect(mean(windowCoefficients('hann', 1024))).toBeCloseTo(0.5, 12);
    expect(mean(windowCoefficients('hamming', 1024))).toBeCloseTo(0.54, 12);
    expect(mean(windowCoefficients('flattop', 1024))).toBeCloseTo(0.21557895, 12);
    expect(mean(windowCoefficients('rectangular', 8))).toBe(1);
    const h = windowCoefficients('hamming', 8);
    expect(h[0]).toBeCloseTo(0.08, 12);
    expect(h[4]).toBeCloseTo(1, 12);
  });

  it('flat-top reads the amplitude of an off-bin sine within 0.1 %', () => {
    const n = 1024;
    const w = windowCoefficients('flattop', n);
    const x = sine(n, 2, 100.37, n).map((v, i) => v * (w[i] as number));
    const X = new RealFFT(n).forward(x);
    let peak = 0;
    for (let k = 0; k <= n / 2; k++) peak = Math.max(peak, Math.hypot(X[2 * k] as number, X[2 * k + 1] as number));
    expect(Math.abs((2 * peak) / (n * 0.21557895) / 2 - 1)).toBeLessThan(1e-3);
  });

  it('rejects unknown kinds', () => {
    expect(() => windowCoefficients('blackman' as never, 8)).toThrow(RangeError);
    expect(() => windowCoefficients('toString' as never, 8)).toThrow(RangeError);
    expect(() => windowCoefficients('hann', 0)).toThrow(RangeError);
  });
});
