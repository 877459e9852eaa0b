// Sigfox message budget (RC1, Platinum subscription): 140 uplinks of ≤ 12 bytes and 4 downlinks
// of ≤ 8 bytes per day, counted over a rolling 24 h window. Time is an input.
import { assertInt, assertNumber, assertObject } from './bytes.js';
import { LoRaWANError } from './errors.js';

/** Options of {@link SigfoxBudget}. */
export interface SigfoxBudgetOptions {
  /** Default 140. */
  readonly uplinksPerDay?: number;
  /** Default 4. */
  readonly downlinksPerDay?: number;
  /** Default 86,400,000 ms. */
  readonly windowMs?: number;
}

const DAY = 86_400_000;

/**
 * Sigfox message-budget accountant for one device.
 *
 * @example
 * ```ts
 * import { SigfoxBudget } from '@outpost/lorawan';
 * const b = new SigfoxBudget();
 * b.recordUplink(12, 0);
 * b.remainingUplinks(0); // 139
 * ```
 */
export class SigfoxBudget {
  readonly uplinksPerDay: number;
  readonly downlinksPerDay: number;
  readonly windowMs: number;
  private readonly up: number[] = [];
  private readonly down: number[] = [];

  constructor(options: SigfoxBudgetOptions = {}) {
    assertObject(options, 'options');
    this.uplinksPerDay = options.uplinksPerDay ?? 140;
    this.downlinksPerDay = options.downlinksPerDay ?? 4;
    this.windowMs = options.windowMs ?? DAY;
    assertInt(this.uplinksPerDay, 'uplinksPerDay', 0, 100_000);
    assertInt(this.downlinksPerDay, 'downlinksPerDay', 0, 100_000);
    assertNumber(this.windowMs, 'windowMs', 1);
  }

  private live(list: number[], now: number): number[] {
    assertNumber(now, 'now');
    while (list.length > 0 && (list[0] as number) + this.windowMs <= now) list.shift();
    return list;
  }

  /** Uplinks still allowed in the window ending at `now`. */
  remainingUplinks(now: number): number {
    return this.uplinksPerDay - this.live(this.up, now).length;
  }

  /** Downlinks still allowed in the window ending at `now`. */
  remainingDownlinks(now: number): number {
    return this.downlinksPerDay - this.live(this.down, now).length;
  }

  /** Whether an uplink of `bytes` (≤ 12) may be sent at `now`. */
  canSendUplink(bytes: number, now: number): boolean {
    assertInt(bytes, 'bytes', 0, 12);
    return this.remainingUplinks(now) > 0;
  }

  /** Earliest time ≥ `now` at which another uplink is allowed. */
  nextUplinkTime(now: number): number {
    const l = this.live(this.up, now);
    if (l.length < this.uplinksPerDay) return now;
    return (l[l.length - this.uplinksPerDay] as number) + this.windowMs;
  }

  /** Records an uplink. @throws LoRaWANError `BUDGET_EXCEEDED` (with `retryAt`); RangeError over 12 bytes. */
  recordUplink(bytes: number, now: number): void {
    if (!this.canSendUplink(bytes, now)) {
      throw new LoRaWANError('BUDGET_EXCEEDED', `Sigfox: ${this.uplinksPerDay} uplinks per day already sent`, { retryAt: this.nextUplinkTime(now) });
    }
    this.up.push(now);
  }

  /** Whether a downlink of `bytes` (≤ 8) may be requested at `now`. */
  canReceiveDownlink(bytes: number, now: number): boolean {
    assertInt(bytes, 'bytes', 0, 8);
    return this.remainingDownlinks(now) > 0;
  }

  /** Records a downlink. @throws LoRaWANError `BUDGET_EXCEEDED`; RangeError over 8 bytes. */
  recordDownlink(bytes: number, now: number): void {
    if (!this.canReceiveDownlink(bytes, now)) {
      const l = this.down;
      throw new LoRaWANError('BUDGET_EXCEEDED', `Sigfox: ${this.downlinksPerDay} downlinks per day already received`, { retryAt: (l[l.length - this.downlinksPerDay] as number) + this.windowMs });
    }
    this.down.push(now);
  }
}
