import { describe, expect, it } from 'vitest';
import {
  AU915, CN779, EU433, KR920, RU864, US915, TransmitScheduler, applyLinkAdrReqs, channelsAfterJoin, decodeCfList, encodeCfList,
  type Region,
} from '../src/index.js';

// How the new regions behave in the package's other parts: the scheduler's duty-cycle bands,
// LinkADRReq on AU915 (US915's ChMaskCntl table without the FCC two-channel rule), AU915's
// UplinkDwellTime tables, CFList type 1 on AU915.

describe('duty-cycle regions schedule on their own bands', () => {
  it.each([EU433, CN779, RU864].map((r) => [r.name, r] as const))('%s: the scheduler accounts the default channels in the region band', (_name, region) => {
    const s = new TransmitScheduler({ region });
    s.enqueue({ id: 'a', payloadBytes: 20, dataRate: 5 });
    const d = s.next(0);
    expect(d.kind).toBe('transmit');
    expect(s.accountant?.subBands).toEqual(region.dutyCycleSubBands);
    if (d.kind === 'transmit') expect(s.accountant?.subBandOf(d.channel.frequencyHz).dutyCycle).toBe(0.01);
  });

  it('KR920 (LBT, no duty cycle) gets no accountant', () => {
    expect(new TransmitScheduler({ region: KR920 }).accountant).toBeUndefined();
  });
});

const fullPlan = (region: Region) => {
  const channels = channelsAfterJoin(region);
  return { region, channels, enabled: channels.map((c) => c.index) };
};

describe('AU915 LinkADRReq (RP002-1.0.4 §2.8.5)', () => {
  it('one 125 kHz channel at DR2 is accepted (no FCC two-channel rule), as US915 refuses it', () => {
    const reqs = [
      { chMaskCntl: 7, chMask: 0, dataRate: 2, txPower: 0, nbTrans: 1 },
      { chMaskCntl: 0, chMask: 0x0001, dataRate: 2, txPower: 0, nbTrans: 1 },
    ];
    const au = applyLinkAdrReqs(fullPlan(AU915), reqs);
    expect([au.channelMaskAck, au.dataRateAck, au.powerAck]).toEqual([true, true, true]);
    expect(au.plan.enabled).toEqual([0]);
    expect(applyLinkAdrReqs(fullPlan(US915), reqs).channelMaskAck).toBe(false);
  });

  it('ChMaskCntl 5 selects sub-band 2 (channels 8–15 and 65); DR6 needs a 500 kHz channel', () => {
    const r = applyLinkAdrReqs(fullPlan(AU915), [{ chMaskCntl: 5, chMask: 0x02, dataRate: 6, txPower: 14, nbTrans: 1 }]);
    expect(r.channelMaskAck && r.dataRateAck && r.powerAck).toBe(true);
    expect(r.plan.enabled).toEqual([8, 9, 10, 11, 12, 13, 14, 15, 65]);
    const no500 = applyLinkAdrReqs(fullPlan(AU915), [{ chMaskCntl: 7, chMask: 0, dataRate: 6, txPower: 0, nbTrans: 1 }]);
    expect(no500.dataRateAck).toBe(false);
    expect(applyLinkAdrReqs(fullPlan(AU915), [{ chMaskCntl: 6, chMask: 0xff, dataRate: 0, txPower: 15, nbTrans: 1 }]).powerAck).toBe(true);
    expect(applyLinkAdrReqs(fullPlan(AU915), [{ chMaskCntl: 6, chMask: 0xff, dataRate: 0, txPower: 14, nbTrans: 1 }]).powerAck).toBe(true);
  });

  it('CFList type 1 selects AU915 channels by mask', () => {
    const mask = Array.from({ length: 72 }, (_, i) => (i >= 8 && i < 16) || i === 65);
    const cf = decodeCfList(encodeCfList({ type: 1, channelMask: mask }));
    expect(channelsAfterJoin(AU915, cf).map((c) => c.frequencyHz)).toEqual([
      916_800_000, 917_000_000, 917_200_000, 917_400_000, 917_600_000, 917_800_000, 918_000_000, 918_200_000, 917_500_000,
    ]);
  });
});

describe('AU915 UplinkDwellTime (TxParamSetupReq, §2.8.6)', () => {
  it('the default 400 ms limit uses the dwell table: DR2 carries at most 11 bytes of FRMPayload, DR0 none', () => {
    const s = new TransmitScheduler({ region: AU915 });
    expect(() => s.enqueue({ id: 'a', payloadBytes: 11 + 13 + 1, dataRate: 2 })).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }));
    s.enqueue({ id: 'b', payloadBytes: 11 + 13, dataRate: 2 });
    expect(() => s.enqueue({ id: 'c', payloadBytes: 13, dataRate: 0 })).toThrow(RangeError);
    const free = new TransmitScheduler({ region: AU915, dwellTimeMs: false });
    free.enqueue({ id: 'd', payloadBytes: 51 + 13, dataRate: 0 });
    expect(free.size).toBe(1);
  });
});
