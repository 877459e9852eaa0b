import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decode as cborDecode, encode as cborEncode } from 'cbor-x';
import { DDSketch as DatadogSketch } from '@datadog/sketches-js';
import { DDSketch, EdgeAggregateError } from '../src/index.js';

const QS = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99];
// Values spread over 1e-3 … 1e6 in magnitude (a dense store spans the log range, so the
// subnormal-to-huge extremes are kept to the 'tiny values' test below).
const values = fc.array(fc.oneof(fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }).map((i) => i / 1000), fc.constant(0)), { minLength: 1, maxLength: 300 });

describe('DDSketch protobuf, both ways with @datadog/sketches-js', () => {
  it('ours → protobuf → sketches-js: same count, quantiles within α of ours', () => {
    fc.assert(fc.property(values, (xs) => {
      const ours = new DDSketch({ relativeAccuracy: 0.01 });
      xs.forEach((x) => ours.add(x));
      const theirs = DatadogSketch.fromProto(ours.toProto());
      expect(theirs.count).toBeCloseTo(xs.length, 9);
      for (const q of QS) {
        const a = ours.quantile(q);
        const b = theirs.getValueAtQuantile(q) as number;
        expect(Math.abs(a - b)).toBeLessThanOrEqual(0.0201 * Math.max(Math.abs(a), Math.abs(b)) + 1e-300);
      }
    }), { numRuns: 100 });
  });

  it('sketches-js → protobuf → ours: same count, quantiles within α of theirs, merges with ours', () => {
    fc.assert(fc.property(values, (xs) => {
      const theirs = new DatadogSketch({ relativeAccuracy: 0.01 });
      xs.forEach((x) => theirs.accept(x));
      const ours = DDSketch.fromProto(theirs.toProto());
      expect(ours.count).toBeCloseTo(xs.length, 9);
      expect(ours.relativeAccuracy).toBeCloseTo(0.01, 12);
      for (const q of QS) {
        const b = theirs.getValueAtQuantile(q) as number;
        const a = ours.quantile(q);
        expect(Math.abs(a - b)).toBeLessThanOrEqual(0.0201 * Math.max(Math.abs(a), Math.abs(b)) + 1e-300);
      }
      // merging the decoded sketch with one of ours behaves like one sketch over all values
      const mine = new DDSketch({ relativeAccuracy: ours.relativeAccuracy }).add(42);
      expect(mine.merge(ours).count).toBeCloseTo(xs.length + 1, 9);
    }), { numRuns: 100 });
  });
});

describe('DDSketch state for CBOR', () => {
  it('toState → CBOR → fromState keeps count, sum, min, max and every quantile exactly', () => {
    fc.assert(fc.property(values, (xs) => {
      const s = new DDSketch({ relativeAccuracy: 0.02 });
      xs.forEach((x) => s.add(x));
      const back = DDSketch.fromState(cborDecode(cborEncode(s.toState())) as never);
      const z = (v: number): number => (v === 0 ? 0 : v); // cbor-x writes -0 as the integer 0
      expect([back.count, back.sum, back.min, back.max].map(z)).toEqual([s.count, s.sum, s.min, s.max].map(z));
      for (const q of QS) expect(back.quantile(q)).toBe(s.quantile(q));
    }), { numRuns: 100 });
  });

  it('hostile states are refused with a typed error', () => {
    const good = new DDSketch().add(1).add(2).toState();
    const bad: [unknown, unknown][] = [
      [{ ...good, positive: { offset: good.positive.offset, counts: [-1] } }, EdgeAggregateError],
      [{ ...good, positive: { offset: good.positive.offset, counts: [NaN] } }, EdgeAggregateError],
      [{ ...good, count: 99 }, EdgeAggregateError],
      [{ ...good, zeroCount: -1 }, EdgeAggregateError],
      [{ ...good, positive: { offset: 0, counts: new Float64Array(200_001) } }, EdgeAggregateError],
      [{ ...good, positive: { offset: 1.5, counts: [] } }, RangeError],
      [{ ...good, positive: null }, TypeError],
      [{ ...good, relativeAccuracy: 2 }, RangeError],
      ['x', TypeError],
    ];
    for (const [state, cls] of bad) expect(() => DDSketch.fromState(state as never), JSON.stringify(state)?.slice(0, 80)).toThrow(cls as never);
  });
});

describe('tiny values', () => {
  it('keeps the relative accuracy down to the smallest normal double (they used to collapse to 0 below 1e-9)', () => {
    for (const v of [1e-10, 1e-100, 1e-300, 3e-308]) {
      const s = new DDSketch({ relativeAccuracy: 0.01 });
      for (let i = 0; i < 10; i++) s.add(v * (1 + i / 10));
      const median = s.quantile(0.5);
      expect(median).toBeGreaterThan(0);
      expect(Math.abs(median / (v * 1.4) - 1)).toBeLessThanOrEqual(0.12); // rank 4 of 10 → 1.4·v, within α of its bucket
      const neg = new DDSketch().add(-v).add(-v);
      expect(neg.quantile(0.5)).toBeLessThan(0);
    }
    expect(new DDSketch().add(5e-324).add(5e-324).quantile(0.5)).toBe(0); // a subnormal counts as zero
  });
});

describe('protobuf decoder under hostile input', () => {
  it('random bytes and mutated encodings: a sketch or EdgeAggregateError, and the decoder still works', () => {
    const valid = new DDSketch().add(-3).add(0).add(7).add(1e5).toProto();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
      try {
        const s = DDSketch.fromProto(b);
        expect(s.count).toBeGreaterThanOrEqual(0);
      } catch (e) {
        expect(e).toBeInstanceOf(EdgeAggregateError);
      }
    }), { numRuns: 3000 });
    fc.assert(fc.property(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 0, max: 255 }), (i, v) => {
      const m = valid.slice();
      m[i] = v;
      try {
        DDSketch.fromProto(m);
      } catch (e) {
        expect(e).toBeInstanceOf(EdgeAggregateError);
      }
    }), { numRuns: 3000 });
    expect(DDSketch.fromProto(valid).count).toBe(4);
  });

  it('limits: too many bytes, a bin span past maxBins, a non-logarithmic mapping', () => {
    const wide = new DDSketch().add(1e-300).add(1e300).toProto();
    expect(() => DDSketch.fromProto(wide, { maxBins: 1000 })).toThrow(/over maxBins 1000/);
    expect(DDSketch.fromProto(wide).count).toBe(2);
    expect(() => DDSketch.fromProto(wide, { maxBytes: 10 })).toThrow(/over maxBytes 10/);
    const linear = Uint8Array.from([0x0a, 0x14, 0x09, ...new Uint8Array(new Float64Array([1.02]).buffer), 0x11, ...new Uint8Array(8), 0x18, 0x01]);
    expect(() => DDSketch.fromProto(linear)).toThrow(/interpolation 1/);
    expect(() => DDSketch.fromProto('x' as never)).toThrow(TypeError);
  });
});
