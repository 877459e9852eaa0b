import { describe, expect, it } from 'vitest';
import { EU868, REQUIRED_SNR_DB, estimateCoverage, linkCheckReport, suggestAdr } from '../src/index.js';

describe('LinkCheckAns coverage report', () => {
  it('verdicts by margin and gateway count', () => {
    expect(linkCheckReport({ margin: 12, gwCnt: 2 })).toEqual({ marginDb: 12, gatewayCount: 2, verdict: 'good' });
    expect(linkCheckReport({ margin: 4, gwCnt: 1 }).verdict).toBe('marginal');
    expect(linkCheckReport({ margin: 20, gwCnt: 0 }).verdict).toBe('none');
    expect(linkCheckReport(undefined).verdict).toBe('none');
    expect(linkCheckReport({ margin: 6, gwCnt: 1 }, { goodMarginDb: 5 }).verdict).toBe('good');
  });
});

describe('coverage estimator', () => {
  it('margin, gateways in range, fastest DR, verdict', () => {
    const e = estimateCoverage([
      { spreadingFactor: 12, gateways: [{ gatewayId: 'a', rssi: -118, snr: -6 }, { gatewayId: 'b', rssi: -130, snr: -21 }] },
      { spreadingFactor: 12, gateways: [{ gatewayId: 'a', rssi: -120, snr: -8 }] },
    ], EU868);
    expect(e.marginDb).toBe(14);
    expect(e.gatewaysInRange).toBe(1);
    expect(e.gateways.map((g) => [g.gatewayId, g.marginDb, g.received, g.meanRssi])).toEqual([['a', 14, 2, -119], ['b', -1, 1, -130]]);
    expect(e.fastestDataRate).toBe(5); // −6 dB SNR closes even SF7 (needs −7.5 dB)
    expect(estimateCoverage([{ spreadingFactor: 12, gateways: [{ gatewayId: 'a', rssi: -125, snr: -12 }] }], EU868).fastestDataRate).toBe(3); // SF9: −12.5
  });
  it('marginal and none', () => {
    expect(estimateCoverage([{ spreadingFactor: 7, gateways: [{ gatewayId: 'a', rssi: -110, snr: -3 }] }], EU868).verdict).toBe('marginal');
    expect(estimateCoverage([{ spreadingFactor: 7, gateways: [{ gatewayId: 'a', rssi: -125, snr: -9 }] }], EU868)).toMatchObject({ verdict: 'none', gatewaysInRange: 0 });
    expect(estimateCoverage([], EU868)).toMatchObject({ verdict: 'none', marginDb: undefined, fastestDataRate: undefined });
  });
  it('required SNR table', () => {
    expect(Object.values(REQUIRED_SNR_DB)).toEqual([-7.5, -10, -12.5, -15, -17.5, -20]);
  });
});

describe('ADR (ChirpStack default algorithm)', () => {
  const base = { region: EU868, dataRate: 0, txPowerIndex: 0 };
  it('positive steps raise the DR first, then lower the power', () => {
    expect(suggestAdr({ ...base, snrHistory: Array<number>(20).fill(5) })).toEqual({ dataRate: 5, txPowerIndex: 0, changed: true, marginDb: 15, steps: 5 });
    expect(suggestAdr({ ...base, snrHistory: Array<number>(20).fill(11) })).toMatchObject({ dataRate: 5, txPowerIndex: 2, steps: 7 });
  });
  it('uses the max SNR of the last 20 and truncates toward zero', () => {
    const h = [...Array<number>(19).fill(-15), -7.5];
    // margin = −7.5 + 20 − 10 = 2.5 → 0 steps
    expect(suggestAdr({ ...base, snrHistory: [30, ...h] })).toMatchObject({ changed: false, steps: 0, marginDb: 2.5 });
  });
  it('negative steps raise the TX power (lower index) down to 0', () => {
    expect(suggestAdr({ region: EU868, dataRate: 5, txPowerIndex: 3, snrHistory: Array<number>(20).fill(-10) })).toMatchObject({ dataRate: 5, txPowerIndex: 0, steps: -4 });
  });
  it('does nothing before 20 uplinks', () => {
    expect(suggestAdr({ ...base, snrHistory: [10, 10] })).toMatchObject({ changed: false, marginDb: undefined });
  });
});
