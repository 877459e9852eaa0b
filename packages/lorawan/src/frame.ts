// PHYPayload codec, LoRaWAN L2 1.0.4 §4 and LoRaWAN 1.1 §4/§6:
// MHDR(1) | MACPayload | MIC(4); MACPayload = FHDR(DevAddr 4 | FCtrl 1 | FCnt 2 | FOpts 0–15) | FPort | FRMPayload.
// Multi-octet fields are little-endian on the wire; DevAddr and EUIs are presented MSB first.
import { assertBytes, assertBytesLength, assertInt, assertObject, describe, readUint16LE, readUint24LE, reversedCopy, writeReversed, writeUint16LE, writeUint24LE, writeUint32LE } from './bytes.js';
import { aesDecryptBlocks, aesEncryptBlocks, cmacInPlace, lorawanKeystreamXor } from './crypto.js';
import { LoRaWANError } from './errors.js';
import { reconstructFCnt } from './fcnt.js';
import { decodeMacCommands, encodeMacCommands, type MacCommand } from './mac-commands.js';

/** Message types (MHDR.MType, LoRaWAN L2 1.0.4 §4.2.1). */
export type MType =
  | 'JoinRequest' | 'JoinAccept'
  | 'UnconfirmedDataUp' | 'UnconfirmedDataDown'
  | 'ConfirmedDataUp' | 'ConfirmedDataDown'
  | 'RejoinRequest' | 'Proprietary';

const MTYPES: readonly MType[] = ['JoinRequest', 'JoinAccept', 'UnconfirmedDataUp', 'UnconfirmedDataDown', 'ConfirmedDataUp', 'ConfirmedDataDown', 'RejoinRequest', 'Proprietary'];

/** Result of the MIC check: `'unchecked'` when the needed key was not given. */
export type MicStatus = 'valid' | 'invalid' | 'unchecked';

/** LoRaWAN version of a session: selects MIC and FOpts rules. */
export type LoRaWANVersion = '1.0' | '1.1';

/**
 * Session and root keys (16 bytes each). Give the ones you have; checks that need a missing key
 * are reported `'unchecked'` and payloads stay encrypted.
 */
export interface FrameKeys {
  /** Default `'1.0'` (1.0.x rules; also 1.1 devices that negotiated 1.0). */
  readonly version?: LoRaWANVersion;
  /** 1.0: network session key (MIC; FPort 0 payload). */
  readonly nwkSKey?: Uint8Array;
  /** Application session key (FRMPayload on FPort > 0). */
  readonly appSKey?: Uint8Array;
  /** 1.1: forwarding network session integrity key (uplink MIC, low half). */
  readonly fNwkSIntKey?: Uint8Array;
  /** 1.1: serving network session integrity key (uplink MIC high half, downlink MIC, rejoin 0/2). */
  readonly sNwkSIntKey?: Uint8Array;
  /** 1.1: network session encryption key (FOpts, FPort 0 payload). */
  readonly nwkSEncKey?: Uint8Array;
  /** 1.0 root key: join-request MIC, join-accept encryption and MIC. */
  readonly appKey?: Uint8Array;
  /** 1.1 root key: join-request MIC, join-accept encryption. */
  readonly nwkKey?: Uint8Array;
  /** 1.1: join-server integrity key (join-accept MIC with OptNeg, rejoin type 1). */
  readonly jsIntKey?: Uint8Array;
}

/** Frame-level options of {@link decodeFrame} / {@link encodeFrame}. */
export interface FrameOptions {
  /** Last accepted 32-bit counter of this direction, to reconstruct FCnt from its 16 bits. */
  readonly lastFCnt?: number;
  /** 1.1 uplink MIC: frame counter of the confirmed downlink being acknowledged (when ACK is set). Default 0. */
  readonly confFCnt?: number;
  /** 1.1 uplink MIC: data rate of the uplink. Default 0. */
  readonly txDr?: number;
  /** 1.1 uplink MIC: channel index of the uplink. Default 0. */
  readonly txCh?: number;
  /** 1.1 join-accept with OptNeg: JoinReqType (0xff join-request, 0/1/2 rejoin type). Default 0xff. */
  readonly joinReqType?: number;
  /** 1.1 join-accept with OptNeg: JoinEUI of the request (MSB first). */
  readonly joinEUI?: Uint8Array;
  /** 1.1 join-accept with OptNeg: DevNonce of the request. */
  readonly devNonce?: number;
}

