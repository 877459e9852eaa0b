// The append side: one queue, one writer loop. Records get their seq and segment when
// `append` is called (so order is fixed at call time); the loop writes them in order.
//
// After any failed write or fsync (ENOSPC, EIO…): the failing batch and everything queued
// behind it are rejected with IO_ERROR, and the segment is marked suspect. Before anything else
// is written, the suspect segment is repaired: truncated back to its last known-good offset and
// fsynced again (a segment whose creation failed is unlinked instead). A failed fsync is never
// retried as if it had succeeded: the bytes it covered are cut off, not trusted. Sequence
// numbers of rejected appends are reused after a successful repair, so on disk they stay dense.

import type { FileHandle, FileSystem } from './fs.js';
import type { Durability } from './options.js';
import type { Segment, Store } from './store.js';
import type { BufferError } from './errors.js';
import { ioError } from './errors.js';
import { encodeRecordHeaderInto, encodeRecordInto, encodeSegmentHeader, RECORD_HEADER_SIZE, SEGMENT_HEADER_SIZE } from './codec.js';
import { newSegment } from './store.js';
import { entrySize, groupChunks, writeChunks, type ChunkEntry } from './chunks.js';
import { trimSegment, type Preparer } from './prepare.js';

/** Groups up to this size wait one macrotask for stragglers before the next group is taken. */
const MERGE_BELOW = 256;

/** Encoded records are packed into arenas of this size, so a group is one contiguous write. */
const ARENA_BYTES = 1024 * 1024;

/** Most chunks in one vectored write (Linux IOV_MAX is 1024). */
const MAX_CHUNKS = 1024;

interface Entry extends ChunkEntry {
  seg: Segment;
  seq: number;
  /**
   * `arena[start, end)` holds the frame (for a segment's first record it starts with the
   * segment header) — or, when `payload` is set, the frame's header only, the payload following
   * on disk from `payload`.
   */
  /** Set when the group holding this entry was handed to the file system. */
  taken: boolean;
  resolve: (seq: number) => void;
  reject: (err: unknown) => void;
}

/** Group-commit tuning ('batch' mode). */
export interface CommitDelay {
  /** Longest wait for more appends before a group is written; 0 = none. */
  ms: number;
  /** The timer (injected: no clock inside the writer's logic). */
  delay: (ms: number) => Promise<void>;
}

export interface WriterHooks {
  /** A new segment begins; `completed`: a previous one was just closed, complete and durable. */
  sealed(completed: boolean): void;
  error(err: BufferError): void;
}

export class Writer {
  readonly #fs: FileSystem;
  readonly #store: Store;
  readonly #durability: Durability;
  readonly #segmentBytes: number;
  readonly #maxBatchBytes: number;
  readonly #hooks: WriterHooks;
  #queue: Entry[] = [];
  #head = 0;
  #arena = new Uint8Array(0);
  #arenaUsed = 0;
  #running: Promise<void> | undefined;
  /** Segment that needs repair before the next write. */
  #suspect: Segment | undefined;
  appended = 0;
  ioErrors = 0;

  readonly #commitDelay: CommitDelay;
  /** Records in the last group written: more than one means concurrent appenders. */
  #lastGroup = 0;

  /**
   * Payloads from this size up are not copied into the arena when the segment's handle has
   * `writev`: only their 16-byte frame header is, and the group is written as [header, payload]
   * chunks (`directWriteBytes`). Below it the copy costs less than an extra iovec.
   */
  readonly #directFrom: number;

  /** Prepares zero-filled segment files in the background (`preallocate`); undefined when off. */
  readonly #prep: Preparer | undefined;

  constructor(
    fs: FileSystem, store: Store, durability: Durability, segmentBytes: number, maxBatchBytes: number, hooks: WriterHooks,
    commitDelay: CommitDelay, directFrom: number, prep?: Preparer,
  ) {
    this.#prep = prep;
    this.#directFrom = directFrom;
    this.#commitDelay = commitDelay;
    this.#fs = fs;
    this.#store = store;
    this.#durability = durability;
    this.#segmentBytes = segmentBytes;
    this.#maxBatchBytes = maxBatchBytes;
    this.#hooks = hooks;
  }

