// Fixed-plan regions of RP002-1.0.4: US902-928 (§2.5) and AU915-928 (§2.8). 64 + 8 uplink
// channels, 8 downlink channels, CFList type 1, ChMaskCntl per §2.5.5 / §2.8.5 (link-adr.ts).
// CN470-510 (§2.9, four channel plans) is in cn470.ts.
import type { DataRate, Region } from '../regions.js';
import { DR0_5_125, fixedPlanChannels, fixedPlanRx1Frequency, lora, txPowerSteps } from './common.js';

const DELAYS = { rx1DelayMs: 1000, rx2DelayMs: 2000, joinAcceptDelay1Ms: 5000, joinAcceptDelay2Ms: 6000 } as const;

/** DR8–13 = SF12…SF7 / 500 kHz (downlink), US915 and AU915. */
const DOWN_500: readonly DataRate[] = [
  lora(8, 12, 500_000), lora(9, 11, 500_000), lora(10, 10, 500_000), lora(11, 9, 500_000), lora(12, 8, 500_000), lora(13, 7, 500_000),
];

/**
 * US902-928 (RP002-1.0.4 §2.5): DR0–3 = SF10…SF7/125 kHz, DR4 = SF8/500 kHz, DR8–13 = SF12…SF7/500 kHz
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
  section: '§2.5',
  dataRates: [
    lora(0, 10, 125_000), lora(1, 9, 125_000), lora(2, 8, 125_000), lora(3, 7, 125_000), lora(4, 8, 500_000),
    undefined, undefined, undefined, // DR5–6 LR-FHSS (not modelled), DR7 RFU
    ...DOWN_500,
  ],
  // §2.5.6 (not repeater compatible)
  maxMacPayload: [19, 61, 133, 250, 250, undefined, undefined, undefined, 61, 137, 250, 250, 250, 250],
  maxMacPayloadDwell: [19, 61, 133, 250, 250, undefined, undefined, undefined, 61, 137, 250, 250, 250, 250],
  maxMacPayloadRepeater: undefined, // not modelled
  defaultChannels: fixedPlanChannels(902_300_000, 3, 903_000_000, 4), // §2.5.2
  ...DELAYS,
  rx2: { frequencyHz: 923_300_000, dr: 8 },
  maxEirpDbm: 30,
  txPowerStepsDb: txPowerSteps(14),
  dutyCycle: false,
  dutyCycleSubBands: undefined,
  lbt: undefined,
  txParamSetup: false,
  uplinkDwellTimeMs: 400,
  maxRx1DrOffset: 3,
  // §2.5.7: DR0→10/9/8/8 … DR4→13/13/12/11
  rx1DataRate: (up: number, off: number) => Math.min(13, Math.max(8, 10 + Math.min(up, 4) - off)),
  rx1FrequencyHz: fixedPlanRx1Frequency(902_300_000, 903_000_000),
});

/**
 * AU915-928 (RP002-1.0.4 §2.8): DR0–5 = SF12…SF7/125 kHz, DR6 = SF8/500 kHz, DR8–13 = SF12…SF7/500 kHz
 * (downlink); 64 channels at 915.2 + 0.2·n MHz (DR0–5) and 8 at 915.9 + 1.6·n MHz (DR6); RX1 on
 * 923.3 + 0.6·(ch mod 8) MHz; RX2 923.3 MHz DR8; max EIRP 30 dBm; TxParamSetupReq with the
 * UplinkDwellTime tables, and a 400 ms uplink dwell limit by default (as LoRaMac-node and RadioLib
 * start). The FCC two-channel rule of US915 does not apply.
 *
 * @example
 * ```ts
 * import { AU915 } from '@outpost/lorawan';
 * AU915.rx1DataRate(6, 0); // 13
 * AU915.maxMacPayloadDwell[2]; // 19
 * ```
 */
export const AU915: Region = Object.freeze({
  name: 'AU915',
  section: '§2.8',
  dataRates: [...DR0_5_125, lora(6, 8, 500_000), undefined /* DR7 LR-FHSS, not modelled */, ...DOWN_500], // §2.8.3
  // §2.8.6, UplinkDwellTime = 0 / 1 (not repeater compatible)
  maxMacPayload: [59, 59, 59, 123, 250, 250, 250, undefined, 61, 137, 250, 250, 250, 250],
  maxMacPayloadDwell: [undefined, undefined, 19, 61, 133, 250, 250, undefined, 61, 137, 250, 250, 250, 250],
  maxMacPayloadRepeater: undefined, // not modelled
  defaultChannels: fixedPlanChannels(915_200_000, 5, 915_900_000, 6), // §2.8.2
  ...DELAYS,
  rx2: { frequencyHz: 923_300_000, dr: 8 }, // §2.8.7
  maxEirpDbm: 30, // §2.8.3
  txPowerStepsDb: txPowerSteps(14),
  dutyCycle: false,
  dutyCycleSubBands: undefined,
  lbt: undefined,
  txParamSetup: true,
  uplinkDwellTimeMs: 400,
  maxRx1DrOffset: 5,
  // §2.8.7: DR0→8 for every offset … DR6→13/13/12/11/10/9 (= LoRaMac-node's DatarateOffsetsAU915)
  rx1DataRate: (up: number, off: number) => Math.min(13, Math.max(8, 8 + Math.min(up, 6) - off)),
  rx1FrequencyHz: fixedPlanRx1Frequency(915_200_000, 915_900_000),
});
