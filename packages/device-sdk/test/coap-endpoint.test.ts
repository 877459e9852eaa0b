/**
 * The message layer as a state machine on a manual clock: retransmission times to the
 * millisecond (RFC 7252 §4.2), NSTART (§4.7), deduplication (§4.5), ACK/RST handling,
 * separate responses (§5.2.2), per-instance timing (§4.8).
 */
import { describe, expect, it } from 'vitest';
import { CoapError, connectCoap, resolveTiming, type CoapClient, type TransmissionParameters, type TransmitEvent } from '../src/coap/index.js';
import { ManualClock } from './fixtures/coap-clock.js';
import { FakeLink } from './fixtures/coap-link.js';

async function setup(timing: Partial<TransmissionParameters> = {}, random = 0, extra: { responseTimeout?: number } = {}): Promise<{ clock: ManualClock; link: FakeLink; client: CoapClient; tx: TransmitEvent[] }> {
  const clock = new ManualClock();
  const link = new FakeLink();
  const tx: TransmitEvent[] = [];
  const client = await connectCoap('coap://127.0.0.1', { insecure: true, transport: link.binder, clock, random: () => random, timing, onTransmit: (e) => tx.push(e), ...extra });
  return { clock, link, client, tx };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
const ACK_205 = 0x45;

describe('RFC 7252 §4.2 retransmission on a manual clock', () => {
  it('defaults, random 0: sends at 0, 2, 6, 14, 30 s and fails with TIMEOUT at 62 s', async () => {
    const { clock, link, client, tx } = await setup();
    const p = client.get('/time').catch((e: unknown) => e);
    await flush();
    expect(tx.map((e) => e.at)).toEqual([0]);
    clock.advance(61_999);
    expect(tx.map((e) => [e.at, e.attempt, e.timeoutMs])).toEqual([
      [0, 0, 2000],
      [2000, 1, 4000],
      [6000, 2, 8000],
      [14_000, 3, 16_000],
      [30_000, 4, 32_000],
    ]);
    expect(new Set(link.sent.map((m) => m.messageId)).size).toBe(1); // same message id each time
    clock.advance(1);
    const err = (await p) as CoapError;
    expect(err).toBeInstanceOf(CoapError);
    expect(err.code).toBe('TIMEOUT');
    expect(err.waitedMs).toBe(62_000);
    expect(err.message).toContain('62000 ms');
    expect(client.stats.retransmissions).toBe(4);
  });

  it('random 0.5 (initial timeout 2.5 s): 0, 2.5, 7.5, 17.5, 37.5 s; TIMEOUT at 77.5 s', async () => {
    const { clock, client, tx } = await setup({}, 0.5);
    const p = client.get('/x').catch((e: unknown) => e);
    await flush();
    clock.advance(77_499);
    expect(tx.map((e) => e.at)).toEqual([0, 2500, 7500, 17_500, 37_500]);
    clock.advance(1);
    expect(await p).toMatchObject({ code: 'TIMEOUT', waitedMs: 77_500 });
  });

  it('the worst case (random → 1) gives up exactly at MAX_TRANSMIT_WAIT', async () => {
    const { clock, client } = await setup({}, 1 - Number.EPSILON);
    const p = client.get('/x').catch((e: unknown) => e);
    await flush();
    clock.advance(93_000);
    const err = (await p) as CoapError;
    expect(err.code).toBe('TIMEOUT');
    expect(err.waitedMs!).toBeCloseTo(resolveTiming().maxTransmitWait, 6);
  });

  it('per-instance parameters: two clients in one process keep their own timing', async () => {
    const a = await setup({ ackTimeout: 100, maxRetransmit: 2 });
    const b = await setup({ ackTimeout: 1000, maxRetransmit: 1 });
    const pa = a.client.get('/a').catch((e: unknown) => e);
    const pb = b.client.get('/b').catch((e: unknown) => e);
    await flush();
    a.clock.advance(10_000);
    b.clock.advance(10_000);
    expect(a.tx.map((e) => e.at)).toEqual([0, 100, 300]);
    expect(b.tx.map((e) => e.at)).toEqual([0, 1000]);
    expect(await pa).toMatchObject({ code: 'TIMEOUT', waitedMs: 700 });
    expect(await pb).toMatchObject({ code: 'TIMEOUT', waitedMs: 3000 });
  });

  it('a piggybacked ACK ends retransmission and resolves', async () => {
    const { clock, link, client, tx } = await setup();
    const p = client.get('/time');
    await flush();
    clock.advance(2000); // one retransmission
    const req = link.last();
    link.reply({ type: 'ACK', code: ACK_205, messageId: req.messageId, token: req.token, payload: new TextEncoder().encode('now') });
    const res = await p;
    expect(res.code).toBe('2.05');
    expect(res.text()).toBe('now');
    clock.advance(100_000);
    expect(tx).toHaveLength(2);
    expect(clock.pending).toBe(0);
  });

  it('empty ACK, then a separate CON response that the client ACKs; a duplicate is ACKed again but not delivered', async () => {
    const { clock, link, client } = await setup();
    const p = client.get('/slow');
    await flush();
    const req = link.last();
    link.reply({ type: 'ACK', messageId: req.messageId });
    clock.advance(60_000); // no retransmission after the empty ACK
    expect(link.sent).toHaveLength(1);
    link.reply({ type: 'CON', code: ACK_205, messageId: 0x7000, token: req.token });
    expect(link.last()).toMatchObject({ type: 'ACK', code: 0, messageId: 0x7000 });
    expect((await p).code).toBe('2.05');
    link.reply({ type: 'CON', code: ACK_205, messageId: 0x7000, token: req.token }); // the ACK was lost
    expect(link.sent.filter((m) => m.type === 'ACK')).toHaveLength(2);
    expect(client.stats.duplicates).toBe(1);
    // after EXCHANGE_LIFETIME the id is forgotten: the same id with a now unknown token gets RST
    clock.advance(resolveTiming().exchangeLifetime);
    link.reply({ type: 'CON', code: ACK_205, messageId: 0x7000, token: req.token });
    expect(link.last()).toMatchObject({ type: 'RST', messageId: 0x7000 });
  });

  it('a separate response that overtakes a lost ACK also stops retransmission', async () => {
    const { clock, link, client, tx } = await setup();
    const p = client.get('/x');
    await flush();
    const req = link.last();
    link.reply({ type: 'NON', code: ACK_205, messageId: 9, token: req.token });
    expect((await p).code).toBe('2.05');
    clock.advance(100_000);
    expect(tx).toHaveLength(1);
  });

  it('the separate response has its own timeout: TIMEOUT after responseTimeout', async () => {
    const { clock, link, client } = await setup({}, 0, { responseTimeout: 5000 });
    const p = client.get('/slow').catch((e: unknown) => e);
    await flush();
    link.reply({ type: 'ACK', messageId: link.last().messageId });
    clock.advance(5000);
    expect(await p).toMatchObject({ code: 'TIMEOUT', waitedMs: 5000 });
  });

  it('RST fails the request with RESET', async () => {
    const { link, client } = await setup();
    const p = client.get('/x').catch((e: unknown) => e);
    await flush();
    link.reply({ type: 'RST', messageId: link.last().messageId });
    expect(await p).toMatchObject({ code: 'RESET' });
  });

  it('NON requests are sent once and wait responseTimeout', async () => {
    const { clock, link, client, tx } = await setup({}, 0, { responseTimeout: 3000 });
    const p = client.get('/x', { confirmable: false }).catch((e: unknown) => e);
    await flush();
    expect(link.last().type).toBe('NON');
    clock.advance(3000);
    expect(tx).toHaveLength(1);
    expect(tx[0]!.timeoutMs).toBeUndefined();
    expect(await p).toMatchObject({ code: 'TIMEOUT' });
  });

  it('NSTART 1 holds the second request until the first is acknowledged; NSTART 2 sends both', async () => {
    const one = await setup();
    const p1 = one.client.get('/a');
    const p2 = one.client.get('/b');
    await flush();
    expect(one.link.sent).toHaveLength(1);
    const r1 = one.link.last();
    one.link.reply({ type: 'ACK', code: ACK_205, messageId: r1.messageId, token: r1.token });
    await p1;
    expect(one.link.sent).toHaveLength(2);
    const r2 = one.link.last();
    expect(r2.messageId).toBe((r1.messageId + 1) & 0xffff);
    one.link.reply({ type: 'ACK', code: ACK_205, messageId: r2.messageId, token: r2.token });
    await p2;
    const two = await setup({ nstart: 2 });
    void two.client.get('/a').catch(() => {});
    void two.client.get('/b').catch(() => {});
    void two.client.get('/c').catch(() => {});
    await flush();
    expect(two.link.sent).toHaveLength(2);
    await two.client.close();
  });

  it('abort stops retransmission and rejects with ABORTED', async () => {
    const { clock, client, tx } = await setup();
    const ac = new AbortController();
    const p = client.get('/x', { signal: ac.signal }).catch((e: unknown) => e);
    await flush();
    ac.abort();
    expect(await p).toMatchObject({ code: 'ABORTED' });
    clock.advance(100_000);
    expect(tx).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });

  it('close rejects pending requests with CLOSED and later ones too', async () => {
    const { client } = await setup();
    const p = client.get('/x').catch((e: unknown) => e);
    await flush();
    await client.close();
    expect(await p).toMatchObject({ code: 'CLOSED' });
    await expect(client.get('/y')).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('malformed datagrams are counted and dropped; a malformed CON gets RST; the client keeps working', async () => {
    const { link, client } = await setup();
    const p = client.get('/x');
    await flush();
    const req = link.last();
    const deliver = (b: Uint8Array): void => link.deliverRaw(b);
    deliver(new Uint8Array([0x40, 0x45, 0x12, 0x34, 0xff])); // CON, payload marker with no payload
    expect(link.last()).toMatchObject({ type: 'RST', messageId: 0x1234 });
    deliver(new Uint8Array([0x01]));
    expect(client.stats.malformed).toBe(2);
    link.reply({ type: 'ACK', code: ACK_205, messageId: req.messageId, token: req.token });
    expect((await p).code).toBe('2.05');
  });

  it('a CON response for an unknown token is rejected with RST; a CoAP ping gets RST', async () => {
    const { link } = await setup();
    link.reply({ type: 'CON', code: ACK_205, messageId: 77, token: new Uint8Array([1, 2, 3]) });
    expect(link.last()).toMatchObject({ type: 'RST', messageId: 77 });
    link.reply({ type: 'CON', messageId: 78 });
    expect(link.last()).toMatchObject({ type: 'RST', messageId: 78 });
  });
});

describe('RFC 7252 §4.8.2 derived times', () => {
  it('defaults give 45 / 93 / 247 / 145 s', () => {
    const t = resolveTiming();
    expect([t.maxTransmitSpan, t.maxTransmitWait, t.exchangeLifetime, t.nonLifetime]).toEqual([45_000, 93_000, 247_000, 145_000]);
  });
  it('rejects ackRandomFactor below 1 and non-integer maxRetransmit', () => {
    expect(() => resolveTiming({ ackRandomFactor: 0.9 })).toThrow(RangeError);
    expect(() => resolveTiming({ maxRetransmit: 1.5 })).toThrow(RangeError);
    expect(() => resolveTiming({ ackTimeout: '2' as unknown as number })).toThrow(TypeError);
  });
});
