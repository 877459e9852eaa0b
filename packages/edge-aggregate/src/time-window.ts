// Tumbling and hopping windows over event time, with a watermark for late data.
//
// Window k covers [k·hop, k·hop + size) on the caller's time axis (ms, or any unit used
// consistently). The watermark is the largest timestamp seen (or the injected clock at tick())
// minus the allowed lateness; a window is emitted once the watermark reaches its end, and a
// sample arriving for a window already emitted is dropped and counted. Each open window holds one
// FeatureAccumulator per channel, so out-of-order samples within the lateness are merged exactly
// and chunks are consumed in place through offset/stride/count.
import { EdgeAggregateError } from './errors.js';
import { FeatureAccumulator, type TimeFeatures } from './features.js';
import { assertFunction, assertNumber, assertObject, assertSamples, intOption, type Samples } from './validate.js';

/** Options of {@link TimeWindow}. */
export interface TimeWindowOptions {
  /** Window length, in the unit of the timestamps (typically ms). */
  readonly size: number;
  /** Distance between window starts, `0 < hop ≤ size`. Default `size` (tumbling). */
  readonly hop?: number;
  /** How far behind the newest timestamp a sample may arrive and still count. Default 0: anything behind a closed window is dropped. */
  readonly allowedLateness?: number;
  /** Interleaved channels per frame. Default 1. */
  readonly channels?: number;
  /** Time source for {@link TimeWindow.tick}; same unit and epoch as the timestamps. Default `Date.now`. */
  readonly clock?: () => number;
  /**
   * Also collect each window's frames and hand them to the callback as `samples`/`times`, for
   * frequency-domain features (Welch PSD, band powers, velocity RMS) per window. Default false:
   * only the streaming time-domain features are kept, in constant memory per window.
   */
  readonly keepSamples?: boolean;
}

/** One closed time window: features per channel. */
export interface TimeWindowEvent {
  /** Inclusive start. */
  readonly start: number;
  /** Exclusive end. */
  readonly end: number;
  /** Frames that fell into this window. */
  readonly count: number;
  /** One entry per channel. */
  readonly features: readonly TimeFeatures[];
  /**
   * With `keepSamples`: the window's frames, interleaved, in timestamp order (`count × channels`
   * samples). A view of an internal buffer that is reused for later windows: valid only during
   * the callback (copy it to keep it).
   */
  readonly samples?: Float32Array;
  /** With `keepSamples`: the timestamp of each frame of `samples` (same lifetime). */
  readonly times?: Float64Array;
  /** Interleaved channels per frame. */
  readonly channels: number;
}

/** Frames of one open window, for `keepSamples`. Buffers are pooled and reused across windows. */
interface FrameBuffer {
  vals: Float32Array;
  times: Float64Array;
  frames: number;
  sorted: boolean;
}

interface OpenWindow {
  readonly accs: FeatureAccumulator[];
  readonly buf: FrameBuffer | undefined;
}

/**
 * Event-time windows with a late-data policy: tumbling or hopping, features per channel per
 * window, time for idle flushing from an injected clock.
 *
 * @example
 * ```ts
 * import { TimeWindow } from '@outpost/edge-aggregate';
 * const out: number[] = [];
 * const w = new TimeWindow({ size: 1000, allowedLateness: 100, clock: () => 0 }, (e) => { out.push(e.features[0]?.mean ?? NaN); });
 * w.push(new Float32Array([1, 1, 1, 1]), 0, 250);  // t = 0, 250, 500, 750
 * w.push(new Float32Array([5]), 1050, 1);         // watermark 950: window [0, 1000) still open
 * w.push(new Float32Array([3]), 960, 1);          // late, but within the allowed lateness
 * w.push(new Float32Array([7]), 1200, 1);         // watermark 1100: [0, 1000) closes
 * out; // [1.4]
 * w.push(new Float32Array([9]), 990, 1);          // too late: dropped
 * w.dropped; // 1
 * ```
 */
export class TimeWindow {
  readonly size: number;
  readonly hop: number;
  readonly allowedLateness: number;
  readonly channels: number;
  readonly #clock: () => number;
  readonly #emit: (e: TimeWindowEvent) => void;
  readonly keepSamples: boolean;
  readonly #open = new Map<number, OpenWindow>();
  readonly #pool: FrameBuffer[] = [];
  #maxTime = -Infinity;
  #closedThrough = -Infinity; // highest window index emitted
  #dropped = 0;
  #closed = false;

