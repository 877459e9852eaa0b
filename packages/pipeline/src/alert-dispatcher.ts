/**
 * The alert dispatcher: fans each alert event out to every sink concurrently, bounded and in
 * order per (rule, device), and never blocks or fails the pipeline.
 */
import { assertEvent, msOption, type AlertSendContext, type AlertSink } from './alerts.js';
import { PipelineError } from './errors.js';
import type { AlertEvent } from './rules-types.js';
import { assertFunction, assertObject, describe, intOption } from './validate.js';

/** Delivery counters of one sink, or of all. */
export interface AlertSinkStats {
  /** Deliveries that succeeded. */
  readonly sent: number;
  /** Deliveries that failed for good (after retries), dropped ones included. */
  readonly failed: number;
  /** Retries made. */
  readonly retries: number;
  /** Deliveries dropped because the queue was full (oldest first). */
  readonly dropped: number;
  /** Queued or in flight now. */
  readonly pending: number;
}

/** {@link AlertDispatcher.stats}: totals and per sink. */
export interface AlertDispatcherStats extends AlertSinkStats {
  readonly sinks: Readonly<Record<string, AlertSinkStats>>;
}

/** Options of {@link AlertDispatcher}. */
export interface AlertDispatcherOptions {
  /** Called once per delivery that failed for good (or was dropped). Its own errors are ignored. */
  readonly onFailure?: (event: AlertEvent, sinkName: string, error: unknown) => void;
  /** Queued deliveries per sink before the oldest is dropped. Default 1,000. */
  readonly maxQueue?: number;
  /** Deliveries in flight per sink. Default 4. */
  readonly concurrency?: number;
}

interface Lane {
  readonly sink: AlertSink;
  readonly queue: AlertEvent[];
  /** (rule, device) pairs with a delivery in flight: their next event waits, so order holds. */
  readonly busy: Set<string>;
  active: number;
  sent: number;
  failed: number;
  retries: number;
  dropped: number;
}

const keyOf = (e: AlertEvent): string => `${e.ruleId}\0${e.device}`;

/**
 * Fans alert events out to every sink concurrently, and never throws a delivery failure into
 * the caller: the pipeline must not stop because a webhook is down. Failures after retries go
 * to `onFailure` and the stats.
 *
 * Each sink has a bounded queue (`maxQueue`, default 1,000) and at most `concurrency` deliveries
 * in flight. When the queue is full the **oldest** queued delivery is dropped (counted in
 * `dropped` and `failed`, reported to `onFailure` as `ALERT_DELIVERY_FAILED`): after an outage
 * the receiver gets the most recent alerts, which describe the current state. Events of one
 * (rule, device) are delivered to a sink in order, one at a time, so a `resolved` never
 * overtakes its `fired`.
 *
 * @throws TypeError/RangeError for wrong arguments (sink names must be unique).
 * @example
 * ```ts
 * import { AlertDispatcher, callbackAlertSink } from '@outpost/pipeline';
 * const got: string[] = [];
 * const failures: string[] = [];
 * const dispatcher = new AlertDispatcher(
 *   [callbackAlertSink((e) => { got.push(e.kind); }), callbackAlertSink(() => { throw new Error('down'); }, { name: 'broken' })],
 *   { onFailure: (_e, sink) => failures.push(sink) },
 * );
 * dispatcher.dispatch({ kind: 'fired', ruleId: 'hot', device: 'd1', severity: 'warning', at: 1, metric: 'temp', value: 90, episodeId: 'hot/d1/1', message: 'hot' });
 * await dispatcher.drain();
 * got; // ['fired']
 * failures; // ['broken']
 * dispatcher.stats().sent; // 1
 * ```
 */
export class AlertDispatcher {
  readonly #lanes: Lane[];
  readonly #onFailure: AlertDispatcherOptions['onFailure'];
  readonly #maxQueue: number;
  readonly #concurrency: number;
  #waiters: Array<() => void> = [];
  #abort = new AbortController();

