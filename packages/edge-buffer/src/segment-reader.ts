import type { FileHandle } from './fs.js';
import { decodeRecordAt } from './codec.js';

/** One step of a {@link SegmentReader}. `payload` is a view valid until the next call. */
export type ReadStep =
  | { type: 'record'; seq: number; payload: Uint8Array; offset: number; size: number }
  | { type: 'end'; offset: number }
  | { type: 'incomplete'; offset: number }
  | { type: 'malformed'; reason: string; offset: number };

const DEFAULT_WINDOW = 256 * 1024;

/**
 * Sequential record reader over one segment file with a read-ahead window.
 * The window grows only for a record whose claimed length is within `maxPayload` and whose bytes
 * the file actually holds (below `end`), so a forged length never allocates.
 */
export class SegmentReader {
  readonly #file: FileHandle;
  readonly #maxPayload: number;
  #buf: Uint8Array;
  readonly #window: number;
  #pos: number; // file offset of #buf[0]
  #len = 0; // valid bytes in #buf
  #off = 0; // decode position in #buf

  constructor(file: FileHandle, maxPayload: number, position: number, window = DEFAULT_WINDOW) {
    this.#file = file;
    this.#maxPayload = maxPayload;
    // Start small and grow with the data actually present: opening a tiny segment stays cheap.
    this.#window = window;
    this.#buf = new Uint8Array(Math.min(window, 4096));
    this.#pos = position;
  }

  /** File offset of the next record. */
  get offset(): number {
    return this.#pos + this.#off;
  }

  /**
   * The next record if it lies entirely in the read-ahead window below `end`, else undefined
   * (I/O needed, or not a valid record: `next` then reports what it is).
   */
  nextBuffered(end: number): { seq: number; payload: Uint8Array; offset: number; size: number } | undefined {
    const at = this.#pos + this.#off;
    if (at >= end) return undefined;
    const r = decodeRecordAt(this.#buf.subarray(0, Math.min(this.#len, end - this.#pos)), this.#off, this.#maxPayload);
    if (r.type !== 'ok') return undefined;
    this.#off += r.size;
    return { seq: r.seq, payload: r.payload, offset: at, size: r.size };
  }

  /** Decodes the next record that ends at or before `end` (a file offset). */
  async next(end: number): Promise<ReadStep> {
    for (;;) {
      const at = this.#pos + this.#off;
      if (at >= end) return { type: 'end', offset: at };
      const limit = Math.min(this.#len, end - this.#pos);
      const r = decodeRecordAt(this.#buf.subarray(0, limit), this.#off, this.#maxPayload);
      if (r.type === 'ok') {
        this.#off += r.size;
        return { type: 'record', seq: r.seq, payload: r.payload, offset: at, size: r.size };
      }
      if (r.type === 'malformed') return { type: 'malformed', reason: r.reason, offset: this.#pos + r.offset };
      const total = limit - this.#off + r.needed; // bytes this record claims, header included
      if (at + total > end) return { type: 'incomplete', offset: at };
      if (this.#off > 0) {
        this.#buf.copyWithin(0, this.#off, this.#len);
        this.#pos += this.#off;
        this.#len -= this.#off;
        this.#off = 0;
      }
      const avail = end - this.#pos;
      if (total > this.#buf.length || (this.#buf.length < this.#window && avail > this.#buf.length)) {
        let size = this.#buf.length;
        while (size < this.#window && size < avail) size *= 2;
        const grown = new Uint8Array(Math.max(total, Math.min(size, this.#window)));
        grown.set(this.#buf.subarray(0, this.#len));
        this.#buf = grown;
      }
      const want = Math.min(this.#buf.length, end - this.#pos);
      const n = await this.#file.read(this.#buf.subarray(this.#len, want), this.#pos + this.#len);
      if (n === 0) return { type: 'incomplete', offset: at };
      this.#len += n;
    }
  }
}
