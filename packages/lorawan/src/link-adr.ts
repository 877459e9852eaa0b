// The channel plan a device holds after a block of LinkADRReq commands: LoRaWAN L2 1.0.4 §5.3
// (a block of contiguous LinkADRReq is processed as one: channel masks in order, DataRate,
// TXPower and NbTrans from the last) and the ChMaskCntl table of each region (RP002-1.0.4
// §2.4.5 EU868-style, §2.5.5 US915, §2.8.5 AU915, §2.9.5 CN470). A request that fails any check changes nothing.
import { assertInt, describe } from './bytes.js';
import { assertRegion, type Channel, type Region } from './regions.js';

/** One LinkADRReq (as `decodeMacCommands` returns it). */
export interface LinkAdrReq {
  readonly dataRate: number;
  readonly txPower: number;
  readonly chMask: number;
  readonly chMaskCntl: number;
  readonly nbTrans: number;
}

/** A device's channel plan: the channels it has (with indexes) and those enabled. */
export interface ChannelPlan {
  readonly region: Region;
  readonly channels: readonly (Channel & { readonly index: number })[];
  readonly enabled: readonly number[];
}

/** The answer a device gives (LinkADRAns) and the plan it then holds. */
export interface LinkAdrOutcome {
  readonly channelMaskAck: boolean;
  readonly dataRateAck: boolean;
  readonly powerAck: boolean;
  /** The new plan when all three are acknowledged, else the old one. */
  readonly plan: ChannelPlan;
  /** Applied DataRate, TXPower and NbTrans (15 keeps the current value; NbTrans 0 means 1). */
  readonly dataRate: number | undefined;
  readonly txPower: number | undefined;
  readonly nbTrans: number;
}

function fixedPlan(region: Region): boolean {
  return region.defaultChannels.length > 16;
}

/** CN470 (§2.9): 96 mask bits (ChMask0–5), of which a plan defines 64 (20 MHz) or 48 (26 MHz) channels. */
function cn470(region: Region): boolean {
  return region.name.startsWith('CN470');
}

/**
 * RP002-1.0.4 §2.9.5 (as LoRaMac-node's RegionCN470{A20,A26}LinkAdrChMaskUpdate): 20 MHz plans
 * 0–3 = 16-channel blocks, 4–5 RFU, 6 = all 64 on, 7 = all off; 26 MHz plans 0–2 = blocks,
 * 3 = all 48 on, 4 = all off, 5–7 RFU.
 */
function applyCn470Mask(region: Region, on: boolean[], chMask: number, chMaskCntl: number): boolean {
  const blocks = region.defaultChannels.length / 16; // 4 (20 MHz) or 3 (26 MHz)
  if (chMaskCntl < blocks) {
    for (let i = 0; i < 16; i++) on[16 * chMaskCntl + i] = (chMask & (1 << i)) !== 0;
    return true;
  }
  const allOn = blocks === 4 ? 6 : 3;
  if (chMaskCntl !== allOn && chMaskCntl !== allOn + 1) return false;
  for (let i = 0; i < on.length; i++) on[i] = chMaskCntl === allOn && i < 16 * blocks;
  return true;
}

/** Applies one mask command to a 72-bit (fixed) or 16-bit (dynamic) enable set; false = RFU. */
function applyMask(region: Region, on: boolean[], req: LinkAdrReq, defined: ReadonlySet<number>): boolean {
  const { chMask, chMaskCntl } = req;
  const bit = (i: number): boolean => (chMask & (1 << i)) !== 0;
  if (!fixedPlan(region)) {
    // RP002 §2.4.5: 0 = ChMask applies to channels 0–15, 6 = all channels the device has on, others RFU.
    if (chMaskCntl === 0) { for (let i = 0; i < 16; i++) on[i] = bit(i); return true; }
    if (chMaskCntl === 6) { for (let i = 0; i < 16; i++) on[i] = defined.has(i); return true; } // all *defined* channels
    return false;
  }
  if (cn470(region)) return applyCn470Mask(region, on, chMask, chMaskCntl);
  // RP002 §2.5.5 (US915) and §2.8.5 (AU915): 0–3 = 16-channel blocks, 4 = channels 64–71, 5 = ChMask bits 0–7 select
  // 8-channel sub-bands with their 500 kHz channel, 6/7 = all 125 kHz on/off and ChMask on 64–71.
  if (chMaskCntl <= 4) {
    const n = chMaskCntl === 4 ? 8 : 16;
    for (let i = 0; i < n; i++) on[16 * chMaskCntl + i] = bit(i);
    return true;
  }
  if (chMaskCntl === 5) {
    for (let b = 0; b < 8; b++) {
      for (let i = 0; i < 8; i++) on[8 * b + i] = bit(b);
      on[64 + b] = bit(b);
    }
    return true;
  }
  for (let i = 0; i < 64; i++) on[i] = chMaskCntl === 6;
  for (let i = 0; i < 8; i++) on[64 + i] = bit(i);
  return true;
}

