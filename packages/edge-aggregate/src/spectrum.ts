// Power spectral density by Welch's method and the numbers read off it: band powers, dominant
// frequencies, and velocity RMS from acceleration by integration in the frequency domain, as
// ISO 10816/20816 evaluate machines.
import { RealFFT } from './fft.js';
import { windowCoefficients, type WindowKind } from './spectral-window.js';
import { assertInt, assertNumber, assertObject, assertSamples, intOption, type Samples } from './validate.js';

/** Options of {@link welchPsd}. */
export interface WelchOptions {
  /** Samples per second of the input. */
  readonly sampleRate: number;
  /** Segment length, a power of two. Default 1024 (or the input length rounded down to a power of two, if shorter). */
  readonly segmentSize?: number;
  /** Fraction of a segment shared with the next, in [0, 1). Default 0.5. */
  readonly overlap?: number;
  /** Spectral window. Default `'hann'`. */
  readonly window?: WindowKind;
  /** Remove each segment's mean before the FFT. Default true. */
  readonly detrend?: boolean;
  /** First sample and distance between samples, to read one channel of interleaved data in place. Defaults 0 and 1. */
  readonly offset?: number;
  readonly stride?: number;
}

/** A one-sided power spectral density. */
export interface Psd {
  readonly sampleRate: number;
  /** Bin spacing in Hz: bin `k` is at `k * resolution`. */
  readonly resolution: number;
  /** Density per bin (input unit² / Hz), `segmentSize / 2 + 1` bins from 0 Hz to Nyquist. */
  readonly density: Float64Array;
  /** Segments averaged. */
  readonly segments: number;
}

/**
 * One-sided PSD by Welch's method (P. D. Welch, IEEE Trans. Audio Electroacoust. 15(2), 1967),
 * scaled as SciPy's `scaling='density'`: Σ density·resolution equals the signal's variance.
 *
 * @throws {TypeError} for non-sample input or non-number options.
 * @throws {RangeError} for a bad sample rate, segment size, overlap or an input shorter than a segment.
 * @example
 * ```ts
 * import { welchPsd } from '@outpost/edge-aggregate';
 * const x = new Float32Array(4096).map((_, i) => Math.sin(2 * Math.PI * 100 * i / 1024));
 * const psd = welchPsd(x, { sampleRate: 1024, segmentSize: 256 });
 * psd.resolution; // 4
 * psd.segments;   // 31
 * ```
 */
export function welchPsd(samples: Samples, options: WelchOptions): Psd {
  assertSamples('samples', samples);
  assertObject('options', options);
  const { sampleRate, overlap = 0.5, window = 'hann', detrend = true } = options;
  assertNumber('options.sampleRate', sampleRate);
  assertNumber('options.overlap', overlap);
  if (typeof detrend !== 'boolean') throw new TypeError(`options.detrend: expected a boolean, got ${typeof detrend}`);
  if (!(sampleRate > 0) || !Number.isFinite(sampleRate)) throw new RangeError(`options.sampleRate: expected a positive finite number, got ${sampleRate}`);
  if (!(overlap >= 0 && overlap < 1)) throw new RangeError(`options.overlap: expected a fraction in [0, 1), got ${overlap}`);
  const offset = intOption('options.offset', options.offset, 0, 0);
  const stride = intOption('options.stride', options.stride, 1, 1);
  const available = offset < samples.length ? Math.floor((samples.length - 1 - offset) / stride) + 1 : 0;
  const dflt = Math.min(1024, available < 2 ? 2 : 2 ** Math.floor(Math.log2(available)));
  const n = intOption('options.segmentSize', options.segmentSize, dflt, 2, 1 << 24);
  if ((n & (n - 1)) !== 0) throw new RangeError(`options.segmentSize: expected a power of two, got ${n}`);
  if (available < n) throw new RangeError(`samples: expected at least one segment of ${n} samples, got ${available}`);
  const w = windowCoefficients(window, n);
  let wss = 0;
  for (let i = 0; i < n; i++) wss += (w[i] as number) ** 2;
  const step = Math.max(1, Math.round(n * (1 - overlap)));
  const fft = new RealFFT(n);
  const seg = new Float64Array(n);
  const spec = new Float64Array(n + 2);
  const bins = n / 2 + 1;
  const density = new Float64Array(bins);
  let segments = 0;
  for (let start = 0; start + n <= available; start += step) {
    let mean = 0;
    if (detrend) {
      for (let i = 0; i < n; i++) mean += samples[offset + (start + i) * stride] as number;
      mean /= n;
    }
    for (let i = 0; i < n; i++) seg[i] = ((samples[offset + (start + i) * stride] as number) - mean) * (w[i] as number);
    fft.forward(seg, spec);
    for (let k = 0; k < bins; k++) density[k] = (density[k] as number) + (spec[2 * k] as number) ** 2 + (spec[2 * k + 1] as number) ** 2;
    segments++;
  }
  const scale = 1 / (sampleRate * wss * segments);
  for (let k = 0; k < bins; k++) density[k] = (density[k] as number) * scale * (k === 0 || k === bins - 1 ? 1 : 2);
  return { sampleRate, resolution: sampleRate / n, density, segments };
}

