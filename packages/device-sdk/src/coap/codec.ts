/**
 * Pure CoAP message codec (RFC 7252 §3): `Uint8Array` in, {@link CoapMessage} out, and back.
 * No sockets, no timers. Multi-byte fields are big-endian (network byte order).
 */
import { CoapError } from './errors.js';
import { describe } from '../describe.js';

/** CoAP message type (RFC 7252 §3, §4.2, §4.3). */
export type CoapType = 'CON' | 'NON' | 'ACK' | 'RST';

const TYPES: readonly CoapType[] = ['CON', 'NON', 'ACK', 'RST'];

/** One option: its number and raw value (RFC 7252 §3.1, §5.4). */
export interface CoapOption {
  readonly number: number;
  readonly value: Uint8Array;
}

/**
 * A decoded CoAP message. `code` is the 8-bit code: class in the top 3 bits, detail in the low 5.
 *
 * @example
 * ```ts
 * import { decodeMessage, type CoapMessage } from '@outpost/device-sdk/coap';
 * const m: CoapMessage = decodeMessage(new Uint8Array([0x60, 0x45, 0x12, 0x34]));
 * m.messageId; // 0x1234
 * ```
 */
export interface CoapMessage {
  readonly type: CoapType;
  readonly code: number;
  readonly messageId: number;
  readonly token: Uint8Array;
  /** In the order they appear on the wire (sorted by number); repeated options appear repeatedly. */
  readonly options: readonly CoapOption[];
  readonly payload: Uint8Array;
}

/**
 * Option numbers used by the client (RFC 7252 §5.10, RFC 7641 §2, RFC 7959 §2.1, RFC 9175 §3).
 *
 * @example
 * ```ts
 * import { CoapOptionNumber } from '@outpost/device-sdk/coap';
 * CoapOptionNumber.Block2; // 23
 * ```
 */
export const CoapOptionNumber = {
  IfMatch: 1,
  UriHost: 3,
  ETag: 4,
  IfNoneMatch: 5,
  Observe: 6,
  UriPort: 7,
  LocationPath: 8,
  UriPath: 11,
  ContentFormat: 12,
  MaxAge: 14,
  UriQuery: 15,
  Accept: 17,
  LocationQuery: 20,
  Block2: 23,
  Block1: 27,
  Size2: 28,
  ProxyUri: 35,
  ProxyScheme: 39,
  Size1: 60,
  RequestTag: 292,
} as const;

/**
 * Request method codes (RFC 7252 §12.1.1, RFC 8132 §2 for FETCH/PATCH/iPATCH).
 *
 * @example
 * ```ts
 * import { CoapMethodCode } from '@outpost/device-sdk/coap';
 * CoapMethodCode.FETCH; // 5
 * ```
 */
export const CoapMethodCode = { GET: 1, POST: 2, PUT: 3, DELETE: 4, FETCH: 5, PATCH: 6, iPATCH: 7 } as const;

/** A request method name. */
export type CoapMethod = keyof typeof CoapMethodCode;

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();
const EMPTY = new Uint8Array(0);

/**
 * Formats an 8-bit code as `c.dd` (RFC 7252 §3: "2.05").
 *
 * @example
 * ```ts
 * import { formatCode } from '@outpost/device-sdk/coap';
 * formatCode(0x45); // '2.05'
 * ```
 */
export function formatCode(code: number): string {
  if (typeof code !== 'number') throw new TypeError(`code: expected a number, got ${typeof code}`);
  if (!Number.isInteger(code) || code < 0 || code > 255) throw new RangeError(`code: expected an integer 0..255, got ${code}`);
  return `${code >> 5}.${String(code & 0x1f).padStart(2, '0')}`;
}

/**
 * Parses `c.dd` into the 8-bit code.
 *
 * @example
 * ```ts
 * import { parseCode } from '@outpost/device-sdk/coap';
 * parseCode('4.04'); // 132
 * ```
 */
export function parseCode(text: string): number {
  if (typeof text !== 'string') throw new TypeError(`code: expected a string like "2.05", got ${typeof text}`);
  const m = /^([0-7])\.([0-3][0-9])$/.exec(text);
  if (m === null || Number(m[2]) > 31) throw new RangeError(`code: expected "c.dd" with c 0..7 and dd 00..31, got "${text}"`);
  return (Number(m[1]) << 5) | Number(m[2]);
}

function checkBytes(name: string, v: unknown): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TypeError(`${name}: expected a Uint8Array, got ${describe(v)}`);
}

