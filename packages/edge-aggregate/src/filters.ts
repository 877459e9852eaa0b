// Filters for report-by-exception and for shaping high-rate signals before summarising:
// deadband, rate limit, RBJ biquads, decimation with an anti-alias Butterworth cascade, LTTB.
import { assertFunction, assertInt, assertNumber, assertObject, assertSamples, intOption, type Samples } from './validate.js';

/** Options of {@link Deadband}; at least one threshold. */
export interface DeadbandOptions {
  /** Report when `|value - last| > absolute`. */
  readonly absolute?: number;
  /** Report when `|value - last| > percent/100 · |last|`. */
  readonly percent?: number;
}

/**
 * Report-by-exception: a value is reported when it moved more than the absolute or the percent
 * deadband away from the last reported value (either threshold suffices). The first value and
 * any change to or from NaN are always reported.
 *
 * @example
 * ```ts
 * import { Deadband } from '@outpost/edge-aggregate';
 * const db = new Deadband({ absolute: 0.5 });
 * [20, 20.3, 20.6, 20.2, 21.2].map((v) => db.update(v)); // [true, false, true, false, true]
 * ```
 */
export class Deadband {
  readonly absolute: number;
  readonly percent: number;
  #last = NaN;
  #started = false;

  /**
   * @throws {TypeError} for non-number thresholds.
   * @throws {RangeError} for negative thresholds or none at all.
   */
  constructor(options: DeadbandOptions) {
    assertObject('options', options);
    const { absolute = Infinity, percent = Infinity } = options;
    assertNumber('options.absolute', absolute);
    assertNumber('options.percent', percent);
    if (absolute < 0 || percent < 0) throw new RangeError(`options: expected thresholds ≥ 0, got absolute ${absolute}, percent ${percent}`);
    if (absolute === Infinity && percent === Infinity) throw new RangeError('options: expected absolute and/or percent');
    this.absolute = absolute;
    this.percent = percent;
  }

  /**
   * Whether `value` should be reported; if so it becomes the new reference.
   *
   * @throws {TypeError} when `value` is not a number.
   * @example
   * ```ts
   * import { Deadband } from '@outpost/edge-aggregate';
   * const db = new Deadband({ percent: 10 });
   * db.update(100); // true
   * db.update(109); // false
   * db.update(111); // true
   * ```
   */
  update(value: number): boolean {
    if (typeof value !== 'number') throw new TypeError(`value: expected a number, got ${typeof value}`);
    const last = this.#last;
    const d = Math.abs(value - last);
    const report = !this.#started || Number.isNaN(value) !== Number.isNaN(last) || d > this.absolute || d > (this.percent / 100) * Math.abs(last);
    if (report) {
      this.#started = true;
      this.#last = value;
    }
    return report;
  }
}

/**
 * At most one report per `interval` on an injected clock.
 *
 * @example
 * ```ts
 * import { RateLimiter } from '@outpost/edge-aggregate';
 * const rl = new RateLimiter({ interval: 1000, clock: () => 0 });
 * [0, 500, 1000, 1200, 2500].map((t) => rl.allow(t)); // [true, false, true, false, true]
 * ```
 */
export class RateLimiter {
  readonly interval: number;
  readonly #clock: () => number;
  #next = -Infinity;

  /**
   * @throws {TypeError} for a non-number interval or a non-function clock.
   * @throws {RangeError} for a negative interval.
   */
  constructor(options: { readonly interval: number; readonly clock?: () => number }) {
    assertObject('options', options);
    const { interval, clock = Date.now } = options;
    assertNumber('options.interval', interval);
    assertFunction('options.clock', clock);
    if (!(interval >= 0)) throw new RangeError(`options.interval: expected a number ≥ 0, got ${interval}`);
    this.interval = interval;
    this.#clock = clock;
  }

