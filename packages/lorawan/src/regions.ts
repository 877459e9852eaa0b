// Regional parameters: LoRaWAN Regional Parameters RP002-1.0.3 (and 1.0.4 where unchanged).
// EU868 §2.4, US902-928 §2.5, AS923 §2.7. Maximum payload sizes are the "not repeater
// compatible" tables (M = MACPayload, N = M − 8 = FRMPayload without FOpts).
import { assertInt, describe } from './bytes.js';
import type { CodingRate, SpreadingFactor } from './airtime.js';
import { fskTimeOnAir, loraToaMs } from './airtime.js';

/** Region identifiers supported by this package. */
export type RegionName = 'EU868' | 'US915' | 'AS923';

/** One data rate: LoRa (SF/BW) or FSK. */
export type DataRate =
  | { readonly dr: number; readonly modulation: 'LORA'; readonly spreadingFactor: SpreadingFactor; readonly bandwidthHz: number; readonly bitrateBps: number }
  | { readonly dr: number; readonly modulation: 'FSK'; readonly bitrateBps: number };

/** A channel: centre frequency and the data-rate range it accepts. */
export interface Channel {
  readonly frequencyHz: number;
  readonly minDr: number;
  readonly maxDr: number;
}

/** Regional parameters of one region. */
export interface Region {
  readonly name: RegionName;
  /** Uplink/downlink data rates by index (undefined entries are RFU or not modelled, e.g. LR-FHSS). */
  readonly dataRates: readonly (DataRate | undefined)[];
  /** Maximum MACPayload size M per DR (uplink dwell limits off). */
  readonly maxMacPayload: readonly (number | undefined)[];
  /** Maximum MACPayload size M per DR when the 400 ms uplink dwell limit applies (AS923), else same as maxMacPayload. */
  readonly maxMacPayloadDwell: readonly (number | undefined)[];
  /** Default (always enabled) uplink channels. */
  readonly defaultChannels: readonly Channel[];
  /** Delay of RX1 after the end of the uplink, ms (RECEIVE_DELAY1). */
  readonly rx1DelayMs: number;
  /** Delay of RX2, ms (RECEIVE_DELAY2). */
  readonly rx2DelayMs: number;
  /** JOIN_ACCEPT_DELAY1 / 2 in ms. */
  readonly joinAcceptDelay1Ms: number;
  readonly joinAcceptDelay2Ms: number;
  /** RX2 default frequency and DR. */
  readonly rx2: { readonly frequencyHz: number; readonly dr: number };
  /** Default max EIRP (or conducted power for US915) in dBm. */
  readonly maxEirpDbm: number;
  /** TXPower index → dB below max EIRP; index 0 = max. */
  readonly txPowerStepsDb: readonly number[];
  /** Whether the ETSI-style sub-band duty cycle applies. */
  readonly dutyCycle: boolean;
  /** Uplink dwell-time limit in ms when it applies by default (US915 400 ms), else undefined. */
  readonly uplinkDwellTimeMs: number | undefined;
  /** Valid RX1DROffset values 0 … max. */
  readonly maxRx1DrOffset: number;
  /**
   * Downlink DR used in RX1 for an uplink DR and RX1DROffset. `downlinkDwellTime` is the
   * DownlinkDwellTime bit of TxParamSetupReq (AS923: the 400 ms limit raises the floor to DR2);
   * regions without the command ignore it.
   */
  rx1DataRate(uplinkDr: number, rx1DrOffset: number, options?: { readonly downlinkDwellTime?: boolean }): number;
  /** RX1 downlink frequency for an uplink frequency. */
  rx1FrequencyHz(uplinkFrequencyHz: number): number;
}

const lora = (dr: number, sf: SpreadingFactor, bw: number): DataRate => ({
  dr, modulation: 'LORA', spreadingFactor: sf, bandwidthHz: bw,
  // indicative bit rate: SF·(BW/2^SF)·4/5
  bitrateBps: Math.round((sf * bw * 4) / (5 * (1 << sf))),
});
const fsk = (dr: number): DataRate => ({ dr, modulation: 'FSK', bitrateBps: 50_000 });

