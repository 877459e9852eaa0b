// AES-128 primitives for LoRaWAN on node:crypto: AES-CMAC (RFC 4493) for MICs and the
// AES-ECB keystream (LoRaWAN L2 1.0.4 §4.3.3) for FRMPayload/FOpts encryption.
//
// Hot path: one cached ECB and one cached CBC cipher object per key (looked up through a
// WeakMap on the caller's key array, validated against a private copy of its bytes on every
// use). A CBC cipher keeps its chaining value between update() calls, so each CMAC XORs the
// previous final block into its first block to start again from a zero IV: one update() per
// MIC instead of creating a cipher.
import { createCipheriv, createDecipheriv, type Cipher } from 'node:crypto';
import { assertBytesLength } from './bytes.js';

interface KeyState {
  readonly copy: Uint8Array;
  readonly ecb: Cipher;
  /** Created on first CMAC use (an AppSKey never needs one). */
  cbc: Cipher | undefined;
  /** Last ciphertext block the CBC cipher produced (its current chaining value). */
  readonly chain: Uint8Array;
  k1: Uint8Array | undefined;
  k2: Uint8Array | undefined;
}

const states = new WeakMap<Uint8Array, KeyState>();

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

function keyState(key: Uint8Array): KeyState {
  const s = states.get(key);
  if (s !== undefined && sameBytes(s.copy, key)) return s;
  const copy = Uint8Array.from(key);
  const ecb = createCipheriv('aes-128-ecb', copy, null).setAutoPadding(false);
  const st: KeyState = { copy, ecb, cbc: undefined, chain: new Uint8Array(16), k1: undefined, k2: undefined };
  states.set(key, st);
  return st;
}

function cmacState(key: Uint8Array): KeyState & { cbc: Cipher; k1: Uint8Array; k2: Uint8Array } {
  const st = keyState(key);
  if (st.cbc === undefined || st.k1 === undefined || st.k2 === undefined) {
    st.cbc = createCipheriv('aes-128-cbc', st.copy, new Uint8Array(16)).setAutoPadding(false);
    st.chain.fill(0);
    // RFC 4493 §2.3 subkey generation
    st.k1 = dbl(st.ecb.update(new Uint8Array(16)));
    st.k2 = dbl(st.k1);
  }
  return st as KeyState & { cbc: Cipher; k1: Uint8Array; k2: Uint8Array };
}

function dbl(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 15; i++) out[i] = (((b[i] as number) << 1) | ((b[i + 1] as number) >> 7)) & 0xff;
  out[15] = (((b[15] as number) << 1) & 0xff) ^ ((b[0] as number) & 0x80 ? 0x87 : 0);
  return out;
}

/**
 * AES-CMAC (RFC 4493) over `buf[0 … msgLen)`. `buf` must have room for the padded message
 * (a multiple of 16 bytes, at least 16) and is modified in place. Returns the 16-byte tag.
 */
export function cmacInPlace(key: Uint8Array, buf: Uint8Array, msgLen: number): Uint8Array {
  const st = cmacState(key);
  const n = msgLen === 0 ? 1 : Math.ceil(msgLen / 16);
  const last = (n - 1) * 16;
  if (msgLen > 0 && msgLen % 16 === 0) {
    for (let i = 0; i < 16; i++) buf[last + i] = (buf[last + i] as number) ^ (st.k1[i] as number);
  } else {
    buf[msgLen] = 0x80;
    buf.fill(0, msgLen + 1, last + 16);
    for (let i = 0; i < 16; i++) buf[last + i] = (buf[last + i] as number) ^ (st.k2[i] as number);
  }
  for (let i = 0; i < 16; i++) buf[i] = (buf[i] as number) ^ (st.chain[i] as number);
  const out = st.cbc.update(n * 16 === buf.length ? buf : buf.subarray(0, n * 16));
  const tag = out.subarray(out.length - 16);
  st.chain.set(tag);
  return tag;
}

/**
 * AES-CMAC (RFC 4493) of `message` under a 16-byte key.
 *
 * @throws TypeError / RangeError for a key that is not 16 bytes.
 * @example
 * ```ts
 * import { aesCmac } from '@outpost/lorawan';
 * // RFC 4493 §4 Example 1 (empty message)
 * const key = Uint8Array.from(Buffer.from('2b7e151628aed2a6abf7158809cf4f3c', 'hex'));
 * Buffer.from(aesCmac(key, new Uint8Array(0))).toString('hex'); // 'bb1d6929e95937287fa37d129b756746'
 * ```
 */
export function aesCmac(key: Uint8Array, message: Uint8Array): Uint8Array {
  assertBytesLength(key, 'key', 16);
  const buf = new Uint8Array(Math.max(16, Math.ceil(message.length / 16) * 16));
  buf.set(message);
  return Uint8Array.from(cmacInPlace(key, buf, message.length));
}

/** AES-128-ECB encryption of whole blocks (`data.length` a multiple of 16). */
export function aesEncryptBlocks(key: Uint8Array, data: Uint8Array): Uint8Array {
  return keyState(key).ecb.update(data);
}

/** AES-128-ECB decryption of whole blocks; only the network side of a join-accept needs it. */
export function aesDecryptBlocks(key: Uint8Array, data: Uint8Array): Uint8Array {
  const d = createDecipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  return d.update(data);
}

/**
 * XORs `data` with the LoRaWAN keystream S = aes128_encrypt(K, A_1) | aes128_encrypt(K, A_2) | …
 * where A_i = a0[0…14] | i (LoRaWAN L2 1.0.4 §4.3.3; `firstIndex` 1 for FRMPayload).
 * `a0` is 16 bytes whose last byte is ignored. Returns a new array.
 */
export function lorawanKeystreamXor(key: Uint8Array, a0: Uint8Array, data: Uint8Array, firstIndex: number): Uint8Array {
  const len = data.length;
  const out = new Uint8Array(len);
  if (len === 0) return out;
  const k = Math.ceil(len / 16);
  const blocks = new Uint8Array(k * 16);
  for (let i = 0; i < k; i++) {
    blocks.set(a0, i * 16);
    blocks[i * 16 + 15] = (firstIndex + i) & 0xff;
  }
  const s = keyState(key).ecb.update(blocks);
  for (let i = 0; i < len; i++) out[i] = (data[i] as number) ^ (s[i] as number);
  return out;
}
