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
import { SinkChannel, type Settings } from './sink-channel.js';
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

  /**
   * Writes the points of several messages as one write per sink (fewer promises and batcher
   * calls per message than a `write` each), and resolves with each message's outcome:
   * `undefined` when every message was delivered, else one verdict per message (`undefined` =
   * delivered), as {@link Delivery.write} would have given it. A sink that refuses the joint
   * write (`SINK_REJECTED`) gets each message's points again on their own, so only the
   * messages holding a refused point are rejected (stores are idempotent by key, so the
   * points it had accepted are safe to repeat). Rejects only with `CLOSED`, as `write` does.
   */
  async writeGroup(messages: readonly (readonly TelemetryPoint[])[]): Promise<readonly (DeliveryFailure | undefined)[] | undefined> {
    if (!Array.isArray(messages)) throw new TypeError(`Delivery.writeGroup: messages: expected an array of point arrays, got ${describe(messages)}`);
    if (messages.length === 1) {
      const v = await this.write(messages[0] as readonly TelemetryPoint[]);
      return v === undefined ? undefined : [v];
    }
    const all = concat(messages);
    const cs = this.channels;
    const verdicts = await Promise.all(cs.map((c) => c.write(all, messages.length)));
    if (verdicts.every((v) => v === undefined)) return undefined;
    const out: (DeliveryFailure | undefined)[] = new Array<DeliveryFailure | undefined>(messages.length).fill(undefined);
    for (let k = 0; k < cs.length; k++) {
      const v = verdicts[k];
      if (v === undefined) continue;
      // Given up (SINK_FAILED) applies to every message of the write; a refusal is per point.
      const each = v.reason === 'SINK_REJECTED' ? await Promise.all(messages.map((m) => (cs[k] as SinkChannel).write(m))) : messages.map(() => v);
      each.forEach((e, i) => {
        if (out[i] === undefined) out[i] = e;
      });
    }
    return out;
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

/** The points of every message in one array (`Array.prototype.flat` takes V8's generic path: ~5× slower). */
function concat(messages: readonly (readonly TelemetryPoint[])[]): readonly TelemetryPoint[] {
  let n = 0;
  for (let i = 0; i < messages.length; i++) n += (messages[i] as readonly TelemetryPoint[]).length;
  const all = new Array<TelemetryPoint>(n);
  let k = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as readonly TelemetryPoint[];
    for (let j = 0; j < m.length; j++) all[k++] = m[j] as TelemetryPoint;
  }
  return Object.freeze(all); // every sink gets this one array: frozen, its checked extras are shared (schema.ts)
}
