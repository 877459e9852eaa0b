// MAC commands, LoRaWAN L2 1.0.4 §5 and LoRaWAN 1.1 §5 (Tables 4/5: CIDs, sizes, directions).
// Carried in FOpts (≤ 15 bytes, §4.3.1.6) or as the FRMPayload of FPort 0.
import { assertBytes, assertInt, assertObject, describe, readUint16LE, readUint24LE, readUint32LE, writeUint16LE, writeUint24LE, writeUint32LE } from './bytes.js';
import { LoRaWANError } from './errors.js';

/** Who sends the command: `'up'` = end-device → network, `'down'` = network → end-device. */
export type Direction = 'up' | 'down';

/** Device → network MAC commands (requests, answers and indications). */
export type UplinkMacCommand =
  | { readonly type: 'ResetInd'; readonly minor: number }
  | { readonly type: 'LinkCheckReq' }
  | { readonly type: 'LinkADRAns'; readonly powerAck: boolean; readonly dataRateAck: boolean; readonly channelMaskAck: boolean }
  | { readonly type: 'DutyCycleAns' }
  | { readonly type: 'RXParamSetupAns'; readonly rx1DrOffsetAck: boolean; readonly rx2DataRateAck: boolean; readonly channelAck: boolean }
  | { readonly type: 'DevStatusAns'; readonly battery: number; readonly margin: number }
  | { readonly type: 'NewChannelAns'; readonly dataRateRangeOk: boolean; readonly channelFrequencyOk: boolean }
  | { readonly type: 'RXTimingSetupAns' }
  | { readonly type: 'TxParamSetupAns' }
  | { readonly type: 'DlChannelAns'; readonly uplinkFrequencyExists: boolean; readonly channelFrequencyOk: boolean }
  | { readonly type: 'RekeyInd'; readonly minor: number }
  | { readonly type: 'ADRParamSetupAns' }
  | { readonly type: 'DeviceTimeReq' }
  | { readonly type: 'RejoinParamSetupAns'; readonly timeOk: boolean };

/** Network → device MAC commands. */
export type DownlinkMacCommand =
  | { readonly type: 'ResetConf'; readonly minor: number }
  | { readonly type: 'LinkCheckAns'; readonly margin: number; readonly gwCnt: number }
  | { readonly type: 'LinkADRReq'; readonly dataRate: number; readonly txPower: number; readonly chMask: number; readonly chMaskCntl: number; readonly nbTrans: number }
  | { readonly type: 'DutyCycleReq'; readonly maxDCycle: number }
  | { readonly type: 'RXParamSetupReq'; readonly rx1DrOffset: number; readonly rx2DataRate: number; readonly frequencyHz: number }
  | { readonly type: 'DevStatusReq' }
  | { readonly type: 'NewChannelReq'; readonly chIndex: number; readonly frequencyHz: number; readonly maxDr: number; readonly minDr: number }
  | { readonly type: 'RXTimingSetupReq'; /** RX1 delay in s; 0 means 1 s as well. */ readonly delay: number }
  | { readonly type: 'TxParamSetupReq'; readonly downlinkDwellTime: boolean; readonly uplinkDwellTime: boolean; readonly maxEirpIndex: number }
  | { readonly type: 'DlChannelReq'; readonly chIndex: number; readonly frequencyHz: number }
  | { readonly type: 'RekeyConf'; readonly minor: number }
  | { readonly type: 'ADRParamSetupReq'; readonly limitExp: number; readonly delayExp: number }
  | { readonly type: 'DeviceTimeAns'; readonly gpsSeconds: number; readonly fractional: number }
  | { readonly type: 'ForceRejoinReq'; readonly period: number; readonly maxRetries: number; readonly rejoinType: number; readonly dataRate: number }
  | { readonly type: 'RejoinParamSetupReq'; readonly maxTimeN: number; readonly maxCountN: number };

/** Any MAC command. */
export type MacCommand = UplinkMacCommand | DownlinkMacCommand;

/** Name of a MAC command. */
export type MacCommandType = MacCommand['type'];

type Anyc = Record<string, unknown> & { type: string };

interface Spec {
  readonly cid: number;
  readonly type: MacCommandType;
  readonly dir: Direction;
  /** Payload length after the CID byte. */
  readonly len: number;
  decode(b: Uint8Array, o: number): Anyc;
  encode(c: Anyc, b: Uint8Array, o: number): void;
}

