import { describe, expect, it } from 'vitest';
import { aWeightedLevel, aWeighting, dbfs, welchPsd } from '../src/index.js';
import { gaussian, sine } from './signals.js';

// IEC 61672-1:2013 Table 3, A-weighting at nominal frequencies (dB, rounded to 0.1 dB).
const IEC_61672_A: readonly [number, number][] = [
  [31.5, -39.4], [63, -26.2], [125, -16.1], [250, -8.6], [500, -3.2], [1000, 0], [2000, 1.2], [4000, 1.0], [8000, -1.1], [16000, -6.6],
];

describe('aWeighting', () => {
  for (const [f, want] of IEC_61672_A) {
    it(`${f} Hz → ${want} dB (IEC 61672-1 Table 3)`, () => {
      // Table 3 lists exact base-10 frequencies' weights at the nominal ones, so allow 0.15 dB.
      expect(Math.abs(aWeighting(f) - want)).toBeLessThan(0.15);
    });
  }
  it('rejects negative frequencies', () => {
    expect(() => aWeighting(-1)).toThrow(RangeError);
    expect(aWeighting(0)).toBe(-Infinity);
  });
});

describe('dbfs and A-weighted level', () => {
  it('full-scale sine 0 dBFS, half scale −6.02, white noise at σ = 0.1 → −16.99 dBFS', () => {
    expect(dbfs(sine(48_000, 1, 997, 48_000))).toBeCloseTo(0, 3);
    expect(dbfs(sine(48_000, 0.5, 997, 48_000))).toBeCloseTo(-6.02, 2);
    expect(dbfs(gaussian(200_000, 0.1, 1))).toBeCloseTo(20 * Math.log10(Math.SQRT2 * 0.1), 1);
  });
  it('A-weighted level of tones follows the curve; broadband noise reads below its unweighted level', () => {
    const fs = 48_000;
    for (const f of [125, 1000, 4000]) {
      const level = aWeightedLevel(welchPsd(sine(fs, 1, f, fs), { sampleRate: fs, segmentSize: 4096 }));
      expect(level).toBeCloseTo(aWeighting(f), 1);
    }
    const noise = gaussian(96_000, 0.1, 2);
    const a = aWeightedLevel(welchPsd(noise, { sampleRate: fs, segmentSize: 4096 }));
    expect(a).toBeLessThan(dbfs(noise));
    expect(a).toBeGreaterThan(dbfs(noise) - 3);
  });
});
