import { describe, expect, it } from 'vitest';
import { AS923, EU868, US915, airtimeForDataRate, dataRate, dataRateFor, fskTimeOnAir, getRegion, maxAppPayload, timeOnAir, txPowerDbm } from '../src/index.js';

// Worked by hand from the Semtech formula (SX1276 datasheet §4.1.1.7); the README table repeats these.
const TOA: readonly [sf: number, bw: number, cr: '4/5' | '4/8', bytes: number, ms: number, ldro: boolean][] = [
  [7, 125_000, '4/5', 13, 46.336, false],     // Tsym 1.024; 12.25 + 8 + ceil(120/28)·5 = 45.25 sym
  [7, 125_000, '4/5', 64, 118.016, false],
  [9, 125_000, '4/5', 24, 205.824, false],
  [10, 125_000, '4/5', 24, 370.688, false],   // US915 DR0 with an 11-byte FRMPayload
  [11, 125_000, '4/5', 51, 1314.816, true],   // Tsym 16.384 ms ≥ 16 → LDRO on; 12.25 + 8 + 12·5 sym
  [12, 125_000, '4/5', 51, 2465.792, true],
  [12, 125_000, '4/5', 64, 2793.472, true],
  [12, 125_000, '4/8', 51, 3547.136, true],
  [7, 250_000, '4/5', 64, 59.008, false],
  [8, 500_000, '4/5', 24, 28.288, false],    // US915 DR4
];

describe('timeOnAir (Semtech formula)', () => {
  for (const [sf, bw, cr, bytes, ms, ldro] of TOA) {
    it(`SF${sf} ${bw / 1000} kHz CR ${cr}, ${bytes} B = ${ms} ms (LDRO ${ldro ? 'on' : 'off'})`, () => {
      expect(timeOnAir({ spreadingFactor: sf, bandwidthHz: bw, codingRate: cr, payloadBytes: bytes })).toBe(ms);
      expect(timeOnAir({ spreadingFactor: sf, bandwidthHz: bw, codingRate: cr, payloadBytes: bytes, lowDataRateOptimize: ldro })).toBe(ms);
    });
  }
  it('forcing LDRO changes the SF12 result, CRC off and implicit header shorten it', () => {
    const base = { spreadingFactor: 12, bandwidthHz: 125_000, codingRate: '4/5' as const, payloadBytes: 51 };
    expect(timeOnAir({ ...base, lowDataRateOptimize: false })).toBe(2138.112);
    expect(timeOnAir({ ...base, crc: false })).toBeLessThan(2465.792);
    expect(timeOnAir({ ...base, explicitHeader: false })).toBeLessThan(2465.792);
    expect(timeOnAir({ ...base, preambleSymbols: 10 })).toBe(2465.792 + 2 * 32.768);
  });
  it('FSK 50 kbps: 8·(5 + 3 + 1 + PL + 2) bits', () => {
    expect(fskTimeOnAir({ payloadBytes: 51 })).toBe(9.92);
    expect(airtimeForDataRate(EU868, 7, 51)).toBe(9.92);
  });
  it('bad values are RangeErrors naming the field', () => {
    expect(() => timeOnAir({ spreadingFactor: 13, bandwidthHz: 125_000, codingRate: '4/5', payloadBytes: 1 })).toThrow(/spreadingFactor/);
    expect(() => timeOnAir({ spreadingFactor: 7, bandwidthHz: 100_000, codingRate: '4/5', payloadBytes: 1 })).toThrow(/bandwidthHz/);
    expect(() => timeOnAir({ spreadingFactor: 7, bandwidthHz: 125_000, codingRate: '4/9' as '4/5', payloadBytes: 1 })).toThrow(/codingRate/);
    expect(() => timeOnAir({ spreadingFactor: 7, bandwidthHz: 125_000, codingRate: '4/5', payloadBytes: 256 })).toThrow(/payloadBytes/);
  });
});

