import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AnomalyDetector, DDSketch, EdgeAggregateError } from '../src/index.js';
import { gaussian, prng } from './signals.js';

const QS = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999];

function worstRelativeError(values: Float64Array, alpha: number): number {
  const s = new DDSketch({ relativeAccuracy: alpha });
  s.addAll(values);
  const sorted = Float64Array.from(values).sort();
  let worst = 0;
  for (const q of QS) {
    const exact = sorted[Math.floor(q * (sorted.length - 1))] as number;
    const got = s.quantile(q);
    worst = Math.max(worst, exact === 0 ? Math.abs(got) : Math.abs(got - exact) / Math.abs(exact));
  }
  return worst;
}

describe('DDSketch relative-error guarantee against exact quantiles', () => {
  const n = 50_000;
  const r = prng(99);
  const distributions: Record<string, () => Float64Array> = {
    uniform: () => Float64Array.from({ length: n }, () => r() * 1000),
    exponential: () => Float64Array.from({ length: n }, () => -Math.log(1 - r())),
    lognormal: () => Float64Array.from(gaussian(n, 2, 5), (v) => Math.exp(v)),
    'normal (signed)': () => Float64Array.from(gaussian(n, 3, 6), (v) => v + 1),
    pareto: () => Float64Array.from({ length: n }, () => (1 - r()) ** (-1 / 1.5)),
  };
  for (const [name, make] of Object.entries(distributions)) {
    for (const alpha of [0.01, 0.05]) {
      it(`${name}, α = ${alpha}`, () => {
        const worst = worstRelativeError(make(), alpha);
        expect(worst).toBeLessThanOrEqual(alpha * (1 + 1e-9));
        expect(worst).toBeGreaterThan(alpha / 50); // it is a sketch, not exact storage
      });
    }
  }

  it('merge equals the sketch of the concatenation (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { maxLength: 200 }),
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { maxLength: 200 }),
        (a, b) => {
          const sa = new DDSketch();
          const sb = new DDSketch();
          const all = new DDSketch();
          a.forEach((v) => { sa.add(v); all.add(v); });
          b.forEach((v) => { sb.add(v); all.add(v); });
          sa.merge(sb);
          expect(sa.count).toBe(all.count);
          for (const q of [0, ...QS, 1]) expect(Object.is(sa.quantile(q), all.quantile(q)) || sa.quantile(q) === all.quantile(q)).toBe(true);
          expect(sa.sum).toBeCloseTo(all.sum, 3);
        },
      ),
      { numRuns: 200, seed: 12 },
    );
  });

  it('refuses to merge sketches of different accuracy; rejects bad input', () => {
    let code: string | undefined;
    try {
      new DDSketch({ relativeAccuracy: 0.01 }).merge(new DDSketch({ relativeAccuracy: 0.02 }));
    } catch (err) {
      code = err instanceof EdgeAggregateError ? err.code : 'other';
    }
    expect(code).toBe('INCOMPATIBLE');
    expect(() => new DDSketch().add(NaN)).toThrow(RangeError);
    expect(() => new DDSketch().add(Infinity)).toThrow(RangeError);
    expect(() => new DDSketch().quantile(1.5)).toThrow(RangeError);
    expect(() => new DDSketch({ relativeAccuracy: 1 })).toThrow(RangeError);
  });

  it('zeros and tiny values count as zero; weights count', () => {
    const s = new DDSketch().add(0, 3).add(1e-12).add(10);
    expect(s.quantile(0.5)).toBe(0);
    expect(s.count).toBe(5);
    expect(s.quantile(1)).toBe(10);
  });
});

describe('AnomalyDetector', () => {
  it('flags a step in a noisy series by z-score and MAD, not the noise itself', () => {
    const d = new AnomalyDetector({ baseline: 60 });
    const noise = gaussian(200, 0.05, 8);
    let falseFlags = 0;
    for (const v of noise) {
      const r = d.check(1 + v);
      if (r.zAnomaly || r.madAnomaly) falseFlags++;
    }
    expect(falseFlags).toBeLessThanOrEqual(2);
    const step = d.check(1.5);
    expect(step.zAnomaly && step.madAnomaly).toBe(true);
    expect(step.z).toBeGreaterThan(5);
  });

  it('without learning a sustained fault keeps flagging; with learning it becomes the baseline', () => {
    const fixed = new AnomalyDetector({ baseline: 10, minBaseline: 5 });
    const learning = new AnomalyDetector({ baseline: 10, minBaseline: 5, learnAnomalies: true });
    for (const v of [1, 1.1, 0.9, 1, 1.05, 0.95]) {
      fixed.check(v);
      learning.check(v);
    }
    const a: boolean[] = [];
    const b: boolean[] = [];
    for (let i = 0; i < 30; i++) {
      a.push(fixed.check(5 + 0.01 * (i % 3)).madAnomaly);
      b.push(learning.check(5 + 0.01 * (i % 3)).madAnomaly);
    }
    expect(a.every(Boolean)).toBe(true);
    expect(b.slice(-10).some(Boolean)).toBe(false);
  });

  it('a constant baseline gives NaN scores (no division by zero flags)', () => {
    const d = new AnomalyDetector({ baseline: 5, minBaseline: 3 });
    for (let i = 0; i < 5; i++) d.check(2);
    const r = d.check(3);
    expect(r.z).toBeNaN();
    expect(r.modifiedZ).toBeNaN();
    expect(r.zAnomaly || r.madAnomaly).toBe(false);
    expect(() => new AnomalyDetector({ baseline: 4, minBaseline: 5 })).toThrow(RangeError);
  });
});