  /**
   * @throws {TypeError} for a non-object `options`, non-number sizes or a non-function `onWindow`/`clock`.
   * @throws {RangeError} for a non-positive size, a hop outside (0, size] or a negative lateness.
   */
  constructor(options: TimeWindowOptions, onWindow: (e: TimeWindowEvent) => void) {
    assertObject('options', options);
    const { size, hop = size, allowedLateness = 0, clock = Date.now, keepSamples = false } = options;
    if (typeof keepSamples !== 'boolean') throw new TypeError(`options.keepSamples: expected a boolean, got ${typeof keepSamples}`);
    assertNumber('options.size', size);
    assertNumber('options.hop', hop);
    assertNumber('options.allowedLateness', allowedLateness);
    assertFunction('options.clock', clock);
    assertFunction('onWindow', onWindow);
    if (!(size > 0) || !Number.isFinite(size)) throw new RangeError(`options.size: expected a positive finite number, got ${size}`);
    if (!(hop > 0) || hop > size) throw new RangeError(`options.hop: expected 0 < hop ≤ size (${size}), got ${hop}`);
    if (!(allowedLateness >= 0) || !Number.isFinite(allowedLateness)) throw new RangeError(`options.allowedLateness: expected a finite number ≥ 0, got ${allowedLateness}`);
    this.size = size;
    this.hop = hop;
    this.allowedLateness = allowedLateness;
    this.keepSamples = keepSamples;
    this.channels = intOption('options.channels', options.channels, 1, 1, 1 << 10);
    this.#clock = clock;
    this.#emit = onWindow;
  }

  /** Frames dropped so far because every window they belong to had already been emitted. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Current watermark: newest time seen minus the allowed lateness. */
  get watermark(): number {
    return this.#maxTime - this.allowedLateness;
  }

