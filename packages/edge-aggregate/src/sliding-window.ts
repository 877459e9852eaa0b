// Sliding windows that advance one frame at a time: the last N frames, or the frames with a
// timestamp in (t − size, t].
//
// The moments of the window are kept with the two-stacks sliding-window aggregation (SWAG; see
// Tangwongsan, Hirzel & Schneider, "In-Order Sliding-Window Aggregation in Worst-Case Constant
// Time", VLDB J. 2021, §3 "Two-Stacks") over the mergeable moment state: a "back" aggregate of the
// frames added since the last flip, and for every frame of the "front" the aggregate of it and
// all newer front frames. Adding a frame merges one sample into the back (Pébay's update with
// n_b = 1); evicting the oldest pops the front, and when the front is empty the back is flipped
// into suffix aggregates once — O(1) amortised per frame. A query merges the oldest front
// aggregate with the back. Moments are only ever merged, never subtracted: removing a sample by
// subtracting its powers cancels catastrophically under a DC offset.
import { EdgeAggregateError } from './errors.js';
import type { TimeFeatures } from './features.js';
import { assertFunction, assertInt, assertNumber, assertObject, assertSamples, intOption, type Samples } from './validate.js';

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
class MutableFeatures implements TimeFeatures {
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
class MomentFifo {
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

/** Options of {@link SlidingCountWindow}. */
export interface SlidingCountWindowOptions {
  /** Frames in the window: the newest `size` frames. */
  readonly size: number;
  /** Interleaved channels per frame. Default 1. */
  readonly channels?: number;
  /** Emit after every `every`-th frame (1 = every frame). Default 1. */
  readonly every?: number;
}

/** Options of {@link SlidingTimeWindow}. */
export interface SlidingTimeWindowOptions {
  /** Window length in the unit of the timestamps: the window at time t holds the frames with a timestamp in (t − size, t]. */
  readonly size: number;
  /** Interleaved channels per frame. Default 1. */
  readonly channels?: number;
  /** Emit after every `every`-th frame (1 = every frame). Default 1. */
  readonly every?: number;
  /** How far behind the newest timestamp a frame may arrive and still count; frames are held back (reordered) until the watermark passes them. Default 0. */
  readonly allowedLateness?: number;
  /** Time source for {@link SlidingTimeWindow.tick}; same unit and epoch as the timestamps. Default `Date.now`. */
  readonly clock?: () => number;
  /** Initial capacity in frames (the buffer doubles when a window holds more). Default 1024. */
  readonly initialCapacity?: number;
}

/**
 * What a sliding window hands its callback after a frame. **The same object is reused for every
 * emission** (and so are the `features` objects), so the hot loop allocates nothing: read it
 * during the callback, and copy what you keep (`{ ...e.features[0] }`).
 */
export interface SlidingWindowEvent {
  /** Position of the newest frame in the stream: 0, 1, 2, … (for time windows: in timestamp order, late drops not counted). */
  readonly index: number;
  /** Timestamp of the newest frame (time windows); for count windows, equal to `index`. */
  readonly time: number;
  /** Frames in the window now. */
  readonly count: number;
  /** Count windows: the window holds `size` frames. Time windows: at least `size` of time has passed since the first frame, so the window spans its full length. */
  readonly full: boolean;
  /** One entry per channel, over the frames in the window. */
  readonly features: readonly TimeFeatures[];
}

class MutableEvent implements SlidingWindowEvent {
  index = 0;
  time = 0;
  count = 0;
  full = false;
  readonly features: MutableFeatures[];
  constructor(channels: number) {
    this.features = Array.from({ length: channels }, () => new MutableFeatures());
  }
}

/**
 * A sliding window over the last `size` frames, advancing one frame at a time: after every
 * frame (or every `every`-th) the callback gets the features of the newest `size` frames per
 * channel. O(1) amortised per frame, nothing allocated per frame (the event object is reused).
 *
 * @example
 * ```ts
 * import { SlidingCountWindow } from '@outpost/edge-aggregate';
 * const means: number[] = [];
 * const w = new SlidingCountWindow({ size: 3 }, (e) => { means.push(e.features[0]?.mean ?? NaN); });
 * w.push(new Float32Array([1, 2, 3, 4, 5]));
 * means; // [1, 1.5, 2, 3, 4]
 * ```
 */
export class SlidingCountWindow {
  readonly size: number;
  readonly channels: number;
  readonly every: number;
  readonly #fifo: MomentFifo;
  readonly #event: MutableEvent;
  readonly #emit: (e: SlidingWindowEvent) => void;
  #frames = 0;
  #closed = false;

