// CN470-510 (RP002-1.0.4 §2.9): four channel plans, chosen by the channel the device joined on
// (§2.9.2): 20 MHz antenna plan A and B (64 uplink channels in two groups) and 26 MHz plan A and B
// (48 uplink channels). Every plan shares the data rates (§2.9.3), payload sizes (§2.9.6), TX
// power and the RX1 DR table (§2.9.7); channels, the RX1 frequency rule and RX2 differ. Checked
// against LoRaMac-node's RegionCN470{,A20,B20,A26,B26}.{h,c} in test/regions-cn470-reference.test.ts.
import type { Channel, Region } from '../regions.js';
import { DR0_5_125, fsk, lora, txPowerSteps } from './common.js';

/** The four CN470 channel plans: antenna bandwidth (20 or 26 MHz) and type (A or B). */
export type Cn470Plan = '20MHz-A' | '20MHz-B' | '26MHz-A' | '26MHz-B';

const DELAYS = { rx1DelayMs: 1000, rx2DelayMs: 2000, joinAcceptDelay1Ms: 5000, joinAcceptDelay2Ms: 6000 } as const;
const STEP = 200_000;

/** `count` uplink channels from `startHz` every 200 kHz, DR1–5 (DR0 carries no uplink payload, §2.9.6). */
function group(startHz: number, count: number): Channel[] {
  return Array.from({ length: count }, (_, n) => ({ frequencyHz: startHz + STEP * n, minDr: 1, maxDr: 5 }));
}

/** Index of `f` in `channels`, or −1 (frequencies are exact multiples of 100 kHz). */
function indexOf(channels: readonly Channel[], f: number): number {
  return channels.findIndex((c) => c.frequencyHz === f);
}

interface PlanSpec {
  readonly name: 'CN470-20A' | 'CN470-20B' | 'CN470-26A' | 'CN470-26B';
  readonly channels: readonly Channel[];
  /** RX1 frequency of uplink channel index n. */
  readonly rx1: (n: number) => number;
  /** RX2 frequency of an ABP device (OTAA 20 MHz devices use the join channel's, see cn470JoinPlan). */
  readonly rx2Hz: number;
}

// §2.9.2 / §2.9.7 per plan (LoRaMac-node RegionCN470A20.c … B26.c InitializeChannels, GetRx1Frequency, GetRx2Frequency).
const SPECS: Readonly<Record<Cn470Plan, PlanSpec>> = {
  // Uplink 470.3–476.5 (ch 0–31) and 503.5–509.7 MHz (ch 32–63); RX1 483.9 + 0.2·n, 490.3 + 0.2·(n − 32).
  '20MHz-A': {
    name: 'CN470-20A', channels: [...group(470_300_000, 32), ...group(503_500_000, 32)],
    rx1: (n) => (n < 32 ? 483_900_000 + STEP * n : 490_300_000 + STEP * (n - 32)), rx2Hz: 486_900_000,
  },
  // Uplink 476.9–483.1 (ch 0–31) and 496.9–503.1 MHz (ch 32–63); RX1 on the uplink frequency.
  '20MHz-B': {
    name: 'CN470-20B', channels: [...group(476_900_000, 32), ...group(496_900_000, 32)],
    rx1: (n) => (n < 32 ? 476_900_000 + STEP * n : 496_900_000 + STEP * (n - 32)), rx2Hz: 498_300_000,
  },
  // Uplink 470.3–479.7 MHz (48 channels); RX1 490.1 + 0.2·(n mod 24); RX2 492.5 MHz.
  '26MHz-A': { name: 'CN470-26A', channels: group(470_300_000, 48), rx1: (n) => 490_100_000 + STEP * (n % 24), rx2Hz: 492_500_000 },
  // Uplink 480.3–489.7 MHz (48 channels); RX1 500.1 + 0.2·(n mod 24); RX2 502.5 MHz.
  '26MHz-B': { name: 'CN470-26B', channels: group(480_300_000, 48), rx1: (n) => 500_100_000 + STEP * (n % 24), rx2Hz: 502_500_000 },
};

