// The public buffer: argument checks, capacity policy, events and stats, composed over the
// writer (append side), the consumer (read side) and the checkpointer (ack side).

import type { BufferEventListener, BufferEventType } from './events.js';
import type { BufferOptions, ResolvedOptions } from './options.js';
import type { BufferStats } from './stats.js';
import type { BufferRecord } from './consumer.js';
import type { DrainOptions, DrainResult, DrainSender } from './drain.js';
import { Emitter } from './events.js';
import { BufferError, ioError } from './errors.js';
import { describeValue, resolveOptions } from './options.js';
import { recover } from './recovery.js';
import { newSegment, Store } from './store.js';
import { Writer } from './writer.js';
import { Preparer } from './prepare.js';
import { Consumer } from './consumer.js';
import { Checkpointer } from './checkpointer.js';
import { checkDrainArgs, runDrain } from './drain.js';
import { inspectBuffer, type BufferReport } from './inspect.js';
import { RECORD_HEADER_SIZE, SEGMENT_HEADER_SIZE } from './codec.js';

/**
 * Options of `read`.
 *
 * @example
 * ```ts
 * import type { ReadOptions } from '@outpost/edge-buffer';
 * const options: ReadOptions = { signal: AbortSignal.timeout(5_000) };
 * ```
 */
export interface ReadOptions {
  /** Stops waiting; `read` then rejects with `BufferError` code `ABORTED`. */
  signal?: AbortSignal;
}

/**
 * A durable FIFO buffer opened by {@link openBuffer}. One producer side (`append`) and one
 * consumer side (`read`/`peek`/`ack`/`drain`); both may be used concurrently.
 *
 * @example
 * ```ts
 * import { openBuffer } from '@outpost/edge-buffer';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * import type { EdgeBuffer } from '@outpost/edge-buffer';
 * const buf: EdgeBuffer = await openBuffer({ dir: mkdtempSync(join(tmpdir(), 'eb-')), maxBytes: 1 << 20 });
 * await buf.append(new TextEncoder().encode('hello'));
 * const rec = await buf.read();
 * await buf.ack(rec.seq);
 * await buf.close();
 * ```
 */
export interface EdgeBuffer {
  /**
   * Stores `payload` (copied) and resolves its seq once durable per the durability mode.
   * @throws TypeError if payload is not a Uint8Array; BufferError `RECORD_TOO_LARGE`, `BUFFER_FULL`, `CLOSED`, `IO_ERROR`.
   */
  append(payload: Uint8Array): Promise<number>;
  /** Next record in order, waiting until one is appended. @throws BufferError `ABORTED`, `CLOSED`, `IO_ERROR`. */
  read(options?: ReadOptions): Promise<BufferRecord>;
  /** Next record in order, or undefined when none is readable now. */
  tryRead(): Promise<BufferRecord | undefined>;
  /** The record `read` would deliver next, without consuming it; undefined when none. */
  peek(): Promise<BufferRecord | undefined>;
  /**
   * Acknowledges every record up to and including `seq` (cumulative). Resolves when a durable
   * checkpoint covers it; segments it covers entirely are deleted after that.
   * @throws RangeError if seq is beyond the last record read; BufferError `CLOSED`, `IO_ERROR`.
   */
  ack(seq: number): Promise<void>;
  /** Moves the read cursor back to the first unacknowledged record (redelivery without restart). */
  rewind(): Promise<void>;
  /** Sends records in order through `send`, acknowledging what it confirmed. @throws the sender's error, after acking the confirmed prefix. */
  drain(send: DrainSender, options?: DrainOptions): Promise<DrainResult>;
  stats(): BufferStats;
  /**
   * CRC-checks every segment now — including those a sealed open trusted without reading — and
   * reports damage and lost ranges as {@link inspectBuffer} does. Changes nothing; damage it finds
   * is skipped (and reported by events) when the reader reaches it.
   * @throws BufferError `CLOSED`, `IO_ERROR`.
   */
  verify(): Promise<BufferReport>;
  /** Subscribes to one event type; returns the unsubscribe function. */
  on<T extends BufferEventType>(type: T, listener: BufferEventListener<T>): () => void;
  /** Finishes queued appends and checkpoint writes, then releases files. Idempotent. */
  close(): Promise<void>;
}

