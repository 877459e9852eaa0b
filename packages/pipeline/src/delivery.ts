/**
 * Delivery to the sinks, with three outcomes per message (as Vector's end-to-end
 * acknowledgements): *delivered* — every sink made the points durable; *rejected* — a sink
 * refused them for good (`SINK_REJECTED`), so retrying cannot help; *errored* — any other sink
 * failure, which is transient: the points are held and written again when the sink is back,
 * never dead-lettered (unless `deadLetterAfterMs` is set). While a sink is down (or stalled:
 * no answer for `stallAfterMs`) the delivery says "held" to its flow listeners, and the MQTT
 * consumer stops taking messages; the broker keeps them in the persistent session.
 *
 * One probe per sink during an outage: the oldest held write is retried with a doubling delay
 * (from `retryDelayMs` up to `maxRetryDelayMs`); when it succeeds the sink is up and every other
 * held write goes out again. Stores are idempotent by key, so a write that was in fact durable
 * before the error is safe to repeat.
 */
import { assertClock, systemPipelineClock, type PipelineClock } from './clock.js';
import { PipelineError } from './errors.js';
import type { TelemetryPoint, TelemetrySink } from './types.js';
import { assertFunction, describe, intOption } from './validate.js';

/** Options of the delivery (`PipelineOptions.delivery`). */
export interface DeliveryOptions {
  /** Time for retries and the stall watchdog (default: the system clock). */
  readonly clock?: PipelineClock;
  /** First delay before retrying a sink that failed, ms (default 250); doubled per failure. */
  readonly retryDelayMs?: number;
  /** Longest delay between retries, ms (default 5 000). */
  readonly maxRetryDelayMs?: number;
  /**
   * Give up on a sink that has been down this long, ms: its held messages (and those that come
   * while it stays down) are dead-lettered as `SINK_FAILED` and acknowledged. Off by default:
   * an outage holds the stream, it does not drain it into the dead-letter sink.
   */
  readonly deadLetterAfterMs?: number;
  /**
   * A sink with writes outstanding and no write settled for this long, ms, counts as stalled
   * (a database that stopped answering): intake pauses until it answers (default 30 000; 0 =
   * off). Keep it above the sinks' batch age bounds.
   */
  readonly stallAfterMs?: number;
  /** Outage events (down, up, gave up). Must not throw (a throw is ignored). */
  readonly onEvent?: (event: DeliveryEvent) => void;
  /** Where the outage log lines go (default `console.warn`). */
  readonly log?: (line: string) => void;
}

/** What the delivery reports about a sink. */
export type DeliveryEvent =
  | { readonly type: 'sink-down'; readonly sink: string; readonly at: number; readonly stalled: boolean; readonly error: string }
  | { readonly type: 'sink-up'; readonly sink: string; readonly at: number; readonly outageMs: number; readonly retries: number }
  | { readonly type: 'gave-up'; readonly sink: string; readonly at: number; readonly outageMs: number; readonly messages: number };

/** Outage counters of one sink. */
export interface SinkOutageStats {
  /** The sink failed and its writes are held. */
  down: boolean;
  /** The sink has not answered for `stallAfterMs`. */
  stalled: boolean;
  /** How long the current outage has lasted, ms (0 when up). */
  outageMs: number;
  /** Outages so far (down or stalled). */
  outages: number;
  /** Writes held for this sink now. */
  held: number;
  /** Retries of held writes. */
  retries: number;
  /** Writes given up on (dead-lettered) after `deadLetterAfterMs`. */
  gaveUp: number;
}

/** Why a message could not be delivered to one sink (no verdict = durable). */
export interface DeliveryFailure {
  readonly sink: string;
  /** `SINK_REJECTED`: refused for good; `SINK_FAILED`: given up after `deadLetterAfterMs`. */
  readonly reason: 'SINK_REJECTED' | 'SINK_FAILED';
  readonly detail: string;
}

interface Held {
  readonly points: readonly TelemetryPoint[];
  readonly resolve: (f: DeliveryFailure | undefined) => void;
  readonly reject: (e: unknown) => void;
}