/** A frequency band `[low, high)` in Hz. */
export interface Band {
  readonly low: number;
  readonly high: number;
}

/**
 * Power (mean square, input unit²) in each band: Σ density·resolution over the bins whose
 * frequency lies in `[low, high)`.
 *
 * @throws {TypeError} for a non-PSD or non-array bands.
 * @throws {RangeError} for a band with `low > high` or non-finite edges.
 * @example
 * ```ts
 * import { bandPowers, welchPsd } from '@outpost/edge-aggregate';
 * const x = new Float32Array(8192).map((_, i) => 2 * Math.sin(2 * Math.PI * 100 * i / 1024));
 * const [low, tone] = bandPowers(welchPsd(x, { sampleRate: 1024 }), [{ low: 0, high: 50 }, { low: 90, high: 110 }]);
 * Math.round((tone ?? 0) * 1000) / 1000; // 2 (a sine of amplitude 2 has mean square 2)
 * (low ?? 1) < 1e-6; // true
 * ```
 */
export function bandPowers(psd: Psd, bands: readonly Band[]): number[] {
  assertPsd(psd);
  if (!Array.isArray(bands)) throw new TypeError(`bands: expected an array, got ${typeof bands}`);
  return bands.map((b, i) => {
    assertObject(`bands[${i}]`, b);
    assertNumber(`bands[${i}].low`, b.low);
    assertNumber(`bands[${i}].high`, b.high);
    if (!(b.low <= b.high)) throw new RangeError(`bands[${i}]: expected low ≤ high, got ${b.low} > ${b.high}`);
    const df = psd.resolution;
    let sum = 0;
    for (let k = Math.max(0, Math.ceil(b.low / df)); k < psd.density.length && k * df < b.high; k++) sum += psd.density[k] as number;
    return sum * df;
  });
}

/** A spectral peak. */
export interface SpectralPeak {
  /** Frequency in Hz, refined between bins by parabolic interpolation of the log density. */
  readonly frequency: number;
  /** Density at the peak bin. */
  readonly density: number;
}

/**
 * The `count` strongest local maxima of a PSD at or above `minFrequency` Hz (default: skip the
 * DC bin), strongest first.
 *
 * @throws {TypeError} for a non-PSD or non-number arguments.
 * @throws {RangeError} for a negative count.
 * @example
 * ```ts
 * import { dominantFrequencies, welchPsd } from '@outpost/edge-aggregate';
 * const x = new Float32Array(8192).map((_, i) => Math.sin(2 * Math.PI * 50 * i / 1024) + 0.3 * Math.sin(2 * Math.PI * 200 * i / 1024));
 * dominantFrequencies(welchPsd(x, { sampleRate: 1024 }), 2).map((p) => Math.round(p.frequency)); // [50, 200]
 * ```
 */
export function dominantFrequencies(psd: Psd, count = 3, minFrequency?: number): SpectralPeak[] {
  assertPsd(psd);
  assertInt('count', count, 0);
  const d = psd.density;
  const df = psd.resolution;
  if (minFrequency !== undefined) assertNumber('minFrequency', minFrequency);
  const from = Math.max(1, minFrequency === undefined ? 1 : Math.ceil(minFrequency / df));
  const peaks: SpectralPeak[] = [];
  for (let k = from; k < d.length; k++) {
    const c = d[k] as number;
    const l = d[k - 1] as number;
    const r = k + 1 < d.length ? (d[k + 1] as number) : -Infinity;
    if (!(c > l && c >= r) || c <= 0) continue;
    let shift = 0;
    if (r > 0 && l > 0) {
      const a = Math.log(l);
      const b = Math.log(c);
      const g = Math.log(r);
      const den = a - 2 * b + g;
      if (den < 0) shift = (0.5 * (a - g)) / den;
    }
    peaks.push({ frequency: (k + shift) * df, density: c });
  }
  return peaks.sort((x, y) => y.density - x.density).slice(0, count);
}

/** Options of {@link velocityRms}. */
export interface VelocityOptions {
  /** Lower band edge in Hz. Default 10 (ISO 10816-3 / 20816-3 for machines above 600 r/min). */
  readonly low?: number;
  /** Upper band edge in Hz. Default 1000. */
  readonly high?: number;
  /** Unit of the acceleration the PSD was computed from. Default `'m/s2'`. */
  readonly unit?: 'm/s2' | 'g';
}

const STANDARD_GRAVITY = 9.80665; // m/s², CGPM 1901

