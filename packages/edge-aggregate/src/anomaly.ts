// Anomaly flags on a scalar stream: a z-score against a rolling baseline and the modified
// z-score on the median absolute deviation (Iglewicz & Hoaglin), which resists outliers.
import { assertInt, assertNumber, assertObject } from './validate.js';

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