const EU_DR: readonly (DataRate | undefined)[] = [
  lora(0, 12, 125_000), lora(1, 11, 125_000), lora(2, 10, 125_000), lora(3, 9, 125_000),
  lora(4, 8, 125_000), lora(5, 7, 125_000), lora(6, 7, 250_000), fsk(7),
];

/**
 * EU863-870 (RP002-1.0.3 §2.4): DR0–5 = SF12…SF7/125 kHz, DR6 = SF7/250 kHz, DR7 = FSK 50 kbps;
 * default channels 868.1/868.3/868.5 MHz; RX2 869.525 MHz DR0; max EIRP 16 dBm; ETSI duty cycle.
 * DR8–11 (LR-FHSS) are not modelled.
 *
 * @example
 * ```ts
 * import { EU868 } from '@outpost/lorawan';
 * EU868.dataRates[0]; // { dr: 0, modulation: 'LORA', spreadingFactor: 12, bandwidthHz: 125000, ... }
 * EU868.maxMacPayload[0]; // 59
 * ```
 */
export const EU868: Region = Object.freeze({
  name: 'EU868',
  dataRates: EU_DR,
  // RP002-1.0.3 Table 14 (not repeater compatible)
  maxMacPayload: [59, 59, 59, 123, 250, 250, 250, 250],
  maxMacPayloadDwell: [59, 59, 59, 123, 250, 250, 250, 250],
  defaultChannels: [868_100_000, 868_300_000, 868_500_000].map((f) => ({ frequencyHz: f, minDr: 0, maxDr: 5 })),
  rx1DelayMs: 1000, rx2DelayMs: 2000, joinAcceptDelay1Ms: 5000, joinAcceptDelay2Ms: 6000,
  rx2: { frequencyHz: 869_525_000, dr: 0 },
  maxEirpDbm: 16,
  txPowerStepsDb: [0, 2, 4, 6, 8, 10, 12, 14],
  dutyCycle: true,
  uplinkDwellTimeMs: undefined,
  maxRx1DrOffset: 5,
  // RP002-1.0.3 Table 16: RX1 DR = max(upDR − offset, 0)
  rx1DataRate: (up: number, off: number) => Math.max(up - off, 0),
  rx1FrequencyHz: (f: number) => f,
});

const US_DR: (DataRate | undefined)[] = [
  lora(0, 10, 125_000), lora(1, 9, 125_000), lora(2, 8, 125_000), lora(3, 7, 125_000), lora(4, 8, 500_000),
  undefined, undefined, undefined, // DR5–6 LR-FHSS (not modelled), DR7 RFU
  lora(8, 12, 500_000), lora(9, 11, 500_000), lora(10, 10, 500_000), lora(11, 9, 500_000), lora(12, 8, 500_000), lora(13, 7, 500_000),
];

const usChannels: Channel[] = [];
for (let n = 0; n < 64; n++) usChannels.push({ frequencyHz: 902_300_000 + 200_000 * n, minDr: 0, maxDr: 3 });
for (let n = 0; n < 8; n++) usChannels.push({ frequencyHz: 903_000_000 + 1_600_000 * n, minDr: 4, maxDr: 4 });

/**
 * US902-928 (RP002-1.0.3 §2.5): DR0–3 = SF10…SF7/125 kHz, DR4 = SF8/500 kHz, DR8–13 = SF12…SF7/500 kHz
 * (downlink); 64 + 8 uplink channels; RX1 on 923.3 + 0.6·(ch mod 8) MHz; RX2 923.3 MHz DR8;
 * 30 dBm conducted max; no duty cycle but a 400 ms dwell time (FCC 15.247).
 *
 * @example
 * ```ts
 * import { US915 } from '@outpost/lorawan';
 * US915.defaultChannels.length; // 72
 * US915.rx1DataRate(0, 0);      // 10
 * ```
 */