  /**
   * Whether a report may go out at `now` (default: the injected clock); if so, the next one
   * is allowed `interval` later.
   *
   * @throws {TypeError} when `now` is not a number.
   * @example
   * ```ts
   * import { RateLimiter } from '@outpost/edge-aggregate';
   * let t = 0;
   * const rl = new RateLimiter({ interval: 10, clock: () => t });
   * rl.allow(); // true
   * rl.allow(); // false
   * ```
   */
  allow(now: number = this.#clock()): boolean {
    assertNumber('now', now);
    if (now < this.#next) return false;
    this.#next = now + this.interval;
    return true;
  }
}

/** Response types of {@link Biquad}. */
export type BiquadType = 'lowpass' | 'highpass' | 'bandpass';

/**
 * A second-order IIR section with the coefficients of R. Bristow-Johnson's "Cookbook formulae
 * for audio EQ biquad filter coefficients" (low-pass, high-pass, band-pass with 0 dB peak
 * gain), run in transposed direct form II. State carries across chunks.
 *
 * @example
 * ```ts
 * import { Biquad } from '@outpost/edge-aggregate';
 * const lp = new Biquad('lowpass', 1000, 100); // fs 1 kHz, f0 100 Hz, Q 1/√2 (Butterworth)
 * Math.round(lp.magnitudeAt(100) * 1000) / 1000; // 0.707
 * Math.round(lp.magnitudeAt(0) * 1e9) / 1e9; // 1
 * ```
 */
export class Biquad {
  readonly #b0: number;
  readonly #b1: number;
  readonly #b2: number;
  readonly #a1: number;
  readonly #a2: number;
  readonly #fs: number;
  #z1 = 0;
  #z2 = 0;

  /**
   * @param q Quality factor; default `1/√2` (maximally flat for low/high-pass).
   * @throws {TypeError} for non-number arguments.
   * @throws {RangeError} for an unknown type, `f0` outside (0, fs/2) or `q ≤ 0`.
   */
  constructor(type: BiquadType, sampleRate: number, f0: number, q: number = Math.SQRT1_2) {
    assertNumber('sampleRate', sampleRate);
    assertNumber('f0', f0);
    assertNumber('q', q);
    if (type !== 'lowpass' && type !== 'highpass' && type !== 'bandpass') {
      if (typeof type !== 'string') throw new TypeError(`type: expected a string, got ${typeof type}`);
      throw new RangeError(`type: expected 'lowpass', 'highpass' or 'bandpass', got '${String(type)}'`);
    }
    if (!(sampleRate > 0) || !Number.isFinite(sampleRate)) throw new RangeError(`sampleRate: expected a positive number, got ${sampleRate}`);
    if (!(f0 > 0 && f0 < sampleRate / 2)) throw new RangeError(`f0: expected 0 < f0 < ${sampleRate / 2} (Nyquist), got ${f0}`);
    if (!(q > 0) || !Number.isFinite(q)) throw new RangeError(`q: expected a positive number, got ${q}`);
    this.#fs = sampleRate;
    const w0 = (2 * Math.PI * f0) / sampleRate;
    const cos = Math.cos(w0);
    const alpha = Math.sin(w0) / (2 * q);
    const a0 = 1 + alpha;
    let b0: number;
    let b1: number;
    let b2: number;
    if (type === 'lowpass') [b0, b1, b2] = [(1 - cos) / 2, 1 - cos, (1 - cos) / 2];
    else if (type === 'highpass') [b0, b1, b2] = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2];
    else [b0, b1, b2] = [alpha, 0, -alpha];
    this.#b0 = b0 / a0;
    this.#b1 = b1 / a0;
    this.#b2 = b2 / a0;
    this.#a1 = (-2 * cos) / a0;
    this.#a2 = (1 - alpha) / a0;
  }

  /**
   * Filter `input` into `output` (default: in place) and return `output`.
   *
   * @throws {TypeError} for non-sample buffers.
   * @throws {RangeError} when `output` is shorter than `input`.
   * @example
   * ```ts
   * import { Biquad } from '@outpost/edge-aggregate';
   * const hp = new Biquad('highpass', 1000, 10);
   * const y = hp.process(new Float32Array(2000).fill(5)); // DC is removed
   * Math.abs(y[1999] ?? 1) < 1e-3; // true
   * ```
   */
  process<T extends Samples>(input: Samples, output?: T): T {
    assertSamples('input', input);
    const out = (output === undefined ? input : output) as T;
    assertSamples('output', out);
    if (out.length < input.length) throw new RangeError(`output: expected at least ${input.length} samples, got ${out.length}`);
    const b0 = this.#b0;
    const b1 = this.#b1;
    const b2 = this.#b2;
    const a1 = this.#a1;
    const a2 = this.#a2;
    let z1 = this.#z1;
    let z2 = this.#z2;
    for (let i = 0; i < input.length; i++) {
      const x = input[i] as number;
      const y = b0 * x + z1;
      z1 = b1 * x - a1 * y + z2;
      z2 = b2 * x - a2 * y;
      out[i] = y;
    }
    this.#z1 = z1;
    this.#z2 = z2;
    return out;
  }

