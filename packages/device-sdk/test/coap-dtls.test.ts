/**
 * coaps:// with DTLS 1.2 PSK (node-dtls-client 1.x) against coap-server-openssl -k KEY,
 * which listens for DTLS on port + 1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoapError, connectCoap } from '../src/coap/index.js';
import { startCoapServer, type CoapServer } from './fixtures/coap-server.js';

const KEY = 'sensor-17-secret-key';
let server: CoapServer;
let hinted: CoapServer;
let lossy: CoapServer;

beforeAll(async () => {
  [server, hinted, lossy] = await Promise.all([startCoapServer({ key: KEY }), startCoapServer({ key: KEY, hint: 'CoAP' }), startCoapServer({ key: KEY, loss: '30%' })]);
});
afterAll(async () => {
  await Promise.all([server?.stop(), hinted?.stop(), lossy?.stop()]);
});

describe('DTLS-PSK', () => {
  it('the right key: GET, PUT and block-wise over coaps://', async () => {
    const client = await connectCoap(server.secureUrl, { psk: { identity: 'sensor-17', key: KEY }, blockSize: 16 });
    try {
      expect(client.origin).toBe(server.secureUrl);
      const res = await client.get('/time');
      expect(res.code).toBe('2.05');
      const body = 'x'.repeat(70);
      expect((await client.put('/example_data', body)).text()).toBe(body);
      expect((await client.get('/example_data')).text()).toBe(body);
    } finally {
      await client.close();
    }
  });

  it('the key as bytes works the same', async () => {
    const client = await connectCoap(server.secureUrl, { psk: { identity: 'sensor-17', key: new TextEncoder().encode(KEY) } });
    try {
      expect((await client.get('/time')).code).toBe('2.05');
    } finally {
      await client.close();
    }
  });

  it('a wrong key is refused with DTLS_HANDSHAKE_FAILED', async () => {
    const err = await connectCoap(server.secureUrl, { psk: { identity: 'sensor-17', key: 'wrong-key' }, handshakeTimeout: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CoapError);
    expect((err as CoapError).code).toBe('DTLS_HANDSHAKE_FAILED');
    expect((err as CoapError).message).not.toContain('wrong-key'); // no secret in messages
  });

  it('a server with a PSK identity hint gives DTLS_UNSUPPORTED instead of an uncaught exception', async () => {
    const err = await connectCoap(hinted.secureUrl, { psk: { identity: 'sensor-17', key: KEY }, handshakeTimeout: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CoapError);
    expect((err as CoapError).code).toBe('DTLS_UNSUPPORTED');
    expect((err as CoapError).message).toContain('-h ""');
  });

  it('coaps:// without a PSK and coap:// without insecure: true are refused', async () => {
    await expect(connectCoap(server.secureUrl)).rejects.toMatchObject({ code: 'PSK_REQUIRED' });
    await expect(connectCoap(server.url)).rejects.toMatchObject({ code: 'PSK_REQUIRED' });
  });

  it('survives 30% loss: the handshake is re-attempted, CoAP retransmits inside the session', async () => {
    // node-dtls-client never retransmits a handshake flight: with 3–4 server datagrams per
    // handshake an attempt gets through about 1 time in 3, so allow many short attempts.
    const client = await connectCoap(lossy.secureUrl, {
      psk: { identity: 'sensor-17', key: KEY },
      handshakeTimeout: 500,
      handshakeAttempts: 30,
      timing: { ackTimeout: 40, maxRetransmit: 8 },
    });
    try {
      for (let i = 0; i < 20; i++) expect((await client.put('/example_data', `secure ${i}`)).text()).toBe(`secure ${i}`);
      expect(client.stats.retransmissions).toBeGreaterThan(0); // P(no loss in 20 exchanges) = 0.7^20 ≈ 0.08%
    } finally {
      await client.close();
    }
  });
});
