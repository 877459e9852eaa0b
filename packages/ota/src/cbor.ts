// Deterministic CBOR for the manifest's restricted data model (RFC 8949 §4.2.1 "Core Deterministic
// Encoding"): unsigned and negative integers, byte strings, text strings, arrays and maps, each
// with the shortest-form argument, definite lengths only, and map keys sorted by the bytewise
// lexicographic order of their encodings. Decoding goes through cbor-x; the decoded value is then
// re-encoded here and compared byte for byte with the input, so anything non-deterministic
// (long-form integers, indefinite lengths, unsorted or duplicate keys, floats, tags, simple values)
// is refused.
import { Decoder } from 'cbor-x';
import { OtaError } from './errors.js';

/** A value of the restricted CBOR data model. Maps have integer or text keys. */
export type CborValue = number | bigint | string | Uint8Array | CborValue[] | Map<number | string, CborValue>;

const decoder = new Decoder({ mapsAsObjects: false, useRecords: false, structuredClone: false } as ConstructorParameters<typeof Decoder>[0]);
const te = new TextEncoder();

class Out {
  buf = new Uint8Array(256);
  len = 0;
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
}

// RFC 8949 §4.2.1: the argument in its shortest form.
function head(out: Out, major: number, arg: number | bigint): void {
  const mt = major << 5;
  if (typeof arg === 'number' && arg < 24) out.byte(mt | arg);
  else if (typeof arg === 'number' && arg < 0x100) { out.byte(mt | 24); out.byte(arg); }
  else if (typeof arg === 'number' && arg < 0x10000) { out.byte(mt | 25); out.byte(arg >>> 8); out.byte(arg & 0xff); }
  else if (typeof arg === 'number' && arg < 0x100000000) {
    out.byte(mt | 26);
    out.byte(arg >>> 24); out.byte((arg >>> 16) & 0xff); out.byte((arg >>> 8) & 0xff); out.byte(arg & 0xff);
  } else {
    const big = BigInt(arg);
    if (big < 0x100000000n) return head(out, major, Number(big));
    if (big >= 1n << 64n) throw new RangeError(`cbor: integer ${big} does not fit 64 bits`);
    out.byte(mt | 27);
    for (let i = 7; i >= 0; i--) out.byte(Number((big >> BigInt(i * 8)) & 0xffn));
  }
}

function enc(out: Out, v: CborValue, depth: number): void {
  if (depth > 16) throw new RangeError('cbor: nesting deeper than 16');
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new RangeError(`cbor: ${v} is not a safe integer`);
    if (v >= 0) head(out, 0, v);
    else head(out, 1, -1 - v);
  } else if (typeof v === 'bigint') {
    if (v >= 0n) head(out, 0, v);
    else head(out, 1, -1n - v);
  } else if (typeof v === 'string') {
    const b = te.encode(v);
    head(out, 3, b.length);
    out.bytes(b);
  } else if (v instanceof Uint8Array) {
    head(out, 2, v.length);
    out.bytes(v);
  } else if (Array.isArray(v)) {
    head(out, 4, v.length);
    for (const item of v) enc(out, item, depth + 1);
  } else if (v instanceof Map) {
    // §4.2.1: keys sorted by the bytewise lexicographic order of their deterministic encodings.
    const entries = [...v.entries()].map(([k, val]) => [encodeCbor(k), val] as const);
    entries.sort((x, y) => compareBytes(x[0], y[0]));
    head(out, 5, entries.length);
    for (let i = 0; i < entries.length; i++) {
      const [k, val] = entries[i] as readonly [Uint8Array, CborValue];
      if (i > 0 && compareBytes((entries[i - 1] as readonly [Uint8Array, CborValue])[0], k) === 0) throw new RangeError('cbor: duplicate map key');
      out.bytes(k);
      enc(out, val, depth + 1);
    }
  } else {
    throw new TypeError(`cbor: unsupported value of type ${describe(v)}`);
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

/** Bytewise lexicographic comparison (shorter first on a common prefix). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * Encodes a value of the restricted data model as deterministic CBOR (RFC 8949 §4.2.1).
 *
 * @throws {TypeError} for values outside the data model (floats are `RangeError`).
 * @example
 * ```ts
 * import { encodeCbor, toHex, type CborValue } from '@outpost/ota';
 * const v: CborValue = new Map<number | string, CborValue>([['b', 1], [10, 'x'], [-1, new Uint8Array([0xff])]]);
 * toHex(encodeCbor(v)); // 'a30a61782041ff616201': keys sorted by their encodings (10, -1, "b")
 * ```
 */
export function encodeCbor(value: CborValue): Uint8Array {
  const out = new Out();
  enc(out, value, 0);
  return out.buf.slice(0, out.len);
}

/**
 * Decodes deterministic CBOR of the restricted data model; anything else is an `OtaError`
 * `MALFORMED`. `what` names the structure in messages.
 */
export function decodeDeterministic(bytes: Uint8Array, what: string): CborValue {
  let value: unknown;
  try {
    value = decoder.decode(bytes);
  } catch (err) {
    const incomplete = typeof err === 'object' && err !== null && (err as { incomplete?: unknown }).incomplete === true;
    throw new OtaError('MALFORMED', `${what}: ${incomplete ? 'truncated CBOR' : 'not valid CBOR'} (${(err as Error).message})`);
  }
  let again: Uint8Array;
  try {
    again = encodeCbor(normalize(value, 0));
  } catch (err) {
    throw new OtaError('MALFORMED', `${what}: outside the manifest data model (${(err as Error).message})`);
  }
  if (compareBytes(again, bytes) !== 0) {
    throw new OtaError('MALFORMED', `${what}: not deterministic CBOR (RFC 8949 §4.2.1: shortest-form arguments, definite lengths, sorted unique map keys, no trailing bytes)`);
  }
  return normalize(value, 0);
}

function normalize(v: unknown, depth: number): CborValue {
  if (depth > 16) throw new RangeError('nesting deeper than 16');
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new RangeError(`non-integer number ${v}`);
    return v;
  }
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) && BigInt(Number(v)) === v ? Number(v) : v;
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return v.map((x) => normalize(x, depth + 1));
  if (v instanceof Map) {
    const m = new Map<number | string, CborValue>();
    for (const [k, val] of v) {
      if (typeof k !== 'string' && !(typeof k === 'number' && Number.isSafeInteger(k))) throw new RangeError(`map key of type ${describe(k)}`);
      m.set(k, normalize(val, depth + 1));
    }
    return m;
  }
  throw new TypeError(`value of type ${describe(v)}`);
}
