// The device side of AWS IoT MQTT-based file delivery: DescribeStream, then GetStream with a
// bitmap window, writing a resumable, digest-checked file.
import { createHash, randomBytes } from 'node:crypto';
import { JobsError } from '../errors.js';
import { ResumableFile, type DownloadResult } from '../delivery/resumable.js';
import { streamTopicPrefix } from '../topics.js';
import { decodeStreamDescription, decodeStreamRejection, encodeDescribeStream, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE, type StreamDescription, type StreamFormat } from './codec.js';
import { fetchBlocks, Inbox, systemTimers, type DeliveryTimers, type FetchCounters } from './fetch.js';
import { toLink, type Link, type StreamMqtt } from './mqtt.js';

/** Options of {@link downloadStream}. */
export interface StreamDownloadOptions {
  /** The device's MQTT connection. */
  readonly mqtt: StreamMqtt;
  readonly thing: string;
  readonly streamId: string;
  /** File id in the stream. Default 0. */
  readonly fileId?: number;
  /** Where the file goes; `<path>.part` and `<path>.journal` hold a download in progress. */
  readonly path: string;
  /** Expected SHA-256 of the file (the manifest's digest), 32 bytes. */
  readonly sha256: Uint8Array;
  /** `json` or `cbor`. Default `cbor`. */
  readonly format?: StreamFormat;
  /** Block size `l` (256 B–128 KiB). Default 4096; a block digest list sets its own. */
  readonly blockSize?: number;
  /** Blocks per GetStream. Default `min(32, 128 KiB / blockSize)` (AWS serves at most 128 KiB per request). */
  readonly windowBlocks?: number;
  /** GetStream requests outstanding at once. Default 4. */
  readonly requestsInFlight?: number;
  /** Fetch the stream server's block digest list from this file id and refuse bad blocks as they arrive. */
  readonly blockDigests?: { readonly fileId: number };
  /** A quiet period after which outstanding blocks are asked for again. Default 3000 ms. */
  readonly timeoutMs?: number;
  /** Quiet periods in a row before giving up with `TIMEOUT`. Default 10. */
  readonly maxRetries?: number;
  /** Journal the durable offset after this many bytes. Default 1 MiB. */
  readonly journalEveryBytes?: number;
  readonly timers?: DeliveryTimers;
  readonly signal?: AbortSignal;
  /** Called after each block is written, with the bytes written so far and the file size. */
  readonly onProgress?: (offset: number, size: number) => void;
}

/** Outcome of a stream download, with its counters. */
export interface StreamDownloadResult extends DownloadResult, Readonly<FetchCounters> {
  readonly version: number;
  readonly blockSize: number;
  /** 1 when the partial file was of another stream version or block size and was started over. */
  readonly restarts: number;
}

interface Session {
  readonly link: Link;
  readonly inbox: Inbox;
  readonly base: string;
  readonly format: StreamFormat;
  readonly token: string;
  readonly timers: DeliveryTimers;
  readonly o: StreamDownloadOptions;
  readonly counters: FetchCounters;
}

function checkOptions(o: StreamDownloadOptions): void {
  if (typeof o !== 'object' || o === null) throw new TypeError('options: expected an object');
  if (typeof o.path !== 'string' || o.path === '') throw new TypeError('path: expected a non-empty string');
  if (!(o.sha256 instanceof Uint8Array) || o.sha256.length !== 32) throw new TypeError('sha256: expected 32 bytes');
  const bs = o.blockSize ?? 4096;
  if (!Number.isInteger(bs) || bs < MIN_BLOCK_SIZE || bs > MAX_BLOCK_SIZE) throw new RangeError(`blockSize: expected ${MIN_BLOCK_SIZE}..${MAX_BLOCK_SIZE}, got ${bs}`);
  for (const k of ['windowBlocks', 'requestsInFlight', 'timeoutMs', 'maxRetries', 'journalEveryBytes'] as const) {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 1)) throw new RangeError(`${k}: expected a positive integer, got ${String(v)}`);
  }
}

