/**
 * Client logic that a stock libcoap cannot provoke on demand, against an in-memory server
 * (FakeLink) on a manual clock: Block1 size renegotiation, an ETag change during Block2,
 * stale and error notifications, a notification with more blocks, hostile datagrams.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBlock, encodeBlock } from '../src/coap/block.js';
import { CoapOptionNumber, connectCoap, type CoapClient, type CoapMessage } from '../src/coap/index.js';
import { encodeUintOption, findOption } from '../src/coap/codec.js';
import { ManualClock } from './fixtures/coap-clock.js';
import { FakeLink } from './fixtures/coap-link.js';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

async function setup(blockSize?: 16 | 32 | 64): Promise<{ link: FakeLink; client: CoapClient; clock: ManualClock }> {
  const link = new FakeLink();
  const clock = new ManualClock();
  const client = await connectCoap('coap://127.0.0.1', { insecure: true, transport: link.binder, clock, random: () => 0, ...(blockSize === undefined ? {} : { blockSize }) });
  return { link, client, clock };
}

const blk = (m: CoapMessage, n: number): ReturnType<typeof decodeBlock> | undefined => {
  const v = findOption(m, n);
  return v === undefined ? undefined : decodeBlock(v);
};

describe('block-wise edge cases (RFC 7959)', () => {
  it('Block1: the server asks for smaller blocks in 2.31 and the client switches (§2.5)', async () => {
    const { link, client } = await setup(64);
    const body = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ!?'.repeat(2); // 128 bytes
    const p = client.put('/fw', body);
    const got: string[] = [];
    for (let i = 0; ; i++) {
      await flush();
      const req = link.last();
      const b1 = blk(req, CoapOptionNumber.Block1)!;
      got.push(new TextDecoder().decode(req.payload));
      if (i === 0) expect([b1.num, b1.szx, req.payload.length]).toEqual([0, 2, 64]);
      if (!b1.more) {
        link.reply({ type: 'ACK', code: 0x44, messageId: req.messageId, token: req.token, options: [{ number: CoapOptionNumber.Block1, value: encodeBlock(b1) }] });
        break;
      }
      // answer 2.31 Continue, asking for 16-byte blocks from now on
      link.reply({ type: 'ACK', code: 0x5f, messageId: req.messageId, token: req.token, options: [{ number: CoapOptionNumber.Block1, value: encodeBlock({ num: b1.num, more: true, szx: 0 }) }] });
    }
    expect((await p).code).toBe('2.04');
    expect(got.join('')).toBe(body);
    const nums = link.sent.map((m) => blk(m, CoapOptionNumber.Block1)!).map((b) => [b.num, b.szx]);
    expect(nums).toEqual([[0, 2], [4, 0], [5, 0], [6, 0], [7, 0]]);
    expect(findOption(link.sent[0]!, CoapOptionNumber.Size1)).toEqual(encodeUintOption(128));
  });

  it('Block2: a changed ETag ends the transfer with BLOCK_MISMATCH', async () => {
    const { link, client } = await setup();
    const p = client.get('/big').catch((e: unknown) => e);
    await flush();
    let req = link.last();
    link.reply({ type: 'ACK', code: 0x45, messageId: req.messageId, token: req.token, payload: new Uint8Array(16), options: [{ number: CoapOptionNumber.ETag, value: text('v1') }, { number: CoapOptionNumber.Block2, value: encodeBlock({ num: 0, more: true, szx: 0 }) }] });
    await flush();
    req = link.last();
    expect(blk(req, CoapOptionNumber.Block2)).toEqual({ num: 1, more: false, szx: 0 });
    link.reply({ type: 'ACK', code: 0x45, messageId: req.messageId, token: req.token, payload: new Uint8Array(4), options: [{ number: CoapOptionNumber.ETag, value: text('v2') }, { number: CoapOptionNumber.Block2, value: encodeBlock({ num: 1, more: false, szx: 0 }) }] });
    expect(await p).toMatchObject({ code: 'BLOCK_MISMATCH' });
  });
});

describe('FETCH with a block-wise response (RFC 8132 §2)', () => {
  it('repeats the FETCH body in Block2 follow-ups; a PUT follow-up carries no body', async () => {
    const { link, client } = await setup();
    const p = client.fetch('/q', 'sel', { format: 'text/plain' });
    await flush();
    let req = link.last();
    link.reply({ type: 'ACK', code: 0x45, messageId: req.messageId, token: req.token, payload: new Uint8Array(16), options: [{ number: CoapOptionNumber.Block2, value: encodeBlock({ num: 0, more: true, szx: 0 }) }] });
    await flush();
    req = link.last();
    expect(new TextDecoder().decode(req.payload)).toBe('sel');
    expect(req.code).toBe(5);
    link.reply({ type: 'ACK', code: 0x45, messageId: req.messageId, token: req.token, payload: new Uint8Array(2), options: [{ number: CoapOptionNumber.Block2, value: encodeBlock({ num: 1, more: false, szx: 0 }) }] });
    expect((await p).payload).toHaveLength(18);
    const p2 = client.put('/r', 'body');
    await flush();
    req = link.last();
    link.reply({ type: 'ACK', code: 0x44, messageId: req.messageId, token: req.token, payload: new Uint8Array(16), options: [{ number: CoapOptionNumber.Block2, value: encodeBlock({ num: 0, more: true, szx: 0 }) }] });
    await flush();
    req = link.last();
    expect(req.payload).toHaveLength(0);
    link.reply({ type: 'ACK', code: 0x44, messageId: req.messageId, token: req.token, payload: new Uint8Array(1), options: [{ number: CoapOptionNumber.Block2, value: encodeBlock({ num: 1, more: false, szx: 0 }) }] });
    expect((await p2).payload).toHaveLength(17);
  });
});

describe('observe edge cases (RFC 7641)', () => {
  const notify = (link: FakeLink, token: Uint8Array, mid: number, seq: number, payload: string, code = 0x45, extra: CoapMessage['options'] = []): void =>
    link.reply({ type: 'NON', code, messageId: mid, token, payload: text(payload), options: [{ number: CoapOptionNumber.Observe, value: encodeUintOption(seq) }, ...extra] });

  it('drops a stale (reordered) notification, ends with RESPONSE_ERROR on 4.04', async () => {
    const { link, client } = await setup();
    const obs = client.observe('/t');
    const first = obs.next();
    await flush();
    const reg = link.last();
    expect(findOption(reg, CoapOptionNumber.Observe)).toEqual(new Uint8Array(0)); // Observe: 0 registers
    link.reply({ type: 'ACK', code: 0x45, messageId: reg.messageId, token: reg.token, payload: text('a'), options: [{ number: CoapOptionNumber.Observe, value: encodeUintOption(10) }] });
    expect((await first).value?.text()).toBe('a');
    notify(link, reg.token, 100, 12, 'c');
    notify(link, reg.token, 101, 11, 'b-stale'); // §3.4: older than 12
    notify(link, reg.token, 102, 13, 'd');
    expect((await obs.next()).value?.text()).toBe('c');
    expect((await obs.next()).value?.text()).toBe('d');
    notify(link, reg.token, 103, 14, 'gone', 0x84);
    await expect(obs.next()).rejects.toMatchObject({ code: 'RESPONSE_ERROR', responseCode: '4.04' });
    expect((await obs.next()).done).toBe(true);
  });

  it('a notification with more blocks is completed with a fresh token and without Observe (RFC 7959 §2.6)', async () => {
    const { link, client } = await setup();
    const obs = client.observe('/big');
    const first = obs.next();
    await flush();
    const reg = link.last();
    link.reply({ type: 'ACK', code: 0x45, messageId: reg.messageId, token: reg.token, payload: new Uint8Array(16).fill(1), options: [{ number: CoapOptionNumber.Observe, value: encodeUintOption(1) }, { number: CoapOptionNumber.Block2, value: encodeBlock({ num: 0, more: true, szx: 0 }) }] });
    await flush();
    const follow = link.last();
    expect(Buffer.from(follow.token).equals(Buffer.from(reg.token))).toBe(false);
    expect(findOption(follow, CoapOptionNumber.Observe)).toBeUndefined();
    link.reply({ type: 'ACK', code: 0x45, messageId: follow.messageId, token: follow.token, payload: new Uint8Array(3).fill(2), options: [{ number: CoapOptionNumber.Block2, value: encodeBlock({ num: 1, more: false, szx: 0 }) }] });
    const n = (await first).value!;
    expect(n.payload).toEqual(Uint8Array.from([...new Array(16).fill(1), 2, 2, 2]));
    // cancel: Observe: 1 with the registration token (§3.6)
    const done = obs.return();
    await flush();
    const dereg = link.last();
    expect(findOption(dereg, CoapOptionNumber.Observe)).toEqual(encodeUintOption(1));
    expect(Buffer.from(dereg.token).equals(Buffer.from(reg.token))).toBe(true);
    link.reply({ type: 'ACK', code: 0x45, messageId: dereg.messageId, token: dereg.token });
    expect((await done).done).toBe(true);
    // a late notification on the cancelled token is answered with RST (passive cancel)
    notify(link, reg.token, 500, 9, 'late');
    expect(link.last()).toMatchObject({ type: 'RST', messageId: 500 });
  });
});

describe('observation lifecycle', () => {
  it('closing the client ends a waiting observation with CLOSED', async () => {
    const { link, client } = await setup();
    const obs = client.observe('/t');
    const first = obs.next();
    await flush();
    const reg = link.last();
    link.reply({ type: 'ACK', code: 0x45, messageId: reg.messageId, token: reg.token, payload: text('a'), options: [{ number: CoapOptionNumber.Observe, value: encodeUintOption(1) }] });
    await first;
    const waiting = obs.next();
    await client.close();
    await expect(waiting).rejects.toMatchObject({ code: 'CLOSED' });
    expect((await obs.next()).done).toBe(true);
  });

  it('an abort while the registration is in flight still sends the deregistration', async () => {
    const { link, client } = await setup();
    const ac = new AbortController();
    const obs = client.observe('/t', { signal: ac.signal });
    const first = obs.next();
    await flush();
    const reg = link.last();
    ac.abort();
    let ended = false;
    void first.then(() => { ended = true; });
    await flush();
    const dereg = link.last();
    expect(ended).toBe(false); // the loop ends only once the deregistration is answered
    link.reply({ type: 'ACK', code: 0x45, messageId: dereg.messageId, token: dereg.token });
    expect((await first).done).toBe(true);
    expect(dereg.messageId).not.toBe(reg.messageId);
    expect(findOption(dereg, CoapOptionNumber.Observe)).toEqual(encodeUintOption(1));
    expect(Buffer.from(dereg.token).equals(Buffer.from(reg.token))).toBe(true);
  });
});

describe('hostile input', () => {
  it('random datagrams never throw out of the client, which keeps working', async () => {
    const { link, client } = await setup();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (b) => { link.deliverRaw(b); }), { numRuns: 3000 });
    const p = client.get('/ok');
    await flush();
    const req = link.last();
    link.reply({ type: 'ACK', code: 0x45, messageId: req.messageId, token: req.token, payload: text('fine') });
    expect((await p).text()).toBe('fine');
  });
});