const bit = (v: number, n: number): boolean => ((v >> n) & 1) === 1;
const flag = (c: Anyc, k: string): number => {
  const v = c[k];
  if (typeof v !== 'boolean') throw new TypeError(`${c.type}.${k}: expected a boolean, got ${describe(v)}`);
  return v ? 1 : 0;
};
const int = (c: Anyc, k: string, min: number, max: number): number => {
  const v = c[k];
  assertInt(v, `${c.type}.${k}`, min, max);
  return v;
};
const freq = (c: Anyc, k: string): number => {
  const v = c[k];
  assertInt(v, `${c.type}.${k}`, 0, 0xffffff * 100);
  if (v % 100 !== 0) throw new RangeError(`${c.type}.${k}: expected a multiple of 100 Hz, got ${v}`);
  return v / 100;
};
const empty = (cid: number, type: MacCommandType, dir: Direction): Spec => ({
  cid, type, dir, len: 0, decode: () => ({ type }), encode: () => undefined,
});
const minorOnly = (cid: number, type: MacCommandType, dir: Direction): Spec => ({
  cid, type, dir, len: 1,
  decode: (b, o) => ({ type, minor: (b[o] as number) & 0x0f }),
  encode: (c, b, o) => { b[o] = int(c, 'minor', 0, 15); },
});

