/**
 * Block1/Block2 option values (RFC 7959 §2.2): NUM | M | SZX, block size 2^(SZX+4).
 */
import { CoapError } from './errors.js';
import { decodeUintOption, encodeUintOption } from './codec.js';

/** A decoded Block1/Block2 option. */
export interface BlockOption {
  /** Block number (0..2^20-1). */
  readonly num: number;
  /** More blocks follow. */
  readonly more: boolean;
  /** Block size exponent: size = 2^(szx+4), 0..6. */
  readonly szx: number;
}

/**
 * Allowed block sizes (RFC 7959 §2.2: 16..1024 bytes).
 *
 * @example
 * ```ts
 * import { connectCoap, type BlockSize } from '@outpost/device-sdk/coap';
 * const blockSize: BlockSize = 16;
 * const c = await connectCoap(serverUrl, { insecure: true, blockSize });
 * (await c.put('/example_data', 'x'.repeat(40))).text().length; // 40
 * await c.close();
 * ```
 */
export type BlockSize = 16 | 32 | 64 | 128 | 256 | 512 | 1024;

/** Block size in bytes for an SZX. */
export function blockSizeOf(szx: number): number {
  return 1 << (szx + 4);
}

/** SZX of a block size; RangeError unless 16, 32, …, 1024. */
export function szxOf(size: number, name = 'blockSize'): number {
  if (typeof size !== 'number') throw new TypeError(`${name}: expected a number, got ${typeof size}`);
  const szx = Math.log2(size) - 4;
  if (!Number.isInteger(szx) || szx < 0 || szx > 6) throw new RangeError(`${name}: expected 16, 32, 64, 128, 256, 512 or 1024, got ${size}`);
  return szx;
}

/** Encodes a Block option value (RFC 7959 §2.2). */
export function encodeBlock(b: BlockOption): Uint8Array {
  if (!Number.isInteger(b.num) || b.num < 0 || b.num >= 1 << 20) throw new RangeError(`block num: expected 0..1048575, got ${b.num}`);
  if (!Number.isInteger(b.szx) || b.szx < 0 || b.szx > 6) throw new RangeError(`block szx: expected 0..6, got ${b.szx}`);
  return encodeUintOption(b.num * 16 + (b.more ? 8 : 0) + b.szx);
}

/** Decodes a Block option value; SZX 7 (reserved, RFC 7959 §2.2) and over 3 bytes are MALFORMED. */
export function decodeBlock(value: Uint8Array): BlockOption {
  if (value.length > 3) throw new CoapError('MALFORMED', `block option: expected 0..3 bytes, got ${value.length}`);
  const v = decodeUintOption(value);
  const szx = v & 7;
  if (szx === 7) throw new CoapError('MALFORMED', 'block option: SZX 7 is reserved');
  return { num: Math.floor(v / 16), more: (v & 8) !== 0, szx };
}