async function describe(s: Session): Promise<StreamDescription> {
  for (let attempt = 0; attempt <= (s.o.maxRetries ?? 10); attempt++) {
    await s.link.publish(`${s.base}/describe/${s.format}`, encodeDescribeStream({ c: s.token }, s.format), 1);
    await s.inbox.wait(s.o.timeoutMs ?? 3000, s.timers, s.o.signal);
    for (let m = s.inbox.take(); m !== undefined; m = s.inbox.take()) {
      if (m.kind === 'rejected') {
        const r = decodeStreamRejection(m.payload, s.format);
        if (r.c === undefined || r.c === s.token) throw new JobsError('STREAM_REJECTED', `DescribeStream rejected: ${r.o}: ${r.m}`, r);
      }
      if (m.kind !== 'description') continue;
      const d = decodeStreamDescription(m.payload, s.format);
      if (d.c === undefined || d.c === s.token) return d;
    }
    if (s.o.signal?.aborted === true) throw new JobsError('ABORTED', 'stream download aborted');
  }
  throw new JobsError('TIMEOUT', `DescribeStream ${s.base}: no answer`);
}

function fileSizeOf(d: StreamDescription, fileId: number, base: string): number {
  const f = d.r.find((x) => x.f === fileId);
  if (f === undefined) throw new JobsError('STREAM_REJECTED', `${base}: the stream has no file ${fileId}`);
  return f.z;
}

/** Fetches a block digest list into memory and parses it. */
async function fetchDigestList(s: Session, d: StreamDescription, fileId: number, fileSize: number): Promise<{ blockSize: number; digests: Uint8Array }> {
  const z = fileSizeOf(d, fileId, s.base);
  if (z < 4 || (z - 4) % 32 !== 0 || z > 4 + 32 * 1_048_576) throw new JobsError('BAD_MESSAGE', `block digest list: size ${z} is not 4 + 32·n`);
  const bytes = new Uint8Array(z);
  const l = 4096;
  await fetchBlocks({ link: s.link, inbox: s.inbox, topicBase: s.base, format: s.format, token: s.token, version: d.s, fileId, blockSize: l, fileSize: z, startBlock: 0, window: 32, requestsInFlight: s.o.requestsInFlight ?? 4, timeoutMs: s.o.timeoutMs ?? 3000, maxRetries: s.o.maxRetries ?? 10, timers: s.timers, signal: s.o.signal, counters: s.counters, deliver: async (i, p) => { bytes.set(p, i * l); } });
  const blockSize = new DataView(bytes.buffer).getUint32(0, false);
  if (blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE || (z - 4) / 32 !== Math.ceil(fileSize / blockSize)) {
    throw new JobsError('BAD_MESSAGE', `block digest list: block size ${blockSize} and ${(z - 4) / 32} digests do not fit a file of ${fileSize} bytes`);
  }
  return { blockSize, digests: bytes.subarray(4) };
}

/**
 * Downloads one file of a stream over MQTT (AWS IoT MQTT-based file delivery), resuming from
 * the journal of an earlier attempt, checking each block against the block digest list when
 * asked to, and the whole file against `sha256`.
 *
 * @throws JobsError `STREAM_REJECTED`, `TIMEOUT`, `DIGEST_MISMATCH`, `SOURCE_CHANGED` (the stream
 * version changed since the partial file was written: the next call starts over), `ABORTED`,
 * `NOT_AUTHORIZED` (the broker's ACL refused the stream's SUBSCRIBE or a request's PUBLISH).
 * @example
 * ```ts
 * import { downloadStream, type StreamMqtt } from '@outpost/jobs';
 * const fetchImage = (mqtt: StreamMqtt, sha256: Uint8Array) =>
 *   downloadStream({ mqtt, thing: 'lamp-1', streamId: 'fw-7', path: '/data/fw-7.bin', sha256, blockDigests: { fileId: 1 } });
 * typeof fetchImage; // 'function'
 * ```
 */
