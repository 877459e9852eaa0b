// webhookAlertSink and AlertDispatcher against a real node:http server on 127.0.0.1 that fails
// the first requests (503, 429 + Retry-After, a dropped socket, a hung response) and then
// succeeds; a receiver that refuses (400, 302); and a port where nothing listens.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '@outpost/test-peers';
import { PipelineError } from '../src/errors.js';
import { AlertDispatcher } from '../src/alert-dispatcher.js';
import { webhookAlertSink } from '../src/alert-webhook.js';
import { callbackAlertSink, type AlertSink } from '../src/alerts.js';
import type { AlertEvent } from '../src/rules-types.js';

type Behaviour = 'ok' | '503' | '400' | '302' | 'drop' | 'hang' | `429:${string}`;
interface Seen {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly url: string;
}

let server: Server;
let base: string;
let script: Behaviour[] = [];
let fallback: Behaviour = 'ok';
let seen: Seen[] = [];
let delivered: string[] = [];
const hung: ServerResponse[] = [];

beforeAll(async () => {
  const port = await freePort();
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ headers: req.headers, body, url: req.url ?? '' });
      const b = script.shift() ?? fallback;
      if (b === 'drop') return req.socket.destroy();
      if (b === 'hang') return void hung.push(res);
      if (b === 'ok') {
        delivered.push(body);
        return res.writeHead(204).end();
      }
      if (b === '302') return res.writeHead(302, { location: `${base}/elsewhere` }).end();
      if (b.startsWith('429:')) return res.writeHead(429, { 'retry-after': b.slice(4) }).end('slow down');
      return res.writeHead(Number(b)).end('nope');
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  for (const r of hung) r.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  script = [];
  fallback = 'ok';
  seen = [];
  delivered = [];
});

const event = (over: Partial<AlertEvent> = {}): AlertEvent => ({
  kind: 'fired',
  ruleId: 'hot',
  device: 'pump-1',
  severity: 'critical',
  at: 1_700_000_000_000,
  metric: 'temp',
  value: 91.5,
  episodeId: 'hot/pump-1/1700000000000',
  message: 'pump-1 overheating',
  ...over,
});

/** A sleep that does not wait, and remembers what it was asked. */
function recorder(): { delays: number[]; sleep: (ms: number) => Promise<void> } {
  const delays: number[] = [];
  return { delays, sleep: async (ms) => void delays.push(ms) };
}

async function failure(p: Promise<unknown>): Promise<PipelineError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(PipelineError);
  expect((err as PipelineError).code).toBe('ALERT_DELIVERY_FAILED');
  return err as PipelineError;
}

