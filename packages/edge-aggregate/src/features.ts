// Single-pass, numerically stable time-domain features.
//
// Samples are consumed in blocks: inside a block the power sums of (x - c) are accumulated
// with c close to the mean (the running mean, or the block's first sample for the very first
// block), so there is no division in the hot loop and no catastrophic cancellation from a DC
// offset. Each block's central moments are then merged into the running state with the
// pairwise update formulas of Pébay (2008), "Formulas for robust, one-pass parallel computation
// of covariances and arbitrary-order statistical moments", eq. 2.1-2.3 — the same formulas
// merge two accumulators from different windows or gateways.
import { EdgeAggregateError } from './errors.js';
import { assertInt, assertObject, assertSamples, intOption, type Samples } from './validate.js';

/** Samples per block of the inner loop: large enough to amortise the merge, small enough that a shift stays near the mean. */
const BLOCK = 1024;

/**
 * Time-domain features of one channel. Variance, standard deviation, skewness and kurtosis
 * are population statistics (divided by `count`), as vibration standards use them. Kurtosis
 * is the plain fourth standardised moment (3 for a Gaussian, 1.5 for a sine), not the excess.
 * Statistics that are undefined (an empty input, or zero variance for skewness/kurtosis,
 * zero RMS for the crest factor) are `NaN`.
 */
export interface TimeFeatures {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly variance: number;
  readonly std: number;
  readonly rms: number;
  /** Largest absolute value, `max(|min|, |max|)`. */
  readonly peak: number;
  readonly peakToPeak: number;
  /** `peak / rms`. */
  readonly crestFactor: number;
  readonly skewness: number;
  readonly kurtosis: number;
}

/**
 * The mergeable state behind {@link TimeFeatures}: count, mean, the central moment sums
 * `m2 = Σ(x-mean)²`, `m3`, `m4`, and the extremes. Plain data, safe to serialise (CBOR, JSON
 * with `min`/`max` as ±Infinity for an empty state) and merge elsewhere.
 */
export interface MomentState {
  readonly count: number;
  readonly mean: number;
  readonly m2: number;
  readonly m3: number;
  readonly m4: number;
  readonly min: number;
  readonly max: number;
}

/**
 * Which samples of a buffer to read: `offset` of the first, `stride` between consecutive
 * samples (the channel count for interleaved input), and `count` samples (default: as many
 * as fit). Nothing is copied.
 */
export interface StrideOptions {
  /** Index of the first sample. Default 0. */
  readonly offset?: number;
  /** Distance between samples; e.g. 3 for one axis of interleaved x,y,z. Default 1. */
  readonly stride?: number;
  /** Number of samples to read. Default: every sample from `offset` to the end at `stride`. */
  readonly count?: number;
}

/**
 * Streaming accumulator of {@link TimeFeatures}: push `Float32Array` chunks (optionally one
 * channel of interleaved data via a stride), merge accumulators of other chunks, windows or
 * gateways, and read the features at any time. `push` and `merge` allocate nothing.
 *
 * @example
 * ```ts
 * import { FeatureAccumulator } from '@outpost/edge-aggregate';
 * const xyz = new Float32Array([1, 10, -1, 3, 20, -1, 5, 30, -1]); // interleaved x,y,z
 * const y = new FeatureAccumulator().push(xyz, { offset: 1, stride: 3 });
 * y.result().mean;  // 20
 * y.result().count; // 3
 * const x = new FeatureAccumulator().push(xyz, { stride: 3, count: 2 });
 * x.result().max;   // 3
 * x.merge(new FeatureAccumulator().push(new Float32Array([5]))).result().mean; // 3
 * const s = new FeatureAccumulator().push(new Float32Array([2, 4])).state();
 * FeatureAccumulator.fromState(s).result().std; // 1
 * ```
 */
export class FeatureAccumulator {
  #n = 0;
  #mean = 0;
  #m2 = 0;
  #m3 = 0;
  #m4 = 0;
  #min = Infinity;
  #max = -Infinity;

  /**
   * Rebuild an accumulator from a {@link MomentState} (e.g. received from another gateway).
   *
   * (Its example is in the class TSDoc above.)
   *
   * @throws {EdgeAggregateError} `STATE_INVALID` when the state is inconsistent.
   */
  static fromState(state: MomentState): FeatureAccumulator {
    return new FeatureAccumulator().merge(state);
  }