  /** Whether a record of `frameSize` bytes needs a new segment. */
  needsNewSegment(frameSize: number): boolean {
    const a = this.#store.active;
    return a === undefined || a.reserved + frameSize > this.#segmentBytes;
  }

  /** Assigns seq and segment now, writes later. Capacity was checked by the caller. */
  enqueue(payload: Uint8Array): Promise<number> {
    const store = this.#store;
    const size = RECORD_HEADER_SIZE + payload.length;
    const fresh = this.needsNewSegment(size);
    if (fresh) {
      const prev = store.active;
      if (prev !== undefined) prev.sealed = true;
      const created = newSegment(store.dir, store.nextSeq, 0, store.nextSeq - 1, false);
      created.reserved = SEGMENT_HEADER_SIZE;
      store.segments.push(created);
    }
    const seg = store.active!;
    const seq = store.nextSeq++;
    const need = size + (fresh ? SEGMENT_HEADER_SIZE : 0);
    let arena = this.#arena;
    if (arena.length - this.#arenaUsed < need) {
      arena = this.#arena = new Uint8Array(Math.max(ARENA_BYTES, need));
      this.#arenaUsed = 0;
    }
    const start = this.#arenaUsed;
    let o = start;
    if (fresh) {
      arena.set(encodeSegmentHeader(seg.baseSeq), o);
      o += SEGMENT_HEADER_SIZE;
    }
    // Large payloads go to writev() as they are (no copy) when this segment's handle can do that
    // synchronously; a durable write (writeDurable, thread pool) reads them later: copied.
    const h = seg.handle;
    const direct = !fresh && payload.length >= this.#directFrom && h?.writev !== undefined && !this.#durableWith(h);
    let end: number;
    if (direct) {
      encodeRecordHeaderInto(arena, o, seq, payload);
      end = o + RECORD_HEADER_SIZE;
    } else {
      end = encodeRecordInto(arena, o, seq, payload);
    }
    this.#arenaUsed = end;
    // Keep the live totals right (Store.live before and after); this runs once per append.
    const before = store.live(seg);
    seg.lastSeq = seq;
    seg.reserved += size;
    const after = store.live(seg);
    store.liveBytes += after.bytes - before.bytes;
    store.liveRecords += after.records - before.records;
    seg.pending++;
    return new Promise<number>((resolve, reject) => {
      const entry: Entry = { seg, seq, arena, start, end, payload: direct ? payload : undefined, taken: false, resolve, reject };
      this.#queue.push(entry);
      if (this.#running === undefined) this.#running = this.#run();
      // Payload ownership: the caller may change its buffer once append() returns. The CRC was
      // taken above over the bytes as they are now; either the idle writer has just written them
      // (writev takes the bytes before it returns: the FileHandle contract), or they are copied
      // here, still inside the same synchronous append() call.
      if (direct && !entry.taken) entry.payload = payload.slice();
    });
  }

  /** Whether writes to `h` go through `writeDurable` (write + sync in one step). */
  #durableWith(h: FileHandle): boolean {
    return this.#durability !== 'none' && h.writeDurable !== undefined;
  }

