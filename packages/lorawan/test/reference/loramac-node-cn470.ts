// CN470 tables transcribed from Semtech's LoRaMac-node (github.com/Lora-net/LoRaMac-node), the
// reference end-device stack, whose src/mac/region/RegionCN470*.{h,c} implement the RP002-1.0.1+
// channel plans. Each value names its macro or function; file and commit are given per group.
// Values as the sources state them: data rates [SF, bandwidth Hz] (SF 50 = FSK), payload sizes
// as N (0 = not allowed), frequencies in Hz.

export const LMN_CN470_COMMON = {
  file: 'src/mac/region/RegionCN470.h',
  commit: '243864e0fb44b6f255b69d8fe29d77aa0a67f0fd',
  // DataratesCN470 / BandwidthsCN470
  datarates: [[12, 125_000], [11, 125_000], [10, 125_000], [9, 125_000], [8, 125_000], [7, 125_000], [7, 500_000], [50, 0]],
  maxPayload: [0, 23, 86, 184, 242, 242, 242, 242], // MaxPayloadOfDatarateCN470
  // DatarateOffsetsCN470[uplinkDr 0–7][rx1DrOffset 0–5]
  rx1Dr: [
    [0, 0, 0, 0, 0, 0],
    [1, 1, 1, 1, 1, 1],
    [2, 1, 1, 1, 1, 1],
    [3, 2, 1, 1, 1, 1],
    [4, 3, 2, 1, 1, 1],
    [5, 4, 3, 2, 1, 1],
    [6, 5, 4, 3, 2, 1],
    [7, 6, 5, 4, 3, 2],
  ],
  txMinDr: 1, txMaxDr: 5, // CN470_TX_MIN_DATARATE / _MAX_
  maxRx1DrOffset: 5, // CN470_MAX_RX1_DR_OFFSET
  maxTxPowerIndex: 7, // CN470_MIN_TX_POWER = TX_POWER_7
  maxEirpDbm: 19.15, // CN470_DEFAULT_MAX_EIRP
  rx2Dr: 1, // CN470_RX_WND_2_DR
  dutyCycle: false, // CN470_DUTY_CYCLE_ENABLED 0
  // CN470_COMMON_JOIN_CHANNELS[].Frequency, in order
  joinChannels: [
    470_900_000, 472_500_000, 474_100_000, 475_700_000, 504_100_000, 505_700_000, 507_300_000, 508_900_000,
    479_900_000, 499_900_000,
    470_300_000, 472_300_000, 474_300_000, 476_300_000, 478_300_000,
    480_300_000, 482_300_000, 484_300_000, 486_300_000, 488_300_000,
  ],
} as const;

/** One plan: uplink channel groups as (first Hz, count), step 200 kHz, DR1–5; RX1 groups the same way. */
export interface LmnCn470Plan {
  readonly file: string;
  readonly commit: string;
  /** InitializeChannels: [first Hz, count] per upstream group. */
  readonly uplinkGroups: readonly (readonly [number, number])[];
  /** GetRx1Frequency: [first Hz, channels mapped] per downstream group; 26 MHz plans wrap at 24 (channel % 24). */
  readonly rx1Groups: readonly (readonly [number, number])[];
  readonly rx1Modulo?: number;
  /** RX2 of an ABP device (…_RX_WND_2_FREQ_ABP or …_RX_WND_2_FREQ). */
  readonly rx2AbpHz: number;
  /** …_RX_WND_2_FREQ_OTAA indexed by join channel index − first index of the plan (20 MHz plans). */
  readonly rx2OtaaHz?: readonly number[];
  readonly firstJoinIndex: number;
  /** LinkAdrChMaskUpdate: ChMaskCntl values that are 16-channel blocks, all-on, all-off; the rest RFU. */
  readonly chMaskBlocks: number;
  readonly chMaskAllOn: number;
  readonly chMaskAllOff: number;
}

const C = '00518c2be216120e1158e5c558e25b4fa773a0d5';