describe('regional parameters (RP002-1.0.3)', () => {
  it('EU868 DR table, payload sizes, channels, RX windows, EIRP', () => {
    expect(dataRate(EU868, 0)).toMatchObject({ spreadingFactor: 12, bandwidthHz: 125_000 });
    expect(dataRate(EU868, 6)).toMatchObject({ spreadingFactor: 7, bandwidthHz: 250_000 });
    expect(dataRate(EU868, 7)).toMatchObject({ modulation: 'FSK', bitrateBps: 50_000 });
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((d) => maxAppPayload(EU868, d))).toEqual([51, 51, 51, 115, 242, 242, 242, 242]);
    expect(EU868.defaultChannels.map((c) => c.frequencyHz)).toEqual([868_100_000, 868_300_000, 868_500_000]);
    expect(EU868.rx2).toEqual({ frequencyHz: 869_525_000, dr: 0 });
    expect([EU868.rx1DelayMs, EU868.rx2DelayMs, EU868.joinAcceptDelay1Ms, EU868.joinAcceptDelay2Ms]).toEqual([1000, 2000, 5000, 6000]);
    expect(txPowerDbm(EU868, 0)).toBe(16);
    expect(txPowerDbm(EU868, 7)).toBe(2);
    expect(EU868.rx1DataRate(5, 2)).toBe(3);
    expect(EU868.rx1DataRate(1, 5)).toBe(0);
    expect(dataRateFor(EU868, 9, 125_000)).toBe(3);
  });
  it('US915 DR table, payload sizes, 72 channels, RX1 mapping, 30 dBm, dwell', () => {
    expect(dataRate(US915, 0)).toMatchObject({ spreadingFactor: 10, bandwidthHz: 125_000 });
    expect(dataRate(US915, 4)).toMatchObject({ spreadingFactor: 8, bandwidthHz: 500_000 });
    expect(dataRate(US915, 8)).toMatchObject({ spreadingFactor: 12, bandwidthHz: 500_000 });
    expect(() => dataRate(US915, 5)).toThrow(/not defined/);
    expect([0, 1, 2, 3, 4].map((d) => maxAppPayload(US915, d))).toEqual([11, 53, 125, 242, 242]);
    expect(US915.defaultChannels.length).toBe(72);
    expect(US915.defaultChannels[63]!.frequencyHz).toBe(914_900_000);
    expect(US915.defaultChannels[71]!.frequencyHz).toBe(914_200_000);
    expect(US915.rx1FrequencyHz(902_300_000)).toBe(923_300_000);
    expect(US915.rx1FrequencyHz(903_900_000)).toBe(923_300_000 + 600_000 * 0); // channel 8 → 8 mod 8 = 0
    expect(US915.rx1FrequencyHz(904_600_000)).toBe(923_300_000 + 600_000 * 1); // 500 kHz channel 65 → 65 mod 8 = 1
    expect([0, 1, 2, 3].map((o) => US915.rx1DataRate(0, o))).toEqual([10, 9, 8, 8]);
    expect([0, 1, 2, 3].map((o) => US915.rx1DataRate(4, o))).toEqual([13, 13, 12, 11]);
    expect(US915.rx2).toEqual({ frequencyHz: 923_300_000, dr: 8 });
    expect(txPowerDbm(US915, 0)).toBe(30);
    expect(US915.uplinkDwellTimeMs).toBe(400);
    // every US915 uplink DR's max payload fits the 400 ms dwell time
    for (const d of [0, 1, 2, 3, 4]) expect(airtimeForDataRate(US915, d, maxAppPayload(US915, d) + 13)).toBeLessThanOrEqual(400);
  });
  it('AS923 with and without dwell time', () => {
    expect(maxAppPayload(AS923, 2)).toBe(115);
    expect(maxAppPayload(AS923, 2, { dwellTime: true })).toBe(11);
    expect(() => maxAppPayload(AS923, 0, { dwellTime: true })).toThrow(RangeError);
    expect(AS923.rx2).toEqual({ frequencyHz: 923_200_000, dr: 2 });
    expect(getRegion('as923')).toBe(AS923);
    expect(() => getRegion('XX1')).toThrow(RangeError);
  });
});