/** FCtrl bits. `adrAckReq` and `classB` are uplink-only; `fPending` is downlink-only. */
export interface FCtrl {
  readonly adr: boolean;
  readonly adrAckReq: boolean;
  readonly ack: boolean;
  readonly fPending: boolean;
  readonly classB: boolean;
}

/** A decoded data frame (confirmed/unconfirmed, up/down). */
export interface DataFrame {
  readonly type: 'UnconfirmedDataUp' | 'UnconfirmedDataDown' | 'ConfirmedDataUp' | 'ConfirmedDataDown';
  readonly direction: 'up' | 'down';
  readonly confirmed: boolean;
  /** 4 bytes, MSB first (as printed: `26011bda`). */
  readonly devAddr: Uint8Array;
  readonly fCtrl: FCtrl;
  /** The 16-bit counter on the wire. */
  readonly fCnt16: number;
  /** The 32-bit counter reconstructed with `options.lastFCnt` (equal to `fCnt16` without it). */
  readonly fCnt: number;
  /** FOpts as on the wire (encrypted in 1.1). */
  readonly fOpts: Uint8Array;
  readonly fPort: number | undefined;
  /** FRMPayload as on the wire (encrypted). */
  readonly frmPayload: Uint8Array;
  /** Decrypted FRMPayload, when the needed key was given. */
  readonly payload: Uint8Array | undefined;
  /** MAC commands from FOpts, or from the FPort 0 payload once decrypted. */
  readonly macCommands: readonly MacCommand[];
  /** Set when MAC command parsing stopped (`UNKNOWN_CID`, `TRUNCATED`); `macCommands` keeps what was parsed. */
  readonly macError: LoRaWANError | undefined;
  readonly mic: Uint8Array;
  readonly micStatus: MicStatus;
}

/** DLSettings of a join-accept. */
export interface DLSettings {
  readonly optNeg: boolean;
  readonly rx1DrOffset: number;
  readonly rx2DataRate: number;
}

/** Decrypted join-accept fields. */
export interface JoinAcceptFields {
  readonly joinNonce: number;
  readonly netId: number;
  /** 4 bytes, MSB first. */
  readonly devAddr: Uint8Array;
  readonly dlSettings: DLSettings;
  /** RxDelay.Del in seconds, raw (0 and 1 both mean 1 s). */
  readonly rxDelay: number;
  /** 16-byte CFList, when present. */
  readonly cfList: Uint8Array | undefined;
}

/** A decoded join-accept; `fields` is undefined when no key was given to decrypt it. */
export interface JoinAcceptFrame {
  readonly type: 'JoinAccept';
  readonly encrypted: Uint8Array;
  readonly fields: JoinAcceptFields | undefined;
  readonly mic: Uint8Array | undefined;
  readonly micStatus: MicStatus;
}

/** A decoded join-request. EUIs are MSB first. */
export interface JoinRequestFrame {
  readonly type: 'JoinRequest';
  readonly joinEUI: Uint8Array;
  readonly devEUI: Uint8Array;
  readonly devNonce: number;
  readonly mic: Uint8Array;
  readonly micStatus: MicStatus;
}

/** A decoded rejoin-request (LoRaWAN 1.1 §6.2.4). Type 0/2 carry `netId`, type 1 `joinEUI`. */
export interface RejoinRequestFrame {
  readonly type: 'RejoinRequest';
  readonly rejoinType: 0 | 1 | 2;
  readonly netId: number | undefined;
  readonly joinEUI: Uint8Array | undefined;
  readonly devEUI: Uint8Array;
  /** RJcount0 (types 0/2) or RJcount1 (type 1). */
  readonly rjCount: number;
  readonly mic: Uint8Array;
  readonly micStatus: MicStatus;
}

/** A proprietary frame: everything after the MHDR, uninterpreted. */
export interface ProprietaryFrame {
  readonly type: 'Proprietary';
  readonly payload: Uint8Array;
}

/** Any decoded PHYPayload, discriminated by `type` (the MType). */
export type Frame = DataFrame | JoinRequestFrame | JoinAcceptFrame | RejoinRequestFrame | ProprietaryFrame;

const EMPTY = new Uint8Array(0);

function checkKey(keys: FrameKeys, name: keyof FrameKeys): Uint8Array | undefined {
  const k = keys[name];
  if (k === undefined) return undefined;
  assertBytesLength(k, name, 16);
  return k;
}

function micEquals(buf: Uint8Array, o: number, tag: Uint8Array): boolean {
  // Not constant-time: MIC checks here guard integrity, and the attacker sees accept/drop anyway.
  return buf[o] === tag[0] && buf[o + 1] === tag[1] && buf[o + 2] === tag[2] && buf[o + 3] === tag[3];
}