/**
 * Velocity RMS in mm/s over `[low, high]` Hz from the PSD of an acceleration signal, by
 * integration in the frequency domain: `v_rms² = Σ density(f) / (2πf)² · Δf`.
 *
 * @throws {TypeError} for a non-PSD or non-number options.
 * @throws {RangeError} for `low ≤ 0`, `low > high` or an unknown unit.
 * @example
 * ```ts
 * import { velocityRms, welchPsd } from '@outpost/edge-aggregate';
 * // 10 m/s² peak at 159.15 Hz: velocity peak 10 mm/s, RMS 7.07 mm/s
 * const f = 1000 / (2 * Math.PI);
 * const a = new Float32Array(65536).map((_, i) => 10 * Math.sin(2 * Math.PI * f * i / 25600));
 * Math.round(velocityRms(welchPsd(a, { sampleRate: 25600, segmentSize: 8192 })) * 100) / 100; // 7.07
 * ```
 */
export function velocityRms(psd: Psd, options: VelocityOptions = {}): number {
  assertPsd(psd);
  assertObject('options', options);
  const { low = 10, high = 1000, unit = 'm/s2' } = options;
  assertNumber('options.low', low);
  assertNumber('options.high', high);
  if (!(low > 0) || !(low <= high)) throw new RangeError(`options: expected 0 < low ≤ high, got low ${low}, high ${high}`);
  if (unit !== 'm/s2' && unit !== 'g') throw new RangeError(`options.unit: expected 'm/s2' or 'g', got ${String(unit)}`);
  const df = psd.resolution;
  let sum = 0;
  for (let k = Math.ceil(low / df); k < psd.density.length && k * df <= high; k++) {
    const w = 2 * Math.PI * k * df;
    sum += (psd.density[k] as number) / (w * w);
  }
  const scale = (unit === 'g' ? STANDARD_GRAVITY : 1) * 1000;
  return Math.sqrt(sum * df) * scale;
}

/** Zone boundaries in mm/s RMS: A/B, B/C and C/D. */
export interface SeverityThresholds {
  readonly ab: number;
  readonly bc: number;
  readonly cd: number;
}

/** Evaluation zones of ISO 10816/20816: A new, B unrestricted long-term, C limited period, D damage. */
export type SeverityZone = 'A' | 'B' | 'C' | 'D';

/**
 * Zone boundaries for ISO 10816-3 (industrial machines, 120 r/min – 15 000 r/min, measured on
 * bearing housings) as they are commonly tabulated: group 1 (300 kW – 50 MW) and group 2
 * (15 kW – 300 kW), rigid and flexible foundations. These are data, not a claim of conformance:
 * check them against your edition of the standard and pass your own thresholds where they differ
 * (ISO 20816-3 and site-specific baselines often do).
 *
 * @example
 * ```ts
 * import { ISO_10816_3 } from '@outpost/edge-aggregate';
 * ISO_10816_3.group2Rigid.bc; // 2.8
 * ```
 */
export const ISO_10816_3: Readonly<Record<'group1Rigid' | 'group1Flexible' | 'group2Rigid' | 'group2Flexible', SeverityThresholds>> = Object.freeze({
  group1Rigid: Object.freeze({ ab: 2.3, bc: 4.5, cd: 7.1 }),
  group1Flexible: Object.freeze({ ab: 3.5, bc: 7.1, cd: 11 }),
  group2Rigid: Object.freeze({ ab: 1.4, bc: 2.8, cd: 4.5 }),
  group2Flexible: Object.freeze({ ab: 2.3, bc: 4.5, cd: 7.1 }),
});

/**
 * Zone of a velocity RMS (mm/s) under the given thresholds; a value on a boundary belongs to
 * the worse zone.
 *
 * @throws {TypeError} for a non-number velocity or non-object thresholds.
 * @throws {RangeError} for a negative velocity or thresholds not increasing.
 * @example
 * ```ts
 * import { ISO_10816_3, severityZone } from '@outpost/edge-aggregate';
 * severityZone(1.2, ISO_10816_3.group2Rigid); // 'A'
 * severityZone(4.5, ISO_10816_3.group2Rigid); // 'D'
 * severityZone(3, { ab: 1, bc: 2, cd: 10 });  // 'C'
 * ```
 */
export function severityZone(velocity: number, thresholds: SeverityThresholds): SeverityZone {
  assertNumber('velocity', velocity);
  assertObject('thresholds', thresholds);
  const { ab, bc, cd } = thresholds;
  assertNumber('thresholds.ab', ab);
  assertNumber('thresholds.bc', bc);
  assertNumber('thresholds.cd', cd);
  if (!(0 < ab && ab < bc && bc < cd)) throw new RangeError(`thresholds: expected 0 < ab < bc < cd, got ${ab}, ${bc}, ${cd}`);
  if (!(velocity >= 0)) throw new RangeError(`velocity: expected a number ≥ 0, got ${velocity}`);
  return velocity < ab ? 'A' : velocity < bc ? 'B' : velocity < cd ? 'C' : 'D';
}

function assertPsd(psd: unknown): asserts psd is Psd {
  assertObject('psd', psd);
  if (!(psd.density instanceof Float64Array) || typeof psd.resolution !== 'number') {
    throw new TypeError('psd: expected a Psd from welchPsd (density: Float64Array, resolution: number)');
  }
  if (!(psd.resolution > 0)) throw new RangeError(`psd.resolution: expected a positive number, got ${String(psd.resolution)}`);
}
