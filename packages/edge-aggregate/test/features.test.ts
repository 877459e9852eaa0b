import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EdgeAggregateError, FeatureAccumulator, interleavedFeatures, timeFeatures, type TimeFeatures } from '../src/index.js';
import { gaussian, prng, sine } from './signals.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof EdgeAggregateError ? err.code : `not an EdgeAggregateError: ${String(err)}`;
  }
  return undefined;
}

/** Naive multi-pass reference in float64. */
function reference(x: ArrayLike<number>): TimeFeatures {
  const n = x.length;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = x[i] as number;
    sum += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = sum / n;
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i] as number;
    const d = v - mean;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
    sq += v * v;
  }
  const variance = m2 / n;
  const rms = Math.sqrt(sq / n);
  const peak = Math.max(-min, max);
  return {
    count: n, min, max, mean, variance, std: Math.sqrt(variance), rms, peak, peakToPeak: max - min,
    crestFactor: peak / rms, skewness: Math.sqrt(n) * m3 / m2 ** 1.5, kurtosis: n * m4 / (m2 * m2),
  };
}

describe('time-domain features against known signals', () => {
  it('sine of amplitude A: RMS A/√2, crest √2, kurtosis 1.5, skewness 0, peak-to-peak 2A', () => {
    const A = 2.5;
    const f = timeFeatures(sine(20_000, A, 50, 1000)); // 20 samples per period, 1000 whole periods
    expect(f.count).toBe(20_000);
    expect(f.rms).toBeCloseTo(A / Math.SQRT2, 6);
    expect(f.crestFactor).toBeCloseTo(Math.SQRT2, 6);
    expect(f.kurtosis).toBeCloseTo(1.5, 6);
    expect(f.skewness).toBeCloseTo(0, 6);
    expect(f.mean).toBeCloseTo(0, 6);
    expect(f.peak).toBeCloseTo(A, 6);
    expect(f.peakToPeak).toBeCloseTo(2 * A, 6);
    expect(f.std).toBeCloseTo(A / Math.SQRT2, 6);
  });

  it('Gaussian white noise of known variance: within 5 standard errors for n = 200 000', () => {
    const n = 200_000;
    const sigma = 3;
    const f = timeFeatures(gaussian(n, sigma, 42));
    const se = (k: number) => 5 * Math.sqrt(k / n);
    expect(Math.abs(f.mean)).toBeLessThan(5 * sigma / Math.sqrt(n));
    expect(Math.abs(f.variance / (sigma * sigma) - 1)).toBeLessThan(se(2)); // Var(s²)/σ⁴ = 2/n
    expect(Math.abs(f.skewness)).toBeLessThan(se(6));
    expect(Math.abs(f.kurtosis - 3)).toBeLessThan(se(24));
    expect(f.crestFactor).toBeGreaterThan(4); // a Gaussian of 200k samples reaches beyond 4σ
  });

  it('uniform noise on [-a, a]: variance a²/3, kurtosis 1.8', () => {
    const r = prng(7);
    const x = new Float32Array(200_000).map(() => 2 * r() - 1);
    const f = timeFeatures(x);
    expect(f.variance).toBeCloseTo(1 / 3, 2);
    expect(f.kurtosis).toBeCloseTo(1.8, 1);
  });

  it('impulse train of period P and height A: RMS A/√P, crest √P, Bernoulli skewness and kurtosis', () => {
    const P = 50;
    const A = 4;
    const x = new Float32Array(P * 400);
    for (let i = 0; i < x.length; i += P) x[i] = A;
    const f = timeFeatures(x);
    const p = 1 / P;
    expect(f.mean).toBeCloseTo(A / P, 10);
    expect(f.rms).toBeCloseTo(A / Math.sqrt(P), 10);
    expect(f.crestFactor).toBeCloseTo(Math.sqrt(P), 8);
    expect(f.skewness).toBeCloseTo((1 - 2 * p) / Math.sqrt(p * (1 - p)), 8);
    expect(f.kurtosis).toBeCloseTo((1 - 3 * p + 3 * p * p) / (p * (1 - p)), 7);
    expect(f.peakToPeak).toBe(A);
  });

  it('a large DC offset does not cost precision (no catastrophic cancellation)', () => {
    const x = new Float64Array(10_000);
    for (let i = 0; i < x.length; i++) x[i] = 1e9 + Math.sin((2 * Math.PI * i) / 20);
    const f = timeFeatures(x);
    expect(f.std).toBeCloseTo(Math.SQRT1_2, 6);
    expect(f.kurtosis).toBeCloseTo(1.5, 4);
    expect(f.mean).toBeCloseTo(1e9, 4);
  });

  it('agrees with a naive two-pass reference across block boundaries', () => {
    const x = gaussian(5000, 1, 3).map((v, i) => v + (i % 7) * 0.3);
    const f = timeFeatures(x);
    const ref = reference(x);
    for (const k of Object.keys(ref) as (keyof TimeFeatures)[]) expect(f[k]).toBeCloseTo(ref[k], 9);
  });

  it('edge cases: empty → NaN, constant → zero spread and NaN shape', () => {
    const e = timeFeatures(new Float32Array(0));
    expect(e.count).toBe(0);
    expect(e.mean).toBeNaN();
    const c = timeFeatures(new Float32Array([5, 5, 5]));
    expect([c.mean, c.std, c.peakToPeak, c.rms, c.crestFactor]).toEqual([5, 0, 0, 5, 1]);
    expect(c.skewness).toBeNaN();
    expect(c.kurtosis).toBeNaN();
    expect(timeFeatures(new Float32Array(4)).crestFactor).toBeNaN();
  });
});

