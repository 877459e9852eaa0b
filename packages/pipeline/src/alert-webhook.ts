/**
 * The HTTP webhook alert sink: JSON POSTs with retries (full-jitter backoff, `Retry-After`), an
 * idempotency key per delivery and an optional HMAC signature.
 */
import { createHmac } from 'node:crypto';
import { assertEvent, msOption, nameOption, type AlertSink } from './alerts.js';
import { PipelineError } from './errors.js';
import { assertFunction, assertObject, describe, intOption } from './validate.js';

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
  const o = webhookSettings(options);
  return {
    name: o.name,
    send: async (event, context) => {
      assertEvent('event', event);
      const onRetry: unknown = context === undefined ? undefined : (context as unknown as Record<string, unknown> | null)?.onRetry;
      if (context !== undefined && (typeof context !== 'object' || context === null || Array.isArray(context) || ArrayBuffer.isView(context))) throw new TypeError(`context: expected an object, got ${describe(context)}`);
      if (onRetry !== undefined) assertFunction('context.onRetry', onRetry);
      const abort: unknown = context?.signal;
      if (abort !== undefined && !(abort instanceof AbortSignal)) throw new TypeError(`context.signal: expected an AbortSignal, got ${describe(abort)}`);
      const body = JSON.stringify(event);
      const headers: Record<string, string> = {
        ...o.userHeaders,
        'content-type': 'application/json',
        'user-agent': 'outpost-pipeline',
        'idempotency-key': `${event.episodeId}:${event.kind}`,
      };
      if (o.secret !== undefined) headers['x-outpost-signature'] = `sha256=${createHmac('sha256', o.secret).update(body).digest('hex')}`;
      let last: unknown;
      for (let n = 0; n <= o.retries; n++) {
        if (n > 0) {
          context?.onRetry?.(n, last);
          const hinted = last instanceof Retryable ? last.retryAfterMs : undefined;
          const wait = o.sleep(hinted ?? Math.floor(o.random() * Math.min(o.maxMs, o.baseMs * 2 ** (n - 1))));
          await (abort === undefined ? wait : untilAborted(wait, abort));
          if (abort?.aborted === true) throw new PipelineError('ALERT_DELIVERY_FAILED', `${o.where}: aborted after ${n} attempt(s), last: ${(last as Error).message}`, { cause: last });
        }
        try {
          await postOnce(o, body, headers, abort);
          return;
        } catch (err) {
          if (!(err instanceof Retryable)) throw err;
          last = err;
        }
      }
      throw new PipelineError('ALERT_DELIVERY_FAILED', `${o.where}: gave up after ${o.retries + 1} attempts: ${(last as Error).message}`, { cause: last });
    },
  };
}

/** The checked options of a webhook sink, with their defaults. */
interface WebhookSettings {
  readonly url: URL;
  readonly where: string;
  readonly name: string;
  readonly retries: number;
  readonly baseMs: number;
  readonly maxMs: number;
  readonly timeoutMs: number;
  readonly maxRetryAfterMs: number;
  readonly userHeaders: Readonly<Record<string, string>>;
  readonly secret: string | Uint8Array | undefined;
  readonly random: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

function webhookUrl(raw: unknown): URL {
  if (typeof raw !== 'string' && !(raw instanceof URL)) throw new TypeError(`options.url: expected a string or URL, got ${describe(raw)}`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RangeError(`options.url: expected an absolute http(s) URL, got ${JSON.stringify(String(raw))}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RangeError(`options.url: expected an https: or http: URL, got ${url.protocol}`);
  return url;
}

function webhookHeaders(extra: unknown): Record<string, string> {
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
  return userHeaders;
}

function webhookSettings(options: WebhookAlertSinkOptions): WebhookSettings {
  assertObject('options', options);
  const url = webhookUrl(options.url as unknown);
  const retries = intOption('options.retries', options.retries, 5, 0, 100);
  const backoff = options.backoff === undefined ? {} : options.backoff;
  assertObject('options.backoff', backoff);
  const baseMs = msOption('options.backoff.baseMs', backoff.baseMs, 200);
  const maxMs = msOption('options.backoff.maxMs', backoff.maxMs, 30_000);
  const timeoutMs = msOption('options.timeoutMs', options.timeoutMs, 10_000);
  if (timeoutMs === 0) throw new RangeError('options.timeoutMs: expected a number > 0, got 0');
  const maxRetryAfterMs = msOption('options.maxRetryAfterMs', options.maxRetryAfterMs, 60_000);
  const userHeaders = webhookHeaders(options.headers === undefined ? {} : options.headers);
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
  return { url, where: `webhook ${url.origin}`, name, retries, baseMs, maxMs, timeoutMs, maxRetryAfterMs, userHeaders, secret, random, sleep };
}

/** One POST: resolves on 2xx; `Retryable` for network errors, timeouts, 429 and 5xx; ALERT_DELIVERY_FAILED otherwise. */
async function postOnce(o: WebhookSettings, body: string, headers: Record<string, string>, abort: AbortSignal | undefined): Promise<void> {
  let res: Response;
  try {
    const timeout = AbortSignal.timeout(o.timeoutMs);
    res = await fetch(o.url, { method: 'POST', body, headers, redirect: 'manual', signal: abort === undefined ? timeout : AbortSignal.any([timeout, abort]) });
  } catch (err) {
    const e = err as Error;
    if (abort?.aborted === true) throw new PipelineError('ALERT_DELIVERY_FAILED', `${o.where}: aborted`, { cause: err });
    const why = e.name === 'TimeoutError' ? `no response within ${o.timeoutMs} ms` : `${e.message}${e.cause instanceof Error ? ` (${e.cause.message})` : ''}`;
    throw Object.assign(new Retryable(why), { cause: err });
  }
  // the body is not needed; reading it frees the connection for keep-alive
  await res.arrayBuffer().catch(() => undefined);
  if (res.status >= 200 && res.status < 300) return;
  const status = `HTTP ${res.status}`;
  if (res.status === 429 || res.status >= 500) throw new Retryable(status, retryAfter(res.headers.get('retry-after'), o.maxRetryAfterMs));
  throw new PipelineError('ALERT_DELIVERY_FAILED', `${o.where}: ${status}, not retried`);
}