  constructor(sinks: readonly AlertSink[], options: AlertDispatcherOptions = {}) {
    if (!Array.isArray(sinks)) throw new TypeError(`sinks: expected an array of alert sinks, got ${describe(sinks)}`);
    assertObject('options', options);
    const names = new Set<string>();
    this.#lanes = sinks.map((s: unknown, i) => {
      if (typeof s !== 'object' || s === null || typeof (s as AlertSink).send !== 'function' || typeof (s as AlertSink).name !== 'string') {
        throw new TypeError(`sinks[${i}]: expected an alert sink { name, send }, got ${describe(s)}`);
      }
      const sink = s as AlertSink;
      if (names.has(sink.name)) throw new RangeError(`sinks[${i}].name: duplicate sink name ${JSON.stringify(sink.name)}`);
      names.add(sink.name);
      return { sink, queue: [], busy: new Set<string>(), active: 0, sent: 0, failed: 0, retries: 0, dropped: 0 };
    });
    const onFailure: unknown = options.onFailure;
    if (onFailure !== undefined) assertFunction('options.onFailure', onFailure);
    this.#onFailure = onFailure as AlertDispatcherOptions['onFailure'];
    this.#maxQueue = intOption('options.maxQueue', options.maxQueue, 1000, 1);
    this.#concurrency = intOption('options.concurrency', options.concurrency, 4, 1, 1000);
  }

  /**
   * Queues events for every sink and returns at once. Never throws for a delivery problem.
   *
   * @throws TypeError if an argument is not an alert event.
   */
  dispatch(events: AlertEvent | readonly AlertEvent[]): void {
    const list: readonly unknown[] = Array.isArray(events) ? events : [events];
    for (let i = 0; i < list.length; i++) assertEvent(Array.isArray(events) ? `events[${i}]` : 'events', list[i]);
    for (const e of list as readonly AlertEvent[]) {
      for (const lane of this.#lanes) {
        if (lane.queue.length >= this.#maxQueue) {
          const old = lane.queue.shift() as AlertEvent;
          lane.dropped++;
          lane.failed++;
          this.#fail(old, lane, new PipelineError('ALERT_DELIVERY_FAILED', `${lane.sink.name}: dropped, ${this.#maxQueue} deliveries already queued`));
        }
        lane.queue.push(e);
        this.#pump(lane);
      }
    }
  }

  /**
   * Resolves when nothing is queued or in flight (for shutdown and tests). With `timeoutMs`,
   * a bounded shutdown: when it expires, deliveries in flight are aborted (their sinks get the
   * abort signal), queued ones abandoned, each reported to `onFailure`; then it resolves once the
   * sinks have returned (a custom sink that ignores the signal is still waited for).
   *
   * @throws TypeError/RangeError for a wrong `timeoutMs`.
   */
  async drain(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    assertObject('options', options);
    const timeoutMs = options.timeoutMs === undefined ? undefined : msOption('options.timeoutMs', options.timeoutMs, 0);
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => this.#abandon(), timeoutMs);
    try {
      while (this.#lanes.some((l) => l.active > 0 || l.queue.length > 0)) {
        await new Promise<void>((r) => this.#waiters.push(r));
      }
    } finally {
      clearTimeout(timer);
      if (this.#abort.signal.aborted) this.#abort = new AbortController();
    }
  }

  #abandon(): void {
    this.#abort.abort();
    for (const lane of this.#lanes) {
      for (const e of lane.queue.splice(0)) {
        lane.failed++;
        this.#fail(e, lane, new PipelineError('ALERT_DELIVERY_FAILED', `${lane.sink.name}: abandoned at shutdown`));
      }
    }
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const r of w) r();
  }

  /** Counters: totals and per sink. */
  stats(): AlertDispatcherStats {
    const sinks: Record<string, AlertSinkStats> = {};
    const total = { sent: 0, failed: 0, retries: 0, dropped: 0, pending: 0 };
    for (const l of this.#lanes) {
      const s = { sent: l.sent, failed: l.failed, retries: l.retries, dropped: l.dropped, pending: l.queue.length + l.active };
      sinks[l.sink.name] = s;
      total.sent += s.sent;
      total.failed += s.failed;
      total.retries += s.retries;
      total.dropped += s.dropped;
      total.pending += s.pending;
    }
    return { ...total, sinks };
  }

  #fail(event: AlertEvent, lane: Lane, error: unknown): void {
    try {
      this.#onFailure?.(event, lane.sink.name, error);
    } catch {
      // a failing failure handler must not stop the pipeline either
    }
  }

  #pump(lane: Lane): void {
    while (lane.active < this.#concurrency) {
      const i = lane.queue.findIndex((e) => !lane.busy.has(keyOf(e)));
      if (i < 0) return;
      const [event] = lane.queue.splice(i, 1) as [AlertEvent];
      const key = keyOf(event);
      lane.busy.add(key);
      lane.active++;
      const context: AlertSendContext = { onRetry: () => void lane.retries++, signal: this.#abort.signal };
      Promise.resolve()
        .then(() => lane.sink.send(event, context))
        .then(
          () => void lane.sent++,
          (err: unknown) => {
            lane.failed++;
            this.#fail(event, lane, err);
          },
        )
        .finally(() => {
          lane.busy.delete(key);
          lane.active--;
          this.#pump(lane);
          this.#wake();
        });
    }
  }
}
