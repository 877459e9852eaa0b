// Dynamic-plan regions of RP002-1.0.4 besides EU868: AS923-1…4 (§2.10), KR920 (§2.11),
// IN865 (§2.12), RU864 (§2.13), EU433 (§2.7) and CN779 (§2.6). Each record is data; the
// subsection of the table is cited next to it (§2.x.3 data rates and TX power, §2.x.2 channels,
// §2.x.6 payload sizes, §2.x.7 RX windows, §2.x.8 defaults). Checked cell by cell against
// LoRaMac-node and RadioLib in test/regions-rp002-reference.test.ts.
import type { SubBand } from '../duty-cycle.js';
import type { ListenBeforeTalk, Region } from '../regions.js';
import { channels0to5, DR0_5_125, EU_DR, fsk, repeaterPayloads, rx1Subtract, txPowerSteps } from './common.js';

const DELAYS = { rx1DelayMs: 1000, rx2DelayMs: 2000, joinAcceptDelay1Ms: 5000, joinAcceptDelay2Ms: 6000 } as const;

/** M per DR, not repeater compatible, of EU433, CN779, RU864 (§2.7.6, §2.6.6, §2.13.6). */
const EU_M: readonly (number | undefined)[] = [59, 59, 59, 123, 250, 250, 250, 250];

/** A region with one duty-cycle band covering its whole allocation. */
function band(name: string, minHz: number, maxHz: number, dutyCycle: number): readonly SubBand[] {
  return Object.freeze([Object.freeze({ name, minHz, maxHz, dutyCycle })]);
}

// ---- AS923 (§2.10) -----------------------------------------------------------------------

/**
 * AS923-1/2/3/4 differ only by AS923_FREQ_OFFSET (§2.10.2): 0, −1.8 MHz, −6.6 MHz, −5.9 MHz,
 * applied to the two default channels (923.2/923.4 MHz) and the RX2 frequency (923.2 MHz).
 */
function as923(name: Region['name'], offsetHz: number): Region {
  return Object.freeze({
    name,
    section: '§2.10',
    dataRates: EU_DR, // §2.10.3
    // §2.10.6 (UplinkDwellTime = 0 / 1, not repeater compatible; repeater: 250 → 230)
    maxMacPayload: [59, 59, 123, 123, 250, 250, 250, 250],
    maxMacPayloadDwell: [undefined, undefined, 19, 61, 133, 250, 250, 250],
    maxMacPayloadRepeater: repeaterPayloads([59, 59, 123, 123, 250, 250, 250, 250]),
    defaultChannels: channels0to5([923_200_000 + offsetHz, 923_400_000 + offsetHz]), // §2.10.2
    ...DELAYS,
    rx2: { frequencyHz: 923_200_000 + offsetHz, dr: 2 }, // §2.10.7
    maxEirpDbm: 16, // §2.10.3
    txPowerStepsDb: txPowerSteps(7),
    dutyCycle: false,
    dutyCycleSubBands: undefined, // country rules (§2.10.1), not modelled
    lbt: undefined, // Japan only: AS923_JAPAN_LBT
    txParamSetup: true,
    uplinkDwellTimeMs: undefined,
    maxRx1DrOffset: 7,
    // §2.10.7: RX1 DR = MIN(7, MAX(minDR, upDR − effOffset)), effective offsets 0…5 and −1/−2
    // for RX1DROffset 6/7; minDR 0 (DownlinkDwellTime 0) or 2 (1). The pre-RP002 text capped at
    // DR5 (MIN(5, …)); RP002-1.0.1 and later, LoRaMac-node since 2020 and RadioLib allow DR7.
    rx1DataRate: (up: number, off: number, options?: { readonly downlinkDwellTime?: boolean }) => {
      const eff = off <= 5 ? off : 5 - off;
      const minDr = options?.downlinkDwellTime === true ? 2 : 0;
      return Math.min(7, Math.max(minDr, up - eff));
    },
    rx1FrequencyHz: (f: number) => f,
  });
}

/**
 * AS923-1 (RP002-1.0.4 §2.10): DR0–5 = SF12…SF7/125 kHz, DR6 = SF7/250 kHz, DR7 = FSK; default
 * channels 923.2/923.4 MHz; RX2 923.2 MHz DR2; max EIRP 16 dBm. `maxMacPayloadDwell` applies when
 * TxParamSetupReq sets UplinkDwellTime = 1 (400 ms). Country duty-cycle rules are not modelled;
 * Japan's LBT parameters are {@link AS923_JAPAN_LBT}.
 *
 * @example
 * ```ts
 * import { AS923 } from '@outpost/lorawan';
 * AS923.maxMacPayloadDwell[2]; // 19
 * ```
 */
export const AS923 = as923('AS923', 0);

/**
 * AS923-2 (§2.10, AS923_FREQ_OFFSET = −1.8 MHz): default channels 921.4/921.6 MHz, RX2 921.4 MHz DR2.
 *
 * @example
 * ```ts
 * import { AS923_2 } from '@outpost/lorawan';
 * AS923_2.rx2.frequencyHz; // 921400000
 * ```
 */
