/**
 * The CoAP client against a second real server: node-coap 1.x (the `coap` npm package) in a
 * child process, beside the libcoap suite (coap-libcoap.test.ts). Methods, observe, Block2
 * GET and Block1 PUT of 5,000 bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectCoap, type CoapClient, type TransmitEvent } from '../src/coap/index.js';
import { startNodeCoapServer, type NodeCoapServer } from './fixtures/node-coap-server.js';

let server: NodeCoapServer;
let client: CoapClient;

const big = new Uint8Array(5000).map((_, i) => (i * 7 + (i >> 8)) & 0xff);
const digest = (b: Uint8Array): string => `${b.length} ${b.reduce((s, x) => (s + x) & 0xffff, 0)}`;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

beforeAll(async () => {
  server = await startNodeCoapServer();
  client = await connectCoap(server.url, { insecure: true });
});
afterAll(async () => {
  await client?.close();
  await server?.stop();
});

describe('node-coap server: methods', () => {
  it('GET answers 2.05 with the text', async () => {
    const res = await client.get('/hello');
    expect(res.code).toBe('2.05');
    expect(res.text()).toBe('hello from node-coap');
  });

  it('PUT creates (2.01), PUT again changes (2.04), GET reads back, DELETE removes (2.02), then 4.04', async () => {
    await client.request('DELETE', '/store');
    expect((await client.put('/store', 'v1')).code).toBe('2.01');
    const again = await client.put('/store', 'v2');
    expect(again.code).toBe('2.04');
    expect(again.text()).toBe(digest(new TextEncoder().encode('v2')));
    expect((await client.get('/store')).text()).toBe('v2');
    expect((await client.delete('/store')).code).toBe('2.02');
    await expect(client.get('/store')).rejects.toMatchObject({ code: 'RESPONSE_ERROR', responseCode: '4.04' });
  });

  it('POST and FETCH (RFC 8132) carry their bodies', async () => {
    expect((await client.post('/store', 'posted')).ok).toBe(true);
    const f = await client.fetch('/store', 'abc');
    expect(f.text()).toBe(digest(new TextEncoder().encode('abc')));
  });

  it('a NON request gets its response', async () => {
    expect((await client.get('/hello', { confirmable: false })).text()).toBe('hello from node-coap');
  });
});

describe('node-coap server: block-wise (RFC 7959)', () => {
  it('GET of 5,000 bytes reassembles node-coap\'s Block2 responses', async () => {
    const res = await client.get('/big');
    expect(res.payload.length).toBe(5000);
    expect(Buffer.compare(res.payload, big)).toBe(0);
  });

  it('GET of 5,000 bytes with 64-byte blocks', async () => {
    const c = await connectCoap(server.url, { insecure: true, blockSize: 64 });
    try {
      const res = await c.get('/big');
      expect(Buffer.compare(res.payload, big)).toBe(0);
    } finally {
      await c.close();
    }
  });

  it('PUT of 5,000 bytes goes Block1 under one token and node-coap reassembles it (RFC 7959 §2.3)', async () => {
    const sent: TransmitEvent[] = [];
    const c = await connectCoap(server.url, { insecure: true, onTransmit: (e) => sent.push(e) });
    try {
      const res = await c.put('/store', big);
      expect(res.code).toMatch(/^2\.0[14]$/);
      expect(res.text()).toBe(digest(big));
      const firsts = sent.filter((e) => e.attempt === 0);
      expect(firsts.length).toBe(5); // ceil(5000 / 1024)
      expect(new Set(firsts.map((e) => hex(e.token))).size).toBe(1);
      expect(Buffer.compare((await c.get('/store')).payload, big)).toBe(0);
    } finally {
      await c.close();
    }
  });

  it('PUT of 5,000 bytes in 16-byte blocks (313 blocks)', async () => {
    const c = await connectCoap(server.url, { insecure: true, blockSize: 16 });
    try {
      const res = await c.put('/store', big);
      expect(res.text()).toBe(digest(big));
    } finally {
      await c.close();
    }
  });
});

describe('node-coap server: observe (RFC 7641)', () => {
  it('gets the current value, then one notification per change, and deregisters', async () => {
    const start = Number((await client.get('/counter')).text());
    const ac = new AbortController();
    const seen: number[] = [];
    for await (const n of client.observe('/counter', { signal: ac.signal })) {
      seen.push(Number(n.text()));
      if (seen.length === 3) ac.abort();
      else await client.put('/counter', '');
    }
    expect(seen).toEqual([start, start + 1, start + 2]);
  });
});
