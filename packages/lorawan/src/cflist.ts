// CFList of a join-accept: LoRaWAN L2 1.0.4 §6.2.4.5 and RP002-1.0.4 §2.x.4 of each region.
// 16 bytes: 15 bytes of content, then CFListType. Type 0 (dynamic-plan regions: EU868, AS923, …)
// lists five extra channel frequencies; type 1 (fixed-plan regions: US915, AU915, CN470) carries
// channel masks: ChMask0–4 for US915/AU915 (§2.5.4, §2.8.4: bytes 10–14 RFU), ChMask0–5 for
// CN470 (§2.9.4: 96 channels, bytes 12–14 RFU). Decoding always reads six words; the bits past
// a region's channels are ignored by channelsAfterJoin.
import { LoRaWANError } from './errors.js';
import { assertBytes, assertInt, describe, readUint16LE, readUint24LE, writeUint24LE } from './bytes.js';
import { assertRegion, type Channel, type Region } from './regions.js';

/** A decoded CFList. */
export type CfList =
  /** Type 0: five frequencies in Hz for the channels after the region's default ones; 0 = no channel. */
  | { readonly type: 0; readonly frequenciesHz: readonly number[] }
  /** Type 1: 96 enable bits (ChMask0–5, channel n = bit n), the channel plan of a fixed-plan region. */
  | { readonly type: 1; readonly channelMask: readonly boolean[] };

const CFLIST_LENGTH = 16;
const MASK_BITS = 96;

/**
 * Decodes the 16-byte CFList of a join-accept.
 *
 * @throws TypeError for a non-Uint8Array; `LoRaWANError` `MALFORMED` for a length other than 16
 * or an unknown CFListType.
 * @example
 * ```ts
 * import { decodeCfList, fromHex } from '@outpost/lorawan';
 * const cf = decodeCfList(fromHex('184f84e85684b85e84886684586e8400'));
 * cf.type === 0 && cf.frequenciesHz[0]; // 867100000
 * ```
 */
export function decodeCfList(bytes: Uint8Array): CfList {
  assertBytes(bytes, 'cfList');
  if (bytes.length !== CFLIST_LENGTH) {
    throw new LoRaWANError('MALFORMED', `cfList: expected ${CFLIST_LENGTH} bytes, got ${bytes.length}`, { offset: Math.min(bytes.length, CFLIST_LENGTH) });
  }
  const type = bytes[15] as number;
  if (type === 0) {
    const frequenciesHz: number[] = [];
    for (let i = 0; i < 5; i++) frequenciesHz.push(readUint24LE(bytes, 3 * i) * 100); // 24-bit × 100 Hz
    return { type: 0, frequenciesHz };
  }
  if (type === 1) {
    const channelMask: boolean[] = [];
    for (let m = 0; m < MASK_BITS / 16; m++) {
      const word = readUint16LE(bytes, 2 * m); // ChMask little-endian, bit i = channel 16·m + i
      for (let b = 0; b < 16; b++) channelMask.push((word & (1 << b)) !== 0);
    }
    return { type: 1, channelMask }; // bytes 12–14 are RFU and ignored
  }
  throw new LoRaWANError('MALFORMED', `cfList: unknown CFListType ${type} at offset 15 (expected 0 or 1)`, { offset: 15 });
}

/**
 * Encodes a CFList (the inverse of {@link decodeCfList}).
 *
 * @throws TypeError for a wrong shape; RangeError for a frequency that is not a multiple of
 * 100 Hz or does not fit 24 bits × 100 Hz, or a mask that is not 96 (or fewer) booleans.
 * @example
 * ```ts
 * import { encodeCfList, toHex } from '@outpost/lorawan';
 * toHex(encodeCfList({ type: 1, channelMask: [true, true, true, true, true, true, true, true] }));
 * // 'ff000000000000000000000000000001'
 * ```
 */