interface Settings {
  readonly clock: PipelineClock;
  readonly retryDelayMs: number;
  readonly maxRetryDelayMs: number;
  readonly deadLetterAfterMs: number | undefined;
  readonly stallAfterMs: number;
  readonly emit: (e: DeliveryEvent) => void;
  readonly log: (line: string) => void;
  readonly changed: () => void;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** One sink's state: up, down (holding), stalled; see the file comment. */
class SinkChannel {
  down = false;
  stalled = false;
  givenUp = false;
  private since = 0;
  private delay = 0;
  private timer: unknown;
  private watchdog: unknown;
  private held: Held[] = [];
  private probePoints: readonly TelemetryPoint[] = [];
  private outstanding = 0;
  private lastProgress = 0;
  private outageRetries = 0;
  private closed = false;
  readonly counts = { outages: 0, retries: 0, gaveUp: 0 };

  constructor(
    readonly sink: TelemetrySink,
    private readonly s: Settings,
  ) {}

  /** Whether this sink holds the stream (down and not given up, or stalled). */
  get holding(): boolean {
    return (this.down && !this.givenUp) || this.stalled;
  }

  stats(): SinkOutageStats {
    const out = this.down || this.stalled;
    return { down: this.down, stalled: this.stalled, outageMs: out ? this.s.clock.now() - this.since : 0, outages: this.counts.outages, held: this.held.length, retries: this.counts.retries, gaveUp: this.counts.gaveUp };
  }

  heldCount(): number {
    return this.held.length;
  }

  write(points: readonly TelemetryPoint[]): Promise<DeliveryFailure | undefined> {
    if (this.down) return this.hold(points);
    return this.attempt(points);
  }

  close(): void {
    this.closed = true;
    this.s.clock.clearTimeout(this.timer);
    this.s.clock.clearTimeout(this.watchdog);
    const err = new PipelineError('CLOSED', `delivery: closed while ${this.held.length} write(s) were held for ${this.sink.name}; not acknowledged, the broker redelivers them`);
    for (const h of this.held.splice(0)) h.reject(err);
  }

  private attempt(points: readonly TelemetryPoint[]): Promise<DeliveryFailure | undefined> {
    this.started();
    let p: Promise<void>;
    try {
      p = this.sink.write(points);
    } catch (e) {
      p = Promise.reject(e);
    }
    return p.then(
      () => {
        this.settled(true);
        return undefined;
      },
      (e: unknown) => {
        this.settled(false);
        if (e instanceof PipelineError && e.code === 'SINK_REJECTED') return { sink: this.sink.name, reason: 'SINK_REJECTED' as const, detail: `${this.sink.name}: ${e.message}` };
        if (!this.down) this.goDown(message(e), false);
        return this.hold(points);
      },
    );
  }

  private hold(points: readonly TelemetryPoint[]): Promise<DeliveryFailure | undefined> {
    if (this.closed) return Promise.reject(new PipelineError('CLOSED', `delivery: ${this.sink.name} is closed`));
    if (this.givenUp) {
      this.counts.gaveUp++;
      this.probePoints = points;
      return Promise.resolve(this.gaveUpFailure());
    }
    return new Promise((resolve, reject) => {
      this.held.push({ points, resolve, reject });
    });
  }

  private gaveUpFailure(): DeliveryFailure {
    return { sink: this.sink.name, reason: 'SINK_FAILED', detail: `${this.sink.name}: down for ${this.s.clock.now() - this.since} ms (deadLetterAfterMs ${String(this.s.deadLetterAfterMs)})` };
  }

  private goDown(error: string, stalled: boolean): void {
    const { clock } = this.s;
    if (!this.stalled) this.since = clock.now();
    if (!this.stalled) this.counts.outages++;
    this.stalled = stalled;
    if (!stalled) {
      this.down = true;
      this.delay = this.s.retryDelayMs;
      this.outageRetries = 0;
      this.schedule();
    }
    this.s.emit({ type: 'sink-down', sink: this.sink.name, at: clock.now(), stalled, error });
    this.s.log(`pipeline: sink ${this.sink.name} ${stalled ? 'stalled' : 'is down'} (${error}); holding its messages and pausing intake until it is back`);
    this.s.changed();
  }

