// Link coverage: LinkCheckAns on the device side (LoRaWAN L2 1.0.4 §5.2) and an estimator from
// uplink metadata (per-gateway RSSI/SNR) against the LoRa demodulation floor per SF.
import { assertInt, assertNumber, assertObject, describe } from './bytes.js';
import { assertRegion, type Region } from './regions.js';

/** Required demodulation SNR in dB per spreading factor (Semtech SX1276 datasheet Table 13). */
export const REQUIRED_SNR_DB: Readonly<Record<number, number>> = Object.freeze({ 7: -7.5, 8: -10, 9: -12.5, 10: -15, 11: -17.5, 12: -20 });

/** Coverage verdict. */
export type CoverageVerdict = 'good' | 'marginal' | 'none';

/** Verdict thresholds in dB of link margin (defaults: good ≥ 10 dB, marginal ≥ 0 dB). */
export interface CoverageThresholds {
  readonly goodMarginDb?: number;
  readonly marginalMarginDb?: number;
}

function verdictOf(margin: number | undefined, gateways: number, t: CoverageThresholds): CoverageVerdict {
  const good = t.goodMarginDb ?? 10;
  const marginal = t.marginalMarginDb ?? 0;
  assertNumber(good, 'goodMarginDb');
  assertNumber(marginal, 'marginalMarginDb', -Infinity, good);
  if (margin === undefined || gateways === 0 || margin < marginal) return 'none';
  return margin >= good ? 'good' : 'marginal';
}

/** Device-side coverage report from a LinkCheckAns. */
export interface LinkCheckReport {
  readonly marginDb: number;
  readonly gatewayCount: number;
  readonly verdict: CoverageVerdict;
}

/**
 * Coverage report from a LinkCheckAns (`margin`: dB above the demodulation floor at the best
 * gateway; `gwCnt`: gateways that received the LinkCheckReq). No answer at all means no coverage:
 * pass `undefined`.
 *
 * @example
 * ```ts
 * import { linkCheckReport } from '@outpost/lorawan';
 * linkCheckReport({ margin: 12, gwCnt: 2 }); // { marginDb: 12, gatewayCount: 2, verdict: 'good' }
 * ```
 */
export function linkCheckReport(answer: { readonly margin: number; readonly gwCnt: number } | undefined, thresholds: CoverageThresholds = {}): LinkCheckReport {
  if (answer === undefined) return { marginDb: 0, gatewayCount: 0, verdict: 'none' };
  assertObject(answer, 'answer');
  assertInt(answer.margin, 'margin', 0, 254);
  assertInt(answer.gwCnt, 'gwCnt', 0, 255);
  return { marginDb: answer.margin, gatewayCount: answer.gwCnt, verdict: verdictOf(answer.margin, answer.gwCnt, thresholds) };
}

/** One gateway's reception of an uplink. */
export interface GatewayReception {
  readonly gatewayId: string;
  readonly rssi: number;
  readonly snr: number;
}

/** One uplink's metadata. */
export interface UplinkMetadata {
  /** Spreading factor the uplink used (7 … 12). */
  readonly spreadingFactor: number;
  readonly gateways: readonly GatewayReception[];
}

/** Per-gateway summary in a {@link CoverageEstimate}. */
export interface GatewayCoverage {
  readonly gatewayId: string;
  /** Best SNR seen over the uplinks (dB). */
  readonly maxSnr: number;
  /** Mean RSSI (dBm). */
  readonly meanRssi: number;
  /** Uplinks this gateway received. */
  readonly received: number;
  /** maxSnr − required SNR at the SF used. */
  readonly marginDb: number;
}

/** Result of {@link estimateCoverage}. */
export interface CoverageEstimate {
  /** Best gateway's margin at the SF used (dB); undefined without receptions. */
  readonly marginDb: number | undefined;
  /** Gateways whose margin is ≥ 0 dB. */
  readonly gatewaysInRange: number;
  readonly gateways: readonly GatewayCoverage[];
  /**
   * Fastest data rate of the region (lowest SF) whose required SNR the best gateway still meets
   * with `marginalMarginDb` to spare; undefined when none does.
   */
  readonly fastestDataRate: number | undefined;
  readonly verdict: CoverageVerdict;
}