const SPECS: readonly Spec[] = [
  // LoRaWAN 1.1 §5.1 ResetInd / ResetConf (ABP devices)
  minorOnly(0x01, 'ResetInd', 'up'),
  minorOnly(0x01, 'ResetConf', 'down'),
  // §5.2 LinkCheckReq / LinkCheckAns
  empty(0x02, 'LinkCheckReq', 'up'),
  { cid: 0x02, type: 'LinkCheckAns', dir: 'down', len: 2,
    decode: (b, o) => ({ type: 'LinkCheckAns', margin: b[o] as number, gwCnt: b[o + 1] as number }),
    encode: (c, b, o) => { b[o] = int(c, 'margin', 0, 254); b[o + 1] = int(c, 'gwCnt', 0, 255); } },
  // §5.3 LinkADRReq: DataRate_TXPower | ChMask (2, LE) | Redundancy
  { cid: 0x03, type: 'LinkADRReq', dir: 'down', len: 4,
    decode: (b, o) => {
      const drp = b[o] as number; const red = b[o + 3] as number;
      return { type: 'LinkADRReq', dataRate: drp >> 4, txPower: drp & 0x0f, chMask: readUint16LE(b, o + 1), chMaskCntl: (red >> 4) & 0x07, nbTrans: red & 0x0f };
    },
    encode: (c, b, o) => {
      b[o] = (int(c, 'dataRate', 0, 15) << 4) | int(c, 'txPower', 0, 15);
      writeUint16LE(b, o + 1, int(c, 'chMask', 0, 0xffff));
      b[o + 3] = (int(c, 'chMaskCntl', 0, 7) << 4) | int(c, 'nbTrans', 0, 15);
    } },
  { cid: 0x03, type: 'LinkADRAns', dir: 'up', len: 1,
    decode: (b, o) => { const s = b[o] as number; return { type: 'LinkADRAns', powerAck: bit(s, 2), dataRateAck: bit(s, 1), channelMaskAck: bit(s, 0) }; },
    encode: (c, b, o) => { b[o] = (flag(c, 'powerAck') << 2) | (flag(c, 'dataRateAck') << 1) | flag(c, 'channelMaskAck'); } },
  // §5.4 DutyCycleReq: MaxDCycle in bits 3:0, aggregated duty cycle = 1 / 2^MaxDCycle
  { cid: 0x04, type: 'DutyCycleReq', dir: 'down', len: 1,
    decode: (b, o) => ({ type: 'DutyCycleReq', maxDCycle: (b[o] as number) & 0x0f }),
    encode: (c, b, o) => { b[o] = int(c, 'maxDCycle', 0, 15); } },
  empty(0x04, 'DutyCycleAns', 'up'),
  // §5.5 RXParamSetupReq: DLsettings | Frequency (3, LE, ×100 Hz)
  { cid: 0x05, type: 'RXParamSetupReq', dir: 'down', len: 4,
    decode: (b, o) => { const d = b[o] as number; return { type: 'RXParamSetupReq', rx1DrOffset: (d >> 4) & 0x07, rx2DataRate: d & 0x0f, frequencyHz: readUint24LE(b, o + 1) * 100 }; },
    encode: (c, b, o) => { b[o] = (int(c, 'rx1DrOffset', 0, 7) << 4) | int(c, 'rx2DataRate', 0, 15); writeUint24LE(b, o + 1, freq(c, 'frequencyHz')); } },
  { cid: 0x05, type: 'RXParamSetupAns', dir: 'up', len: 1,
    decode: (b, o) => { const s = b[o] as number; return { type: 'RXParamSetupAns', rx1DrOffsetAck: bit(s, 2), rx2DataRateAck: bit(s, 1), channelAck: bit(s, 0) }; },
    encode: (c, b, o) => { b[o] = (flag(c, 'rx1DrOffsetAck') << 2) | (flag(c, 'rx2DataRateAck') << 1) | flag(c, 'channelAck'); } },
  // §5.6 DevStatusAns: Battery | Margin (6-bit signed, −32 … 31 dB)
  empty(0x06, 'DevStatusReq', 'down'),
  { cid: 0x06, type: 'DevStatusAns', dir: 'up', len: 2,
    decode: (b, o) => { const m = (b[o + 1] as number) & 0x3f; return { type: 'DevStatusAns', battery: b[o] as number, margin: m >= 32 ? m - 64 : m }; },
    encode: (c, b, o) => { b[o] = int(c, 'battery', 0, 255); b[o + 1] = int(c, 'margin', -32, 31) & 0x3f; } },
  // §5.7 NewChannelReq: ChIndex | Freq (3) | DrRange (MaxDR 7:4, MinDR 3:0)
  { cid: 0x07, type: 'NewChannelReq', dir: 'down', len: 5,
    decode: (b, o) => { const r = b[o + 4] as number; return { type: 'NewChannelReq', chIndex: b[o] as number, frequencyHz: readUint24LE(b, o + 1) * 100, maxDr: r >> 4, minDr: r & 0x0f }; },
    encode: (c, b, o) => { b[o] = int(c, 'chIndex', 0, 255); writeUint24LE(b, o + 1, freq(c, 'frequencyHz')); b[o + 4] = (int(c, 'maxDr', 0, 15) << 4) | int(c, 'minDr', 0, 15); } },
  { cid: 0x07, type: 'NewChannelAns', dir: 'up', len: 1,
    decode: (b, o) => { const s = b[o] as number; return { type: 'NewChannelAns', dataRateRangeOk: bit(s, 1), channelFrequencyOk: bit(s, 0) }; },
    encode: (c, b, o) => { b[o] = (flag(c, 'dataRateRangeOk') << 1) | flag(c, 'channelFrequencyOk'); } },
  // §5.8 RXTimingSetupReq: Del in bits 3:0 (0 and 1 both mean 1 s; kept raw so encode/decode round-trip)
  { cid: 0x08, type: 'RXTimingSetupReq', dir: 'down', len: 1,
    decode: (b, o) => ({ type: 'RXTimingSetupReq', delay: (b[o] as number) & 0x0f }),
    encode: (c, b, o) => { b[o] = int(c, 'delay', 0, 15); } },
  empty(0x08, 'RXTimingSetupAns', 'up'),
  // §5.9 TxParamSetupReq: DownlinkDwellTime bit 5, UplinkDwellTime bit 4, MaxEIRP 3:0
  { cid: 0x09, type: 'TxParamSetupReq', dir: 'down', len: 1,
    decode: (b, o) => { const v = b[o] as number; return { type: 'TxParamSetupReq', downlinkDwellTime: bit(v, 5), uplinkDwellTime: bit(v, 4), maxEirpIndex: v & 0x0f }; },
    encode: (c, b, o) => { b[o] = (flag(c, 'downlinkDwellTime') << 5) | (flag(c, 'uplinkDwellTime') << 4) | int(c, 'maxEirpIndex', 0, 15); } },
  empty(0x09, 'TxParamSetupAns', 'up'),
  // §5.10 DlChannelReq: ChIndex | Freq (3)
  { cid: 0x0a, type: 'DlChannelReq', dir: 'down', len: 4,
    decode: (b, o) => ({ type: 'DlChannelReq', chIndex: b[o] as number, frequencyHz: readUint24LE(b, o + 1) * 100 }),
    encode: (c, b, o) => { b[o] = int(c, 'chIndex', 0, 255); writeUint24LE(b, o + 1, freq(c, 'frequencyHz')); } },
  { cid: 0x0a, type: 'DlChannelAns', dir: 'up', len: 1,
    decode: (b, o) => { const s = b[o] as number; return { type: 'DlChannelAns', uplinkFrequencyExists: bit(s, 1), channelFrequencyOk: bit(s, 0) }; },
    encode: (c, b, o) => { b[o] = (flag(c, 'uplinkFrequencyExists') << 1) | flag(c, 'channelFrequencyOk'); } },
  // LoRaWAN 1.1 §5.10 RekeyInd / RekeyConf
  minorOnly(0x0b, 'RekeyInd', 'up'),
  minorOnly(0x0b, 'RekeyConf', 'down'),
  // LoRaWAN 1.1 §5.11 ADRParamSetupReq: Limit_exp 7:4, Delay_exp 3:0
  { cid: 0x0c, type: 'ADRParamSetupReq', dir: 'down', len: 1,
    decode: (b, o) => { const v = b[o] as number; return { type: 'ADRParamSetupReq', limitExp: v >> 4, delayExp: v & 0x0f }; },
    encode: (c, b, o) => { b[o] = (int(c, 'limitExp', 0, 15) << 4) | int(c, 'delayExp', 0, 15); } },
  empty(0x0c, 'ADRParamSetupAns', 'up'),
  // §5.12 DeviceTimeAns: seconds since GPS epoch (4, LE) | fractional second in 1/256 s
  empty(0x0d, 'DeviceTimeReq', 'up'),
  { cid: 0x0d, type: 'DeviceTimeAns', dir: 'down', len: 5,
    decode: (b, o) => ({ type: 'DeviceTimeAns', gpsSeconds: readUint32LE(b, o), fractional: b[o + 4] as number }),
    encode: (c, b, o) => { writeUint32LE(b, o, int(c, 'gpsSeconds', 0, 0xffffffff)); b[o + 4] = int(c, 'fractional', 0, 255); } },
  // LoRaWAN 1.1 §5.13 ForceRejoinReq (2, LE): RFU 15:14 | Period 13:11 | Max_Retries 10:8 | RFU 7 | RejoinType 6:4 | DR 3:0
  { cid: 0x0e, type: 'ForceRejoinReq', dir: 'down', len: 2,
    decode: (b, o) => { const v = readUint16LE(b, o); return { type: 'ForceRejoinReq', period: (v >> 11) & 0x07, maxRetries: (v >> 8) & 0x07, rejoinType: (v >> 4) & 0x07, dataRate: v & 0x0f }; },
    encode: (c, b, o) => {
      writeUint16LE(b, o, (int(c, 'period', 0, 7) << 11) | (int(c, 'maxRetries', 0, 7) << 8) | (int(c, 'rejoinType', 0, 7) << 4) | int(c, 'dataRate', 0, 15));
    } },
  // LoRaWAN 1.1 §5.14 RejoinParamSetupReq: MaxTimeN 7:4, MaxCountN 3:0; Ans: TimeOK bit 0
  { cid: 0x0f, type: 'RejoinParamSetupReq', dir: 'down', len: 1,
    decode: (b, o) => { const v = b[o] as number; return { type: 'RejoinParamSetupReq', maxTimeN: v >> 4, maxCountN: v & 0x0f }; },
    encode: (c, b, o) => { b[o] = (int(c, 'maxTimeN', 0, 15) << 4) | int(c, 'maxCountN', 0, 15); } },
  { cid: 0x0f, type: 'RejoinParamSetupAns', dir: 'up', len: 1,
    decode: (b, o) => ({ type: 'RejoinParamSetupAns', timeOk: bit(b[o] as number, 0) }),
    encode: (c, b, o) => { b[o] = flag(c, 'timeOk'); } },
];

