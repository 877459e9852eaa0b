// Streaming image verification: SHA-256 as the bytes arrive (and are written), aborted at the
// first byte past the declared size, by a deadline, or when the rate drops below a minimum.
import { createHash } from 'node:crypto';
import { systemClock, type Clock } from './clock.js';
import { finiteIn, intAtLeast } from './check.js';
import { bytesEqual } from './cose.js';
import { OtaError } from './errors.js';
import { toHex } from './keys.js';

/** Options of {@link streamImage}. */
export interface StreamImageOptions {
  /** Declared image size; one byte more aborts with `IMAGE_TOO_LONG`, fewer `IMAGE_TRUNCATED`. */
  readonly expectedSize: number;
  /** Declared SHA-256; a mismatch is `DIGEST_MISMATCH`. */
  readonly expectedDigest: Uint8Array;
  /** Called with each chunk after it passed the size check (e.g. a slot writer). */
  readonly write?: (chunk: Uint8Array) => Promise<void>;
  readonly clock?: Clock;
  /** Whole transfer must finish within this many ms (`DEADLINE`). */
  readonly deadlineMs?: number;
  /** Minimum average rate over each `rateWindowMs` window (`STALLED`). */
  readonly minBytesPerSecond?: number;
  /** Rate window, default 10 000 ms. */
  readonly rateWindowMs?: number;
  readonly signal?: AbortSignal;
}

/** What a completed transfer saw. */
export interface StreamImageResult {
  readonly size: number;
  readonly digest: Uint8Array;
}

/**
 * Hashes (and passes on) an image stream and checks it against the manifest's size and digest.
 * The caller must not activate what `write` received unless this resolves.
 *
 * @throws {OtaError} `IMAGE_TOO_LONG`, `IMAGE_TRUNCATED`, `DIGEST_MISMATCH`, `DEADLINE`, `STALLED`, `ABORTED`.
 * @example
 * ```ts
 * import { streamImage, type StreamImageOptions, type StreamImageResult } from '@outpost/ota';
 * import { createHash } from 'node:crypto';
 * const image = new Uint8Array(100).fill(7);
 * const digest = new Uint8Array(createHash('sha256').update(image).digest());
 * async function* source() { yield image.subarray(0, 60); yield image.subarray(60); }
 * const options: StreamImageOptions = { expectedSize: 100, expectedDigest: digest, deadlineMs: 60_000, minBytesPerSecond: 1 };
 * const r: StreamImageResult = await streamImage(source(), options);
 * r.size; // 100
 * ```
 */
export async function streamImage(source: AsyncIterable<Uint8Array>, options: StreamImageOptions): Promise<StreamImageResult> {
  const { expectedSize, expectedDigest } = options;
  if (!Number.isSafeInteger(expectedSize) || expectedSize < 0) throw new RangeError('expectedSize: expected a non-negative integer');
  if (!(expectedDigest instanceof Uint8Array) || expectedDigest.length !== 32) throw new RangeError('expectedDigest: expected 32 bytes');
  // A NaN deadline or rate would never fire: refuse it instead of transferring unwatched.
  if (options.deadlineMs !== undefined) intAtLeast(options.deadlineMs, 'deadlineMs', 1);
  if (options.rateWindowMs !== undefined) intAtLeast(options.rateWindowMs, 'rateWindowMs', 1);
  if (options.minBytesPerSecond !== undefined) finiteIn(options.minBytesPerSecond, 'minBytesPerSecond', 0);
  const hash = createHash('sha256');
  let size = 0;
  const take = async (chunk: Uint8Array): Promise<void> => {
    if (!(chunk instanceof Uint8Array)) throw new TypeError('image source: expected Uint8Array chunks');
    if (size + chunk.length > expectedSize) {
      throw new OtaError('IMAGE_TOO_LONG', `image: byte ${expectedSize} is past the declared size of ${expectedSize} bytes`);
    }
    size += chunk.length;
    hash.update(chunk);
    if (options.write !== undefined) await options.write(chunk);
  };
  const watched = options.deadlineMs !== undefined || options.minBytesPerSecond !== undefined;
  if (!watched && options.signal === undefined) {
    for await (const chunk of source) await take(chunk);
  } else {
    await watchedLoop(source, options, take, () => size);
  }
  if (size < expectedSize) throw new OtaError('IMAGE_TRUNCATED', `image: ended after ${size} of ${expectedSize} bytes`);
  const digest = new Uint8Array(hash.digest());
  if (!bytesEqual(digest, expectedDigest)) throw new OtaError('DIGEST_MISMATCH', `image: SHA-256 ${toHex(digest)} does not match the manifest's ${toHex(expectedDigest)}`);
  return { size, digest };
}

async function watchedLoop(source: AsyncIterable<Uint8Array>, o: StreamImageOptions, take: (c: Uint8Array) => Promise<void>, received: () => number): Promise<void> {
  const clock = o.clock ?? systemClock;
  const start = clock.now();
  const windowMs = o.rateWindowMs ?? 10_000;
  let windowStart = start;
  let windowBytes = received();
  const tickMs = Math.max(1, Math.min(o.deadlineMs ?? Infinity, windowMs) / 4);
  const it = source[Symbol.asyncIterator]();
  const check = (): void => {
    if (o.signal?.aborted === true) throw new OtaError('ABORTED', 'image transfer aborted by the caller');
    const now = clock.now();
    if (o.deadlineMs !== undefined && now - start > o.deadlineMs) throw new OtaError('DEADLINE', `image: transfer exceeded its ${o.deadlineMs} ms deadline after ${received()} bytes`);
    if (o.minBytesPerSecond !== undefined && now - windowStart >= windowMs) {
      const rate = ((received() - windowBytes) * 1000) / (now - windowStart);
      if (rate < o.minBytesPerSecond) throw new OtaError('STALLED', `image: ${rate.toFixed(0)} B/s over the last ${now - windowStart} ms is below the minimum ${o.minBytesPerSecond} B/s`);
      windowStart = now;
      windowBytes = received();
    }
  };
  let pending: Promise<IteratorResult<Uint8Array>> | undefined;
  try {
    for (;;) {
      check();
      pending ??= it.next();
      const ac = new AbortController();
      const timer = clock.sleep(tickMs, ac.signal).then(() => undefined);
      const r = await Promise.race([pending, timer]);
      ac.abort();
      if (r === undefined) continue; // a watchdog tick: check the deadline and rate again
      pending = undefined;
      if (r.done === true) return;
      await take(r.value);
    }
  } catch (err) {
    void it.return?.().catch(() => undefined);
    throw err;
  }
}
