// Wrong-type matrix: every public function, each argument replaced by values of the wrong type,
// must throw a TypeError or RangeError (never crash differently, never accept it).
import { describe, expect, it } from 'vitest';
import {
  CountWindow, FeatureAccumulator, ISO_10816_3, RealFFT, TimeWindow, bandPowers, countWindows, dominantFrequencies, interleavedFeatures,
  severityZone, timeFeatures, SlidingCountWindow, SlidingTimeWindow, slidingCountWindows, slidingTimeWindows, dbfs, aWeighting, aWeightedLevel, DDSketch, AnomalyDetector, Deadband, RateLimiter, Biquad, Decimator, lttb, timeWindows, velocityRms, welchPsd, windowCoefficients,
} from '../src/index.js';

const WRONG: readonly [string, unknown][] = [
  ['null', null], ['string', 'x'], ['number', 1.5], ['boolean', true], ['array', [1]], ['object', {}], ['bigint', 1n], ['symbol', Symbol('s')],
  ['Uint8Array', new Uint8Array(4)],
];

interface Case {
  readonly name: string;
  readonly args: readonly unknown[];
  readonly call: (...a: unknown[]) => unknown;
  /** Wrong values that are legitimately accepted for an argument. */
  readonly accepts?: Readonly<Record<number, readonly string[]>>;
}

