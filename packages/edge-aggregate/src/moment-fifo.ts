// The moment FIFO behind the sliding windows (sliding-window.ts).
//
// The moments of a window are kept with the two-stacks sliding-window aggregation (SWAG; see
// Tangwongsan, Hirzel & Schneider, "In-Order Sliding-Window Aggregation in Worst-Case Constant
// Time", VLDB J. 2021, §3 "Two-Stacks") over the mergeable moment state: a "back" aggregate of the
// frames added since the last flip, and for every frame of the "front" the aggregate of it and
// all newer front frames. Adding a frame merges one sample into the back (Pébay's update with
// n_b = 1); evicting the oldest pops the front, and when the front is empty the back is flipped
// into suffix aggregates once — O(1) amortised per frame. A query merges the oldest front
// aggregate with the back. Moments are only ever merged, never subtracted: removing a sample by
// subtracting its powers cancels catastrophically under a DC offset.
import type { TimeFeatures } from './features.js';
import type { Samples } from './validate.js';

/** Numbers per moment state: count, mean, m2, m3, m4, min, max. */
const S = 7;

/** Pébay (2008) pairwise update of the state at `a[o…o+6]` with (nb, meanB, m2b, m3b, m4b, minB, maxB). */
function combine(a: Float64Array, o: number, nb: number, meanB: number, m2b: number, m3b: number, m4b: number, minB: number, maxB: number): void {
  const na = a[o] as number;
  if (minB < (a[o + 5] as number)) a[o + 5] = minB;
  if (maxB > (a[o + 6] as number)) a[o + 6] = maxB;
  if (na === 0) {
    a[o] = nb;
    a[o + 1] = meanB;
    a[o + 2] = m2b;
    a[o + 3] = m3b;
    a[o + 4] = m4b;
    return;
  }
  const n = na + nb;
  const delta = meanB - (a[o + 1] as number);
  const dn = delta / n;
  const m2a = a[o + 2] as number;
  const m3a = a[o + 3] as number;
  a[o + 4] = (a[o + 4] as number) + m4b +
    delta * dn * dn * dn * na * nb * (na * na - na * nb + nb * nb) +
    6 * dn * dn * (na * na * m2b + nb * nb * m2a) +
    4 * dn * (na * m3b - nb * m3a);
  a[o + 3] = m3a + m3b + delta * dn * dn * na * nb * (na - nb) + 3 * dn * (na * m2b - nb * m2a);
  a[o + 2] = m2a + m2b + delta * dn * na * nb;
  a[o + 1] = (a[o + 1] as number) + dn * nb;
  a[o] = n;
}

function clear(a: Float64Array, o: number): void {
  a[o] = 0;
  a[o + 1] = 0;
  a[o + 2] = 0;
  a[o + 3] = 0;
  a[o + 4] = 0;
  a[o + 5] = Infinity;
  a[o + 6] = -Infinity;
}

/** A TimeFeatures object that the window rewrites in place. */
export class MutableFeatures implements TimeFeatures {
  count = 0;
  min = NaN;
  max = NaN;
  mean = NaN;
  variance = NaN;
  std = NaN;
  rms = NaN;
  peak = NaN;
  peakToPeak = NaN;
  crestFactor = NaN;
  skewness = NaN;
  kurtosis = NaN;

  /** Same formulas as `featuresOf` in features.ts. */
  set(s: Float64Array, o: number): void {
    const n = s[o] as number;
    const mean = s[o + 1] as number;
    const m2 = s[o + 2] as number;
    const min = s[o + 5] as number;
    const max = s[o + 6] as number;
    this.count = n;
    if (n === 0) {
      this.min = this.max = this.mean = this.variance = this.std = this.rms = NaN;
      this.peak = this.peakToPeak = this.crestFactor = this.skewness = this.kurtosis = NaN;
      return;
    }
    const variance = m2 / n;
    const rms = Math.sqrt(mean * mean + variance);
    const peak = Math.max(Math.abs(min), Math.abs(max));
    this.min = min;
    this.max = max;
    this.mean = mean;
    this.variance = variance;
    this.std = Math.sqrt(variance);
    this.rms = rms;
    this.peak = peak;
    this.peakToPeak = max - min;
    this.crestFactor = rms > 0 ? peak / rms : NaN;
    this.skewness = m2 > 0 ? (Math.sqrt(n) * (s[o + 3] as number)) / (m2 * Math.sqrt(m2)) : NaN;
    this.kurtosis = m2 > 0 ? (n * (s[o + 4] as number)) / (m2 * m2) : NaN;
  }
}

