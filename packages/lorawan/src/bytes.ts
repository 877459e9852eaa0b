// Internal byte helpers: argument checks and little-endian field access.
// LoRaWAN L2 1.0.4 §4: all multi-octet fields are transmitted little-endian.

/** Throws a TypeError unless `value` is a Uint8Array. */
export function assertBytes(value: unknown, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`${name}: expected a Uint8Array, got ${describe(value)}`);
  }
}

/** Throws a TypeError / RangeError unless `value` is a Uint8Array of exactly `length` bytes. */
export function assertBytesLength(value: unknown, name: string, length: number): asserts value is Uint8Array {
  assertBytes(value, name);
  if (value.length !== length) throw new RangeError(`${name}: expected ${length} bytes, got ${value.length}`);
}

/** Throws a TypeError / RangeError unless `value` is an integer in [min, max]. */
export function assertInt(value: unknown, name: string, min: number, max: number): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${name}: expected a number, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name}: expected an integer in [${min}, ${max}], got ${value}`);
  }
}

/** Throws a TypeError / RangeError unless `value` is a finite number in [min, max]. */
export function assertNumber(value: unknown, name: string, min = -Infinity, max = Infinity): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${name}: expected a number, got ${describe(value)}`);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new RangeError(`${name}: expected a finite number in [${min}, ${max}], got ${value}`);
  }
}

/** Throws a TypeError unless `value` is a boolean (or undefined when optional). */
export function assertBoolean(value: unknown, name: string): asserts value is boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${name}: expected a boolean, got ${describe(value)}`);
}

/** Throws a TypeError unless `value` is a non-null object. */
export function assertObject(value: unknown, name: string): asserts value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${name}: expected an object, got ${describe(value)}`);
  }
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return `a Uint8Array(${value.length})`;
  return typeof value;
}

export function readUint16LE(b: Uint8Array, o: number): number {
  return (b[o] as number) | ((b[o + 1] as number) << 8);
}

export function readUint24LE(b: Uint8Array, o: number): number {
  return (b[o] as number) | ((b[o + 1] as number) << 8) | ((b[o + 2] as number) << 16);
}

export function readUint32LE(b: Uint8Array, o: number): number {
  return ((b[o] as number) | ((b[o + 1] as number) << 8) | ((b[o + 2] as number) << 16)) + (b[o + 3] as number) * 0x1000000;
}

export function writeUint16LE(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}

export function writeUint24LE(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
}

export function writeUint32LE(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

/** Copies `len` bytes from `b` at `o`, reversed: wire (LSB first) to display order (MSB first) and back. */
export function reversedCopy(b: Uint8Array, o: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = b[o + len - 1 - i] as number;
  return out;
}

/** Writes `src` reversed into `dst` at `o`. */
export function writeReversed(dst: Uint8Array, o: number, src: Uint8Array): void {
  const len = src.length;
  for (let i = 0; i < len; i++) dst[o + i] = src[len - 1 - i] as number;
}

const HEX = '0123456789abcdef';

/**
 * Lower-case hex of `b`.
 *
 * @example
 * ```ts
 * import { toHex } from '@outpost/lorawan';
 * toHex(Uint8Array.of(0x26, 0x01)); // '2601'
 * ```
 */
export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) {
    const v = b[i] as number;
    s += HEX[v >> 4]! + HEX[v & 15]!;
  }
  return s;
}

/**
 * Parses hex (case-insensitive, no separators).
 *
 * @throws TypeError for a non-string; RangeError for an odd length or a non-hex digit.
 * @example
 * ```ts
 * import { fromHex } from '@outpost/lorawan';
 * fromHex('2601'); // Uint8Array [0x26, 0x01]
 * ```
 */
export function fromHex(hex: unknown, name = 'hex'): Uint8Array {
  if (typeof hex !== 'string') throw new TypeError(`${name}: expected a hex string, got ${describe(hex)}`);
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new RangeError(`${name}: expected an even number of hex digits, got "${hex.length > 40 ? hex.slice(0, 40) + '…' : hex}"`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