/**
 * Estimates coverage from uplink metadata: SNR margin against the floor for the SF used, gateways
 * in range, the fastest data rate that still closes the link (SNR is taken as independent of SF
 * at a fixed bandwidth), and a verdict (`good` ≥ 10 dB, `marginal` ≥ 0 dB, else `none`).
 *
 * @example
 * ```ts
 * import { EU868, estimateCoverage } from '@outpost/lorawan';
 * const e = estimateCoverage([{ spreadingFactor: 12, gateways: [{ gatewayId: 'gw1', rssi: -118, snr: -6 }] }], EU868);
 * e.marginDb;        // 14
 * e.fastestDataRate; // 5 (SF7 needs −7.5 dB)
 * e.verdict;         // 'good'
 * ```
 */
export function estimateCoverage(uplinks: readonly UplinkMetadata[], region: Region, thresholds: CoverageThresholds = {}): CoverageEstimate {
  if (!Array.isArray(uplinks)) throw new TypeError(`uplinks: expected an array, got ${describe(uplinks)}`);
  assertRegion(region);
  assertObject(thresholds, 'thresholds');
  const per = new Map<string, { maxSnr: number; rssiSum: number; n: number; sf: number }>();
  for (const [i, u] of (uplinks as readonly UplinkMetadata[]).entries()) {
    assertObject(u, `uplinks[${i}]`);
    assertInt(u.spreadingFactor, `uplinks[${i}].spreadingFactor`, 7, 12);
    if (!Array.isArray(u.gateways)) throw new TypeError(`uplinks[${i}].gateways: expected an array, got ${describe(u.gateways)}`);
    for (const [j, g] of (u.gateways as readonly GatewayReception[]).entries()) {
      assertObject(g, `uplinks[${i}].gateways[${j}]`);
      if (typeof g.gatewayId !== 'string') throw new TypeError(`uplinks[${i}].gateways[${j}].gatewayId: expected a string, got ${describe(g.gatewayId)}`);
      assertNumber(g.rssi, `uplinks[${i}].gateways[${j}].rssi`, -200, 50);
      assertNumber(g.snr, `uplinks[${i}].gateways[${j}].snr`, -50, 50);
      const p = per.get(g.gatewayId);
      // Margin is judged at the most robust SF seen with this SNR: keep the SF of the best SNR.
      if (p === undefined) per.set(g.gatewayId, { maxSnr: g.snr, rssiSum: g.rssi, n: 1, sf: u.spreadingFactor });
      else {
        if (g.snr > p.maxSnr) { p.maxSnr = g.snr; p.sf = u.spreadingFactor; }
        p.rssiSum += g.rssi;
        p.n++;
      }
    }
  }
  const gateways: GatewayCoverage[] = [...per.entries()].map(([gatewayId, p]) => ({
    gatewayId, maxSnr: p.maxSnr, meanRssi: p.rssiSum / p.n, received: p.n, marginDb: p.maxSnr - (REQUIRED_SNR_DB[p.sf] as number),
  })).sort((a, b) => b.marginDb - a.marginDb);
  const best = gateways[0];
  const marginDb = best?.marginDb;
  const floor = thresholds.marginalMarginDb ?? 0;
  let fastestDataRate: number | undefined;
  if (best !== undefined) {
    for (const d of region.dataRates) {
      if (d === undefined || d.modulation !== 'LORA' || d.bandwidthHz !== 125_000) continue;
      if (best.maxSnr - (REQUIRED_SNR_DB[d.spreadingFactor] as number) >= floor && (fastestDataRate === undefined || d.dr > fastestDataRate)) fastestDataRate = d.dr;
    }
  }
  const gatewaysInRange = gateways.filter((g) => g.marginDb >= 0).length;
  return { marginDb, gatewaysInRange, gateways, fastestDataRate, verdict: verdictOf(marginDb, gatewaysInRange, thresholds) };
}
