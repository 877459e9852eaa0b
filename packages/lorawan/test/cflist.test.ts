import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AS923, EU868, LoRaWANError, US915, channelsAfterJoin, decodeCfList, decodeFrame, encodeCfList, encodeFrame, fromHex, toHex } from '../src/index.js';

// Vectors from ChirpStack's LoRaWAN library (brocaar/lorawan, payload_test.go, TestCFList and
// TestJoinAcceptPayload), a second implementation.
const CHIRPSTACK = {
  frequencies: { cf: { type: 0 as const, frequenciesHz: [867_100_000, 867_300_000, 867_500_000, 867_700_000, 867_900_000] }, bytes: [24, 79, 132, 232, 86, 132, 184, 94, 132, 136, 102, 132, 88, 110, 132, 0] },
  first8: { cf: { type: 1 as const, channels: [0, 1, 2, 3, 4, 5, 6, 7] }, bytes: [255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1] },
  second8: { cf: { type: 1 as const, channels: [16, 17, 18, 19, 20, 21, 22, 23] }, bytes: [0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1] },
};

const maskOf = (channels: number[]): boolean[] => Array.from({ length: 96 }, (_, n) => channels.includes(n));

describe('CFList', () => {
  it('type 0 (frequency list) decodes and encodes as ChirpStack does', () => {
    const { cf, bytes } = CHIRPSTACK.frequencies;
    expect(decodeCfList(Uint8Array.from(bytes))).toEqual(cf);
    expect([...encodeCfList(cf)]).toEqual(bytes);
  });

  it('type 1 (channel masks) decodes and encodes as ChirpStack does', () => {
    for (const { cf, bytes } of [CHIRPSTACK.first8, CHIRPSTACK.second8]) {
      const decoded = decodeCfList(Uint8Array.from(bytes));
      expect(decoded).toEqual({ type: 1, channelMask: maskOf(cf.channels) });
      expect([...encodeCfList({ type: 1, channelMask: maskOf(cf.channels) })]).toEqual(bytes);
    }
  });

  it('a frequency that is not a multiple of 100 Hz is refused (ChirpStack refuses it too)', () => {
    expect(() => encodeCfList({ type: 0, frequenciesHz: [868_100_001] })).toThrow(RangeError);
  });

  it('bad lengths and unknown types are MALFORMED with the offset', () => {
    for (const [bytes, offset] of [[new Uint8Array(15), 15], [new Uint8Array(17), 16]] as const) {
      const e = (() => { try { decodeCfList(bytes); } catch (err) { return err; } return undefined; })();
      expect(e).toBeInstanceOf(LoRaWANError);
      expect((e as LoRaWANError).code).toBe('MALFORMED');
      expect((e as LoRaWANError).offset).toBe(offset);
    }
    const t2 = new Uint8Array(16); t2[15] = 2;
    expect(() => decodeCfList(t2)).toThrow(/unknown CFListType 2 at offset 15/);
    expect(() => decodeCfList('00' as never)).toThrow(TypeError);
  });

  it('round-trips any valid CFList and decodes any 16 bytes to a typed result or MALFORMED', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 0xffffff }), { minLength: 5, maxLength: 5 }), (units) => {
      const cf = { type: 0 as const, frequenciesHz: units.map((u) => u * 100) };
      expect(decodeCfList(encodeCfList(cf))).toEqual(cf);
    }));
    fc.assert(fc.property(fc.array(fc.boolean(), { minLength: 96, maxLength: 96 }), (mask) => {
      expect(decodeCfList(encodeCfList({ type: 1, channelMask: mask }))).toEqual({ type: 1, channelMask: mask });
    }));
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
      try {
        const cf = decodeCfList(b);
        expect([0, 1]).toContain(cf.type);
      } catch (e) {
        expect(e).toBeInstanceOf(LoRaWANError);
      }
    }));
  });

  it('the join-accept codec carries a CFList that decodeCfList reads (ChirpStack join-accept bytes)', () => {
    const appKey = fromHex('000102030405060708090a0b0c0d0e0f');
    const cfList = Uint8Array.from(CHIRPSTACK.frequencies.bytes);
    // ChirpStack's join-accept: JoinNonce 65793, NetID 02 02 02, DevAddr 01020304, DLSettings 103
    // (RX1DROffset 6, RX2 DR7), RXDelay 9, then the CFList above.
    const phy = encodeFrame({ type: 'JoinAccept', joinNonce: 65793, netId: 0x020202, devAddr: fromHex('01020304'), dlSettings: { rx1DrOffset: 6, rx2DataRate: 7 }, rxDelay: 9, cfList }, { appKey });
    const frame = decodeFrame(phy, { appKey });
    if (frame.type !== 'JoinAccept' || frame.fields === undefined) throw new Error('expected a decrypted join-accept');
    expect(frame.fields.cfList).toBeDefined();
    expect(decodeCfList(frame.fields.cfList as Uint8Array)).toEqual(CHIRPSTACK.frequencies.cf);
    expect(toHex(cfList)).toBe('184f84e85684b85e84886684586e8400');
  });
});

describe('channelsAfterJoin', () => {
  it('EU868: the three defaults plus the listed channels as 3–7, zero frequencies skipped', () => {
    const ch = channelsAfterJoin(EU868, { type: 0, frequenciesHz: [867_100_000, 0, 867_500_000, 0, 0] });
    expect(ch.map((c) => [c.index, c.frequencyHz, c.minDr, c.maxDr])).toEqual([
      [0, 868_100_000, 0, 5], [1, 868_300_000, 0, 5], [2, 868_500_000, 0, 5], [3, 867_100_000, 0, 5], [5, 867_500_000, 0, 5],
    ]);
  });

  it('AS923: two defaults, the CFList fills channels 2–6', () => {
    const ch = channelsAfterJoin(AS923, decodeCfList(Uint8Array.from(CHIRPSTACK.frequencies.bytes)));
    expect(ch.map((c) => c.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('US915: the mask selects sub-band 2 (channels 8–15 and 65)', () => {
    const ch = channelsAfterJoin(US915, { type: 1, channelMask: maskOf([8, 9, 10, 11, 12, 13, 14, 15, 65]) });
    expect(ch.map((c) => c.index)).toEqual([8, 9, 10, 11, 12, 13, 14, 15, 65]);
    expect(ch[0]?.frequencyHz).toBe(903_900_000);
    expect(ch[8]?.frequencyHz).toBe(904_600_000);
  });

  it('the wrong CFList type for the plan is MALFORMED; no CFList keeps the defaults', () => {
    expect(() => channelsAfterJoin(US915, { type: 0, frequenciesHz: [0, 0, 0, 0, 0] })).toThrow(/dynamic-plan/);
    expect(() => channelsAfterJoin(EU868, { type: 1, channelMask: [] })).toThrow(/fixed-plan/);
    expect(channelsAfterJoin(EU868)).toHaveLength(3);
    expect(() => channelsAfterJoin({} as never)).toThrow(TypeError);
  });
});
