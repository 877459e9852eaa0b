// DDSketch: quantiles with a relative-error guarantee, mergeable across windows and gateways
// (Masson, Rim & Lee, "DDSketch: A Fast and Fully-Mergeable Quantile Sketch with Relative-Error
// Guarantees", PVLDB 12(12), 2019). Value x > 0 goes to bucket i = ⌈log_γ x⌉, γ = (1+α)/(1−α);
// every value in bucket i is within α of 2γ^i/(γ+1). Negative values mirror into a second store.
import { EdgeAggregateError } from './errors.js';
import { assertInt, assertNumber, assertObject, assertSamples, type Samples } from './validate.js';

/** Smallest magnitude kept apart from zero; smaller values count as 0. */
const MIN_POSITIVE = 1e-9;

class DenseStore {
  counts = new Float64Array(0);
  offset = 0; // bucket index of counts[0]
  total = 0;

  add(i: number, w: number): void {
    if (this.counts.length === 0) {
      this.counts = new Float64Array(64);
      this.offset = i - 32;
    } else if (i < this.offset || i >= this.offset + this.counts.length) {
      const lo = Math.min(i, this.offset);
      const hi = Math.max(i, this.offset + this.counts.length - 1);
      const size = Math.max(this.counts.length * 2, hi - lo + 1 + 32);
      const next = new Float64Array(size);
      const newOffset = i < this.offset ? lo - (size - (hi - lo + 1)) : this.offset;
      next.set(this.counts, this.offset - newOffset);
      this.counts = next;
      this.offset = newOffset;
    }
    this.counts[i - this.offset] = (this.counts[i - this.offset] as number) + w;
    this.total += w;
  }

  merge(o: DenseStore): void {
    for (let k = 0; k < o.counts.length; k++) {
      const c = o.counts[k] as number;
      if (c > 0) this.add(o.offset + k, c);
    }
  }
}

/**
 * A DDSketch with relative accuracy `α` (default 1 %): `quantile(q)` is within a factor
 * `1 ± α` of the exact value at rank `⌊q·(n−1)⌋`, for any distribution, and sketches with the
 * same `α` merge exactly. Memory grows with the logarithm of the value range (about 2 100
 * buckets for 1e-9 … 1e9 at α = 1 %), not with the count.
 *
 * @example
 * ```ts
 * import { DDSketch } from '@outpost/edge-aggregate';
 * const s = new DDSketch({ relativeAccuracy: 0.01 });
 * for (let i = 1; i <= 1000; i++) s.add(i);
 * const p99 = s.quantile(0.99);
 * Math.abs(p99 / 990 - 1) <= 0.01; // true
 * s.count; // 1000
 * ```
 */
export class DDSketch {
  /** The relative accuracy α. */
  readonly relativeAccuracy: number;
  readonly #gamma: number;
  readonly #lnGamma: number;
  readonly #invLnGamma: number;
  readonly #pos = new DenseStore();
  readonly #neg = new DenseStore();
  #zero = 0;
  #count = 0;
  #sum = 0;
  #min = Infinity;
  #max = -Infinity;

  /**
   * @throws {TypeError} for a non-number accuracy.
   * @throws {RangeError} for an accuracy outside (0, 1).
   */
  constructor(options: { readonly relativeAccuracy?: number } = {}) {
    assertObject('options', options);
    const { relativeAccuracy = 0.01 } = options;
    assertNumber('options.relativeAccuracy', relativeAccuracy);
    if (!(relativeAccuracy > 0 && relativeAccuracy < 1)) throw new RangeError(`options.relativeAccuracy: expected 0 < α < 1, got ${relativeAccuracy}`);
    this.relativeAccuracy = relativeAccuracy;
    this.#gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy);
    this.#lnGamma = Math.log(this.#gamma);
    this.#invLnGamma = 1 / this.#lnGamma;
  }

  /** Number of values added (including merged ones). */
  get count(): number {
    return this.#count;
  }

  /** Exact minimum, maximum and sum. */
  get min(): number {
    return this.#count === 0 ? NaN : this.#min;
  }
  get max(): number {
    return this.#count === 0 ? NaN : this.#max;
  }
  get sum(): number {
    return this.#sum;
  }

  /**
   * Add one value (`weight` times, default 1).
   *
   * @throws {TypeError} for a non-number value or weight.
   * @throws {RangeError} for NaN or an infinite value, or a weight ≤ 0.
   * @example
   * ```ts
   * import { DDSketch } from '@outpost/edge-aggregate';
   * const s = new DDSketch().add(-5).add(0).add(5, 2);
   * s.count;          // 4
   * s.quantile(0);    // -5
   * s.min;            // -5
   * ```
   */
  add(value: number, weight = 1): this {
    assertNumber('value', value);
    assertNumber('weight', weight);
    if (!Number.isFinite(value)) throw new RangeError(`value: expected a finite number, got ${value}`);
    if (!(weight > 0) || !Number.isFinite(weight)) throw new RangeError(`weight: expected a positive number, got ${weight}`);
    this.#insert(value, weight);
    return this;
  }

