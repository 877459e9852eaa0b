// The block-window engine of the stream downloader: keeps up to `requestsInFlight` windows asked for,
// asks with a GetStream bitmap for the ones neither held nor pending, refuses blocks that fail
// the per-block check, re-asks after a quiet `timeoutMs`, and hands blocks over in order.
import { JobsError } from '../errors.js';
import { bitmapOf } from './bitmap.js';
import { decodeDataBlock, decodeStreamRejection, encodeGetStream, type StreamFormat } from './codec.js';
import type { Link } from './mqtt.js';

/** Timers of the downloader (injectable so tests can drive time). */
export interface DeliveryTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Node's timers. */
export const systemTimers: DeliveryTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Counters of one download. */
export interface FetchCounters {
  requests: number;
  blocksReceived: number;
  corruptBlocks: number;
  duplicateBlocks: number;
  timeouts: number;
}

/** Messages of one stream download, fed by the client's single listener. */
export class Inbox {
  private queue: Array<{ kind: 'data' | 'rejected' | 'description'; payload: Uint8Array }> = [];
  private wake: (() => void) | undefined;
  /** A failure that ends the download (a request the broker refused), seen by the next wait. */
  failure: JobsError | undefined;
  fail(err: JobsError): void {
    this.failure ??= err;
    this.wake?.();
  }
  push(kind: 'data' | 'rejected' | 'description', payload: Uint8Array): void {
    this.queue.push({ kind, payload });
    this.wake?.();
  }
  take(): { kind: 'data' | 'rejected' | 'description'; payload: Uint8Array } | undefined {
    return this.queue.shift();
  }
  /** Resolves true when a message is there, false after a quiet `ms` (or an abort). */
  wait(ms: number, timers: DeliveryTimers, signal: AbortSignal | undefined): Promise<boolean> {
    if (this.queue.length > 0 || this.failure !== undefined) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const done = (): void => {
        timers.clearTimeout(h);
        signal?.removeEventListener('abort', done);
        this.wake = undefined;
        resolve(this.queue.length > 0);
      };
      const h = timers.setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }
}

/** One file's block transfer. */
export interface FetchPlan {
  readonly link: Link;
  readonly inbox: Inbox;
  readonly topicBase: string;
  readonly format: StreamFormat;
  readonly token: string;
  readonly version: number;
  readonly fileId: number;
  readonly blockSize: number;
  readonly fileSize: number;
  readonly startBlock: number;
  readonly window: number;
  /** GetStream requests outstanding at once. */
  readonly requestsInFlight: number;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly timers: DeliveryTimers;
  readonly signal: AbortSignal | undefined;
  readonly counters: FetchCounters;
  /** Per-block check; a block that fails it is refused and asked for again. */
  check?(index: number, payload: Uint8Array): boolean;
  /** Takes blocks in order from `startBlock`. */
  deliver(index: number, payload: Uint8Array): Promise<void>;
}

function expectedLength(p: FetchPlan, i: number): number {
  return Math.min(p.blockSize, p.fileSize - i * p.blockSize);
}

/** Runs the transfer until every block from `startBlock` was delivered. */
export async function fetchBlocks(p: FetchPlan): Promise<void> {
  const count = Math.ceil(p.fileSize / p.blockSize);
  const have = new Map<number, Uint8Array>();
  const pending = new Set<number>();
  let next = p.startBlock;
  let stalls = 0;
  while (next < count) {
    if (p.signal?.aborted === true) throw new JobsError('ABORTED', 'stream download aborted');
    ask(p, next, count, have, pending);
    const woken = await p.inbox.wait(p.timeoutMs, p.timers, p.signal);
    if (p.inbox.failure !== undefined) throw p.inbox.failure;
    let got = false;
    for (let m = p.inbox.take(); m !== undefined; m = p.inbox.take()) {
      if (m.kind === 'rejected') rejected(p, m.payload);
      if (m.kind !== 'data') continue;
      got = accept(p, m.payload, next, count, have, pending) || got;
    }
    while (have.has(next)) {
      const b = have.get(next)!;
      have.delete(next);
      await p.deliver(next, b);
      next++;
    }
    if (got) stalls = 0;
    else if (!woken) {
      // A quiet period: whatever is still pending is taken as lost and asked for again.
      p.counters.timeouts++;
      if (++stalls > p.maxRetries) throw new JobsError('TIMEOUT', `stream download: no block for ${stalls} × ${p.timeoutMs} ms at block ${next} of ${count}`);
      pending.clear();
    }
  }
}

function rejected(p: FetchPlan, payload: Uint8Array): void {
  let r;
  try {
    r = decodeStreamRejection(payload, p.format);
  } catch {
    return;
  }
  if (r.c !== undefined && r.c !== p.token) return;
  throw new JobsError('STREAM_REJECTED', `stream server rejected the request: ${r.o}: ${r.m}`, r);
}

/** Takes one data message; true when it was a new, good block of this file. */
function accept(p: FetchPlan, payload: Uint8Array, next: number, count: number, have: Map<number, Uint8Array>, pending: Set<number>): boolean {
  let b;
  try {
    b = decodeDataBlock(payload, p.format);
  } catch {
    p.counters.corruptBlocks++; // undecodable: the block stays pending and is asked for again
    return false;
  }
  if (b.c !== undefined && b.c !== p.token) return false; // another downloader's answer
  if (b.f !== p.fileId || b.l !== p.blockSize) return false;
  if (b.i < next || b.i >= count || have.has(b.i)) {
    p.counters.duplicateBlocks++;
    return false;
  }
  if (b.p.length !== expectedLength(p, b.i) || (p.check !== undefined && !p.check(b.i, b.p))) {
    p.counters.corruptBlocks++;
    pending.delete(b.i); // refused: asked for again by the next request
    return false;
  }
  p.counters.blocksReceived++;
  pending.delete(b.i);
  have.set(b.i, b.p);
  return true;
}

/** Sends a GetStream for the blocks of the next windows that are neither held nor pending. */
function ask(p: FetchPlan, next: number, count: number, have: Map<number, Uint8Array>, pending: Set<number>): void {
  if (pending.size > (p.requestsInFlight - 1) * p.window) return;
  const want: number[] = [];
  for (let i = next; i < Math.min(count, next + p.requestsInFlight * p.window) && want.length < p.window; i++) {
    if (!have.has(i) && !pending.has(i)) want.push(i);
  }
  if (want.length === 0) return;
  const o = want[0]!;
  const contiguous = want[want.length - 1]! - o + 1 === want.length;
  const req = { c: p.token, s: p.version, f: p.fileId, l: p.blockSize, o, n: want.length, ...(contiguous ? {} : { b: bitmapOf(o, want) }) };
  for (const i of want) pending.add(i);
  p.counters.requests++;
  // Not awaited: waiting for the PUBACK would idle the window for a round trip. A request that
  // fails to go out is re-sent after the quiet period like a lost one, except one the broker
  // refused as not authorized (MQTT 5 PUBACK 0x87): asking again cannot succeed, so it ends the download.
  p.link.publish(`${p.topicBase}/get/${p.format}`, encodeGetStream(req, p.format), 1).catch((err: unknown) => {
    if (err instanceof JobsError && err.code === 'NOT_AUTHORIZED') p.inbox.fail(err);
  });
}
