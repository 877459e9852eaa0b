// Consumer progress: the checkpoint file, written by write-temp, fsync, rename, fsync(dir).
// Acks are coalesced: while one checkpoint write is in flight, later acks wait for the next.
// A segment is deleted only after a durable checkpoint covers all of its records.

import { join } from 'node:path';
import type { FileSystem } from './fs.js';
import type { Store } from './store.js';
import type { BufferError } from './errors.js';
import { ioError } from './errors.js';
import { encodeCheckpoint } from './codec.js';
import { CHECKPOINT_FILE, CHECKPOINT_TMP } from './recovery.js';

interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (err: unknown) => void;
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
  #waiters: Waiter[] = [];
  #running: Promise<void> | undefined;
  #again = false;

  constructor(fs: FileSystem, store: Store, hooks: CheckpointHooks) {
    this.#fs = fs;
    this.#store = store;
    this.#hooks = hooks;
  }

  /** Resolves once a durable checkpoint covers `seq`. */
  wait(seq: number): Promise<void> {
    if (this.#store.durableAckedSeq >= seq) return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => this.#waiters.push({ seq, resolve, reject }));
    this.schedule();
    return p;
  }

  schedule(): void {
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#running = this.#run().finally(() => {
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
      const target = store.ackedSeq;
      try {
        await this.#write(target);
      } catch (err) {
        const e = ioError('checkpoint write', err);
        const waiters = this.#waiters;
        this.#waiters = [];
        for (const w of waiters) w.reject(e);
        this.#again = false;
        this.#hooks.error(e);
        return;
      }
      store.durableAckedSeq = target;
      const keep: Waiter[] = [];
      for (const w of this.#waiters) (w.seq <= target ? w.resolve() : keep.push(w));
      this.#waiters = keep;
    }
    await this.#collect();
  }

  async #write(seq: number): Promise<void> {
    const fs = this.#fs;
    const dir = this.#store.dir;
    const tmp = join(dir, CHECKPOINT_TMP);
    const file = await fs.open(tmp, 'create');
    try {
      await file.write(encodeCheckpoint(seq), 0);
      await file.sync();
    } finally {
      await file.close().catch(() => undefined);
    }
    await fs.rename(tmp, join(dir, CHECKPOINT_FILE));
    await fs.syncDir(dir);
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

  /** Rejects pending waiters (used by close when the checkpoint could not be written). */
  failAll(err: unknown): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(err);
  }
}
