// The read side: one cursor that walks segments in order and delivers records up to each
// segment's known-good offset. The cursor lives in memory; after a restart it starts again
// right after the durable checkpoint (at-least-once).

import type { FileHandle, FileSystem } from './fs.js';
import type { Segment, Store } from './store.js';
import type { BufferEvent } from './events.js';
import { ioError } from './errors.js';
import { SEGMENT_HEADER_SIZE } from './codec.js';
import { SegmentReader } from './segment-reader.js';
import { findNextFrame } from './scan.js';

/**
 * One delivered record. `payload` is a copy owned by the caller.
 *
 * @example
 * ```ts
 * import type { BufferRecord } from '@outpost/edge-buffer';
 * const rec: BufferRecord = { seq: 1, payload: new Uint8Array([1]) };
 * ```
 */
export interface BufferRecord {
  /** Position in the buffer: strictly increasing, starts at 1, never reused once delivered. */
  seq: number;
  payload: Uint8Array;
}

interface Cursor {
  seg: Segment;
  file: FileHandle;
  reader: SegmentReader;
  /** The last valid frame read from this file (its seq and end offset). */
  prev: { seq: number; end: number };
}

/** Records decoded ahead from the read-ahead window, without further I/O. */
const PREFETCH = 256;

export class Consumer {
  readonly #fs: FileSystem;
  readonly #store: Store;
  readonly #maxPayload: number;
  readonly #emit: (e: BufferEvent) => void;
  #cursor: Cursor | undefined;
  /** Validated records not delivered yet, contiguous from `readSeq`. */
  #ahead: BufferRecord[] = [];
  #aheadHead = 0;
  /** Next seq the file cursor looks for (past everything in #ahead). */
  #fetchSeq: number;
  /** Next seq to deliver. */
  readSeq: number;
  /** Highest seq delivered by read or peek. */
  delivered: number;
  lostRecords = 0;

  constructor(fs: FileSystem, store: Store, maxPayload: number, emit: (e: BufferEvent) => void) {
    this.#fs = fs;
    this.#store = store;
    this.#maxPayload = maxPayload;
    this.#emit = emit;
    this.readSeq = store.ackedSeq + 1;
    this.#fetchSeq = this.readSeq;
    this.delivered = store.ackedSeq;
  }

  /** First undelivered record above the ack floor, fetching if needed; undefined when none yet. */
  async #head(): Promise<BufferRecord | undefined> {
    const floor = this.#store.ackedSeq;
    while (this.#aheadHead < this.#ahead.length && this.#ahead[this.#aheadHead]!.seq <= floor) this.#aheadHead++;
    if (this.#aheadHead >= this.#ahead.length) {
      this.#ahead = [];
      this.#aheadHead = 0;
      if (this.#fetchSeq <= floor) this.#fetchSeq = floor + 1;
      await this.#fetch();
    }
    return this.#ahead[this.#aheadHead];
  }

  /** Next record without consuming it. */
  async peek(): Promise<BufferRecord | undefined> {
    const rec = await this.#head();
    if (rec !== undefined && rec.seq > this.delivered) this.delivered = rec.seq;
    return rec;
  }

  /** Next record, consumed (the cursor moves past it), or undefined when none is readable yet. */
  async take(): Promise<BufferRecord | undefined> {
    const rec = await this.#head();
    if (rec === undefined) return undefined;
    this.#aheadHead++;
    this.readSeq = rec.seq + 1;
    if (rec.seq > this.delivered) this.delivered = rec.seq;
    return rec;
  }

  /** Moves the cursor back to the first unacknowledged record. */
  async rewind(): Promise<void> {
    this.#ahead = [];
    this.#aheadHead = 0;
    this.readSeq = this.#store.ackedSeq + 1;
    this.#fetchSeq = this.readSeq;
    await this.#drop();
  }

  async #drop(): Promise<void> {
    const c = this.#cursor;
    this.#cursor = undefined;
    if (c !== undefined) await c.file.close().catch(() => undefined);
  }

