import { describe, expect, it } from 'vitest';
import { ISO_10816_3, bandPowers, dominantFrequencies, severityZone, timeFeatures, velocityRms, welchPsd } from '../src/index.js';
import { gaussian, sine } from './signals.js';

describe('welchPsd', () => {
  it('white noise of variance σ²: flat density 2σ²/fs, and Σ density·Δf = σ² (Parseval)', () => {
    const fs = 1000;
    const sigma = 2;
    const x = gaussian(200_000, sigma, 21);
    const psd = welchPsd(x, { sampleRate: fs, segmentSize: 256 });
    expect(psd.segments).toBe(Math.floor((200_000 - 256) / 128) + 1);
    const total = psd.density.reduce((s, v) => s + v, 0) * psd.resolution;
    expect(total / timeFeatures(x).variance).toBeGreaterThan(0.97);
    expect(total / timeFeatures(x).variance).toBeLessThan(1.03);
    // Every interior bin near the flat level: averaging ~1500 segments gives ~3 % scatter per bin.
    const level = (2 * sigma * sigma) / fs;
    for (let k = 2; k < psd.density.length - 2; k++) expect(Math.abs((psd.density[k] as number) / level - 1)).toBeLessThan(0.2);
  });

  it('a sine of amplitude A carries A²/2 in the band around its frequency for every tapered window', () => {
    // 250 Hz is half-way between bins (4 Hz apart): the worst case for leakage.
    for (const window of ['hann', 'hamming', 'flattop'] as const) {
      const x = sine(32_768, 3, 250, 4096, 0.3);
      const psd = welchPsd(x, { sampleRate: 4096, segmentSize: 1024, window });
      const [tone, rest] = bandPowers(psd, [{ low: 230, high: 270 }, { low: 300, high: 2049 }]);
      expect(tone).toBeCloseTo(4.5, 2);
      expect(rest).toBeLessThan(1e-3);
    }
    // The rectangular window leaks a half-bin tone far outside the band (sidelobes fall as 1/f)…
    const leaky = bandPowers(welchPsd(sine(32_768, 3, 250, 4096), { sampleRate: 4096, segmentSize: 1024, window: 'rectangular' }), [{ low: 230, high: 270 }]);
    expect(leaky[0]).toBeLessThan(4.4);
    // …but is exact for a tone on a bin.
    const onBin = bandPowers(welchPsd(sine(32_768, 3, 256, 4096), { sampleRate: 4096, segmentSize: 1024, window: 'rectangular' }), [{ low: 250, high: 260 }]);
    expect(onBin[0]).toBeCloseTo(4.5, 6);
  });

  it('reads one axis of interleaved data through offset/stride', () => {
    const n = 8192;
    const xyz = new Float32Array(3 * n);
    const a = sine(n, 1, 100, 1024);
    const b = sine(n, 1, 300, 1024);
    for (let i = 0; i < n; i++) {
      xyz[3 * i] = a[i] as number;
      xyz[3 * i + 1] = b[i] as number;
    }
    const y = welchPsd(xyz, { sampleRate: 1024, offset: 1, stride: 3 });
    expect(dominantFrequencies(y, 1)[0]?.frequency).toBeCloseTo(300, 0);
    const z = welchPsd(xyz, { sampleRate: 1024, offset: 2, stride: 3 });
    expect(Math.max(...z.density)).toBe(0);
  });

  it('rejects bad options', () => {
    const x = new Float32Array(100);
    expect(() => welchPsd(x, { sampleRate: 0 })).toThrow(RangeError);
    expect(() => welchPsd(x, { sampleRate: 1, segmentSize: 128 })).toThrow(/at least one segment/);
    expect(() => welchPsd(x, { sampleRate: 1, segmentSize: 48 })).toThrow(/power of two/);
    expect(() => welchPsd(x, { sampleRate: 1, overlap: 1 })).toThrow(RangeError);
    expect(welchPsd(x, { sampleRate: 1 }).density).toHaveLength(33); // default: 64-sample segments for 100 samples
  });
});

describe('dominantFrequencies', () => {
  it('finds tones in noise, strongest first, with sub-bin frequency', () => {
    const fs = 25_600;
    const n = 65_536;
    const noise = gaussian(n, 0.5, 4);
    const t1 = sine(n, 2, 163.7, fs);
    const t2 = sine(n, 1, 1234.5, fs);
    const x = noise.map((v, i) => v + (t1[i] as number) + (t2[i] as number));
    const peaks = dominantFrequencies(welchPsd(x, { sampleRate: fs, segmentSize: 8192 }), 2);
    expect(peaks).toHaveLength(2);
    expect(Math.abs((peaks[0]?.frequency ?? 0) - 163.7)).toBeLessThan(0.5); // bin width 3.125 Hz
    expect(Math.abs((peaks[1]?.frequency ?? 0) - 1234.5)).toBeLessThan(0.5);
    expect(dominantFrequencies(welchPsd(x, { sampleRate: fs, segmentSize: 8192 }), 1, 500)[0]?.frequency).toBeCloseTo(1234.5, 0);
  });
});

describe('velocityRms and ISO zones', () => {
  const fs = 25_600;
  const accel = (peak: number, f: number) => welchPsd(sine(131_072, peak, f, fs), { sampleRate: fs, segmentSize: 8192 });

  it('a pure tone: v_rms = A / (2πf √2), in mm/s, for m/s² and g input', () => {
    for (const f of [50, 120, 400, 900]) {
      const want = (5 / (2 * Math.PI * f * Math.SQRT2)) * 1000;
      expect(velocityRms(accel(5, f)) / want).toBeCloseTo(1, 2);
      expect(velocityRms(accel(5, f), { unit: 'g' }) / (want * 9.80665)).toBeCloseTo(1, 2);
    }
  });

  it('tones outside 10–1000 Hz do not count', () => {
    expect(velocityRms(accel(5, 3000))).toBeLessThan(0.01);
    expect(velocityRms(accel(5, 3000), { high: 5000 })).toBeGreaterThan(0.1);
  });

  it('zones follow the configured thresholds, boundaries going to the worse zone', () => {
    const t = ISO_10816_3.group1Rigid;
    expect([0, 2.29, 2.3, 4.49, 4.5, 7.1, 100].map((v) => severityZone(v, t))).toEqual(['A', 'A', 'B', 'B', 'C', 'D', 'D']);
    expect(() => severityZone(1, { ab: 3, bc: 2, cd: 4 })).toThrow(RangeError);
    expect(() => severityZone(-1, t)).toThrow(RangeError);
    expect(Object.isFrozen(ISO_10816_3.group2Flexible)).toBe(true);
  });
});
