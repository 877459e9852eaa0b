/**
 * Loss and silence: libcoap dropping 30% of its datagrams (`-l 30%`), and a UDP socket that
 * swallows everything. Timing is checked as protocol logic: the timeouts the state machine
 * armed (exact windows, RFC 7252 §4.2) and that no retransmission came early. No upper
 * wall-clock bound is asserted.
 */
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoapError, connectCoap, resolveTiming, type TransmitEvent } from '../src/coap/index.js';
import { startCoapServer, type CoapServer } from './fixtures/coap-server.js';

let lossy: CoapServer;
beforeAll(async () => {
  lossy = await startCoapServer({ loss: '30%' });
});
afterAll(async () => {
  await lossy?.stop();
});

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('libcoap with -l 30%', () => {
  it('every request completes and retransmissions follow the RFC doubling', async () => {
    // Small ACK_TIMEOUT keeps the run short; MAX_RETRANSMIT 8 makes a give-up (0.3^9 per
    // request) practically impossible, so "every request completes" is a fair demand.
    const timing = { ackTimeout: 40, ackRandomFactor: 1.5, maxRetransmit: 8 };
    const tx: TransmitEvent[] = [];
    const client = await connectCoap(lossy.url, { insecure: true, timing, onTransmit: (e) => tx.push(e) });
    try {
      const n = 30;
      for (let i = 0; i < n; i++) {
        const res = await client.put('/example_data', `reading ${i}`);
        expect(res.text()).toBe(`reading ${i}`);
      }
      const byExchange = new Map<string, TransmitEvent[]>();
      for (const e of tx) {
        const k = `${e.messageId}/${hex(e.token)}`;
        byExchange.set(k, [...(byExchange.get(k) ?? []), e]);
      }
      expect(byExchange.size).toBe(n);
      let retransmitted = 0;
      for (const events of byExchange.values()) {
        events.forEach((e, i) => expect(e.attempt).toBe(i));
        const t0 = events[0]!.timeoutMs!;
        for (const [i, e] of events.entries()) {
          // RFC 7252 §4.2: timeout n lies in [ACK_TIMEOUT·2^n, ACK_TIMEOUT·ACK_RANDOM_FACTOR·2^n] and doubles.
          const t = e.timeoutMs!;
          expect(t).toBeGreaterThanOrEqual(timing.ackTimeout * 2 ** i);
          expect(t).toBeLessThanOrEqual(timing.ackTimeout * timing.ackRandomFactor * 2 ** i);
          expect(t).toBe(t0 * 2 ** i);
          const next = events[i + 1];
          // the retransmission came no earlier than the armed timeout (systemClock never fires early)
          if (next !== undefined) expect(next.at - e.at).toBeGreaterThanOrEqual(t - 1e-6);
        }
        if (events.length > 1) retransmitted++;
      }
      // with 30% of the server's answers dropped, some of 30 requests needed a retransmission
      expect(retransmitted).toBeGreaterThan(0);
      expect(client.stats.retransmissions).toBe(tx.length - n);
    } finally {
      await client.close();
    }
  });
});

describe('a server that never answers', () => {
  it('ends in TIMEOUT within MAX_TRANSMIT_WAIT after 1 + MAX_RETRANSMIT transmissions', async () => {
    const sink = createSocket('udp4');
    let received = 0;
    sink.on('message', () => received++);
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
    const timing = { ackTimeout: 20, ackRandomFactor: 1.5, maxRetransmit: 4 };
    const tx: TransmitEvent[] = [];
    const client = await connectCoap(`coap://127.0.0.1:${sink.address().port}`, { insecure: true, timing, onTransmit: (e) => tx.push(e) });
    try {
      const err = await client.get('/time').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CoapError);
      const e = err as CoapError;
      expect(e.code).toBe('TIMEOUT');
      expect(e.message).toMatch(/no acknowledgement after \d+ ms \(4 retransmissions/);
      expect(tx).toHaveLength(5);
      expect(received).toBe(5);
      // the armed timeouts add up to at most MAX_TRANSMIT_WAIT (RFC 7252 §4.8.2) …
      const armed = tx.reduce((s, x) => s + x.timeoutMs!, 0);
      const { maxTransmitWait } = resolveTiming(timing);
      expect(armed).toBeLessThanOrEqual(maxTransmitWait);
      expect(armed).toBeGreaterThanOrEqual(timing.ackTimeout * 31);
      // … and the reported wait covers them (it is measured, and timers never fire early)
      expect(e.waitedMs!).toBeGreaterThanOrEqual(armed - 1e-6);
    } finally {
      await client.close();
      await new Promise<void>((r) => sink.close(() => r()));
    }
  });
});
