// Region tables transcribed from Semtech's LoRaMac-node (github.com/Lora-net/LoRaMac-node), the
// reference end-device stack, as a second implementation for the regions added from RP002-1.0.4.
// Each record names the header file and the commit it was read at. Values are as the header
// states them: data rates as [SF, bandwidth Hz] (SF 50 = FSK 50 kbps, [0, 0] = RFU), payload
// sizes as N (FRMPayload bytes, 0 = not allowed), channels as [Hz, minDr, maxDr],
// TX power as the highest TXPower index (e.g. TX_POWER_7 → 7).
// RX1: LoRaMac-node computes RX1 in RegionXxxApplyDrOffset (src/mac/region/RegionXxx.c):
// KR920, RU864, EU433, CN779: max(dr − offset, DR0); IN865: MIN(DR5, MAX(DR0, dr −
// EffectiveRx1DrOffsetIN865[offset])); AU915: the DatarateOffsetsAU915 table below.

export interface LmnRegion {
  readonly file: string;
  readonly commit: string;
  readonly datarates: readonly (readonly [number, number])[];
  readonly maxPayload: readonly number[];
  readonly maxPayloadDwell1?: readonly number[];
  readonly maxPayloadRepeater?: readonly number[];
  readonly defaultChannels?: readonly (readonly [number, number, number])[];
  readonly rx2: readonly [number, number];
  readonly maxEirpDbm: number;
  readonly maxTxPowerIndex: number;
  readonly maxRx1DrOffset: number;
  /** Band 0 duty cycle as the header's divisor (100 = 1 %, 1 = 100 % i.e. none). */
  readonly band0DutyCycle: number;
  readonly delaysMs?: readonly [number, number, number, number];
  readonly lbt?: { readonly rssiFreeThresholdDbm: number; readonly carrierSenseTimeMs: number };
}

const EU_LIKE_DR: readonly (readonly [number, number])[] = [
  [12, 125_000], [11, 125_000], [10, 125_000], [9, 125_000], [8, 125_000], [7, 125_000], [7, 250_000], [50, 0],
];

export const LMN_AU915: LmnRegion = {
  file: 'src/mac/region/RegionAU915.h',
  commit: 'ae6f26032abb226cbd0978997fa2dd0a2ce013e1',
  // DataratesAU915 / BandwidthsAU915 (DR7 is 0/0 there: LR-FHSS is not in this header)
  datarates: [
    [12, 125_000], [11, 125_000], [10, 125_000], [9, 125_000], [8, 125_000], [7, 125_000], [8, 500_000], [0, 0],
    [12, 500_000], [11, 500_000], [10, 500_000], [9, 500_000], [8, 500_000], [7, 500_000],
  ],
  maxPayload: [51, 51, 51, 115, 242, 242, 242, 0, 53, 129, 242, 242, 242, 242], // MaxPayloadOfDatarateDwell0AU915
  maxPayloadDwell1: [0, 0, 11, 53, 125, 242, 242, 0, 53, 129, 242, 242, 242, 242], // MaxPayloadOfDatarateDwell1AU915
  rx2: [923_300_000, 8], // AU915_RX_WND_2_FREQ / _DR
  maxEirpDbm: 30, // AU915_DEFAULT_MAX_EIRP
  maxTxPowerIndex: 14, // AU915_MIN_TX_POWER = TX_POWER_14
  maxRx1DrOffset: 6, // AU915_MAX_RX1_DR_OFFSET (its table has 6 columns, offsets 0–5: see the test)
  band0DutyCycle: 1,
  delaysMs: [1000, 2000, 5000, 6000],
};

/** DatarateOffsetsAU915[uplinkDr 0–6][rx1DrOffset 0–5] → RX1 DR (RegionAU915.h, same commit). */
export const LMN_AU915_RX1: readonly (readonly number[])[] = [
  [8, 8, 8, 8, 8, 8],
  [9, 8, 8, 8, 8, 8],
  [10, 9, 8, 8, 8, 8],
  [11, 10, 9, 8, 8, 8],
  [12, 11, 10, 9, 8, 8],
  [13, 12, 11, 10, 9, 8],
  [13, 13, 12, 11, 10, 9],
];

