// Wrong-type matrix: every public function, each argument replaced by values of the wrong type,
// must throw a TypeError (never crash differently, never accept it).
import { describe, expect, it } from 'vitest';
import {
  DutyCycleAccountant, EU868, FrameCounter, SigfoxBudget, TransmitScheduler, aesCmac, airtimeForDataRate, assertDwellTime,
  dataRate, dataRateFor, decodeFrame, decodeMacCommands, deriveSessionKeys10, deriveSessionKeys11, encodeFrame, encodeMacCommands,
  estimateCoverage, fromHex, fskTimeOnAir, getRegion, joinDutyCycle, linkCheckReport, maxAppPayload, reconstructFCnt, suggestAdr,
  timeOnAir, txPowerDbm, uplinksPerHour, decodeCfList, encodeCfList, channelsAfterJoin,
  gpsTimeMs, beaconStartMs, pingOffset, nextPingSlotMs, classCWindows, applyLinkAdrReqs,
} from '../src/index.js';

const k16 = new Uint8Array(16);
const WRONG: readonly [string, unknown][] = [
  ['null', null], ['string', 'x'], ['number', 1.5], ['boolean', true], ['array', [1]], ['object', {}], ['bigint', 1n], ['symbol', Symbol('s')],
];

interface Case {
  readonly name: string;
  readonly args: readonly unknown[];
  readonly call: (...a: unknown[]) => unknown;
  /** Indexes of arguments to swap; defaults to all. */
  readonly only?: readonly number[];
  /** Wrong values that are legitimately accepted for an argument (e.g. 1.5 for a number). */
  readonly accepts?: Readonly<Record<number, readonly string[]>>;
}

