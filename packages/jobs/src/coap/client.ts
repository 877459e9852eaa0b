// Resumable CoAP download for constrained devices: Block2 (RFC 7959 §2.4) one block at a time,
// resuming from the block number of the journalled offset, guarded by the ETag (RFC 7252 §5.10.6).
import { JobsError } from '../errors.js';
import { ResumableFile, type DownloadResult } from '../delivery/resumable.js';

/** CoAP option numbers used here (RFC 7252 §12.2, RFC 7959 §6). */
const ETAG = 4;
const BLOCK2 = 23;

/** Block sizes of RFC 7959 §2.2. */
export type CoapBlockSize = 16 | 32 | 64 | 128 | 256 | 512 | 1024;

/**
 * What the CoAP download needs from a CoAP client: one GET for one Block2 block. The
 * `CoapClient` of `@outpost/device-sdk/coap` fits as it is (its `block2` request option); it is
 * injected rather than imported, so `@outpost/jobs` does not depend on the device SDK.
 *
 * @example
 * ```ts
 * import type { CoapBlockClient } from '@outpost/jobs';
 * const fits = (c: CoapBlockClient): boolean => typeof c.request === 'function';
 * ```
 */
export interface CoapBlockClient {
  request(
    method: 'GET',
    path: string,
    body: undefined,
    options: { readonly blockSize: CoapBlockSize; readonly block2: number; readonly signal?: AbortSignal },
  ): Promise<{ readonly code: string; readonly payload: Uint8Array; readonly options: ReadonlyArray<{ readonly number: number; readonly value: Uint8Array }> }>;
  /** `coap://host:port`, part of the download's identity when present. */
  readonly origin?: string;
}

/** Options of {@link downloadCoap}. */
export interface CoapDownloadOptions {
  readonly coap: CoapBlockClient;
  /** Resource path on the server, e.g. `/fw/2.1.0`. */
  readonly resource: string;
  /** Where the file goes; `<path>.part` and `<path>.journal` hold a download in progress. */
  readonly path: string;
  /** Expected SHA-256 of the file (the manifest's digest), 32 bytes. */
  readonly sha256: Uint8Array;
  /** Block size. Default 1024. */
  readonly blockSize?: CoapBlockSize;
  /** Journal the durable offset after this many bytes. Default 64 KiB. */
  readonly journalEveryBytes?: number;
  readonly signal?: AbortSignal;
  /** Called after each block is written, with the bytes written so far. */
  readonly onProgress?: (offset: number) => void;
}

/** Outcome of a CoAP download. */
export interface CoapDownloadResult extends DownloadResult {
  /** Block requests made by this call. */
  readonly requests: number;
  /** Times the download started over because the resource's ETag changed. */
  readonly restarts: number;
}

interface Block { num: number; more: boolean; size: number }

function block2Of(options: ReadonlyArray<{ number: number; value: Uint8Array }>): Block | undefined {
  const o = options.find((x) => x.number === BLOCK2);
  if (o === undefined) return undefined;
  let v = 0;
  for (const b of o.value) v = v * 256 + b;
  const szx = v & 7;
  if (szx === 7 || o.value.length > 3) throw new JobsError('BAD_RESPONSE', 'CoAP Block2 option: reserved SZX 7 or over 3 bytes');
  return { num: Math.floor(v / 16), more: (v & 8) !== 0, size: 1 << (szx + 4) };
}

const etagOf = (options: ReadonlyArray<{ number: number; value: Uint8Array }>): string => Buffer.from(options.find((x) => x.number === ETAG)?.value ?? new Uint8Array(0)).toString('hex');