export const LMN_KR920: LmnRegion = {
  file: 'src/mac/region/RegionKR920.h',
  commit: 'e7a6ddb427af9d1c8cd18bbfe1c9a59be0c64dc2',
  datarates: [[12, 125_000], [11, 125_000], [10, 125_000], [9, 125_000], [8, 125_000], [7, 125_000]],
  maxPayload: [51, 51, 51, 115, 242, 242], // MaxPayloadOfDatarateKR920
  maxPayloadRepeater: [51, 51, 51, 115, 222, 222], // MaxPayloadOfDatarateRepeaterKR920
  defaultChannels: [[922_100_000, 0, 5], [922_300_000, 0, 5], [922_500_000, 0, 5]], // KR920_LC1–3
  rx2: [921_900_000, 0],
  maxEirpDbm: 14, // KR920_DEFAULT_MAX_EIRP_HIGH (922.1–923.3 MHz); _LOW = 10 dBm for 920.9–921.9 MHz
  maxTxPowerIndex: 7,
  maxRx1DrOffset: 5,
  band0DutyCycle: 1,
  delaysMs: [1000, 2000, 5000, 6000],
  lbt: { rssiFreeThresholdDbm: -65, carrierSenseTimeMs: 6 }, // KR920_RSSI_FREE_TH, KR920_CARRIER_SENSE_TIME
};

export const LMN_IN865: LmnRegion = {
  file: 'src/mac/region/RegionIN865.h',
  commit: '2313fd91010523c724fca6b9df3b63bd41801cc0',
  // DataratesIN865 lists DR6 = SF7/250 kHz (the LoRaWAN 1.0.2 table); RP002 makes DR6 RFU: see the test.
  datarates: [[12, 125_000], [11, 125_000], [10, 125_000], [9, 125_000], [8, 125_000], [7, 125_000], [7, 250_000], [50, 0]],
  maxPayload: [51, 51, 51, 115, 242, 242, 242, 242], // MaxPayloadOfDatarateIN865
  maxPayloadRepeater: [51, 51, 51, 115, 222, 222, 222, 222], // MaxPayloadOfDatarateRepeaterIN865
  defaultChannels: [[865_062_500, 0, 5], [865_402_500, 0, 5], [865_985_000, 0, 5]],
  rx2: [866_550_000, 2],
  maxEirpDbm: 30,
  maxTxPowerIndex: 10,
  maxRx1DrOffset: 7,
  band0DutyCycle: 1,
  delaysMs: [1000, 2000, 5000, 6000],
};

/** EffectiveRx1DrOffsetIN865 (RegionIN865.h, same commit). */
export const LMN_IN865_EFFECTIVE_RX1_OFFSET: readonly number[] = [0, 1, 2, 3, 4, 5, -1, -2];

export const LMN_RU864: LmnRegion = {
  file: 'src/mac/region/RegionRU864.h',
  commit: '235330fb5591b4c0448a49dc60a7895711f3bf7a',
  datarates: EU_LIKE_DR,
  maxPayload: [51, 51, 51, 115, 242, 242, 242, 242],
  defaultChannels: [[868_900_000, 0, 5], [869_100_000, 0, 5]],
  rx2: [869_100_000, 0],
  maxEirpDbm: 16,
  maxTxPowerIndex: 7,
  maxRx1DrOffset: 5,
  band0DutyCycle: 100, // RU864_BAND0 { 100, … } // 1.0 %
};

export const LMN_EU433: LmnRegion = {
  file: 'src/mac/region/RegionEU433.h',
  commit: 'ca8b16f796279eaf3ae48a65019987c0cdbd094f',
  datarates: EU_LIKE_DR,
  maxPayload: [51, 51, 51, 115, 242, 242, 242, 242],
  defaultChannels: [[433_175_000, 0, 5], [433_375_000, 0, 5], [433_575_000, 0, 5]],
  rx2: [434_665_000, 0],
  maxEirpDbm: 12.15,
  maxTxPowerIndex: 5,
  maxRx1DrOffset: 5,
  band0DutyCycle: 100,
};

export const LMN_CN779: LmnRegion = {
  file: 'src/mac/region/RegionCN779.h',
  commit: 'd09a6becb70ac13aaf3a8f9dcf960ad3d92c5ce8',
  datarates: EU_LIKE_DR,
  maxPayload: [51, 51, 51, 115, 242, 242, 242, 242],
  defaultChannels: [[779_500_000, 0, 5], [779_700_000, 0, 5], [779_900_000, 0, 5]],
  rx2: [786_000_000, 0],
  maxEirpDbm: 12.15,
  maxTxPowerIndex: 5,
  maxRx1DrOffset: 5,
  band0DutyCycle: 100,
  delaysMs: [1000, 2000, 5000, 6000],
};

/**
 * RegionAS923.h at commit ca8b16f796279eaf3ae48a65019987c0cdbd094f: the channel-plan group
 * frequency offsets (CHANNEL_PLAN_GROUP_AS923_2 = −1.8 MHz, _3 = −6.6 MHz; AS923-4 is not in
 * this version) and the Japanese LBT parameters (AS923_RSSI_FREE_TH, AS923_CARRIER_SENSE_TIME).
 */
export const LMN_AS923_FREQ_OFFSET_HZ = { 'AS923-2': -1_800_000, 'AS923-3': -6_600_000 } as const;
export const LMN_AS923_LBT = { rssiFreeThresholdDbm: -80, carrierSenseTimeMs: 5 } as const;
