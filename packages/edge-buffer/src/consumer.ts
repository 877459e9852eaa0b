// The read side: one cursor that walks segments in order and delivers records up to each
// segment's known-good offset. The cursor lives in memory; after a restart it starts again
// right after the durable checkpoint (at-least-once).

import { join } from 'node:path';
import type { FileHandle, FileSystem } from './fs.js';
import type { Segment, Store } from './store.js';
import type { BufferEvent } from './events.js';
import { ioError } from './errors.js';
import { SEGMENT_HEADER_SIZE } from './codec.js';
import { SegmentReader } from './segment-reader.js';
import { QUARANTINE_SUFFIX } from './recovery.js';

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
  quarantined = 0;
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

  /** Reads the record at #fetchSeq (or the next existing one) plus whatever follows it in the window. */
  async #fetch(): Promise<void> {
    const store = this.#store;
    for (;;) {
      const seg = store.locate(this.#fetchSeq);
      if (seg === undefined) return;
      if (seg.goodSeq < Math.max(this.#fetchSeq, seg.baseSeq)) return;
      let c = this.#cursor;
      if (c === undefined || c.seg !== seg || c.reader.offset > seg.good) {
        await this.#drop();
        let file;
        try {
          file = await this.#fs.open(seg.path, 'read');
        } catch (err) {
          throw ioError(`read: open ${seg.name}`, err);
        }
        c = { seg, file, reader: new SegmentReader(file, this.#maxPayload, SEGMENT_HEADER_SIZE) };
        this.#cursor = c;
      }
      let step;
      try {
        step = await c.reader.next(seg.good);
      } catch (err) {
        await this.#drop();
        throw ioError(`read: ${seg.name}`, err);
      }
      if (step.type === 'end') {
        // `good` said there is more; the file disagrees.
        await this.#corrupt(seg, `segment ends at ${step.offset}, expected records up to seq ${seg.goodSeq}`, step.offset);
        continue;
      }
      if (step.type === 'incomplete' || step.type === 'malformed') {
        await this.#corrupt(seg, step.type === 'malformed' ? step.reason : 'torn record inside the synced region', step.offset);
        continue;
      }
      if (step.seq < this.#fetchSeq) continue;
      if (step.seq > seg.goodSeq) {
        await this.#corrupt(seg, `record seq ${step.seq} beyond the last written seq ${seg.goodSeq}`, step.offset);
        continue;
      }
      this.#ahead.push({ seq: step.seq, payload: step.payload.slice() });
      let next = step.seq + 1;
      // Whatever else is already in memory, in sequence, below `good`: no more awaits.
      while (this.#ahead.length < PREFETCH && next <= seg.goodSeq) {
        const r = c.reader.nextBuffered(seg.good);
        if (r === undefined || r.seq !== next) {
          if (r !== undefined) await this.#drop(); // out of sequence: let `next` re-read and report it
          break;
        }
        this.#ahead.push({ seq: r.seq, payload: r.payload.slice() });
        next++;
      }
      this.#fetchSeq = next;
      return;
    }
  }

  /** Runtime corruption: quarantine the segment and move on, never spin on it. */
  async #corrupt(seg: Segment, reason: string, offset: number): Promise<void> {
    await this.#drop();
    const store = this.#store;
    const lost = seg.lastSeq - Math.max(this.#fetchSeq - 1, store.ackedSeq, seg.baseSeq - 1);
    this.lostRecords += Math.max(0, lost);
    this.quarantined++;
    this.#fetchSeq = seg.lastSeq + 1;
    seg.sealed = true;
    store.remove(seg);
    try {
      await this.#fs.rename(seg.path, join(store.dir, seg.name + QUARANTINE_SUFFIX));
    } catch (err) {
      this.#emit({ type: 'error', error: ioError(`quarantine ${seg.name}`, err) });
    }
    this.#emit({ type: 'quarantine', file: seg.name, reason, offset, during: 'read' });
  }
}
