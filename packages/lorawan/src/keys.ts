// Session-key derivation, delegated to lora-packet (LoRaWAN L2 1.0.4 §6.2.5, LoRaWAN 1.1 §6.2.3).
// Not on a hot path, so lora-packet's crypto-js AES is fine here.
import { createRequire } from 'node:module';
import { assertBytesLength, assertInt } from './bytes.js';

type LoraPacketLib = (typeof import('lora-packet'))['default'];
let lib: LoraPacketLib | undefined;
function loraPacket(): LoraPacketLib {
  // lora-packet ends with `module.exports = modules` although its typings declare a default export;
  // createRequire yields that object the same way under Node, tsx, vitest and the tsup bundle.
  lib ??= createRequire(import.meta.url)('lora-packet') as LoraPacketLib;
  return lib;
}

/** LoRaWAN 1.0 session keys. */
export interface SessionKeys10 {
  readonly nwkSKey: Uint8Array;
  readonly appSKey: Uint8Array;
}

/** LoRaWAN 1.1 session keys. */
export interface SessionKeys11 {
  readonly fNwkSIntKey: Uint8Array;
  readonly sNwkSIntKey: Uint8Array;
  readonly nwkSEncKey: Uint8Array;
  readonly appSKey: Uint8Array;
}

const be3 = (v: number): Buffer => Buffer.from([(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]);
const be2 = (v: number): Buffer => Buffer.from([(v >> 8) & 0xff, v & 0xff]);
const u8 = (b: Buffer): Uint8Array => Uint8Array.from(b);

/**
 * LoRaWAN 1.0 session keys from a join: `NwkSKey = aes128_encrypt(AppKey, 0x01 | JoinNonce | NetID | DevNonce | pad16)`,
 * `AppSKey` the same with 0x02 (LoRaWAN L2 1.0.4 §6.2.5).
 *
 * @example
 * ```ts
 * import { deriveSessionKeys10 } from '@outpost/lorawan';
 * const k = deriveSessionKeys10(new Uint8Array(16), 0x000013, 0x000001, 0x0001);
 * k.nwkSKey.length; // 16
 * ```
 */
export function deriveSessionKeys10(appKey: Uint8Array, netId: number, joinNonce: number, devNonce: number): SessionKeys10 {
  assertBytesLength(appKey, 'appKey', 16);
  assertInt(netId, 'netId', 0, 0xffffff);
  assertInt(joinNonce, 'joinNonce', 0, 0xffffff);
  assertInt(devNonce, 'devNonce', 0, 0xffff);
  // lora-packet takes these fields MSB first and reverses them onto the wire itself.
  const r = loraPacket().generateSessionKeys10(Buffer.from(appKey), be3(netId), be3(joinNonce), be2(devNonce));
  return { nwkSKey: u8(r.NwkSKey), appSKey: u8(r.AppSKey) };
}

/**
 * LoRaWAN 1.1 session keys (OptNeg = 1): FNwkSIntKey/SNwkSIntKey/NwkSEncKey from NwkKey,
 * AppSKey from AppKey, each `aes128_encrypt(key, 0x0i | JoinNonce | JoinEUI | DevNonce | pad16)`.
 *
 * @example
 * ```ts
 * import { deriveSessionKeys11 } from '@outpost/lorawan';
 * const k = deriveSessionKeys11(new Uint8Array(16), new Uint8Array(16), new Uint8Array(8), 1, 1);
 * k.nwkSEncKey.length; // 16
 * ```
 */
export function deriveSessionKeys11(appKey: Uint8Array, nwkKey: Uint8Array, joinEUI: Uint8Array, joinNonce: number, devNonce: number): SessionKeys11 {
  assertBytesLength(appKey, 'appKey', 16);
  assertBytesLength(nwkKey, 'nwkKey', 16);
  assertBytesLength(joinEUI, 'joinEUI', 8);
  assertInt(joinNonce, 'joinNonce', 0, 0xffffff);
  assertInt(devNonce, 'devNonce', 0, 0xffff);
  const r = loraPacket().generateSessionKeys11(Buffer.from(appKey), Buffer.from(nwkKey), Buffer.from(joinEUI), be3(joinNonce), be2(devNonce));
  return { fNwkSIntKey: u8(r.FNwkSIntKey), sNwkSIntKey: u8(r.SNwkSIntKey), nwkSEncKey: u8(r.NwkSEncKey), appSKey: u8(r.AppSKey) };
}
