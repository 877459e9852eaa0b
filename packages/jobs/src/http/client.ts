// Resumable HTTP(S) download on undici: `Range: bytes=<offset>-` with `If-Range: <ETag>` (RFC 9110
// §14.2, §13.1.5) so a file that changed on the server restarts from byte 0 instead of mixing.
import { request, type Dispatcher } from 'undici';
import { JobsError } from '../errors.js';
import { ResumableFile, type DownloadResult } from '../delivery/resumable.js';

/** Options of {@link downloadHttp}. */
export interface HttpDownloadOptions {
  /** `http://` or `https://` URL of the file. */
  readonly url: string;
  /** Where the file goes; `<path>.part` and `<path>.journal` hold a download in progress. */
  readonly path: string;
  /** Expected SHA-256 of the file (the manifest's digest), 32 bytes. */
  readonly sha256: Uint8Array;
  /** Expected size, when known (the manifest's). */
  readonly size?: number;
  /** An undici dispatcher (e.g. an `Agent` with the fleet CA for HTTPS). Default undici's global. */
  readonly dispatcher?: Dispatcher;
  /** Requests per call: after a dropped connection the next one resumes with a Range. Default 5. */
  readonly maxAttempts?: number;
  /**
   * Journal the durable offset after this many bytes. Default 4 MiB: HTTP is the fast way, and
   * each journal point costs two fsyncs (1 MiB cost half the throughput here, `bench/http.ts`).
   */
  readonly journalEveryBytes?: number;
  readonly signal?: AbortSignal;
  /** Called after each chunk is written, with the bytes written so far. */
  readonly onProgress?: (offset: number) => void;
}

/** Outcome of an HTTP download. */
export interface HttpDownloadResult extends DownloadResult {
  /** Requests made (1 when nothing went wrong). */
  readonly requests: number;
  /** Requests answered 206 (a resumed range). */
  readonly rangeRequests: number;
  /** Times the download started over because the file changed on the server (If-Range answered 200). */
  readonly restarts: number;
  /** The file's strong ETag, when the server sent one. */
  readonly etag: string | undefined;
}

interface Counters { requests: number; rangeRequests: number; restarts: number }

function checkOptions(o: HttpDownloadOptions): void {
  if (typeof o !== 'object' || o === null) throw new TypeError('options: expected an object');
  if (typeof o.url !== 'string' || !/^https?:\/\//.test(o.url)) throw new TypeError('url: expected an http:// or https:// URL');
  if (typeof o.path !== 'string' || o.path === '') throw new TypeError('path: expected a non-empty string');
  if (!(o.sha256 instanceof Uint8Array) || o.sha256.length !== 32) throw new TypeError('sha256: expected 32 bytes');
  if (o.size !== undefined && (!Number.isSafeInteger(o.size) || o.size < 0)) throw new RangeError(`size: expected a byte count, got ${o.size}`);
  const a = o.maxAttempts ?? 5;
  if (!Number.isInteger(a) || a < 1) throw new RangeError(`maxAttempts: expected a positive integer, got ${a}`);
}

const header = (h: Record<string, string | string[] | undefined>, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/** A strong ETag or undefined: weak validators cannot guard a range (RFC 9110 §13.1.5). */
const strong = (etag: string | undefined): string | undefined => (etag !== undefined && !etag.startsWith('W/') ? etag : undefined);

/** One request from the file's offset; returns true when the file is complete. */
async function attempt(o: HttpDownloadOptions, file: ResumableFile, c: Counters): Promise<boolean> {
  const etag = typeof file.meta['etag'] === 'string' ? file.meta['etag'] : undefined;
  if (file.offset > 0 && etag === undefined) await file.restart({}); // no validator: a resumed range could mix two files
  const headers: Record<string, string> = file.offset > 0 ? { range: `bytes=${file.offset}-`, 'if-range': etag! } : {};
  c.requests++;
  const res = await request(o.url, { method: 'GET', headers, ...(o.dispatcher !== undefined ? { dispatcher: o.dispatcher } : {}), ...(o.signal !== undefined ? { signal: o.signal } : {}) });
  const got = strong(header(res.headers, 'etag'));
  if (res.statusCode === 416 && o.size !== undefined && file.offset === o.size) {
    await res.body.dump();
    return true;
  }
  if (res.statusCode === 206) {
    const cr = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header(res.headers, 'content-range') ?? '');
    if (cr === null || Number(cr[1]) !== file.offset || (got !== undefined && got !== etag)) {
      await res.body.dump();
      throw new JobsError('BAD_RESPONSE', `GET ${o.url}: 206 for ${header(res.headers, 'content-range') ?? 'no Content-Range'} (ETag ${got ?? 'none'}), asked for bytes ${file.offset}- of ${etag}`);
    }
    c.rangeRequests++;
  } else if (res.statusCode === 200) {
    if (file.offset > 0) c.restarts++; // If-Range did not match (or ranges unsupported): the whole file again
    await file.restart(got !== undefined ? { etag: got } : {});
  } else {
    await res.body.dump();
    throw new JobsError('BAD_RESPONSE', `GET ${o.url}: HTTP ${res.statusCode}`, res.statusCode);
  }
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    await file.append(chunk);
    o.onProgress?.(file.offset);
  }
  const total = header(res.headers, 'content-range')?.split('/')[1] ?? header(res.headers, 'content-length');
  return total === undefined || total === '*' || file.offset >= Number(total) || (o.size !== undefined && file.offset >= o.size);
}