export const AS923_2 = as923('AS923-2', -1_800_000);

/**
 * AS923-3 (§2.10, AS923_FREQ_OFFSET = −6.6 MHz): default channels 916.6/916.8 MHz, RX2 916.6 MHz DR2.
 *
 * @example
 * ```ts
 * import { AS923_3 } from '@outpost/lorawan';
 * AS923_3.defaultChannels[1]?.frequencyHz; // 916800000
 * ```
 */
export const AS923_3 = as923('AS923-3', -6_600_000);

/**
 * AS923-4 (§2.10, AS923_FREQ_OFFSET = −5.9 MHz): default channels 917.3/917.5 MHz, RX2 917.3 MHz DR2.
 *
 * @example
 * ```ts
 * import { AS923_4 } from '@outpost/lorawan';
 * AS923_4.defaultChannels[0]?.frequencyHz; // 917300000
 * ```
 */
export const AS923_4 = as923('AS923-4', -5_900_000);

/**
 * Listen-before-talk parameters for AS923-1 in Japan (ARIB STD-T108, as LoRaMac-node applies
 * them for CHANNEL_PLAN_GROUP_AS923_1_JP): the channel counts as free when the RSSI stays below
 * −80 dBm for 5 ms of carrier sense. Data only: the SDK has no radio (see README).
 *
 * @example
 * ```ts
 * import { AS923_JAPAN_LBT } from '@outpost/lorawan';
 * AS923_JAPAN_LBT.rssiThresholdDbm; // -80
 * ```
 */
export const AS923_JAPAN_LBT: ListenBeforeTalk = Object.freeze({ rssiThresholdDbm: -80, senseTimeMs: 5 });

// ---- KR920 (§2.11) -----------------------------------------------------------------------

/**
 * KR920-923 (RP002-1.0.4 §2.11): DR0–5 = SF12…SF7/125 kHz; default channels 922.1/922.3/922.5 MHz;
 * RX2 921.9 MHz DR0; max EIRP 14 dBm (10 dBm on 920.9–921.9 MHz: choose with `txPowerDbm`'s
 * caller); no duty cycle but listen-before-talk (`lbt`: −65 dBm, 6 ms sensing, as LoRaMac-node).
 *
 * @example
 * ```ts
 * import { KR920 } from '@outpost/lorawan';
 * KR920.lbt?.rssiThresholdDbm; // -65
 * ```
 */
export const KR920: Region = Object.freeze({
  name: 'KR920',
  section: '§2.11',
  dataRates: DR0_5_125, // §2.11.3
  maxMacPayload: [59, 59, 59, 123, 250, 250], // §2.11.6
  maxMacPayloadDwell: [59, 59, 59, 123, 250, 250], // no dwell-time rule
  maxMacPayloadRepeater: repeaterPayloads([59, 59, 59, 123, 250, 250]),
  defaultChannels: channels0to5([922_100_000, 922_300_000, 922_500_000]), // §2.11.2
  ...DELAYS,
  rx2: { frequencyHz: 921_900_000, dr: 0 }, // §2.11.7
  maxEirpDbm: 14, // §2.11.3
  txPowerStepsDb: txPowerSteps(7),
  dutyCycle: false,
  dutyCycleSubBands: undefined,
  // §2.11.1: LBT instead of a duty cycle; threshold and sensing time as LoRaMac-node's
  // KR920_RSSI_FREE_TH / KR920_CARRIER_SENSE_TIME.
  lbt: Object.freeze({ rssiThresholdDbm: -65, senseTimeMs: 6 }),
  txParamSetup: false,
  uplinkDwellTimeMs: undefined,
  maxRx1DrOffset: 5,
  rx1DataRate: rx1Subtract, // §2.11.7
  rx1FrequencyHz: (f: number) => f,
});

// ---- IN865 (§2.12) -----------------------------------------------------------------------

const IN865_EFFECTIVE_OFFSET = [0, 1, 2, 3, 4, 5, -1, -2] as const;

/**
 * IN865-867 (RP002-1.0.4 §2.12): DR0–5 = SF12…SF7/125 kHz, DR6 RFU, DR7 = FSK 50 kbps; default
 * channels 865.0625/865.4025/865.985 MHz; RX2 866.55 MHz DR2; max EIRP 30 dBm; no duty cycle.
 * RX1 DR = MIN(5, MAX(0, upDR − effOffset)) with effective offsets 0…5, −1, −2.
 *
 * @example
 * ```ts
 * import { IN865 } from '@outpost/lorawan';
 * IN865.rx1DataRate(3, 6); // 4
 * ```
 */
