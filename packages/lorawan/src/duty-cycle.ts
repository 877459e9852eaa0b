// Duty-cycle accounting for a single end-device.
// ETSI EN 300 220-2 V3.2.1 Table 2 / ERC REC 70-03 Annex 1 sub-bands h1.3–h1.7, as used by
// LoRaWAN RP002-1.0.3 §2.4.3 (EU868). LoRaMac-node models: off-time per transmission
// (RegionCommonCalcBackOff, ≤ v4.4.x) and per-band time credits (RegionCommonUpdateBandTimeOff, v4.5+).
import { assertInt, assertNumber, assertObject, describe } from './bytes.js';
import { LoRaWANError } from './errors.js';

/** A regulatory sub-band: [minHz, maxHz) with its duty-cycle limit (0.01 = 1 %). */
export interface SubBand {
  readonly name: string;
  readonly minHz: number;
  readonly maxHz: number;
  readonly dutyCycle: number;
}

/**
 * EU868 sub-bands (ETSI EN 300 220, ERC REC 70-03): 863–865 MHz 0.1 %, 865–868 MHz 1 %,
 * 868.0–868.6 MHz 1 %, 868.7–869.2 MHz 0.1 %, 869.4–869.65 MHz 10 %, 869.7–870 MHz 1 %.
 * A channel belongs to the sub-band that contains its centre frequency.
 *
 * @example
 * ```ts
 * import { EU868_SUB_BANDS } from '@outpost/lorawan';
 * EU868_SUB_BANDS.find((b) => b.name === 'g1')?.dutyCycle; // 0.01
 * ```
 */
export const EU868_SUB_BANDS: readonly SubBand[] = Object.freeze([
  { name: 'g', minHz: 863_000_000, maxHz: 865_000_000, dutyCycle: 0.001 },
  { name: 'g0', minHz: 865_000_000, maxHz: 868_000_000, dutyCycle: 0.01 },
  { name: 'g1', minHz: 868_000_000, maxHz: 868_600_000, dutyCycle: 0.01 },
  { name: 'g2', minHz: 868_700_000, maxHz: 869_200_000, dutyCycle: 0.001 },
  { name: 'g3', minHz: 869_400_000, maxHz: 869_650_000, dutyCycle: 0.1 },
  { name: 'g4', minHz: 869_700_000, maxHz: 870_000_000, dutyCycle: 0.01 },
]);

/**
 * Duty-cycle model:
 * - `'time-credit'` (default): each band has one hour of credits; a transmission costs
 *   airtime/dc and its credits return exactly one hour after it started. Over any one-hour
 *   window the band's airtime never exceeds dc · 1 h (the ETSI observation period).
 * - `'off-time'`: LoRaMac-node ≤ v4.4 — after a transmission the band is off for
 *   airtime · (1/dc − 1) from the end of the transmission.
 * - `'token-bucket'`: LoRaMac-node v4.5+ exactly — credits refill continuously at 1 ms/ms up to
 *   3,600,000; this admits bursts of up to 2 · dc · 1 h in a sliding hour (see README).
 */
export type DutyCycleModel = 'time-credit' | 'off-time' | 'token-bucket';

/** Options of {@link DutyCycleAccountant}. */
export interface DutyCycleOptions {
  /** Default `'time-credit'`. */
  readonly model?: DutyCycleModel;
  /** Default {@link EU868_SUB_BANDS}. */
  readonly subBands?: readonly SubBand[];
  /** Observation window in ms. Default 3,600,000 (one hour). */
  readonly windowMs?: number;
}

/** Per-transmission options. */
export interface TransmitOptions {
  /** A join-request: also subject to the LoRaWAN 1.0.4 §7 join back-off. */
  readonly join?: boolean;
}

/** One sub-band's state as reported by {@link DutyCycleAccountant.usage}. */
export interface SubBandUsage {
  readonly band: SubBand;
  /** Airtime started in the last window (ms). */
  readonly usedMs: number;
  /** dc · window (ms). */
  readonly budgetMs: number;
}

interface Limiter {
  /** Earliest time ≥ now at which `airtimeMs` may start (Infinity if never). */
  earliest(airtimeMs: number, now: number): number;
  record(airtimeMs: number, now: number): void;
  used(now: number): number;
}