/**
 * Downloads a file over HTTP(S) with resume: a partial file from an earlier call (or an earlier
 * process, after a crash) continues with `Range` + `If-Range`; a dropped connection is resumed
 * within the call up to `maxAttempts`; a file that changed on the server starts over.
 *
 * @throws JobsError `DIGEST_MISMATCH`, `BAD_RESPONSE` (an HTTP error status or a bad range
 * answer), `ABORTED`; the network error after the last attempt.
 * @example
 * ```ts
 * import { downloadHttp } from '@outpost/jobs';
 * const fetchImage = (url: string, sha256: Uint8Array) => downloadHttp({ url, path: '/data/fw.bin', sha256 });
 * typeof fetchImage; // 'function'
 * ```
 */
export async function downloadHttp(o: HttpDownloadOptions): Promise<HttpDownloadResult> {
  checkOptions(o);
  const file = await ResumableFile.open({ path: o.path, source: `http:${o.url}`, sha256: o.sha256, ...(o.size !== undefined ? { size: o.size } : {}), journalEveryBytes: o.journalEveryBytes ?? 4 << 20 });
  const c: Counters = { requests: 0, rangeRequests: 0, restarts: 0 };
  try {
    for (let n = 1; ; n++) {
      let complete = false;
      try {
        complete = await attempt(o, file, c);
      } catch (e) {
        if (o.signal?.aborted === true) throw new JobsError('ABORTED', `GET ${o.url}: aborted at byte ${file.offset}`);
        if (e instanceof JobsError || n >= (o.maxAttempts ?? 5)) throw e;
      }
      if (complete) break;
      if (n >= (o.maxAttempts ?? 5)) throw new JobsError('BAD_RESPONSE', `GET ${o.url}: the body ended at byte ${file.offset} on each of ${n} requests`);
      await file.commit(); // the next request resumes from here
    }
    const sha256 = await file.finish();
    const etag = typeof file.meta['etag'] === 'string' ? file.meta['etag'] : undefined;
    return { size: file.offset, sha256, resumedFrom: file.resumedFrom, rehashMs: file.rehashMs, etag, ...c };
  } catch (e) {
    if (!(e instanceof JobsError && e.code === 'DIGEST_MISMATCH')) await file.close().catch(() => undefined);
    throw e;
  }
}
