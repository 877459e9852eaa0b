// In-memory state shared by the writer, the consumer and the checkpointer: the segment list,
// sequence counters and the capacity accounting. No I/O here.

import { join } from 'node:path';
import type { FileHandle } from './fs.js';
import type { Hole } from './scan.js';
import { segmentFileName } from './codec.js';

export interface Segment {
  readonly name: string;
  readonly path: string;
  readonly baseSeq: number;
  /** Last seq assigned to this segment (queued appends included); baseSeq - 1 when empty. */
  lastSeq: number;
  /** Bytes assigned (header and queued appends included). */
  reserved: number;
  /** Bytes written by successful writes. */
  written: number;
  /** Bytes known good: synced ('fsync'/'batch') or written ('none'). Readers stop here. */
  good: number;
  /** Last seq inside `good`. */
  goodSeq: number;
  /** The file exists and its directory entry was synced. */
  created: boolean;
  /** No further appends go here. */
  sealed: boolean;
  /** Queued appends not yet settled. */
  pending: number;
  /** Writer's open handle. */
  handle: FileHandle | undefined;
  /** The file is a preallocated (zero-filled) one, longer than `written`: truncated when closed. */
  prealloc: boolean;
  /** Deleted or quarantined. */
  gone: boolean;
  /** Damaged byte ranges below `good`, already reported: readers skip them silently. */
  holes: Hole[];
}

export function newSegment(dir: string, baseSeq: number, size: number, lastSeq: number, created: boolean, name = segmentFileName(baseSeq)): Segment {
  return {
    name,
    path: join(dir, name),
    baseSeq,
    lastSeq,
    reserved: size,
    written: size,
    good: size,
    goodSeq: lastSeq,
    created,
    sealed: false,
    pending: 0,
    handle: undefined,
    prealloc: false,
    gone: false,
    holes: [],
  };
}

export class Store {
  readonly dir: string;
  readonly segments: Segment[] = [];
  nextSeq: number;
  /** Everything at or below is acknowledged (or dropped) in memory. */
  ackedSeq: number;
  /** Everything at or below is covered by a durable checkpoint. */
  durableAckedSeq: number;
  /** Bytes of segments holding an unacknowledged record. */
  liveBytes = 0;
  /** Unacknowledged records, queued appends included. */
  liveRecords = 0;
  /** High-water mark: the highest seq ever durably appended (persisted in every checkpoint). */
  highSeq: number;
  /** Bumped whenever readable data or the ack floor changes; wakes waiting readers. */
  version = 0;
  #wake: Array<() => void> = [];

  constructor(dir: string, nextSeq: number, ackedSeq: number) {
    this.dir = dir;
    this.nextSeq = nextSeq;
    this.ackedSeq = ackedSeq;
    this.durableAckedSeq = ackedSeq;
    this.highSeq = nextSeq - 1;
  }

  /** The segment new appends go to, if it can take more. */
  get active(): Segment | undefined {
    const last = this.segments[this.segments.length - 1];
    return last !== undefined && !last.sealed ? last : undefined;
  }

  live(seg: Segment, acked = this.ackedSeq): { bytes: number; records: number } {
    if (seg.gone || seg.lastSeq <= acked || seg.lastSeq < seg.baseSeq) return { bytes: 0, records: 0 };
    return { bytes: seg.reserved, records: seg.lastSeq - Math.max(acked, seg.baseSeq - 1) };
  }

  /** Raises the ack floor to `seq`; returns the records it newly covered. */
  advanceAck(seq: number): number {
    if (seq <= this.ackedSeq) return 0;
    const old = this.ackedSeq;
    let covered = 0;
    for (const seg of this.segments) {
      if (seg.baseSeq > seq) break;
      const before = this.live(seg, old);
      const after = this.live(seg, seq);
      this.liveBytes += after.bytes - before.bytes;
      this.liveRecords += after.records - before.records;
      covered += before.records - after.records;
    }
    this.ackedSeq = seq;
    this.notify();
    return covered;
  }

  recount(): void {
    this.liveBytes = 0;
    this.liveRecords = 0;
    for (const seg of this.segments) {
      const l = this.live(seg);
      this.liveBytes += l.bytes;
      this.liveRecords += l.records;
    }
  }

  remove(seg: Segment): void {
    const i = this.segments.indexOf(seg);
    if (i >= 0) this.segments.splice(i, 1);
    seg.gone = true;
    this.recount();
    this.notify();
  }

  /** First segment that may hold `seq` or a later record. */
  locate(seq: number): Segment | undefined {
    for (const seg of this.segments) if (!seg.gone && seg.lastSeq >= seq) return seg;
    return undefined;
  }

  notify(): void {
    this.version++;
    const wake = this.#wake;
    this.#wake = [];
    for (const w of wake) w();
  }

  /** Registers a wake-up callback; returns a function that unregisters it. */
  onChange(cb: () => void): () => void {
    this.#wake.push(cb);
    return () => {
      const i = this.#wake.indexOf(cb);
      if (i >= 0) this.#wake.splice(i, 1);
    };
  }
}
