import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Biquad, Deadband, Decimator, RateLimiter, lttb, timeFeatures } from '../src/index.js';
import { gaussian, sine } from './signals.js';

/** Steady-state RMS gain of a filter for a sine at f (skips the transient). */
function measuredGain(filter: (x: Float32Array) => Float32Array, f: number, fs: number): number {
  const x = sine(fs * 4, 1, f, fs);
  const y = filter(x);
  return timeFeatures(y.subarray(fs * 2)).rms / Math.SQRT1_2;
}

describe('Deadband', () => {
  it('absolute and percent thresholds, either suffices', () => {
    const db = new Deadband({ absolute: 5, percent: 1 });
    expect([1000, 1004, 1011, 1015, 1016.2].map((v) => db.update(v))).toEqual([true, false, true, false, true]);
    const abs = new Deadband({ absolute: 0 });
    expect([1, 1, 1.0001].map((v) => abs.update(v))).toEqual([true, false, true]);
  });
  it('NaN transitions are always reported; options are validated', () => {
    const db = new Deadband({ absolute: 1 });
    expect([1, NaN, NaN, 1].map((v) => db.update(v))).toEqual([true, true, false, true]);
    expect(() => new Deadband({})).toThrow(RangeError);
    expect(() => new Deadband({ percent: -1 })).toThrow(RangeError);
  });
});

describe('RateLimiter', () => {
  it('at most one per interval on the injected clock', () => {
    let now = 100;
    const rl = new RateLimiter({ interval: 50, clock: () => now });
    const got: boolean[] = [];
    for (let t = 100; t < 300; t += 10) {
      now = t;
      got.push(rl.allow());
    }
    expect(got.filter(Boolean)).toHaveLength(4);
    expect(got.slice(0, 6)).toEqual([true, false, false, false, false, true]);
  });
});

describe('Biquad (RBJ cookbook)', () => {
  const fs = 2000;
  it('measured sine gains match the analytic response', () => {
    for (const [type, f0, q] of [['lowpass', 100, Math.SQRT1_2], ['highpass', 100, Math.SQRT1_2], ['bandpass', 200, 3]] as const) {
      for (const f of [20, 100, 200, 400, 800]) {
        const bq = new Biquad(type, fs, f0, q);
        const g = measuredGain((x) => new Biquad(type, fs, f0, q).process(x, new Float32Array(x.length)), f, fs);
        expect(g).toBeCloseTo(bq.magnitudeAt(f), 3);
      }
    }
  });
  it('shapes: low-pass −3 dB at f0 and −40 dB/decade; high-pass mirrors; band-pass peaks at 0 dB', () => {
    const lp = new Biquad('lowpass', 20 * fs, 50); // far below Nyquist, where the bilinear warping is negligible
    expect(lp.magnitudeAt(50)).toBeCloseTo(Math.SQRT1_2, 9);
    expect(20 * Math.log10(lp.magnitudeAt(500))).toBeCloseTo(-40, 0);
    const hp = new Biquad('highpass', fs, 50);
    expect(hp.magnitudeAt(50)).toBeCloseTo(Math.SQRT1_2, 9);
    expect(hp.magnitudeAt(900)).toBeCloseTo(1, 2);
    const bp = new Biquad('bandpass', fs, 300, 5);
    expect(bp.magnitudeAt(300)).toBeCloseTo(1, 9);
    expect(bp.magnitudeAt(100)).toBeLessThan(0.1);
  });
  it('state carries across chunks: chunked output equals one-shot output (property)', () => {
    const x = gaussian(1000, 1, 2);
    const whole = new Biquad('bandpass', fs, 300, 2).process(x, new Float64Array(x.length));
    fc.assert(
      fc.property(fc.array(fc.nat(1000), { maxLength: 5 }), (cuts) => {
        const bq = new Biquad('bandpass', fs, 300, 2);
        const y = new Float64Array(x.length);
        let prev = 0;
        for (const c of [...cuts.sort((a, b) => a - b), 1000]) {
          bq.process(x.subarray(prev, c), y.subarray(prev, c));
          prev = Math.max(prev, c);
        }
        for (let i = 0; i < x.length; i++) expect(y[i]).toBeCloseTo(whole[i] as number, 5);
      }),
      { numRuns: 50, seed: 2 },
    );
  });
  it('rejects f0 at or above Nyquist and bad Q', () => {
    expect(() => new Biquad('lowpass', 1000, 500)).toThrow(RangeError);
    expect(() => new Biquad('lowpass', 1000, 100, 0)).toThrow(RangeError);
    expect(() => new Biquad('notch' as never, 1000, 100)).toThrow(RangeError);
  });
});

describe('Decimator', () => {
  const fs = 25_600;
  it('keeps passband tones and suppresses tones that would alias', () => {
    const run = (f: number) => {
      const d = new Decimator({ factor: 8, sampleRate: fs }); // out 3200 Hz, Nyquist 1600
      return timeFeatures(d.process(sine(fs, 1, f, fs)).subarray(800)).rms / Math.SQRT1_2;
    };
    expect(run(500)).toBeGreaterThan(0.95);
    expect(run(500)).toBeLessThan(1.05);
    expect(20 * Math.log10(run(2500))).toBeLessThan(-28); // would alias to 700 Hz
    expect(20 * Math.log10(run(5000))).toBeLessThan(-60);
  });
  it('output does not depend on chunking', () => {
    const x = gaussian(999, 1, 6);
    const whole = new Decimator({ factor: 3, sampleRate: 300 }).process(x);
    const d = new Decimator({ factor: 3, sampleRate: 300 });
    const parts = [d.process(x.subarray(0, 10)), d.process(x.subarray(10, 11)), d.process(x.subarray(11, 500)), d.process(x.subarray(500))];
    const joined = parts.flatMap((p) => Array.from(p));
    expect(joined).toEqual(Array.from(whole));
    expect(whole).toHaveLength(333);
  });
  it('validates options', () => {
    expect(() => new Decimator({ factor: 0, sampleRate: 1 })).toThrow(RangeError);
    expect(() => new Decimator({ factor: 2, sampleRate: 1, order: 3 })).toThrow(RangeError);
    expect(new Decimator({ factor: 1, sampleRate: 10 }).process(new Float32Array([1, 2]))).toEqual(new Float32Array([1, 2]));
  });
});

describe('lttb', () => {
  it('keeps first, last and a spike; returns increasing indexes of the requested count', () => {
    const y = gaussian(10_000, 0.1, 3);
    y[4321] = 50;
    const idx = lttb(y, 100);
    expect(idx).toHaveLength(100);
    expect(idx[0]).toBe(0);
    expect(idx[99]).toBe(9999);
    expect(Array.from(idx)).toContain(4321);
    for (let i = 1; i < idx.length; i++) expect(idx[i]).toBeGreaterThan(idx[i - 1] as number);
  });
  it('threshold ≥ length returns every index; explicit x is used for the triangle areas', () => {
    expect(Array.from(lttb(new Float32Array(3), 5))).toEqual([0, 1, 2]);
    const y = new Float64Array([0, 1, 0, 1, 0]);
    expect(lttb(y, 3, new Float64Array([0, 1, 2, 3, 100]))).toHaveLength(3);
    expect(() => lttb(y, 1)).toThrow(RangeError);
    expect(() => lttb(y, 3, new Float64Array(2))).toThrow(RangeError);
  });
});
