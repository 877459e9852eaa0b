// The GetStream block bitmap, laid out as aws-iot-device-sdk-embedded-C's `ota.c` lays out its
// block bitmap. Pure.
import type { GetStreamRequest } from './codec.js';

const MAX_BITMAP_BYTES = 12_800;

/**
 * The GetStream bitmap for a set of block ids relative to `offset`: bit i (least significant
 * bit first, byte i/8) asks for block `offset + i`, the layout of the block bitmap in
 * aws-iot-device-sdk-embedded-C's `ota.c` (bit `1 << (i % 8)` of byte `i >> 3`).
 *
 * @throws RangeError when a block id is below `offset` or the bitmap would exceed 12,800 bytes.
 * @example
 * ```ts
 * import { bitmapOf } from '@outpost/jobs';
 * Array.from(bitmapOf(8, [8, 10, 17])); // [5, 2]
 * ```
 */
export function bitmapOf(offset: number, blocks: Iterable<number>): Uint8Array {
  const ids = [...blocks];
  const top = ids.reduce((a, b) => Math.max(a, b), offset - 1);
  const len = Math.ceil((top - offset + 1) / 8);
  if (len > MAX_BITMAP_BYTES) throw new RangeError(`bitmap: ${len} bytes exceed ${MAX_BITMAP_BYTES}`);
  const out = new Uint8Array(len);
  for (const id of ids) {
    if (!Number.isInteger(id) || id < offset) throw new RangeError(`bitmap: block ${id} is below offset ${offset}`);
    const i = id - offset;
    out[i >> 3]! |= 1 << (i & 7);
  }
  return out;
}

/**
 * The block ids a GetStream request asks for, in order: the set bits of `b` from `o` (or
 * `o … o+n-1` without a bitmap), at most `n` of them and none at or past `blockCount`.
 *
 * @example
 * ```ts
 * import { requestedBlocks } from '@outpost/jobs';
 * requestedBlocks({ f: 0, l: 256, o: 8, n: 2, b: new Uint8Array([5, 2]) }, 100); // [8, 10]
 * ```
 */
export function requestedBlocks(req: GetStreamRequest, blockCount: number): number[] {
  const out: number[] = [];
  if (req.b === undefined) {
    for (let id = req.o; id < blockCount && out.length < req.n; id++) out.push(id);
    return out;
  }
  for (let i = 0; i < req.b.length * 8 && out.length < req.n; i++) {
    if ((req.b[i >> 3]! & (1 << (i & 7))) === 0) continue;
    if (req.o + i >= blockCount) break;
    out.push(req.o + i);
  }
  return out;
}