const frame = Uint8Array.from(Buffer.from('40f17dbe4900020001954378762b11ff0d', 'hex'));
const dc = new DutyCycleAccountant();
const CASES: readonly Case[] = [
  { name: 'decodeFrame', args: [frame, {}, {}], call: (a, b, c) => decodeFrame(a as Uint8Array, b as object, c as object) },
  { name: 'encodeFrame', args: [{ type: 'Proprietary', payload: new Uint8Array(1) }, {}, {}], call: (a, b, c) => encodeFrame(a as never, b as object, c as object) },
  { name: 'decodeMacCommands', args: [new Uint8Array([2]), 'up'], call: (a, b) => decodeMacCommands(a as Uint8Array, b as 'up'), accepts: {} },
  { name: 'encodeMacCommands', args: [[{ type: 'LinkCheckReq' }]], call: (a) => encodeMacCommands(a as never), accepts: { 0: ['array'] } },
  { name: 'aesCmac', args: [k16, new Uint8Array(0)], call: (a, b) => aesCmac(a as Uint8Array, b as Uint8Array), only: [0] },
  { name: 'deriveSessionKeys10', args: [k16, 1, 1, 1], call: (a, b, c, d) => deriveSessionKeys10(a as Uint8Array, b as number, c as number, d as number) },
  { name: 'deriveSessionKeys11', args: [k16, k16, new Uint8Array(8), 1, 1], call: (a, b, c, d, e) => deriveSessionKeys11(a as Uint8Array, b as Uint8Array, c as Uint8Array, d as number, e as number) },
  { name: 'reconstructFCnt', args: [1, 0], call: (a, b) => reconstructFCnt(a as number, b as number) },
  { name: 'timeOnAir', args: [{ spreadingFactor: 7, bandwidthHz: 125_000, codingRate: '4/5', payloadBytes: 1 }], call: (a) => timeOnAir(a as never) },
  { name: 'fskTimeOnAir', args: [{ payloadBytes: 1 }], call: (a) => fskTimeOnAir(a as never) },
  { name: 'decodeCfList', args: [new Uint8Array(16)], call: (a) => decodeCfList(a as Uint8Array) },
  { name: 'encodeCfList', args: [{ type: 0, frequenciesHz: [] }], call: (a) => encodeCfList(a as never) },
  { name: 'channelsAfterJoin', args: [EU868, { type: 0, frequenciesHz: [] }], call: (a, b) => channelsAfterJoin(a as never, b as never) },
  { name: 'gpsTimeMs', args: [Date.UTC(2026, 0, 1), 18], call: (a, b) => gpsTimeMs(a as number, b as number) },
  { name: 'beaconStartMs', args: [300_000], call: (a) => beaconStartMs(a as number) },
  { name: 'pingOffset', args: [0, new Uint8Array(4), 1], call: (a, b, c) => pingOffset(a as number, b as Uint8Array, c as number) },
  { name: 'nextPingSlotMs', args: [0, new Uint8Array(4), 1], call: (a, b, c) => nextPingSlotMs(a as number, b as Uint8Array, c as number) },
  { name: 'classCWindows', args: [EU868, 0, {}], call: (a, b, c) => classCWindows(a as never, b as number, c as never), accepts: { 2: ['array', 'object'] } },
  { name: 'applyLinkAdrReqs', args: [{ region: EU868, channels: channelsAfterJoin(EU868), enabled: [0, 1, 2] }, [{ chMaskCntl: 0, chMask: 3, dataRate: 0, txPower: 0, nbTrans: 1 }]],
    call: (a, b) => applyLinkAdrReqs(a as never, b as never) },
  { name: 'getRegion', args: ['EU868'], call: (a) => getRegion(a as string) },
  { name: 'dataRate', args: [EU868, 0], call: (a, b) => dataRate(a as never, b as number) },
  { name: 'dataRateFor', args: [EU868, 7, 125_000], call: (a, b, c) => dataRateFor(a as never, b as number, c as number), only: [0] },
  { name: 'maxAppPayload', args: [EU868, 0], call: (a, b) => maxAppPayload(a as never, b as number) },
  { name: 'airtimeForDataRate', args: [EU868, 0, 20], call: (a, b, c) => airtimeForDataRate(a as never, b as number, c as number) },
  { name: 'txPowerDbm', args: [EU868, 0], call: (a, b) => txPowerDbm(a as never, b as number) },
  { name: 'joinDutyCycle', args: [0], call: (a) => joinDutyCycle(a as number), accepts: { 0: ['number'] } },
  { name: 'uplinksPerHour', args: [0.01, 100], call: (a, b) => uplinksPerHour(a as number, b as number), accepts: { 1: ['number'] } },
  { name: 'assertDwellTime', args: [100, 400], call: (a, b) => assertDwellTime(a as number, b as number), accepts: { 0: ['number'], 1: ['number'] } },
  { name: 'linkCheckReport', args: [{ margin: 1, gwCnt: 1 }], call: (a) => linkCheckReport(a as never) },
  { name: 'estimateCoverage', args: [[], EU868], call: (a, b) => estimateCoverage(a as never, b as never) },
  { name: 'suggestAdr', args: [{ region: EU868, snrHistory: [], dataRate: 0, txPowerIndex: 0 }], call: (a) => suggestAdr(a as never) },
  { name: 'fromHex', args: ['00'], call: (a) => fromHex(a) },
  { name: 'DutyCycleAccountant#canTransmit', args: [868_100_000, 10, 0], call: (a, b, c) => dc.canTransmit(a as number, b as number, c as number), accepts: { 0: ['number'], 1: ['number'], 2: ['number'] } },
  { name: 'DutyCycleAccountant#record', args: [868_100_000, 0, 0], call: (a, b, c) => new DutyCycleAccountant().record(a as number, b as number, c as number), accepts: { 0: ['number'], 1: ['number'], 2: ['number'] } },
  { name: 'new DutyCycleAccountant', args: [{}], call: (a) => new DutyCycleAccountant(a as never), accepts: { 0: ['object'] } },
  { name: 'new TransmitScheduler', args: [{}], call: (a) => new TransmitScheduler(a as never), accepts: { 0: ['object'] } },
  { name: 'TransmitScheduler#enqueue', args: [{ id: 1, payloadBytes: 20, dataRate: 0 }], call: (a) => new TransmitScheduler().enqueue(a as never) },
  { name: 'new FrameCounter', args: [{}], call: (a) => new FrameCounter(a as never), accepts: { 0: ['object'] } },
  { name: 'FrameCounter#accept', args: [1], call: (a) => new FrameCounter().accept(a as number) },
  { name: 'SigfoxBudget#recordUplink', args: [12, 0], call: (a, b) => new SigfoxBudget().recordUplink(a as number, b as number), accepts: { 1: ['number'] } },
];

describe('wrong-type matrix', () => {
  for (const c of CASES) {
    it(`${c.name}: the valid call works`, () => {
      expect(() => c.call(...c.args)).not.toThrow();
    });
    const idx = c.only ?? c.args.map((_, i) => i);
    for (const i of idx) {
      for (const [label, bad] of WRONG) {
        if (c.accepts?.[i]?.includes(label)) continue;
        const validType = Array.isArray(c.args[i]) ? 'array' : c.args[i] === null ? 'null' : typeof c.args[i];
        if (label === validType || (label === 'object' && validType === 'object' && !Array.isArray(c.args[i]))) continue;
        it(`${c.name}: argument ${i} as ${label} → TypeError or RangeError`, () => {
          const args = [...c.args];
          args[i] = bad;
          let thrown: unknown;
          try {
            c.call(...args);
          } catch (err) {
            thrown = err;
          }
          expect(thrown, `accepted ${label}`).toBeDefined();
          // a wrong type is a TypeError; a number of the right type but a bad value (1.5) is a RangeError
          if (label === 'number') expect(thrown instanceof TypeError || thrown instanceof RangeError).toBe(true);
          else expect(thrown).toBeInstanceOf(TypeError);
        });
      }
    }
  }
});
