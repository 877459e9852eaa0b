// PHYPayload encoding (LoRaWAN L2 1.0.4 §4, LoRaWAN 1.1 §4/§6): encrypts FRMPayload (and 1.1
// FOpts / join-accepts) and appends the MIC. Decoding is in frame.ts.
import { assertBytes, assertBytesLength, assertInt, assertObject, describe, writeReversed, writeUint16LE, writeUint24LE } from './bytes.js';
import { aesDecryptBlocks, lorawanKeystreamXor } from './crypto.js';
import { LoRaWANError } from './errors.js';

import { encodeMacCommands, type MacCommand } from './mac-commands.js';
import { EMPTY, aBlock, checkKey, dataMic, plainMic } from './frame-mic.js';
import { MTYPES, type DataFrameFields, type FrameFields, type FrameKeys, type FrameOptions, type LoRaWANVersion } from './frame-types.js';

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