  /**
   * Gain `|H(e^{jω})|` at `f` Hz (for the sample rate given at construction).
   *
   * @example
   * ```ts
   * import { Biquad } from '@outpost/edge-aggregate';
   * Math.round(new Biquad('bandpass', 1000, 50, 2).magnitudeAt(50) * 1e6) / 1e6; // 1
   * ```
   */
  magnitudeAt(f: number): number {
    assertNumber('f', f);
    return this.#gain(f);
  }

  /**
   * Clear the filter state.
   *
   * @example
   * ```ts
   * import { Biquad } from '@outpost/edge-aggregate';
   * const lp = new Biquad('lowpass', 100, 10);
   * lp.process(new Float32Array([1, 1]));
   * lp.reset().process(new Float32Array([0]))[0]; // 0
   * ```
   */
  reset(): this {
    this.#z1 = 0;
    this.#z2 = 0;
    return this;
  }

  #gain(f: number): number {
    const w = (2 * Math.PI * f) / this.#fs;
    const c1 = Math.cos(w);
    const s1 = Math.sin(w);
    const c2 = Math.cos(2 * w);
    const s2 = Math.sin(2 * w);
    // H(z) = (b0 + b1 z⁻¹ + b2 z⁻²) / (1 + a1 z⁻¹ + a2 z⁻²) at z = e^{jω}
    const nr = this.#b0 + this.#b1 * c1 + this.#b2 * c2;
    const ni = -(this.#b1 * s1 + this.#b2 * s2);
    const dr = 1 + this.#a1 * c1 + this.#a2 * c2;
    const di = -(this.#a1 * s1 + this.#a2 * s2);
    return Math.hypot(nr, ni) / Math.hypot(dr, di);
  }
}

/** Options of {@link Decimator}. */
export interface DecimatorOptions {
  /** Input samples per output sample (integer ≥ 1). */
  readonly factor: number;
  /** Input sample rate in Hz. */
  readonly sampleRate: number;
  /** Butterworth order of the anti-alias low-pass (even, 2…16). Default 8. */
  readonly order?: number;
  /** Cut-off as a fraction of the output Nyquist frequency. Default 0.8. */
  readonly cutoff?: number;
}

/**
 * Decimation with anti-alias filtering: a Butterworth low-pass (cascaded RBJ biquads with the
 * Butterworth pole Qs) at `cutoff × output Nyquist`, then every `factor`-th sample. State and
 * phase carry across chunks, so chunking does not change the output. With the defaults, a tone
 * that would alias into the band below the cut-off is attenuated by ≥ 28 dB (8th order, 1.5×
 * the cut-off); raise `order` or lower `cutoff` for more.
 *
 * @example
 * ```ts
 * import { Decimator } from '@outpost/edge-aggregate';
 * const d = new Decimator({ factor: 4, sampleRate: 1000 });
 * d.process(new Float32Array(10)).length; // 3
 * d.process(new Float32Array(10)).length; // 2
 * d.outputRate; // 250
 * ```
 */
export class Decimator {
  readonly factor: number;
  readonly outputRate: number;
  readonly #stages: Biquad[];
  #phase = 0;
  #work = new Float64Array(0); // grows to the largest chunk seen, then reused

