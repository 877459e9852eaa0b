// The OTA job document: the JSON object an operator puts in a job (AWS IoT Jobs' "job document")
// and the device agent reads back. One definition for both sides: the rollout controller writes it
// with `encodeOtaJobDocument`, the agent reads it with `parseOtaJobDocument`. Bytes travel as
// base64 (a job document is JSON); the image source is a string the agent's downloaders route on.
import { OtaError } from './errors.js';
import type { OtaJob } from './agent-journal.js';

/**
 * The `operation` tag of an OTA job document (jobs of other kinds are left to other handlers).
 *
 * @example
 * ```ts
 * import { OTA_JOB_OPERATION } from '@outpost/ota';
 * OTA_JOB_OPERATION; // 'outpost-ota'
 * ```
 */
export const OTA_JOB_OPERATION = 'outpost-ota';

/**
 * The job document of an OTA job (version 1). Everything the device needs is signed (the
 * manifest, the timestamp, the roots); `image` only says where to fetch the bytes the manifest's
 * digest pins, so a wrong or hostile `image` costs a failed download, never a bad install.
 *
 * @example
 * ```ts
 * import type { OtaJobDocument } from '@outpost/ota';
 * const doc: OtaJobDocument = { operation: 'outpost-ota', v: 1, manifest: 'hKNhYQ==', image: 'stream:fw-2-1-0' };
 * ```
 */
// A type alias, not an interface: it is assignable to @outpost/jobs' JsonObject as it is.
export type OtaJobDocument = {
  readonly operation: typeof OTA_JOB_OPERATION;
  /** Document format version: 1. */
  readonly v: 1;
  /** The signed manifest (COSE_Sign1 / multi-signature COSE), base64. */
  readonly manifest: string;
  /**
   * Where the image comes from: `stream:<streamId>` (AWS MQTT-based file delivery, file 0),
   * `stream:<streamId>/<fileId>`, `https://…` / `http://…` (HTTP ranges) or `coap://…` / `coaps://…`
   * (CoAP Block2).
   */
  readonly image: string;
  /** The signed timestamp document (TUF freshness), base64, when the trust has a timestamp role. */
  readonly timestamp?: string;
  /** Root documents the device should apply first (a chain, oldest first), base64. */
  readonly roots?: string[];
};

/**
 * Where an image comes from, parsed from {@link OtaJobDocument.image}.
 *
 * @example
 * ```ts
 * import type { ImageSource } from '@outpost/ota';
 * const s: ImageSource = { kind: 'stream', streamId: 'fw-2-1-0', fileId: 0 };
 * ```
 */
export type ImageSource =
  | { readonly kind: 'stream'; readonly streamId: string; readonly fileId: number }
  | { readonly kind: 'http'; readonly url: string }
  | { readonly kind: 'coap'; readonly url: string };

/** Longest image source string accepted. */
const MAX_IMAGE_CHARS = 2048;
/** AWS IoT stream ids: `[a-zA-Z0-9_-]{1,128}`. */
const STREAM_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Parses an image source string.
 *
 * @throws {TypeError} when not a string; {@link OtaError} `MALFORMED` for an unknown scheme or a bad stream id.
 * @example
 * ```ts
 * import { parseImageSource } from '@outpost/ota';
 * parseImageSource('stream:fw-7/2'); // { kind: 'stream', streamId: 'fw-7', fileId: 2 }
 * parseImageSource('https://updates.example/fw.bin').kind; // 'http'
 * ```
 */
export function parseImageSource(image: string): ImageSource {
  if (typeof image !== 'string') throw new TypeError(`image: expected a string, got ${typeof image}`);
  if (image.length === 0 || image.length > MAX_IMAGE_CHARS) throw new OtaError('MALFORMED', `image: expected 1-${MAX_IMAGE_CHARS} characters, got ${image.length}`);
  if (image.startsWith('stream:')) {
    const [id, file, ...rest] = image.slice('stream:'.length).split('/');
    const fileId = file === undefined ? 0 : Number(file);
    if (id === undefined || !STREAM_ID.test(id) || rest.length > 0 || !Number.isInteger(fileId) || fileId < 0 || fileId > 255 || (file !== undefined && !/^\d+$/.test(file))) {
      throw new OtaError('MALFORMED', `image: expected stream:<id>[/<fileId>] (id [A-Za-z0-9_-]{1,128}, fileId 0-255), got ${JSON.stringify(image.slice(0, 80))}`);
    }
    return { kind: 'stream', streamId: id, fileId };
  }
  let url: URL;
  try {
    url = new URL(image);
  } catch {
    throw new OtaError('MALFORMED', `image: not a URL nor stream:<id>: ${JSON.stringify(image.slice(0, 80))}`);
  }
  if (url.protocol === 'https:' || url.protocol === 'http:') return { kind: 'http', url: image };
  if (url.protocol === 'coap:' || url.protocol === 'coaps:') return { kind: 'coap', url: image };
  throw new OtaError('MALFORMED', `image: unsupported scheme ${JSON.stringify(url.protocol)} (stream:, https:, http:, coap:, coaps:)`);
}

