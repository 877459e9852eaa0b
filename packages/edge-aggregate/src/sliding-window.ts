// Sliding windows that advance one frame at a time: the last N frames, or the frames with a
// timestamp in (t − size, t]. The moments of a window live in a MomentFifo (moment-fifo.ts:
// two-stacks sliding-window aggregation over mergeable moment states).
import { EdgeAggregateError } from './errors.js';
import type { TimeFeatures } from './features.js';
import { assertFunction, assertInt, assertNumber, assertObject, assertSamples, intOption, type Samples } from './validate.js';
import { MomentFifo, MutableFeatures } from './moment-fifo.js';

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