function cn470(plan: Cn470Plan): Region {
  const s = SPECS[plan];
  const channels = Object.freeze(s.channels.map((c) => Object.freeze(c)));
  return Object.freeze({
    name: s.name,
    section: '§2.9',
    // §2.9.3: DR0–5 = SF12…SF7/125 kHz, DR6 = SF7/500 kHz, DR7 = FSK 50 kbps
    dataRates: [...DR0_5_125, lora(6, 7, 500_000), fsk(7)],
    // §2.9.6 (not repeater compatible): DR0 not defined for uplinks
    maxMacPayload: [undefined, 31, 94, 192, 250, 250, 250, 250],
    maxMacPayloadDwell: [undefined, 31, 94, 192, 250, 250, 250, 250],
    maxMacPayloadRepeater: undefined, // not modelled (LoRaMac-node has no such table for the RP002 plans)
    defaultChannels: channels,
    ...DELAYS,
    rx2: { frequencyHz: s.rx2Hz, dr: 1 }, // §2.9.7
    maxEirpDbm: 19.15, // §2.9.3
    txPowerStepsDb: txPowerSteps(7),
    dutyCycle: false,
    dutyCycleSubBands: undefined,
    lbt: undefined,
    txParamSetup: false,
    uplinkDwellTimeMs: undefined,
    maxRx1DrOffset: 5,
    // §2.9.7: RX1 DR = max(upDR − offset, DR1); DR0 answers on DR0 (= LoRaMac-node DatarateOffsetsCN470)
    rx1DataRate: (up: number, off: number) => (up === 0 ? 0 : Math.max(up - off, 1)),
    rx1FrequencyHz: (f: number) => {
      const n = indexOf(channels, f);
      if (n < 0) throw new RangeError(`rx1FrequencyHz: ${f} Hz is not an uplink channel of ${s.name}`);
      return s.rx1(n);
    },
  });
}

/**
 * CN470-510, 20 MHz antenna, plan A (RP002-1.0.4 §2.9): 64 uplink channels 470.3–476.5 and
 * 503.5–509.7 MHz (DR1–5); RX1 483.9 + 0.2·n MHz (n < 32) or 490.3 + 0.2·(n − 32) MHz; RX2 486.9 MHz
 * DR1 (ABP; an OTAA device uses its join channel's, {@link cn470JoinPlan}); max EIRP 19.15 dBm.
 * The default of `getRegion('CN470')`.
 *
 * @example
 * ```ts
 * import { CN470_20A } from '@outpost/lorawan';
 * CN470_20A.rx1FrequencyHz(503_500_000); // 490300000
 * ```
 */
export const CN470_20A = cn470('20MHz-A');

/**
 * CN470-510, 20 MHz antenna, plan B (§2.9): 64 uplink channels 476.9–483.1 and 496.9–503.1 MHz;
 * RX1 on the uplink frequency; RX2 498.3 MHz DR1 (ABP).
 *
 * @example
 * ```ts
 * import { CN470_20B } from '@outpost/lorawan';
 * CN470_20B.rx1FrequencyHz(476_900_000); // 476900000
 * ```
 */
export const CN470_20B = cn470('20MHz-B');

/**
 * CN470-510, 26 MHz antenna, plan A (§2.9): 48 uplink channels 470.3–479.7 MHz; RX1 490.1 +
 * 0.2·(n mod 24) MHz; RX2 492.5 MHz DR1.
 *
 * @example
 * ```ts
 * import { CN470_26A } from '@outpost/lorawan';
 * CN470_26A.defaultChannels.length; // 48
 * ```
 */
export const CN470_26A = cn470('26MHz-A');

/**
 * CN470-510, 26 MHz antenna, plan B (§2.9): 48 uplink channels 480.3–489.7 MHz; RX1 500.1 +
 * 0.2·(n mod 24) MHz; RX2 502.5 MHz DR1.
 *
 * @example
 * ```ts
 * import { CN470_26B } from '@outpost/lorawan';
 * CN470_26B.rx2.frequencyHz; // 502500000
 * ```
 */
export const CN470_26B = cn470('26MHz-B');