  /** Lets go of `name` if the cursor holds it (before the file is deleted). */
  async release(name: string): Promise<void> {
    if (this.#cursor?.seg.name === name) await this.#drop();
  }

  async close(): Promise<void> {
    await this.#drop();
  }

  /** Opens a reader on `seg` from its first record. */
  async #open(seg: Segment): Promise<Cursor> {
    await this.#drop();
    let file;
    try {
      file = await this.#fs.open(seg.path, 'read');
    } catch (err) {
      throw ioError(`read: open ${seg.name}`, err);
    }
    const c = { seg, file, reader: new SegmentReader(file, this.#maxPayload, SEGMENT_HEADER_SIZE), prev: { seq: seg.baseSeq - 1, end: SEGMENT_HEADER_SIZE } };
    this.#cursor = c;
    return c;
  }

  /** Reads the record at #fetchSeq (or the next existing one) plus whatever follows it in the window. */
  async #fetch(): Promise<void> {
    const store = this.#store;
    for (;;) {
      const seg = store.locate(this.#fetchSeq);
      if (seg === undefined) return;
      if (seg.goodSeq < Math.max(this.#fetchSeq, seg.baseSeq)) return;
      let c = this.#cursor;
      if (c === undefined || c.seg !== seg || c.reader.offset > seg.good) c = await this.#open(seg);
      let step;
      try {
        step = await c.reader.next(seg.good);
      } catch (err) {
        await this.#drop();
        throw ioError(`read: ${seg.name}`, err);
      }
      if (step.type !== 'record' || step.seq !== c.prev.seq + 1 || step.seq > seg.goodSeq) {
        const at = step.type === 'record' ? step.offset : c.reader.offset;
        const reason =
          step.type === 'record' ? `record seq: expected ${c.prev.seq + 1}, found ${step.seq}`
          : step.type === 'malformed' ? step.reason
          : step.type === 'end' ? `segment ends at ${step.offset}, expected records up to seq ${seg.goodSeq}`
          : 'torn record inside the synced region';
        await this.#skipDamage(c, at, reason);
        continue;
      }
      c.prev = { seq: step.seq, end: step.offset + step.size };
      if (step.seq < this.#fetchSeq) continue;
      this.#ahead.push({ seq: step.seq, payload: step.payload.slice() });
      let next = step.seq + 1;
      // Whatever else is already in memory, in sequence, below `good`: no more awaits.
      while (this.#ahead.length < PREFETCH && next <= seg.goodSeq) {
        const r = c.reader.nextBuffered(seg.good);
        if (r === undefined || r.seq !== next) {
          if (r !== undefined) await this.#drop(); // out of sequence: let `next` re-read and report it
          break;
        }
        c.prev = { seq: r.seq, end: r.offset + r.size };
        this.#ahead.push({ seq: r.seq, payload: r.payload.slice() });
        next++;
      }
      this.#fetchSeq = next;
      return;
    }
  }

  /**
   * Corruption found while reading gets the recovery treatment (src/scan.ts): skip to the next
   * valid frame, report the damaged bytes and the records they held once, never spin on them.
   */
  async #skipDamage(c: Cursor, at: number, reason: string): Promise<void> {
    const seg = c.seg;
    let found;
    try {
      found = await findNextFrame(c.file, at + 1, seg.good, c.prev, seg.goodSeq, this.#maxPayload);
    } catch (err) {
      await this.#drop();
      throw ioError(`read: ${seg.name}`, err);
    }
    const known = seg.holes.some((h) => h.start === at);
    if (!known) {
      const end = found?.offset ?? seg.good;
      seg.holes.push({ start: at, end, reason });
      this.#emit({ type: 'damage', file: seg.name, offset: at, bytes: end - at, reason, during: 'read' });
      const lo = Math.max(c.prev.seq + 1, this.#store.ackedSeq + 1);
      const hi = found === undefined ? seg.goodSeq : found.seq - 1;
      if (hi >= lo) {
        this.lostRecords += hi - lo + 1;
        this.#emit({ type: 'lost', firstSeq: lo, lastSeq: hi, count: hi - lo + 1, reason: `${seg.name}: damaged bytes ${at}..${end}: ${reason}`, during: 'read' });
      }
    }
    if (found === undefined) {
      await this.#drop();
      if (this.#fetchSeq <= seg.goodSeq) this.#fetchSeq = seg.goodSeq + 1;
      return;
    }
    c.reader = new SegmentReader(c.file, this.#maxPayload, found.offset);
    c.prev = { seq: found.seq - 1, end: found.offset };
  }
}
