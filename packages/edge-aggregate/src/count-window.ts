// Tumbling and hopping windows over sample counts. Frames (one sample per channel, interleaved)
// are copied once into a preallocated window buffer; a full window is handed to the callback as
// a view of that buffer, so nothing is allocated per sample or per window.
import { EdgeAggregateError } from './errors.js';
import { assertFunction, assertInt, assertObject, assertSamples, intOption, type Samples } from './validate.js';

/** Options of {@link CountWindow}. */
export interface CountWindowOptions {
  /** Frames per window. */
  readonly size: number;
  /** Frames between the starts of consecutive windows. Default `size` (tumbling); smaller overlaps (hopping), larger skips frames. */
  readonly hop?: number;
  /** Interleaved channels per frame. Default 1. */
  readonly channels?: number;
}

/** One full count window. */
export interface CountWindowEvent {
  /** 0 for the first window, then 1, 2, … */
  readonly index: number;
  /** Index of the window's first frame in the stream. */
  readonly start: number;
  /** Interleaved samples, `size * channels` long. A view of an internal buffer: valid only during the callback (copy it to keep it). */
  readonly samples: Float32Array;
  readonly channels: number;
}

/**
 * Tumbling (`hop = size`), hopping (`hop < size`) or sampling (`hop > size`) windows over a
 * stream of interleaved frames, pushed in chunks of any length.
 *
 * @example
 * ```ts
 * import { CountWindow } from '@outpost/edge-aggregate';
 * const starts: number[] = [];
 * const w = new CountWindow({ size: 4, hop: 2 }, (e) => { starts.push(e.start); });
 * w.push(new Float32Array(7));
 * w.push(new Float32Array(3));
 * starts; // [0, 2, 4, 6]
 * ```
 */
export class CountWindow {
  readonly size: number;
  readonly hop: number;
  readonly channels: number;
  readonly #buf: Float32Array;
  readonly #emit: (e: CountWindowEvent) => void;
  #fill = 0; // samples (not frames) in #buf
  #skip = 0; // samples still to drop before the next window (hop > size)
  #index = 0;
  #start = 0;
  #closed = false;

  /**
   * @throws {TypeError} for a non-object `options` or a non-function `onWindow`.
   * @throws {RangeError} for a size, hop or channel count that is not a positive integer.
   */
  constructor(options: CountWindowOptions, onWindow: (e: CountWindowEvent) => void) {
    assertObject('options', options);
    const size = options.size;
    assertInt('options.size', size, 1, 1 << 26);
    this.size = size;
    this.hop = intOption('options.hop', options.hop, size, 1, 1 << 30);
    this.channels = intOption('options.channels', options.channels, 1, 1, 1 << 10);
    if (size * this.channels > 1 << 26) throw new RangeError(`options.size: window of ${size * this.channels} samples exceeds ${1 << 26}`);
    assertFunction('onWindow', onWindow);
    this.#emit = onWindow;
    this.#buf = new Float32Array(size * this.channels);
  }

  /**
   * Push interleaved frames; calls the callback once per window completed by this chunk.
   *
   * @throws {TypeError} when `chunk` is not a Float32Array/Float64Array.
   * @throws {RangeError} when the chunk length is not a multiple of the channel count.
   * @throws {EdgeAggregateError} `CLOSED` after {@link CountWindow.flush}.
   * @example
   * ```ts
   * import { CountWindow, timeFeatures } from '@outpost/edge-aggregate';
   * const rms: number[] = [];
   * const w = new CountWindow({ size: 2 }, (e) => { rms.push(timeFeatures(e.samples).rms); });
   * w.push(new Float32Array([3, -3, 1, 1]));
   * rms; // [3, 1]
   * ```
   */
  push(chunk: Samples): void {
    assertSamples('chunk', chunk);
    if (this.#closed) throw new EdgeAggregateError('CLOSED', 'CountWindow: push after flush');
    const ch = this.channels;
    if (chunk.length % ch !== 0) throw new RangeError(`chunk: expected a multiple of ${ch} samples (whole frames), got ${chunk.length}`);
    const buf = this.#buf;
    let i = 0;
    while (i < chunk.length) {
      if (this.#skip > 0) {
        const k = Math.min(this.#skip, chunk.length - i);
        this.#skip -= k;
        i += k;
        continue;
      }
      const k = Math.min(buf.length - this.#fill, chunk.length - i);
      buf.set(chunk.subarray(i, i + k), this.#fill);
      this.#fill += k;
      i += k;
      if (this.#fill === buf.length) this.#complete();
    }
  }

  /**
   * End of stream: drops the incomplete trailing window and returns how many frames it held;
   * later pushes throw `CLOSED`.
   *
   * @example
   * ```ts
   * import { CountWindow } from '@outpost/edge-aggregate';
   * const w = new CountWindow({ size: 4 }, () => {});
   * w.push(new Float32Array(6));
   * w.flush(); // 2
   * ```
   */
  flush(): number {
    this.#closed = true;
    return this.#fill / this.channels;
  }

  #complete(): void {
    const ch = this.channels;
    try {
      this.#emit({ index: this.#index, start: this.#start, samples: this.#buf, channels: ch });
    } finally {
      this.#index++;
      this.#start += this.hop;
      if (this.hop < this.size) {
        this.#buf.copyWithin(0, this.hop * ch);
        this.#fill = (this.size - this.hop) * ch;
      } else {
        this.#fill = 0;
        this.#skip = (this.hop - this.size) * ch;
      }
    }
  }
}
