/**
 * The CoAP client against a real peer: libcoap 4.3.1's coap-server-openssl on a free port.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoapError, connectCoap, type CoapClient } from '../src/coap/index.js';
import { startCoapServer, type CoapServer } from './fixtures/coap-server.js';

let server: CoapServer;
let client: CoapClient;

beforeAll(async () => {
  server = await startCoapServer();
  client = await connectCoap(server.url, { insecure: true });
});
afterAll(async () => {
  await client?.close();
  await server?.stop();
});

describe('coap-server-openssl: methods', () => {
  it('GET /time answers 2.05 with the server clock as text', async () => {
    const res = await client.get('/time');
    expect(res.code).toBe('2.05');
    expect(res.format).toBeUndefined(); // text/plain is the default (RFC 7252 §5.10.3)
    expect(res.text()).toMatch(/^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d$/);
  });

  it('GET / as a NON request gets the server banner', async () => {
    const res = await client.get('/', { confirmable: false });
    expect(res.text()).toContain('libcoap');
  });

  it('PUT then GET /example_data round-trips the data', async () => {
    const put = await client.put('/example_data', 'hello outpost');
    expect(put.code).toMatch(/^2\.0[14]$/); // 2.01 the first time
    expect(put.text()).toBe('hello outpost'); // -e echoes PUT data
    expect((await client.get('/example_data')).text()).toBe('hello outpost');
  });

  it('POST, PUT, GET and DELETE on a dynamically created resource', async () => {
    const created = await client.put('/dyn/one', 'v1');
    expect(created.code).toBe('2.01');
    expect((await client.get('/dyn/one')).text()).toBe('v1');
    const posted = await client.post('/dyn/two', 'v2');
    expect(posted.ok).toBe(true);
    expect((await client.delete('/dyn/one')).code).toBe('2.02');
    const gone = await client.request('GET', '/dyn/one');
    expect(gone.code).toBe('4.04');
    await expect(client.get('/dyn/one')).rejects.toMatchObject({ code: 'RESPONSE_ERROR', responseCode: '4.04' });
  });

  it('FETCH and PATCH where libcoap does not support them: RESPONSE_ERROR 4.05', async () => {
    const err = await client.fetch('/example_data', 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CoapError);
    expect(err).toMatchObject({ code: 'RESPONSE_ERROR', responseCode: '4.05' });
    expect((await client.request('PATCH', '/example_data', 'x')).code).toBe('4.05');
  });

  it('carries CBOR and SenML+CBOR bodies with their Content-Format', async () => {
    const res = await client.put('/example_data', [{ bn: 'urn:dev:outpost:1/', n: 'temp', u: 'Cel', v: 21.5 }], { format: 'application/senml+cbor' });
    expect(res.format).toBe(112);
    expect(res.value()).toEqual([{ bn: 'urn:dev:outpost:1/', n: 'temp', u: 'Cel', v: 21.5 }]);
    const cbor = await client.put('/example_data', { rate: 10, on: true }, { format: 'application/cbor' });
    expect(cbor.value()).toEqual({ rate: 10, on: true });
  });
});

describe('coap-server-openssl: block-wise (RFC 7959) with 16-byte blocks', () => {
  const body = Array.from({ length: 10 }, (_, i) => `line ${String(i).padStart(2, '0')} of data\n`).join('') + 'end'; // 163 bytes

  it('PUT sends 11 Block1 blocks and GET reassembles 11 Block2 blocks', async () => {
    const c = await connectCoap(server.url, { insecure: true, blockSize: 16 });
    try {
      const before = c.stats.sent;
      const put = await c.put('/example_data', body);
      expect(put.code).toBe('2.04');
      expect(put.text()).toBe(body); // echo, itself returned block-wise
      const afterPut = c.stats.sent;
      expect(afterPut - before).toBeGreaterThanOrEqual(11);
      const got = await c.get('/example_data');
      expect(got.text()).toBe(body);
      expect(c.stats.sent - afterPut).toBe(11); // ceil(163 / 16)
    } finally {
      await c.close();
    }
  });

  it('maxBodySize bounds the reassembly', async () => {
    const c = await connectCoap(server.url, { insecure: true, blockSize: 16, maxBodySize: 64 });
    try {
      await client.put('/example_data', body);
      await expect(c.get('/example_data')).rejects.toMatchObject({ code: 'BODY_TOO_LARGE' });
    } finally {
      await c.close();
    }
  });
});

describe('coap-server-openssl: observe (RFC 7641)', () => {
  it('observes /time for several notifications and cancels cleanly', async () => {
    const c = await connectCoap(server.url, { insecure: true });
    try {
      const ac = new AbortController();
      const seen: { text: string; observe: number | undefined }[] = [];
      for await (const n of c.observe('/time', { signal: ac.signal })) {
        seen.push({ text: n.text(), observe: n.observe });
        if (seen.length === 3) ac.abort();
      }
      expect(seen).toHaveLength(3);
      const seqs = seen.map((s) => s.observe!);
      expect(seqs.every((s) => typeof s === 'number')).toBe(true);
      expect(seqs[1]! > seqs[0]! && seqs[2]! > seqs[1]!).toBe(true);
      expect(new Set(seen.map((s) => s.text)).size).toBe(3); // one per second
      // deregistered: the server sends no more notifications
      const received = c.stats.received;
      await new Promise((r) => setTimeout(r, 1500));
      expect(c.stats.received).toBe(received);
    } finally {
      await c.close();
    }
  });

  it('observes /example_data and sees a PUT from another client; break deregisters', async () => {
    const c = await connectCoap(server.url, { insecure: true });
    try {
      await client.put('/example_data', 'before');
      const texts: string[] = [];
      const obs = c.observe('/example_data');
      for await (const n of obs) {
        texts.push(n.text());
        if (texts.length === 1) await client.put('/example_data', 'after');
        else break;
      }
      expect(texts).toEqual(['before', 'after']);
      const received = c.stats.received;
      await client.put('/example_data', 'unobserved');
      await new Promise((r) => setTimeout(r, 300));
      expect(c.stats.received).toBe(received);
    } finally {
      await c.close();
    }
  });
});