class DiskBuffer implements EdgeBuffer {
  readonly #o: ResolvedOptions;
  readonly #emitter: Emitter;
  readonly #store: Store;
  readonly #writer: Writer;
  readonly #consumer: Consumer;
  readonly #checkpointer: Checkpointer;
  #serial: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;
  #draining = false;
  #dropped = 0;
  readonly #recovered: RecoveredCounts;
  readonly #closeWaiters = new Set<(err: BufferError) => void>();

  constructor(o: ResolvedOptions, emitter: Emitter, store: Store, recovered: RecoveredCounts, prep?: Preparer) {
    this.#o = o;
    this.#emitter = emitter;
    this.#store = store;
    this.#recovered = recovered;
    const emit = (e: Parameters<Emitter['emit']>[0]): void => emitter.emit(e);
    this.#consumer = new Consumer(o.fs, store, Math.max(o.maxRecordBytes, READ_LIMIT), emit);
    this.#checkpointer = new Checkpointer(o.fs, store, {
      error: (error) => emit({ type: 'error', error }),
      // Through the consumer's lock: never close a file under a read in progress.
      releasing: (name) => this.#exclusive(() => this.#consumer.release(name)),
    });
    this.#writer = new Writer(o.fs, store, o.durability, o.segmentBytes, o.maxBatchBytes, {
      sealed: (completed) => this.#checkpointer.schedule(completed),
      error: (error) => emit({ type: 'error', error }),
    }, { ms: o.commitDelayMs, delay: o.delay }, o.directWriteBytes, prep);
    prep?.start();
  }

  async append(payload: Uint8Array): Promise<number> {
    if (!(payload instanceof Uint8Array)) throw new TypeError(`append: payload: expected a Uint8Array, found ${describeValue(payload)}`);
    if (this.#closing !== undefined) throw new BufferError('CLOSED', 'append: the buffer is closed');
    if (payload.length > this.#o.maxRecordBytes) {
      throw new BufferError('RECORD_TOO_LARGE', `append: payload: expected at most ${this.#o.maxRecordBytes} bytes (maxRecordBytes), found ${payload.length}`);
    }
    this.#makeRoom(RECORD_HEADER_SIZE + payload.length);
    return this.#writer.enqueue(payload);
  }

  #makeRoom(frame: number): void {
    const store = this.#store;
    const o = this.#o;
    for (;;) {
      const fresh = this.#writer.needsNewSegment(frame);
      const active = store.active;
      let extra = fresh ? SEGMENT_HEADER_SIZE + frame : frame;
      if (!fresh && active !== undefined && store.live(active).bytes === 0) extra += active.reserved;
      if (store.liveBytes + extra <= o.maxBytes && store.liveRecords + 1 <= o.maxRecords) return;
      if (o.overflow === 'reject') {
        throw new BufferError(
          'BUFFER_FULL',
          `append: buffer is full (${store.liveRecords} records, ${store.liveBytes} of maxBytes ${o.maxBytes}` +
            `${o.maxRecords < Number.MAX_SAFE_INTEGER ? `, maxRecords ${o.maxRecords}` : ''}); ack records or use overflow 'drop-oldest'`,
        );
      }
      const victim = store.segments.find((s) => store.live(s).records > 0);
      if (victim === undefined) throw new BufferError('BUFFER_FULL', `append: a ${frame}-byte record does not fit in maxBytes ${o.maxBytes}`);
      if (victim === store.active) victim.sealed = true;
      const firstSeq = Math.max(store.ackedSeq + 1, victim.baseSeq);
      const count = store.advanceAck(victim.lastSeq);
      this.#dropped += count;
      this.#emitter.emit({ type: 'drop', count, firstSeq, lastSeq: victim.lastSeq });
      this.#checkpointer.schedule();
    }
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#serial.then(fn, fn);
    this.#serial = run.catch(() => undefined);
    return run;
  }

  async read(options?: ReadOptions): Promise<BufferRecord> {
    let signal: AbortSignal | undefined;
    if (options !== undefined) {
      if (typeof options !== 'object' || options === null) throw new TypeError(`read: options: expected an object, found ${describeValue(options)}`);
      const s = (options as { signal?: unknown }).signal;
      if (s !== undefined && !(s instanceof AbortSignal)) throw new TypeError(`read: signal: expected an AbortSignal, found ${describeValue(s)}`);
      signal = s;
    }
    for (;;) {
      if (this.#closing !== undefined) throw new BufferError('CLOSED', 'read: the buffer is closed');
      if (signal?.aborted === true) throw new BufferError('ABORTED', 'read: aborted', { cause: signal.reason });
      const version = this.#store.version;
      const rec = await this.#exclusive(() => this.#consumer.take());
      if (rec !== undefined) return rec;
      if (this.#store.version !== version) continue;
      await this.#changed(signal);
    }
  }

  #changed(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#closing !== undefined) {
        reject(new BufferError('CLOSED', 'read: the buffer was closed while waiting'));
        return;
      }
      if (signal?.aborted === true) {
        reject(new BufferError('ABORTED', 'read: aborted', { cause: signal.reason }));
        return;
      }
      const done = (): void => {
        off();
        this.#closeWaiters.delete(onClose);
        signal?.removeEventListener('abort', onAbort);
      };
      const off = this.#store.onChange(() => {
        done();
        resolve();
      });
      const onClose = (err: BufferError): void => {
        done();
        reject(err);
      };
      const onAbort = (): void => {
        done();
        reject(new BufferError('ABORTED', 'read: aborted', { cause: signal?.reason }));
      };
      this.#closeWaiters.add(onClose);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async tryRead(): Promise<BufferRecord | undefined> {
    if (this.#closing !== undefined) throw new BufferError('CLOSED', 'tryRead: the buffer is closed');
    return this.#exclusive(() => this.#consumer.take());
  }

  async peek(): Promise<BufferRecord | undefined> {
    if (this.#closing !== undefined) throw new BufferError('CLOSED', 'peek: the buffer is closed');
    return this.#exclusive(() => this.#consumer.peek());
  }

  async rewind(): Promise<void> {
    if (this.#closing !== undefined) throw new BufferError('CLOSED', 'rewind: the buffer is closed');
    return this.#exclusive(() => this.#consumer.rewind());
  }

  async ack(seq: number): Promise<void> {
    if (typeof seq !== 'number') throw new TypeError(`ack: seq: expected a number, found ${describeValue(seq)}`);
    if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`ack: seq: expected a non-negative integer, found ${seq}`);
    if (this.#closing !== undefined) throw new BufferError('CLOSED', 'ack: the buffer is closed');
    const store = this.#store;
    if (seq > store.ackedSeq && seq > this.#consumer.delivered) {
      throw new RangeError(`ack: seq: expected at most ${this.#consumer.delivered} (the last record read), found ${seq}`);
    }
    store.advanceAck(seq);
    return this.#checkpointer.wait(seq);
  }

  async drain(send: DrainSender, options?: DrainOptions): Promise<DrainResult> {
    const opts = checkDrainArgs(send, options);
    if (this.#closing !== undefined) throw new BufferError('CLOSED', 'drain: the buffer is closed');
    if (this.#draining) throw new BufferError('BUSY', 'drain: another drain is running on this buffer');
    this.#draining = true;
    try {
      return await runDrain(this, send, opts);
    } finally {
      this.#draining = false;
    }
  }

  stats(): BufferStats {
    const s = this.#store;
    return {
      records: s.liveRecords,
      bytes: s.liveBytes,
      segments: s.segments.length,
      nextSeq: s.nextSeq,
      ackedSeq: s.ackedSeq,
      durableAckedSeq: s.durableAckedSeq,
      readSeq: Math.max(this.#consumer.readSeq, s.ackedSeq + 1),
      appended: this.#writer.appended,
      dropped: this.#dropped,
      quarantined: this.#recovered.quarantined,
      lostRecords: this.#recovered.lostRecords + this.#consumer.lostRecords,
      truncatedBytes: this.#recovered.truncatedBytes,
      ioErrors: this.#writer.ioErrors,
      durability: this.#o.durability,
      overflow: this.#o.overflow,
      closed: this.#closing !== undefined,
    };
  }

  async verify(): Promise<BufferReport> {
    if (this.#closing !== undefined) throw new BufferError('CLOSED', 'verify: the buffer is closed');
    const limits = new Map<string, number>();
    for (const seg of this.#store.segments) if (!seg.gone && seg.created) limits.set(seg.name, seg.good);
    try {
      return await inspectBuffer({ dir: this.#o.dir, fs: this.#o.fs, verify: true, maxRecordBytes: Math.max(this.#o.maxRecordBytes, READ_LIMIT), limits });
    } catch (err) {
      throw ioError('verify', err);
    }
  }

  on<T extends BufferEventType>(type: T, listener: BufferEventListener<T>): () => void {
    if (typeof type !== 'string' || !EVENT_TYPES.includes(type)) {
      throw new TypeError(`on: type: expected one of ${EVENT_TYPES.join(', ')}, found ${describeValue(type)}`);
    }
    if (typeof listener !== 'function') throw new TypeError(`on: listener: expected a function, found ${describeValue(listener)}`);
    return this.#emitter.on(type, listener);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const err = new BufferError('CLOSED', 'read: the buffer was closed while waiting');
    for (const w of [...this.#closeWaiters]) w(err);
    await this.#writer.idle();
    this.#checkpointer.schedule();
    await this.#checkpointer.idle();
    await this.#writer.close();
    await this.#serial;
    // The seal: the next open trusts every segment it lists whose size and header still match.
    await this.#checkpointer.seal().catch((err: unknown) => this.#emitter.emit({ type: 'error', error: ioError('close: seal', err) }));
    await this.#consumer.close();
  }
}

interface RecoveredCounts {
  quarantined: number;
  truncatedBytes: number;
  lostRecords: number;
}

const EVENT_TYPES: readonly string[] = ['quarantine', 'truncate', 'damage', 'lost', 'drop', 'error'];
/** Records up to this size written by an instance with a larger `maxRecordBytes` still read back. */
const READ_LIMIT = 64 * 1024 * 1024;

/**
 * Opens (creating if needed) the buffer in `options.dir`, recovering from any crash first:
 * a torn tail is truncated, a corrupt segment quarantined (see the README's recovery rules).
 *
 * @param options - see {@link BufferOptions}; `dir` and `maxBytes` are required.
 * @returns the open buffer; reading resumes after the last durable checkpoint.
 * @throws TypeError / RangeError for bad options; BufferError `IO_ERROR` when the directory cannot be used.
 *
 * @example
 * ```ts
 * import { openBuffer } from '@outpost/edge-buffer';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const buf = await openBuffer({ dir: mkdtempSync(join(tmpdir(), 'eb-')), maxBytes: 8 << 20, overflow: 'reject', durability: 'batch' });
 * const seq = await buf.append(new Uint8Array([1, 2, 3]));
 * const publish = async (payload: Uint8Array): Promise<void> => { void payload; }; // e.g. MQTT publish, resolves on PUBACK
 * const result = await buf.drain((rec) => publish(rec.payload), { maxInFlight: 8 });
 * // result.sent === 1, result.lastSeq === seq
 * await buf.close();
 * ```
 */
export async function openBuffer(options: BufferOptions): Promise<EdgeBuffer> {
  const o = resolveOptions(options);
  const emitter = new Emitter(o.onEvent);
  let r;
  try {
    r = await recover(o.fs, o.dir, Math.max(o.maxRecordBytes, READ_LIMIT), (e) => emitter.emit(e));
  } catch (err) {
    if (err instanceof BufferError) throw err;
    throw new BufferError('IO_ERROR', `openBuffer: recovery of ${o.dir} failed (${(err as { code?: unknown }).code ?? String(err)})`, { cause: err });
  }
  const store = new Store(o.dir, r.nextSeq, r.ackedSeq);
  for (const s of r.segments) {
    const seg = newSegment(o.dir, s.baseSeq, s.size, s.lastSeq, true, s.name);
    seg.sealed = true;
    seg.holes = s.holes;
    store.segments.push(seg);
  }
  const tail = store.segments[store.segments.length - 1];
  const last = r.segments[r.segments.length - 1];
  // Keep appending to the recovered newest segment when its seqs continue densely.
  if (tail !== undefined && last?.appendable === true && tail.lastSeq + 1 === r.nextSeq) tail.sealed = false;
  store.recount();
  const prep = await openPreparer(o);
  return new DiskBuffer(o, emitter, store, { quarantined: r.quarantined, truncatedBytes: r.truncatedBytes, lostRecords: r.lostRecords }, prep);
}

/** The segment preparer (`preallocate`, durable modes only); removes leftovers of an earlier one. */
async function openPreparer(o: ResolvedOptions): Promise<Preparer | undefined> {
  const enabled = o.preallocate && o.durability !== 'none';
  try {
    const ready = await Preparer.init(o.fs, o.dir, o.segmentBytes, enabled);
    return enabled ? new Preparer(o.fs, o.dir, o.segmentBytes, ready) : undefined;
  } catch (err) {
    throw new BufferError('IO_ERROR', `openBuffer: segment preparation in ${o.dir} failed (${(err as { code?: unknown }).code ?? String(err)})`, { cause: err });
  }
}
