// AWS IoT MQTT-based file delivery messages (AWS IoT Core Developer Guide, "Using AWS IoT
// MQTT-based file delivery in devices"): DescribeStream `{c}` → `{c,s,d,r:[{f,z}]}`, GetStream
// `{c,s,f,l,o,n,b}` → data `{c,f,l,i,p}`, errors `{o,m,c}`; keys as in ota_cbor_private.h of
// aws-iot-device-sdk-embedded-C. Pure: bytes in, a checked value or a JobsError out.
import { Decoder, Encoder } from 'cbor-x';
import { JobsError } from '../errors.js';

/** Wire format of a stream topic's last level: `json` or `cbor`. */
export type StreamFormat = 'json' | 'cbor';

/** DescribeStream request. `c` is the client token (≤ 64 bytes). */
export interface DescribeStreamRequest {
  readonly c?: string;
}

/** One file of a stream: file id `f` (0–255) and size `z` in bytes. */
export interface StreamFileInfo {
  readonly f: number;
  readonly z: number;
}

/** DescribeStream response: version `s`, description `d`, files `r`. */
export interface StreamDescription {
  readonly c?: string;
  readonly s: number;
  readonly d?: string;
  readonly r: readonly StreamFileInfo[];
}

/**
 * GetStream request: file `f`, block size `l` (256 B–128 KiB), first block `o`, block count `n`,
 * optional stream version `s` and bitmap `b` (bit i, least significant first in byte i/8, asks
 * for block `o + i`; see {@link bitmapOf}).
 */
export interface GetStreamRequest {
  readonly c?: string;
  readonly s?: number;
  readonly f: number;
  readonly l: number;
  readonly o: number;
  readonly n: number;
  readonly b?: Uint8Array;
}

/** One data block: file `f`, block size `l`, block id `i`, payload `p`. */
export interface StreamDataBlock {
  readonly c?: string;
  readonly f: number;
  readonly l: number;
  readonly i: number;
  readonly p: Uint8Array;
}

/** An error answer on `/rejected`: code `o` (e.g. `ResourceNotFound`), message `m`. */
export interface StreamRejection {
  readonly c?: string;
  readonly o: string;
  readonly m: string;
}

/**
 * Smallest GetStream block size, 256 bytes (AWS: 256 B–128 KB).
 *
 * @example
 * ```ts
 * import { MIN_BLOCK_SIZE } from '@outpost/jobs';
 * MIN_BLOCK_SIZE; // 256
 * ```
 */
export const MIN_BLOCK_SIZE = 256;
/**
 * Largest GetStream block size, 128 KiB; also the server's default bytes per request.
 *
 * @example
 * ```ts
 * import { MAX_BLOCK_SIZE } from '@outpost/jobs';
 * MAX_BLOCK_SIZE; // 131072
 * ```
 */
export const MAX_BLOCK_SIZE = 128 * 1024;
/**
 * Default largest encoded message the decoders accept: a 128 KiB block in base64 JSON fits.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_MESSAGE_BYTES } from '@outpost/jobs';
 * DEFAULT_MAX_MESSAGE_BYTES; // 196608
 * ```
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 192 * 1024;

const MAX_TOKEN_BYTES = 64;
const MAX_FILES = 256;
const MAX_BITMAP_BYTES = 12_800;
const MAX_DESCRIPTION = 1024;

const cborEnc = new Encoder({ useRecords: false, mapsAsObjects: true, variableMapSize: true });
const cborDec = new Decoder({ useRecords: false, mapsAsObjects: false });
const text = new TextEncoder();
const utf8 = new TextDecoder('utf-8', { fatal: true });

function bad(field: string, why: string): JobsError {
  return new JobsError('BAD_MESSAGE', `stream message: ${field}: ${why}`);
}

function checkFormat(format: unknown): StreamFormat {
  if (format !== 'json' && format !== 'cbor') throw new TypeError(`format: expected 'json' or 'cbor', got ${String(format)}`);
  return format;
}

/** Reads bytes into a plain record of the short keys (no prototype keys, Maps flattened). */
function parse(bytes: Uint8Array, format: StreamFormat, maxBytes: number): Map<string, unknown> {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`payload: expected a Uint8Array, got ${typeof bytes}`);
  checkFormat(format);
  if (bytes.length > maxBytes) throw bad('payload', `${bytes.length} bytes exceed maxMessageBytes ${maxBytes}`);
  let v: unknown;
  try {
    v = format === 'cbor' ? cborDec.decode(bytes) : JSON.parse(utf8.decode(bytes));
  } catch (e) {
    throw bad('payload', `not ${format}: ${(e as Error).message.slice(0, 120)}`);
  }
  if (v instanceof Map) {
    for (const k of v.keys()) if (typeof k !== 'string') throw bad('payload', 'map keys must be strings');
    return v as Map<string, unknown>;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('payload', `expected a map, got ${Array.isArray(v) ? 'an array' : typeof v}`);
  return new Map(Object.entries(v));
}

