// PHYPayload codec, LoRaWAN L2 1.0.4 §4 and LoRaWAN 1.1 §4/§6:
// MHDR(1) | MACPayload | MIC(4); MACPayload = FHDR(DevAddr 4 | FCtrl 1 | FCnt 2 | FOpts 0–15) | FPort | FRMPayload.
// Multi-octet fields are little-endian on the wire; DevAddr and EUIs are presented MSB first.
import { assertBytes, assertBytesLength, assertInt, assertObject, describe, readUint16LE, readUint24LE, reversedCopy, writeReversed, writeUint16LE } from './bytes.js';
import { aesEncryptBlocks, lorawanKeystreamXor } from './crypto.js';
import { LoRaWANError } from './errors.js';
import { reconstructFCnt } from './fcnt.js';
import { decodeMacCommands, type MacCommand } from './mac-commands.js';
import { EMPTY, aBlock, checkKey, dataMic, micEquals, mtypeOf, plainMic } from './frame-mic.js';
import type { DataFrame, DLSettings, FCtrl, Frame, JoinAcceptFields, MicStatus, FrameKeys, FrameOptions, JoinAcceptFrame, JoinRequestFrame, LoRaWANVersion, RejoinRequestFrame } from './frame-types.js';

/**
 * Decodes a PHYPayload. With keys it verifies the MIC (a mismatch is `micStatus: 'invalid'`,
 * not an exception) and decrypts FRMPayload / join-accepts / 1.1 FOpts; with
 * `options.lastFCnt` it reconstructs the 32-bit frame counter. Replay checks are the
 * receiver's job: see {@link FrameCounter}.
 *
 * @throws LoRaWANError `TRUNCATED` (too short for its MType) or `MALFORMED` (bad Major, FOpts
 *   longer than the frame, FOpts together with FPort 0); TypeError / RangeError for bad arguments.
 *   Never anything else, whatever the bytes.
 * @example
 * ```ts
 * import { decodeFrame } from '@outpost/lorawan';
 * const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
 * const f = decodeFrame(hex('40f17dbe4900020001954378762b11ff0d'), {
 *   nwkSKey: hex('44024241ed4ce9a68c6a8bc055233fd3'),
 *   appSKey: hex('ec925802ae430ca77fd3dd73cb2cc588'),
 * });
 * if (f.type === 'UnconfirmedDataUp') {
 *   f.micStatus;                               // 'valid'
 *   new TextDecoder().decode(f.payload);       // 'test'
 * }
 * ```
 */
export function decodeFrame(bytes: Uint8Array, keys: FrameKeys = {}, options: FrameOptions = {}): Frame {
  assertBytes(bytes, 'bytes');
  assertObject(keys, 'keys');
  assertObject(options, 'options');
  const version = keys.version ?? '1.0';
  if (version !== '1.0' && version !== '1.1') throw new RangeError(`keys.version: expected '1.0' or '1.1', got ${describe(version)}`);
  if (bytes.length < 1) throw new LoRaWANError('TRUNCATED', 'PHYPayload: expected at least 1 byte (MHDR), got 0', { offset: 0 });
  const mhdr = bytes[0] as number;
  const type = mtypeOf(bytes);
  if (type === 'Proprietary') return { type, payload: bytes.slice(1) };
  if ((mhdr & 0x03) !== 0) {
    throw new LoRaWANError('MALFORMED', `MHDR: unsupported Major ${mhdr & 0x03} at offset 0 (only LoRaWAN R1 = 0)`, { offset: 0 });
  }
  switch (type) {
    case 'JoinRequest': return decodeJoinRequest(bytes, version, keys);
    case 'JoinAccept': return decodeJoinAccept(bytes, version, keys, options);
    case 'RejoinRequest': return decodeRejoin(bytes, keys);
    default: return decodeData(bytes, type, version, keys, options);
  }
}

function need(bytes: Uint8Array, n: number, what: string): void {
  if (bytes.length < n) throw new LoRaWANError('TRUNCATED', `${what}: expected at least ${n} bytes, got ${bytes.length}`, { offset: bytes.length });
}