const BY_CID: Readonly<Record<Direction, readonly (Spec | undefined)[]>> = {
  up: Array.from({ length: 256 }, (_, cid) => SPECS.find((s) => s.cid === cid && s.dir === 'up')),
  down: Array.from({ length: 256 }, (_, cid) => SPECS.find((s) => s.cid === cid && s.dir === 'down')),
};
const BY_TYPE: ReadonlyMap<string, Spec> = new Map(SPECS.map((s) => [s.type, s]));

function assertDirection(direction: unknown): asserts direction is Direction {
  if (direction !== 'up' && direction !== 'down') {
    throw new TypeError(`direction: expected 'up' or 'down', got ${typeof direction === 'string' ? `'${direction}'` : describe(direction)}`);
  }
}

/**
 * Decodes a sequence of MAC commands (FOpts, or an FPort 0 FRMPayload) sent in `direction`.
 *
 * @throws LoRaWANError `UNKNOWN_CID` at an unknown CID (parsing stops; `err.partial` holds the
 *   commands decoded before it, `err.offset` the CID's offset) or `TRUNCATED` when a command's
 *   payload is cut short; TypeError for wrong argument types.
 * @example
 * ```ts
 * import { decodeMacCommands } from '@outpost/lorawan';
 * decodeMacCommands(Uint8Array.of(0x02, 0x14, 0x03), 'down'); // [{ type: 'LinkCheckAns', margin: 20, gwCnt: 3 }]
 * ```
 */