  /** Resolves when the queue is empty. */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async #run(): Promise<void> {
    try {
      while (this.#head < this.#queue.length) {
        // PostgreSQL's commit_delay: when concurrent appenders were seen (the last group had more
        // than one record) and fewer are queued now, wait up to commitDelayMs once so more
        // appends share this group's fdatasync. A lone appender never waits.
        const cd = this.#commitDelay;
        if (this.#durability === 'batch' && cd.ms > 0 && this.#lastGroup > 1 && this.#queue.length - this.#head < this.#lastGroup) {
          await cd.delay(cd.ms);
        }
        const batch = this.#take();
        this.#lastGroup = batch.length;
        await this.#write(batch);
        // Group commit: after a small group, when far fewer appends are queued than were just
        // written, give the appenders whose appends just resolved one turn to queue their next
        // ones, so groups merge (else 16 awaiting appenders settle into two alternating groups of
        // ~8). Large groups write on at once: that keeps CPU work overlapped with the sync.
        const queued = this.#queue.length - this.#head;
        if (this.#durability === 'batch' && batch.length <= MERGE_BELOW && queued * 2 < batch.length) {
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
    } finally {
      this.#queue = [];
      this.#head = 0;
      this.#running = undefined;
      // Nothing queued or being written refers to the arena any more: the next appends reuse it
      // from the start (warm pages) instead of allocating a new one every arena's worth of bytes.
      this.#arenaUsed = 0;
    }
  }

  #take(): Entry[] {
    let q = this.#queue;
    if (this.#head > 4096 && this.#head * 2 > q.length) {
      // Under sustained load the loop never ends: drop the consumed prefix now and then.
      q = this.#queue = q.slice(this.#head);
      this.#head = 0;
    }
    const first = q[this.#head++]!;
    const batch = [first];
    if (this.#durability === 'fsync') return batch;
    let last = first;
    // One group = one segment. Without writev: one contiguous slice of one arena; with it, any
    // entries of the segment up to maxBatchBytes and MAX_CHUNKS chunks.
    const vectored = first.seg.handle?.writev !== undefined;
    let bytes = entrySize(first);
    let chunks = first.payload === undefined ? 1 : 2;
    while (this.#head < q.length) {
      const e = q[this.#head]!;
      if (e.seg !== first.seg) break;
      const contiguous = e.arena === last.arena && e.start === last.end && last.payload === undefined;
      if (!contiguous && !vectored) break;
      bytes += entrySize(e);
      chunks += (contiguous ? 0 : 1) + (e.payload === undefined ? 0 : 1);
      if (bytes > this.#maxBatchBytes || chunks > MAX_CHUNKS) break;
      batch.push(e);
      last = e;
      this.#head++;
    }
    return batch;
  }

  async #write(batch: Entry[]): Promise<void> {
    const seg = batch[0]!.seg;
    const fs = this.#fs;
    try {
      if (this.#suspect !== undefined) await this.#repair();
      let fresh = false;
      if (seg.handle === undefined) {
        if (seg.created) {
          seg.handle = await fs.open(seg.path, 'readwrite');
        } else {
          await this.#sealPrevious(seg);
          seg.handle = await this.#create(seg);
          fresh = true;
        }
      }
      const position = fresh ? 0 : seg.written;
      const chunks = groupChunks(batch);
      let length = 0;
      for (const c of chunks) length += c.length;
      for (const e of batch) e.taken = true;
      if (this.#durableWith(seg.handle)) {
        // One step, one thread-pool round trip (O_DSYNC): durable when it resolves.
        await seg.handle.writeDurable!(chunks, position);
        seg.written = position + length;
      } else {
        await writeChunks(seg.handle, chunks, position);
        seg.written = position + length;
        if (this.#durability !== 'none') await seg.handle.sync();
      }
      if (fresh) {
        // The new file's directory entry must be durable before its first append resolves.
        await fs.syncDir(this.#store.dir);
        seg.created = true;
      }
    } catch (err) {
      this.#fail(seg, ioError('append', err), batch);
      return;
    }
    const last = batch[batch.length - 1]!;
    seg.good = seg.written;
    seg.goodSeq = last.seq;
    // The high-water mark covers only synced records (in 'none' mode: at seal and close).
    if (this.#durability !== 'none' && last.seq > this.#store.highSeq) this.#store.highSeq = last.seq;
    seg.pending -= batch.length;
    this.appended += batch.length;
    this.#store.notify();
    for (const e of batch) e.resolve(e.seq);
  }

  /** Opens a new segment's file: the prepared (zero-filled) one if ready, else a new empty file. */
  #create(seg: Segment): Promise<FileHandle> {
    return this.#prep === undefined ? this.#fs.open(seg.path, 'create') : this.#prep.open(seg);
  }

  /** Before a new segment exists, the previous one is complete and durable, then closed. */
  async #sealPrevious(seg: Segment): Promise<void> {
    const segs = this.#store.segments;
    const i = segs.indexOf(seg);
    let completed = false;
    for (let j = i - 1; j >= 0; j--) {
      const prev = segs[j]!;
      if (prev.handle === undefined) continue;
      completed = true;
      const h = prev.handle;
      prev.handle = undefined; // ours now: the checkpointer will not close it under the sync
      try {
        await trimSegment(prev, h);
        if (this.#durability === 'none') {
          await h.sync();
          if (prev.goodSeq > this.#store.highSeq) this.#store.highSeq = prev.goodSeq;
        }
      } finally {
        await h.close().catch(() => undefined);
      }
    }
    this.#hooks.sealed(completed);
  }

  #fail(seg: Segment, err: BufferError, batch: Entry[]): void {
    this.ioErrors++;
    const store = this.#store;
    // Reject everything still queued: its seqs are handed out again after the repair.
    const rejected = [...batch];
    for (let i = this.#head; i < this.#queue.length; i++) rejected.push(this.#queue[i]!);
    this.#queue = [];
    this.#head = 0;
    this.#suspect = seg;
    const i = store.segments.indexOf(seg);
    // Segments allocated after `seg` were never touched on disk.
    for (const later of store.segments.splice(i + 1)) later.gone = true;
    seg.lastSeq = seg.goodSeq;
    seg.reserved = seg.good > 0 ? seg.good : SEGMENT_HEADER_SIZE;
    seg.pending = 0;
    if (seg.good === 0) {
      seg.gone = true;
      store.segments.splice(i, 1);
    } else {
      seg.sealed = false;
    }
    let top = store.ackedSeq;
    for (const s of store.segments) top = Math.max(top, s.lastSeq);
    store.nextSeq = top + 1;
    store.recount();
    for (const e of rejected) e.reject(err);
    this.#hooks.error(err);
  }

  /** Truncates the suspect segment to its last good offset and syncs, or unlinks a failed creation. */
  async #repair(): Promise<void> {
    const seg = this.#suspect!;
    const fs = this.#fs;
    if (seg.good === 0) {
      if (seg.handle !== undefined) {
        const h = seg.handle;
        seg.handle = undefined;
        await h.close().catch(() => undefined);
      }
      try {
        await fs.unlink(seg.path);
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'ENOENT') throw err;
      }
      await fs.syncDir(this.#store.dir);
    } else {
      if (seg.handle === undefined) seg.handle = await fs.open(seg.path, 'readwrite');
      await seg.handle.truncate(seg.good);
      await seg.handle.sync();
      seg.written = seg.good;
      seg.prealloc = false;
    }
    this.#suspect = undefined;
  }

  /** Syncs (in 'none' mode) and closes every writer handle. */
  async close(): Promise<void> {
    await this.idle();
    await this.#prep?.stop();
    for (const seg of this.#store.segments) {
      if (seg.handle === undefined) continue;
      const h = seg.handle;
      seg.handle = undefined;
      try {
        if (this.#suspect !== seg) await trimSegment(seg, h);
        if (this.#durability === 'none' && this.#suspect === undefined) {
          await h.sync();
          if (seg.goodSeq > this.#store.highSeq) this.#store.highSeq = seg.goodSeq;
        }
      } catch (err) {
        this.#hooks.error(ioError('close: sync', err));
      } finally {
        await h.close().catch(() => undefined);
      }
    }
  }

  /** Whether no write is queued or running. */
  get quiet(): boolean {
    return this.#running === undefined;
  }
}