const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
function unb64(v: unknown, field: string): Uint8Array {
  if (typeof v !== 'string' || v.length % 4 !== 0 || !BASE64.test(v)) throw new OtaError('MALFORMED', `job document: ${field}: expected base64`);
  return new Uint8Array(Buffer.from(v, 'base64'));
}

/**
 * Writes the job document for an OTA job (the operator's side).
 *
 * @throws {TypeError} for wrong field types; {@link OtaError} `MALFORMED` for a bad image source.
 * @example
 * ```ts
 * import { encodeOtaJobDocument } from '@outpost/ota';
 * const doc = encodeOtaJobDocument({ manifest: new Uint8Array([1, 2, 3]), image: 'stream:fw-7' });
 * doc.manifest; // 'AQID'
 * ```
 */
export function encodeOtaJobDocument(job: Omit<OtaJob, 'jobId'>): OtaJobDocument {
  if (typeof job !== 'object' || job === null) throw new TypeError('job: expected an object');
  if (!(job.manifest instanceof Uint8Array)) throw new TypeError('job.manifest: expected a Uint8Array');
  if (job.timestamp !== undefined && !(job.timestamp instanceof Uint8Array)) throw new TypeError('job.timestamp: expected a Uint8Array');
  if (job.roots !== undefined && (!Array.isArray(job.roots) || !job.roots.every((r) => r instanceof Uint8Array))) throw new TypeError('job.roots: expected an array of Uint8Array');
  parseImageSource(job.image);
  return {
    operation: OTA_JOB_OPERATION, v: 1, manifest: b64(job.manifest), image: job.image,
    ...(job.timestamp === undefined ? {} : { timestamp: b64(job.timestamp) }),
    ...(job.roots === undefined ? {} : { roots: job.roots.map(b64) }),
  };
}

/**
 * Reads a job document into the agent's {@link OtaJob} (the device's side). Checks the shape
 * only; the manifest, timestamp and roots are verified by the agent before any byte is fetched.
 *
 * @throws {OtaError} `MALFORMED` when the document is not an OTA job document of version 1.
 * @example
 * ```ts
 * import { encodeOtaJobDocument, parseOtaJobDocument } from '@outpost/ota';
 * const job = parseOtaJobDocument('job-1', encodeOtaJobDocument({ manifest: new Uint8Array([9]), image: 'coap://gw.local/fw' }));
 * job.image; // 'coap://gw.local/fw'
 * job.manifest[0]; // 9
 * ```
 */
export function parseOtaJobDocument(jobId: string, doc: unknown): OtaJob {
  if (typeof jobId !== 'string' || jobId === '') throw new TypeError('jobId: expected a non-empty string');
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new OtaError('MALFORMED', `job ${jobId}: the job document is not an object`);
  const d = doc as Record<string, unknown>;
  if (d['operation'] !== OTA_JOB_OPERATION) throw new OtaError('MALFORMED', `job ${jobId}: operation is ${JSON.stringify(d['operation'])}, expected ${JSON.stringify(OTA_JOB_OPERATION)}`);
  if (d['v'] !== 1) throw new OtaError('MALFORMED', `job ${jobId}: document version ${JSON.stringify(d['v'])} is not 1`);
  if (typeof d['image'] !== 'string') throw new OtaError('MALFORMED', `job ${jobId}: image: expected a string`);
  parseImageSource(d['image']);
  const roots = d['roots'];
  if (roots !== undefined && !Array.isArray(roots)) throw new OtaError('MALFORMED', `job ${jobId}: roots: expected an array`);
  return {
    jobId, manifest: unb64(d['manifest'], 'manifest'), image: d['image'],
    ...(d['timestamp'] === undefined ? {} : { timestamp: unb64(d['timestamp'], 'timestamp') }),
    ...(roots === undefined ? {} : { roots: (roots as unknown[]).map((r, i) => unb64(r, `roots[${i}]`)) }),
  };
}