/** Sliding-window ledger: airtime started in (now − window, now] plus the new one ≤ dc · window. */
class WindowLimiter implements Limiter {
  private readonly times: number[] = [];
  private readonly costs: number[] = [];
  private head = 0;
  private sum = 0;
  readonly budget: number;
  constructor(readonly dc: number, readonly windowMs: number) {
    this.budget = dc * windowMs;
  }
  private prune(now: number): void {
    // Same expression as earliest() returns, so a transmission at that instant is admitted exactly.
    while (this.head < this.times.length && (this.times[this.head] as number) + this.windowMs <= now) {
      this.sum -= this.costs[this.head] as number;
      this.head++;
    }
    if (this.head === this.times.length) {
      this.sum = 0; // drop float residue
      this.times.length = 0;
      this.costs.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times.splice(0, this.head);
      this.costs.splice(0, this.head);
      this.head = 0;
    }
  }
  // Pure: may be asked about future instants, so it never prunes.
  earliest(airtimeMs: number, now: number): number {
    if (airtimeMs > this.budget) return Infinity;
    let sum = this.sum;
    let i = this.head;
    const n = this.times.length;
    while (i < n && (this.times[i] as number) + this.windowMs <= now) sum -= this.costs[i++] as number;
    if (i === n || sum + airtimeMs <= this.budget) return now;
    for (; i < n - 1; i++) {
      sum -= this.costs[i] as number;
      if (sum + airtimeMs <= this.budget) return (this.times[i] as number) + this.windowMs;
    }
    // An empty window admits any airtime ≤ budget.
    return (this.times[n - 1] as number) + this.windowMs;
  }
  record(airtimeMs: number, now: number): void {
    this.prune(now);
    this.times.push(now);
    this.costs.push(airtimeMs);
    this.sum += airtimeMs;
  }
  used(now: number): number {
    this.prune(now);
    return Math.max(0, this.sum);
  }
}

/** LoRaMac-node ≤ v4.4: band off for airtime·(1/dc − 1) after the end of each TX. */
class OffTimeLimiter implements Limiter {
  private readyAt = -Infinity;
  private readonly recent: WindowLimiter;
  constructor(readonly dc: number, windowMs: number) {
    this.recent = new WindowLimiter(1, windowMs);
  }
  earliest(_airtimeMs: number, now: number): number {
    return Math.max(now, this.readyAt);
  }
  record(airtimeMs: number, now: number): void {
    this.readyAt = now + airtimeMs / this.dc;
    this.recent.record(airtimeMs, now);
  }
  used(now: number): number {
    return this.recent.used(now);
  }
}

/** LoRaMac-node v4.5+: credits refill 1 ms per ms up to the window; a TX costs airtime/dc. */
class TokenBucketLimiter implements Limiter {
  private credits: number;
  private last = -Infinity;
  private readonly recent: WindowLimiter;
  constructor(readonly dc: number, readonly windowMs: number) {
    this.credits = windowMs;
    this.recent = new WindowLimiter(1, windowMs);
  }
  private refill(now: number): void {
    if (this.last !== -Infinity) this.credits = Math.min(this.windowMs, this.credits + (now - this.last));
    this.last = now;
  }
  earliest(airtimeMs: number, now: number): number {
    const cost = airtimeMs / this.dc;
    if (cost > this.windowMs) return Infinity;
    const credits = this.last === -Infinity ? this.credits : Math.min(this.windowMs, this.credits + (now - this.last));
    return credits >= cost ? now : now + (cost - credits);
  }
  record(airtimeMs: number, now: number): void {
    this.refill(now);
    this.credits -= airtimeMs / this.dc;
    this.recent.record(airtimeMs, now);
  }
  used(now: number): number {
    return this.recent.used(now);
  }
}

const HOUR = 3_600_000;

/**
 * LoRaWAN L2 1.0.4 §7 (retransmission back-off) for join-requests, counted from the first
 * join-request T0: at most 36 s in [T0, T0+1h), 36 s in [T0+1h, T0+11h), then 8.7 s per 24 h.
 */
class JoinBackoffLimiter implements Limiter {
  private t0: number | undefined;
  private usedA = 0;
  private usedB = 0;
  private readonly tail = new WindowLimiter(8_700 / (24 * HOUR), 24 * HOUR);
  earliest(airtimeMs: number, now: number): number {
    const t0 = this.t0 ?? now;
    if (now < t0 + HOUR && this.usedA + airtimeMs <= 36_000) return now;
    if (now < t0 + 11 * HOUR && this.usedB + airtimeMs <= 36_000) return Math.max(now, t0 + HOUR);
    return this.tail.earliest(airtimeMs, Math.max(now, t0 + 11 * HOUR));
  }
  record(airtimeMs: number, now: number): void {
    this.t0 ??= now;
    if (now < this.t0 + HOUR) this.usedA += airtimeMs;
    else if (now < this.t0 + 11 * HOUR) this.usedB += airtimeMs;
    else this.tail.record(airtimeMs, now);
  }
  used(now: number): number {
    return this.usedA + this.usedB + this.tail.used(now);
  }
  restart(): void {
    this.t0 = undefined;
    this.usedA = 0;
    this.usedB = 0;
  }
}

