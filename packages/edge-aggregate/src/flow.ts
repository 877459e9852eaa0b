// The composition API: source → window → features → sink. A Flow is a recipe; `.to(sink)`
// builds the window with the mapped callbacks wired in and returns it, and the caller (the
// source) pushes chunks into it. Sinks are plain functions: CBOR-encode and append to
// @outpost/edge-buffer, publish over MQTT, or collect into an array in a test.
import { CountWindow, type CountWindowEvent, type CountWindowOptions } from './count-window.js';
import {
  SlidingCountWindow, SlidingTimeWindow, type SlidingCountWindowOptions, type SlidingTimeWindowOptions, type SlidingWindowEvent,
} from './sliding-window.js';
import { TimeWindow, type TimeWindowEvent, type TimeWindowOptions } from './time-window.js';
import { assertFunction, assertObject } from './validate.js';

/**
 * A window followed by zero or more mapping steps, waiting for a sink.
 *
 * @example
 * ```ts
 * import { countWindows, interleavedFeatures } from '@outpost/edge-aggregate';
 * const out: number[][] = [];
 * const w = countWindows({ size: 2, channels: 2 })
 *   .map((e) => interleavedFeatures(e.samples, e.channels))
 *   .map((axes) => axes.map((f) => f.max))
 *   .to((maxima) => { out.push(maxima); });
 * w.push(new Float32Array([1, 10, 2, 20, 3, 30, 4, 40]));
 * out; // [[2, 20], [4, 40]]
 * ```
 */
export class Flow<W, T> {
  readonly #build: (emit: (x: T) => void) => W;

  /** @internal Use {@link countWindows}, {@link timeWindows}, {@link slidingCountWindows} or {@link slidingTimeWindows}. */
  constructor(build: (emit: (x: T) => void) => W) {
    this.#build = build;
  }

  /**
   * Add a step that transforms each value (e.g. a window into its features).
   *
   * @throws {TypeError} when `f` is not a function.
   * @example
   * ```ts
   * import { countWindows } from '@outpost/edge-aggregate';
   * const got: number[] = [];
   * countWindows({ size: 1 }).map((e) => e.samples[0]).to((x) => { got.push(x ?? NaN); }).push(new Float32Array([7]));
   * got; // [7]
   * ```
   */
  map<U>(f: (x: T) => U): Flow<W, U> {
    assertFunction('f', f);
    const build = this.#build;
    return new Flow<W, U>((emit) => build((x) => emit(f(x))));
  }

  /**
   * Add a step that keeps only values for which `keep` returns true (report by exception).
   *
   * @throws {TypeError} when `keep` is not a function.
   * @example
   * ```ts
   * import { countWindows, timeFeatures } from '@outpost/edge-aggregate';
   * const alerts: number[] = [];
   * countWindows({ size: 2 })
   *   .map((e) => timeFeatures(e.samples).rms)
   *   .filter((rms) => rms > 1)
   *   .to((rms) => { alerts.push(rms); })
   *   .push(new Float32Array([1, 1, 2, 2]));
   * alerts; // [2]
   * ```
   */
  filter(keep: (x: T) => boolean): Flow<W, T> {
    assertFunction('keep', keep);
    const build = this.#build;
    return new Flow<W, T>((emit) => build((x) => { if (keep(x)) emit(x); }));
  }

  /**
   * Attach the sink and build the window; push chunks into the returned window.
   *
   * @throws {TypeError} when `sink` is not a function.
   * @example
   * ```ts
   * import { timeWindows } from '@outpost/edge-aggregate';
   * const n: number[] = [];
   * const w = timeWindows({ size: 10, clock: () => 0 }).to((e) => { n.push(e.count); });
   * w.push(new Float32Array(25), 0, 1);
   * n; // [10, 10]
   * ```
   */
  to(sink: (x: T) => void): W {
    assertFunction('sink', sink);
    return this.#build(sink);
  }
}

/**
 * Start a flow with tumbling/hopping windows over sample counts.
 *
 * @throws {TypeError}/{RangeError} for bad options, as {@link CountWindow}.
 * @example
 * ```ts
 * import { countWindows } from '@outpost/edge-aggregate';
 * const idx: number[] = [];
 * countWindows({ size: 3 }).to((e) => { idx.push(e.index); }).push(new Float32Array(9));
 * idx; // [0, 1, 2]
 * ```
 */
export function countWindows(options: CountWindowOptions): Flow<CountWindow, CountWindowEvent> {
  assertObject('options', options);
  new CountWindow(options, () => {}); // validate now, not at .to()
  return new Flow((emit) => new CountWindow(options, emit));
}

/**
 * Start a flow with tumbling/hopping windows over timestamps (late-data policy, injected clock).
 *
 * @throws {TypeError}/{RangeError} for bad options, as {@link TimeWindow}.
 * @example
 * ```ts
 * import { timeWindows } from '@outpost/edge-aggregate';
 * const rms: number[] = [];
 * const w = timeWindows({ size: 4, clock: () => 0 }).map((e) => e.features[0]?.rms ?? NaN).to((r) => { rms.push(r); });
 * w.push(new Float32Array([2, -2, 2, -2, 0]), 0, 1);
 * rms; // [2]
 * ```
 */
export function timeWindows(options: TimeWindowOptions): Flow<TimeWindow, TimeWindowEvent> {
  assertObject('options', options);
  new TimeWindow(options, () => {});
  return new Flow((emit) => new TimeWindow(options, emit));
}

/**
 * Start a flow with a sliding window over the last `size` frames that advances one frame at a
 * time (emitting after every frame, or every `every`-th). The event is reused between
 * emissions: map it to what you keep.
 *
 * @throws {TypeError}/{RangeError} for bad options, as {@link SlidingCountWindow}.
 * @example
 * ```ts
 * import { slidingCountWindows } from '@outpost/edge-aggregate';
 * const peaks: number[] = [];
 * slidingCountWindows({ size: 2 })
 *   .map((e) => e.features[0]?.max ?? NaN)
 *   .to((m) => { peaks.push(m); })
 *   .push(new Float32Array([5, 1, 2, 0]));
 * peaks; // [5, 5, 2, 2]
 * ```
 */
export function slidingCountWindows(options: SlidingCountWindowOptions): Flow<SlidingCountWindow, SlidingWindowEvent> {
  assertObject('options', options);
  new SlidingCountWindow(options, () => {});
  return new Flow((emit) => new SlidingCountWindow(options, emit));
}

/**
 * Start a flow with a sliding window over timestamps, (t − size, t] at every frame t, with the
 * late-data policy of {@link SlidingTimeWindow}. The event is reused between emissions.
 *
 * @throws {TypeError}/{RangeError} for bad options, as {@link SlidingTimeWindow}.
 * @example
 * ```ts
 * import { slidingTimeWindows } from '@outpost/edge-aggregate';
 * const n: number[] = [];
 * const w = slidingTimeWindows({ size: 2, every: 2, clock: () => 0 }).map((e) => e.count).to((c) => { n.push(c); });
 * w.push(new Float32Array(6), 0, 1); // emits at t = 1, 3, 5
 * n; // [2, 2, 2]
 * ```
 */
export function slidingTimeWindows(options: SlidingTimeWindowOptions): Flow<SlidingTimeWindow, SlidingWindowEvent> {
  assertObject('options', options);
  new SlidingTimeWindow(options, () => {});
  return new Flow((emit) => new SlidingTimeWindow(options, emit));
}
