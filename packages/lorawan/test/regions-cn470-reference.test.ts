import { describe, expect, it } from 'vitest';
import {
  CN470_20A, CN470_20B, CN470_26A, CN470_26B, CN470_JOIN_CHANNELS_HZ, applyLinkAdrReqs, channelsAfterJoin, cn470JoinPlan, cn470Plan,
  decodeCfList, encodeCfList, getRegion, maxAppPayload, txPowerDbm, type Cn470Plan, type Region,
} from '../src/index.js';
import { LMN_CN470_COMMON, LMN_CN470_PLANS } from './reference/loramac-node-cn470.js';

// CN470 (RP002-1.0.4 §2.9), every table compared with LoRaMac-node's RegionCN470*.{h,c}
// (test/reference/loramac-node-cn470.ts names file and commit of each value).

const PLANS: readonly [Cn470Plan, Region][] = [['20MHz-A', CN470_20A], ['20MHz-B', CN470_20B], ['26MHz-A', CN470_26A], ['26MHz-B', CN470_26B]];
const expand = (groups: readonly (readonly [number, number])[]) => groups.flatMap(([f0, n]) => Array.from({ length: n }, (_, i) => f0 + 200_000 * i));

describe('CN470 tables common to every plan = LoRaMac-node RegionCN470.h', () => {
  it.each(PLANS)('%s: data rates, N, RX1 DR table, TX power, max EIRP, RX2 DR, no duty cycle', (_p, r) => {
    const ref = LMN_CN470_COMMON;
    expect(r.dataRates.map((d) => (d === undefined ? [0, 0] : d.modulation === 'FSK' ? [50, 0] : [d.spreadingFactor, d.bandwidthHz]))).toEqual(ref.datarates);
    const n = (dr: number) => { try { return maxAppPayload(r, dr); } catch { return 0; } };
    expect(ref.maxPayload.map((_, dr) => n(dr))).toEqual(ref.maxPayload);
    expect(Array.from({ length: 8 }, (_, up) => Array.from({ length: 6 }, (_, off) => r.rx1DataRate(up, off)))).toEqual(ref.rx1Dr);
    expect(r.maxRx1DrOffset).toBe(ref.maxRx1DrOffset);
    expect(r.txPowerStepsDb.length - 1).toBe(ref.maxTxPowerIndex);
    expect(r.maxEirpDbm).toBe(ref.maxEirpDbm);
    expect(txPowerDbm(r, 7)).toBeCloseTo(19.15 - 14, 9);
    expect(r.rx2.dr).toBe(ref.rx2Dr);
    expect(r.dutyCycle).toBe(ref.dutyCycle);
    expect(r.section).toBe('§2.9');
    for (const c of r.defaultChannels) expect([c.minDr, c.maxDr]).toEqual([ref.txMinDr, ref.txMaxDr]);
  });
});

