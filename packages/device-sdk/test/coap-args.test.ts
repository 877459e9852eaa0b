/** Wrong-type and bad-value matrix for the public CoAP API: TypeError vs RangeError. */
import { describe, expect, it } from 'vitest';
import { connectCoap, decodeMessage, encodeMessage, formatCode, parseCode, resolveTiming, type CoapClient } from '../src/coap/index.js';
import { FakeLink } from './fixtures/coap-link.js';

const WRONG: [string, unknown][] = [['undefined', undefined], ['null', null], ['number', 42], ['string', 'x'], ['boolean', true], ['object', {}], ['array', []], ['function', () => {}], ['bigint', 1n], ['symbol', Symbol('s')]];

type Case = { name: string; accepts: string[]; call: (v: unknown) => unknown };

// Requests that pass validation time out at once (1 ms, no retransmission): nothing answers.
const client = (): Promise<CoapClient> => connectCoap('coap://127.0.0.1', { insecure: true, transport: new FakeLink().binder, timing: { ackTimeout: 1, maxRetransmit: 0 }, responseTimeout: 1 });

const CASES: Case[] = [
  { name: 'decodeMessage(bytes)', accepts: [], call: (v) => decodeMessage(v as Uint8Array) },
  { name: 'encodeMessage(msg)', accepts: ['object', 'array'], call: (v) => encodeMessage(v as never) },
  { name: 'formatCode(code)', accepts: ['number'], call: (v) => formatCode(v as number) },
  { name: 'parseCode(text)', accepts: ['string'], call: (v) => parseCode(v as string) },
  { name: 'resolveTiming(partial)', accepts: ['undefined', 'object', 'array'], call: (v) => resolveTiming(v as never) },
  { name: 'connectCoap(url)', accepts: ['string'], call: (v) => connectCoap(v as string, { insecure: true, transport: new FakeLink().binder }) },
  { name: 'connectCoap(url, options)', accepts: ['undefined', 'object', 'array'], call: (v) => connectCoap('coap://127.0.0.1', v as never) },
  { name: 'options.psk', accepts: ['undefined'], call: (v) => connectCoap('coaps://127.0.0.1', { psk: v as never, transport: new FakeLink().binder }) },
  { name: 'options.timing', accepts: ['undefined', 'object', 'array'], call: (v) => connectCoap('coap://127.0.0.1', { insecure: true, timing: v as never, transport: new FakeLink().binder }) },
  { name: 'options.insecure', accepts: ['undefined', 'boolean'], call: (v) => connectCoap('coap://127.0.0.1', { insecure: v as boolean, transport: new FakeLink().binder }) },
  { name: 'options.blockSize', accepts: ['undefined', 'number'], call: (v) => connectCoap('coap://127.0.0.1', { insecure: true, blockSize: v as 16, transport: new FakeLink().binder }) },
  { name: 'options.clock', accepts: ['undefined'], call: (v) => connectCoap('coap://127.0.0.1', { insecure: true, clock: v as never, transport: new FakeLink().binder }) },
  { name: 'options.handshakeAttempts', accepts: ['undefined', 'number'], call: (v) => connectCoap('coap://127.0.0.1', { insecure: true, handshakeAttempts: v as number, transport: new FakeLink().binder }) },
  { name: 'options.onTransmit', accepts: ['undefined', 'function'], call: (v) => connectCoap('coap://127.0.0.1', { insecure: true, onTransmit: v as never, transport: new FakeLink().binder }) },
  { name: 'client.get(path)', accepts: ['string'], call: async (v) => (await client()).request('GET', v as string, undefined, { signal: AbortSignal.abort() }) },
  { name: 'client.request(method)', accepts: ['string'], call: async (v) => (await client()).request(v as 'GET', '/x', undefined, { signal: AbortSignal.abort() }) },
  { name: 'client.get(path, options)', accepts: ['undefined', 'object', 'array'], call: async (v) => (await client()).get('/x', (v === undefined ? { signal: AbortSignal.abort() } : v) as never) },
  { name: 'options.confirmable', accepts: ['undefined', 'boolean'], call: async (v) => (await client()).get('/x', { confirmable: v as boolean, signal: AbortSignal.abort() }) },
  { name: 'options.format', accepts: ['undefined', 'number', 'string'], call: async (v) => (await client()).put('/x', 'b', { format: v as never, signal: AbortSignal.abort() }) },
  { name: 'options.query', accepts: ['undefined', 'object', 'array'], call: async (v) => (await client()).get('/x', { query: v as never, signal: AbortSignal.abort() }) },
  { name: 'options.signal', accepts: ['undefined'], call: async (v) => (await client()).get('/x', { signal: v as AbortSignal }) },
];

