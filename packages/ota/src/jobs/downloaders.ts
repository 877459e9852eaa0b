// OtaDownloaders over @outpost/jobs' resumable file delivery: MQTT streams (AWS MQTT-based file
// delivery), HTTP ranges (undici) and CoAP Block2. Each keeps its own journal of the durable
// offset next to the agent's download file (`<file>.part`, `<file>.journal`), re-hashes the
// written prefix on resume, checks the whole file against the manifest's digest, and only then
// moves it to the agent's file; the agent hashes it once more while installing.
import { stat, unlink } from 'node:fs/promises';
import {
  downloadCoap, downloadHttp, downloadStream, JobsError,
  type CoapBlockClient, type CoapBlockSize, type DownloadResult, type HttpDownloadOptions, type StreamFormat, type StreamMqtt,
} from '@outpost/jobs';
import type { ExpectedImage, OtaDownloader } from '../agent.js';
import { OtaError } from '../errors.js';
import { parseImageSource, type ImageSource } from '../job-document.js';

/**
 * What one finished download reports (for logs and tests): where it resumed, what it fetched.
 *
 * @example
 * ```ts
 * import type { DownloadReport } from '@outpost/ota/jobs';
 * const saved = (r: DownloadReport): number => r.resumedFrom; // bytes not fetched again
 * ```
 */
export interface DownloadReport extends DownloadResult {
  /** `stream`, `http` or `coap`. */
  readonly kind: ImageSource['kind'];
  /** The image source string of the job. */
  readonly source: string;
  /** Bytes fetched by this call (`size - resumedFrom`). */
  readonly fetched: number;
  /** Stream blocks refused by their digest and fetched again (MQTT streams with a block digest list). */
  readonly corruptBlocks?: number;
}

/**
 * Options every downloader takes.
 *
 * @example
 * ```ts
 * import type { DownloaderCommon } from '@outpost/ota/jobs';
 * const o: DownloaderCommon = { journalEveryBytes: 256 * 1024, onDownloaded: (r) => console.log(r.source, r.fetched) };
 * ```
 */
export interface DownloaderCommon {
  /** Journal the durable offset after this many bytes. Default: the transport's (stream 1 MiB, HTTP 4 MiB, CoAP 64 KiB). */
  readonly journalEveryBytes?: number;
  /** Called after each finished download. */
  readonly onDownloaded?: (report: DownloadReport) => void;
}

/**
 * Options of {@link streamDownloader}.
 *
 * @example
 * ```ts
 * import type { StreamDownloaderOptions } from '@outpost/ota/jobs';
 * import type { StreamMqtt } from '@outpost/jobs';
 * const o = (mqtt: StreamMqtt): StreamDownloaderOptions => ({ mqtt, thing: 'gw-7', format: 'cbor', blockDigestsFileId: 1 });
 * ```
 */
export interface StreamDownloaderOptions extends DownloaderCommon {
  /** The device's MQTT connection. */
  readonly mqtt: StreamMqtt;
  /** The device's thing name (its stream topics are `$aws/things/{thing}/streams/…`). */
  readonly thing: string;
  /** `cbor` (default) or `json`. */
  readonly format?: StreamFormat;
  /** Block size when the stream has no block digest list. Default 4096. */
  readonly blockSize?: number;
  /** File id of the stream's block digest list (each block checked as it arrives). Default: none. */
  readonly blockDigestsFileId?: number;
  /** Quiet period before outstanding blocks are asked for again. Default 3000 ms. */
  readonly timeoutMs?: number;
  /** Quiet periods in a row before a transport error. Default 10. */
  readonly maxRetries?: number;
}

/**
 * Options of {@link httpDownloader}.
 *
 * @example
 * ```ts
 * import type { HttpDownloaderOptions } from '@outpost/ota/jobs';
 * const o: HttpDownloaderOptions = { journalEveryBytes: 4 << 20 };
 * ```
 */
export interface HttpDownloaderOptions extends DownloaderCommon {
  /** An undici dispatcher (an `Agent` with the fleet CA or a client certificate for HTTPS). */
  readonly dispatcher?: HttpDownloadOptions['dispatcher'];
}

