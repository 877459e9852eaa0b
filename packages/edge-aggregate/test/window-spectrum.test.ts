// Frequency-domain features per window: count windows hand out their samples as a view, and
// time windows do with `keepSamples`, so a Flow can compute Welch PSD, band powers and velocity
// RMS per window, not only the streaming time-domain features.
import { describe, expect, it } from 'vitest';
import { TimeWindow, bandPowers, countWindows, timeWindows, velocityRms, welchPsd, type TimeWindowEvent } from '../src/index.js';
import { gaussian, prng } from './signals.js';

const FS = 4096; // samples per second; timestamps in ms

/** 3-axis interleaved: noise everywhere, a 2 m/s² 300 Hz tone on y during second `toneAt` only. */
function stream(seconds: number, toneAt: number): Float32Array {
  const n = seconds * FS;
  const noise = gaussian(3 * n, 0.05, 21);
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const s = Math.floor(i / FS);
    out[3 * i] = noise[3 * i] as number;
    out[3 * i + 1] = (noise[3 * i + 1] as number) + (s === toneAt ? 2 * Math.sin((2 * Math.PI * 300 * i) / FS) : 0);
    out[3 * i + 2] = 9.81 + (noise[3 * i + 2] as number);
  }
  return out;
}

describe('spectral features per window', () => {
  it('time windows with keepSamples: per-window Welch PSD equals the PSD of that second, and the tone shows only in its window', () => {
    const x = stream(4, 2);
    const rows: Array<{ start: number; frames: number; tone: number[]; vrms: number; direct: number }> = [];
    const w = timeWindows({ size: 1000, channels: 3, keepSamples: true, clock: () => 0 })
      .map((e) => {
        const samples = e.samples as Float32Array;
        const psd = welchPsd(samples, { sampleRate: FS, segmentSize: 1024, offset: 1, stride: 3 });
        const s = e.start / 1000;
        const direct = welchPsd(x.subarray(s * 3 * FS, (s + 1) * 3 * FS), { sampleRate: FS, segmentSize: 1024, offset: 1, stride: 3 });
        return {
          start: e.start,
          frames: samples.length / e.channels,
          tone: bandPowers(psd, [{ low: 290, high: 310 }]),
          vrms: velocityRms(psd),
          direct: velocityRms(direct),
        };
      })
      .to((r) => { rows.push(r); });
    const r = prng(8);
    for (let i = 0; i < 4 * FS;) {
      const k = Math.min(4 * FS - i, 1 + Math.floor(r() * 3000));
      w.push(x.subarray(3 * i, 3 * (i + k)), (i * 1000) / FS, 1000 / FS);
      i += k;
    }
    w.flush();
    expect(rows.map((q) => [q.start, q.frames])).toEqual([[0, FS], [1000, FS], [2000, FS], [3000, FS]]);
    for (const q of rows) expect(q.vrms).toBe(q.direct); // same samples, same order, same numbers
    expect(rows[2]?.tone[0]).toBeCloseTo(2, 1); // a sine of amplitude 2 has mean square 2
    for (const i of [0, 1, 3]) expect(rows[i]?.tone[0]).toBeLessThan(0.01);
  });

  it('late frames within the lateness are put back in time order before the window is handed out', () => {
    const n = 2000;
    const x = gaussian(n, 1, 5);
    const got: Float64Array[] = [];
    const gotTimes: Float64Array[] = [];
    const w = new TimeWindow({ size: 500, allowedLateness: 200, keepSamples: true, clock: () => 0 }, (e: TimeWindowEvent) => {
      got.push(Float64Array.from(e.samples as Float32Array));
      gotTimes.push(Float64Array.from(e.times as Float64Array));
    });
    // Blocks of 50 frames (t = i ms), each up to 150 ms late.
    const r = prng(6);
    const blocks = Array.from({ length: n / 50 }, (_, k) => ({ k, key: k * 50 + r() * 150 })).sort((a, b) => a.key - b.key);
    for (const { k } of blocks) w.push(x.subarray(k * 50, k * 50 + 50), k * 50, 1);
    w.flush();
    expect(w.dropped).toBe(0);
    expect(got.length).toBe(4);
    for (const [i, s] of got.entries()) {
      expect(Array.from(s)).toEqual(Array.from(x.subarray(i * 500, i * 500 + 500)));
      expect(Array.from(gotTimes[i] as Float64Array)).toEqual(Array.from({ length: 500 }, (_, j) => i * 500 + j));
    }
  });

  it('hopping time windows each get their own frames; buffers are reused, not leaked between windows', () => {
    const x = Float32Array.from({ length: 40 }, (_, i) => i);
    const got: number[][] = [];
    const w = new TimeWindow({ size: 10, hop: 5, keepSamples: true, clock: () => 0 }, (e) => { got.push(Array.from(e.samples ?? [])); });
    w.push(x, 0, 1);
    w.flush();
    expect(got[0]).toEqual([0, 1, 2, 3, 4]); // [-5, 5)
    expect(got[1]).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(got[4]).toEqual(Array.from({ length: 10 }, (_, i) => 15 + i));
    expect(got.at(-1)).toEqual([35, 36, 37, 38, 39]);
  });

  it('without keepSamples a time window hands out features only', () => {
    const seen: TimeWindowEvent[] = [];
    new TimeWindow({ size: 10, clock: () => 0 }, (e) => { seen.push(e); }).push(new Float32Array(20), 0, 1);
    expect(seen[0]?.samples).toBeUndefined();
    expect(() => new TimeWindow({ size: 10, keepSamples: 'yes' as never }, () => {})).toThrow(TypeError);
  });

  it('count windows: the samples view gives the same PSD as the slice it covers', () => {
    const x = stream(3, 1);
    const v: number[] = [];
    countWindows({ size: FS, channels: 3 })
      .map((e) => velocityRms(welchPsd(e.samples, { sampleRate: FS, segmentSize: 1024, offset: 1, stride: 3 })))
      .to((q) => { v.push(q); })
      .push(x);
    expect(v).toEqual([0, 1, 2].map((s) => velocityRms(welchPsd(x.subarray(s * 3 * FS, (s + 1) * 3 * FS), { sampleRate: FS, segmentSize: 1024, offset: 1, stride: 3 }))));
    expect(v[1]).toBeGreaterThan(10 * (v[0] as number));
  });
});
