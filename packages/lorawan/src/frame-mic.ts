// MIC and keystream blocks of the PHYPayload codec (LoRaWAN L2 1.0.4 §4.4, LoRaWAN 1.1 §4.4),
// shared by the decoder (frame.ts) and the encoder (frame-encode.ts).
import { assertBytesLength, assertInt, writeUint32LE } from './bytes.js';
import { cmacInPlace } from './crypto.js';

import { MTYPES, type FrameKeys, type FrameOptions, type LoRaWANVersion, type MType } from './frame-types.js';

export const EMPTY = new Uint8Array(0);

export function checkKey(keys: FrameKeys, name: keyof FrameKeys): Uint8Array | undefined {
  const k = keys[name];
  if (k === undefined) return undefined;
  assertBytesLength(k, name, 16);
  return k;
}

export function micEquals(buf: Uint8Array, o: number, tag: Uint8Array): boolean {
  // Not constant-time: MIC checks here guard integrity, and the attacker sees accept/drop anyway.
  return buf[o] === tag[0] && buf[o + 1] === tag[1] && buf[o + 2] === tag[2] && buf[o + 3] === tag[3];
}

/** B0/B1 block (LoRaWAN 1.1 §4.4) followed by `msg`, in a buffer padded for CMAC. */
export function withB0(msg: Uint8Array, msgLen: number, dir: number, devAddrWire: Uint8Array, dOff: number, fCnt: number, b1: number, b2: number, b3: number, b4: number): Uint8Array {
  const buf = new Uint8Array(16 + Math.max(16, Math.ceil(msgLen / 16) * 16));
  buf[0] = 0x49;
  buf[1] = b1; buf[2] = b2; buf[3] = b3; buf[4] = b4;
  buf[5] = dir;
  buf[6] = devAddrWire[dOff] as number; buf[7] = devAddrWire[dOff + 1] as number;
  buf[8] = devAddrWire[dOff + 2] as number; buf[9] = devAddrWire[dOff + 3] as number;
  writeUint32LE(buf, 10, fCnt);
  buf[15] = msgLen;
  buf.set(msgLen === msg.length ? msg : msg.subarray(0, msgLen), 16);
  return buf;
}

/** MIC of a data frame `phy[0 … msgLen)` (LoRaWAN L2 1.0.4 §4.4; LoRaWAN 1.1 §4.4). */
export function dataMic(
  version: LoRaWANVersion, keys: FrameKeys, phy: Uint8Array, msgLen: number, up: boolean, fCnt: number, ack: boolean, opts: FrameOptions,
): Uint8Array | undefined {
  const dir = up ? 0 : 1;
  if (version === '1.0') {
    const k = checkKey(keys, 'nwkSKey');
    if (k === undefined) return undefined;
    const buf = withB0(phy, msgLen, dir, phy, 1, fCnt, 0, 0, 0, 0);
    return cmacInPlace(k, buf, 16 + msgLen).subarray(0, 4);
  }
  if (opts.confFCnt !== undefined) assertInt(opts.confFCnt, 'confFCnt', 0, 0xffffffff);
  // LoRaWAN 1.1 §4.4: ConfFCnt (little-endian, low 16 bits) only when ACK is set; lora-packet 0.9.3
  // writes it big-endian, ChirpStack and TTN little-endian like this.
  const confFCnt = ack ? (opts.confFCnt ?? 0) & 0xffff : 0;
  const s = checkKey(keys, 'sNwkSIntKey');
  if (!up) {
    if (s === undefined) return undefined;
    const buf = withB0(phy, msgLen, dir, phy, 1, fCnt, confFCnt & 0xff, confFCnt >> 8, 0, 0);
    return cmacInPlace(s, buf, 16 + msgLen).subarray(0, 4);
  }
  const f = checkKey(keys, 'fNwkSIntKey');
  if (s === undefined || f === undefined) return undefined;
  const txDr = opts.txDr ?? 0;
  const txCh = opts.txCh ?? 0;
  assertInt(txDr, 'txDr', 0, 15);
  assertInt(txCh, 'txCh', 0, 255);
  const cmacF = cmacInPlace(f, withB0(phy, msgLen, 0, phy, 1, fCnt, 0, 0, 0, 0), 16 + msgLen);
  const lo0 = cmacF[0] as number;
  const lo1 = cmacF[1] as number;
  const cmacS = cmacInPlace(s, withB0(phy, msgLen, 0, phy, 1, fCnt, confFCnt & 0xff, confFCnt >> 8, txDr, txCh), 16 + msgLen);
  return Uint8Array.of(cmacS[0] as number, cmacS[1] as number, lo0, lo1);
}

/** cmac(key, msg)[0..3]. */
export function plainMic(key: Uint8Array, msg: Uint8Array, msgLen: number): Uint8Array {
  const buf = new Uint8Array(Math.max(16, Math.ceil(msgLen / 16) * 16));
  buf.set(msgLen === msg.length ? msg : msg.subarray(0, msgLen));
  return cmacInPlace(key, buf, msgLen).subarray(0, 4);
}

/** A block for FRMPayload (i from 1) and 1.1 FOpts encryption. */
export function aBlock(phy: Uint8Array, up: boolean, fCnt: number, b4: number): Uint8Array {
  const a = new Uint8Array(16);
  a[0] = 0x01;
  a[4] = b4;
  a[5] = up ? 0 : 1;
  a[6] = phy[1] as number; a[7] = phy[2] as number; a[8] = phy[3] as number; a[9] = phy[4] as number;
  writeUint32LE(a, 10, fCnt);
  return a;
}

export function mtypeOf(bytes: Uint8Array): MType {
  return MTYPES[(bytes[0] as number) >> 5] as MType;
}