export async function downloadStream(o: StreamDownloadOptions): Promise<StreamDownloadResult> {
  checkOptions(o);
  const link = toLink(o.mqtt);
  const base = streamTopicPrefix(o.thing, o.streamId);
  const format = o.format ?? 'cbor';
  const inbox = new Inbox();
  const off = link.onMessage((topic, payload) => {
    if (!topic.startsWith(`${base}/`) || !topic.endsWith(`/${format}`)) return;
    const kind = topic.slice(base.length + 1, -format.length - 1);
    if (kind === 'data' || kind === 'rejected' || kind === 'description') inbox.push(kind, payload);
  });
  const counters: FetchCounters = { requests: 0, blocksReceived: 0, corruptBlocks: 0, duplicateBlocks: 0, timeouts: 0 };
  const s: Session = { link, inbox, base, format, token: randomBytes(8).toString('hex'), timers: o.timers ?? systemTimers, o, counters };
  try {
    await link.subscribe([`${base}/data/${format}`, `${base}/rejected/${format}`, `${base}/description/${format}`], 1);
    return await run(s);
  } finally {
    off();
  }
}

async function run(s: Session): Promise<StreamDownloadResult> {
  const o = s.o;
  const fileId = o.fileId ?? 0;
  const d = await describe(s);
  const size = fileSizeOf(d, fileId, s.base);
  const list = o.blockDigests !== undefined ? await fetchDigestList(s, d, o.blockDigests.fileId, size) : undefined;
  const blockSize = list?.blockSize ?? o.blockSize ?? 4096;
  const check = list === undefined ? undefined : (i: number, p: Uint8Array): boolean => Buffer.compare(createHash('sha256').update(p).digest(), list.digests.subarray(32 * i, 32 * i + 32)) === 0;
  const file = await ResumableFile.open({
    path: o.path,
    source: `mqtt:${s.base}/${fileId}`,
    sha256: o.sha256,
    size,
    ...(o.journalEveryBytes !== undefined ? { journalEveryBytes: o.journalEveryBytes } : {}),
    ...(check !== undefined ? { blockCheck: { blockSize, check } } : {}),
  });
  try {
    // The partial file is only good for the same stream version and block size.
    let restarts = 0;
    if ((file.offset > 0 && (file.meta['version'] !== d.s || file.meta['blockSize'] !== blockSize)) || file.offset % blockSize !== 0) {
      restarts = 1;
      await file.restart({ version: d.s, blockSize });
    } else if (file.offset === 0) {
      file.meta = { version: d.s, blockSize };
    }
    const window = o.windowBlocks ?? Math.max(1, Math.min(32, Math.floor(MAX_BLOCK_SIZE / blockSize)));
    await fetchBlocks({ link: s.link, inbox: s.inbox, topicBase: s.base, format: s.format, token: s.token, version: d.s, fileId, blockSize, fileSize: size, startBlock: file.offset / blockSize, window, requestsInFlight: o.requestsInFlight ?? 4, timeoutMs: o.timeoutMs ?? 3000, maxRetries: o.maxRetries ?? 10, timers: s.timers, signal: o.signal, counters: s.counters, ...(check !== undefined ? { check } : {}), deliver: async (_i, p) => { await file.append(p); o.onProgress?.(file.offset, size); } });
    const sha256 = await file.finish();
    return { size, sha256, resumedFrom: file.resumedFrom, rehashMs: file.rehashMs, restarts, version: d.s, blockSize, ...s.counters };
  } catch (e) {
    if (!(e instanceof JobsError && e.code === 'DIGEST_MISMATCH')) await file.close().catch(() => undefined);
    if (e instanceof JobsError && e.code === 'STREAM_REJECTED' && (e.value as { o?: string } | undefined)?.o === 'VersionMismatch') {
      throw new JobsError('SOURCE_CHANGED', `${s.base}: the stream changed during the download (${e.message})`, e.value);
    }
    throw e;
  }
}
