/**
 * Alert sinks (a callback, an MQTT topic, an HTTP webhook with retries) and the dispatcher that
 * fans each alert event out to them without ever blocking or failing the pipeline.
 */
import { createHmac } from 'node:crypto';
import { PipelineError } from './errors.js';
import type { AlertEvent } from './rules-types.js';
import { assertFunction, assertObject, describe, intOption } from './validate.js';

/** Hooks a dispatcher hands to {@link AlertSink.send}. */
export interface AlertSendContext {
  /** Called before each retry, with the 1-based retry number and why the attempt failed. */
  readonly onRetry?: (retry: number, error: unknown) => void;
  /** Aborts the delivery (shutdown): the send stops retrying and rejects soon. */
  readonly signal?: AbortSignal;
}

/** Where alert events go. */
export interface AlertSink {
  /** Short unique name used in stats and failures (`webhook`, `mqtt`, `callback`). */
  readonly name: string;
  /** Delivers one event; resolves when the receiver has it (HTTP 2xx, MQTT PUBACK…). */
  send(event: AlertEvent, context?: AlertSendContext): Promise<void>;
}

function assertEvent(name: string, e: unknown): asserts e is AlertEvent {
  if (typeof e !== 'object' || e === null) throw new TypeError(`${name}: expected an AlertEvent, got ${describe(e)}`);
  const x = e as Record<string, unknown>;
  if (x.kind !== 'fired' && x.kind !== 'resolved') throw new TypeError(`${name}.kind: expected 'fired' or 'resolved', got ${describe(x.kind)}`);
  for (const k of ['ruleId', 'device', 'episodeId'] as const) {
    if (typeof x[k] !== 'string') throw new TypeError(`${name}.${k}: expected a string, got ${describe(x[k])}`);
  }
}

function nameOption(v: unknown, dflt: string): string {
  if (v === undefined) return dflt;
  if (typeof v !== 'string') throw new TypeError(`options.name: expected a string, got ${describe(v)}`);
  if (v.length === 0) throw new RangeError('options.name: expected a non-empty string, got ""');
  return v;
}

function msOption(name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number') throw new TypeError(`${name}: expected a number of milliseconds, got ${describe(v)}`);
  if (!(v >= 0) || v === Infinity) throw new RangeError(`${name}: expected a finite number >= 0, got ${v}`);
  return v;
}

/**
 * An alert sink that calls a function (log it, push it to a dashboard, hand it to your own code).
 *
 * @param fn - receives each event; a rejection or a throw counts as a failed delivery.
 * @example
 * ```ts
 * import { callbackAlertSink } from '@outpost/pipeline';
 * const seen: string[] = [];
 * const sink = callbackAlertSink((e) => { seen.push(e.episodeId); });
 * await sink.send({ kind: 'fired', ruleId: 'hot', device: 'd1', severity: 'warning', at: 1, metric: 'temp', value: 90, episodeId: 'hot/d1/1', message: 'hot' });
 * seen; // ['hot/d1/1']
 * sink.name; // 'callback'
 * ```
 */
export function callbackAlertSink(fn: (event: AlertEvent) => void | Promise<void>, options: { readonly name?: string } = {}): AlertSink {
  assertFunction('fn', fn);
  assertObject('options', options);
  const name = nameOption(options.name, 'callback');
  return {
    name,
    send: async (event) => {
      assertEvent('event', event);
      await fn(event);
    },
  };
}

/**
 * What {@link mqttAlertSink} publishes with: an MQTT.js client, or a consumer's own connection
 * (`Ingest.client`). `callback` runs once the broker acknowledged (QoS 1/2), or with an error.
 */
export interface MqttPublisher {
  publish(topic: string, payload: string, options: { qos: 0 | 1 | 2; retain: boolean }, callback: (error?: Error) => void): unknown;
}

/** Options of {@link mqttAlertSink}. */
export interface MqttAlertSinkOptions {
  /** A connected MQTT.js client, or `Ingest.client` (alerts on the consumer's connection). */
  readonly client: MqttPublisher;
  /** Topic template; placeholders `{device}`, `{ruleId}`, `{kind}`, `{severity}`. Default `alerts/{device}/{ruleId}`. */
  readonly topic?: string;
  /** Default 1: the send resolves on PUBACK. */
  readonly qos?: 0 | 1 | 2;
  /** Default false. */
  readonly retain?: boolean;
  /** Time to wait for the acknowledgement, ms. Default 10,000. */
  readonly timeoutMs?: number;
  /** Default `mqtt`. */
  readonly name?: string;
}