export const US915: Region = Object.freeze({
  name: 'US915',
  dataRates: US_DR,
  // RP002-1.0.3 Table 34 (not repeater compatible)
  maxMacPayload: [19, 61, 133, 250, 250, undefined, undefined, undefined, 61, 137, 250, 250, 250, 250],
  maxMacPayloadDwell: [19, 61, 133, 250, 250, undefined, undefined, undefined, 61, 137, 250, 250, 250, 250],
  defaultChannels: usChannels,
  rx1DelayMs: 1000, rx2DelayMs: 2000, joinAcceptDelay1Ms: 5000, joinAcceptDelay2Ms: 6000,
  rx2: { frequencyHz: 923_300_000, dr: 8 },
  maxEirpDbm: 30,
  txPowerStepsDb: [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28],
  dutyCycle: false,
  uplinkDwellTimeMs: 400,
  maxRx1DrOffset: 3,
  // RP002-1.0.3 Table 36: DR0→10/9/8/8 … DR4→13/13/12/11
  rx1DataRate: (up: number, off: number) => Math.min(13, Math.max(8, 10 + Math.min(up, 4) - off)),
  rx1FrequencyHz: (f: number) => {
    const ch = f >= 903_000_000 && (f - 903_000_000) % 1_600_000 === 0 && f <= 914_200_000
      ? 64 + (f - 903_000_000) / 1_600_000
      : Math.round((f - 902_300_000) / 200_000);
    return 923_300_000 + 600_000 * (ch % 8);
  },
});

/**
 * AS923-1 (RP002-1.0.3 §2.7): DR0–5 = SF12…SF7/125 kHz, DR6 = SF7/250 kHz, DR7 = FSK; default
 * channels 923.2/923.4 MHz; RX2 923.2 MHz DR2; max EIRP 16 dBm. `maxMacPayloadDwell` applies when
 * TxParamSetupReq sets UplinkDwellTime = 1 (400 ms). Country duty-cycle / LBT rules are not modelled.
 *
 * @example
 * ```ts
 * import { AS923 } from '@outpost/lorawan';
 * AS923.maxMacPayloadDwell[2]; // 19
 * ```
 */
export const AS923: Region = Object.freeze({
  name: 'AS923',
  dataRates: EU_DR,
  // RP002-1.0.3 Tables 56/57 (UplinkDwellTime = 0 / 1)
  maxMacPayload: [59, 59, 123, 123, 250, 250, 250, 250],
  maxMacPayloadDwell: [undefined, undefined, 19, 61, 133, 250, 250, 250],
  defaultChannels: [923_200_000, 923_400_000].map((f) => ({ frequencyHz: f, minDr: 0, maxDr: 5 })),
  rx1DelayMs: 1000, rx2DelayMs: 2000, joinAcceptDelay1Ms: 5000, joinAcceptDelay2Ms: 6000,
  rx2: { frequencyHz: 923_200_000, dr: 2 },
  maxEirpDbm: 16,
  txPowerStepsDb: [0, 2, 4, 6, 8, 10, 12, 14],
  dutyCycle: false,
  uplinkDwellTimeMs: undefined,
  maxRx1DrOffset: 7,
  // RP002-1.0.3 §2.7.7 (RX1 receive window): RX1 DR = MIN(7, MAX(minDR, upDR − effOffset)), with
  // effective offsets 0…5 and −1/−2 for RX1DROffset 6/7, minDR 0 (DownlinkDwellTime 0) or 2 (1).
  // The pre-RP002 text capped at DR5 (MIN(5, …)); RP002-1.0.1 and later, and LoRaMac-node since
  // 2020, allow DR7. Checked cell by cell against LoRaMac-node in test/regions-reference.test.ts.
  rx1DataRate: (up: number, off: number, options?: { readonly downlinkDwellTime?: boolean }) => {
    const eff = off <= 5 ? off : 5 - off;
    const minDr = options?.downlinkDwellTime === true ? 2 : 0;
    return Math.min(7, Math.max(minDr, up - eff));
  },
  rx1FrequencyHz: (f: number) => f,
});

const REGIONS: Readonly<Record<string, Region>> = { EU868, US915, AS923 };

/**
 * Looks a region up by name (case-insensitive).
 *
 * @throws TypeError for a non-string; RangeError for an unknown region.
 * @example
 * ```ts
 * import { getRegion } from '@outpost/lorawan';
 * getRegion('eu868').rx2.frequencyHz; // 869525000
 * ```
 */
export function getRegion(name: string): Region {
  if (typeof name !== 'string') throw new TypeError(`region: expected a string, got ${describe(name)}`);
  const r = REGIONS[name.toUpperCase()];
  if (r === undefined) throw new RangeError(`region: expected EU868, US915 or AS923, got "${name}"`);
  return r;
}

