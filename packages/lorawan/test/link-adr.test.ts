import { describe, expect, it } from 'vitest';
import { AS923, EU868, US915, applyLinkAdrReqs, channelsAfterJoin, decodeMacCommands, encodeMacCommands, type ChannelPlan, type LinkAdrReq } from '../src/index.js';

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);
const maskOf = (bits: number[]): number => bits.reduce((m, b) => m | (1 << b), 0);
const req = (chMaskCntl: number, bits: number[], dataRate = 3): LinkAdrReq => ({ chMaskCntl, chMask: maskOf(bits), dataRate, txPower: 0, nbTrans: 1 });
function usAll(): ChannelPlan {
  const channels = channelsAfterJoin(US915);
  return { region: US915, channels, enabled: channels.map((c) => c.index) };
}

// ChirpStack (brocaar/lorawan band/band_us902_928_test.go, GetEnabledChannelsForLinkADRReqPayloads):
// a device with all 72 channels, the LinkADRReq payloads ChirpStack sends, the channels it expects.
const CHIRPSTACK_US915: readonly { name: string; reqs: LinkAdrReq[]; expected: number[] }[] = [
  { name: 'only channels 0–7', reqs: [req(7, []), req(0, range(0, 8))], expected: range(0, 8) },
  { name: 'only channels 8–23', reqs: [req(7, []), req(0, range(8, 16)), req(1, range(0, 8))], expected: range(8, 24) },
  { name: 'only channels 64–71', reqs: [req(7, range(0, 8), 4)], expected: range(64, 72) },
  { name: 'all but channels 0–7', reqs: [req(0, range(8, 16))], expected: range(8, 72) },
];

describe('LinkADRReq blocks: US915', () => {
  for (const c of CHIRPSTACK_US915) {
    it(`ChirpStack: ${c.name}`, () => {
      const r = applyLinkAdrReqs(usAll(), c.reqs);
      expect([r.channelMaskAck, r.dataRateAck, r.powerAck]).toEqual([true, true, true]);
      expect(r.plan.enabled).toEqual(c.expected);
    });
  }

  it('ChMaskCntl 5 selects sub-bands with their 500 kHz channel (RP002, as LoRaMac-node)', () => {
    const r = applyLinkAdrReqs(usAll(), [req(5, [1, 3])]);
    expect(r.plan.enabled).toEqual([...range(8, 16), ...range(24, 32), 65, 67]);
  });

  it('fewer than two 125 kHz channels for DR0–3 is a channel-mask NACK and changes nothing', () => {
    const before = usAll();
    const r = applyLinkAdrReqs(before, [req(7, []), req(0, [5], 2)]);
    expect(r.channelMaskAck).toBe(false);
    expect(r.plan).toBe(before);
    expect(r.dataRate).toBeUndefined();
    // DR4 on a 500 kHz channel alone is fine
    expect(applyLinkAdrReqs(before, [req(7, [2], 4)]).plan.enabled).toEqual([66]);
  });

  it('a DR that no enabled channel carries is a data-rate NACK; TXPower beyond the table a power NACK', () => {
    const r = applyLinkAdrReqs(usAll(), [req(7, range(0, 8), 2)]); // only 500 kHz channels, DR2 is 125 kHz
    expect([r.channelMaskAck, r.dataRateAck]).toEqual([false, false]);
    const p = applyLinkAdrReqs(usAll(), [{ ...req(0, range(0, 16)), txPower: 14 }]);
    expect(p.powerAck).toBe(true);
    const q = applyLinkAdrReqs({ region: EU868, channels: channelsAfterJoin(EU868), enabled: [0, 1, 2] }, [{ ...req(0, [0, 1, 2]), txPower: 8 }]);
    expect(q.powerAck).toBe(false);
  });
});

describe('LinkADRReq blocks: dynamic plans (EU868, AS923)', () => {
  const eu = (): ChannelPlan => {
    const channels = channelsAfterJoin(EU868, { type: 0, frequenciesHz: [867_100_000, 867_300_000, 0, 0, 0] });
    return { region: EU868, channels, enabled: channels.map((c) => c.index) };
  };

  it('ChMaskCntl 0 masks channels 0–15; 6 turns every defined channel on', () => {
    expect(applyLinkAdrReqs(eu(), [req(0, [0, 3])]).plan.enabled).toEqual([0, 3]);
    const off = applyLinkAdrReqs(eu(), [req(0, [0])]).plan;
    expect(off.enabled).toEqual([0]);
    const all = applyLinkAdrReqs(off, [req(6, [])]); // ChMask ignored: every channel the device has
    expect(all.channelMaskAck).toBe(true);
    expect(all.plan.enabled).toEqual([0, 1, 2, 3, 4]);
  });

  it('enabling a channel the device does not have, all off, or an RFU ChMaskCntl is a NACK', () => {
    for (const r of [[req(0, [0, 9])], [req(0, [])], [req(3, [0])]]) {
      const out = applyLinkAdrReqs(eu(), r);
      expect(out.channelMaskAck).toBe(false);
      expect(out.plan.enabled).toEqual([0, 1, 2, 3, 4]);
    }
  });

  it('only the last command of the block decides the mask status; DR/power/NbTrans come from it', () => {
    const out = applyLinkAdrReqs(eu(), [req(3, [0]), { chMaskCntl: 0, chMask: maskOf([1, 2]), dataRate: 5, txPower: 2, nbTrans: 0 }]);
    expect(out).toMatchObject({ channelMaskAck: true, dataRate: 5, txPower: 2, nbTrans: 1 });
    expect(out.plan.enabled).toEqual([1, 2]);
    const keep = applyLinkAdrReqs(eu(), [{ ...req(0, [0, 1]), dataRate: 15, txPower: 15 }]);
    expect(keep).toMatchObject({ channelMaskAck: true, dataRateAck: true, powerAck: true, dataRate: undefined, txPower: undefined });
  });

  it('works on commands straight from the MAC codec, and on AS923', () => {
    const wire = encodeMacCommands([{ type: 'LinkADRReq', dataRate: 2, txPower: 1, chMask: 0b11, chMaskCntl: 0, nbTrans: 2 }]);
    const [cmd] = decodeMacCommands(wire, 'down');
    const channels = channelsAfterJoin(AS923);
    const out = applyLinkAdrReqs({ region: AS923, channels, enabled: [0, 1] }, [cmd as never]);
    expect(out).toMatchObject({ channelMaskAck: true, dataRate: 2, txPower: 1, nbTrans: 2 });
  });

  it('refuses malformed plans and requests', () => {
    expect(() => applyLinkAdrReqs(null as never, [req(0, [0])])).toThrow(TypeError);
    expect(() => applyLinkAdrReqs(eu(), [])).toThrow(TypeError);
    expect(() => applyLinkAdrReqs(eu(), [{ ...req(0, [0]), chMaskCntl: 8 }])).toThrow(RangeError);
  });
});
