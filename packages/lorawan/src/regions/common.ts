// Building blocks shared by the region records (src/regions.ts and src/regions/*.ts).
import type { SpreadingFactor } from '../airtime.js';
import type { Channel, DataRate } from '../regions.js';

/**
 * The LoRaWAN Regional Parameters version the region tables implement. Section references in
 * the region records (`Region.section`) are to this document.
 *
 * @example
 * ```ts
 * import { REGIONAL_PARAMETERS } from '@outpost/lorawan';
 * REGIONAL_PARAMETERS; // 'RP002-1.0.4'
 * ```
 */
export const REGIONAL_PARAMETERS = 'RP002-1.0.4';

/** A LoRa data rate; the bit rate is indicative: SF·(BW/2^SF)·4/5. */
export const lora = (dr: number, sf: SpreadingFactor, bw: number): DataRate => ({
  dr, modulation: 'LORA', spreadingFactor: sf, bandwidthHz: bw,
  bitrateBps: Math.round((sf * bw * 4) / (5 * (1 << sf))),
});

/** The FSK data rate (50 kbps) of the regions that define one. */
export const fsk = (dr: number): DataRate => ({ dr, modulation: 'FSK', bitrateBps: 50_000 });

/** DR0–5 = SF12…SF7 / 125 kHz (every dynamic-plan region). */
export const DR0_5_125: readonly DataRate[] = [
  lora(0, 12, 125_000), lora(1, 11, 125_000), lora(2, 10, 125_000), lora(3, 9, 125_000), lora(4, 8, 125_000), lora(5, 7, 125_000),
];

/** DR0–5, DR6 = SF7 / 250 kHz, DR7 = FSK 50 kbps (EU868, EU433, CN779, RU864, AS923). */
export const EU_DR: readonly (DataRate | undefined)[] = [...DR0_5_125, lora(6, 7, 250_000), fsk(7)];

/** TXPower index i → 2·i dB below max EIRP, for i = 0 … maxIndex (every RP002 region). */
export function txPowerSteps(maxIndex: number): readonly number[] {
  return Array.from({ length: maxIndex + 1 }, (_, i) => 2 * i);
}

/** Default channels at the given frequencies, DR0–5. */
export function channels0to5(frequenciesHz: readonly number[]): readonly Channel[] {
  return frequenciesHz.map((frequencyHz) => ({ frequencyHz, minDr: 0, maxDr: 5 }));
}

/**
 * The repeater-compatible maximum MACPayload sizes of the dynamic-plan regions: the same as
 * the not-repeater-compatible ones except that 250 becomes 230 (RP002-1.0.4 §2.x.6, e.g.
 * §2.11.6 for KR920).
 */
export function repeaterPayloads(m: readonly (number | undefined)[]): readonly (number | undefined)[] {
  return m.map((v) => (v === undefined ? undefined : Math.min(v, 230)));
}

/** RX1 DR of the dynamic-plan regions without a special table: max(upDR − offset, DR0). */
export const rx1Subtract = (up: number, off: number): number => Math.max(up - off, 0);

/**
 * RX1 frequency of a fixed-plan (US915-style) region: uplink channel n (125 kHz channels
 * `base125 + 200 kHz·n`, then 500 kHz channels `base500 + 1.6 MHz·(n − 64)`) answers on
 * 923.3 MHz + 600 kHz·(n mod 8) (RP002-1.0.4 §2.5.7 US915, §2.8.7 AU915).
 */
export function fixedPlanRx1Frequency(base125Hz: number, base500Hz: number): (f: number) => number {
  return (f: number) => {
    const ch = f >= base500Hz && (f - base500Hz) % 1_600_000 === 0 && f <= base500Hz + 7 * 1_600_000
      ? 64 + (f - base500Hz) / 1_600_000
      : Math.round((f - base125Hz) / 200_000);
    return 923_300_000 + 600_000 * (ch % 8);
  };
}

/** 64 channels of 125 kHz (DR `lo`…`hi125`) then 8 of 500 kHz (DR `dr500`). */
export function fixedPlanChannels(base125Hz: number, hi125: number, base500Hz: number, dr500: number): readonly Channel[] {
  const out: Channel[] = [];
  for (let n = 0; n < 64; n++) out.push({ frequencyHz: base125Hz + 200_000 * n, minDr: 0, maxDr: hi125 });
  for (let n = 0; n < 8; n++) out.push({ frequencyHz: base500Hz + 1_600_000 * n, minDr: dr500, maxDr: dr500 });
  return out;
}
