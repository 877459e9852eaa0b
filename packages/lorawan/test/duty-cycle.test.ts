import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DutyCycleAccountant, EU868, EU868_SUB_BANDS, joinDutyCycle, LoRaWANError, SigfoxBudget, TransmitScheduler, US915, assertDwellTime,
  airtimeForDataRate, uplinksPerHour, type DutyCycleModel,
} from '../src/index.js';

const HOUR = 3_600_000;
const G1 = 868_100_000;

describe('DutyCycleAccountant', () => {
  it('time-credit: 1 % band admits 36 s per rolling hour, then tells when', () => {
    const a = new DutyCycleAccountant();
    expect(a.subBandOf(G1).name).toBe('g1');
    a.record(G1, 30_000, 0);
    expect(a.canTransmit(G1, 6_000, 30_000)).toBe(true);
    expect(a.canTransmit(G1, 6_001, 30_000)).toBe(false);
    expect(a.nextTransmitTime(G1, 6_001, 30_000)).toBe(HOUR);
    // other sub-bands are independent
    expect(a.canTransmit(869_525_000, 6_001, 30_000)).toBe(true);
    expect(() => a.record(G1, 6_001, 30_000)).toThrow(expect.objectContaining({ code: 'DUTY_CYCLE_EXCEEDED', retryAt: HOUR }));
  });

  it('off-time (LoRaMac-node ≤ 4.4): off = airtime · (1/dc − 1) after the end of the TX', () => {
    const a = new DutyCycleAccountant({ model: 'off-time' });
    a.record(G1, 1_000, 0);
    expect(a.nextTransmitTime(G1, 1, 0)).toBe(100_000); // 1 s on + 99 s off
    expect(a.canTransmit(G1, 1, 99_999)).toBe(false);
  });

  it('token-bucket (LoRaMac-node 4.5+) admits up to 2 · dc · 1 h in a sliding hour: why it is not the default', () => {
    const a = new DutyCycleAccountant({ model: 'token-bucket' });
    a.record(G1, 36_000, HOUR - 36_000);       // spends the full credit late in hour 1
    expect(a.canTransmit(G1, 36_000, 2 * HOUR - 36_000)).toBe(true); // credit back after refilling 1 h
    const b = new DutyCycleAccountant({ model: 'token-bucket' });
    b.record(G1, 36_000, 0);
    b.record(G1, 18_000, HOUR / 2); // 30 min of refill = 1.8e6 credits = 18 s at 1 %
    expect(b.usage(HOUR / 2)[2]!.usedMs).toBe(54_000); // 54 s within one hour > 36 s
  });

  it('aggregated duty cycle from DutyCycleReq (1/2^MaxDCycle) applies across sub-bands', () => {
    const a = new DutyCycleAccountant();
    a.setMaxDutyCycle(7); // 1/128 ≈ 0.78 %
    a.record(869_525_000, 28_000, 0); // g3 (10 %) has room, aggregate 28,125 ms/h
    expect(a.canTransmit(G1, 200, 0)).toBe(false);
    expect(a.canTransmit(G1, 125, 0)).toBe(true);
    a.setMaxDutyCycle(0);
    expect(a.canTransmit(G1, 200, 0)).toBe(true);
  });

  it('join back-off (LoRaWAN 1.0.4 §7): 36 s in hour 1, 36 s in hours 1–11, 8.7 s per 24 h after', () => {
    const a = new DutyCycleAccountant({ subBands: [{ name: 'all', minHz: 0, maxHz: 1e12, dutyCycle: 1 }] });
    const j = { join: true };
    a.record(G1, 36_000, 0, j);
    expect(a.nextTransmitTime(G1, 1_000, 36_000, j)).toBe(HOUR);
    a.record(G1, 36_000, HOUR, j);
    expect(a.nextTransmitTime(G1, 1_000, HOUR + 36_000, j)).toBe(11 * HOUR);
    a.record(G1, 8_000, 11 * HOUR, j);
    expect(a.canTransmit(G1, 700, 11 * HOUR + 10_000, j)).toBe(true);
    expect(a.nextTransmitTime(G1, 800, 11 * HOUR + 10_000, j)).toBe(35 * HOUR);
    expect(a.nextTransmitTime(G1, 9_000, 11 * HOUR, j)).toBe(Infinity);
    // non-join traffic is not subject to it
    expect(a.canTransmit(G1, 9_000, 11 * HOUR + 20_000)).toBe(true);
    expect(joinDutyCycle(0)).toBe(0.01);
    expect(joinDutyCycle(2 * HOUR)).toBe(0.001);
    expect(joinDutyCycle(12 * HOUR)).toBe(0.0001);
  });

  it('rejects time going backwards and frequencies outside the sub-bands', () => {
    const a = new DutyCycleAccountant();
    a.record(G1, 10, 1_000);
    expect(() => a.canTransmit(G1, 10, 999)).toThrow(RangeError);
    expect(() => a.canTransmit(868_650_000, 10, 2_000)).toThrow(/not in any configured sub-band/);
  });

  it('uplinks per hour', () => {
    expect(uplinksPerHour(0.01, 2465.792)).toBe(14);
    expect(uplinksPerHour(0.01, 36_000)).toBe(1);
  });
});

