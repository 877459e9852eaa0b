// A stream server for AWS IoT MQTT-based file delivery on any MQTT broker: answers DescribeStream
// and GetStream for every thing on `$aws/things/+/streams/+/{describe,get}/{json,cbor}`.
import { createHash } from 'node:crypto';
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { checkStreamId } from '../topics.js';
import {
  decodeDescribeStream,
  decodeGetStream,
  encodeDataBlock,
  encodeStreamDescription,
  encodeStreamRejection,
  MAX_BLOCK_SIZE,
  MIN_BLOCK_SIZE,
  peekClientToken,
  type StreamFormat,
} from './codec.js';
import { requestedBlocks } from './bitmap.js';
import { toLink, type Link, type StreamMqtt } from './mqtt.js';
import { JobsError } from '../errors.js';

/** One file of a served stream: from disk (`path`) or memory (`data`). */
export interface StreamFileSource {
  /** File id 0–255. */
  readonly fileId: number;
  readonly path?: string;
  readonly data?: Uint8Array;
  /**
   * Also serve this file's block digest list as file `fileId` of the stream: a 4-byte big-endian
   * block size, then the SHA-256 of each block. Downloaders use it to refuse a corrupted block
   * as it arrives (the stream protocol has no per-block check).
   */
  readonly blockDigests?: { readonly fileId: number; readonly blockSize: number };
}

/** A stream: its version (`s`), description (`d`) and files. */
export interface StreamSource {
  /** Stream version; a GetStream with another `s` is answered `VersionMismatch`. Default 1. */
  readonly version?: number;
  readonly description?: string;
  readonly files: readonly StreamFileSource[];
}

/** Options of {@link startStreamServer}. */
export interface StreamServerOptions {
  /** The server's MQTT connection (its identity needs read-write on `$aws/things/+/streams/#`). */
  readonly mqtt: StreamMqtt;
  /** Streams by stream id. */
  readonly streams: Readonly<Record<string, StreamSource>>;
  /** QoS of descriptions and rejections. Default 1. */
  readonly qos?: 0 | 1;
  /**
   * QoS of data blocks. Default 0: the downloader asks again for any block that does not come
   * (QoS 1 adds a PUBACK per block on both legs and only helps across a reconnect, where the
   * downloader re-asks anyway); 0 measured 0.8× raw QoS 1 publishing against 0.4–0.5× with 1.
   */
  readonly dataQos?: 0 | 1;
  /** Largest `l × n` served per GetStream; larger requests are answered `InvalidRequest`. Default 128 KiB (AWS's limit). */
  readonly maxBytesPerRequest?: number;
  /**
   * A request for a stream this server does not have: `reject` answers `ResourceNotFound`
   * (default); `ignore` stays silent, so that several servers, each with its own streams, can
   * share one broker.
   */
  readonly unknownStreams?: 'reject' | 'ignore';
}

/** Counters of a running stream server. */
export interface StreamServerStats {
  readonly describes: number;
  readonly gets: number;
  readonly blocksSent: number;
  readonly rejected: number;
}

/** A running stream server. */
export interface StreamServer {
  stats(): StreamServerStats;
  /** Adds or replaces a stream. */
  setStream(streamId: string, source: StreamSource): Promise<void>;
  /** Stops answering and closes open files. */
  stop(): Promise<void>;
}

