// Uplink scheduler: picks a channel whose sub-band has duty-cycle credit (LoRaMac-node
// RegionNextChannel semantics), otherwise reports when the next transmission is allowed.
import { assertInt, assertNumber, assertObject, describe } from './bytes.js';
import { DutyCycleAccountant } from './duty-cycle.js';
import { LoRaWANError } from './errors.js';
import { airtimeForDataRate, assertRegion, EU868, maxAppPayload, type Channel, type Region } from './regions.js';

/** An uplink waiting for the radio. */
export interface QueuedUplink {
  /** Caller's handle, returned in the decision. */
  readonly id: string | number;
  /** PHYPayload length in bytes (FRMPayload + 13 without FOpts). */
  readonly payloadBytes: number;
  /** Data rate index of the region. */
  readonly dataRate: number;
  /** A join-request (subject to the join back-off). Default false. */
  readonly join?: boolean;
}

/** What the scheduler decided at `now`. */
export type ScheduleDecision =
  | { readonly kind: 'transmit'; readonly uplink: QueuedUplink; readonly channel: Channel; readonly airtimeMs: number; readonly at: number }
  | { readonly kind: 'wait'; readonly uplink: QueuedUplink; readonly until: number }
  | { readonly kind: 'idle' };

/** Options of {@link TransmitScheduler}. */
export interface SchedulerOptions {
  /** Default {@link EU868}. */
  readonly region?: Region;
  /** Enabled uplink channels. Default `region.defaultChannels`. */
  readonly channels?: readonly Channel[];
  /** Duty-cycle accountant; default a new time-credit accountant when the region has a duty cycle. */
  readonly accountant?: DutyCycleAccountant;
  /** Uplink dwell-time limit in ms, or false for none. Default `region.uplinkDwellTimeMs` (US915: 400). */
  readonly dwellTimeMs?: number | false;
  /** Let a later uplink go first when the head of the queue must wait. Default false (strict FIFO). */
  readonly reorder?: boolean;
  /** Maximum queued uplinks. Default 10,000. */
  readonly maxQueue?: number;
}

interface Entry {
  readonly uplink: QueuedUplink;
  readonly airtimeMs: number;
  channels: readonly Channel[];
}

/**
 * Transmit scheduler over a {@link DutyCycleAccountant}: FIFO queue of uplinks; on
 * {@link TransmitScheduler.next} it picks an enabled channel (round-robin) whose sub-band has
 * credit and records the transmission, or says when the next transmission is allowed.
 *
 * @example
 * ```ts
 * import { TransmitScheduler } from '@outpost/lorawan';
 * const s = new TransmitScheduler();
 * s.enqueue({ id: 1, payloadBytes: 64, dataRate: 0 });
 * const d = s.next(0);
 * d.kind; // 'transmit' (on 868.1 MHz, 2793.472 ms)
 * ```
 */
export class TransmitScheduler {
  readonly region: Region;
  readonly accountant: DutyCycleAccountant | undefined;
  private channels: readonly Channel[];
  private readonly dwellTimeMs: number | undefined;
  private readonly reorder: boolean;
  private readonly maxQueue: number;
  private queue: Entry[] = [];
  private head = 0;
  private cursor = 0;
  private radioFreeAt = -Infinity;
  /** Enabled channels per DR, shared by entries so a failed probe can be reused. */
  private byDr = new Map<number, readonly Channel[]>();

  constructor(options: SchedulerOptions = {}) {
    assertObject(options, 'options');
    this.region = options.region ?? EU868;
    assertRegion(this.region);
    this.accountant = options.accountant ?? (this.region.dutyCycle ? new DutyCycleAccountant(this.region.dutyCycleSubBands === undefined ? {} : { subBands: this.region.dutyCycleSubBands }) : undefined);
    if (this.accountant !== undefined && !(this.accountant instanceof DutyCycleAccountant)) {
      throw new TypeError(`accountant: expected a DutyCycleAccountant, got ${describe(this.accountant)}`);
    }
    this.channels = [];
    this.setChannels(options.channels ?? this.region.defaultChannels);
    const dwell = options.dwellTimeMs ?? this.region.uplinkDwellTimeMs ?? false;
    if (dwell !== false) assertNumber(dwell, 'dwellTimeMs', 1);
    this.dwellTimeMs = dwell === false ? undefined : dwell;
    this.reorder = options.reorder ?? false;
    this.maxQueue = options.maxQueue ?? 10_000;
    assertInt(this.maxQueue, 'maxQueue', 1, 2 ** 31);
  }

  /** Replaces the enabled channel list (e.g. after LinkADRReq / NewChannelReq). */
  setChannels(channels: readonly Channel[]): void {
    if (!Array.isArray(channels)) throw new TypeError(`channels: expected an array, got ${describe(channels)}`);
    for (const [i, c] of (channels as readonly Channel[]).entries()) {
      assertObject(c, `channels[${i}]`);
      assertNumber(c.frequencyHz, `channels[${i}].frequencyHz`, 1);
      assertInt(c.minDr, `channels[${i}].minDr`, 0, 15);
      assertInt(c.maxDr, `channels[${i}].maxDr`, c.minDr, 15);
    }
    this.channels = [...channels];
    this.byDr = new Map();
    for (const e of this.queue) e.channels = this.channelsFor(e.uplink.dataRate);
    this.cursor = 0;
  }

  /** Number of queued uplinks. */
  get size(): number {
    return this.queue.length - this.head;
  }