  private goUp(): void {
    const { clock } = this.s;
    const outageMs = clock.now() - this.since;
    const wasGivenUp = this.givenUp;
    this.down = false;
    this.stalled = false;
    this.givenUp = false;
    this.s.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.s.emit({ type: 'sink-up', sink: this.sink.name, at: clock.now(), outageMs, retries: this.outageRetries });
    this.s.log(`pipeline: sink ${this.sink.name} is back after an outage of ${(outageMs / 1000).toFixed(1)} s (${this.outageRetries} retries${wasGivenUp ? '; messages were dead-lettered after deadLetterAfterMs' : ''}); resuming intake`);
    // Everything else that was held goes out again, in the order it came.
    for (const h of this.held.splice(0)) this.attempt(h.points).then(h.resolve, h.reject);
    this.s.changed();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = this.s.clock.setTimeout(() => {
      this.timer = undefined;
      void this.probe();
    }, this.delay);
  }

  /** Retries the oldest held write (or, after giving up, the last refused one). */
  private async probe(): Promise<void> {
    const { clock, deadLetterAfterMs } = this.s;
    if (!this.down || this.closed) return;
    if (!this.givenUp && deadLetterAfterMs !== undefined && clock.now() - this.since >= deadLetterAfterMs) this.giveUp();
    const head = this.held[0];
    const points = head?.points ?? this.probePoints;
    this.counts.retries++;
    this.outageRetries++;
    try {
      await this.sink.write(points);
    } catch (e) {
      if (this.closed) return;
      if (e instanceof PipelineError && e.code === 'SINK_REJECTED' && head !== undefined) {
        this.held.shift();
        head.resolve({ sink: this.sink.name, reason: 'SINK_REJECTED', detail: `${this.sink.name}: ${e.message}` });
      } else {
        this.delay = Math.min(this.delay * 2, this.s.maxRetryDelayMs);
      }
      this.schedule();
      return;
    }
    if (head !== undefined && this.held[0] === head) {
      this.held.shift();
      head.resolve(undefined);
    }
    this.goUp();
  }

  private giveUp(): void {
    const { clock } = this.s;
    this.givenUp = true;
    const held = this.held.splice(0);
    this.counts.gaveUp += held.length;
    const last = held.at(-1);
    if (last !== undefined) this.probePoints = last.points;
    const outageMs = clock.now() - this.since;
    this.s.emit({ type: 'gave-up', sink: this.sink.name, at: clock.now(), outageMs, messages: held.length });
    this.s.log(`pipeline: sink ${this.sink.name} down for ${(outageMs / 1000).toFixed(1)} s (deadLetterAfterMs): dead-lettering ${held.length} held message(s) and what comes while it stays down`);
    for (const h of held) h.resolve(this.gaveUpFailure());
    this.s.changed();
  }

  private started(): void {
    this.outstanding++;
    if (this.outstanding === 1) {
      this.lastProgress = this.s.clock.now();
      this.armWatchdog();
    }
  }

  private settled(ok: boolean): void {
    this.outstanding--;
    this.lastProgress = this.s.clock.now();
    if (ok && this.stalled && !this.down) {
      this.goUp();
    }
  }

  private armWatchdog(): void {
    const ms = this.s.stallAfterMs;
    if (ms === 0 || this.watchdog !== undefined || this.closed) return;
    this.watchdog = this.s.clock.setTimeout(() => {
      this.watchdog = undefined;
      if (this.outstanding === 0 || this.closed) return;
      const quiet = this.s.clock.now() - this.lastProgress;
      if (quiet >= ms && !this.down && !this.stalled) this.goDown(`no write settled for ${quiet} ms`, true);
      this.armWatchdog();
    }, Math.max(1, Math.floor(ms / 2)));
  }
}

/** Delivery counters. */
export interface DeliveryStats {
  /** Writes (message × sink) held for sinks that are down. */
  held: number;
  /** Outage counters per sink name. */
  outage: Record<string, SinkOutageStats>;
}

/**
 * Writes each message's points to every sink and classifies the outcome; see the file comment.
 *
 * @example
 * ```ts
 * import { Delivery, PipelineError, type TelemetrySink } from '@outpost/pipeline';
 * let up = false;
 * const flaky: TelemetrySink = { name: 'db', async write() { if (!up) throw new Error('connection refused'); }, async flush() {}, async close() {} };
 * const lines: string[] = [];
 * const delivery = new Delivery([flaky], { retryDelayMs: 5, log: (l) => { lines.push(l); } });
 * const outcome = delivery.write([{ device: 'd1', time: 0, metric: 'v', value: 1 }]);
 * await new Promise((r) => setTimeout(r, 20));
 * delivery.held; // true
 * up = true;
 * await outcome; // undefined
 * delivery.held; // false
 * lines.length; // 2
 * delivery.close();
 * ```
 */
export class Delivery {
  private readonly channels: SinkChannel[];
  private readonly listeners = new Set<(held: boolean) => void>();
  private wasHeld = false;

