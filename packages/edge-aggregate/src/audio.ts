// Audio levels: dBFS (AES17 convention: a full-scale sine reads 0 dBFS) and the A-weighted
// level from a PSD using the analytic weighting of IEC 61672-1:2013 Annex E.
import { featuresOf, FeatureAccumulator, type StrideOptions } from './features.js';
import { assertNumber, type Samples } from './validate.js';
import type { Psd } from './spectrum.js';

/**
 * Level in dBFS of samples in [-1, 1] full scale: `20·log10(√2·RMS)`, so a full-scale sine is
 * 0 dBFS and a full-scale square wave +3.01 dBFS (AES17). Digital silence is `-Infinity`.
 *
 * @throws {TypeError} when `samples` is not a Float32Array/Float64Array.
 * @throws {RangeError} for a bad offset/stride/count.
 * @example
 * ```ts
 * import { dbfs } from '@outpost/edge-aggregate';
 * const s = new Float32Array(4800).map((_, i) => 0.5 * Math.sin(2 * Math.PI * 1000 * i / 48000));
 * Math.round(dbfs(s) * 100) / 100; // -6.02
 * dbfs(new Float32Array(8)); // -Infinity
 * ```
 */
export function dbfs(samples: Samples, options?: StrideOptions): number {
  const f = featuresOf(new FeatureAccumulator().push(samples, options).state());
  return f.count === 0 ? NaN : 20 * Math.log10(Math.SQRT2 * f.rms);
}

/**
 * A-weighting in dB at `f` Hz, IEC 61672-1:2013 eq. (E.6): 0 dB at 1 kHz (to ±0.01 dB),
 * −19.1 dB at 100 Hz, −2.5 dB at 10 kHz.
 *
 * @throws {TypeError} when `f` is not a number.
 * @throws {RangeError} for `f < 0`.
 * @example
 * ```ts
 * import { aWeighting } from '@outpost/edge-aggregate';
 * Math.round(aWeighting(1000) * 10) / 10; // 0
 * Math.round(aWeighting(100) * 10) / 10;  // -19.1
 * ```
 */
export function aWeighting(f: number): number {
  assertNumber('f', f);
  if (!(f >= 0)) throw new RangeError(`f: expected a frequency ≥ 0 Hz, got ${f}`);
  if (f === 0) return -Infinity;
  // Pole frequencies of IEC 61672-1 Annex E: f1 20.598997, f2 107.65265, f3 737.86223, f4 12194.217 Hz.
  const f2 = f * f;
  const ra = (12194.217 ** 2 * f2 * f2) /
    ((f2 + 20.598997 ** 2) * Math.sqrt((f2 + 107.65265 ** 2) * (f2 + 737.86223 ** 2)) * (f2 + 12194.217 ** 2));
  return 20 * Math.log10(ra) + 2.0;
}

/**
 * A-weighted level in dBFS(A) of a signal from its PSD (e.g. {@link welchPsd} of one window of
 * audio in full-scale units): the PSD weighted by {@link aWeighting} and integrated, on the same
 * AES17 scale as {@link dbfs}.
 *
 * @throws {TypeError} when `psd` is not a Psd.
 * @example
 * ```ts
 * import { aWeightedLevel, welchPsd } from '@outpost/edge-aggregate';
 * const tone = (f: number) => new Float32Array(48000).map((_, i) => Math.sin(2 * Math.PI * f * i / 48000));
 * Math.round(aWeightedLevel(welchPsd(tone(1000), { sampleRate: 48000, segmentSize: 4096 }))); // 0
 * Math.round(aWeightedLevel(welchPsd(tone(100), { sampleRate: 48000, segmentSize: 4096 })));  // -19
 * ```
 */
export function aWeightedLevel(psd: Psd): number {
  if (typeof psd !== 'object' || psd === null || !(psd.density instanceof Float64Array) || typeof psd.resolution !== 'number') {
    throw new TypeError('psd: expected a Psd from welchPsd (density: Float64Array, resolution: number)');
  }
  let sum = 0;
  for (let k = 1; k < psd.density.length; k++) sum += (psd.density[k] as number) * 10 ** (aWeighting(k * psd.resolution) / 10);
  return 10 * Math.log10(2 * sum * psd.resolution);
}
