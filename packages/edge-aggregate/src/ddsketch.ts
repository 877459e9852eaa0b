// DDSketch: quantiles with a relative-error guarantee, mergeable across windows and gateways
// (Masson, Rim & Lee, "DDSketch: A Fast and Fully-Mergeable Quantile Sketch with Relative-Error
// Guarantees", PVLDB 12(12), 2019). Value x > 0 goes to bucket i = ⌈log_γ x⌉, γ = (1+α)/(1−α);
// every value in bucket i is within α of 2γ^i/(γ+1). Negative values mirror into a second store.
import { EdgeAggregateError } from './errors.js';
import { decodeSketch, encodeSketch, type SketchStoreState } from './ddsketch-proto.js';
import { assertInt, assertNumber, assertObject, assertSamples, type Samples } from './validate.js';

/**
 * Smallest magnitude kept apart from zero (2^-1022, the smallest normal double, as Datadog's
 * mapping bounds it): every normal value keeps its relative accuracy; only subnormals count as 0.
 */
const MIN_POSITIVE = 2 ** -1022;

/** The plain-data state of a {@link DDSketch} (see {@link DDSketch.toState}). */
export interface DDSketchState {
  readonly relativeAccuracy: number;
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  readonly zeroCount: number;
  readonly positive: { readonly offset: number; readonly counts: Float64Array | readonly number[] };
  readonly negative: { readonly offset: number; readonly counts: Float64Array | readonly number[] };
}

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

  merge(o: SketchStoreState): void {
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
   * Datadog's DDSketch protobuf encoding (the `ddsketch.proto` of sketches-go, read by
   * `@datadog/sketches-js` `DDSketch.fromProto` and the Datadog agent): the mapping, both stores
   * and the zero count. The protobuf has no count, sum, min or max; {@link DDSketch.fromProto}
   * derives them from the buckets.
   *
   * @example
   * ```ts
   * import { DDSketch } from '@outpost/edge-aggregate';
   * const bytes = new DDSketch().add(1).add(10).toProto();
   * DDSketch.fromProto(bytes).count; // 2
   * ```
   */
  toProto(): Uint8Array {
    return encodeSketch({ gamma: this.#gamma, indexOffset: 0, positive: this.#pos, negative: this.#neg, zeroCount: this.#zero });
  }

  /**
   * Rebuilds a sketch from Datadog's protobuf encoding (ours or `@datadog/sketches-js`'s
   * `toProto()`), so sketches made on different gateways merge in one place. Count comes from
   * the buckets; min, max and sum are estimated from the bucket values (within α).
   *
   * @throws {TypeError} for a non-Uint8Array.
   * @throws {EdgeAggregateError} `STATE_INVALID` for malformed bytes, a non-logarithmic mapping,
   * or more than `maxBytes` (default 4 MiB) / `maxBins` (default 100,000 per store).
   * @example
   * ```ts
   * import { DDSketch } from '@outpost/edge-aggregate';
   * const s = DDSketch.fromProto(new DDSketch({ relativeAccuracy: 0.02 }).add(5).toProto());
   * s.relativeAccuracy.toFixed(2); // '0.02'
   * ```
   */
  static fromProto(bytes: Uint8Array, limits: { readonly maxBytes?: number; readonly maxBins?: number } = {}): DDSketch {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes: expected a Uint8Array');
    assertObject('limits', limits);
    const maxBytes = limits.maxBytes ?? 4 << 20;
    const maxBins = limits.maxBins ?? 100_000;
    assertInt('limits.maxBytes', maxBytes, 1, 2 ** 31);
    assertInt('limits.maxBins', maxBins, 1, 2 ** 24);
    const st = decodeSketch(bytes, { maxBytes, maxBins });
    const alpha = (st.gamma - 1) / (st.gamma + 1);
    if (!(alpha > 0 && alpha < 1)) throw new EdgeAggregateError('STATE_INVALID', `DDSketch protobuf: gamma ${st.gamma} gives no relative accuracy in (0, 1)`);
    const s = new DDSketch({ relativeAccuracy: alpha });
    const shift = -st.indexOffset; // our index = theirs − indexOffset
    s.#pos.merge({ offset: st.positive.offset + shift, counts: st.positive.counts });
    s.#neg.merge({ offset: st.negative.offset + shift, counts: st.negative.counts });
    s.#zero = st.zeroCount;
    s.#count = s.#pos.total + s.#neg.total + st.zeroCount;
    s.#restoreSummary();
    return s;
  }

  /**
   * The complete state as plain data (numbers and Float64Arrays), for CBOR (`cbor-x`
   * `encode(sketch.toState())`) or any structured encoding: unlike the protobuf it keeps the
   * exact count, sum, min and max.
   *
   * @example
   * ```ts
   * import { DDSketch } from '@outpost/edge-aggregate';
   * const s = DDSketch.fromState(new DDSketch().add(-2).add(3).toState());
   * [s.count, s.min, s.max, s.sum]; // [2, -2, 3, 1]
   * ```
   */
  toState(): DDSketchState {
    const copy = (st: DenseStore): { offset: number; counts: Float64Array } => ({ offset: st.offset, counts: st.counts.slice() });
    return {
      relativeAccuracy: this.relativeAccuracy, count: this.#count, sum: this.#sum, min: this.#min, max: this.#max,
      zeroCount: this.#zero, positive: copy(this.#pos), negative: copy(this.#neg),
    };
  }

  /**
   * Rebuilds a sketch from {@link DDSketch.toState} output (after a CBOR round trip, say).
   *
   * @throws {TypeError} for a wrong shape; {@link EdgeAggregateError} `STATE_INVALID` for
   * counts that are negative or not finite, a count that does not add up, or more than
   * `maxBins` (default 100,000) bins per store.
   */
  static fromState(state: DDSketchState, limits: { readonly maxBins?: number } = {}): DDSketch {
    assertObject('state', state);
    const maxBins = limits.maxBins ?? 100_000;
    const s = new DDSketch({ relativeAccuracy: state.relativeAccuracy });
    const invalid = (what: string): EdgeAggregateError => new EdgeAggregateError('STATE_INVALID', `DDSketch state: ${what}`);
    for (const [name, store, into] of [['positive', state.positive, s.#pos], ['negative', state.negative, s.#neg]] as const) {
      assertObject(`state.${name}`, store);
      if (!(store.counts instanceof Float64Array) && !Array.isArray(store.counts)) throw new TypeError(`state.${name}.counts: expected a Float64Array or an array`);
      assertInt(`state.${name}.offset`, store.offset, -(2 ** 31), 2 ** 31);
      if (store.counts.length > maxBins) throw invalid(`${name} has ${store.counts.length} bins, over maxBins ${maxBins}`);
      const counts = Float64Array.from(store.counts as ArrayLike<number>);
      if (counts.some((c) => !Number.isFinite(c) || c < 0)) throw invalid(`${name} has a count that is negative or not finite`);
      into.merge({ offset: store.offset, counts });
    }
    for (const k of ['count', 'sum', 'zeroCount', 'min', 'max'] as const) assertNumber(`state.${k}`, state[k]);
    if (!(state.zeroCount >= 0) || !Number.isFinite(state.zeroCount)) throw invalid('zeroCount is negative or not finite');
    s.#zero = state.zeroCount;
    s.#count = s.#pos.total + s.#neg.total + s.#zero;
    if (Math.abs(s.#count - state.count) > 1e-9 * Math.max(1, state.count)) throw invalid(`count ${state.count} does not match the buckets (${s.#count})`);
    s.#sum = state.sum;
    s.#min = s.#count === 0 ? Infinity : state.min;
    s.#max = s.#count === 0 ? -Infinity : state.max;
    return s;
  }

  /** Sum, min and max estimated from the buckets (after decoding a protobuf that lacks them). */
  #restoreSummary(): void {
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    const visit = (store: DenseStore, sign: number): void => {
      for (let k = 0; k < store.counts.length; k++) {
        const c = store.counts[k] as number;
        if (c <= 0) continue;
        const v = sign * this.#value(store.offset + k);
        sum += c * v;
        if (v < min) min = v;
        if (v > max) max = v;
      }
    };
    visit(this.#pos, 1);
    visit(this.#neg, -1);
    if (this.#zero > 0) {
      if (0 < min) min = 0;
      if (0 > max) max = 0;
    }
    this.#sum = sum;
    this.#min = min;
    this.#max = max;
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