const f32 = new Float32Array([1, 2, 3, 4, 5, 6]);
const psd = welchPsd(new Float32Array(64), { sampleRate: 64 });
const CASES: readonly Case[] = [
  { name: 'timeFeatures', args: [f32, { stride: 2 }], call: (a, b) => timeFeatures(a as Float32Array, b as object), accepts: { 1: ['object'] } },
  { name: 'timeFeatures options.offset', args: [1], call: (a) => timeFeatures(f32, { offset: a as number }), accepts: { 0: ['number'] } },
  { name: 'timeFeatures options.count', args: [2], call: (a) => timeFeatures(f32, { count: a as number }) },
  { name: 'interleavedFeatures', args: [f32, 3], call: (a, b) => interleavedFeatures(a as Float32Array, b as number) },
  { name: 'FeatureAccumulator#push', args: [f32, {}], call: (a, b) => new FeatureAccumulator().push(a as Float32Array, b as object), accepts: { 1: ['object'] } },
  { name: 'FeatureAccumulator#merge', args: [new FeatureAccumulator().state()], call: (a) => new FeatureAccumulator().merge(a as never) },
  { name: 'FeatureAccumulator.fromState', args: [new FeatureAccumulator().state()], call: (a) => FeatureAccumulator.fromState(a as never) },
  { name: 'new CountWindow', args: [{ size: 2 }, () => {}], call: (a, b) => new CountWindow(a as never, b as never) },
  { name: 'CountWindow options.hop', args: [1], call: (a) => new CountWindow({ size: 2, hop: a as number }, () => {}) },
  { name: 'CountWindow options.channels', args: [1], call: (a) => new CountWindow({ size: 2, channels: a as number }, () => {}) },
  { name: 'CountWindow#push', args: [f32], call: (a) => new CountWindow({ size: 2 }, () => {}).push(a as Float32Array) },
  { name: 'new TimeWindow', args: [{ size: 2, clock: () => 0 }, () => {}], call: (a, b) => new TimeWindow(a as never, b as never) },
  { name: 'TimeWindow options', args: [1, 5, () => 0], call: (a, b, c) => new TimeWindow({ size: 2, hop: a as number, allowedLateness: b as number, clock: c as never }, () => {}), accepts: { 0: ['number'], 1: ['number'] } },
  { name: 'TimeWindow#push', args: [f32, 0, 1], call: (a, b, c) => new TimeWindow({ size: 2, clock: () => 0 }, () => {}).push(a as Float32Array, b as number, c as number), accepts: { 1: ['number'], 2: ['number'] } },
  { name: 'TimeWindow#tick', args: [5], call: (a) => new TimeWindow({ size: 2, clock: () => 0 }, () => {}).tick(a as number), accepts: { 0: ['number'] } },
  { name: 'countWindows', args: [{ size: 1 }], call: (a) => countWindows(a as never) },
  { name: 'timeWindows', args: [{ size: 1, clock: () => 0 }], call: (a) => timeWindows(a as never) },
  { name: 'new SlidingCountWindow', args: [{ size: 2 }, () => {}], call: (a, b) => new SlidingCountWindow(a as never, b as never) },
  { name: 'SlidingCountWindow options', args: [2, 1, 1], call: (a, b, c) => new SlidingCountWindow({ size: a as number, channels: b as number, every: c as number }, () => {}), accepts: { 0: ['number'], 1: ['number'], 2: ['number'] } },
  { name: 'SlidingCountWindow#push', args: [f32], call: (a) => new SlidingCountWindow({ size: 2 }, () => {}).push(a as Float32Array) },
  { name: 'new SlidingTimeWindow', args: [{ size: 2, clock: () => 0 }, () => {}], call: (a, b) => new SlidingTimeWindow(a as never, b as never) },
  { name: 'SlidingTimeWindow options', args: [2, 5, 1, () => 0, 8], call: (a, b, c, d, e) => new SlidingTimeWindow({ size: a as number, allowedLateness: b as number, every: c as number, clock: d as never, initialCapacity: e as number }, () => {}), accepts: { 0: ['number'], 1: ['number'], 2: ['number'], 4: ['number'] } },
  { name: 'SlidingTimeWindow#push', args: [f32, 0, 1], call: (a, b, c) => new SlidingTimeWindow({ size: 2, clock: () => 0 }, () => {}).push(a as Float32Array, b as number, c as number), accepts: { 1: ['number'], 2: ['number'] } },
  { name: 'SlidingTimeWindow#tick', args: [5], call: (a) => new SlidingTimeWindow({ size: 2, clock: () => 0 }, () => {}).tick(a as number), accepts: { 0: ['number'] } },
  { name: 'slidingCountWindows', args: [{ size: 1 }], call: (a) => slidingCountWindows(a as never) },
  { name: 'slidingTimeWindows', args: [{ size: 1, clock: () => 0 }], call: (a) => slidingTimeWindows(a as never) },
  { name: 'Flow#map/filter/to', args: [() => 1, () => true, () => {}], call: (a, b, c) => countWindows({ size: 1 }).map(a as never).filter(b as never).to(c as never) },
  { name: 'new RealFFT', args: [8], call: (a) => new RealFFT(a as number) },
  { name: 'RealFFT#forward', args: [new Float32Array(8), new Float64Array(10)], call: (a, b) => new RealFFT(8).forward(a as Float32Array, b as Float64Array) },
  { name: 'windowCoefficients', args: ['hann', 8], call: (a, b) => windowCoefficients(a as never, b as number) },
  { name: 'welchPsd', args: [new Float32Array(64), { sampleRate: 8 }], call: (a, b) => welchPsd(a as Float32Array, b as never) },
  { name: 'welchPsd options', args: [8, 0.25, 'hamming', false, 16], call: (a, b, c, d, e) => welchPsd(new Float32Array(64), { sampleRate: a as number, overlap: b as number, window: c as never, detrend: d as boolean, segmentSize: e as number }), accepts: { 0: ['number'], 1: ['number'] } },
  { name: 'bandPowers', args: [psd, [{ low: 0, high: 1 }]], call: (a, b) => bandPowers(a as never, b as never), accepts: { 1: ['array'] } },
  { name: 'dominantFrequencies', args: [psd, 2, 1], call: (a, b, c) => dominantFrequencies(a as never, b as number, c as number), accepts: { 2: ['number'] } },
  { name: 'velocityRms', args: [psd, { low: 10, high: 20, unit: 'g' }], call: (a, b) => velocityRms(a as never, b as never), accepts: { 1: ['object'] } },
  { name: 'severityZone', args: [1, ISO_10816_3.group1Rigid], call: (a, b) => severityZone(a as number, b as never), accepts: { 0: ['number'] } },
  { name: 'new Deadband', args: [{ absolute: 1 }], call: (a) => new Deadband(a as never) },
  { name: 'Deadband options', args: [1, 2], call: (a, b) => new Deadband({ absolute: a as number, percent: b as number }), accepts: { 0: ['number'], 1: ['number'] } },
  { name: 'Deadband#update', args: [1], call: (a) => new Deadband({ absolute: 1 }).update(a as number), accepts: { 0: ['number'] } },
  { name: 'new RateLimiter', args: [{ interval: 1, clock: () => 0 }], call: (a) => new RateLimiter(a as never) },
  { name: 'RateLimiter#allow', args: [1], call: (a) => new RateLimiter({ interval: 1, clock: () => 0 }).allow(a as number), accepts: { 0: ['number'] } },
  { name: 'new Biquad', args: ['lowpass', 100, 10, 1], call: (a, b, c, d) => new Biquad(a as never, b as number, c as number, d as number), accepts: { 2: ['number'], 3: ['number'] } },
  { name: 'Biquad#process', args: [f32, new Float32Array(6)], call: (a, b) => new Biquad('lowpass', 100, 10).process(a as Float32Array, b as Float32Array) },
  { name: 'Biquad#magnitudeAt', args: [5], call: (a) => new Biquad('lowpass', 100, 10).magnitudeAt(a as number), accepts: { 0: ['number'] } },
  { name: 'new Decimator', args: [{ factor: 2, sampleRate: 100 }], call: (a) => new Decimator(a as never) },
  { name: 'Decimator options', args: [4, 0.5], call: (a, b) => new Decimator({ factor: 2, sampleRate: 100, order: a as number, cutoff: b as number }), accepts: { 1: ['number'] } },
  { name: 'Decimator#process', args: [f32], call: (a) => new Decimator({ factor: 2, sampleRate: 100 }).process(a as Float32Array) },
  { name: 'lttb', args: [f32, 3, new Float64Array(6)], call: (a, b, c) => lttb(a as Float32Array, b as number, c as Float64Array) },
  { name: 'new DDSketch', args: [{ relativeAccuracy: 0.01 }], call: (a) => new DDSketch(a as never), accepts: { 0: ['object'] } },
  { name: 'DDSketch#add', args: [1, 2], call: (a, b) => new DDSketch().add(a as number, b as number), accepts: { 0: ['number'], 1: ['number'] } },
  { name: 'DDSketch#addAll', args: [f32], call: (a) => new DDSketch().addAll(a as Float32Array) },
  { name: 'DDSketch#merge', args: [new DDSketch()], call: (a) => new DDSketch().merge(a as DDSketch) },
  { name: 'DDSketch#quantile', args: [0.5], call: (a) => new DDSketch().quantile(a as number) },
  { name: 'new AnomalyDetector', args: [{ baseline: 10 }], call: (a) => new AnomalyDetector(a as never), accepts: { 0: ['object'] } },
  { name: 'AnomalyDetector options', args: [10, 3, 3, 3.5, true], call: (a, b, c, d, e) => new AnomalyDetector({ baseline: a as number, minBaseline: b as number, zThreshold: c as number, madThreshold: d as number, learnAnomalies: e as boolean }), accepts: { 2: ['number'], 3: ['number'] } },
  { name: 'AnomalyDetector#check', args: [1], call: (a) => new AnomalyDetector().check(a as number), accepts: { 0: ['number'] } },
  { name: 'dbfs', args: [f32, { stride: 2 }], call: (a, b) => dbfs(a as Float32Array, b as never), accepts: { 1: ['object'] } },
  { name: 'aWeighting', args: [1000], call: (a) => aWeighting(a as number), accepts: { 0: ['number'] } },
  { name: 'aWeightedLevel', args: [psd], call: (a) => aWeightedLevel(a as never) },
];

const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : v instanceof Uint8Array ? 'Uint8Array' : typeof v);

describe('wrong-type matrix', () => {
  for (const c of CASES) {
    it(`${c.name}: the valid call works`, () => {
      expect(() => c.call(...c.args)).not.toThrow();
    });
    c.args.forEach((valid, i) => {
      for (const [label, bad] of WRONG) {
        if (label === kind(valid) || c.accepts?.[i]?.includes(label)) continue;
        it(`${c.name}: argument ${i} as ${label} → TypeError or RangeError`, () => {
          const args = [...c.args];
          args[i] = bad;
          let thrown: unknown;
          try {
            c.call(...args);
          } catch (err) {
            thrown = err;
          }
          expect(thrown instanceof TypeError || thrown instanceof RangeError, `${String(thrown)}`).toBe(true);
        });
      }
    });
  }
});