const PLANS: Readonly<Record<Cn470Plan, Region>> = { '20MHz-A': CN470_20A, '20MHz-B': CN470_20B, '26MHz-A': CN470_26A, '26MHz-B': CN470_26B };

/**
 * The CN470 region record of a channel plan.
 *
 * @throws RangeError for anything but '20MHz-A', '20MHz-B', '26MHz-A', '26MHz-B'.
 * @example
 * ```ts
 * import { cn470Plan } from '@outpost/lorawan';
 * cn470Plan('26MHz-B').name; // 'CN470-26B'
 * ```
 */
export function cn470Plan(plan: Cn470Plan): Region {
  const r = Object.hasOwn(PLANS, plan) ? PLANS[plan] : undefined;
  if (r === undefined) throw new RangeError(`cn470Plan: expected ${Object.keys(PLANS).join(', ')}, got ${String(plan)}`);
  return r;
}

// §2.9.2 join channels, in the order LoRaMac-node's CN470_COMMON_JOIN_CHANNELS lists them:
// 0–7 20 MHz plan A, 8–9 20 MHz plan B, 10–14 26 MHz plan A, 15–19 26 MHz plan B.
const JOIN_CHANNELS_HZ: readonly number[] = [
  470_900_000, 472_500_000, 474_100_000, 475_700_000, 504_100_000, 505_700_000, 507_300_000, 508_900_000,
  479_900_000, 499_900_000,
  470_300_000, 472_300_000, 474_300_000, 476_300_000, 478_300_000,
  480_300_000, 482_300_000, 484_300_000, 486_300_000, 488_300_000,
];

/** What a CN470 device learns from the channel its join-accept answered. */
export interface Cn470Join {
  readonly plan: Cn470Plan;
  readonly region: Region;
  /** Index 0–19 in the §2.9.2 join-channel list. */
  readonly joinChannelIndex: number;
  /** RX2 frequency of an OTAA device that joined there (20 MHz plans: per join channel). */
  readonly rx2FrequencyHz: number;
}

/**
 * The CN470 channel plan a device uses after joining on `joinFrequencyHz` (RP002-1.0.4 §2.9.2),
 * with its OTAA RX2 frequency (§2.9.7: 20 MHz plan A 485.3 + 1.6·i MHz for join channel i,
 * plan B 478.3 / 498.3 MHz; 26 MHz plans their fixed RX2).
 *
 * @throws TypeError for a non-number; RangeError for a frequency that is not a CN470 join channel.
 * @example
 * ```ts
 * import { cn470JoinPlan } from '@outpost/lorawan';
 * const j = cn470JoinPlan(499_900_000);
 * [j.plan, j.rx2FrequencyHz]; // ['20MHz-B', 498300000]
 * ```
 */
export function cn470JoinPlan(joinFrequencyHz: number): Cn470Join {
  if (typeof joinFrequencyHz !== 'number') throw new TypeError(`cn470JoinPlan: expected a frequency in Hz, got ${typeof joinFrequencyHz}`);
  const i = JOIN_CHANNELS_HZ.indexOf(joinFrequencyHz);
  if (i < 0) throw new RangeError(`cn470JoinPlan: ${joinFrequencyHz} Hz is not a CN470 join channel`);
  const plan: Cn470Plan = i < 8 ? '20MHz-A' : i < 10 ? '20MHz-B' : i < 15 ? '26MHz-A' : '26MHz-B';
  const region = PLANS[plan];
  const rx2FrequencyHz = plan === '20MHz-A' ? 485_300_000 + 1_600_000 * i : plan === '20MHz-B' ? (i === 8 ? 478_300_000 : 498_300_000) : region.rx2.frequencyHz;
  return Object.freeze({ plan, region, joinChannelIndex: i, rx2FrequencyHz });
}

/**
 * The CN470 join channels of §2.9.2 (index = join channel index), for tests and tools.
 *
 * @example
 * ```ts
 * import { CN470_JOIN_CHANNELS_HZ } from '@outpost/lorawan';
 * CN470_JOIN_CHANNELS_HZ.length; // 20
 * ```
 */
export const CN470_JOIN_CHANNELS_HZ: readonly number[] = Object.freeze([...JOIN_CHANNELS_HZ]);