  /**
   * Queues an uplink.
   * @throws LoRaWANError `PAYLOAD_TOO_LARGE`, `DWELL_TIME_EXCEEDED`, `NO_CHANNEL`, `BUDGET_EXCEEDED` (queue full).
   */
  enqueue(uplink: QueuedUplink): void {
    assertObject(uplink, 'uplink');
    if (typeof uplink.id !== 'string' && typeof uplink.id !== 'number') {
      throw new TypeError(`uplink.id: expected a string or number, got ${describe(uplink.id)}`);
    }
    assertInt(uplink.payloadBytes, 'uplink.payloadBytes', 12, 255);
    assertInt(uplink.dataRate, 'uplink.dataRate', 0, 15);
    if (uplink.join !== undefined && typeof uplink.join !== 'boolean') throw new TypeError(`uplink.join: expected a boolean, got ${describe(uplink.join)}`);
    if (this.size >= this.maxQueue) throw new LoRaWANError('BUDGET_EXCEEDED', `queue full: ${this.maxQueue} uplinks already queued`);
    const maxPhy = maxAppPayload(this.region, uplink.dataRate, { dwellTime: this.dwellTimeMs !== undefined && this.region.txParamSetup }) + 13;
    if (uplink.payloadBytes > maxPhy) {
      throw new LoRaWANError('PAYLOAD_TOO_LARGE', `payloadBytes: ${uplink.payloadBytes} exceeds the ${maxPhy}-byte PHYPayload limit of ${this.region.name} DR${uplink.dataRate}`);
    }
    const airtimeMs = airtimeForDataRate(this.region, uplink.dataRate, uplink.payloadBytes);
    if (this.dwellTimeMs !== undefined) assertDwellTime(airtimeMs, this.dwellTimeMs);
    const channels = this.channelsFor(uplink.dataRate);
    if (channels.length === 0) throw new LoRaWANError('NO_CHANNEL', `no enabled channel accepts DR${uplink.dataRate}`);
    this.queue.push({ uplink, airtimeMs, channels });
  }

  /**
   * Decides at `now`: transmit the head uplink (recorded in the accountant and dequeued), or
   * wait until a time, or idle when the queue is empty.
   */
  next(now: number): ScheduleDecision {
    assertNumber(now, 'now');
    if (this.size === 0) return { kind: 'idle' };
    // One radio: the next transmission starts after the previous one ended.
    if (now < this.radioFreeAt) return { kind: 'wait', uplink: (this.queue[this.head] as Entry).uplink, until: this.radioFreeAt };
    let soonest = Infinity;
    let soonestEntry = this.queue[this.head] as Entry;
    const end = this.reorder ? this.queue.length : this.head + 1;
    // A budget that refuses an airtime refuses any longer one on the same channels, and no
    // earlier: skip those (keeps reorder scans cheap). Join-requests have their own back-off.
    const refused = new Map<readonly Channel[], number>();
    for (let qi = this.head; qi < end; qi++) {
      const e = this.queue[qi] as Entry;
      const isJoin = e.uplink.join === true;
      if (!isJoin && e.airtimeMs >= (refused.get(e.channels) ?? Infinity)) continue;
      const n = e.channels.length;
      const join = e.uplink.join === true ? { join: true } : {};
      for (let k = 0; k < n; k++) {
        const ch = e.channels[(this.cursor + k) % n] as Channel;
        const t = this.accountant === undefined ? now : this.accountant.nextTransmitTime(ch.frequencyHz, e.airtimeMs, now, join);
        if (t === now) {
          this.accountant?.record(ch.frequencyHz, e.airtimeMs, now, join);
          this.cursor = (this.cursor + k + 1) % n;
          this.radioFreeAt = now + e.airtimeMs;
          this.remove(qi);
          return { kind: 'transmit', uplink: e.uplink, channel: ch, airtimeMs: e.airtimeMs, at: now };
        }
        if (t < soonest) {
          soonest = t;
          soonestEntry = e;
        }
      }
      if (!isJoin) refused.set(e.channels, Math.min(e.airtimeMs, refused.get(e.channels) ?? Infinity));
    }
    return { kind: 'wait', uplink: soonestEntry.uplink, until: soonest };
  }

  private channelsFor(dr: number): readonly Channel[] {
    let c = this.byDr.get(dr);
    if (c === undefined) {
      c = this.channels.filter((ch) => dr >= ch.minDr && dr <= ch.maxDr);
      this.byDr.set(dr, c);
    }
    return c;
  }

  private remove(qi: number): void {
    if (qi === this.head) {
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
    } else {
      this.queue.splice(qi, 1);
    }
  }
}

/**
 * Enforces an uplink dwell-time limit (US915: 400 ms, FCC 15.247; AS923 with UplinkDwellTime = 1).
 *
 * @throws LoRaWANError `DWELL_TIME_EXCEEDED` when `airtimeMs` exceeds `limitMs`.
 * @example
 * ```ts
 * import { assertDwellTime } from '@outpost/lorawan';
 * assertDwellTime(370.688, 400); // ok: SF10/125 kHz, 24-byte PHYPayload
 * ```
 */
export function assertDwellTime(airtimeMs: number, limitMs = 400): void {
  assertNumber(airtimeMs, 'airtimeMs', 0);
  assertNumber(limitMs, 'limitMs', 0);
  if (airtimeMs > limitMs) {
    throw new LoRaWANError('DWELL_TIME_EXCEEDED', `dwell time: ${airtimeMs} ms on air exceeds the ${limitMs} ms limit; use a faster data rate or a shorter payload`);
  }
}
