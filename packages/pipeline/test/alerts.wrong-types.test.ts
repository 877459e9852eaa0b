// Wrong-type matrix for the alert sinks and the dispatcher: each argument (and each option)
// replaced by values of the wrong type must raise a TypeError or RangeError, synchronously or
// as a rejection, never anything else and never be accepted.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe } from 'vitest';
import { wrongTypeMatrix, type Case } from './fixtures/wrong-types.js';
import { freePort } from '@outpost/test-peers';
import { AlertDispatcher } from '../src/alert-dispatcher.js';
import { webhookAlertSink } from '../src/alert-webhook.js';
import { callbackAlertSink, mqttAlertSink } from '../src/alerts.js';
import type { AlertEvent } from '../src/rules-types.js';

const event: AlertEvent = { kind: 'fired', ruleId: 'r', device: 'd', severity: 'info', at: 0, metric: null, value: null, episodeId: 'r/d/0', message: '' };
const client = { publish: (_t: string, _p: string, _o: object, done: () => void) => done() };
const sink = callbackAlertSink(() => {});
// a receiver that accepts everything, for the valid webhook send
let server: Server;
let hook = webhookAlertSink({ url: 'http://127.0.0.1:9/', retries: 0 });
beforeAll(async () => {
  const port = await freePort();
  server = createServer((_req, res) => void res.writeHead(204).end());
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  hook = webhookAlertSink({ url: `http://127.0.0.1:${port}/`, retries: 0 });
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const CASES: readonly Case[] = [
  { name: 'callbackAlertSink', args: [() => {}, {}], call: (a, b) => callbackAlertSink(a as never, b as never) },
  { name: 'callbackAlertSink options.name', args: ['n'], call: (a) => callbackAlertSink(() => {}, { name: a as string }) },
  { name: 'callbackAlertSink#send', args: [event], call: (a) => sink.send(a as AlertEvent) },
  { name: 'mqttAlertSink', args: [{ client }], call: (a) => mqttAlertSink(a as never) },
  { name: 'mqttAlertSink options', args: [client, 'a/{device}', 1, false, 10, 'm'], call: (a, b, c, d, e, f) => mqttAlertSink({ client: a as never, topic: b as string, qos: c as 1, retain: d as boolean, timeoutMs: e as number, name: f as string }), accepts: { 0: ['object'] } },
  { name: 'mqttAlertSink#send', args: [event], call: (a) => mqttAlertSink({ client: client as never }).send(a as AlertEvent) },
  { name: 'webhookAlertSink', args: [{ url: 'https://example.com/' }], call: (a) => webhookAlertSink(a as never) },
  {
    name: 'webhookAlertSink options',
    args: ['https://example.com/', 3, { baseMs: 1 }, 100, 1000, { a: 'b' }, 'secret', 'w', () => 0.5, async () => {}],
    call: (a, b, c, d, e, f, g, h, i, j) =>
      webhookAlertSink({ url: a as string, retries: b as number, backoff: c as never, timeoutMs: d as number, maxRetryAfterMs: e as number, headers: f as never, secret: g as string, name: h as string, random: i as never, sleep: j as never }),
    accepts: { 2: ['object'], 5: ['object'], 6: ['Uint8Array'] },
  },
  { name: 'webhookAlertSink backoff', args: [1, 2], call: (a, b) => webhookAlertSink({ url: 'https://example.com/', backoff: { baseMs: a as number, maxMs: b as number } }) },
  { name: 'webhookAlertSink#send', args: [event, {}], call: (a, b) => hook.send(a as AlertEvent, b as never), accepts: { 1: ['object'] } },
  { name: 'new AlertDispatcher', args: [[sink], {}], call: (a, b) => new AlertDispatcher(a as never, b as never), accepts: { 0: ['array'] } },
  { name: 'AlertDispatcher sinks[0]', args: [sink], call: (a) => new AlertDispatcher([a as never]) },
  { name: 'AlertDispatcher options', args: [() => {}, 10, 2], call: (a, b, c) => new AlertDispatcher([sink], { onFailure: a as never, maxQueue: b as number, concurrency: c as number }) },
  { name: 'AlertDispatcher#drain', args: [{}], call: (a) => new AlertDispatcher([sink]).drain(a as never) },
  { name: 'AlertDispatcher#drain options.timeoutMs', args: [10], call: (a) => new AlertDispatcher([sink]).drain({ timeoutMs: a as number }) },
  { name: 'webhookAlertSink#send context', args: [() => {}, new AbortController().signal], call: (a, b) => hook.send(event, { onRetry: a as never, signal: b as never }), accepts: { 1: ['object'] } },
  { name: 'AlertDispatcher#dispatch', args: [event], call: (a) => new AlertDispatcher([sink]).dispatch(a as AlertEvent), accepts: { 0: ['array'] } },
];

describe('wrong-type matrix: alerts', () => {
  wrongTypeMatrix(CASES, { skip: ['undefined'] });
});
