import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMacCommands, encodeMacCommands, FrameCounter, LoRaWANError, macCommandCid, macCommandDirection, reconstructFCnt, type MacCommand } from '../src/index.js';
import { hex, toHexStr } from './vectors.js';

// Byte layouts from LoRaWAN L2 1.0.4 §5 and LoRaWAN 1.1 §5 (field order and bit positions annotated).
const MAC_VECTORS: readonly [dir: 'up' | 'down', hex: string, note: string, cmd: MacCommand][] = [
  ['up', '02', 'LinkCheckReq', { type: 'LinkCheckReq' }],
  ['down', '021403', 'LinkCheckAns: Margin 20 dB, GwCnt 3', { type: 'LinkCheckAns', margin: 20, gwCnt: 3 }],
  ['down', '0351ff0001', 'LinkADRReq: DR 5 | TXPower 1; ChMask 0x00ff (LE); ChMaskCntl 0, NbTrans 1', { type: 'LinkADRReq', dataRate: 5, txPower: 1, chMask: 0x00ff, chMaskCntl: 0, nbTrans: 1 }],
  ['up', '0307', 'LinkADRAns: power, DR, channel mask ACK', { type: 'LinkADRAns', powerAck: true, dataRateAck: true, channelMaskAck: true }],
  ['down', '0407', 'DutyCycleReq: MaxDCycle 7 (1/128)', { type: 'DutyCycleReq', maxDCycle: 7 }],
  ['up', '04', 'DutyCycleAns', { type: 'DutyCycleAns' }],
  ['down', '0512d2ad84', 'RXParamSetupReq: RX1DROffset 1, RX2DR 2; Freq 0x84add2 ·100 = 869.525 MHz', { type: 'RXParamSetupReq', rx1DrOffset: 1, rx2DataRate: 2, frequencyHz: 869_525_000 }],
  ['up', '0506', 'RXParamSetupAns: RX1DROffset ACK, RX2 DR ACK, channel NACK', { type: 'RXParamSetupAns', rx1DrOffsetAck: true, rx2DataRateAck: true, channelAck: false }],
  ['down', '06', 'DevStatusReq', { type: 'DevStatusReq' }],
  ['up', '06fe3d', 'DevStatusAns: Battery 254; Margin 0x3d = −3 (6-bit signed)', { type: 'DevStatusAns', battery: 254, margin: -3 }],
  ['down', '0703184f8450', 'NewChannelReq: ChIndex 3; Freq 0x844f18 = 867.1 MHz; MaxDR 5, MinDR 0', { type: 'NewChannelReq', chIndex: 3, frequencyHz: 867_100_000, maxDr: 5, minDr: 0 }],
  ['up', '0703', 'NewChannelAns: DR range ok, frequency ok', { type: 'NewChannelAns', dataRateRangeOk: true, channelFrequencyOk: true }],
  ['down', '0805', 'RXTimingSetupReq: Del 5 s', { type: 'RXTimingSetupReq', delay: 5 }],
  ['up', '08', 'RXTimingSetupAns', { type: 'RXTimingSetupAns' }],
  ['down', '0935', 'TxParamSetupReq: DownlinkDwellTime 1, UplinkDwellTime 1, MaxEIRP index 5', { type: 'TxParamSetupReq', downlinkDwellTime: true, uplinkDwellTime: true, maxEirpIndex: 5 }],
  ['up', '09', 'TxParamSetupAns', { type: 'TxParamSetupAns' }],
  ['down', '0a00c88584', 'DlChannelReq: ChIndex 0; Freq 0x8485c8 ·100 = 868.5 MHz', { type: 'DlChannelReq', chIndex: 0, frequencyHz: 868_500_000 }],
  ['up', '0a01', 'DlChannelAns: uplink frequency missing, channel ok', { type: 'DlChannelAns', uplinkFrequencyExists: false, channelFrequencyOk: true }],
  ['up', '0d', 'DeviceTimeReq', { type: 'DeviceTimeReq' }],
  ['down', '0d78563412 80', 'DeviceTimeAns: 0x12345678 s since GPS epoch; 0x80/256 s', { type: 'DeviceTimeAns', gpsSeconds: 0x12345678, fractional: 0x80 }],
  ['up', '0101', 'ResetInd: Minor 1 (LoRaWAN 1.1)', { type: 'ResetInd', minor: 1 }],
  ['down', '0101', 'ResetConf: Minor 1', { type: 'ResetConf', minor: 1 }],
  ['up', '0b01', 'RekeyInd: Minor 1', { type: 'RekeyInd', minor: 1 }],
  ['down', '0b01', 'RekeyConf: Minor 1', { type: 'RekeyConf', minor: 1 }],
  ['down', '0c64', 'ADRParamSetupReq: Limit_exp 6, Delay_exp 4', { type: 'ADRParamSetupReq', limitExp: 6, delayExp: 4 }],
  ['up', '0c', 'ADRParamSetupAns', { type: 'ADRParamSetupAns' }],
  ['down', '0e1323', 'ForceRejoinReq: 0x2313 = Period 4 | Max_Retries 3 | RejoinType 1 | DR 3', { type: 'ForceRejoinReq', period: 4, maxRetries: 3, rejoinType: 1, dataRate: 3 }],
  ['down', '0fa7', 'RejoinParamSetupReq: MaxTimeN 10, MaxCountN 7', { type: 'RejoinParamSetupReq', maxTimeN: 10, maxCountN: 7 }],
  ['up', '0f01', 'RejoinParamSetupAns: TimeOK', { type: 'RejoinParamSetupAns', timeOk: true }],
];