  /**
   * @throws {TypeError} for a non-object `options` or a non-function `onFrame`.
   * @throws {RangeError} for a size, channel count or `every` that is not a positive integer.
   */
  constructor(options: SlidingCountWindowOptions, onFrame: (e: SlidingWindowEvent) => void) {
    assertObject('options', options);
    assertInt('options.size', options.size, 1, 1 << 24);
    this.size = options.size;
    this.channels = intOption('options.channels', options.channels, 1, 1, 1 << 10);
    this.every = intOption('options.every', options.every, 1, 1, 1 << 30);
    if (this.size * this.channels > 1 << 24) throw new RangeError(`options.size: window of ${this.size * this.channels} samples exceeds ${1 << 24}`);
    assertFunction('onFrame', onFrame);
    this.#emit = onFrame;
    this.#fifo = new MomentFifo(this.channels, this.size, false);
    this.#event = new MutableEvent(this.channels);
  }

  /**
   * Push interleaved frames; emits after every (`every`-th) frame.
   *
   * @throws {TypeError} when `chunk` is not a Float32Array/Float64Array.
   * @throws {RangeError} when the chunk length is not a multiple of the channel count.
   * @throws {EdgeAggregateError} `CLOSED` after {@link SlidingCountWindow.flush}.
   * @example
   * ```ts
   * import { SlidingCountWindow } from '@outpost/edge-aggregate';
   * const rms: number[] = [];
   * const w = new SlidingCountWindow({ size: 2, every: 2 }, (e) => { rms.push(e.features[0]?.rms ?? NaN); });
   * w.push(new Float32Array([3, -3, 1, 1]));
   * rms; // [3, 1]
   * ```
   */
  push(chunk: Samples): void {
    assertSamples('chunk', chunk);
    if (this.#closed) throw new EdgeAggregateError('CLOSED', 'SlidingCountWindow: push after flush');
    const ch = this.channels;
    if (chunk.length % ch !== 0) throw new RangeError(`chunk: expected a multiple of ${ch} samples (whole frames), got ${chunk.length}`);
    const fifo = this.#fifo;
    const size = this.size;
    for (let off = 0; off < chunk.length; off += ch) {
      if (fifo.count === size) fifo.evict();
      fifo.push(chunk, off, this.#frames);
      const index = this.#frames++;
      if (this.#frames % this.every === 0) {
        const e = this.#event;
        e.index = index;
        e.time = index;
        e.count = fifo.count;
        e.full = fifo.count === size;
        fifo.query(e.features);
        this.#emit(e);
      }
    }
  }

  /**
   * End of stream; later pushes throw `CLOSED`. Returns the frames in the window.
   *
   * @example
   * ```ts
   * import { SlidingCountWindow } from '@outpost/edge-aggregate';
   * const w = new SlidingCountWindow({ size: 4 }, () => {});
   * w.push(new Float32Array(6));
   * w.flush(); // 4
   * ```
   */
  flush(): number {
    this.#closed = true;
    return this.#fifo.count;
  }
}

/**
 * A sliding window over event time, advancing one frame at a time: after every frame (or every
 * `every`-th), in timestamp order, the callback gets the features of the frames with a
 * timestamp in (t − size, t], t the frame's time. With `allowedLateness`, frames are held back
 * until the watermark (newest time − lateness, or the clock at `tick()`) passes them, so frames
 * arriving out of order within the lateness are placed exactly; a frame older than one already
 * emitted is dropped and counted in `dropped`. O(1) amortised per frame, nothing allocated per
 * frame (the event object is reused; the buffer doubles when a window holds more frames).
 *
 * @example
 * ```ts
 * import { SlidingTimeWindow } from '@outpost/edge-aggregate';
 * const counts: number[] = [];
 * const w = new SlidingTimeWindow({ size: 10, clock: () => 0 }, (e) => { counts.push(e.count); });
 * w.push(new Float32Array(4), 0, 5);  // t = 0, 5, 10, 15: windows (−10, 0], (−5, 5], (0, 10], (5, 15]
 * counts; // [1, 2, 2, 2]
 * w.push(new Float32Array([1]), 12, 1); // older than t = 15, already emitted: dropped
 * w.dropped; // 1
 * ```
 */
export class SlidingTimeWindow {
  readonly size: number;
  readonly channels: number;
  readonly every: number;
  readonly allowedLateness: number;
  readonly #clock: () => number;
  readonly #fifo: MomentFifo;
  readonly #event: MutableEvent;
  readonly #emit: (e: SlidingWindowEvent) => void;
  // Frames waiting for the watermark, sorted by time (stable), from #pHead to #pTail.
  #pTimes: Float64Array;
  #pVals: Float64Array;
  #pHead = 0;
  #pTail = 0;
  #maxTime = -Infinity;
  #lastReleased = -Infinity;
  #firstTime = NaN;
  #frames = 0;
  #dropped = 0;
  #closed = false;

  /**
   * @throws {TypeError} for a non-object `options`, non-number sizes or a non-function `onFrame`/`clock`.
   * @throws {RangeError} for a non-positive size, a negative lateness, or a bad `every`, channel count or capacity.
   */
  constructor(options: SlidingTimeWindowOptions, onFrame: (e: SlidingWindowEvent) => void) {
    assertObject('options', options);
    const { size, allowedLateness = 0, clock = Date.now } = options;
    assertNumber('options.size', size);
    assertNumber('options.allowedLateness', allowedLateness);
    assertFunction('options.clock', clock);
    assertFunction('onFrame', onFrame);
    if (!(size > 0) || !Number.isFinite(size)) throw new RangeError(`options.size: expected a positive finite number, got ${size}`);
    if (!(allowedLateness >= 0) || !Number.isFinite(allowedLateness)) throw new RangeError(`options.allowedLateness: expected a finite number ≥ 0, got ${allowedLateness}`);
    this.size = size;
    this.allowedLateness = allowedLateness;
    this.channels = intOption('options.channels', options.channels, 1, 1, 1 << 10);
    this.every = intOption('options.every', options.every, 1, 1, 1 << 30);
    const capacity = intOption('options.initialCapacity', options.initialCapacity, 1024, 1, 1 << 24);
    this.#clock = clock;
    this.#emit = onFrame;
    this.#fifo = new MomentFifo(this.channels, capacity, true);
    this.#event = new MutableEvent(this.channels);
    this.#pTimes = new Float64Array(allowedLateness > 0 ? 64 : 0);
    this.#pVals = new Float64Array(allowedLateness > 0 ? 64 * this.channels : 0);
  }

  /** Frames dropped so far because they were older than a frame already emitted. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Current watermark: newest time seen (or ticked) minus the allowed lateness. */
  get watermark(): number {
    return this.#maxTime - this.allowedLateness;
  }

  /**
   * Push a chunk of interleaved frames; frame `i` has timestamp `t0 + i * interval`.
   *
   * @throws {TypeError} for a non-sample `chunk` or non-number times.
   * @throws {RangeError} for a chunk that is not whole frames, a non-finite `t0` or a non-positive `interval`.
   * @throws {EdgeAggregateError} `CLOSED` after {@link SlidingTimeWindow.flush}.
   * @example
   * ```ts
   * import { SlidingTimeWindow } from '@outpost/edge-aggregate';
   * const sums: number[] = [];
   * const w = new SlidingTimeWindow({ size: 3, allowedLateness: 2, clock: () => 0 }, (e) => {
   *   const f = e.features[0];
   *   if (f !== undefined) sums.push(f.mean * f.count);
   * });
   * w.push(new Float32Array([1, 2]), 0, 1);  // t = 0, 1: held until the watermark passes them
   * w.push(new Float32Array([8]), 3, 1);     // watermark 1: emits t = 0 and t = 1
   * w.push(new Float32Array([4]), 2, 1);     // late but within the lateness: placed before t = 3
   * w.flush();
   * sums; // [1, 3, 7, 14]
   * ```
   */
  push(chunk: Samples, t0: number, interval: number): void {
    assertSamples('chunk', chunk);
    assertNumber('t0', t0);
    assertNumber('interval', interval);
    if (this.#closed) throw new EdgeAggregateError('CLOSED', 'SlidingTimeWindow: push after flush');
    if (!Number.isFinite(t0)) throw new RangeError(`t0: expected a finite time, got ${t0}`);
    if (!(interval > 0) || !Number.isFinite(interval)) throw new RangeError(`interval: expected a positive finite number, got ${interval}`);
    const ch = this.channels;
    if (chunk.length % ch !== 0) throw new RangeError(`chunk: expected a multiple of ${ch} samples (whole frames), got ${chunk.length}`);
    const frames = chunk.length / ch;
    const direct = this.allowedLateness === 0;
    for (let i = 0; i < frames; i++) {
      const t = t0 + i * interval;
      if (t < this.#lastReleased) {
        this.#dropped++;
        continue;
      }
      if (t > this.#maxTime) this.#maxTime = t;
      if (direct) this.#release(chunk, i * ch, t);
      else {
        this.#hold(chunk, i * ch, t);
        this.#releaseUpTo(this.watermark);
      }
    }
  }

  /**
   * Advance the watermark to the injected clock (`now − allowedLateness`), releasing held frames
   * the watermark passed.
   *
   * @throws {TypeError} when `now` is not a number.
   * @example
   * ```ts
   * import { SlidingTimeWindow } from '@outpost/edge-aggregate';
   * let now = 0;
   * const times: number[] = [];
   * const w = new SlidingTimeWindow({ size: 100, allowedLateness: 50, clock: () => now }, (e) => { times.push(e.time); });
   * w.push(new Float32Array([1, 1]), 10, 10); // t = 10, 20: watermark −30, both held
   * now = 65;
   * w.tick();                                // watermark 15
   * times; // [10]
   * ```
   */
  tick(now: number = this.#clock()): void {
    assertNumber('now', now);
    if (now > this.#maxTime) this.#maxTime = now;
    this.#releaseUpTo(this.watermark);
  }

  /**
   * End of stream: releases every held frame in order; later pushes throw `CLOSED`.
   *
   * @example
   * ```ts
   * import { SlidingTimeWindow } from '@outpost/edge-aggregate';
   * const n: number[] = [];
   * const w = new SlidingTimeWindow({ size: 100, allowedLateness: 1000, clock: () => 0 }, (e) => { n.push(e.count); });
   * w.push(new Float32Array(3), 0, 10);
   * n.length; // 0
   * w.flush();
   * n; // [1, 2, 3]
   * ```
   */
  flush(): void {
    this.#closed = true;
    this.#releaseUpTo(Infinity);
  }

  /** Insert a frame into the pending buffer, keeping it sorted by time (stable). */
  #hold(src: Samples, off: number, t: number): void {
    const ch = this.channels;
    if (this.#pTail === this.#pTimes.length) {
      const n = this.#pTail - this.#pHead;
      if (n > 0 && 2 * n <= this.#pTimes.length) {
        // Compact in place: the released prefix is at least half the buffer.
        this.#pTimes.copyWithin(0, this.#pHead, this.#pTail);
        this.#pVals.copyWithin(0, this.#pHead * ch, this.#pTail * ch);
      } else {
        const cap = Math.max(64, 2 * this.#pTimes.length);
        const times = new Float64Array(cap);
        const vals = new Float64Array(cap * ch);
        times.set(this.#pTimes.subarray(this.#pHead, this.#pTail));
        vals.set(this.#pVals.subarray(this.#pHead * ch, this.#pTail * ch));
        this.#pTimes = times;
        this.#pVals = vals;
      }
      this.#pHead = 0;
      this.#pTail = n;
    }
    const times = this.#pTimes;
    const vals = this.#pVals;
    let pos = this.#pTail;
    if (pos > this.#pHead && (times[pos - 1] as number) > t) {
      // Out of order: binary search for the first time > t, then shift the tail up by one.
      let lo = this.#pHead;
      let hi = pos;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((times[mid] as number) <= t) lo = mid + 1;
        else hi = mid;
      }
      times.copyWithin(lo + 1, lo, pos);
      vals.copyWithin((lo + 1) * ch, lo * ch, pos * ch);
      pos = lo;
    }
    times[pos] = t;
    for (let c = 0; c < ch; c++) vals[pos * ch + c] = src[off + c] as number;
    this.#pTail++;
  }

  #releaseUpTo(watermark: number): void {
    const ch = this.channels;
    while (this.#pHead < this.#pTail && (this.#pTimes[this.#pHead] as number) <= watermark) {
      const i = this.#pHead++;
      this.#release(this.#pVals, i * ch, this.#pTimes[i] as number);
    }
    if (this.#pHead === this.#pTail) this.#pHead = this.#pTail = 0;
  }

  #release(src: Samples, off: number, t: number): void {
    const fifo = this.#fifo;
    const from = t - this.size;
    while (fifo.count > 0 && fifo.oldestTime() <= from) fifo.evict();
    fifo.push(src, off, t);
    this.#lastReleased = t;
    if (Number.isNaN(this.#firstTime)) this.#firstTime = t;
    const index = this.#frames++;
    if (this.#frames % this.every === 0) {
      const e = this.#event;
      e.index = index;
      e.time = t;
      e.count = fifo.count;
      e.full = t - this.#firstTime >= this.size;
      fifo.query(e.features);
      this.#emit(e);
    }
  }
}
