// Regional parameters: LoRaWAN Regional Parameters RP002-1.0.4 (REGIONAL_PARAMETERS). The Region
// type, EU868 (§2.4) and the look-ups live here; the other regions are data in src/regions/
// (fixed.ts: US915 §2.5, AU915 §2.8; dynamic.ts: CN779 §2.6, EU433 §2.7, AS923-1…4 §2.10,
// KR920 §2.11, IN865 §2.12, RU864 §2.13; cn470.ts: CN470 §2.9, four channel plans). Maximum payload sizes: M = MACPayload, N = M − 8 =
// FRMPayload without FOpts; `maxMacPayload` is the "not repeater compatible" table.
import { assertInt, describe } from './bytes.js';
import type { CodingRate, SpreadingFactor } from './airtime.js';
import { fskTimeOnAir, loraToaMs } from './airtime.js';
import { EU868_SUB_BANDS, type SubBand } from './duty-cycle.js';
import { EU_DR, repeaterPayloads, rx1Subtract, txPowerSteps } from './regions/common.js';
import { AU915, US915 } from './regions/fixed.js';
import { AS923, AS923_2, AS923_3, AS923_4, CN779, EU433, IN865, KR920, RU864 } from './regions/dynamic.js';
import { CN470_20A, CN470_20B, CN470_26A, CN470_26B } from './regions/cn470.js';

export { REGIONAL_PARAMETERS } from './regions/common.js';
export { AU915, US915 } from './regions/fixed.js';
export { AS923, AS923_2, AS923_3, AS923_4, AS923_JAPAN_LBT, CN779, EU433, IN865, KR920, RU864 } from './regions/dynamic.js';
export { CN470_20A, CN470_20B, CN470_26A, CN470_26B, CN470_JOIN_CHANNELS_HZ, cn470JoinPlan, cn470Plan, type Cn470Join, type Cn470Plan } from './regions/cn470.js';

/**
 * Region identifiers supported by this package ('AS923' is AS923-1). CN470 has one record per
 * channel plan ('CN470-20A' = 20 MHz antenna plan A, …); `getRegion('CN470')` is CN470-20A.
 */
export type RegionName =
  | 'EU868' | 'US915' | 'AU915' | 'CN779' | 'EU433' | 'AS923' | 'AS923-2' | 'AS923-3' | 'AS923-4'
  | 'KR920' | 'IN865' | 'RU864' | 'CN470-20A' | 'CN470-20B' | 'CN470-26A' | 'CN470-26B';

/**
 * Listen-before-talk parameters (data only: the SDK has no radio to sense the channel). A device
 * may transmit when the channel RSSI stays below `rssiThresholdDbm` for `senseTimeMs`.
 */
export interface ListenBeforeTalk {
  readonly rssiThresholdDbm: number;
  readonly senseTimeMs: number;
}

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
  /** The section of RP002-1.0.4 (REGIONAL_PARAMETERS) that defines the region, e.g. '§2.11'. */
  readonly section: string;
  /** Uplink/downlink data rates by index (undefined entries are RFU or not modelled, e.g. LR-FHSS). */
  readonly dataRates: readonly (DataRate | undefined)[];
  /** Maximum MACPayload size M per DR (uplink dwell limits off). */
  readonly maxMacPayload: readonly (number | undefined)[];
  /** Maximum MACPayload size M per DR when the 400 ms uplink dwell limit applies (AS923, AU915), else same as maxMacPayload. */
  readonly maxMacPayloadDwell: readonly (number | undefined)[];
  /** The repeater-compatible M per DR where RP002 defines it (dynamic-plan regions), else undefined. */
  readonly maxMacPayloadRepeater: readonly (number | undefined)[] | undefined;
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
  /** Whether a sub-band duty cycle applies (then `dutyCycleSubBands` lists the bands). */
  readonly dutyCycle: boolean;
  /** The duty-cycle bands for {@link DutyCycleAccountant} where RP002 / the regulator defines them. */
  readonly dutyCycleSubBands: readonly SubBand[] | undefined;
  /** Listen-before-talk parameters where the region requires LBT (KR920), else undefined. */
  readonly lbt: ListenBeforeTalk | undefined;
  /** Whether the region implements TxParamSetupReq, i.e. `maxMacPayloadDwell` applies with UplinkDwellTime = 1. */
  readonly txParamSetup: boolean;
  /** Uplink dwell-time limit in ms when it applies by default (US915, AU915: 400 ms), else undefined. */
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