async function outcome(call: () => unknown): Promise<unknown> {
  try {
    await call();
    return undefined;
  } catch (e) {
    return e;
  }
}

describe('wrong-type matrix', () => {
  for (const c of CASES) {
    for (const [kind, value] of WRONG) {
      const accepted = c.accepts.includes(kind);
      it(`${c.name} with ${kind}: ${accepted ? 'no TypeError' : 'TypeError'}`, async () => {
        const r = await outcome(() => c.call(value));
        if (accepted) expect(r).not.toBeInstanceOf(TypeError);
        else expect(r).toBeInstanceOf(TypeError);
      });
    }
  }
});

describe('a request that cannot be encoded', () => {
  it('fails with RangeError and does not block the next request (NSTART slot released)', async () => {
    const link = new FakeLink();
    const c = await connectCoap('coap://127.0.0.1', { insecure: true, transport: link.binder, timing: { ackTimeout: 1, maxRetransmit: 0 } });
    await expect(c.get('/x', { options: [{ number: 70000, value: new Uint8Array(0) }] })).rejects.toBeInstanceOf(RangeError);
    await expect(c.get('/y')).rejects.toMatchObject({ code: 'TIMEOUT' }); // sent, then timed out
    expect(link.sent).toHaveLength(1);
  });
});

describe('bad values: RangeError', () => {
  const BAD: [string, () => unknown][] = [
    ['url scheme http:', () => connectCoap('http://x', { insecure: true })],
    ['url with a path', () => connectCoap('coap://127.0.0.1/time', { insecure: true })],
    ['not a URL', () => connectCoap('::::', { insecure: true })],
    ['blockSize 100', () => connectCoap('coap://127.0.0.1', { insecure: true, blockSize: 100 as 16 })],
    ['blockSize 2048', () => connectCoap('coap://127.0.0.1', { insecure: true, blockSize: 2048 as 16 })],
    ['empty psk key', () => connectCoap('coaps://127.0.0.1', { psk: { identity: 'd', key: '' } })],
    ['empty psk identity', () => connectCoap('coaps://127.0.0.1', { psk: { identity: '', key: 'k' } })],
    ['handshakeAttempts 1.5', () => connectCoap('coap://127.0.0.1', { insecure: true, handshakeAttempts: 1.5 })],
    ['maxBodySize 0', () => connectCoap('coap://127.0.0.1', { insecure: true, maxBodySize: 0 })],
    ['responseTimeout -1', () => connectCoap('coap://127.0.0.1', { insecure: true, responseTimeout: -1 })],
    ['nstart 0', () => connectCoap('coap://127.0.0.1', { insecure: true, timing: { nstart: 0 } })],
    ['unknown method', async () => (await client()).request('BREW' as 'GET', '/')],
    ['unknown format name', async () => (await client()).put('/x', 'b', { format: 'text/html' as 'text/plain' })],
    ['token over 8 bytes', () => encodeMessage({ type: 'CON', code: 1, messageId: 1, token: new Uint8Array(9), options: [], payload: new Uint8Array(0) })],
    ['messageId 65536', () => encodeMessage({ type: 'CON', code: 1, messageId: 65536, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) })],
    ['type "XYZ"', () => encodeMessage({ type: 'XYZ' as 'CON', code: 1, messageId: 1, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) })],
    ['formatCode(256)', () => formatCode(256)],
  ];
  for (const [name, call] of BAD) {
    it(name, async () => {
      expect(await outcome(call)).toBeInstanceOf(RangeError);
    });
  }
});