const MODELS: readonly DutyCycleModel[] = ['time-credit', 'off-time', 'token-bucket'];

/**
 * Per-device duty-cycle accountant: per sub-band limits, the aggregated duty cycle set by
 * DutyCycleReq, and the join back-off. Time is always an input (ms on any monotonic clock).
 *
 * @example
 * ```ts
 * import { DutyCycleAccountant } from '@outpost/lorawan';
 * const dc = new DutyCycleAccountant();            // EU868 sub-bands, time-credit model
 * dc.canTransmit(868_100_000, 1_482.752, 0);       // true
 * dc.record(868_100_000, 1_482.752, 0);
 * dc.nextTransmitTime(868_100_000, 36_000, 0);     // 3600000: the 1 % band has 34.5 s left this hour
 * ```
 */
export class DutyCycleAccountant {
  readonly model: DutyCycleModel;
  readonly subBands: readonly SubBand[];
  readonly windowMs: number;
  private readonly limiters: Limiter[];
  private aggregated: Limiter | undefined;
  private maxDCycle = 0;
  private readonly join = new JoinBackoffLimiter();
  private lastNow = -Infinity;

  constructor(options: DutyCycleOptions = {}) {
    assertObject(options, 'options');
    const model = options.model ?? 'time-credit';
    if (!MODELS.includes(model)) throw new RangeError(`model: expected 'time-credit', 'off-time' or 'token-bucket', got ${typeof model === 'string' ? `'${model}'` : describe(model)}`);
    this.model = model;
    this.windowMs = options.windowMs ?? HOUR;
    assertNumber(this.windowMs, 'windowMs', 1);
    const bands = options.subBands ?? EU868_SUB_BANDS;
    if (!Array.isArray(bands)) throw new TypeError(`subBands: expected an array, got ${describe(bands)}`);
    for (const [i, b] of (bands as readonly SubBand[]).entries()) {
      assertObject(b, `subBands[${i}]`);
      assertNumber(b.minHz, `subBands[${i}].minHz`, 0);
      assertNumber(b.maxHz, `subBands[${i}].maxHz`, b.minHz);
      assertNumber(b.dutyCycle, `subBands[${i}].dutyCycle`, Number.MIN_VALUE, 1);
    }
    this.subBands = bands;
    this.limiters = bands.map((b) => this.makeLimiter(b.dutyCycle));
  }

  private makeLimiter(dc: number): Limiter {
    if (this.model === 'off-time') return new OffTimeLimiter(dc, this.windowMs);
    if (this.model === 'token-bucket') return new TokenBucketLimiter(dc, this.windowMs);
    return new WindowLimiter(dc, this.windowMs);
  }

  /**
   * Sub-band containing `frequencyHz`.
   * @throws RangeError when no configured sub-band contains it.
   */
  subBandOf(frequencyHz: number): SubBand {
    return this.subBands[this.bandIndex(frequencyHz)] as SubBand;
  }

  private bandIndex(frequencyHz: number): number {
    assertNumber(frequencyHz, 'frequencyHz', 0);
    for (let i = 0; i < this.subBands.length; i++) {
      const b = this.subBands[i] as SubBand;
      if (frequencyHz >= b.minHz && frequencyHz < b.maxHz) return i;
    }
    throw new RangeError(`frequencyHz: ${frequencyHz} is not in any configured sub-band`);
  }

  /**
   * Applies DutyCycleReq (LoRaWAN L2 1.0.4 §5.3): aggregated duty cycle 1/2^MaxDCycle over all
   * sub-bands; 0 removes the aggregated limit. Resets the aggregated ledger.
   */
  setMaxDutyCycle(maxDCycle: number): void {
    assertInt(maxDCycle, 'maxDCycle', 0, 15);
    this.maxDCycle = maxDCycle;
    this.aggregated = maxDCycle === 0 ? undefined : this.makeLimiter(1 / 2 ** maxDCycle);
  }

  /** Current MaxDCycle (0 = no aggregated limit). */
  get maxDutyCycle(): number {
    return this.maxDCycle;
  }