  /**
   * @throws {TypeError} for non-object options or non-number fields.
   * @throws {RangeError} for a bad factor, order or cut-off.
   */
  constructor(options: DecimatorOptions) {
    assertObject('options', options);
    const { factor, sampleRate, cutoff = 0.8 } = options;
    assertInt('options.factor', factor, 1, 1 << 20);
    assertNumber('options.sampleRate', sampleRate);
    assertNumber('options.cutoff', cutoff);
    const order = intOption('options.order', options.order, 8, 2, 16);
    if (order % 2 !== 0) throw new RangeError(`options.order: expected an even order, got ${order}`);
    if (!(cutoff > 0 && cutoff <= 1)) throw new RangeError(`options.cutoff: expected a fraction in (0, 1], got ${cutoff}`);
    if (!(sampleRate > 0) || !Number.isFinite(sampleRate)) throw new RangeError(`options.sampleRate: expected a positive number, got ${sampleRate}`);
    this.factor = factor;
    this.outputRate = sampleRate / factor;
    this.#stages = [];
    if (factor > 1) {
      const fc = (cutoff * sampleRate) / (2 * factor);
      for (let k = 1; k <= order / 2; k++) {
        // Butterworth pole pair k: Q = 1 / (2 cos θ), θ = π(2k − 1) / (2·order)
        this.#stages.push(new Biquad('lowpass', sampleRate, fc, 1 / (2 * Math.cos((Math.PI * (2 * k - 1)) / (2 * order)))));
      }
    }
  }

  /**
   * Filter and decimate a chunk; returns the new output samples.
   *
   * @throws {TypeError} when `input` is not a Float32Array/Float64Array.
   * @example
   * ```ts
   * import { Decimator } from '@outpost/edge-aggregate';
   * const y = new Decimator({ factor: 2, sampleRate: 100 }).process(new Float32Array(400).fill(1));
   * Math.round((y[199] ?? 0) * 1e4) / 1e4; // 1
   * ```
   */
  process(input: Samples): Float32Array {
    assertSamples('input', input);
    if (this.#work.length < input.length) this.#work = new Float64Array(input.length);
    const x = this.#work.subarray(0, input.length);
    x.set(input);
    for (const s of this.#stages) s.process(x);
    const first = (this.factor - this.#phase) % this.factor;
    const n = first < x.length ? Math.floor((x.length - 1 - first) / this.factor) + 1 : 0;
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = x[first + i * this.factor] as number;
    this.#phase = (this.#phase + x.length) % this.factor;
    return out;
  }
}

/**
 * Largest-Triangle-Three-Buckets downsampling for plots (S. Steinarsson, "Downsampling Time
 * Series for Visual Representation", 2013): the indexes of `threshold` points that keep the
 * visual shape, always including the first and last. `x` defaults to the sample index.
 *
 * @throws {TypeError} for non-sample `y`/`x` or a non-number threshold.
 * @throws {RangeError} for a threshold < 2 or `x` of another length.
 * @example
 * ```ts
 * import { lttb } from '@outpost/edge-aggregate';
 * const y = new Float32Array([0, 0, 0, 9, 0, 0, 0, 0, 0, 0]);
 * Array.from(lttb(y, 4)); // [0, 3, 5, 9]
 * ```
 */
export function lttb(y: Samples, threshold: number, x?: Samples): Uint32Array {
  assertSamples('y', y);
  assertInt('threshold', threshold, 2);
  if (x !== undefined) {
    assertSamples('x', x);
    if (x.length !== y.length) throw new RangeError(`x: expected ${y.length} values like y, got ${x.length}`);
  }
  const n = y.length;
  const X = (i: number): number => (x === undefined ? i : (x[i] as number));
  if (threshold >= n) return Uint32Array.from({ length: n }, (_, i) => i);
  const out = new Uint32Array(threshold);
  const every = (n - 2) / (threshold - 2);
  let a = 0;
  out[0] = 0;
  for (let i = 0; i < threshold - 2; i++) {
    // Average of the next bucket.
    const ns = Math.floor((i + 1) * every) + 1;
    const ne = Math.min(Math.floor((i + 2) * every) + 1, n);
    let ax = 0;
    let ay = 0;
    for (let j = ns; j < ne; j++) {
      ax += X(j);
      ay += y[j] as number;
    }
    ax /= ne - ns;
    ay /= ne - ns;
    const s = Math.floor(i * every) + 1;
    const e = Math.floor((i + 1) * every) + 1;
    const px = X(a);
    const py = y[a] as number;
    let best = -1;
    let pick = s;
    for (let j = s; j < e; j++) {
      const area = Math.abs((px - ax) * ((y[j] as number) - py) - (px - X(j)) * (ay - py));
      if (area > best) {
        best = area;
        pick = j;
      }
    }
    out[i + 1] = pick;
    a = pick;
  }
  out[threshold - 1] = n - 1;
  return out;
}