export const LMN_CN470_PLANS: Readonly<Record<'20MHz-A' | '20MHz-B' | '26MHz-A' | '26MHz-B', LmnCn470Plan>> = {
  '20MHz-A': {
    file: 'src/mac/region/RegionCN470A20.{h,c}', commit: C,
    uplinkGroups: [[470_300_000, 32], [503_500_000, 32]], // CN470_A20_FIRST_TX1_CHANNEL, _FIRST_TX2_CHANNEL
    rx1Groups: [[483_900_000, 32], [490_300_000, 32]], // CN470_A20_FIRST_RX_CHANNEL; 490300000 in GetRx1Frequency
    rx2AbpHz: 486_900_000, // CN470_A20_RX_WND_2_FREQ_ABP
    // CN470_A20_RX_WND_2_FREQ_OTAA as written (the seventh entry breaks the 1.6 MHz spacing: see the test)
    rx2OtaaHz: [485_300_000, 486_900_000, 488_500_000, 490_100_000, 491_700_000, 493_300_000, 494_000_000, 496_500_000],
    firstJoinIndex: 0,
    chMaskBlocks: 4, chMaskAllOn: 6, chMaskAllOff: 7, // RegionCN470A20LinkAdrChMaskUpdate (4, 5 RFU)
  },
  '20MHz-B': {
    file: 'src/mac/region/RegionCN470B20.{h,c}', commit: '158ac9d62df67cf839ecaa971a772cbc899c6fa4 (.h), 00518c2be216120e1158e5c558e25b4fa773a0d5 (.c)',
    uplinkGroups: [[476_900_000, 32], [496_900_000, 32]], // CN470_B20_FIRST_TX1/TX2_CHANNEL
    rx1Groups: [[476_900_000, 32], [496_900_000, 32]], // CN470_B20_FIRST_RX1/RX2_CHANNEL
    rx2AbpHz: 498_300_000, // CN470_B20_RX_WND_2_FREQ_ABP
    rx2OtaaHz: [478_300_000, 498_300_000], // CN470_B20_RX_WND_2_FREQ_OTAA[joinChannelIndex − 8]
    firstJoinIndex: 8,
    chMaskBlocks: 4, chMaskAllOn: 6, chMaskAllOff: 7, // same as A20
  },
  '26MHz-A': {
    file: 'src/mac/region/RegionCN470A26.{h,c}', commit: '158ac9d62df67cf839ecaa971a772cbc899c6fa4 (.h), 00518c2be216120e1158e5c558e25b4fa773a0d5 (.c)',
    uplinkGroups: [[470_300_000, 48]], // CN470_A26_FIRST_TX_CHANNEL … _LAST_TX_CHANNEL 479700000
    rx1Groups: [[490_100_000, 24]], rx1Modulo: 24, // CN470_A26_FIRST_RX_CHANNEL … _LAST_RX_CHANNEL 494700000
    rx2AbpHz: 492_500_000, // CN470_A26_RX_WND_2_FREQ
    firstJoinIndex: 10,
    chMaskBlocks: 3, chMaskAllOn: 3, chMaskAllOff: 4, // RegionCN470A26LinkAdrChMaskUpdate (5–7 RFU)
  },
  '26MHz-B': {
    file: 'src/mac/region/RegionCN470B26.{h,c}', commit: C,
    uplinkGroups: [[480_300_000, 48]], // CN470_B26_FIRST_TX_CHANNEL … _LAST_TX_CHANNEL 489700000
    rx1Groups: [[500_100_000, 24]], rx1Modulo: 24, // CN470_B26_FIRST_RX_CHANNEL … _LAST_RX_CHANNEL 504700000
    rx2AbpHz: 502_500_000, // CN470_B26_RX_WND_2_FREQ
    firstJoinIndex: 15,
    chMaskBlocks: 3, chMaskAllOn: 3, chMaskAllOff: 4, // same as A26
  },
};