export function encodeCfList(cfList: CfList): Uint8Array {
  if (typeof cfList !== 'object' || cfList === null) throw new TypeError(`cfList: expected an object, got ${describe(cfList)}`);
  const out = new Uint8Array(CFLIST_LENGTH);
  if (cfList.type === 0) {
    if (!Array.isArray(cfList.frequenciesHz) || cfList.frequenciesHz.length > 5) {
      throw new TypeError(`cfList.frequenciesHz: expected an array of at most 5 numbers, got ${describe(cfList.frequenciesHz)}`);
    }
    cfList.frequenciesHz.forEach((f, i) => {
      assertInt(f, `cfList.frequenciesHz[${i}]`, 0, 0xffffff * 100);
      if (f % 100 !== 0) throw new RangeError(`cfList.frequenciesHz[${i}]: expected a multiple of 100 Hz, got ${f}`);
      writeUint24LE(out, 3 * i, f / 100);
    });
    out[15] = 0;
    return out;
  }
  if (cfList.type === 1) {
    const mask = cfList.channelMask;
    if (!Array.isArray(mask) || mask.length > MASK_BITS || mask.some((b) => typeof b !== 'boolean')) {
      throw new TypeError(`cfList.channelMask: expected at most ${MASK_BITS} booleans, got ${describe(mask)}`);
    }
    mask.forEach((on, n) => {
      if (on) out[n >> 3] = (out[n >> 3] as number) | (1 << (n & 7)); // 16-bit LE words = bytes in bit order
    });
    out[15] = 1;
    return out;
  }
  throw new TypeError(`cfList.type: expected 0 or 1, got ${describe((cfList as { type: unknown }).type)}`);
}

/** Fixed channel plans (US915, AU915, CN470): every channel the region defines is a default channel. */
function isFixedPlan(region: Region): boolean {
  return region.defaultChannels.length > 16;
}

/**
 * The uplink channels a device uses after a join-accept with this CFList (or none): for a
 * dynamic-plan region the default channels plus the listed frequencies (DR0–5, RP002-1.0.4 §2.4.4 /
 * §2.10.4), for a fixed-plan region the default channels the mask enables (US915/AU915: channels
 * 0–71, CN470 §2.9.4: 0–63 or 0–47 of the plan; further bits are ignored). Each channel keeps
 * its index in the region's numbering.
 *
 * @throws TypeError for a wrong region; `LoRaWANError` `MALFORMED` when the CFList type does not
 * match the region's plan (type 0 for US915, type 1 for EU868).
 * @example
 * ```ts
 * import { EU868, channelsAfterJoin } from '@outpost/lorawan';
 * channelsAfterJoin(EU868, { type: 0, frequenciesHz: [867100000, 0, 0, 0, 0] }).map((c) => c.index); // [0, 1, 2, 3]
 * ```
 */
export function channelsAfterJoin(region: Region, cfList?: CfList): (Channel & { readonly index: number })[] {
  assertRegion(region);
  const defaults = region.defaultChannels.map((c, index) => ({ ...c, index }));
  if (cfList === undefined) return defaults;
  if (typeof cfList !== 'object' || cfList === null || (cfList.type !== 0 && cfList.type !== 1)) {
    throw new TypeError(`cfList: expected a CfList ({ type: 0 | 1, … }), got ${describe(cfList)}`);
  }
  const fixed = isFixedPlan(region);
  if (cfList.type === 1) {
    if (!fixed) throw new LoRaWANError('MALFORMED', `cfList: type 1 (channel mask) is for fixed-plan regions, not ${region.name}`);
    if (!Array.isArray(cfList.channelMask)) throw new TypeError(`cfList.channelMask: expected an array of booleans, got ${describe(cfList.channelMask)}`);
    return defaults.filter((c) => cfList.channelMask[c.index] === true);
  }
  if (fixed) throw new LoRaWANError('MALFORMED', `cfList: type 0 (frequency list) is for dynamic-plan regions, not ${region.name}`);
  if (!Array.isArray(cfList.frequenciesHz)) throw new TypeError(`cfList.frequenciesHz: expected an array of numbers, got ${describe(cfList.frequenciesHz)}`);
  const extra = cfList.frequenciesHz.flatMap((f, i) => (f === 0 ? [] : [{ frequencyHz: f, minDr: 0, maxDr: 5, index: defaults.length + i }]));
  return [...defaults, ...extra];
}
