// Consumer progress: the checkpoint file, written by write-temp, fsync, rename, fsync(dir).
// Acks are coalesced: while one checkpoint write is in flight, later acks wait for the next.
// A segment is deleted only after a durable checkpoint covers all of its records.

import { join } from 'node:path';
import type { FileSystem } from './fs.js';
import type { Store } from './store.js';
import type { BufferError } from './errors.js';
import { ioError } from './errors.js';
import type { IndexEntry } from './codec.js';
import { encodeCheckpoint } from './codec.js';
import { CHECKPOINT_FILE, CHECKPOINT_TMP } from './recovery.js';

/** One checkpoint write; every ack it covers shares its promise (no allocation per ack). */
interface Round {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
  /** Seq the write covers; set when the write starts. */
  target: number;
}

function newRound(): Round {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A round nobody waits for (a drop, close) must not become an unhandled rejection; callers of
  // `wait` still see the rejection on the promise they got.
  promise.catch(() => undefined);
  return { promise, resolve, reject, target: 0 };
}

export interface CheckpointHooks {
  error(err: BufferError): void;
  /** Called before a segment file is deleted so readers can let go of it. */
  releasing(name: string): Promise<void>;
}

export class Checkpointer {
  readonly #fs: FileSystem;
  readonly #store: Store;
  readonly #hooks: CheckpointHooks;
  readonly #maxIndexEntries: number;
  /** The write in progress. */
  #inflight: Round | undefined;
  /** The write after it, for acks beyond the in-flight target. */
  #next: Round | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #indexDirty = false;

  constructor(fs: FileSystem, store: Store, hooks: CheckpointHooks, maxIndexEntries = 4096) {
    this.#fs = fs;
    this.#maxIndexEntries = maxIndexEntries;
    this.#store = store;
    this.#hooks = hooks;
  }

  /** Resolves once a durable checkpoint covers `seq`. */
  wait(seq: number): Promise<void> {
    if (this.#store.durableAckedSeq >= seq) return Promise.resolve();
    if (this.#inflight !== undefined && seq <= this.#inflight.target) return this.#inflight.promise;
    const round = (this.#next ??= newRound());
    this.schedule(); // may start the write at once and take `round` as in flight
    return round.promise;
  }

  /**
   * Starts a checkpoint write if acks are waiting for one. `indexChanged`: a segment was just
   * completed, so a checkpoint is written even without new acks — it adds the segment to the
   * seal's index and moves the high-water mark, and after a crash only the newest segment is
   * scanned.
   */
  schedule(indexChanged = false): void {
    if (indexChanged) this.#indexDirty = true;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#running = this.#run()
      .catch((err: unknown) => this.#hooks.error(ioError('checkpoint', err)))
      .finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        this.schedule();
      }
    });
  }

  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async #run(): Promise<void> {
    const store = this.#store;
    while (store.durableAckedSeq < store.ackedSeq) {
      const round = this.#next ?? newRound();
      this.#next = undefined;
      round.target = store.ackedSeq;
      this.#inflight = round;
      this.#indexDirty = false; // this write carries the index as it is now
      try {
        await this.#write(round.target);
      } catch (err) {
        const e = ioError('checkpoint write', err);
        this.#inflight = undefined;
        round.reject(e);
        const next = this.#next as Round | undefined; // acks may have queued one during the write
        next?.reject(e);
        this.#next = undefined;
        this.#again = false;
        this.#hooks.error(e);
        return;
      }
      store.durableAckedSeq = round.target;
      this.#inflight = undefined;
      round.resolve();
    }
    if (this.#indexDirty) {
      this.#indexDirty = false;
      await this.#write(store.durableAckedSeq);
    }
    await this.#collect();
  }

  async #write(seq: number): Promise<void> {
    const fs = this.#fs;
    const dir = this.#store.dir;
    const tmp = join(dir, CHECKPOINT_TMP);
    const file = await fs.open(tmp, 'create');
    try {
      await file.write(encodeCheckpoint(seq, this.#store.highSeq, this.#index()), 0);
      await file.sync();
    } finally {
      await file.close().catch(() => undefined);
    }
    await fs.rename(tmp, join(dir, CHECKPOINT_FILE));
    await fs.syncDir(dir);
  }

  /**
   * The seal: complete, durable segments the next open may trust without a CRC scan (at most
   * `maxIndexEntries`; the rest are scanned). A segment qualifies when no writer handle is open
   * on it and nothing is queued for it: everything up to `good` is on disk.
   */
  #index(): IndexEntry[] {
    const out: IndexEntry[] = [];
    for (const seg of this.#store.segments) {
      if (out.length >= this.#maxIndexEntries) break;
      if (seg.gone || !seg.created || seg.handle !== undefined || seg.pending > 0 || seg.lastSeq < seg.baseSeq || seg.good !== seg.written) continue;
      out.push({ baseSeq: seg.baseSeq, lastSeq: seg.goodSeq, size: seg.good });
    }
    return out;
  }

  /** Writes a checkpoint now, whether or not the ack moved: at close, it seals the tail too. */
  async seal(): Promise<void> {
    await this.idle();
    await this.#write(this.#store.durableAckedSeq);
  }

  /** Deletes sealed, idle segments that the durable checkpoint covers entirely. */
  async #collect(): Promise<void> {
    const store = this.#store;
    for (;;) {
      const seg = store.segments[0];
      if (seg === undefined || seg === store.active || seg.pending > 0) return;
      if (seg.lastSeq > store.durableAckedSeq) return;
      await this.#hooks.releasing(seg.name);
      if (seg.handle !== undefined) {
        // Sealed with nothing queued (e.g. dropped while active): the writer is done with it.
        const h = seg.handle;
        seg.handle = undefined;
        await h.close().catch(() => undefined);
      }
      try {
        await this.#fs.unlink(seg.path);
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'ENOENT') {
          this.#hooks.error(ioError(`delete ${seg.name}`, err));
          return;
        }
      }
      store.remove(seg);
    }
  }

}