function checkOptions(o: CoapDownloadOptions): CoapBlockSize {
  if (typeof o !== 'object' || o === null) throw new TypeError('options: expected an object');
  if (typeof o.coap?.request !== 'function') throw new TypeError('coap: expected a CoAP client with request()');
  if (typeof o.resource !== 'string' || !o.resource.startsWith('/')) throw new TypeError('resource: expected a path starting with /');
  if (typeof o.path !== 'string' || o.path === '') throw new TypeError('path: expected a non-empty string');
  if (!(o.sha256 instanceof Uint8Array) || o.sha256.length !== 32) throw new TypeError('sha256: expected 32 bytes');
  const bs = o.blockSize ?? 1024;
  if (![16, 32, 64, 128, 256, 512, 1024].includes(bs)) throw new RangeError(`blockSize: expected 16, 32, …, 1024, got ${String(bs)}`);
  return bs;
}

/**
 * Downloads a resource with CoAP Block2, one block per request, resuming a partial file from
 * the block of its journalled offset. A changed ETag (another representation) starts over once;
 * a second change fails with `SOURCE_CHANGED`.
 *
 * @throws JobsError `BAD_RESPONSE` (an error code or a block out of place), `SOURCE_CHANGED`,
 * `DIGEST_MISMATCH`, `ABORTED`; the client's own errors (e.g. a CoAP timeout).
 * @example
 * ```ts
 * import { downloadCoap, type CoapBlockClient } from '@outpost/jobs';
 * const fetchImage = (coap: CoapBlockClient, sha256: Uint8Array) => downloadCoap({ coap, resource: '/fw', path: '/data/fw.bin', sha256 });
 * typeof fetchImage; // 'function'
 * ```
 */
export async function downloadCoap(o: CoapDownloadOptions): Promise<CoapDownloadResult> {
  let blockSize: number = checkOptions(o);
  const file = await ResumableFile.open({ path: o.path, source: `coap:${o.coap.origin ?? ''}${o.resource}`, sha256: o.sha256, journalEveryBytes: o.journalEveryBytes ?? 64 * 1024 });
  let requests = 0;
  let restarts = 0;
  try {
    if (file.offset % blockSize !== 0 || (file.offset > 0 && file.meta['blockSize'] !== blockSize)) await file.restart({ blockSize });
    for (let more = true; more; ) {
      if (o.signal?.aborted === true) throw new JobsError('ABORTED', `CoAP GET ${o.resource}: aborted at byte ${file.offset}`);
      const num = file.offset / blockSize;
      requests++;
      const res = await o.coap.request('GET', o.resource, undefined, { blockSize: blockSize as CoapBlockSize, block2: num, ...(o.signal !== undefined ? { signal: o.signal } : {}) });
      if (!res.code.startsWith('2.')) throw new JobsError('BAD_RESPONSE', `CoAP GET ${o.resource} block ${num}: ${res.code}`, res.code);
      const etag = etagOf(res.options);
      if (file.offset === 0) file.meta = { blockSize, etag };
      else if (etag !== file.meta['etag']) {
        // RFC 7959 §2.4: a changed ETag is another representation; the prefix belongs to the old one.
        if (++restarts > 1) throw new JobsError('SOURCE_CHANGED', `CoAP GET ${o.resource}: the ETag changed twice during the download`);
        await file.restart({ blockSize, etag });
        continue;
      }
      const b = block2Of(res.options) ?? { num: 0, more: false, size: res.payload.length };
      if (b.num * b.size !== file.offset || (b.more && res.payload.length !== b.size) || res.payload.length > Math.max(b.size, blockSize)) {
        throw new JobsError('BAD_RESPONSE', `CoAP GET ${o.resource}: asked for the block at byte ${file.offset}, got block ${b.num} of ${b.size} bytes with ${res.payload.length} bytes`);
      }
      if (b.size < blockSize) {
        blockSize = b.size; // RFC 7959 §2.4: the server may pick a smaller size; later blocks follow it
        file.meta = { ...file.meta, blockSize };
      }
      await file.append(res.payload);
      o.onProgress?.(file.offset);
      more = b.more;
    }
    const sha256 = await file.finish();
    return { size: file.offset, sha256, resumedFrom: file.resumedFrom, rehashMs: file.rehashMs, requests, restarts };
  } catch (e) {
    if (!(e instanceof JobsError && e.code === 'DIGEST_MISMATCH')) await file.close().catch(() => undefined);
    throw e;
  }
}