function checkInt(name: string, v: unknown, max: number): asserts v is number {
  if (typeof v !== 'number') throw new TypeError(`${name}: expected a number, got ${typeof v}`);
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${name}: expected an integer 0..${max}, got ${v}`);
}

/** Size of an option delta/length extension (RFC 7252 §3.1). */
function extSize(n: number): number {
  return n < 13 ? 0 : n < 269 ? 1 : 2;
}

/**
 * Encodes a message (RFC 7252 §3). Options are sorted by number (stably, so repeated
 * options keep their order) and delta-encoded.
 *
 * @throws TypeError for wrong field types, RangeError for out-of-range fields (token over
 * 8 bytes, message id over 0xffff, option value over 65804 bytes).
 * @example
 * ```ts
 * import { encodeMessage } from '@outpost/device-sdk/coap';
 * const bytes = encodeMessage({ type: 'CON', code: 1, messageId: 0x1234, token: new Uint8Array([0xab]), options: [], payload: new Uint8Array(0) });
 * bytes; // Uint8Array [0x41, 0x01, 0x12, 0x34, 0xab]
 * ```
 */
export function encodeMessage(msg: CoapMessage): Uint8Array {
  if (typeof msg !== 'object' || msg === null) throw new TypeError(`message: expected an object, got ${describe(msg)}`);
  const t = TYPES.indexOf(msg.type);
  if (t < 0) throw new RangeError(`type: expected CON, NON, ACK or RST, got ${String(msg.type)}`);
  checkInt('code', msg.code, 255);
  checkInt('messageId', msg.messageId, 0xffff);
  checkBytes('token', msg.token);
  if (msg.token.length > 8) throw new RangeError(`token: expected 0..8 bytes, got ${msg.token.length}`);
  checkBytes('payload', msg.payload);
  if (!Array.isArray(msg.options)) throw new TypeError(`options: expected an array, got ${typeof msg.options}`);
  const opts = (msg.options as readonly CoapOption[]).map((o, i) => {
    if (typeof o !== 'object' || o === null) throw new TypeError(`options[${i}]: expected an object`);
    checkInt(`options[${i}].number`, o.number, 0xffff);
    checkBytes(`options[${i}].value`, o.value);
    if (o.value.length > 0xffff + 269) throw new RangeError(`options[${i}].value: expected at most 65804 bytes, got ${o.value.length}`);
    return { o, i };
  });
  opts.sort((a, b) => a.o.number - b.o.number || a.i - b.i);
  let size = 4 + msg.token.length;
  let prev = 0;
  for (const { o } of opts) {
    size += 1 + extSize(o.number - prev) + extSize(o.value.length) + o.value.length;
    prev = o.number;
  }
  if (msg.payload.length > 0) size += 1 + msg.payload.length;
  const out = new Uint8Array(size);
  out[0] = 0x40 | (t << 4) | msg.token.length;
  out[1] = msg.code;
  out[2] = msg.messageId >> 8;
  out[3] = msg.messageId & 0xff;
  out.set(msg.token, 4);
  let p = 4 + msg.token.length;
  prev = 0;
  const nibble = (n: number): number => (n < 13 ? n : n < 269 ? 13 : 14);
  const ext = (n: number): void => {
    if (n >= 269) {
      out[p++] = (n - 269) >> 8;
      out[p++] = (n - 269) & 0xff;
    } else if (n >= 13) out[p++] = n - 13;
  };
  for (const { o } of opts) {
    const delta = o.number - prev;
    out[p++] = (nibble(delta) << 4) | nibble(o.value.length);
    ext(delta);
    ext(o.value.length);
    out.set(o.value, p);
    p += o.value.length;
    prev = o.number;
  }
  if (msg.payload.length > 0) {
    out[p++] = 0xff;
    out.set(msg.payload, p);
  }
  return out;
}

/**
 * Decodes one datagram into a message (RFC 7252 §3). The returned token, option values and
 * payload are views into `bytes` (no copies).
 *
 * @throws CoapError `TRUNCATED` when the datagram ends inside a field, `MALFORMED` for a
 * message format error (version ≠ 1, TKL 9–15, reserved nibble 15, payload marker with an
 * empty payload, a non-empty "empty message"); both carry the byte `offset`. TypeError when
 * `bytes` is not a Uint8Array.
 * @example
 * ```ts
 * import { decodeMessage } from '@outpost/device-sdk/coap';
 * const m = decodeMessage(new Uint8Array([0x60, 0x45, 0x12, 0x34]));
 * m.type; // 'ACK'
 * ```
 */
export function decodeMessage(bytes: Uint8Array): CoapMessage {
  checkBytes('bytes', bytes);
  const n = bytes.length;
  if (n < 4) throw new CoapError('TRUNCATED', `CoAP header: expected 4 bytes, got ${n}`, { offset: n });
  const b0 = bytes[0]!;
  if (b0 >> 6 !== 1) throw new CoapError('MALFORMED', `CoAP version: expected 1, got ${b0 >> 6} at offset 0`, { offset: 0 });
  const type = TYPES[(b0 >> 4) & 3]!;
  const tkl = b0 & 0x0f;
  if (tkl > 8) throw new CoapError('MALFORMED', `token length: expected 0..8, got ${tkl} at offset 0`, { offset: 0 });
  const code = bytes[1]!;
  const messageId = (bytes[2]! << 8) | bytes[3]!;
  if (code === 0 && (tkl !== 0 || n !== 4)) {
    // RFC 7252 §4.1: an Empty message has TKL 0 and nothing after the header.
    throw new CoapError('MALFORMED', `empty message (0.00): expected 4 bytes and no token, got ${n} bytes, TKL ${tkl}`, { offset: 4 });
  }
  if (n < 4 + tkl) throw new CoapError('TRUNCATED', `token: expected ${tkl} bytes at offset 4, got ${n - 4}`, { offset: n });
  const token = bytes.subarray(4, 4 + tkl);
  const options: CoapOption[] = [];
  let p = 4 + tkl;
  let number = 0;
  let payload: Uint8Array = EMPTY;
  while (p < n) {
    const start = p;
    const b = bytes[p++]!;
    if (b === 0xff) {
      if (p === n) throw new CoapError('MALFORMED', `payload marker at offset ${start} followed by an empty payload`, { offset: start });
      payload = bytes.subarray(p);
      break;
    }
    const readExt = (nib: number, what: string): number => {
      if (nib === 15) throw new CoapError('MALFORMED', `option ${what}: reserved nibble 15 at offset ${start}`, { offset: start });
      if (nib === 13) {
        if (p + 1 > n) throw new CoapError('TRUNCATED', `option ${what}: extension byte missing at offset ${p}`, { offset: p });
        return bytes[p++]! + 13;
      }
      if (nib === 14) {
        if (p + 2 > n) throw new CoapError('TRUNCATED', `option ${what}: extension bytes missing at offset ${p}`, { offset: p });
        const v = ((bytes[p]! << 8) | bytes[p + 1]!) + 269;
        p += 2;
        return v;
      }
      return nib;
    };
    const delta = readExt(b >> 4, 'delta');
    const len = readExt(b & 0x0f, 'length');
    number += delta;
    if (number > 0xffff) throw new CoapError('MALFORMED', `option number ${number} over 65535 at offset ${start}`, { offset: start });
    if (p + len > n) throw new CoapError('TRUNCATED', `option ${number}: expected ${len} value bytes at offset ${p}, got ${n - p}`, { offset: n });
    options.push({ number, value: bytes.subarray(p, p + len) });
    p += len;
  }
  return { type, code, messageId, token, options, payload };
}

/** Encodes an unsigned integer option value in the fewest bytes (RFC 7252 §3.2: 0 is empty). */
export function encodeUintOption(v: number): Uint8Array {
  checkInt('value', v, 0xffffffff);
  const out: number[] = [];
  for (let x = v; x > 0; x = Math.floor(x / 256)) out.unshift(x % 256);
  return Uint8Array.from(out);
}

/** Decodes an unsigned integer option value (at most 4 bytes; longer is MALFORMED). */
export function decodeUintOption(bytes: Uint8Array): number {
  if (bytes.length > 4) throw new CoapError('MALFORMED', `uint option: expected 0..4 bytes, got ${bytes.length}`);
  let v = 0;
  for (const b of bytes) v = v * 256 + b;
  return v;
}

/** First option with this number, or undefined. */
export function findOption(msg: Pick<CoapMessage, 'options'>, number: number): Uint8Array | undefined {
  for (const o of msg.options) if (o.number === number) return o.value;
  return undefined;
}

/** UTF-8 option value. */
export function stringOption(number: number, text: string): CoapOption {
  return { number, value: utf8.encode(text) };
}

/** Decodes a UTF-8 option value. */
export function optionText(value: Uint8Array): string {
  return utf8d.decode(value);
}