/**
 * The data rate `dr` of `region`.
 *
 * @throws RangeError when the region does not define (or this package does not model) that DR.
 * @example
 * ```ts
 * import { EU868, dataRate } from '@outpost/lorawan';
 * dataRate(EU868, 5); // SF7 / 125 kHz
 * ```
 */
export function dataRate(region: Region, dr: number): DataRate {
  assertRegion(region);
  assertInt(dr, 'dataRate', 0, 15);
  const d = region.dataRates[dr];
  if (d === undefined) throw new RangeError(`dataRate: DR${dr} is not defined for ${region.name}`);
  return d;
}

/**
 * The DR of `region` that uses a spreading factor and bandwidth (uplink DRs first), or undefined.
 *
 * @example
 * ```ts
 * import { EU868, dataRateFor } from '@outpost/lorawan';
 * dataRateFor(EU868, 12, 125_000); // 0
 * ```
 */
export function dataRateFor(region: Region, spreadingFactor: number, bandwidthHz: number): number | undefined {
  assertRegion(region);
  for (const d of region.dataRates) {
    if (d !== undefined && d.modulation === 'LORA' && d.spreadingFactor === spreadingFactor && d.bandwidthHz === bandwidthHz) return d.dr;
  }
  return undefined;
}

/**
 * Maximum FRMPayload size N (= M − 8, no FOpts) for a DR of `region`.
 *
 * @example
 * ```ts
 * import { EU868, maxAppPayload } from '@outpost/lorawan';
 * maxAppPayload(EU868, 0); // 51
 * ```
 */
export function maxAppPayload(region: Region, dr: number, options: { dwellTime?: boolean } = {}): number {
  dataRate(region, dr);
  const m = (options.dwellTime === true ? region.maxMacPayloadDwell : region.maxMacPayload)[dr];
  if (m === undefined) throw new RangeError(`dataRate: DR${dr} carries no uplink payload in ${region.name}${options.dwellTime === true ? ' with dwell time limits' : ''}`);
  return m - 8;
}

/**
 * Time on air (ms, exact) of a PHYPayload of `payloadBytes` at data rate `dr` of `region`
 * (coding rate 4/5, 8 preamble symbols, explicit header; CRC on for uplinks, off for downlinks).
 *
 * @example
 * ```ts
 * import { EU868, airtimeForDataRate } from '@outpost/lorawan';
 * airtimeForDataRate(EU868, 0, 64); // 2793.472 (51-byte FRMPayload at SF12)
 * ```
 */
export function airtimeForDataRate(region: Region, dr: number, payloadBytes: number, options: { downlink?: boolean; codingRate?: CodingRate } = {}): number {
  const d = dataRate(region, dr);
  assertInt(payloadBytes, 'payloadBytes', 0, 255);
  if (d.modulation === 'FSK') return fskTimeOnAir({ payloadBytes, bitrateBps: d.bitrateBps });
  const cr = { '4/5': 1, '4/6': 2, '4/7': 3, '4/8': 4 }[options.codingRate ?? '4/5'];
  return loraToaMs(d.spreadingFactor, d.bandwidthHz, cr, payloadBytes, 8, 0, options.downlink === true ? 0 : 1, 'auto');
}

/**
 * TX power in dBm (EIRP; conducted for US915) for a TXPower index of `region`.
 *
 * @example
 * ```ts
 * import { EU868, txPowerDbm } from '@outpost/lorawan';
 * txPowerDbm(EU868, 1); // 14
 * ```
 */
export function txPowerDbm(region: Region, txPowerIndex: number): number {
  assertRegion(region);
  assertInt(txPowerIndex, 'txPowerIndex', 0, region.txPowerStepsDb.length - 1);
  return region.maxEirpDbm - (region.txPowerStepsDb[txPowerIndex] as number);
}

export function assertRegion(region: unknown): asserts region is Region {
  if (typeof region !== 'object' || region === null || !('dataRates' in region) || !('name' in region)) {
    throw new TypeError(`region: expected a Region (EU868, US915, AS923), got ${describe(region)}`);
  }
}
