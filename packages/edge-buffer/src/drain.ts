// drain(): send records in order with up to `maxInFlight` sends outstanding, acknowledge only the
// contiguous prefix the sender confirmed, and on a failure rewind so the rest is sent again.

import type { BufferRecord } from './consumer.js';
import { describeValue } from './options.js';

/**
 * Sends one record; resolve when the peer confirmed it (e.g. MQTT PUBACK), reject otherwise.
 * `signal` fires when the drain is aborted or another send failed.
 *
 * @example
 * ```ts
 * import type { DrainSender } from '@outpost/edge-buffer';
 * const send: DrainSender = async (record, { signal }) => {
 *   if (signal.aborted) throw new Error('stopped');
 *   void record.payload; // hand to the transport and await its acknowledgement
 * };
 * ```
 */
export type DrainSender = (record: BufferRecord, context: { signal: AbortSignal }) => Promise<void> | void;

/**
 * Options of `drain`.
 *
 * @example
 * ```ts
 * import type { DrainOptions } from '@outpost/edge-buffer';
 * const options: DrainOptions = { maxInFlight: 16, follow: true, signal: AbortSignal.timeout(60_000) };
 * ```
 */
export interface DrainOptions {
  /** Stops the drain: no new sends, in-flight sends see the signal, confirmed ones are acked. */
  signal?: AbortSignal;
  /** Sends outstanding at once. Default 1 (strict stop-and-wait). */
  maxInFlight?: number;
  /** Keep waiting for new records instead of resolving when the buffer is empty. Default false. */
  follow?: boolean;
}

/**
 * Outcome of a drain that did not fail.
 *
 * @example
 * ```ts
 * import type { DrainResult } from '@outpost/edge-buffer';
 * const r: DrainResult = { sent: 10, lastSeq: 42, stopped: 'empty' };
 * ```
 */
export interface DrainResult {
  /** Records confirmed by the sender and acknowledged. */
  sent: number;
  /** Highest acknowledged seq (0 if none). */
  lastSeq: number;
  /** `'empty'`: nothing left to read (only without `follow`); `'aborted'`: the signal fired. */
  stopped: 'empty' | 'aborted';
}

export interface DrainTarget {
  read(options: { signal: AbortSignal }): Promise<BufferRecord>;
  tryRead(): Promise<BufferRecord | undefined>;
  ack(seq: number): Promise<void>;
  rewind(): Promise<void>;
}

interface Slot {
  seq: number;
  ok: boolean | undefined;
  error: unknown;
  done: Promise<void>;
}

type ReadOutcome = { rec: BufferRecord } | { error: unknown };

export function checkDrainArgs(send: unknown, options: unknown): { maxInFlight: number; follow: boolean; signal: AbortSignal | undefined } {
  if (typeof send !== 'function') throw new TypeError(`drain: send: expected a function, found ${describeValue(send)}`);
  if (options === undefined) return { maxInFlight: 1, follow: false, signal: undefined };
  if (typeof options !== 'object' || options === null) throw new TypeError(`drain: options: expected an object, found ${describeValue(options)}`);
  const o = options as Record<string, unknown>;
  let maxInFlight = 1;
  if (o['maxInFlight'] !== undefined) {
    if (typeof o['maxInFlight'] !== 'number') throw new TypeError(`drain: maxInFlight: expected a number, found ${describeValue(o['maxInFlight'])}`);
    if (!Number.isSafeInteger(o['maxInFlight']) || o['maxInFlight'] < 1 || o['maxInFlight'] > 65_535) {
      throw new RangeError(`drain: maxInFlight: expected an integer in 1..65535, found ${o['maxInFlight']}`);
    }
    maxInFlight = o['maxInFlight'];
  }
  if (o['follow'] !== undefined && typeof o['follow'] !== 'boolean') throw new TypeError(`drain: follow: expected a boolean, found ${describeValue(o['follow'])}`);
  const signal = o['signal'];
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError(`drain: signal: expected an AbortSignal, found ${describeValue(signal)}`);
  return { maxInFlight, follow: o['follow'] === true, signal };
}

export async function runDrain(
  buf: DrainTarget,
  send: DrainSender,
  opts: { maxInFlight: number; follow: boolean; signal: AbortSignal | undefined },
): Promise<DrainResult> {
  const { maxInFlight, follow, signal } = opts;
  const inner = new AbortController();
  const onAbort = (): void => inner.abort(signal?.reason);
  if (signal?.aborted === true) inner.abort(signal.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const window: Slot[] = [];
  let sent = 0;
  let lastSeq = 0;
  let lastAck: Promise<void> = Promise.resolve();
  let failure: { error: unknown } | undefined;
  let pendingRead: Promise<ReadOutcome> | undefined;

  const start = (rec: BufferRecord): void => {
    const slot: Slot = { seq: rec.seq, ok: undefined, error: undefined, done: Promise.resolve() };
    slot.done = (async () => {
      try {
        await send(rec, { signal: inner.signal });
        slot.ok = true;
      } catch (err) {
        slot.ok = false;
        slot.error = err;
      }
    })();
    window.push(slot);
  };

  const settle = (): void => {
    let top = 0;
    while (window.length > 0 && window[0]!.ok === true) {
      top = window.shift()!.seq;
      sent++;
    }
    if (top > 0) {
      lastSeq = top;
      lastAck = buf.ack(top);
      lastAck.catch(() => undefined);
    }
    if (failure === undefined && window.length > 0 && window[0]!.ok === false) {
      failure = { error: window[0]!.error };
      inner.abort(window[0]!.error);
    }
  };

  try {
    for (;;) {
      settle();
      if (failure !== undefined || inner.signal.aborted) break;
      if (window.length >= maxInFlight) {
        await window[0]!.done;
        continue;
      }
      if (!follow) {
        const rec = await buf.tryRead();
        if (rec !== undefined) start(rec);
        else if (window.length === 0) break;
        else await window[0]!.done;
        continue;
      }
      pendingRead ??= buf.read({ signal: inner.signal }).then(
        (rec) => ({ rec }),
        (error: unknown) => ({ error }),
      );
      const r = window.length === 0 ? await pendingRead : await Promise.race([pendingRead, window[0]!.done.then(() => undefined)]);
      if (r === undefined) continue;
      pendingRead = undefined;
      if ('error' in r) {
        if (!inner.signal.aborted) failure = { error: r.error };
        break;
      }
      start(r.rec);
    }
    await Promise.all(window.map((s) => s.done));
    settle();
    if (pendingRead !== undefined) {
      inner.abort(signal?.reason);
      const r = await pendingRead;
      if ('rec' in r) window.push({ seq: r.rec.seq, ok: false, error: undefined, done: Promise.resolve() });
    }
    // Whatever was read but not confirmed is delivered again by the next read.
    if (window.length > 0 || failure !== undefined) await buf.rewind();
    await lastAck;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (failure !== undefined) throw failure.error;
  return { sent, lastSeq, stopped: signal?.aborted === true ? 'aborted' : 'empty' };
}