function uint(m: Map<string, unknown>, key: string, max: number, required: true): number;
function uint(m: Map<string, unknown>, key: string, max: number, required: false): number | undefined;
function uint(m: Map<string, unknown>, key: string, max: number, required: boolean): number | undefined {
  const v = m.get(key);
  if (v === undefined) {
    if (required) throw bad(key, 'missing');
    return undefined;
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw bad(key, `expected an integer 0..${max}, got ${typeof v === 'number' ? v : typeof v}`);
  return v;
}

function token(m: Map<string, unknown>): { c?: string } {
  const c = m.get('c');
  if (c === undefined) return {};
  if (typeof c !== 'string') throw bad('c', `expected a string, got ${typeof c}`);
  if (text.encode(c).length > MAX_TOKEN_BYTES) throw bad('c', `client token over ${MAX_TOKEN_BYTES} bytes`);
  return { c };
}

function bytesField(m: Map<string, unknown>, key: string, format: StreamFormat, maxLen: number): Uint8Array | undefined {
  const v = m.get(key);
  if (v === undefined) return undefined;
  let out: Uint8Array;
  if (format === 'cbor') {
    if (!(v instanceof Uint8Array)) throw bad(key, `expected a byte string, got ${typeof v}`);
    out = v;
  } else {
    // JSON carries byte fields in base64 (RFC 4648 §4), as AWS's JSON data blocks carry `p`.
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) throw bad(key, 'expected a base64 string');
    out = new Uint8Array(Buffer.from(v, 'base64'));
  }
  if (out.length > maxLen) throw bad(key, `${out.length} bytes exceed ${maxLen}`);
  return out;
}

function encode(obj: Record<string, unknown>, format: StreamFormat): Uint8Array {
  checkFormat(format);
  const clean = Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
  if (format === 'cbor') return new Uint8Array(cborEnc.encode(clean));
  const json = Object.fromEntries(Object.entries(clean).map(([k, v]) => [k, v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : v]));
  return text.encode(JSON.stringify(json));
}

function checkBlockSize(l: number): number {
  if (l < MIN_BLOCK_SIZE || l > MAX_BLOCK_SIZE) throw bad('l', `block size ${l} outside ${MIN_BLOCK_SIZE}..${MAX_BLOCK_SIZE}`);
  return l;
}

/**
 * Encodes a DescribeStream request.
 *
 * @example
 * ```ts
 * import { encodeDescribeStream } from '@outpost/jobs';
 * new TextDecoder().decode(encodeDescribeStream({ c: 't1' }, 'json')); // '{"c":"t1"}'
 * ```
 */
export function encodeDescribeStream(req: DescribeStreamRequest, format: StreamFormat): Uint8Array {
  return encode({ c: req.c }, format);
}

/**
 * Decodes a DescribeStream request. @throws JobsError `BAD_MESSAGE`.
 *
 * @example
 * ```ts
 * import { decodeDescribeStream } from '@outpost/jobs';
 * decodeDescribeStream(new TextEncoder().encode('{"c":"t1"}'), 'json').c; // 't1'
 * ```
 */
export function decodeDescribeStream(bytes: Uint8Array, format: StreamFormat, maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES): DescribeStreamRequest {
  if (bytes.length === 0) return {};
  return token(parse(bytes, format, maxMessageBytes));
}

/**
 * Encodes a DescribeStream response.
 *
 * @example
 * ```ts
 * import { encodeStreamDescription, decodeStreamDescription } from '@outpost/jobs';
 * const b = encodeStreamDescription({ s: 1, r: [{ f: 0, z: 4096 }] }, 'cbor');
 * decodeStreamDescription(b, 'cbor').r[0]?.z; // 4096
 * ```
 */
export function encodeStreamDescription(d: StreamDescription, format: StreamFormat): Uint8Array {
  return encode({ c: d.c, s: d.s, d: d.d, r: d.r.map((x) => ({ f: x.f, z: x.z })) }, format);
}

/**
 * Decodes a DescribeStream response. @throws JobsError `BAD_MESSAGE`.
 *
 * @example
 * ```ts
 * import { decodeStreamDescription } from '@outpost/jobs';
 * decodeStreamDescription(new TextEncoder().encode('{"s":2,"r":[{"f":0,"z":10}]}'), 'json').s; // 2
 * ```
 */
export function decodeStreamDescription(bytes: Uint8Array, format: StreamFormat, maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES): StreamDescription {
  const m = parse(bytes, format, maxMessageBytes);
  const s = uint(m, 's', 0xffff_ffff, true);
  const d = m.get('d');
  if (d !== undefined && (typeof d !== 'string' || d.length > MAX_DESCRIPTION)) throw bad('d', `expected a string of at most ${MAX_DESCRIPTION} characters`);
  const r = m.get('r');
  if (!Array.isArray(r) || r.length > MAX_FILES) throw bad('r', `expected an array of at most ${MAX_FILES} files`);
  const files = r.map((x: unknown, i): StreamFileInfo => {
    const fm = x instanceof Map ? (x as Map<string, unknown>) : typeof x === 'object' && x !== null && !Array.isArray(x) ? new Map(Object.entries(x)) : undefined;
    if (fm === undefined) throw bad(`r[${i}]`, 'expected a map');
    return { f: uint(fm, 'f', 255, true), z: uint(fm, 'z', Number.MAX_SAFE_INTEGER, true) };
  });
  return { ...token(m), s, ...(typeof d === 'string' ? { d } : {}), r: files };
}