/**
 * EU863-870 (RP002-1.0.4 §2.4): DR0–5 = SF12…SF7/125 kHz, DR6 = SF7/250 kHz, DR7 = FSK 50 kbps;
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
  section: '§2.4',
  dataRates: EU_DR,
  // §2.4.6 (not repeater compatible; repeater: 250 → 230)
  maxMacPayload: [59, 59, 59, 123, 250, 250, 250, 250],
  maxMacPayloadDwell: [59, 59, 59, 123, 250, 250, 250, 250],
  maxMacPayloadRepeater: repeaterPayloads([59, 59, 59, 123, 250, 250, 250, 250]),
  defaultChannels: [868_100_000, 868_300_000, 868_500_000].map((f) => ({ frequencyHz: f, minDr: 0, maxDr: 5 })),
  rx1DelayMs: 1000, rx2DelayMs: 2000, joinAcceptDelay1Ms: 5000, joinAcceptDelay2Ms: 6000,
  rx2: { frequencyHz: 869_525_000, dr: 0 },
  maxEirpDbm: 16,
  txPowerStepsDb: txPowerSteps(7),
  dutyCycle: true,
  dutyCycleSubBands: EU868_SUB_BANDS, // §2.4.3 / ETSI EN 300 220
  lbt: undefined,
  txParamSetup: false,
  uplinkDwellTimeMs: undefined,
  maxRx1DrOffset: 5,
  // §2.4.7: RX1 DR = max(upDR − offset, 0)
  rx1DataRate: rx1Subtract,
  rx1FrequencyHz: (f: number) => f,
});

const ALL: readonly Region[] = [
  EU868, US915, AU915, CN779, EU433, AS923, AS923_2, AS923_3, AS923_4, KR920, IN865, RU864, CN470_20A, CN470_20B, CN470_26A, CN470_26B,
];
const REGIONS: ReadonlyMap<string, Region> = new Map([
  ...ALL.map((r) => [r.name, r] as const),
  ['AS923-1', AS923] as const,
  ['CN470', CN470_20A] as const, // the plan of the first join channel (470.9 MHz); see cn470JoinPlan
]);

/**
 * Every region this package models, by its `RegionName`.
 *
 * @example
 * ```ts
 * import { REGION_NAMES } from '@outpost/lorawan';
 * REGION_NAMES.length; // 16
 * ```
 */
export const REGION_NAMES: readonly RegionName[] = Object.freeze(ALL.map((r) => r.name));

/**
 * Looks a region up by name, case-insensitive, `_` or `-` alike ('as923_2', 'AS923-1' = 'AS923',
 * 'CN470' = 'CN470-20A').
 *
 * @throws TypeError for a non-string; RangeError for an unknown region (the message lists them).
 * @example
 * ```ts
 * import { getRegion } from '@outpost/lorawan';
 * getRegion('eu868').rx2.frequencyHz; // 869525000
 * ```
 */
export function getRegion(name: string): Region {
  if (typeof name !== 'string') throw new TypeError(`region: expected a string, got ${describe(name)}`);
  const r = REGIONS.get(name.toUpperCase().replace(/_/g, '-'));
  if (r === undefined) throw new RangeError(`region: expected ${REGION_NAMES.join(', ')}, got "${name}"`);
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
 * TX power in dBm (EIRP; conducted for US915) for a TXPower index of `region`: max EIRP − 2·index.
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
    throw new TypeError(`region: expected a Region (EU868, US915, …), got ${describe(region)}`);
  }
}