  /**
   * Add every sample of a buffer; non-finite samples are skipped and counted in the return value.
   *
   * @throws {TypeError} when `samples` is not a Float32Array/Float64Array.
   * @example
   * ```ts
   * import { DDSketch } from '@outpost/edge-aggregate';
   * new DDSketch().addAll(new Float32Array([1, NaN, 2])); // 1
   * ```
   */
  addAll(samples: Samples): number {
    assertSamples('samples', samples);
    let skipped = 0;
    for (let i = 0; i < samples.length; i++) {
      const v = samples[i] as number;
      if (Number.isFinite(v)) this.#insert(v, 1);
      else skipped++;
    }
    return skipped;
  }

  /**
   * Merge another sketch with the same relative accuracy into this one.
   *
   * @throws {TypeError} when `other` is not a DDSketch.
   * @throws {EdgeAggregateError} `INCOMPATIBLE` for a different relative accuracy.
   * @example
   * ```ts
   * import { DDSketch } from '@outpost/edge-aggregate';
   * const a = new DDSketch().add(1);
   * a.merge(new DDSketch().add(100)).count; // 2
   * a.max; // 100
   * ```
   */
  merge(other: DDSketch): this {
    if (!(other instanceof DDSketch)) throw new TypeError('other: expected a DDSketch');
    if (other.relativeAccuracy !== this.relativeAccuracy) {
      throw new EdgeAggregateError('INCOMPATIBLE', `merge: relative accuracy ${other.relativeAccuracy} differs from ${this.relativeAccuracy}`);
    }
    this.#pos.merge(other.#pos);
    this.#neg.merge(other.#neg);
    this.#zero += other.#zero;
    this.#count += other.#count;
    this.#sum += other.#sum;
    if (other.#min < this.#min) this.#min = other.#min;
    if (other.#max > this.#max) this.#max = other.#max;
    return this;
  }

  /**
   * The value at quantile `q` ∈ [0, 1], within relative accuracy α of the exact value at rank
   * `⌊q·(n−1)⌋`; NaN when empty. `quantile(0)` and `quantile(1)` are the exact min and max.
   *
   * @throws {TypeError} for a non-number `q`.
   * @throws {RangeError} for `q` outside [0, 1].
   * @example
   * ```ts
   * import { DDSketch } from '@outpost/edge-aggregate';
   * const s = new DDSketch({ relativeAccuracy: 0.02 });
   * [10, 20, 30, 40, 50].forEach((v) => s.add(v));
   * Math.abs(s.quantile(0.5) / 30 - 1) <= 0.02; // true
   * new DDSketch().quantile(0.5); // NaN
   * ```
   */
  quantile(q: number): number {
    assertNumber('q', q);
    if (!(q >= 0 && q <= 1)) throw new RangeError(`q: expected 0 ≤ q ≤ 1, got ${q}`);
    if (this.#count === 0) return NaN;
    if (q === 0) return this.#min;
    if (q === 1) return this.#max;
    const rank = Math.floor(q * (this.#count - 1));
    let seen = 0;
    const neg = this.#neg;
    for (let k = neg.counts.length - 1; k >= 0; k--) {
      seen += neg.counts[k] as number;
      if (seen > rank) return this.#clamp(-this.#value(neg.offset + k));
    }
    seen += this.#zero;
    if (seen > rank) return 0;
    const pos = this.#pos;
    for (let k = 0; k < pos.counts.length; k++) {
      seen += pos.counts[k] as number;
      if (seen > rank) return this.#clamp(this.#value(pos.offset + k));
    }
    return this.#max;
  }

  #value(i: number): number {
    return (2 * Math.pow(this.#gamma, i)) / (this.#gamma + 1);
  }

  #clamp(v: number): number {
    return v < this.#min ? this.#min : v > this.#max ? this.#max : v;
  }

  #insert(v: number, w: number): void {
    if (v > MIN_POSITIVE) this.#pos.add(Math.ceil(Math.log(v) * this.#invLnGamma), w);
    else if (v < -MIN_POSITIVE) this.#neg.add(Math.ceil(Math.log(-v) * this.#invLnGamma), w);
    else this.#zero += w;
    this.#count += w;
    this.#sum += v * w;
    if (v < this.#min) this.#min = v;
    if (v > this.#max) this.#max = v;
  }
}

/** Options of {@link AnomalyDetector}. */
export interface AnomalyOptions {
  /** Values in the rolling baseline. Default 60. */
  readonly baseline?: number;
  /** Values needed before anything is flagged. Default 10. */
  readonly minBaseline?: number;
  /** |z-score| above which a value is flagged. Default 3. */
  readonly zThreshold?: number;
  /** |modified z-score| (Iglewicz & Hoaglin, 0.6745·(x − median)/MAD) above which a value is flagged. Default 3.5. */
  readonly madThreshold?: number;
  /** Whether flagged values join the baseline (so it adapts to a new regime). Default false. */
  readonly learnAnomalies?: boolean;
}

/** Verdict of {@link AnomalyDetector.check}. */
export interface AnomalyVerdict {
  /** (x − mean) / std of the baseline; NaN before `minBaseline` or for a constant baseline. */
  readonly z: number;
  /** Modified z-score against median and MAD; NaN before `minBaseline` or when MAD is 0. */
  readonly modifiedZ: number;
  readonly zAnomaly: boolean;
  readonly madAnomaly: boolean;
}

/**
 * Z-score and median-absolute-deviation flags over a rolling baseline of recent values (one per
 * window, e.g. the per-second RMS). MAD is robust to the outliers it is looking for.
 *
 * @example
 * ```ts
 * import { AnomalyDetector } from '@outpost/edge-aggregate';
 * const d = new AnomalyDetector({ baseline: 20, minBaseline: 5 });
 * for (const v of [1, 1.1, 0.9, 1, 1.05, 0.95, 1]) d.check(v);
 * d.check(1.02).madAnomaly; // false
 * d.check(3).madAnomaly;    // true
 * d.check(3).zAnomaly;      // true
 * ```
 */
export class AnomalyDetector {
  readonly #ring: Float64Array;
  readonly #scratch: Float64Array;
  readonly #min: number;
  readonly #zT: number;
  readonly #madT: number;
  readonly #learn: boolean;
  #n = 0;
  #head = 0;

  /**
   * @throws {TypeError} for non-object options or non-number fields.
   * @throws {RangeError} for sizes < 2 or non-positive thresholds.
   */
  constructor(options: AnomalyOptions = {}) {
    assertObject('options', options);
    const { baseline = 60, zThreshold = 3, madThreshold = 3.5, learnAnomalies = false } = options;
    assertInt('options.baseline', baseline, 2, 1 << 20);
    const minBaseline = options.minBaseline === undefined ? Math.min(10, baseline) : options.minBaseline;
    assertInt('options.minBaseline', minBaseline, 2, baseline);
    assertNumber('options.zThreshold', zThreshold);
    assertNumber('options.madThreshold', madThreshold);
    if (!(zThreshold > 0) || !(madThreshold > 0)) throw new RangeError(`options: expected positive thresholds, got z ${zThreshold}, MAD ${madThreshold}`);
    if (typeof learnAnomalies !== 'boolean') throw new TypeError(`options.learnAnomalies: expected a boolean, got ${typeof learnAnomalies}`);
    this.#ring = new Float64Array(baseline);
    this.#scratch = new Float64Array(baseline);
    this.#min = minBaseline;
    this.#zT = zThreshold;
    this.#madT = madThreshold;
    this.#learn = learnAnomalies;
  }

  /**
   * Score `value` against the baseline, then (unless flagged and not learning) add it.
   *
   * @throws {TypeError} for a non-number value.
   * @throws {RangeError} for NaN or an infinite value.
   * @example
   * ```ts
   * import { AnomalyDetector } from '@outpost/edge-aggregate';
   * new AnomalyDetector().check(5).zAnomaly; // false (no baseline yet)
   * ```
   */
  check(value: number): AnomalyVerdict {
    assertNumber('value', value);
    if (!Number.isFinite(value)) throw new RangeError(`value: expected a finite number, got ${value}`);
    let z = NaN;
    let modifiedZ = NaN;
    const n = this.#n;
    if (n >= this.#min) {
      const ring = this.#ring;
      let mean = 0;
      for (let i = 0; i < n; i++) mean += ring[i] as number;
      mean /= n;
      let ss = 0;
      for (let i = 0; i < n; i++) ss += ((ring[i] as number) - mean) ** 2;
      const std = Math.sqrt(ss / (n - 1));
      z = std > 0 ? (value - mean) / std : NaN;
      const s = this.#scratch.subarray(0, n);
      s.set(ring.subarray(0, n));
      const median = medianOf(s);
      for (let i = 0; i < n; i++) s[i] = Math.abs((s[i] as number) - median);
      const mad = medianOf(s);
      modifiedZ = mad > 0 ? (0.6745 * (value - median)) / mad : NaN;
    }
    const zAnomaly = Math.abs(z) > this.#zT;
    const madAnomaly = Math.abs(modifiedZ) > this.#madT;
    if (this.#learn || !(zAnomaly || madAnomaly)) {
      this.#ring[this.#head] = value;
      this.#head = (this.#head + 1) % this.#ring.length;
      if (this.#n < this.#ring.length) this.#n++;
    }
    return { z, modifiedZ, zAnomaly, madAnomaly };
  }
}

function medianOf(s: Float64Array): number {
  s.sort();
  const n = s.length;
  const m = n >> 1;
  return n % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