describe('MAC commands (table-driven: parse, generate, round-trip)', () => {
  for (const [dir, h, note, cmd] of MAC_VECTORS) {
    const bytes = hex(h.replace(/ /g, ''));
    it(`${dir} ${note}`, () => {
      expect(decodeMacCommands(bytes, dir)).toEqual([cmd]);
      expect(toHexStr(encodeMacCommands([cmd]))).toBe(toHexStr(bytes));
      expect(macCommandDirection(cmd.type)).toBe(dir);
      expect(macCommandCid(cmd.type)).toBe(bytes[0]);
    });
  }
  it('a sequence decodes in order', () => {
    const all = MAC_VECTORS.filter((v) => v[0] === 'down').map((v) => v[3]);
    expect(decodeMacCommands(encodeMacCommands(all), 'down')).toEqual(all);
  });
  it('unknown CID: typed error keeps the commands before it', () => {
    try {
      decodeMacCommands(hex('0214030299'), 'down'); // LinkCheckAns, then 0x02 is fine, 0x99…
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(LoRaWANError);
      const e = err as LoRaWANError;
      expect(e.code).toBe('TRUNCATED');
    }
    try {
      decodeMacCommands(hex('02140380'), 'down');
      expect.unreachable();
    } catch (err) {
      const e = err as LoRaWANError;
      expect(e.code).toBe('UNKNOWN_CID');
      expect(e.offset).toBe(3);
      expect(e.partial).toEqual([{ type: 'LinkCheckAns', margin: 20, gwCnt: 3 }]);
      expect(e.message).toBe('unknown downlink MAC command CID 0x80 at offset 3');
    }
  });
  it('fuzz: only LoRaWANError escapes and the decoder still works', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), fc.constantFrom('up' as const, 'down' as const), (b, d) => {
      try {
        const cmds = decodeMacCommands(b, d);
        expect(decodeMacCommands(encodeMacCommands(cmds), d)).toEqual(cmds);
      } catch (err) {
        if (!(err instanceof LoRaWANError)) throw err;
        expect(['UNKNOWN_CID', 'TRUNCATED']).toContain(err.code);
      }
    }), { numRuns: 3000 });
    expect(decodeMacCommands(hex('02'), 'up')).toEqual([{ type: 'LinkCheckReq' }]);
  });
  it('field range errors name the field', () => {
    expect(() => encodeMacCommands([{ type: 'LinkADRReq', dataRate: 16, txPower: 0, chMask: 0, chMaskCntl: 0, nbTrans: 0 }])).toThrow('LinkADRReq.dataRate: expected an integer in [0, 15], got 16');
    expect(() => encodeMacCommands([{ type: 'NewChannelReq', chIndex: 3, frequencyHz: 867_100_050, maxDr: 5, minDr: 0 }])).toThrow(/multiple of 100 Hz/);
  });
});

describe('frame counters (LoRaWAN 1.0.4 §4.3.1.5)', () => {
  it('reconstructs across the 16-bit rollover', () => {
    expect(reconstructFCnt(5)).toBe(5);
    expect(reconstructFCnt(0xfffe, 0xfffd)).toBe(0xfffe);
    expect(reconstructFCnt(0x0001, 0xfffe)).toBe(0x1_0001);
    expect(reconstructFCnt(0x0002, 0x1_fffe)).toBe(0x2_0002);
    expect(reconstructFCnt(7, 7)).toBe(7);
  });
  it('rejects replays and duplicates, accepts increases', () => {
    const rx = new FrameCounter();
    expect(rx.accept(0)).toBe(0);
    expect(rx.accept(3)).toBe(3);
    expect(rx.check(3)).toMatchObject({ ok: false, error: { code: 'REPLAY' } });
    expect(rx.check(2)).toMatchObject({ ok: false, error: { code: 'REPLAY' } }); // 65535 ahead = an old frame
    expect(() => rx.accept(1)).toThrow(expect.objectContaining({ code: 'REPLAY' }));
    expect(rx.lastFCnt).toBe(3);
  });
  it('16-bit rollover is accepted; 32-bit rollover means rejoin', () => {
    const rx = new FrameCounter({ lastFCnt: 0xfff0 });
    expect(rx.accept(0x0004)).toBe(0x1_0004);
    const end = new FrameCounter({ lastFCnt: 0xffff_fff0 });
    expect(end.accept(0xfffa)).toBe(0xffff_fffa);
    expect(end.check(0x0002)).toMatchObject({ ok: false, error: { code: 'FCNT_EXHAUSTED' } });
  });
  it('property: any increase within the gap is accepted exactly, anything else is refused', () => {
    fc.assert(fc.property(fc.nat(0xffff_0000), fc.integer({ min: -70_000, max: 70_000 }), (last, delta) => {
      const rx = new FrameCounter({ lastFCnt: last });
      const target = last + delta;
      if (target < 0) return;
      const r = rx.check(target & 0xffff);
      if (delta > 0 && delta <= 16_384) expect(r).toEqual({ ok: true, fCnt: target });
      else if (delta <= 0 && delta > -(0x10000 - 16_384)) expect(r.ok).toBe(false);
    }));
  });
});
