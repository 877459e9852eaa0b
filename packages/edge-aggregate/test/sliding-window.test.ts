import { describe, expect, it } from 'vitest';
import {
  EdgeAggregateError, SlidingCountWindow, SlidingTimeWindow, slidingCountWindows, slidingTimeWindows, timeFeatures,
  type SlidingWindowEvent, type TimeFeatures,
} from '../src/index.js';
import { gaussian, prng, sine } from './signals.js';

const KEYS = ['count', 'min', 'max', 'mean', 'variance', 'std', 'rms', 'peak', 'peakToPeak', 'crestFactor', 'skewness', 'kurtosis'] as const;

/** Every feature equal within a relative tolerance (scaled by `scale` for the location-dependent ones). */
function expectClose(got: TimeFeatures, want: TimeFeatures, rel: number, where: string): void {
  for (const k of KEYS) {
    const g = got[k];
    const w = want[k];
    if (Number.isNaN(w)) {
      expect(g, `${where} ${k}`).toBeNaN();
      continue;
    }
    expect(Math.abs(g - w), `${where} ${k}: got ${g}, want ${w}`).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(w)));
  }
}

/** Split `n` frames into chunks at seeded random points. */
function cuts(n: number, seed: number, maxChunk: number): Array<[number, number]> {
  const r = prng(seed);
  const out: Array<[number, number]> = [];
  for (let i = 0; i < n;) {
    const k = Math.min(n - i, 1 + Math.floor(r() * maxChunk));
    out.push([i, i + k]);
    i += k;
  }
  return out;
}

/** Snapshot of a reused event. */
const snap = (e: SlidingWindowEvent) => ({ index: e.index, time: e.time, count: e.count, full: e.full, features: e.features.map((f) => ({ ...f })) });

describe('SlidingCountWindow', () => {
  for (const [size, channels, every] of [[1, 1, 1], [7, 1, 1], [64, 3, 1], [100, 2, 7], [333, 1, 1]] as const) {
    it(`equals brute-force recomputation over the last ${size} frames (${channels} channel(s), every ${every}) on seeded random data`, () => {
      const frames = 1200;
      const x = new Float64Array(frames * channels);
      const r = prng(size * 31 + channels);
      for (let i = 0; i < x.length; i++) x[i] = (r() - 0.5) * 10 + (r() < 0.01 ? 50 : 0); // some spikes
      const got: ReturnType<typeof snap>[] = [];
      const w = new SlidingCountWindow({ size, channels, every }, (e) => { got.push(snap(e)); });
      for (const [a, b] of cuts(frames, size, 97)) w.push(x.subarray(a * channels, b * channels));
      expect(got.length).toBe(Math.floor(frames / every));
      for (const e of got) {
        const from = Math.max(0, e.index + 1 - size);
        expect(e.count).toBe(e.index + 1 - from);
        expect(e.full).toBe(e.count === size);
        for (let c = 0; c < channels; c++) {
          const want = timeFeatures(x, { offset: from * channels + c, stride: channels, count: e.count });
          expectClose(e.features[c] as TimeFeatures, want, 1e-9, `frame ${e.index} ch ${c}`);
        }
      }
      expect(w.flush()).toBe(Math.min(size, frames));
      expect(() => w.push(new Float32Array(channels))).toThrow(EdgeAggregateError);
    });
  }

  it('keeps full precision under a DC offset of 1e9 (moments are merged, never subtracted)', () => {
    const size = 500;
    const noise = gaussian(20_000, 1, 77);
    const x = Float64Array.from(noise, (v) => 1e9 + v);
    const last: TimeFeatures[] = [];
    const w = new SlidingCountWindow({ size }, (e) => { if (e.index % 1000 === 999) last.push({ ...(e.features[0] as TimeFeatures) }); });
    w.push(x);
    expect(last.length).toBe(20);
    for (const [i, f] of last.entries()) {
      const end = (i + 1) * 1000;
      const want = timeFeatures(Float64Array.from(noise.subarray(end - size, end)));
      expect(f.mean - 1e9).toBeCloseTo(want.mean, 5);
      expect(Math.abs(f.std / want.std - 1)).toBeLessThan(1e-6);
      expect(Math.abs(f.skewness - want.skewness)).toBeLessThan(1e-4);
      expect(Math.abs(f.kurtosis / want.kurtosis - 1)).toBeLessThan(1e-5);
    }
  });

  it('a sine of amplitude A: RMS A/√2, crest factor √2, kurtosis 1.5 once the window is full', () => {
    const fs = 1000;
    const size = 500; // 5 periods of 10 Hz
    const x = sine(3000, 3, 10, fs, 0.3);
    let full = 0;
    const w = new SlidingCountWindow({ size, every: 13 }, (e) => {
      if (!e.full) return;
      full++;
      const f = e.features[0] as TimeFeatures;
      expect(f.rms).toBeCloseTo(3 / Math.SQRT2, 5);
      expect(f.crestFactor).toBeCloseTo(Math.SQRT2, 3);
      expect(f.kurtosis).toBeCloseTo(1.5, 4);
      expect(Math.abs(f.mean)).toBeLessThan(1e-6);
    });
    w.push(x);
    expect(full).toBe(Math.floor(3000 / 13) - Math.floor((size - 1) / 13));
  });

  it('stays exact over a long stream (200 000 frames, window 1 000)', () => {
    const x = gaussian(200_000, 2, 5).map((v, i) => v + 0.001 * i); // drifting mean
    let final: TimeFeatures | undefined;
    const w = new SlidingCountWindow({ size: 1000, every: 200_000 }, (e) => { final = { ...(e.features[0] as TimeFeatures) }; });
    w.push(x);
    expectClose(final as TimeFeatures, timeFeatures(x.subarray(199_000)), 1e-7, 'end');
  });

  it('reuses one event object (the documented no-allocation contract)', () => {
    const seen = new Set<SlidingWindowEvent>();
    const feats = new Set<TimeFeatures>();
    new SlidingCountWindow({ size: 3, channels: 2 }, (e) => { seen.add(e); e.features.forEach((f) => feats.add(f)); }).push(new Float32Array(20));
    expect(seen.size).toBe(1);
    expect(feats.size).toBe(2);
  });

  it('rejects partial frames and bad options', () => {
    expect(() => new SlidingCountWindow({ size: 2, channels: 2 }, () => {}).push(new Float32Array(3))).toThrow(RangeError);
    expect(() => new SlidingCountWindow({ size: 0 }, () => {})).toThrow(RangeError);
    expect(() => new SlidingCountWindow({ size: 2, every: 0 }, () => {})).toThrow(RangeError);
    expect(() => new SlidingCountWindow({ size: 2.5 }, () => {})).toThrow(RangeError);
  });
});