describe('webhookAlertSink', () => {
  it('retries 503, 429 + Retry-After and a dropped socket, then delivers exactly once, same Idempotency-Key, valid HMAC', async () => {
    script = ['503', '429:1', 'drop', 'ok'];
    const r = recorder();
    const retries: number[] = [];
    const secret = 'webhook-secret';
    const sink = webhookAlertSink({ url: `${base}/hook`, secret, backoff: { baseMs: 100, maxMs: 1000 }, random: () => 0.5, sleep: r.sleep, headers: { Authorization: 'Bearer t', 'Idempotency-Key': 'mine' } });
    await sink.send(event(), { onRetry: (n) => retries.push(n) });
    expect(seen.length).toBe(4);
    expect(delivered.length).toBe(1);
    expect(retries).toEqual([1, 2, 3]);
    // full jitter 0.5 × min(1000, 100 × 2^(n-1)), except the 429's Retry-After of 1 s
    expect(r.delays).toEqual([50, 1000, 200]);
    expect(new Set(seen.map((s) => s.headers['idempotency-key']))).toEqual(new Set(['hot/pump-1/1700000000000:fired']));
    for (const s of seen) {
      expect(s.headers['x-outpost-signature']).toBe(`sha256=${createHmac('sha256', secret).update(s.body).digest('hex')}`);
      expect(s.headers['content-type']).toBe('application/json');
      expect(s.headers.authorization).toBe('Bearer t');
    }
    expect(JSON.parse(delivered[0] as string)).toEqual(event());
  });

  it('refuses invalid header values when built, not at send time', () => {
    expect(() => webhookAlertSink({ url: base, headers: { 'x-bad': 'a\nb' } })).toThrow(RangeError);
    expect(() => webhookAlertSink({ url: base, headers: { 'bad name': 'x' } })).toThrow(RangeError);
  });

  it('a resolved event has its own key; no signature without a secret', async () => {
    await webhookAlertSink({ url: base }).send(event({ kind: 'resolved' }));
    expect(seen[0]?.headers['idempotency-key']).toBe('hot/pump-1/1700000000000:resolved');
    expect(seen[0]?.headers['x-outpost-signature']).toBeUndefined();
  });

  it('Retry-After is capped; an HTTP-date is understood', async () => {
    script = ['429:120', `429:${new Date(Date.now() + 3_600_000).toUTCString()}`, 'ok'];
    const r = recorder();
    await webhookAlertSink({ url: base, maxRetryAfterMs: 5000, sleep: r.sleep }).send(event());
    expect(r.delays).toEqual([5000, 5000]);
    expect(delivered.length).toBe(1);
  });

  it('a response that never comes times out and is retried', async () => {
    script = ['hang', 'ok'];
    const r = recorder();
    const retried: unknown[] = [];
    await webhookAlertSink({ url: base, timeoutMs: 200, sleep: r.sleep }).send(event(), { onRetry: (_n, e) => retried.push(e) });
    expect(seen.length).toBe(2);
    expect(delivered.length).toBe(1);
    expect(String((retried[0] as Error).message)).toBe('no response within 200 ms');
  });

  it('400 and redirects are not retried', async () => {
    script = ['400'];
    const err = await failure(webhookAlertSink({ url: base, sleep: recorder().sleep }).send(event()));
    expect(err.message).toBe(`webhook ${base}: HTTP 400, not retried`);
    expect(seen.length).toBe(1);
    script = ['302'];
    await failure(webhookAlertSink({ url: base, sleep: recorder().sleep }).send(event()));
    expect(seen.length).toBe(2); // the redirect target was not requested
    expect(seen.map((s) => s.url)).toEqual(['/', '/']);
  });

  it('all attempts fail: ALERT_DELIVERY_FAILED with the cause, and no secret path in the message', async () => {
    fallback = '503';
    const r = recorder();
    const err = await failure(webhookAlertSink({ url: `${base}/hooks/T0KEN-S3CRET`, retries: 2, sleep: r.sleep }).send(event()));
    expect(seen.length).toBe(3);
    expect(err.message).toBe(`webhook ${base}: gave up after 3 attempts: HTTP 503`);
    expect((err.cause as Error).message).toBe('HTTP 503');
    expect(err.message).not.toContain('T0KEN');
  });

  it('connection refused is retried, then fails', async () => {
    const port = await freePort();
    const r = recorder();
    const err = await failure(webhookAlertSink({ url: `http://127.0.0.1:${port}/`, retries: 1, sleep: r.sleep }).send(event()));
    expect(err.message).toMatch(/gave up after 2 attempts: fetch failed/);
    expect(r.delays.length).toBe(1);
  });
});