export function decodeMacCommands(bytes: Uint8Array, direction: 'up'): UplinkMacCommand[];
export function decodeMacCommands(bytes: Uint8Array, direction: 'down'): DownlinkMacCommand[];
export function decodeMacCommands(bytes: Uint8Array, direction: Direction): MacCommand[];
export function decodeMacCommands(bytes: Uint8Array, direction: Direction): MacCommand[] {
  assertBytes(bytes, 'bytes');
  assertDirection(direction);
  const table = BY_CID[direction];
  const out: MacCommand[] = [];
  let o = 0;
  while (o < bytes.length) {
    const cid = bytes[o] as number;
    const spec = table[cid];
    if (spec === undefined) {
      throw new LoRaWANError('UNKNOWN_CID', `unknown ${direction}link MAC command CID 0x${cid.toString(16).padStart(2, '0')} at offset ${o}`, { offset: o, partial: out });
    }
    if (o + 1 + spec.len > bytes.length) {
      throw new LoRaWANError('TRUNCATED', `${spec.type}: expected ${spec.len} payload bytes at offset ${o + 1}, got ${bytes.length - o - 1}`, { offset: o + 1, partial: out });
    }
    out.push(spec.decode(bytes, o + 1) as unknown as MacCommand);
    o += 1 + spec.len;
  }
  return out;
}

/**
 * Encodes MAC commands (CID + payload each) into one byte string.
 *
 * @throws TypeError for a wrong shape; RangeError for an out-of-range field or an unknown `type`.
 * @example
 * ```ts
 * import { encodeMacCommands } from '@outpost/lorawan';
 * encodeMacCommands([{ type: 'LinkCheckReq' }, { type: 'DeviceTimeReq' }]); // Uint8Array [0x02, 0x0d]
 * ```
 */
export function encodeMacCommands(commands: readonly MacCommand[]): Uint8Array {
  if (!Array.isArray(commands)) throw new TypeError(`commands: expected an array, got ${describe(commands)}`);
  const specs: Spec[] = [];
  let len = 0;
  for (const [i, c] of (commands as readonly unknown[]).entries()) {
    assertObject(c, `commands[${i}]`);
    const t = (c as { type?: unknown }).type;
    if (typeof t !== 'string') throw new TypeError(`commands[${i}].type: expected a string, got ${describe(t)}`);
    const spec = BY_TYPE.get(t);
    if (spec === undefined) throw new RangeError(`commands[${i}].type: unknown MAC command "${t}"`);
    specs.push(spec);
    len += 1 + spec.len;
  }
  const out = new Uint8Array(len);
  let o = 0;
  for (const [i, spec] of specs.entries()) {
    out[o] = spec.cid;
    spec.encode(commands[i] as unknown as Anyc, out, o + 1);
    o += 1 + spec.len;
  }
  return out;
}

/**
 * Direction in which a MAC command is sent (`'up'` for device → network).
 *
 * @example
 * ```ts
 * import { macCommandDirection } from '@outpost/lorawan';
 * macCommandDirection('LinkADRReq'); // 'down'
 * ```
 */
export function macCommandDirection(type: MacCommandType): Direction {
  const spec = BY_TYPE.get(type);
  if (spec === undefined) throw new RangeError(`type: unknown MAC command "${String(type)}"`);
  return spec.dir;
}

/**
 * CID of a MAC command type.
 *
 * @example
 * ```ts
 * import { macCommandCid } from '@outpost/lorawan';
 * macCommandCid('DeviceTimeReq'); // 0x0d
 * ```
 */
export function macCommandCid(type: MacCommandType): number {
  const spec = BY_TYPE.get(type);
  if (spec === undefined) throw new RangeError(`type: unknown MAC command "${String(type)}"`);
  return spec.cid;
}