  /**
   * Add samples. Returns `this` for chaining.
   *
   * @throws {TypeError} when `samples` is not a Float32Array/Float64Array or an option is not a number.
   * @throws {RangeError} when offset/stride/count are not integers or reach past the buffer.
   * @example
   * ```ts
   * import { FeatureAccumulator } from '@outpost/edge-aggregate';
   * new FeatureAccumulator().push(new Float32Array([3, -3, 3, -3])).result().rms; // 3
   * ```
   */
  push(samples: Samples, options?: StrideOptions): this {
    assertSamples('samples', samples);
    const { offset, stride, count } = strideOf(samples.length, options);
    let i = offset;
    let left = count;
    while (left > 0) {
      const k = left < BLOCK ? left : BLOCK;
      const c = this.#n > 0 ? this.#mean : (samples[i] as number);
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let s4 = 0;
      let lo = Infinity;
      let hi = -Infinity;
      for (let j = 0; j < k; j++, i += stride) {
        const x = samples[i] as number;
        if (x < lo) lo = x;
        if (x > hi) hi = x;
        const d = x - c;
        const d2 = d * d;
        s1 += d;
        s2 += d2;
        s3 += d2 * d;
        s4 += d2 * d2;
      }
      // Central moments of the block from the shifted power sums.
      const u = s1 / k;
      const u2 = u * u;
      const m2 = s2 - s1 * u;
      const m3 = s3 - 3 * u * s2 + 2 * k * u2 * u;
      const m4 = s4 - 4 * u * s3 + 6 * u2 * s2 - 3 * k * u2 * u2;
      this.#combine(k, c + u, m2 > 0 ? m2 : 0, m3, m4 > 0 ? m4 : 0, lo, hi);
      left -= k;
    }
    return this;
  }

  /**
   * Merge another accumulator or a {@link MomentState} into this one; the result equals one
   * pass over both inputs (up to rounding).
   *
   * @throws {EdgeAggregateError} `STATE_INVALID` for an inconsistent state.
   * @example
   * ```ts
   * import { FeatureAccumulator } from '@outpost/edge-aggregate';
   * const a = new FeatureAccumulator().push(new Float32Array([1, 2]));
   * const b = new FeatureAccumulator().push(new Float32Array([3, 4]));
   * a.merge(b).result().mean; // 2.5
   * ```
   */
  merge(other: FeatureAccumulator | MomentState): this {
    const s = other instanceof FeatureAccumulator ? other.state() : checkState(other);
    if (s.count > 0) this.#combine(s.count, s.mean, s.m2, s.m3, s.m4, s.min, s.max);
    return this;
  }

  /**
   * Forget every sample. Returns `this`.
   *
   * @example
   * ```ts
   * import { FeatureAccumulator } from '@outpost/edge-aggregate';
   * new FeatureAccumulator().push(new Float32Array([1])).reset().result().count; // 0
   * ```
   */
  reset(): this {
    this.#n = 0;
    this.#mean = 0;
    this.#m2 = 0;
    this.#m3 = 0;
    this.#m4 = 0;
    this.#min = Infinity;
    this.#max = -Infinity;
    return this;
  }