/** Sum of airtime started in every window [t, t + 1 h) anchored at a transmission; max per band. */
function maxWindowAirtime(txs: readonly { t: number; airtime: number }[]): number {
  let max = 0;
  for (let i = 0; i < txs.length; i++) {
    let sum = 0;
    for (let j = i; j < txs.length && (txs[j] as { t: number }).t < (txs[i] as { t: number }).t + HOUR; j++) sum += (txs[j] as { airtime: number }).airtime;
    max = Math.max(max, sum);
  }
  return max;
}

describe('TransmitScheduler', () => {
  it('picks channels round-robin and waits when the band is out of credit', () => {
    const s = new TransmitScheduler();
    for (let i = 0; i < 20; i++) s.enqueue({ id: i, payloadBytes: 64, dataRate: 0 });
    let now = 0;
    const freqs: number[] = [];
    for (;;) {
      const d = s.next(now);
      if (d.kind === 'idle') break;
      if (d.kind === 'wait') {
        now = d.until;
        if (now >= HOUR) break;
        continue;
      }
      freqs.push(d.channel.frequencyHz);
    }
    expect(freqs.slice(0, 3)).toEqual([868_100_000, 868_300_000, 868_500_000]);
    expect(freqs.length).toBe(12); // 12 × 2793.472 ms ≤ 36 s in g1
    expect(now).toBe(HOUR);
  });

  for (const model of ['time-credit', 'off-time'] as DutyCycleModel[]) {
    it(`property (${model}): over any one-hour window no sub-band exceeds its limit`, () => {
      const channel = fc.constantFrom(868_100_000, 868_300_000, 868_500_000, 867_100_000, 869_525_000, 864_100_000, 868_900_000);
      const uplink = fc.record({ gap: fc.integer({ min: 0, max: 600_000 }), bytes: fc.integer({ min: 13, max: 64 }), dr: fc.integer({ min: 0, max: 5 }) });
      fc.assert(fc.property(fc.uniqueArray(channel, { minLength: 1, maxLength: 7 }), fc.array(uplink, { minLength: 1, maxLength: 120 }), (freqs, traffic) => {
        const s = new TransmitScheduler({ channels: freqs.map((f) => ({ frequencyHz: f, minDr: 0, maxDr: 5 })), accountant: new DutyCycleAccountant({ model }), reorder: true });
        const log = new Map<string, { t: number; airtime: number }[]>();
        let now = 0;
        let arrival = 0;
        let k = 0;
        for (let step = 0; step < 2_000 && (k < traffic.length || s.size > 0); step++) {
          while (k < traffic.length && arrival + (traffic[k] as { gap: number }).gap <= now) {
            const u = traffic[k] as { gap: number; bytes: number; dr: number };
            arrival += u.gap;
            s.enqueue({ id: k, payloadBytes: u.bytes, dataRate: u.dr });
            k++;
          }
          const d = s.next(now);
          if (d.kind === 'transmit') {
            const band = s.accountant!.subBandOf(d.channel.frequencyHz).name;
            const l = log.get(band) ?? [];
            l.push({ t: now, airtime: d.airtimeMs });
            log.set(band, l);
          } else {
            const nextArrival = k < traffic.length ? arrival + (traffic[k] as { gap: number }).gap : Infinity;
            const until = d.kind === 'wait' ? d.until : Infinity;
            now = Math.min(until, Math.max(now, nextArrival));
            if (now === Infinity) break;
          }
        }
        for (const [name, txs] of log) {
          const dc = EU868_SUB_BANDS.find((b) => b.name === name)!.dutyCycle;
          const longest = Math.max(...txs.map((x) => x.airtime));
          // time-credit: exact; off-time can exceed by at most the last transmission's airtime.
          const bound = dc * HOUR + (model === 'off-time' ? longest : 0) + 1e-6;
          expect(maxWindowAirtime(txs)).toBeLessThanOrEqual(bound);
        }
      }), { numRuns: 150 });
    });
  }

  it('US915: no duty cycle, but the 400 ms dwell time is enforced', () => {
    const s = new TransmitScheduler({ region: US915 });
    expect(s.accountant).toBeUndefined();
    s.enqueue({ id: 'ok', payloadBytes: 24, dataRate: 0 }); // 370.688 ms at SF10
    expect(() => s.enqueue({ id: 'big', payloadBytes: 30, dataRate: 0 })).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }));
    const noLimit = new TransmitScheduler({ region: US915, dwellTimeMs: 300 });
    expect(() => noLimit.enqueue({ id: 'x', payloadBytes: 24, dataRate: 0 })).toThrow(expect.objectContaining({ code: 'DWELL_TIME_EXCEEDED' }));
    expect(() => assertDwellTime(airtimeForDataRate(US915, 0, 32))).toThrow(LoRaWANError);
    const d = s.next(0);
    expect(d.kind === 'transmit' && d.channel.minDr === 0).toBe(true);
  });

  it('EU868 payload limits and DR channel matching', () => {
    const s = new TransmitScheduler({ region: EU868 });
    expect(() => s.enqueue({ id: 1, payloadBytes: 65, dataRate: 0 })).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }));
    expect(() => s.enqueue({ id: 1, payloadBytes: 20, dataRate: 6 })).toThrow(expect.objectContaining({ code: 'NO_CHANNEL' }));
  });
});

describe('SigfoxBudget (RC1)', () => {
  it('140 uplinks ≤ 12 B and 4 downlinks ≤ 8 B per rolling day', () => {
    const b = new SigfoxBudget();
    for (let i = 0; i < 140; i++) b.recordUplink(12, i * 60_000);
    expect(b.canSendUplink(1, 140 * 60_000)).toBe(false);
    expect(b.nextUplinkTime(140 * 60_000)).toBe(86_400_000);
    expect(() => b.recordUplink(1, 140 * 60_000)).toThrow(expect.objectContaining({ code: 'BUDGET_EXCEEDED', retryAt: 86_400_000 }));
    expect(b.canSendUplink(1, 86_400_000)).toBe(true);
    expect(() => b.canSendUplink(13, 0)).toThrow(RangeError);
    for (let i = 0; i < 4; i++) b.recordDownlink(8, 0);
    expect(b.remainingDownlinks(0)).toBe(0);
    expect(() => b.recordDownlink(8, 1)).toThrow(expect.objectContaining({ code: 'BUDGET_EXCEEDED' }));
    expect(() => b.canReceiveDownlink(9, 0)).toThrow(RangeError);
  });
});