export const IN865: Region = Object.freeze({
  name: 'IN865',
  section: '§2.12',
  dataRates: [...DR0_5_125, undefined, fsk(7)], // §2.12.3: DR6 RFU
  maxMacPayload: [59, 59, 59, 123, 250, 250, undefined, 250], // §2.12.6
  maxMacPayloadDwell: [59, 59, 59, 123, 250, 250, undefined, 250],
  maxMacPayloadRepeater: repeaterPayloads([59, 59, 59, 123, 250, 250, undefined, 250]),
  defaultChannels: channels0to5([865_062_500, 865_402_500, 865_985_000]), // §2.12.2
  ...DELAYS,
  rx2: { frequencyHz: 866_550_000, dr: 2 }, // §2.12.7
  maxEirpDbm: 30, // §2.12.3 (RP002-1.0.5 lowers the default to 29.2 dBm)
  txPowerStepsDb: txPowerSteps(10),
  dutyCycle: false,
  dutyCycleSubBands: undefined,
  lbt: undefined,
  txParamSetup: false,
  uplinkDwellTimeMs: undefined,
  maxRx1DrOffset: 7,
  // §2.12.7, as LoRaMac-node's RegionIN865ApplyDrOffset. RadioLib's table differs in five cells
  // (DR5/offset 7 and the FSK row); see README "Regions".
  rx1DataRate: (up: number, off: number) => Math.min(5, Math.max(0, up - (IN865_EFFECTIVE_OFFSET[off] ?? off))),
  rx1FrequencyHz: (f: number) => f,
});

// ---- RU864, EU433, CN779 -----------------------------------------------------------------

/** The EU868-like regions: EU868 data rates and payload sizes, RX1 = max(upDR − offset, DR0), one 1 % band. */
function euLike(name: 'RU864' | 'EU433' | 'CN779', section: string, p: {
  readonly channelsHz: readonly number[]; readonly rx2Hz: number; readonly maxEirpDbm: number; readonly maxTxPower: number; readonly band: readonly SubBand[];
}): Region {
  return Object.freeze({
    name,
    section,
    dataRates: EU_DR, // §2.x.3
    maxMacPayload: EU_M, // §2.x.6
    maxMacPayloadDwell: EU_M,
    maxMacPayloadRepeater: repeaterPayloads(EU_M),
    defaultChannels: channels0to5(p.channelsHz), // §2.x.2
    ...DELAYS,
    rx2: { frequencyHz: p.rx2Hz, dr: 0 }, // §2.x.7
    maxEirpDbm: p.maxEirpDbm,
    txPowerStepsDb: txPowerSteps(p.maxTxPower),
    dutyCycle: true,
    dutyCycleSubBands: p.band,
    lbt: undefined,
    txParamSetup: false,
    uplinkDwellTimeMs: undefined,
    maxRx1DrOffset: 5,
    rx1DataRate: rx1Subtract, // §2.x.7
    rx1FrequencyHz: (f: number) => f,
  });
}

/**
 * RU864-870 (RP002-1.0.4 §2.13): the EU868 data rates; default channels 868.9/869.1 MHz; RX2
 * 869.1 MHz DR0; max EIRP 16 dBm; 1 % duty cycle (one band, as LoRaMac-node's RU864_BAND0).
 *
 * @example
 * ```ts
 * import { RU864 } from '@outpost/lorawan';
 * RU864.rx2.frequencyHz; // 869100000
 * ```
 */
export const RU864 = euLike('RU864', '§2.13', {
  channelsHz: [868_900_000, 869_100_000], rx2Hz: 869_100_000, maxEirpDbm: 16, maxTxPower: 7,
  band: band('ru864', 864_000_000, 870_000_000, 0.01),
});

/**
 * EU433 (RP002-1.0.4 §2.7): the EU868 data rates; default channels 433.175/433.375/433.575 MHz;
 * RX2 434.665 MHz DR0; max EIRP 12.15 dBm; 1 % duty cycle on 433.05–434.79 MHz.
 *
 * @example
 * ```ts
 * import { EU433 } from '@outpost/lorawan';
 * EU433.maxEirpDbm; // 12.15
 * ```
 */
export const EU433 = euLike('EU433', '§2.7', {
  channelsHz: [433_175_000, 433_375_000, 433_575_000], rx2Hz: 434_665_000, maxEirpDbm: 12.15, maxTxPower: 5,
  band: band('eu433', 433_050_000, 434_790_000, 0.01),
});

/**
 * CN779-787 (RP002-1.0.4 §2.6): the EU868 data rates; default channels 779.5/779.7/779.9 MHz;
 * RX2 786 MHz DR0; max EIRP 12.15 dBm; 1 % duty cycle on 779–787 MHz.
 *
 * @example
 * ```ts
 * import { CN779 } from '@outpost/lorawan';
 * CN779.rx2.frequencyHz; // 786000000
 * ```
 */
export const CN779 = euLike('CN779', '§2.6', {
  channelsHz: [779_500_000, 779_700_000, 779_900_000], rx2Hz: 786_000_000, maxEirpDbm: 12.15, maxTxPower: 5,
  band: band('cn779', 779_000_000, 787_000_000, 0.01),
});