/** B0/B1 block (LoRaWAN 1.1 §4.4) followed by `msg`, in a buffer padded for CMAC. */
function withB0(msg: Uint8Array, msgLen: number, dir: number, devAddrWire: Uint8Array, dOff: number, fCnt: number, b1: number, b2: number, b3: number, b4: number): Uint8Array {
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
function dataMic(
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
function plainMic(key: Uint8Array, msg: Uint8Array, msgLen: number): Uint8Array {
  const buf = new Uint8Array(Math.max(16, Math.ceil(msgLen / 16) * 16));
  buf.set(msgLen === msg.length ? msg : msg.subarray(0, msgLen));
  return cmacInPlace(key, buf, msgLen).subarray(0, 4);
}

/** A block for FRMPayload (i from 1) and 1.1 FOpts encryption. */
function aBlock(phy: Uint8Array, up: boolean, fCnt: number, b4: number): Uint8Array {
  const a = new Uint8Array(16);
  a[0] = 0x01;
  a[4] = b4;
  a[5] = up ? 0 : 1;
  a[6] = phy[1] as number; a[7] = phy[2] as number; a[8] = phy[3] as number; a[9] = phy[4] as number;
  writeUint32LE(a, 10, fCnt);
  return a;
}

function mtypeOf(bytes: Uint8Array): MType {
  return MTYPES[(bytes[0] as number) >> 5] as MType;
}

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

// ---------------------------------------------------------------------------------------------
// Encoding

/** Fields of a data frame to encode. */
export interface DataFrameFields {
  readonly type: DataFrame['type'];
  /** 4 bytes, MSB first. */
  readonly devAddr: Uint8Array;
  /** 32-bit frame counter (the low 16 bits go on the wire; all 32 enter MIC and encryption). */
  readonly fCnt: number;
  readonly fCtrl?: Partial<FCtrl>;
  /** FOpts as raw bytes or MAC commands (≤ 15 bytes). Encrypted with NwkSEncKey in 1.1. */
  readonly fOpts?: Uint8Array | readonly MacCommand[];
  /** 0 … 255; required when `payload` is given. */
  readonly fPort?: number;
  /** Plaintext FRMPayload (MAC commands as bytes on FPort 0). */
  readonly payload?: Uint8Array;
}

/** Fields of a join-request. */
export interface JoinRequestFields {
  readonly type: 'JoinRequest';
  readonly joinEUI: Uint8Array;
  readonly devEUI: Uint8Array;
  readonly devNonce: number;
}

/** Fields of a join-accept (LoRaWAN 1.0.x MIC; OptNeg is not supported for encoding). */
export interface JoinAcceptEncodeFields {
  readonly type: 'JoinAccept';
  readonly joinNonce: number;
  readonly netId: number;
  readonly devAddr: Uint8Array;
  readonly dlSettings?: Partial<DLSettings>;
  /** RxDelay.Del in seconds, 0 … 15 (0 means 1 s). Default 1. */
  readonly rxDelay?: number;
  readonly cfList?: Uint8Array;
}

/** Fields of a rejoin-request. */
export interface RejoinRequestFields {
  readonly type: 'RejoinRequest';
  readonly rejoinType: 0 | 1 | 2;
  /** Types 0 and 2. */
  readonly netId?: number;
  /** Type 1. */
  readonly joinEUI?: Uint8Array;
  readonly devEUI: Uint8Array;
  readonly rjCount: number;
}

/** Fields of a proprietary frame. */
export interface ProprietaryFields {
  readonly type: 'Proprietary';
  readonly payload: Uint8Array;
}

/** Input of {@link encodeFrame}. */
export type FrameFields = DataFrameFields | JoinRequestFields | JoinAcceptEncodeFields | RejoinRequestFields | ProprietaryFields;

function requireKey(keys: FrameKeys, name: keyof FrameKeys, what: string): Uint8Array {
  const k = checkKey(keys, name);
  if (k === undefined) throw new LoRaWANError('MISSING_KEY', `${what}: keys.${name} is required`);
  return k;
}

function optBool(v: unknown, name: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new TypeError(`${name}: expected a boolean, got ${describe(v)}`);
  return v;
}

/**
 * Encodes a PHYPayload: encrypts FRMPayload (and 1.1 FOpts / join-accepts) and appends the MIC.
 *
 * @throws LoRaWANError `MISSING_KEY` when a needed key is absent; TypeError / RangeError for bad fields
 *   (`devAddr: expected 4 bytes, got 3`).
 * @example
 * ```ts
 * import { encodeFrame } from '@outpost/lorawan';
 * const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
 * const phy = encodeFrame(
 *   { type: 'UnconfirmedDataUp', devAddr: hex('49be7df1'), fCnt: 2, fPort: 1, payload: new TextEncoder().encode('test') },
 *   { nwkSKey: hex('44024241ed4ce9a68c6a8bc055233fd3'), appSKey: hex('ec925802ae430ca77fd3dd73cb2cc588') },
 * );
 * Buffer.from(phy).toString('hex'); // '40f17dbe4900020001954378762b11ff0d'
 * ```
 */
export function encodeFrame(fields: FrameFields, keys: FrameKeys, options: FrameOptions = {}): Uint8Array {
  assertObject(fields, 'fields');
  assertObject(keys, 'keys');
  assertObject(options, 'options');
  const version = keys.version ?? '1.0';
  if (version !== '1.0' && version !== '1.1') throw new RangeError(`keys.version: expected '1.0' or '1.1', got ${describe(version)}`);
  const t = fields.type;
  const mi = MTYPES.indexOf(t);
  if (mi < 0) throw new (typeof t === 'string' ? RangeError : TypeError)(`fields.type: expected an MType, got ${typeof t === 'string' ? `'${t}'` : describe(t)}`);
  const mhdr = mi << 5;
  switch (fields.type) {
    case 'Proprietary': {
      assertBytes(fields.payload, 'payload');
      const out = new Uint8Array(1 + fields.payload.length);
      out[0] = mhdr;
      out.set(fields.payload, 1);
      return out;
    }
    case 'JoinRequest': {
      assertBytesLength(fields.joinEUI, 'joinEUI', 8);
      assertBytesLength(fields.devEUI, 'devEUI', 8);
      assertInt(fields.devNonce, 'devNonce', 0, 0xffff);
      const k = requireKey(keys, version === '1.1' ? 'nwkKey' : 'appKey', 'JoinRequest');
      const out = new Uint8Array(23);
      out[0] = mhdr;
      writeReversed(out, 1, fields.joinEUI);
      writeReversed(out, 9, fields.devEUI);
      writeUint16LE(out, 17, fields.devNonce);
      out.set(plainMic(k, out, 19), 19);
      return out;
    }
    case 'JoinAccept': {
      assertInt(fields.joinNonce, 'joinNonce', 0, 0xffffff);
      assertInt(fields.netId, 'netId', 0, 0xffffff);
      assertBytesLength(fields.devAddr, 'devAddr', 4);
      const dl = fields.dlSettings ?? {};
      assertObject(dl, 'dlSettings');
      if (optBool(dl.optNeg, 'dlSettings.optNeg')) throw new RangeError('dlSettings.optNeg: encoding 1.1 join-accepts with OptNeg is not supported');
      const rx1 = dl.rx1DrOffset ?? 0;
      const rx2 = dl.rx2DataRate ?? 0;
      assertInt(rx1, 'dlSettings.rx1DrOffset', 0, 7);
      assertInt(rx2, 'dlSettings.rx2DataRate', 0, 15);
      const rxDelay = fields.rxDelay ?? 1;
      assertInt(rxDelay, 'rxDelay', 0, 15);
      if (fields.cfList !== undefined) assertBytesLength(fields.cfList, 'cfList', 16);
      const k = requireKey(keys, version === '1.1' ? 'nwkKey' : 'appKey', 'JoinAccept');
      const plain = new Uint8Array(fields.cfList === undefined ? 17 : 33);
      plain[0] = mhdr;
      writeUint24LE(plain, 1, fields.joinNonce);
      writeUint24LE(plain, 4, fields.netId);
      writeReversed(plain, 7, fields.devAddr);
      plain[11] = (rx1 << 4) | rx2;
      plain[12] = rxDelay;
      if (fields.cfList !== undefined) plain.set(fields.cfList, 13);
      const micOff = plain.length - 4;
      plain.set(plainMic(k, plain, micOff), micOff);
      const out = new Uint8Array(plain.length);
      out[0] = mhdr;
      out.set(aesDecryptBlocks(k, plain.subarray(1)), 1);
      return out;
    }
    case 'RejoinRequest': {
      const rt = fields.rejoinType;
      assertInt(rt, 'rejoinType', 0, 2);
      assertBytesLength(fields.devEUI, 'devEUI', 8);
      assertInt(fields.rjCount, 'rjCount', 0, 0xffff);
      const len = rt === 1 ? 24 : 19;
      const out = new Uint8Array(len);
      out[0] = mhdr;
      out[1] = rt;
      if (rt === 1) {
        assertBytesLength(fields.joinEUI, 'joinEUI', 8);
        writeReversed(out, 2, fields.joinEUI);
        writeReversed(out, 10, fields.devEUI);
      } else {
        assertInt(fields.netId, 'netId', 0, 0xffffff);
        writeUint24LE(out, 2, fields.netId);
        writeReversed(out, 5, fields.devEUI);
      }
      writeUint16LE(out, len - 6, fields.rjCount);
      const k = requireKey(keys, rt === 1 ? 'jsIntKey' : 'sNwkSIntKey', 'RejoinRequest');
      out.set(plainMic(k, out, len - 4), len - 4);
      return out;
    }
    default:
      return encodeData(fields, mhdr, version, keys, options);
  }
}

function encodeData(fields: DataFrameFields, mhdr: number, version: LoRaWANVersion, keys: FrameKeys, options: FrameOptions): Uint8Array {
  const up = fields.type === 'UnconfirmedDataUp' || fields.type === 'ConfirmedDataUp';
  assertBytesLength(fields.devAddr, 'devAddr', 4);
  assertInt(fields.fCnt, 'fCnt', 0, 0xffffffff);
  const fc = fields.fCtrl ?? {};
  assertObject(fc, 'fCtrl');
  let fOpts: Uint8Array = EMPTY;
  if (fields.fOpts !== undefined) {
    fOpts = fields.fOpts instanceof Uint8Array ? fields.fOpts : encodeMacCommands(fields.fOpts as readonly MacCommand[]);
  }
  if (fOpts.length > 15) throw new RangeError(`fOpts: expected at most 15 bytes, got ${fOpts.length}`);
  const payload = fields.payload;
  if (payload !== undefined) assertBytes(payload, 'payload');
  const fPort = fields.fPort;
  if (fPort !== undefined) assertInt(fPort, 'fPort', 0, 255);
  if (payload !== undefined && payload.length > 0 && fPort === undefined) throw new RangeError('fPort: required when payload is given');
  if (fPort === 0 && fOpts.length > 0) throw new RangeError('fOpts: must be empty when fPort is 0 (LoRaWAN 1.0.4 §4.3.1.6)');
  const plen = payload?.length ?? 0;
  const fhdrEnd = 8 + fOpts.length;
  const len = fhdrEnd + (fPort === undefined ? 0 : 1 + plen) + 4;
  if (len > 255) throw new RangeError(`payload: PHYPayload would be ${len} bytes, more than 255`);
  const out = new Uint8Array(len);
  out[0] = mhdr;
  writeReversed(out, 1, fields.devAddr);
  const ack = optBool(fc.ack, 'fCtrl.ack');
  out[5] = (optBool(fc.adr, 'fCtrl.adr') ? 0x80 : 0)
    | (optBool(fc.adrAckReq, 'fCtrl.adrAckReq') && up ? 0x40 : 0)
    | (ack ? 0x20 : 0)
    | ((up ? optBool(fc.classB, 'fCtrl.classB') : optBool(fc.fPending, 'fCtrl.fPending')) ? 0x10 : 0)
    | fOpts.length;
  writeUint16LE(out, 6, fields.fCnt & 0xffff);
  if (fOpts.length > 0) {
    if (version === '1.0') out.set(fOpts, 8);
    else {
      const k = requireKey(keys, 'nwkSEncKey', 'FOpts');
      out.set(lorawanKeystreamXor(k, aBlock(out, up, fields.fCnt, !up && fPort !== undefined && fPort > 0 ? 2 : 1), fOpts, 1), 8);
    }
  }
  if (fPort !== undefined) {
    out[fhdrEnd] = fPort;
    if (plen > 0) {
      const k = fPort === 0
        ? requireKey(keys, version === '1.0' ? 'nwkSKey' : 'nwkSEncKey', 'FPort 0 payload')
        : requireKey(keys, 'appSKey', 'FRMPayload');
      out.set(lorawanKeystreamXor(k, aBlock(out, up, fields.fCnt, 0), payload as Uint8Array, 1), fhdrEnd + 1);
    }
  }
  const mic = dataMic(version, keys, out, len - 4, up, fields.fCnt, ack, options);
  if (mic === undefined) {
    throw new LoRaWANError('MISSING_KEY', version === '1.0' ? 'MIC: keys.nwkSKey is required' : `MIC: keys.sNwkSIntKey${up ? ' and keys.fNwkSIntKey are' : ' is'} required`);
  }
  out.set(mic, len - 4);
  return out;
}