/**
 * An alert sink that publishes each event as JSON on a templated MQTT topic. A placeholder whose
 * value contains `/`, `+`, `#` or NUL would change the topic's levels or be a wildcard: such an
 * event is refused (`ALERT_DELIVERY_FAILED`), never published elsewhere.
 *
 * Not executed here (it needs a broker):
 * ```text
 * const client = await mqtt.connectAsync('mqtts://broker:8883', { ca, cert, key });
 * const sink = mqttAlertSink({ client, topic: 'alerts/{device}/{ruleId}' });
 * ```
 *
 * @throws TypeError/RangeError for wrong options.
 * @example
 * ```ts
 * import { mqttAlertSink } from '@outpost/pipeline';
 * // a stand-in for an MQTT.js client that acknowledges at once
 * const topics: string[] = [];
 * const client = { publish: (topic: string, _payload: string, _opts: object, done: (err?: Error) => void) => { topics.push(topic); done(); } };
 * const sink = mqttAlertSink({ client: client as never });
 * await sink.send({ kind: 'fired', ruleId: 'hot', device: 'd1', severity: 'warning', at: 1, metric: 'temp', value: 90, episodeId: 'hot/d1/1', message: 'hot' });
 * topics; // ['alerts/d1/hot']
 * ```
 */
export function mqttAlertSink(options: MqttAlertSinkOptions): AlertSink {
  assertObject('options', options);
  const client = options.client as unknown;
  if (typeof client !== 'object' || client === null || typeof (client as { publish?: unknown }).publish !== 'function') {
    throw new TypeError(`options.client: expected an MQTT.js client, got ${describe(client)}`);
  }
  const topic = options.topic === undefined ? 'alerts/{device}/{ruleId}' : options.topic;
  if (typeof topic !== 'string') throw new TypeError(`options.topic: expected a string, got ${describe(topic)}`);
  if (topic.length === 0 || /[+#\0]/.test(topic.replace(/\{(device|ruleId|kind|severity)\}/g, ''))) {
    throw new RangeError(`options.topic: expected a topic name without wildcards, got ${JSON.stringify(topic)}`);
  }
  const qos = options.qos === undefined ? 1 : options.qos;
  if (typeof qos !== 'number') throw new TypeError(`options.qos: expected 0, 1 or 2, got ${describe(qos)}`);
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new RangeError(`options.qos: expected 0, 1 or 2, got ${String(qos)}`);
  const retain = options.retain === undefined ? false : options.retain;
  if (typeof retain !== 'boolean') throw new TypeError(`options.retain: expected a boolean, got ${describe(retain)}`);
  const timeoutMs = msOption('options.timeoutMs', options.timeoutMs, 10_000);
  const name = nameOption(options.name, 'mqtt');
  const mqtt = client as MqttPublisher;
  const publishOptions = { qos, retain } as const;
  return {
    name,
    send: (event, context) =>
      new Promise<void>((resolve, reject) => {
        let t: string;
        try {
          assertEvent('event', event);
          t = topic.replace(/\{(device|ruleId|kind|severity)\}/g, (_, k: 'device' | 'ruleId' | 'kind' | 'severity') => {
            const v = String(event[k]);
            if (/[/+#\0]/.test(v) || v.length === 0) throw new PipelineError('ALERT_DELIVERY_FAILED', `mqtt: ${k} ${JSON.stringify(v)} cannot be a topic level`);
            return v;
          });
        } catch (err) {
          reject(err);
          return;
        }
        const abort = context?.signal;
        const onAbort = (): void => {
          clearTimeout(timer);
          reject(new PipelineError('ALERT_DELIVERY_FAILED', `mqtt: aborted while waiting for the acknowledgement of ${t}`));
        };
        const timer = setTimeout(() => {
          abort?.removeEventListener('abort', onAbort);
          reject(new PipelineError('ALERT_DELIVERY_FAILED', `mqtt: no acknowledgement for ${t} within ${timeoutMs} ms`));
        }, timeoutMs);
        if (abort?.aborted === true) return onAbort();
        abort?.addEventListener('abort', onAbort, { once: true });
        const failed = (err: Error): void => reject(new PipelineError('ALERT_DELIVERY_FAILED', `mqtt: publish to ${t} failed: ${err.message}`, { cause: err }));
        try {
          mqtt.publish(t, JSON.stringify(event), publishOptions, (err?: Error) => {
            clearTimeout(timer);
            abort?.removeEventListener('abort', onAbort);
            if (err) failed(err);
            else resolve();
          });
        } catch (err) {
          clearTimeout(timer);
          abort?.removeEventListener('abort', onAbort);
          failed(err as Error);
        }
      }),
  };
}

/** Options of {@link webhookAlertSink}. */
export interface WebhookAlertSinkOptions {
  /** `https:` expected; `http:` allowed (loopback, tests). Certificates are verified by `fetch`. */
  readonly url: string | URL;
  /** Retries after the first attempt. Default 5. */
  readonly retries?: number;
  /** Full-jitter exponential backoff: the n-th retry waits `random() × min(maxMs, baseMs × 2^(n-1))`. Defaults 200 ms, 30 s. */
  readonly backoff?: { readonly baseMs?: number; readonly maxMs?: number };
  /** Per attempt, ms. Default 10,000. */
  readonly timeoutMs?: number;
  /** Upper bound on a `Retry-After` the receiver asks for, ms. Default 60,000. */
  readonly maxRetryAfterMs?: number;
  /** Extra request headers (authorization…). The headers below take precedence. */
  readonly headers?: Readonly<Record<string, string>>;
  /** HMAC key: adds `X-Outpost-Signature: sha256=<hex HMAC-SHA256 of the body>`. */
  readonly secret?: string | Uint8Array;
  /** Default `webhook`. */
  readonly name?: string;
  /** Jitter source in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
  /** How a backoff waits. Default a timer; tests inject one to record the delays. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Resolves when `p` settles or `signal` aborts, whichever comes first; leaves no listener behind. */
async function untilAborted(p: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  let done = (): void => {};
  const aborted = new Promise<void>((r) => {
    done = r;
    signal.addEventListener('abort', done, { once: true });
  });
  try {
    await Promise.race([p, aborted]);
  } finally {
    signal.removeEventListener('abort', done);
  }
}

class Retryable extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

function retryAfter(header: string | null, cap: number): number | undefined {
  if (header === null) return undefined;
  const s = header.trim();
  // RFC 9110 §10.2.3: delay-seconds or an HTTP-date
  const ms = /^\d+$/.test(s) ? Number(s) * 1000 : Date.parse(s) - Date.now();
  if (Number.isNaN(ms)) return undefined;
  return Math.min(Math.max(ms, 0), cap);
}

/**
 * An alert sink that POSTs each event as JSON to a webhook, with retries on network errors,
 * timeouts, 5xx and 429 (honouring `Retry-After`, capped), never on other statuses. Every
 * attempt of one delivery carries the same `Idempotency-Key: <episodeId>:<kind>`, so the
 * receiver can drop duplicates of a retried delivery; with `secret`, an
 * `X-Outpost-Signature: sha256=<hex>` header authenticates the body. Redirects are not
 * followed (a signed alert is never sent to another host). Error messages show the URL's origin
 * only, as webhook paths often hold tokens.
 *
 * Not executed here (it needs a receiver):
 * ```text
 * const sink = webhookAlertSink({ url: 'https://hooks.example.com/outpost', secret: process.env.HOOK_SECRET });
 * await sink.send(event); // rejects with ALERT_DELIVERY_FAILED after 1 + 5 attempts
 * ```
 *
 * @throws TypeError/RangeError for wrong options.
 * @example
 * ```ts
 * import { webhookAlertSink } from '@outpost/pipeline';
 * webhookAlertSink({ url: 'https://hooks.example.com/outpost', retries: 3 }).name; // 'webhook'
 * ```
 */
export function webhookAlertSink(options: WebhookAlertSinkOptions): AlertSink {
  assertObject('options', options);
  const raw = options.url as unknown;
  if (typeof raw !== 'string' && !(raw instanceof URL)) throw new TypeError(`options.url: expected a string or URL, got ${describe(raw)}`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RangeError(`options.url: expected an absolute http(s) URL, got ${JSON.stringify(String(raw))}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RangeError(`options.url: expected an https: or http: URL, got ${url.protocol}`);
  const retries = intOption('options.retries', options.retries, 5, 0, 100);
  const backoff = options.backoff === undefined ? {} : options.backoff;
  assertObject('options.backoff', backoff);
  const baseMs = msOption('options.backoff.baseMs', backoff.baseMs, 200);
  const maxMs = msOption('options.backoff.maxMs', backoff.maxMs, 30_000);
  const timeoutMs = msOption('options.timeoutMs', options.timeoutMs, 10_000);
  if (timeoutMs === 0) throw new RangeError('options.timeoutMs: expected a number > 0, got 0');
  const maxRetryAfterMs = msOption('options.maxRetryAfterMs', options.maxRetryAfterMs, 60_000);
  const extra = options.headers === undefined ? {} : options.headers;
  assertObject('options.headers', extra);
  const own = new Set(['content-type', 'user-agent', 'idempotency-key', 'x-outpost-signature']);
  const userHeaders: Record<string, string> = {};
  for (const [k, v] of Object.entries(extra)) {
    if (typeof v !== 'string') throw new TypeError(`options.headers.${k}: expected a string, got ${describe(v)}`);
    try {
      new Headers([[k, v]]);
    } catch {
      throw new RangeError(`options.headers.${k}: not a valid HTTP header name or value`);
    }
    // ours take precedence; two spellings of one name would be joined into one value by fetch
    if (!own.has(k.toLowerCase())) userHeaders[k.toLowerCase()] = v;
  }
  const secret = options.secret;
  if (secret !== undefined && typeof secret !== 'string' && !(secret instanceof Uint8Array)) {
    throw new TypeError(`options.secret: expected a string or Uint8Array, got ${describe(secret)}`);
  }
  if (secret !== undefined && secret.length === 0) throw new RangeError('options.secret: expected a non-empty secret');
  const random = options.random === undefined ? Math.random : options.random;
  assertFunction('options.random', random);
  const sleep = options.sleep === undefined ? (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) : options.sleep;
  assertFunction('options.sleep', sleep);
  const name = nameOption(options.name, 'webhook');
  const where = `webhook ${url.origin}`;

  const attempt = async (body: string, headers: Record<string, string>, abort: AbortSignal | undefined): Promise<void> => {
    let res: Response;
    try {
      const timeout = AbortSignal.timeout(timeoutMs);
      res = await fetch(url, { method: 'POST', body, headers, redirect: 'manual', signal: abort === undefined ? timeout : AbortSignal.any([timeout, abort]) });
    } catch (err) {
      const e = err as Error;
      if (abort?.aborted === true) throw new PipelineError('ALERT_DELIVERY_FAILED', `${where}: aborted`, { cause: err });
      const why = e.name === 'TimeoutError' ? `no response within ${timeoutMs} ms` : `${e.message}${e.cause instanceof Error ? ` (${e.cause.message})` : ''}`;
      throw Object.assign(new Retryable(why), { cause: err });
    }
    // the body is not needed; reading it frees the connection for keep-alive
    await res.arrayBuffer().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return;
    const status = `HTTP ${res.status}`;
    if (res.status === 429 || res.status >= 500) throw new Retryable(status, retryAfter(res.headers.get('retry-after'), maxRetryAfterMs));
    throw new PipelineError('ALERT_DELIVERY_FAILED', `${where}: ${status}, not retried`);
  };

  return {
    name,
    send: async (event, context) => {
      assertEvent('event', event);
      const onRetry: unknown = context === undefined ? undefined : (context as unknown as Record<string, unknown> | null)?.onRetry;
      if (context !== undefined && (typeof context !== 'object' || context === null || Array.isArray(context) || ArrayBuffer.isView(context))) throw new TypeError(`context: expected an object, got ${describe(context)}`);
      if (onRetry !== undefined) assertFunction('context.onRetry', onRetry);
      const abort: unknown = context?.signal;
      if (abort !== undefined && !(abort instanceof AbortSignal)) throw new TypeError(`context.signal: expected an AbortSignal, got ${describe(abort)}`);
      const body = JSON.stringify(event);
      const headers: Record<string, string> = {
        ...userHeaders,
        'content-type': 'application/json',
        'user-agent': 'outpost-pipeline',
        'idempotency-key': `${event.episodeId}:${event.kind}`,
      };
      if (secret !== undefined) headers['x-outpost-signature'] = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
      let last: unknown;
      for (let n = 0; n <= retries; n++) {
        if (n > 0) {
          context?.onRetry?.(n, last);
          const hinted = last instanceof Retryable ? last.retryAfterMs : undefined;
          const wait = sleep(hinted ?? Math.floor(random() * Math.min(maxMs, baseMs * 2 ** (n - 1))));
          await (abort === undefined ? wait : untilAborted(wait, abort));
          if (abort?.aborted === true) throw new PipelineError('ALERT_DELIVERY_FAILED', `${where}: aborted after ${n} attempt(s), last: ${(last as Error).message}`, { cause: last });
        }
        try {
          await attempt(body, headers, abort);
          return;
        } catch (err) {
          if (!(err instanceof Retryable)) throw err;
          last = err;
        }
      }
      throw new PipelineError('ALERT_DELIVERY_FAILED', `${where}: gave up after ${retries + 1} attempts: ${(last as Error).message}`, { cause: last });
    },
  };
}

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