describe('interleaved multi-channel input without copying', () => {
  it('reads each axis of x,y,z through a stride', () => {
    const n = 3000;
    const xyz = new Float32Array(3 * n);
    const ax = sine(n, 1, 50, 1000);
    const ay = sine(n, 2, 50, 1000);
    for (let i = 0; i < n; i++) {
      xyz[3 * i] = ax[i] as number;
      xyz[3 * i + 1] = ay[i] as number;
      xyz[3 * i + 2] = 9.81;
    }
    const [x, y, z] = interleavedFeatures(xyz, 3);
    expect(x?.rms).toBeCloseTo(Math.SQRT1_2, 5);
    expect(y?.rms).toBeCloseTo(Math.SQRT2, 5);
    expect(z?.mean).toBeCloseTo(9.81, 5);
    expect(z?.std).toBe(0);
    expect(timeFeatures(xyz, { offset: 1, stride: 3 })).toEqual(y);
    expect(timeFeatures(xyz, { offset: 2, stride: 3, count: 1 }).count).toBe(1);
  });

  it('rejects offsets, strides and counts that do not fit', () => {
    const x = new Float32Array(10);
    expect(() => timeFeatures(x, { stride: 0 })).toThrow(RangeError);
    expect(() => timeFeatures(x, { offset: -1 })).toThrow(RangeError);
    expect(() => timeFeatures(x, { offset: 1, stride: 3, count: 4 })).toThrow(/at most 3/);
    expect(timeFeatures(x, { offset: 1, stride: 3, count: 3 }).count).toBe(3);
    expect(timeFeatures(x, { offset: 10 }).count).toBe(0);
    expect(() => interleavedFeatures(x, 0)).toThrow(RangeError);
  });
});

describe('merge', () => {
  const arr = (max: number) =>
    fc.array(fc.float({ min: -1000, max: 1000, noNaN: true, noDefaultInfinity: true }), { maxLength: max }).map((a) => Float32Array.from(a));
  const close = (a: number, b: number, scale: number) => Math.abs(a - b) <= 1e-9 * scale + 1e-9 * Math.abs(b);

  it('merge(a, b) equals one pass over a ++ b (property)', () => {
    fc.assert(
      fc.property(arr(300), arr(2500), (a, b) => {
        const ab = new Float32Array(a.length + b.length);
        ab.set(a);
        ab.set(b, a.length);
        const one = new FeatureAccumulator().push(ab).state();
        const merged = new FeatureAccumulator().push(a).merge(new FeatureAccumulator().push(b)).state();
        const viaState = FeatureAccumulator.fromState(new FeatureAccumulator().push(a).state()).merge(new FeatureAccumulator().push(b).state()).state();
        for (const m of [merged, viaState]) {
          expect(m.count).toBe(one.count);
          expect(m.min).toBe(one.min);
          expect(m.max).toBe(one.max);
          if (one.count === 0) continue;
          const s = 1 + Math.max(Math.abs(one.min), Math.abs(one.max));
          const n = one.count;
          expect(close(m.mean, one.mean, s)).toBe(true);
          expect(close(m.m2, one.m2, n * s ** 2)).toBe(true);
          expect(close(m.m3, one.m3, n * s ** 3)).toBe(true);
          expect(close(m.m4, one.m4, n * s ** 4)).toBe(true);
        }
      }),
      { numRuns: 200, seed: 8 },
    );
  });

  it('merging many small chunks matches the reference skewness and kurtosis', () => {
    const x = gaussian(10_000, 2, 11).map((v) => v * v); // chi-square-like: skewed, heavy tail
    const acc = new FeatureAccumulator();
    for (let i = 0; i < x.length; i += 37) acc.merge(new FeatureAccumulator().push(x.subarray(i, i + 37)));
    const ref = reference(x);
    expect(acc.result().skewness).toBeCloseTo(ref.skewness, 8);
    expect(acc.result().kurtosis).toBeCloseTo(ref.kurtosis, 7);
    expect(acc.result().skewness).toBeGreaterThan(2); // the test would notice a symmetric result
  });

  it('rejects inconsistent states with STATE_INVALID', () => {
    const bad = { count: 2, mean: 0, m2: -1, m3: 0, m4: 0, min: 0, max: 0 };
    expect(() => FeatureAccumulator.fromState(bad)).toThrow(EdgeAggregateError);
    expect(codeOf(() => new FeatureAccumulator().merge({ ...bad, count: 1.5, m2: 0 }))).toBe('STATE_INVALID');
    expect(() => new FeatureAccumulator().merge({ ...bad, m2: 0, min: 1 })).toThrow(/inconsistent/);
    expect(FeatureAccumulator.fromState({ count: 0, mean: 0, m2: 0, m3: 0, m4: 0, min: Infinity, max: -Infinity }).result().count).toBe(0);
  });
});
