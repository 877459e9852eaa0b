// CRC-32C (Castagnoli), reflected polynomial 0x82F63B78 (RFC 3720 §12.1, B.4).
// Hardware CRC-32C (SSE 4.2 / ARMv8 CRC instructions) through the optional dependency
// @node-rs/crc32 when it is installed for this platform, for inputs long enough (≥ 1 KiB) to pay for the
// native call (~0.5 µs); otherwise table-driven "slicing-by-8": eight 256-entry tables, one
// 64-bit step per iteration. Both give identical results (the codec tests run on whichever loads).

import { createRequire } from 'node:module';

type NativeCrc = (input: Uint8Array, initialState?: number) => number;

function loadNative(): NativeCrc | undefined {
  if (process.env['OUTPOST_CRC32C'] === 'js') return undefined;
  try {
    const mod = createRequire(import.meta.url)('@node-rs/crc32') as { crc32c?: NativeCrc };
    return typeof mod.crc32c === 'function' ? mod.crc32c : undefined;
  } catch {
    return undefined; // not installed, or no prebuilt binary for this platform: the JS path
  }
}

const native = loadNative();
/** Below this many bytes the JS loop beats the native call's overhead. */
const NATIVE_FROM = 1024;

/** Which implementation computes long inputs: `'native'` (hardware CRC instructions) or `'js'`. */
export const crc32cImplementation: 'native' | 'js' = native === undefined ? 'js' : 'native';

const POLY = 0x82f63b78;

function buildTables(): Int32Array {
  const t = new Int32Array(256 * 8);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let s = 1; s < 8; s++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[s * 256 + n] = c;
    }
  }
  return t;
}

const T = buildTables();

/**
 * CRC-32C of `data[start, end)`, continuing from `crc` (the result of a previous call, 0 to start).
 * `crc32c(ascii("123456789")) === 0xE3069283` (RFC 3720 B.4 check value).
 */
export function crc32c(data: Uint8Array, crc = 0, start = 0, end = data.length): number {
  if (native !== undefined && end - start >= NATIVE_FROM) return native(data.subarray(start, end), crc);
  return crc32cTable(data, crc, start, end);
}

/** The table-driven CRC-32C, whatever is installed (tests compare the two paths). */
export function crc32cTable(data: Uint8Array, crc = 0, start = 0, end = data.length): number {
  let c = ~crc;
  let i = start;
  const t = T;
  while (end - i >= 8) {
    const a = c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    c =
      t[1792 + (a & 0xff)]! ^
      t[1536 + ((a >>> 8) & 0xff)]! ^
      t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + data[i + 4]!]! ^
      t[512 + data[i + 5]!]! ^
      t[256 + data[i + 6]!]! ^
      t[data[i + 7]!]!;
    i += 8;
  }
  while (i < end) c = t[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