  /**
   * Push a chunk of interleaved frames; frame `i` has timestamp `t0 + i * interval`.
   * Emits every window the advanced watermark closes.
   *
   * @throws {TypeError} for a non-sample `chunk` or non-number times.
   * @throws {RangeError} for a chunk that is not whole frames, a non-finite `t0` or a non-positive `interval`.
   * @throws {EdgeAggregateError} `CLOSED` after {@link TimeWindow.flush}.
   * @example
   * ```ts
   * import { TimeWindow } from '@outpost/edge-aggregate';
   * const counts: number[] = [];
   * const w = new TimeWindow({ size: 10, hop: 5, clock: () => 0 }, (e) => { counts.push(e.count); });
   * w.push(new Float32Array(20), 0, 1); // t = 0 … 19: closes [-5, 5), [0, 10), [5, 15)
   * counts; // [5, 10, 10]
   * ```
   */
  push(chunk: Samples, t0: number, interval: number): void {
    assertSamples('chunk', chunk);
    assertNumber('t0', t0);
    assertNumber('interval', interval);
    if (this.#closed) throw new EdgeAggregateError('CLOSED', 'TimeWindow: push after flush');
    if (!Number.isFinite(t0)) throw new RangeError(`t0: expected a finite time, got ${t0}`);
    if (!(interval > 0) || !Number.isFinite(interval)) throw new RangeError(`interval: expected a positive finite number, got ${interval}`);
    const ch = this.channels;
    if (chunk.length % ch !== 0) throw new RangeError(`chunk: expected a multiple of ${ch} samples (whole frames), got ${chunk.length}`);
    const frames = chunk.length / ch;
    if (frames === 0) return;
    const tLast = t0 + (frames - 1) * interval;
    // Frames before the start of the first open-able window are late.
    const firstIdx = Math.max(0, this.#firstAt((this.#closedThrough + 1) * this.hop, t0, interval, frames));
    this.#dropped += Math.min(firstIdx, frames);
    if (firstIdx < frames) {
      const kFirst = Math.max(this.#closedThrough + 1, Math.floor((t0 + firstIdx * interval - this.size) / this.hop) + 1);
      const kLast = Math.floor(tLast / this.hop);
      for (let k = kFirst; k <= kLast; k++) {
        const a = this.#firstAt(k * this.hop, t0, interval, frames);
        const b = this.#firstAt(k * this.hop + this.size, t0, interval, frames);
        if (b <= a) continue;
        let w = this.#open.get(k);
        if (w === undefined) {
          w = { accs: Array.from({ length: ch }, () => new FeatureAccumulator()), buf: this.keepSamples ? this.#takeBuffer() : undefined };
          this.#open.set(k, w);
        }
        for (let c = 0; c < ch; c++) (w.accs[c] as FeatureAccumulator).push(chunk, { offset: a * ch + c, stride: ch, count: b - a });
        if (w.buf !== undefined) appendFrames(w.buf, chunk, a, b, t0, interval, ch);
      }
    }
    if (tLast > this.#maxTime) this.#maxTime = tLast;
    this.#closeUpTo(this.watermark);
  }

  /**
   * Advance the watermark to the injected clock (`now - allowedLateness`), emitting windows
   * that ended, so an idle or silent sensor still produces its summaries.
   *
   * @throws {TypeError} when `now` is not a number.
   * @example
   * ```ts
   * import { TimeWindow } from '@outpost/edge-aggregate';
   * let now = 0;
   * const ends: number[] = [];
   * const w = new TimeWindow({ size: 100, clock: () => now }, (e) => { ends.push(e.end); });
   * w.push(new Float32Array([1]), 10, 1);
   * now = 150;
   * w.tick();
   * ends; // [100]
   * ```
   */
  tick(now: number = this.#clock()): void {
    assertNumber('now', now);
    if (now > this.#maxTime) this.#maxTime = now;
    this.#closeUpTo(this.watermark);
  }

  /**
   * End of stream: emits every open window in order; later pushes throw `CLOSED`.
   *
   * @example
   * ```ts
   * import { TimeWindow } from '@outpost/edge-aggregate';
   * const n: number[] = [];
   * const w = new TimeWindow({ size: 100, clock: () => 0 }, (e) => { n.push(e.count); });
   * w.push(new Float32Array(3), 0, 10);
   * w.flush();
   * n; // [3]
   * ```
   */
  flush(): void {
    this.#closed = true;
    this.#closeUpTo(Infinity);
  }

  #takeBuffer(): FrameBuffer {
    const b = this.#pool.pop();
    if (b === undefined) return { vals: new Float32Array(1024 * this.channels), times: new Float64Array(1024), frames: 0, sorted: true };
    b.frames = 0;
    b.sorted = true;
    return b;
  }

  /** Index of the first frame whose time is ≥ `t` (0…frames). */
  #firstAt(t: number, t0: number, interval: number, frames: number): number {
    if (t <= t0) return 0;
    let i = Math.ceil((t - t0) / interval);
    while (i > 0 && t0 + (i - 1) * interval >= t) i--;
    while (i < frames && t0 + i * interval < t) i++;
    return Math.min(i, frames);
  }

  #closeUpTo(watermark: number): void {
    if (this.#open.size === 0) {
      const k = Math.floor((watermark - this.size) / this.hop);
      if (k > this.#closedThrough && Number.isFinite(k)) this.#closedThrough = k;
      return;
    }
    const keys = [...this.#open.keys()].sort((x, y) => x - y);
    const errors: unknown[] = [];
    for (const k of keys) {
      const start = k * this.hop;
      const end = start + this.size;
      if (end > watermark) break;
      const w = this.#open.get(k) as OpenWindow;
      this.#open.delete(k);
      this.#closedThrough = k;
      const features = w.accs.map((a) => a.result());
      const count = features[0]?.count ?? 0;
      try {
        const buf = w.buf;
        if (buf === undefined) this.#emit({ start, end, count, features, channels: this.channels });
        else {
          if (!buf.sorted) sortFrames(buf, this.channels);
          this.#emit({
            start, end, count, features, channels: this.channels,
            samples: buf.vals.subarray(0, buf.frames * this.channels), times: buf.times.subarray(0, buf.frames),
          });
        }
      } catch (err) {
        errors.push(err);
      } finally {
        if (w.buf !== undefined) this.#pool.push(w.buf);
      }
    }
    if (Number.isFinite(watermark)) {
      const k = Math.floor((watermark - this.size) / this.hop);
      if (k > this.#closedThrough) this.#closedThrough = k;
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `TimeWindow: ${errors.length} window callbacks failed`);
  }
}

/** Copy frames [a, b) of a chunk into a window's buffer, growing it by doubling. */
function appendFrames(buf: FrameBuffer, chunk: Samples, a: number, b: number, t0: number, interval: number, ch: number): void {
  const need = buf.frames + (b - a);
  if (need > buf.times.length) {
    let cap = buf.times.length;
    while (cap < need) cap *= 2;
    const vals = new Float32Array(cap * ch);
    vals.set(buf.vals.subarray(0, buf.frames * ch));
    const times = new Float64Array(cap);
    times.set(buf.times.subarray(0, buf.frames));
    buf.vals = vals;
    buf.times = times;
  }
  if (buf.frames > 0 && t0 + a * interval < (buf.times[buf.frames - 1] as number)) buf.sorted = false;
  buf.vals.set(chunk.subarray(a * ch, b * ch), buf.frames * ch);
  for (let i = a; i < b; i++) buf.times[buf.frames++] = t0 + i * interval;
}

/** Stable sort of a window's frames by time (only when late frames arrived out of order). */
function sortFrames(buf: FrameBuffer, ch: number): void {
  const n = buf.frames;
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => (buf.times[x] as number) - (buf.times[y] as number) || x - y);
  const vals = buf.vals.slice(0, n * ch);
  const times = buf.times.slice(0, n);
  for (let i = 0; i < n; i++) {
    const j = order[i] as number;
    buf.times[i] = times[j] as number;
    for (let c = 0; c < ch; c++) buf.vals[i * ch + c] = vals[j * ch + c] as number;
  }
  buf.sorted = true;
}