interface ServedFile {
  readonly size: number;
  read(pos: number, len: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

interface Served {
  readonly version: number;
  readonly description: string | undefined;
  readonly files: Map<number, ServedFile>;
}

const REQUEST_RE = /^\$aws\/things\/([^/]+)\/streams\/([^/]+)\/(describe|get)\/(json|cbor)$/;

function memoryFile(data: Uint8Array): ServedFile {
  return { size: data.length, read: (pos, len) => Promise.resolve(data.subarray(pos, Math.min(pos + len, data.length))), close: () => Promise.resolve() };
}

async function diskFile(path: string): Promise<ServedFile> {
  const { size } = await stat(path);
  let fd: Promise<FileHandle> | undefined;
  return {
    size,
    async read(pos, len) {
      fd ??= open(path, 'r');
      const buf = new Uint8Array(Math.min(len, size - pos));
      const { bytesRead } = await (await fd).read(buf, 0, buf.length, pos);
      return buf.subarray(0, bytesRead);
    },
    async close() {
      if (fd !== undefined) await (await fd).close();
    },
  };
}

/**
 * The block digest list of a file: 4-byte big-endian block size, then SHA-256 of each block.
 *
 * @throws RangeError for a block size outside 256 B–128 KiB.
 * @example
 * ```ts
 * import { blockDigestList } from '@outpost/jobs';
 * blockDigestList(new Uint8Array(600), 256).length; // 100
 * ```
 */
export function blockDigestList(data: Uint8Array, blockSize: number): Uint8Array {
  if (!Number.isInteger(blockSize) || blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE) throw new RangeError(`blockSize: expected ${MIN_BLOCK_SIZE}..${MAX_BLOCK_SIZE}, got ${blockSize}`);
  const n = Math.ceil(data.length / blockSize);
  const out = new Uint8Array(4 + 32 * n);
  new DataView(out.buffer).setUint32(0, blockSize, false);
  for (let i = 0; i < n; i++) out.set(createHash('sha256').update(data.subarray(i * blockSize, (i + 1) * blockSize)).digest(), 4 + 32 * i);
  return out;
}

async function load(id: string, src: StreamSource): Promise<Served> {
  checkStreamId(id);
  if (typeof src !== 'object' || src === null || !Array.isArray(src.files)) throw new TypeError(`streams.${id}: expected { files: [...] }`);
  const files = new Map<number, ServedFile>();
  const add = (fileId: number, f: ServedFile): void => {
    if (!Number.isInteger(fileId) || fileId < 0 || fileId > 255) throw new RangeError(`streams.${id}: file id ${fileId} outside 0..255`);
    if (files.has(fileId)) throw new RangeError(`streams.${id}: file id ${fileId} given twice`);
    files.set(fileId, f);
  };
  for (const f of src.files) {
    if (f.data !== undefined && !(f.data instanceof Uint8Array)) throw new TypeError(`streams.${id}.files: data must be a Uint8Array`);
    if (f.data === undefined && typeof f.path !== 'string') throw new TypeError(`streams.${id}.files: give path or data`);
    add(f.fileId, f.data !== undefined ? memoryFile(f.data) : await diskFile(f.path!));
    if (f.blockDigests !== undefined) {
      const bytes = f.data ?? new Uint8Array(await readFile(f.path!));
      add(f.blockDigests.fileId, memoryFile(blockDigestList(bytes, f.blockDigests.blockSize)));
    }
  }
  return { version: src.version ?? 1, description: src.description, files };
}

/**
 * Starts a stream server: answers DescribeStream and GetStream (JSON and CBOR) for the given
 * streams, for any thing that the broker lets ask.
 *
 * @throws TypeError / RangeError for bad options; the subscribe error when the broker refuses.
 * @example
 * ```ts
 * import { startStreamServer, type StreamMqtt } from '@outpost/jobs';
 * const serve = (mqtt: StreamMqtt) => startStreamServer({ mqtt, streams: { 'fw-7': { files: [{ fileId: 0, path: '/srv/fw-7.bin' }] } } });
 * typeof serve; // 'function'
 * ```
 */
export async function startStreamServer(options: StreamServerOptions): Promise<StreamServer> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options: expected an object');
  const link = toLink(options.mqtt);
  const qos = { answer: options.qos ?? 1, data: options.dataQos ?? 0 };
  const maxBytes = options.maxBytesPerRequest ?? MAX_BLOCK_SIZE;
  if (!Number.isInteger(maxBytes) || maxBytes < MIN_BLOCK_SIZE) throw new RangeError(`maxBytesPerRequest: expected an integer ≥ ${MIN_BLOCK_SIZE}, got ${maxBytes}`);
  const streams = new Map<string, Served>();
  for (const [id, src] of Object.entries(options.streams)) streams.set(id, await load(id, src));
  const stats = { describes: 0, gets: 0, blocksSent: 0, rejected: 0 };
  let stopped = false;
  const off = link.onMessage((topic, payload) => {
    const m = REQUEST_RE.exec(topic);
    if (m === null || stopped) return;
    if (options.unknownStreams === 'ignore' && !streams.has(m[2]!)) return;
    void handle(link, streams, stats, { thing: m[1]!, streamId: m[2]!, kind: m[3] as 'describe' | 'get', format: m[4] as StreamFormat }, payload, qos, maxBytes).catch(() => undefined);
  });
  await link.subscribe(['$aws/things/+/streams/+/describe/+', '$aws/things/+/streams/+/get/+'], 1);
  return {
    stats: () => ({ ...stats }),
    async setStream(id, src) {
      const old = streams.get(id);
      streams.set(id, await load(id, src));
      for (const f of old?.files.values() ?? []) await f.close();
    },
    async stop() {
      stopped = true;
      off();
      for (const s of streams.values()) for (const f of s.files.values()) await f.close();
    },
  };
}

interface Req {
  readonly thing: string;
  readonly streamId: string;
  readonly kind: 'describe' | 'get';
  readonly format: StreamFormat;
}

async function handle(link: Link, streams: Map<string, Served>, stats: { describes: number; gets: number; blocksSent: number; rejected: number }, r: Req, payload: Uint8Array, qos: { answer: 0 | 1; data: 0 | 1 }, maxBytes: number): Promise<void> {
  const base = `$aws/things/${r.thing}/streams/${r.streamId}`;
  let token: string | undefined;
  const reject = async (o: string, m: string): Promise<void> => {
    stats.rejected++;
    await link.publish(`${base}/rejected/${r.format}`, encodeStreamRejection({ o, m, ...(token !== undefined ? { c: token } : {}) }, r.format), qos.answer);
  };
  try {
    const s = streams.get(r.streamId);
    if (r.kind === 'describe') {
      const req = decodeDescribeStream(payload, r.format);
      token = req.c;
      stats.describes++;
      if (s === undefined) return await reject('ResourceNotFound', `no stream ${r.streamId}`);
      const desc = { ...(token !== undefined ? { c: token } : {}), s: s.version, ...(s.description !== undefined ? { d: s.description } : {}), r: [...s.files].map(([f, file]) => ({ f, z: file.size })) };
      return await link.publish(`${base}/description/${r.format}`, encodeStreamDescription(desc, r.format), qos.answer);
    }
    const req = decodeGetStream(payload, r.format);
    token = req.c;
    stats.gets++;
    if (s === undefined) return await reject('ResourceNotFound', `no stream ${r.streamId}`);
    if (req.s !== undefined && req.s !== s.version) return await reject('VersionMismatch', `stream version is ${s.version}, request asked for ${req.s}`);
    const file = s.files.get(req.f);
    if (file === undefined) return await reject('ResourceNotFound', `no file ${req.f} in stream ${r.streamId}`);
    if (req.l * Math.max(1, req.n) > maxBytes) return await reject('InvalidRequest', `l × n = ${req.l * req.n} exceeds ${maxBytes} bytes per request`);
    const count = Math.ceil(file.size / req.l);
    if (req.o >= count) return await reject('OffsetOutOfBounds', `block ${req.o} is past the last block ${count - 1}`);
    // Publishes are handed to the client together (it keeps them in order); awaited as a batch.
    const sends: Promise<void>[] = [];
    const ids = requestedBlocks(req, count);
    // One read for the span of the asked blocks when it is small (one syscall, not one per block).
    const first = ids[0] ?? 0;
    const span = ids.length === 0 ? 0 : (ids[ids.length - 1]! - first + 1) * req.l;
    const whole = span > 0 && span <= 4 * maxBytes ? await file.read(first * req.l, span) : undefined;
    for (const i of ids) {
      const p = whole !== undefined ? whole.subarray((i - first) * req.l, (i - first + 1) * req.l) : await file.read(i * req.l, req.l);
      sends.push(link.publish(`${base}/data/${r.format}`, encodeDataBlock({ ...(token !== undefined ? { c: token } : {}), f: req.f, l: req.l, i, p }, r.format), qos.data));
      stats.blocksSent++;
    }
    await Promise.all(sends);
  } catch (e) {
    if (e instanceof JobsError && e.code === 'BAD_MESSAGE') {
      token ??= peekClientToken(payload, r.format);
      return await reject(e.message.includes(' l: ') ? 'BlockSizeOutOfBounds' : 'InvalidRequest', e.message);
    }
    throw e;
  }
}