  constructor(sinks: readonly TelemetrySink[], options: DeliveryOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError(`Delivery: options: expected an object, got ${describe(options)}`);
    if (options.clock !== undefined) assertClock('Delivery: clock', options.clock);
    if (options.onEvent !== undefined) assertFunction('Delivery: onEvent', options.onEvent);
    if (options.log !== undefined) assertFunction('Delivery: log', options.log);
    const onEvent = options.onEvent;
    const retryDelayMs = intOption('Delivery: retryDelayMs', options.retryDelayMs, 250, 1);
    const settings: Settings = {
      clock: options.clock ?? systemPipelineClock,
      retryDelayMs,
      maxRetryDelayMs: intOption('Delivery: maxRetryDelayMs', options.maxRetryDelayMs, Math.max(5_000, retryDelayMs), retryDelayMs),
      deadLetterAfterMs: options.deadLetterAfterMs === undefined ? undefined : intOption('Delivery: deadLetterAfterMs', options.deadLetterAfterMs, 0, 0),
      stallAfterMs: intOption('Delivery: stallAfterMs', options.stallAfterMs, 30_000, 0),
      emit: (e) => {
        try {
          onEvent?.(e);
        } catch {
          /* a listener's failure is not the delivery's */
        }
      },
      log: options.log ?? ((l) => console.warn(l)),
      changed: () => this.changed(),
    };
    this.channels = sinks.map((s) => new SinkChannel(s, settings));
  }

  /** Whether intake should stop: a sink is down (and not given up on) or stalled. */
  get held(): boolean {
    for (const c of this.channels) if (c.holding) return true;
    return false;
  }

  /**
   * Writes to every sink in parallel; resolves when each sink either made the points durable or
   * refused them for good. Resolves `undefined` when delivered, else the first sink's failure.
   * Rejects only with `CLOSED` (held when the delivery closed: do not acknowledge).
   */
  async write(points: readonly TelemetryPoint[]): Promise<DeliveryFailure | undefined> {
    const cs = this.channels;
    if (cs.length === 1) return (cs[0] as SinkChannel).write(points);
    const verdicts = await Promise.all(cs.map((c) => c.write(points)));
    for (const v of verdicts) if (v !== undefined) return v;
    return undefined;
  }

  /** Registers a flow listener (`true`: stop taking messages; `false`: resume); returns its remover. */
  onFlowChange(listener: (held: boolean) => void): () => void {
    assertFunction('Delivery.onFlowChange: listener', listener);
    this.listeners.add(listener);
    if (this.wasHeld) listener(true);
    return () => this.listeners.delete(listener);
  }

  stats(): DeliveryStats {
    const outage: Record<string, SinkOutageStats> = {};
    let held = 0;
    for (const c of this.channels) {
      outage[c.sink.name] = c.stats();
      held += c.heldCount();
    }
    return { held, outage };
  }

  /** Stops the retry timers; held writes reject with `CLOSED` (their messages are not acknowledged). */
  close(): void {
    for (const c of this.channels) c.close();
  }

  private changed(): void {
    const h = this.held;
    if (h === this.wasHeld) return;
    this.wasHeld = h;
    for (const l of this.listeners) {
      try {
        l(h);
      } catch {
        /* ignored */
      }
    }
  }
}