/** Brute force for time windows: features over the accepted frames with t in (t_e − size, t_e]. */
function bruteTime(frames: Array<{ t: number; v: number[] }>, tEnd: number, size: number, c: number): TimeFeatures {
  const xs = frames.filter((f) => f.t > tEnd - size && f.t <= tEnd).map((f) => f.v[c] as number);
  return timeFeatures(Float64Array.from(xs));
}

describe('SlidingTimeWindow', () => {
  it('equals brute force over (t − size, t] for irregular chunks, gaps and intervals (in order)', () => {
    const r = prng(11);
    const channels = 2;
    const size = 37.5;
    const all: Array<{ t: number; v: number[] }> = [];
    const got: ReturnType<typeof snap>[] = [];
    const w = new SlidingTimeWindow({ size, channels, clock: () => 0, initialCapacity: 4 }, (e) => { got.push(snap(e)); });
    let t = 100;
    for (let k = 0; k < 150; k++) {
      const frames = Math.floor(r() * 20);
      const interval = 0.25 + r() * 3;
      const chunk = new Float64Array(frames * channels);
      for (let i = 0; i < frames; i++) {
        const v = [(r() - 0.5) * 8, 1e6 + r()];
        chunk.set(v, i * channels);
        all.push({ t: t + i * interval, v });
      }
      w.push(chunk, t, interval);
      t += frames * interval + (r() < 0.2 ? r() * 80 : 0); // sometimes a gap longer than the window
    }
    expect(got.length).toBe(all.length);
    expect(w.dropped).toBe(0);
    for (const e of got) {
      expect(e.time).toBe(all[e.index]?.t);
      for (let c = 0; c < channels; c++) expectClose(e.features[c] as TimeFeatures, bruteTime(all, e.time, size, c), 1e-8, `t ${e.time} ch ${c}`);
    }
  });

  it('reorders frames arriving late within the allowed lateness: same output as the stream in order', () => {
    const r = prng(3);
    const n = 3000;
    const x = gaussian(n, 1, 4);
    // Blocks of 10 frames (t = i), each delivered up to 30 time units late (lateness 40).
    const blocks: Array<[number, number]> = [];
    for (let i = 0; i < n; i += 10) blocks.push([i, Math.min(n, i + 10)]);
    const order = blocks.map((b, k) => ({ b, key: k * 10 + r() * 30 })).sort((p, q) => p.key - q.key).map((p) => p.b);
    const late: ReturnType<typeof snap>[] = [];
    const inOrder: ReturnType<typeof snap>[] = [];
    const a = new SlidingTimeWindow({ size: 50, allowedLateness: 40, clock: () => 0 }, (e) => { late.push(snap(e)); });
    for (const [s, e] of order) a.push(x.subarray(s, e), s, 1);
    a.flush();
    const b = new SlidingTimeWindow({ size: 50, clock: () => 0 }, (e) => { inOrder.push(snap(e)); });
    b.push(x, 0, 1);
    expect(a.dropped).toBe(0);
    expect(late.length).toBe(n);
    for (const [i, e] of late.entries()) {
      const o = inOrder[i] as ReturnType<typeof snap>;
      expect([e.index, e.time, e.count]).toEqual([o.index, o.time, o.count]);
      expectClose(e.features[0] as TimeFeatures, o.features[0] as TimeFeatures, 1e-9, `t ${e.time}`);
    }
  });

  it('drops (and counts) frames older than one already emitted; the clock releases held frames', () => {
    let now = 0;
    const times: number[] = [];
    const w = new SlidingTimeWindow({ size: 10, allowedLateness: 5, clock: () => now }, (e) => { times.push(e.time); });
    w.push(new Float32Array([1, 1, 1]), 0, 1); // t 0..2, watermark −3: held
    expect(times).toEqual([]);
    w.push(new Float32Array([1]), 9, 1); // watermark 4: releases 0, 1, 2
    expect(times).toEqual([0, 1, 2]);
    w.push(new Float32Array([1]), 1.5, 1); // older than t = 2, already emitted
    expect(w.dropped).toBe(1);
    w.push(new Float32Array([1]), 3, 1); // late but not older than anything emitted: placed before 9
    now = 100;
    w.tick();
    expect(times).toEqual([0, 1, 2, 3, 9]);
    expect(w.watermark).toBe(95);
    w.flush();
    expect(() => w.push(new Float32Array(1), 200, 1)).toThrow(EdgeAggregateError);
  });

  it('a sine: RMS A/√2 once the window spans its full length', () => {
    const fs = 2000;
    const x = sine(6000, 2, 50, fs); // window 100 ms = 5 periods
    let checked = 0;
    new SlidingTimeWindow({ size: 100, every: 7, clock: () => 0 }, (e) => {
      if (!e.full) return;
      checked++;
      expect(e.count).toBe(200);
      expect(e.features[0]?.rms).toBeCloseTo(2 / Math.SQRT2, 5);
    }).push(x, 0, 1000 / fs);
    expect(checked).toBeGreaterThan(800);
  });

  it('rejects bad times and options', () => {
    const w = new SlidingTimeWindow({ size: 1, clock: () => 0 }, () => {});
    expect(() => w.push(new Float32Array(1), NaN, 1)).toThrow(RangeError);
    expect(() => w.push(new Float32Array(1), Infinity, 1)).toThrow(RangeError);
    expect(() => w.push(new Float32Array(1), 0, 0)).toThrow(RangeError);
    expect(() => new SlidingTimeWindow({ size: 0 }, () => {})).toThrow(RangeError);
    expect(() => new SlidingTimeWindow({ size: 1, allowedLateness: -1 }, () => {})).toThrow(RangeError);
    expect(() => new SlidingTimeWindow({ size: 1, initialCapacity: 0 }, () => {})).toThrow(RangeError);
  });
});

describe('sliding windows in a Flow', () => {
  it('slidingCountWindows and slidingTimeWindows feed map → filter → sink', () => {
    const alarms: number[] = [];
    const w = slidingCountWindows({ size: 4, channels: 2 })
      .map((e) => ({ i: e.index, rms: e.features[1]?.rms ?? NaN }))
      .filter((r) => r.rms > 2)
      .to((r) => { alarms.push(r.i); });
    const x = new Float32Array(20);
    x[2 * 6 + 1] = 5; // one spike on channel 1 at frame 6
    w.push(x);
    expect(alarms).toEqual([6, 7, 8, 9]);
    const ts: number[] = [];
    slidingTimeWindows({ size: 5, clock: () => 0 }).map((e) => e.time).to((t) => { ts.push(t); }).push(new Float32Array(3), 10, 2);
    expect(ts).toEqual([10, 12, 14]);
  });
});