function decodeData(bytes: Uint8Array, type: DataFrame['type'], version: LoRaWANVersion, keys: FrameKeys, options: FrameOptions): DataFrame {
  // MHDR 1 + FHDR ≥ 7 + MIC 4
  need(bytes, 12, type);
  const up = type === 'UnconfirmedDataUp' || type === 'ConfirmedDataUp';
  const fctrl = bytes[5] as number;
  const fOptsLen = fctrl & 0x0f;
  const micOff = bytes.length - 4;
  const fhdrEnd = 8 + fOptsLen;
  if (fhdrEnd > micOff) {
    throw new LoRaWANError('MALFORMED', `FOptsLen: ${fOptsLen} bytes of FOpts at offset 8 do not fit before the MIC at offset ${micOff}`, { offset: 5 });
  }
  const fCnt16 = readUint16LE(bytes, 6);
  const fCnt = reconstructFCnt(fCnt16, options.lastFCnt);
  const hasPort = fhdrEnd < micOff;
  const fPort = hasPort ? (bytes[fhdrEnd] as number) : undefined;
  if (fPort === 0 && fOptsLen > 0) {
    throw new LoRaWANError('MALFORMED', `FPort 0 with ${fOptsLen} bytes of FOpts: MAC commands may not be in both (LoRaWAN 1.0.4 §4.3.1.6)`, { offset: fhdrEnd });
  }
  const fOpts = bytes.slice(8, fhdrEnd);
  const frmPayload = hasPort ? bytes.slice(fhdrEnd + 1, micOff) : EMPTY;
  const ack = (fctrl & 0x20) !== 0;

  let micStatus: MicStatus = 'unchecked';
  const fcnt32 = fCnt > 0xffffffff ? fCnt - 0x100000000 : fCnt;
  const mic = dataMic(version, keys, bytes, micOff, up, fcnt32, ack, options);
  if (mic !== undefined) micStatus = micEquals(bytes, micOff, mic) ? 'valid' : 'invalid';

  // Payload decryption (LoRaWAN L2 1.0.4 §4.3.3): FPort 0 with NwkSKey (1.1: NwkSEncKey), else AppSKey.
  let payload: Uint8Array | undefined;
  if (fPort !== undefined) {
    const k = fPort === 0 ? checkKey(keys, version === '1.0' ? 'nwkSKey' : 'nwkSEncKey') : checkKey(keys, 'appSKey');
    if (k !== undefined) payload = lorawanKeystreamXor(k, aBlock(bytes, up, fcnt32, 0), frmPayload, 1);
  }

  // MAC commands: FOpts (1.1: encrypted with NwkSEncKey; LoRaWAN 1.1 errata CR "FCntDwn usage in FOpts encryption").
  let macBytes: Uint8Array | undefined;
  if (fOptsLen > 0) {
    if (version === '1.0') macBytes = fOpts;
    else {
      const k = checkKey(keys, 'nwkSEncKey');
      if (k !== undefined) macBytes = lorawanKeystreamXor(k, aBlock(bytes, up, fcnt32, !up && fPort !== undefined && fPort > 0 ? 2 : 1), fOpts, 1);
    }
  } else if (fPort === 0) macBytes = payload;
  let macCommands: readonly MacCommand[] = [];
  let macError: LoRaWANError | undefined;
  if (macBytes !== undefined && macBytes.length > 0) {
    try {
      macCommands = decodeMacCommands(macBytes, up ? 'up' : 'down');
    } catch (err) {
      macError = err as LoRaWANError;
      macCommands = macError.partial as MacCommand[];
    }
  }
  return {
    type, direction: up ? 'up' : 'down', confirmed: type === 'ConfirmedDataUp' || type === 'ConfirmedDataDown',
    devAddr: reversedCopy(bytes, 1, 4),
    fCtrl: {
      adr: (fctrl & 0x80) !== 0,
      adrAckReq: up && (fctrl & 0x40) !== 0,
      ack,
      fPending: !up && (fctrl & 0x10) !== 0,
      classB: up && (fctrl & 0x10) !== 0,
    },
    fCnt16, fCnt, fOpts, fPort, frmPayload, payload, macCommands, macError,
    mic: bytes.slice(micOff), micStatus,
  };
}

function decodeJoinRequest(bytes: Uint8Array, version: LoRaWANVersion, keys: FrameKeys): JoinRequestFrame {
  // MHDR | JoinEUI 8 | DevEUI 8 | DevNonce 2 | MIC 4 (LoRaWAN L2 1.0.4 §6.2.4)
  if (bytes.length !== 23) {
    throw new LoRaWANError(bytes.length < 23 ? 'TRUNCATED' : 'MALFORMED', `JoinRequest: expected 23 bytes, got ${bytes.length}`, { offset: Math.min(bytes.length, 23) });
  }
  const k = checkKey(keys, version === '1.1' ? 'nwkKey' : 'appKey') ?? checkKey(keys, version === '1.1' ? 'appKey' : 'nwkKey');
  const mic = k === undefined ? undefined : plainMic(k, bytes, 19);
  return {
    type: 'JoinRequest',
    joinEUI: reversedCopy(bytes, 1, 8),
    devEUI: reversedCopy(bytes, 9, 8),
    devNonce: readUint16LE(bytes, 17),
    mic: bytes.slice(19),
    micStatus: mic === undefined ? 'unchecked' : micEquals(bytes, 19, mic) ? 'valid' : 'invalid',
  };
}

