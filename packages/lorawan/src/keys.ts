// Session-key derivation on node:crypto (LoRaWAN L2 1.0.4 §6.2.5, LoRaWAN 1.1 §6.2.3): one
// AES-128 block per key. Multi-octet fields go onto the block little-endian, as on the wire.
import { aesEncryptBlocks } from './crypto.js';
import { assertBytesLength, assertInt } from './bytes.js';

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

/** `aes128_encrypt(key, type | JoinNonce(3) | id | DevNonce(2) | pad16)`; `id` already little-endian. */
function sessionKey(key: Uint8Array, type: number, joinNonce: number, id: Uint8Array, devNonce: number): Uint8Array {
  const block = new Uint8Array(16);
  block[0] = type;
  block[1] = joinNonce & 0xff;
  block[2] = (joinNonce >>> 8) & 0xff;
  block[3] = (joinNonce >>> 16) & 0xff;
  block.set(id, 4);
  block[4 + id.length] = devNonce & 0xff;
  block[5 + id.length] = (devNonce >>> 8) & 0xff;
  return Uint8Array.from(aesEncryptBlocks(key, block)); // a plain Uint8Array, not node:crypto's Buffer
}

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
  const net = Uint8Array.of(netId & 0xff, (netId >>> 8) & 0xff, (netId >>> 16) & 0xff);
  return { nwkSKey: sessionKey(appKey, 0x01, joinNonce, net, devNonce), appSKey: sessionKey(appKey, 0x02, joinNonce, net, devNonce) };
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
  const eui = Uint8Array.from(joinEUI).reverse(); // presented MSB first, little-endian on the block
  return {
    fNwkSIntKey: sessionKey(nwkKey, 0x01, joinNonce, eui, devNonce),
    appSKey: sessionKey(appKey, 0x02, joinNonce, eui, devNonce),
    sNwkSIntKey: sessionKey(nwkKey, 0x03, joinNonce, eui, devNonce),
    nwkSEncKey: sessionKey(nwkKey, 0x04, joinNonce, eui, devNonce),
  };
}