/**
 * Options of {@link coapDownloader}.
 *
 * @example
 * ```ts
 * import type { CoapDownloaderOptions } from '@outpost/ota/jobs';
 * import type { CoapBlockClient } from '@outpost/jobs';
 * const o = (c: CoapBlockClient): CoapDownloaderOptions => ({ client: () => c, blockSize: 256 });
 * ```
 */
export interface CoapDownloaderOptions extends DownloaderCommon {
  /** A CoAP client for the URL's origin (`coap://host:port`), e.g. `connectCoap` of `@outpost/device-sdk/coap`, cached by the caller. */
  readonly client: (origin: string) => CoapBlockClient | Promise<CoapBlockClient>;
  /** Block size asked for. Default 1024. */
  readonly blockSize?: CoapBlockSize;
}

type Fetch = (src: ImageSource, path: string, expected: ExpectedImage, onBytes: (n: number) => void) => Promise<DownloadResult & { corruptBlocks?: number }>;

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

// Maps the delivery errors: a digest that does not match is a bad transfer (the agent starts a new
// attempt), a rejected stream or an HTTP/CoAP error status is permanent; the rest (timeouts, a
// changed source, dropped connections) are transport errors the agent waits out and resumes.
function mapError(err: unknown, source: string): unknown {
  if (!(err instanceof JobsError)) return err;
  if (err.code === 'DIGEST_MISMATCH') return new OtaError('DIGEST_MISMATCH', `${source}: ${err.message}`);
  if (err.code === 'STREAM_REJECTED' || err.code === 'BAD_MESSAGE') return new OtaError('DOWNLOAD_FAILED', `${source}: ${err.message}`);
  if (err.code === 'BAD_RESPONSE' && typeof err.value === 'number' && err.value >= 400 && err.value < 500) return new OtaError('DOWNLOAD_FAILED', `${source}: ${err.message}`);
  if (err.code === 'BAD_RESPONSE' && typeof err.value === 'string' && err.value.startsWith('4.')) return new OtaError('DOWNLOAD_FAILED', `${source}: ${err.message}`);
  return err;
}

function adapter(kind: ImageSource['kind'], fetch: Fetch, common: DownloaderCommon): OtaDownloader {
  return {
    async download(source, toFile, fromOffset, onBytes, expected) {
      const src = parseImageSource(source);
      if (src.kind !== kind) throw new OtaError('DOWNLOAD_FAILED', `${source}: this downloader fetches ${kind} sources only`);
      // A whole file left by a finished download (a crash before the agent's journal moved on):
      // the agent hashes it at install. Anything else at `toFile` is not ours: start clean.
      if (fromOffset > 0) {
        if (fromOffset === expected.size && (await sizeOf(toFile)) === expected.size) return;
        await unlink(toFile).catch(() => undefined);
      }
      let r: DownloadResult & { corruptBlocks?: number };
      try {
        r = await fetch(src, toFile, expected, onBytes);
      } catch (err) {
        throw mapError(err, source);
      }
      common.onDownloaded?.({ ...r, kind, source, fetched: r.size - r.resumedFrom });
    },
  };
}

const journal = (o: DownloaderCommon): { journalEveryBytes?: number } => (o.journalEveryBytes === undefined ? {} : { journalEveryBytes: o.journalEveryBytes });

/**
 * A downloader for `stream:<id>[/<fileId>]` sources over AWS MQTT-based file delivery.
 *
 * @example
 * ```ts
 * import { streamDownloader } from '@outpost/ota/jobs';
 * import type { StreamMqtt } from '@outpost/jobs';
 * const make = (mqtt: StreamMqtt) => streamDownloader({ mqtt, thing: 'gw-7', blockDigestsFileId: 1 });
 * typeof make; // 'function'
 * ```
 */
export function streamDownloader(o: StreamDownloaderOptions): OtaDownloader {
  if (typeof o !== 'object' || o === null || typeof o.thing !== 'string') throw new TypeError('streamDownloader: expected { mqtt, thing }');
  return adapter('stream', async (src, path, expected, onBytes) => {
    if (src.kind !== 'stream') throw new TypeError('unreachable');
    return downloadStream({
      mqtt: o.mqtt, thing: o.thing, streamId: src.streamId, fileId: src.fileId, path, sha256: expected.sha256, onProgress: (n) => onBytes(n),
      ...(o.format === undefined ? {} : { format: o.format }), ...(o.blockSize === undefined ? {} : { blockSize: o.blockSize }),
      ...(o.blockDigestsFileId === undefined ? {} : { blockDigests: { fileId: o.blockDigestsFileId } }),
      ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }), ...(o.maxRetries === undefined ? {} : { maxRetries: o.maxRetries }), ...journal(o),
    });
  }, o);
}