function decodeJoinAccept(bytes: Uint8Array, version: LoRaWANVersion, keys: FrameKeys, options: FrameOptions): JoinAcceptFrame {
  // MHDR | JoinNonce 3 | NetID 3 | DevAddr 4 | DLSettings 1 | RxDelay 1 | [CFList 16] | MIC 4, encrypted after MHDR
  if (bytes.length !== 17 && bytes.length !== 33) {
    throw new LoRaWANError(bytes.length < 17 ? 'TRUNCATED' : 'MALFORMED', `JoinAccept: expected 17 or 33 bytes, got ${bytes.length}`, { offset: Math.min(bytes.length, 17) });
  }
  const encrypted = bytes.slice(1);
  const k = checkKey(keys, version === '1.1' ? 'nwkKey' : 'appKey') ?? checkKey(keys, version === '1.1' ? 'appKey' : 'nwkKey');
  if (k === undefined) return { type: 'JoinAccept', encrypted, fields: undefined, mic: undefined, micStatus: 'unchecked' };
  // The network encrypts with aes128_decrypt, so the device decrypts with aes128_encrypt (§6.2.5).
  const plain = new Uint8Array(bytes.length);
  plain[0] = bytes[0] as number;
  plain.set(aesEncryptBlocks(k, encrypted), 1);
  const dl = plain[11] as number;
  const fields: JoinAcceptFields = {
    joinNonce: readUint24LE(plain, 1),
    netId: readUint24LE(plain, 4),
    devAddr: reversedCopy(plain, 7, 4),
    dlSettings: { optNeg: (dl & 0x80) !== 0, rx1DrOffset: (dl >> 4) & 0x07, rx2DataRate: dl & 0x0f },
    rxDelay: (plain[12] as number) & 0x0f,
    cfList: plain.length === 33 ? plain.slice(13, 29) : undefined,
  };
  const micOff = plain.length - 4;
  let expected: Uint8Array | undefined;
  if (!fields.dlSettings.optNeg) expected = plainMic(k, plain, micOff);
  else {
    // LoRaWAN 1.1 §6.2.3: cmac(JSIntKey, JoinReqType | JoinEUI | DevNonce | MHDR | JoinNonce | NetID | DevAddr | DLSettings | RxDelay | CFList)
    const js = checkKey(keys, 'jsIntKey');
    if (js !== undefined && options.joinEUI !== undefined && options.devNonce !== undefined) {
      assertBytesLength(options.joinEUI, 'joinEUI', 8);
      assertInt(options.devNonce, 'devNonce', 0, 0xffff);
      const jrt = options.joinReqType ?? 0xff;
      assertInt(jrt, 'joinReqType', 0, 0xff);
      const msg = new Uint8Array(11 + micOff);
      msg[0] = jrt;
      writeReversed(msg, 1, options.joinEUI);
      writeUint16LE(msg, 9, options.devNonce);
      msg.set(plain.subarray(0, micOff), 11);
      expected = plainMic(js, msg, msg.length);
    }
  }
  return {
    type: 'JoinAccept', encrypted, fields, mic: plain.slice(micOff),
    micStatus: expected === undefined ? 'unchecked' : micEquals(plain, micOff, expected) ? 'valid' : 'invalid',
  };
}

function decodeRejoin(bytes: Uint8Array, keys: FrameKeys): RejoinRequestFrame {
  // LoRaWAN 1.1 §6.2.4.1/2: type 0/2: MHDR | type | NetID 3 | DevEUI 8 | RJcount0 2 | MIC (19 bytes);
  // type 1: MHDR | type | JoinEUI 8 | DevEUI 8 | RJcount1 2 | MIC (24 bytes)
  need(bytes, 2, 'RejoinRequest');
  const rt = bytes[1] as number;
  if (rt > 2) throw new LoRaWANError('MALFORMED', `RejoinRequest: unknown rejoin type ${rt} at offset 1`, { offset: 1 });
  const len = rt === 1 ? 24 : 19;
  if (bytes.length !== len) {
    throw new LoRaWANError(bytes.length < len ? 'TRUNCATED' : 'MALFORMED', `RejoinRequest type ${rt}: expected ${len} bytes, got ${bytes.length}`, { offset: Math.min(bytes.length, len) });
  }
  const k = checkKey(keys, rt === 1 ? 'jsIntKey' : 'sNwkSIntKey');
  const mic = k === undefined ? undefined : plainMic(k, bytes, len - 4);
  return {
    type: 'RejoinRequest',
    rejoinType: rt as 0 | 1 | 2,
    netId: rt === 1 ? undefined : readUint24LE(bytes, 2),
    joinEUI: rt === 1 ? reversedCopy(bytes, 2, 8) : undefined,
    devEUI: reversedCopy(bytes, rt === 1 ? 10 : 5, 8),
    rjCount: readUint16LE(bytes, len - 6),
    mic: bytes.slice(len - 4),
    micStatus: mic === undefined ? 'unchecked' : micEquals(bytes, len - 4, mic) ? 'valid' : 'invalid',
  };
}