/**
 * Encodes a GetStream request.
 *
 * @example
 * ```ts
 * import { encodeGetStream, decodeGetStream } from '@outpost/jobs';
 * const b = encodeGetStream({ f: 0, l: 4096, o: 8, n: 2, b: new Uint8Array([0b101]) }, 'json');
 * decodeGetStream(b, 'json').n; // 2
 * ```
 */
export function encodeGetStream(req: GetStreamRequest, format: StreamFormat): Uint8Array {
  return encode({ c: req.c, s: req.s, f: req.f, l: req.l, o: req.o, n: req.n, b: req.b }, format);
}

/**
 * Decodes a GetStream request. @throws JobsError `BAD_MESSAGE` (a block size outside 256 B–128 KiB among others).
 *
 * @example
 * ```ts
 * import { decodeGetStream } from '@outpost/jobs';
 * decodeGetStream(new TextEncoder().encode('{"f":0,"l":1024,"o":0,"n":4}'), 'json').l; // 1024
 * ```
 */
export function decodeGetStream(bytes: Uint8Array, format: StreamFormat, maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES): GetStreamRequest {
  const m = parse(bytes, format, maxMessageBytes);
  const s = uint(m, 's', 0xffff_ffff, false);
  const b = bytesField(m, 'b', format, MAX_BITMAP_BYTES);
  return {
    ...token(m),
    ...(s !== undefined ? { s } : {}),
    f: uint(m, 'f', 255, true),
    l: checkBlockSize(uint(m, 'l', MAX_BLOCK_SIZE * 2, true)),
    o: uint(m, 'o', 0xffff_ffff, true),
    n: uint(m, 'n', 0xffff_ffff, true),
    ...(b !== undefined ? { b } : {}),
  };
}

/**
 * Encodes a data block.
 *
 * @example
 * ```ts
 * import { encodeDataBlock, decodeDataBlock } from '@outpost/jobs';
 * const b = encodeDataBlock({ f: 0, l: 256, i: 3, p: new Uint8Array([1, 2]) }, 'json');
 * decodeDataBlock(b, 'json').p.length; // 2
 * ```
 */
export function encodeDataBlock(block: StreamDataBlock, format: StreamFormat): Uint8Array {
  return encode({ c: block.c, f: block.f, l: block.l, i: block.i, p: block.p }, format);
}

/**
 * Decodes a data block (`p` at most `l` bytes). @throws JobsError `BAD_MESSAGE`.
 *
 * @example
 * ```ts
 * import { decodeDataBlock } from '@outpost/jobs';
 * decodeDataBlock(new TextEncoder().encode('{"f":0,"l":256,"i":7,"p":"AQI="}'), 'json').i; // 7
 * ```
 */
export function decodeDataBlock(bytes: Uint8Array, format: StreamFormat, maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES): StreamDataBlock {
  const m = parse(bytes, format, maxMessageBytes);
  const l = checkBlockSize(uint(m, 'l', MAX_BLOCK_SIZE * 2, true));
  const p = bytesField(m, 'p', format, l);
  if (p === undefined) throw bad('p', 'missing');
  return { ...token(m), f: uint(m, 'f', 255, true), l, i: uint(m, 'i', 0xffff_ffff, true), p };
}

/**
 * Encodes an error answer.
 *
 * @example
 * ```ts
 * import { encodeStreamRejection, decodeStreamRejection } from '@outpost/jobs';
 * decodeStreamRejection(encodeStreamRejection({ o: 'ResourceNotFound', m: 'no such stream' }, 'cbor'), 'cbor').o; // 'ResourceNotFound'
 * ```
 */
export function encodeStreamRejection(r: StreamRejection, format: StreamFormat): Uint8Array {
  return encode({ o: r.o, m: r.m, c: r.c }, format);
}

/**
 * Decodes an error answer. @throws JobsError `BAD_MESSAGE`.
 *
 * @example
 * ```ts
 * import { decodeStreamRejection } from '@outpost/jobs';
 * decodeStreamRejection(new TextEncoder().encode('{"o":"VersionMismatch","m":"stream changed"}'), 'json').o; // 'VersionMismatch'
 * ```
 */
export function decodeStreamRejection(bytes: Uint8Array, format: StreamFormat, maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES): StreamRejection {
  const m = parse(bytes, format, maxMessageBytes);
  const o = m.get('o');
  const msg = m.get('m');
  if (typeof o !== 'string' || o.length > 64) throw bad('o', 'expected an error code string');
  return { ...token(m), o, m: typeof msg === 'string' ? msg.slice(0, 1024) : '' };
}

/** The client token of a message that failed its field rules, so a rejection can echo it. Internal. */
export function peekClientToken(bytes: Uint8Array, format: StreamFormat, maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES): string | undefined {
  try {
    return token(parse(bytes, format, maxMessageBytes)).c;
  } catch {
    return undefined;
  }
}