/** The FIFO of frames with two-stacks moment aggregation, per channel. Internal. */
export class MomentFifo {
  readonly channels: number;
  #cap: number;
  readonly #growable: boolean;
  #vals: Float64Array; // cap × channels raw samples
  #times: Float64Array; // cap timestamps
  #front: Float64Array; // cap × channels × S suffix aggregates of the front
  readonly #back: Float64Array; // channels × S aggregate of the back
  readonly #tmp: Float64Array; // channels × S query scratch
  #head = 0;
  #nFront = 0;
  #nBack = 0;

  constructor(channels: number, capacity: number, growable: boolean) {
    this.channels = channels;
    this.#cap = capacity;
    this.#growable = growable;
    this.#vals = new Float64Array(capacity * channels);
    this.#times = new Float64Array(capacity);
    this.#front = new Float64Array(capacity * channels * S);
    this.#back = new Float64Array(channels * S);
    this.#tmp = new Float64Array(channels * S);
    for (let c = 0; c < channels; c++) clear(this.#back, c * S);
  }

  get count(): number {
    return this.#nFront + this.#nBack;
  }

  /** Timestamp of the oldest frame (undefined behaviour when empty). */
  oldestTime(): number {
    return this.#times[this.#head] as number;
  }

  /** Append the frame `src[off … off + channels)` with time `t`. */
  push(src: Samples, off: number, t: number): void {
    if (this.count === this.#cap) this.#grow();
    const ch = this.channels;
    const pos = (this.#head + this.count) % this.#cap;
    this.#times[pos] = t;
    const vals = this.#vals;
    const back = this.#back;
    for (let c = 0; c < ch; c++) {
      const x = src[off + c] as number;
      vals[pos * ch + c] = x;
      combine(back, c * S, 1, x, 0, 0, 0, x, x);
    }
    this.#nBack++;
  }

  /** Drop the oldest frame. */
  evict(): void {
    if (this.#nFront === 0) this.#flip();
    this.#head = (this.#head + 1) % this.#cap;
    this.#nFront--;
  }

  /** Write the features of the whole window, one per channel. */
  query(out: readonly MutableFeatures[]): void {
    const ch = this.channels;
    const tmp = this.#tmp;
    const back = this.#back;
    const front = this.#front;
    for (let c = 0; c < ch; c++) {
      const o = c * S;
      if (this.#nFront > 0) {
        const f = (this.#head * ch + c) * S;
        for (let k = 0; k < S; k++) tmp[o + k] = front[f + k] as number;
        if (this.#nBack > 0) combine(tmp, o, back[o] as number, back[o + 1] as number, back[o + 2] as number, back[o + 3] as number, back[o + 4] as number, back[o + 5] as number, back[o + 6] as number);
        (out[c] as MutableFeatures).set(tmp, o);
      } else {
        (out[c] as MutableFeatures).set(back, o);
      }
    }
  }

  /** Move the back into the front as suffix aggregates, newest first (each merges one sample). */
  #flip(): void {
    const ch = this.channels;
    const cap = this.#cap;
    const vals = this.#vals;
    const front = this.#front;
    const first = (this.#head + this.#nFront) % cap; // oldest back frame
    let next = -1;
    for (let i = this.#nBack - 1; i >= 0; i--) {
      const pos = (first + i) % cap;
      for (let c = 0; c < ch; c++) {
        const o = (pos * ch + c) * S;
        const x = vals[pos * ch + c] as number;
        if (next < 0) {
          clear(front, o);
        } else {
          const p = (next * ch + c) * S;
          for (let k = 0; k < S; k++) front[o + k] = front[p + k] as number;
        }
        combine(front, o, 1, x, 0, 0, 0, x, x);
      }
      next = pos;
    }
    this.#nFront += this.#nBack;
    this.#nBack = 0;
    for (let c = 0; c < ch; c++) clear(this.#back, c * S);
  }

  /** Double the capacity (time windows only), unrolling the ring so the oldest frame is at 0. */
  #grow(): void {
    if (!this.#growable) throw new Error('MomentFifo: full'); // unreachable: count windows evict first
    const ch = this.channels;
    const cap = this.#cap;
    const n = this.count;
    const vals = new Float64Array(2 * cap * ch);
    const times = new Float64Array(2 * cap);
    const front = new Float64Array(2 * cap * ch * S);
    for (let i = 0; i < n; i++) {
      const pos = (this.#head + i) % cap;
      times[i] = this.#times[pos] as number;
      vals.set(this.#vals.subarray(pos * ch, (pos + 1) * ch), i * ch);
      if (i < this.#nFront) front.set(this.#front.subarray(pos * ch * S, (pos + 1) * ch * S), i * ch * S);
    }
    this.#vals = vals;
    this.#times = times;
    this.#front = front;
    this.#cap = 2 * cap;
    this.#head = 0;
  }
}