/**
 * A downloader for `https://…` and `http://…` sources: `Range` requests with `If-Range`.
 *
 * @example
 * ```ts
 * import { httpDownloader, type DownloadReport } from '@outpost/ota/jobs';
 * import { createHash } from 'node:crypto';
 * import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
 * import { createServer } from 'node:http';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const image = Buffer.from('firmware 2.1.0');
 * const server = createServer((_req, res) => res.end(image)).listen(0, '127.0.0.1');
 * await new Promise((r) => server.once('listening', r));
 * const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/fw.bin`;
 * const reports: DownloadReport[] = [];
 * const d = httpDownloader({ journalEveryBytes: 1 << 20, onDownloaded: (r) => reports.push(r) });
 * const dir = mkdtempSync(join(tmpdir(), 'fw-'));
 * const file = join(dir, 'fw.bin');
 * await d.download(url, file, 0, () => undefined, { sha256: createHash('sha256').update(image).digest(), size: image.length });
 * server.close();
 * readFileSync(file, 'utf8'); // 'firmware 2.1.0'
 * reports[0]?.fetched; // 14
 * rmSync(dir, { recursive: true });
 * ```
 */
export function httpDownloader(o: HttpDownloaderOptions = {}): OtaDownloader {
  return adapter('http', async (src, path, expected, onBytes) => {
    if (src.kind !== 'http') throw new TypeError('unreachable');
    return downloadHttp({ url: src.url, path, sha256: expected.sha256, size: expected.size, onProgress: onBytes, ...(o.dispatcher === undefined ? {} : { dispatcher: o.dispatcher }), ...journal(o) });
  }, o);
}

/**
 * A downloader for `coap://…` sources: RFC 7959 Block2, one block per request.
 *
 * @example
 * ```ts
 * import { coapDownloader } from '@outpost/ota/jobs';
 * import type { CoapBlockClient } from '@outpost/jobs';
 * const make = (c: CoapBlockClient) => coapDownloader({ client: () => c, blockSize: 512 });
 * typeof make; // 'function'
 * ```
 */
export function coapDownloader(o: CoapDownloaderOptions): OtaDownloader {
  if (typeof o !== 'object' || o === null || typeof o.client !== 'function') throw new TypeError('coapDownloader: expected { client: (origin) => CoapBlockClient }');
  return adapter('coap', async (src, path, expected, onBytes) => {
    if (src.kind !== 'coap') throw new TypeError('unreachable');
    const url = new URL(src.url);
    const coap = await o.client(`${url.protocol}//${url.host}`);
    return downloadCoap({ coap, resource: url.pathname + url.search, path, sha256: expected.sha256, onProgress: onBytes, ...(o.blockSize === undefined ? {} : { blockSize: o.blockSize }), ...journal(o) });
  }, o);
}

/**
 * Routes each job's image source to the downloader for its kind; a source with no downloader
 * here fails the job (`DOWNLOAD_FAILED`).
 *
 * @example
 * ```ts
 * import { httpDownloader, imageDownloader } from '@outpost/ota/jobs';
 * const d = imageDownloader({ http: httpDownloader() });
 * const expected = { sha256: new Uint8Array(32), size: 1 };
 * await d.download('stream:fw-2', '/nonexistent/fw.bin', 0, () => undefined, expected).catch((e: { code: string }) => e.code); // 'DOWNLOAD_FAILED'
 * ```
 */
export function imageDownloader(by: { readonly stream?: OtaDownloader; readonly http?: OtaDownloader; readonly coap?: OtaDownloader }): OtaDownloader {
  return {
    async download(source, toFile, fromOffset, onBytes, expected) {
      const kind = parseImageSource(source).kind;
      const d = by[kind];
      if (d === undefined) throw new OtaError('DOWNLOAD_FAILED', `${source}: this device has no ${kind} downloader`);
      return d.download(source, toFile, fromOffset, onBytes, expected);
    },
  };
}