describe('AlertDispatcher', () => {
  it('a webhook that is down does not stop the others; onFailure and stats see it; it recovers', async () => {
    fallback = '503';
    const got: string[] = [];
    const failures: Array<[string, string, string]> = [];
    const hook = webhookAlertSink({ url: base, retries: 2, sleep: recorder().sleep });
    const d = new AlertDispatcher([hook, callbackAlertSink((e) => void got.push(e.episodeId))], {
      onFailure: (e, sink, error) => failures.push([e.episodeId, sink, (error as PipelineError).code]),
    });
    d.dispatch(event());
    d.dispatch([event({ device: 'pump-2', episodeId: 'hot/pump-2/1' })]);
    await d.drain();
    expect(got).toEqual(['hot/pump-1/1700000000000', 'hot/pump-2/1']);
    expect(failures).toEqual([
      ['hot/pump-1/1700000000000', 'webhook', 'ALERT_DELIVERY_FAILED'],
      ['hot/pump-2/1', 'webhook', 'ALERT_DELIVERY_FAILED'],
    ]);
    expect(d.stats()).toEqual({
      sent: 2, failed: 2, retries: 4, dropped: 0, pending: 0,
      sinks: {
        webhook: { sent: 0, failed: 2, retries: 4, dropped: 0, pending: 0 },
        callback: { sent: 2, failed: 0, retries: 0, dropped: 0, pending: 0 },
      },
    });
    fallback = 'ok';
    d.dispatch(event({ kind: 'resolved' }));
    await d.drain();
    expect(delivered.map((b) => (JSON.parse(b) as AlertEvent).kind)).toEqual(['resolved']);
    expect(d.stats().sinks.webhook?.sent).toBe(1);
  });

  it('keeps the order of one (rule, device) while delivering others concurrently', async () => {
    const order: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const slow: AlertSink = {
      name: 'slow',
      send: async (e) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, e.kind === 'fired' ? 20 : 1));
        order.push(`${e.device}:${e.kind}`);
        inFlight--;
      },
    };
    const d = new AlertDispatcher([slow], { concurrency: 4 });
    for (const dev of ['a', 'b', 'c']) d.dispatch([event({ device: dev }), event({ device: dev, kind: 'resolved' })]);
    await d.drain();
    for (const dev of ['a', 'b', 'c']) expect(order.indexOf(`${dev}:fired`)).toBeLessThan(order.indexOf(`${dev}:resolved`));
    expect(maxInFlight).toBe(3);
  });

  it('bounded queue: the oldest queued delivery is dropped and reported', async () => {
    let release = (): void => {};
    const gate = new Promise<void>((r) => (release = r));
    const got: string[] = [];
    const dropped: string[] = [];
    const blocked: AlertSink = { name: 'blocked', send: async (e) => { await gate; got.push(e.device); } };
    const d = new AlertDispatcher([blocked], { concurrency: 1, maxQueue: 2, onFailure: (e, _s, err) => { dropped.push(`${e.device}:${(err as Error).message}`); throw new Error('handler bug'); } });
    for (const dev of ['d0', 'd1', 'd2', 'd3', 'd4']) d.dispatch(event({ device: dev }));
    expect(d.stats().pending).toBe(3); // one in flight, two queued
    release();
    await d.drain();
    expect(got).toEqual(['d0', 'd3', 'd4']);
    expect(dropped).toEqual(['d1:blocked: dropped, 2 deliveries already queued', 'd2:blocked: dropped, 2 deliveries already queued']);
    expect(d.stats()).toMatchObject({ sent: 3, failed: 2, dropped: 2, pending: 0 });
  });

  it('drain({ timeoutMs }) bounds a shutdown: backoffs and hung requests are aborted, queued deliveries abandoned, then it works again', async () => {
    script = ['503', 'hang'];
    fallback = 'hang';
    const failures: string[] = [];
    const hook = webhookAlertSink({ url: base, backoff: { baseMs: 60_000, maxMs: 60_000 }, random: () => 1 });
    const d = new AlertDispatcher([hook], { concurrency: 1, onFailure: (e, _s, err) => failures.push(`${e.device}: ${(err as Error).message}`) });
    d.dispatch([event({ device: 'a' }), event({ device: 'b' })]);
    await d.drain({ timeoutMs: 200 }); // without the bound this would wait a minute
    expect(failures).toEqual([`b: webhook: abandoned at shutdown`, `a: webhook ${base}: aborted after 1 attempt(s), last: HTTP 503`]);
    expect(d.stats()).toMatchObject({ sent: 0, failed: 2, pending: 0 });
    // a hung request is aborted too
    failures.length = 0;
    d.dispatch(event({ device: 'c' }));
    await d.drain({ timeoutMs: 200 });
    expect(failures).toEqual([`c: webhook ${base}: aborted`]);
    // and the dispatcher is usable afterwards
    fallback = 'ok';
    d.dispatch(event({ device: 'd' }));
    await d.drain({ timeoutMs: 10_000 });
    expect(delivered.map((b) => (JSON.parse(b) as AlertEvent).device)).toEqual(['d']);
  });

  it('a sink that throws synchronously counts as a failure, not a crash', async () => {
    const bad: AlertSink = { name: 'bad', send: () => { throw new Error('sync'); } };
    const errors: string[] = [];
    const d = new AlertDispatcher([bad], { onFailure: (_e, _s, err) => errors.push((err as Error).message) });
    d.dispatch(event());
    await d.drain();
    expect(errors).toEqual(['sync']);
  });
});