  /**
   * The mergeable state as plain data.
   *
   * @example
   * ```ts
   * import { FeatureAccumulator } from '@outpost/edge-aggregate';
   * new FeatureAccumulator().push(new Float32Array([1, 3])).state().m2; // 2
   * ```
   */
  state(): MomentState {
    return { count: this.#n, mean: this.#mean, m2: this.#m2, m3: this.#m3, m4: this.#m4, min: this.#min, max: this.#max };
  }

  /**
   * The features of every sample pushed or merged so far.
   *
   * @example
   * ```ts
   * import { FeatureAccumulator } from '@outpost/edge-aggregate';
   * const f = new FeatureAccumulator().push(new Float32Array([0, 4])).result();
   * f.peakToPeak; // 4
   * f.std;        // 2
   * ```
   */
  result(): TimeFeatures {
    return featuresOf(this.state());
  }

  #combine(nb: number, meanB: number, m2b: number, m3b: number, m4b: number, minB: number, maxB: number): void {
    const na = this.#n;
    if (minB < this.#min) this.#min = minB;
    if (maxB > this.#max) this.#max = maxB;
    if (na === 0) {
      this.#n = nb;
      this.#mean = meanB;
      this.#m2 = m2b;
      this.#m3 = m3b;
      this.#m4 = m4b;
      return;
    }
    const n = na + nb;
    const delta = meanB - this.#mean;
    const dn = delta / n;
    const m2a = this.#m2;
    const m3a = this.#m3;
    // Pébay 2008 eq. 2.1 (mean), 2.2 (m2), and the m3/m4 updates of §2.
    this.#m4 =
      this.#m4 + m4b +
      delta * dn * dn * dn * na * nb * (na * na - na * nb + nb * nb) +
      6 * dn * dn * (na * na * m2b + nb * nb * m2a) +
      4 * dn * (na * m3b - nb * m3a);
    this.#m3 = m3a + m3b + delta * dn * dn * na * nb * (na - nb) + 3 * dn * (na * m2b - nb * m2a);
    this.#m2 = m2a + m2b + delta * dn * na * nb;
    this.#mean += dn * nb;
    this.#n = n;
  }
}

/**
 * Features of one buffer (or of one channel of an interleaved buffer), in one pass.
 *
 * @throws {TypeError} when `samples` is not a Float32Array/Float64Array.
 * @throws {RangeError} for a bad offset/stride/count.
 * @example
 * ```ts
 * import { timeFeatures } from '@outpost/edge-aggregate';
 * const f = timeFeatures(new Float32Array([1, -1, 1, -1]));
 * f.rms;         // 1
 * f.crestFactor; // 1
 * f.kurtosis;    // 1
 * ```
 */
export function timeFeatures(samples: Samples, options?: StrideOptions): TimeFeatures {
  return new FeatureAccumulator().push(samples, options).result();
}

/**
 * Features of every channel of interleaved multi-channel data (`x0,y0,z0,x1,y1,z1,…`),
 * read in place with a stride; a trailing incomplete frame is ignored.
 *
 * @throws {TypeError} when `samples` is not a Float32Array/Float64Array or `channels` not a number.
 * @throws {RangeError} when `channels` is not a positive integer.
 * @example
 * ```ts
 * import { interleavedFeatures } from '@outpost/edge-aggregate';
 * const [x, y] = interleavedFeatures(new Float32Array([1, 5, 3, 7]), 2);
 * x?.mean; // 2
 * y?.mean; // 6
 * ```
 */
export function interleavedFeatures(samples: Samples, channels: number): TimeFeatures[] {
  assertSamples('samples', samples);
  assertInt('channels', channels, 1, 1 << 16);
  const frames = Math.floor(samples.length / channels);
  const out: TimeFeatures[] = [];
  for (let ch = 0; ch < channels; ch++) out.push(timeFeatures(samples, { offset: ch, stride: channels, count: frames }));
  return out;
}

/** @internal Features from a moment state. */
export function featuresOf(s: MomentState): TimeFeatures {
  const n = s.count;
  if (n === 0) {
    return { count: 0, min: NaN, max: NaN, mean: NaN, variance: NaN, std: NaN, rms: NaN, peak: NaN, peakToPeak: NaN, crestFactor: NaN, skewness: NaN, kurtosis: NaN };
  }
  const variance = s.m2 / n;
  const rms = Math.sqrt(s.mean * s.mean + variance);
  const peak = Math.max(Math.abs(s.min), Math.abs(s.max));
  return {
    count: n,
    min: s.min,
    max: s.max,
    mean: s.mean,
    variance,
    std: Math.sqrt(variance),
    rms,
    peak,
    peakToPeak: s.max - s.min,
    crestFactor: rms > 0 ? peak / rms : NaN,
    skewness: s.m2 > 0 ? (Math.sqrt(n) * s.m3) / (s.m2 * Math.sqrt(s.m2)) : NaN,
    kurtosis: s.m2 > 0 ? (n * s.m4) / (s.m2 * s.m2) : NaN,
  };
}

function strideOf(length: number, options: StrideOptions | undefined): { offset: number; stride: number; count: number } {
  if (options === undefined) return { offset: 0, stride: 1, count: length };
  assertObject('options', options);
  const offset = intOption('options.offset', options.offset, 0, 0);
  const stride = intOption('options.stride', options.stride, 1, 1);
  const fit = offset < length ? Math.floor((length - 1 - offset) / stride) + 1 : 0;
  const count = intOption('options.count', options.count, fit, 0);
  if (count > fit) {
    throw new RangeError(`options.count: expected at most ${fit} samples from offset ${offset} at stride ${stride} in ${length}, got ${count}`);
  }
  return { offset, stride, count };
}

function checkState(s: MomentState): MomentState {
  assertObject('state', s);
  const { count, mean, m2, m3, m4, min, max } = s;
  for (const [k, v] of Object.entries({ count, mean, m2, m3, m4, min, max })) {
    if (typeof v !== 'number') throw new TypeError(`state.${k}: expected a number, got ${typeof v}`);
  }
  const ok =
    Number.isInteger(count) && count >= 0 &&
    (count === 0 || (Number.isFinite(mean) && m2 >= 0 && m4 >= 0 && min <= max && Number.isFinite(m3)));
  if (!ok) throw new EdgeAggregateError('STATE_INVALID', `state: inconsistent moment state (count ${count}, m2 ${m2}, min ${min}, max ${max})`);
  return s;
}