  /** Restarts the join back-off (call after a device reset, LoRaWAN 1.0.4 §7). */
  restartJoinBackoff(): void {
    this.join.restart();
  }

  /** Whether a transmission of `airtimeMs` on `frequencyHz` may start at `now`. */
  canTransmit(frequencyHz: number, airtimeMs: number, now: number, options: TransmitOptions = {}): boolean {
    return this.nextTransmitTime(frequencyHz, airtimeMs, now, options) === now;
  }

  /**
   * Earliest time ≥ `now` at which a transmission of `airtimeMs` on `frequencyHz` may start,
   * or `Infinity` when the airtime alone exceeds a budget.
   */
  nextTransmitTime(frequencyHz: number, airtimeMs: number, now: number, options: TransmitOptions = {}): number {
    this.checkArgs(airtimeMs, now, options);
    const limiters = this.active(this.bandIndex(frequencyHz), options);
    let t = now;
    for (let round = 0; round < 64; round++) {
      let next = t;
      for (const l of limiters) next = Math.max(next, l.earliest(airtimeMs, t));
      if (next === t || next === Infinity) return next;
      t = next;
    }
    return t;
  }

  /**
   * Records a transmission that starts at `now`.
   * @throws LoRaWANError `DUTY_CYCLE_EXCEEDED` (with `retryAt`) when it is not allowed.
   */
  record(frequencyHz: number, airtimeMs: number, now: number, options: TransmitOptions = {}): void {
    const at = this.nextTransmitTime(frequencyHz, airtimeMs, now, options);
    if (at !== now) {
      const band = this.subBandOf(frequencyHz);
      throw new LoRaWANError(
        'DUTY_CYCLE_EXCEEDED',
        `duty cycle: ${airtimeMs} ms on ${frequencyHz} Hz (sub-band ${band.name}, ${band.dutyCycle * 100} %) is not allowed before ${at}`,
        at === Infinity ? {} : { retryAt: at },
      );
    }
    for (const l of this.active(this.bandIndex(frequencyHz), options)) l.record(airtimeMs, now);
    this.lastNow = now;
  }

  /** Airtime used per sub-band in the window ending at `now`. */
  usage(now: number): readonly SubBandUsage[] {
    this.checkNow(now);
    return this.subBands.map((band, i) => ({
      band,
      usedMs: (this.limiters[i] as Limiter).used(now),
      budgetMs: band.dutyCycle * this.windowMs,
    }));
  }

  private active(i: number, options: TransmitOptions): Limiter[] {
    const l: Limiter[] = [this.limiters[i] as Limiter];
    if (this.aggregated !== undefined) l.push(this.aggregated);
    if (options.join === true) l.push(this.join);
    return l;
  }

  private checkNow(now: number): void {
    assertNumber(now, 'now');
    if (now < this.lastNow) throw new RangeError(`now: time went backwards (${now} < ${this.lastNow})`);
  }

  private checkArgs(airtimeMs: number, now: number, options: TransmitOptions): void {
    assertNumber(airtimeMs, 'airtimeMs', 0);
    this.checkNow(now);
    assertObject(options, 'options');
  }
}

/**
 * Join-request duty cycle of LoRaWAN L2 1.0.4 §7 at `elapsedMs` after the first join-request:
 * 0.01 in the first hour, 0.001 up to 11 h, 0.0001 after.
 *
 * @example
 * ```ts
 * import { joinDutyCycle } from '@outpost/lorawan';
 * joinDutyCycle(30 * 60_000); // 0.01
 * ```
 */
export function joinDutyCycle(elapsedMs: number): number {
  assertNumber(elapsedMs, 'elapsedMs', 0);
  if (elapsedMs < HOUR) return 0.01;
  if (elapsedMs < 11 * HOUR) return 0.001;
  return 0.0001;
}

/**
 * How many transmissions of `airtimeMs` a duty cycle allows per hour: ⌊dc · 3,600,000 / airtime⌋.
 *
 * @example
 * ```ts
 * import { uplinksPerHour } from '@outpost/lorawan';
 * uplinksPerHour(0.01, 2465.792); // 14
 * ```
 */
export function uplinksPerHour(dutyCycle: number, airtimeMs: number): number {
  assertNumber(dutyCycle, 'dutyCycle', Number.MIN_VALUE, 1);
  assertNumber(airtimeMs, 'airtimeMs', Number.MIN_VALUE);
  return Math.floor((dutyCycle * HOUR) / airtimeMs + 1e-9);
}
