// ADR suggestion: ChirpStack's default algorithm (chirpstack/internal/adr/default.rs):
// margin = max SNR of the last 20 uplinks − required SNR(DR) − installation margin;
// steps = trunc(margin / 3); positive steps raise the DR up to the max, then lower TX power
// (raise the TXPower index); negative steps raise TX power (lower the index) down to 0.
import { assertInt, assertNumber, assertObject, describe } from './bytes.js';
import { REQUIRED_SNR_DB } from './coverage.js';
import { assertRegion, dataRate, type Region } from './regions.js';

/** Input of {@link suggestAdr}. */
export interface AdrInput {
  readonly region: Region;
  /** Best SNR (over gateways) of each recent uplink, oldest first; the last `historySize` are used. */
  readonly snrHistory: readonly number[];
  readonly dataRate: number;
  /** TXPower index (0 = max power). */
  readonly txPowerIndex: number;
  /** Highest DR ADR may assign. Default: the highest 125 kHz LoRa DR of the region (EU868: 5). */
  readonly maxDataRate?: number;
  /** Highest TXPower index. Default: the region's last index. */
  readonly maxTxPowerIndex?: number;
  /** Default 10 dB. */
  readonly installationMarginDb?: number;
  /** Uplinks required before ADR acts. Default 20. */
  readonly historySize?: number;
}

/** Output of {@link suggestAdr}. */
export interface AdrSuggestion {
  readonly dataRate: number;
  readonly txPowerIndex: number;
  /** Whether this differs from the input (send a LinkADRReq). */
  readonly changed: boolean;
  /** Undefined while the history is too short. */
  readonly marginDb: number | undefined;
  readonly steps: number;
}

/**
 * Suggests a data rate and TX power index from recent uplink SNRs (ChirpStack default ADR).
 *
 * @example
 * ```ts
 * import { EU868, suggestAdr } from '@outpost/lorawan';
 * const s = suggestAdr({ region: EU868, snrHistory: Array(20).fill(5), dataRate: 0, txPowerIndex: 0 });
 * // margin = 5 − (−20) − 10 = 15 dB → 5 steps: DR0 → DR5
 * s.dataRate; // 5
 * ```
 */
export function suggestAdr(input: AdrInput): AdrSuggestion {
  assertObject(input, 'input');
  const { region } = input;
  assertRegion(region);
  if (!Array.isArray(input.snrHistory)) throw new TypeError(`snrHistory: expected an array, got ${describe(input.snrHistory)}`);
  for (const [i, v] of (input.snrHistory as readonly number[]).entries()) assertNumber(v, `snrHistory[${i}]`, -50, 50);
  const d = dataRate(region, input.dataRate);
  assertInt(input.txPowerIndex, 'txPowerIndex', 0, region.txPowerStepsDb.length - 1);
  let defaultMax = 0;
  for (const r of region.dataRates) if (r !== undefined && r.modulation === 'LORA' && r.bandwidthHz === 125_000 && r.dr > defaultMax) defaultMax = r.dr;
  const maxDr = input.maxDataRate ?? defaultMax;
  assertInt(maxDr, 'maxDataRate', 0, 15);
  const maxTx = input.maxTxPowerIndex ?? region.txPowerStepsDb.length - 1;
  assertInt(maxTx, 'maxTxPowerIndex', 0, region.txPowerStepsDb.length - 1);
  const installation = input.installationMarginDb ?? 10;
  assertNumber(installation, 'installationMarginDb');
  const historySize = input.historySize ?? 20;
  assertInt(historySize, 'historySize', 1, 1000);
  const unchanged = { dataRate: input.dataRate, txPowerIndex: input.txPowerIndex, changed: false };
  if (input.snrHistory.length < historySize || d.modulation !== 'LORA') return { ...unchanged, marginDb: undefined, steps: 0 };
  const recent = input.snrHistory.slice(-historySize);
  const margin = Math.max(...recent) - (REQUIRED_SNR_DB[d.spreadingFactor] as number) - installation;
  const steps = Math.trunc(margin / 3);
  let dr = input.dataRate;
  let tx = input.txPowerIndex;
  let n = steps;
  while (n > 0) {
    if (dr < maxDr) dr++;
    else if (tx < maxTx) tx++;
    else break;
    n--;
  }
  while (n < 0 && tx > 0) {
    tx--;
    n++;
  }
  return { dataRate: dr, txPowerIndex: tx, changed: dr !== input.dataRate || tx !== input.txPowerIndex, marginDb: margin, steps };
}