function assertReq(r: unknown, i: number): asserts r is LinkAdrReq {
  if (typeof r !== 'object' || r === null) throw new TypeError(`reqs[${i}]: expected a LinkADRReq, got ${describe(r)}`);
  const o = r as Record<string, unknown>;
  assertInt(o['dataRate'], `reqs[${i}].dataRate`, 0, 15);
  assertInt(o['txPower'], `reqs[${i}].txPower`, 0, 15);
  assertInt(o['chMask'], `reqs[${i}].chMask`, 0, 0xffff);
  assertInt(o['chMaskCntl'], `reqs[${i}].chMaskCntl`, 0, 7);
  assertInt(o['nbTrans'], `reqs[${i}].nbTrans`, 0, 15);
}

/**
 * Processes a block of LinkADRReq commands as a device does: the channel masks in order, then
 * the last command's DataRate, TXPower and NbTrans. The channel mask is refused (NACK) for an
 * RFU ChMaskCntl in the last command, a mask that enables a channel the device does not have,
 * no channel left enabled, or (US915) fewer than two 125 kHz channels for a DR below DR4
 * (FCC 15.247, as LoRaMac-node checks). The data rate is refused when no enabled channel
 * carries it; the power when the region has no such TXPower. Nothing changes unless all
 * three are acknowledged.
 *
 * @throws TypeError / RangeError for a malformed plan or request.
 * @example
 * ```ts
 * import { US915, applyLinkAdrReqs, channelsAfterJoin } from '@outpost/lorawan';
 * const channels = channelsAfterJoin(US915);
 * const plan = { region: US915, channels, enabled: channels.map((c) => c.index) };
 * const r = applyLinkAdrReqs(plan, [
 *   { chMaskCntl: 7, chMask: 0, dataRate: 3, txPower: 0, nbTrans: 1 },
 *   { chMaskCntl: 0, chMask: 0xff00, dataRate: 3, txPower: 0, nbTrans: 1 },
 * ]);
 * r.channelMaskAck; // true
 * r.plan.enabled;   // [8, 9, 10, 11, 12, 13, 14, 15]
 * ```
 */
export function applyLinkAdrReqs(plan: ChannelPlan, reqs: readonly LinkAdrReq[]): LinkAdrOutcome {
  if (typeof plan !== 'object' || plan === null) throw new TypeError(`plan: expected { region, channels, enabled }, got ${describe(plan)}`);
  assertRegion(plan.region);
  if (!Array.isArray(plan.channels) || !Array.isArray(plan.enabled)) throw new TypeError('plan: channels and enabled must be arrays');
  if (!Array.isArray(reqs) || reqs.length === 0) throw new TypeError(`reqs: expected a non-empty array of LinkADRReq, got ${describe(reqs)}`);
  reqs.forEach(assertReq);
  const { region } = plan;
  const size = cn470(region) ? 96 : fixedPlan(region) ? 72 : 16;
  const defined = new Set(plan.channels.map((c) => c.index));
  const on = Array.from({ length: size }, (_, i) => plan.enabled.includes(i));
  let maskOk = true;
  for (const r of reqs) maskOk = applyMask(region, on, r, defined); // only the last command's ChMaskCntl status counts (§5.3)
  const enabled = on.flatMap((v, i) => (v ? [i] : []));
  if (enabled.length === 0 || enabled.some((i) => !defined.has(i))) maskOk = false;
  const last = reqs[reqs.length - 1] as LinkAdrReq;
  // US915 only (FCC 15.247, RP002-1.0.4 §2.5.5); AU915 (§2.8.5) has the same ChMaskCntl table without it.
  if (region.name === 'US915' && last.dataRate < 4 && last.dataRate !== 15 && enabled.filter((i) => i < 64).length < 2) maskOk = false;
  const channels = plan.channels.filter((c) => enabled.includes(c.index));
  const drOk = last.dataRate === 15 || (region.dataRates[last.dataRate] !== undefined && channels.some((c) => c.minDr <= last.dataRate && last.dataRate <= c.maxDr));
  const powerOk = last.txPower === 15 || last.txPower < region.txPowerStepsDb.length;
  const all = maskOk && drOk && powerOk;
  return {
    channelMaskAck: maskOk,
    dataRateAck: drOk,
    powerAck: powerOk,
    plan: all ? { region, channels: plan.channels, enabled } : plan,
    dataRate: all && last.dataRate !== 15 ? last.dataRate : undefined,
    txPower: all && last.txPower !== 15 ? last.txPower : undefined,
    nbTrans: last.nbTrans === 0 ? 1 : last.nbTrans,
  };
}
