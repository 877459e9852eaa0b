/**
 * One sink's delivery state (internal; see delivery.ts): up, down (its writes held, one probe at
 * a time retrying the oldest with a doubling delay), stalled (no write settled for
 * `stallAfterMs`), given up (after `deadLetterAfterMs`).
 */
import type { PipelineClock } from './clock.js';
import type { DeliveryEvent, DeliveryFailure, SinkOutageStats } from './delivery.js';
import { PipelineError } from './errors.js';
import type { TelemetryPoint, TelemetrySink } from './types.js';

interface Held {
  readonly points: readonly TelemetryPoint[];
  /** Messages whose points these are (a joint write holds several). */
  readonly messages: number;
  readonly resolve: (f: DeliveryFailure | undefined) => void;
  readonly reject: (e: unknown) => void;
}

/** What every channel of one delivery shares. */
export interface Settings {
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
export class SinkChannel {
  down = false;
  stalled = false;
  givenUp = false;
  private since = 0;
  private delay = 0;
  private timer: unknown;
  private watchdog: unknown;
  private held: Held[] = [];
  /** Messages in `held`. */
  private heldMessages = 0;
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
    return { down: this.down, stalled: this.stalled, outageMs: out ? this.s.clock.now() - this.since : 0, outages: this.counts.outages, held: this.heldMessages, retries: this.counts.retries, gaveUp: this.counts.gaveUp };
  }

  /** Messages held for this sink. */
  heldCount(): number {
    return this.heldMessages;
  }

  /** Writes `points` (those of `messages` messages) to the sink, or holds them while it is down. */
  write(points: readonly TelemetryPoint[], messages = 1): Promise<DeliveryFailure | undefined> {
    if (this.down) return this.hold(points, messages);
    return this.attempt(points, messages);
  }

  close(): void {
    this.closed = true;
    this.s.clock.clearTimeout(this.timer);
    this.s.clock.clearTimeout(this.watchdog);
    const err = new PipelineError('CLOSED', `delivery: closed while ${this.heldMessages} message(s) were held for ${this.sink.name}; not acknowledged, the broker redelivers them`);
    this.heldMessages = 0;
    for (const h of this.held.splice(0)) h.reject(err);
  }

  private attempt(points: readonly TelemetryPoint[], messages: number): Promise<DeliveryFailure | undefined> {
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
        return this.hold(points, messages);
      },
    );
  }

  private hold(points: readonly TelemetryPoint[], messages: number): Promise<DeliveryFailure | undefined> {
    if (this.closed) return Promise.reject(new PipelineError('CLOSED', `delivery: ${this.sink.name} is closed`));
    if (this.givenUp) {
      this.counts.gaveUp += messages;
      this.probePoints = points;
      return Promise.resolve(this.gaveUpFailure());
    }
    return new Promise((resolve, reject) => {
      this.held.push({ points, messages, resolve, reject });
      this.heldMessages += messages;
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
    this.heldMessages = 0;
    for (const h of this.held.splice(0)) this.attempt(h.points, h.messages).then(h.resolve, h.reject);
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
        this.heldMessages -= head.messages;
        head.resolve({ sink: this.sink.name, reason: 'SINK_REJECTED', detail: `${this.sink.name}: ${e.message}` });
      } else {
        this.delay = Math.min(this.delay * 2, this.s.maxRetryDelayMs);
      }
      this.schedule();
      return;
    }
    if (head !== undefined && this.held[0] === head) {
      this.held.shift();
      this.heldMessages -= head.messages;
      head.resolve(undefined);
    }
    this.goUp();
  }

  private giveUp(): void {
    const { clock } = this.s;
    this.givenUp = true;
    const held = this.held.splice(0);
    const messages = this.heldMessages;
    this.heldMessages = 0;
    this.counts.gaveUp += messages;
    const last = held.at(-1);
    if (last !== undefined) this.probePoints = last.points;
    const outageMs = clock.now() - this.since;
    this.s.emit({ type: 'gave-up', sink: this.sink.name, at: clock.now(), outageMs, messages });
    this.s.log(`pipeline: sink ${this.sink.name} down for ${(outageMs / 1000).toFixed(1)} s (deadLetterAfterMs): dead-lettering ${messages} held message(s) and what comes while it stays down`);
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