describe.each(PLANS)('CN470 %s = LoRaMac-node', (plan, r) => {
  const ref = LMN_CN470_PLANS[plan];
  it(`uplink channels, RX1 frequency of each, RX2 (${ref.file})`, () => {
    expect(cn470Plan(plan)).toBe(r);
    expect(r.defaultChannels.map((c) => c.frequencyHz)).toEqual(expand(ref.uplinkGroups));
    const rx1 = expand(ref.rx1Groups);
    expect(r.defaultChannels.map((c) => r.rx1FrequencyHz(c.frequencyHz))).toEqual(r.defaultChannels.map((_, n) => rx1[ref.rx1Modulo === undefined ? n : n % ref.rx1Modulo]));
    expect(r.rx2.frequencyHz).toBe(ref.rx2AbpHz);
    expect(() => r.rx1FrequencyHz(433_175_000)).toThrow(RangeError);
  });

  it('join channels select this plan; OTAA RX2 per join channel', () => {
    const mine = CN470_JOIN_CHANNELS_HZ.flatMap((f, i) => (cn470JoinPlan(f).plan === plan ? [i] : []));
    expect(mine[0]).toBe(ref.firstJoinIndex);
    for (const i of mine) {
      const j = cn470JoinPlan(CN470_JOIN_CHANNELS_HZ[i] as number);
      expect(j.region).toBe(r);
      expect(j.joinChannelIndex).toBe(i);
      const theirs = ref.rx2OtaaHz?.[i - ref.firstJoinIndex] ?? ref.rx2AbpHz;
      // LoRaMac-node's CN470_A20_RX_WND_2_FREQ_OTAA[6] reads 494000000, off the 485.3 + 1.6·i MHz
      // series every other entry follows; this package uses 494.9 MHz (see README "Regions").
      if (plan === '20MHz-A' && i === 6) expect([theirs, j.rx2FrequencyHz]).toEqual([494_000_000, 494_900_000]);
      else expect(j.rx2FrequencyHz).toBe(theirs);
    }
  });

  it('ChMaskCntl: 16-channel blocks, all on, all off, the rest RFU (LinkAdrChMaskUpdate)', () => {
    const channels = channelsAfterJoin(r);
    const all = channels.map((c) => c.index);
    const plan0 = { region: r, channels, enabled: all };
    const req = (chMaskCntl: number, chMask: number) => ({ chMaskCntl, chMask, dataRate: 2, txPower: 0, nbTrans: 1 });
    for (let cntl = 0; cntl < 8; cntl++) {
      const out = applyLinkAdrReqs(plan0, [req(ref.chMaskAllOff, 0), req(cntl, 0x8001)]);
      if (cntl < ref.chMaskBlocks) {
        expect(out.channelMaskAck).toBe(true);
        expect(out.plan.enabled).toEqual([16 * cntl, 16 * cntl + 15]);
      } else if (cntl === ref.chMaskAllOn) {
        expect(out.plan.enabled).toEqual(all);
      } else if (cntl === ref.chMaskAllOff) {
        expect(out.channelMaskAck).toBe(false); // nothing left enabled
      } else {
        expect(out.channelMaskAck).toBe(false); // RFU
        expect(out.plan).toBe(plan0);
      }
    }
    expect(applyLinkAdrReqs(plan0, [req(1, 0x0001)]).plan.enabled).toContain(16);
  });

  it('CFList type 1 masks select channels of the plan (ChMask0–5, 96 bits)', () => {
    const mask = Array.from({ length: 96 }, (_, n) => n % 5 === 0);
    const cf = decodeCfList(encodeCfList({ type: 1, channelMask: mask }));
    expect(cf).toEqual({ type: 1, channelMask: mask });
    expect(channelsAfterJoin(r, cf).map((c) => c.index)).toEqual(r.defaultChannels.flatMap((_, n) => (n % 5 === 0 ? [n] : [])));
  });
});

describe('CN470 by name', () => {
  it("getRegion('CN470') is plan 20MHz-A; each plan by its name; bad plans and join channels are typed errors", () => {
    expect(getRegion('cn470')).toBe(CN470_20A);
    expect(getRegion('cn470_26b')).toBe(CN470_26B);
    expect(() => cn470Plan('30MHz-A' as Cn470Plan)).toThrow(RangeError);
    expect(() => cn470JoinPlan(470_500_000)).toThrow(RangeError);
    expect(() => cn470JoinPlan('470900000' as unknown as number)).toThrow(TypeError);
    expect(CN470_JOIN_CHANNELS_HZ).toEqual(LMN_CN470_COMMON.joinChannels);
  });

  it('a CFList byte 10–11 (ChMask5) reaches bits 80–95 and enables nothing a US915 device lacks', () => {
    const bytes = new Uint8Array(16);
    bytes[10] = 0x01; bytes[0] = 0x01; bytes[15] = 1;
    const cf = decodeCfList(bytes);
    expect(cf.type === 1 && cf.channelMask[80]).toBe(true);
    expect(channelsAfterJoin(getRegion('US915'), cf).map((c) => c.index)).toEqual([0]);
  });
});
