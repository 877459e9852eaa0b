// The JetStream source's own reading of a message (src/jetstream-message.ts): the raw header block
// parsed in one pass must give what the client's headers API gives (the client is the oracle),
// and the reply subject's tokens must be read by position in both of its forms.
import { jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { connect, headers, type MsgHdrs } from '@nats-io/transport-node';
import { mulberry32, startNatsCluster } from '@outpost/test-peers';
import { describe, expect, it } from 'vitest';
import { incoming, parseHeaderBlock, replyInfo, sourceHeaders } from '../src/jetstream-message.js';

const decode = (raw: Uint8Array): MsgHdrs => (headers().constructor as unknown as { decode(b: Uint8Array): MsgHdrs }).decode(raw);
/** A header's number as the source reads it: decimal digits only ('+5', '1e3', '0x10' are none), a safe integer. */
const n = (s: string): number => {
  const x = /^[0-9]+$/.test(s) ? Number(s) : 0;
  return Number.isSafeInteger(x) ? x : 0;
};
// (the client's get() has trimmed the value already)
/** What the source read through the client before: `headers.get` per key. */
const oracle = (raw: Uint8Array): ReturnType<typeof parseHeaderBlock> => {
  const h = decode(raw);
  return { contentType: h.get('Content-Type'), receivedAt: n(h.get('Outpost-Received-At')), topic: h.get('Outpost-Topic'), oversized: n(h.get('Outpost-Oversized')) };
};
const block = (lines: readonly string[]): Uint8Array => new TextEncoder().encode(`NATS/1.0\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`);

describe('parseHeaderBlock', () => {
  const cases: Record<string, readonly string[]> = {
    'the bridge': ['Nats-Msg-Id: meter-1:abc', 'Outpost-Received-At: 1733612345123'],
    'every key, content type and a topic in UTF-8': ['Content-Type: application/senml+json', 'Outpost-Received-At: 1733612345123', 'Outpost-Topic: devices/pümp 1/telemetry/x', 'Outpost-Oversized: 2000000'],
    'none of them': ['Nats-Msg-Id: x'],
    'keys of another case are other keys (exact match)': ['content-type: text/plain', 'OUTPOST-RECEIVED-AT: 5', 'outpost-topic: a/b'],
    'a repeated key: the first value': ['Outpost-Topic: first/one', 'Outpost-Topic: second/one', 'Outpost-Received-At: 7', 'Outpost-Received-At: 9'],
    'spaces and tabs around values': ['Content-Type:   text/plain \t', 'Outpost-Received-At:\t42 '],
    'not a number': ['Outpost-Received-At: 12ab', 'Outpost-Oversized: -5'],
    'empty values': ['Content-Type:', 'Outpost-Topic: ', 'Outpost-Received-At:'],
    'a colon in the value': ['Outpost-Topic: a:b/c'],
  };
  for (const [name, lines] of Object.entries(cases)) {
    it(`reads what the client's headers API reads: ${name}`, () => {
      const raw = block(lines);
      expect(parseHeaderBlock(raw)).toEqual(oracle(raw));
    });
  }

  it('reads the headers of a status line with a code (as the client, ignoring it)', () => {
    const raw = new TextEncoder().encode('NATS/1.0 100 Idle Heartbeat\r\nOutpost-Received-At: 17\r\n\r\n');
    expect(parseHeaderBlock(raw)).toEqual({ contentType: '', receivedAt: 17, topic: '', oversized: 0 });
  });
});

describe('parseHeaderBlock, fuzzed against the client', () => {
  // Seeded random header blocks from hostile parts: the four keys in other cases and with
  // padding, repeated keys, values with spaces, tabs, colons, UTF-8, digits, signs and huge
  // numbers, lines without a colon, bare LF and stray CR, empty lines, a status line with a code.
  const KEYS = ['Content-Type', 'Outpost-Received-At', 'Outpost-Topic', 'Outpost-Oversized', 'content-type', 'Outpost-Topic ', ' Outpost-Topic', 'Nats-Msg-Id', 'X', 'Outpost-Received-At2'];
  const VALUES = ['', ' ', '\t', '42', ' 42 ', '0', '-5', '+5', '1e3', '12ab', '99999999999999999999', '9007199254740991', '9007199254740992', 'a:b/c', 'pümp 1/ü', 'text/plain; charset=utf-8', '\u00a0x', '  \t spaced \t '];
  it('2,000 random blocks: the one-pass parse reads what the client reads', () => {
    const rnd = mulberry32(0x18e4);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)] as T;
    for (let i = 0; i < 2_000; i++) {
      const lines: string[] = [];
      const n = Math.floor(rnd() * 7);
      for (let j = 0; j < n; j++) {
        const r = rnd();
        if (r < 0.08) lines.push(pick(VALUES)); // no colon (a value alone)
        else lines.push(`${pick(KEYS)}:${pick(VALUES)}${rnd() < 0.3 ? pick(VALUES) : ''}`);
      }
      const status = rnd() < 0.2 ? 'NATS/1.0 100 Idle Heartbeat' : 'NATS/1.0';
      const text = `${status}\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`;
      const raw = new TextEncoder().encode(text);
      let want: ReturnType<typeof parseHeaderBlock> | undefined;
      try {
        want = oracle(raw);
      } catch {
        continue; // a block the client itself refuses never reaches the source
      }
      expect(parseHeaderBlock(raw), JSON.stringify(text)).toEqual(want);
    }
  });

  it('never throws on arbitrary bytes (truncated blocks, no status line, random bytes)', () => {
    const rnd = mulberry32(0x18e5);
    for (let i = 0; i < 2_000; i++) {
      const b = new Uint8Array(Math.floor(rnd() * 80));
      for (let j = 0; j < b.length; j++) b[j] = rnd() < 0.3 ? [10, 13, 58, 32, 9][Math.floor(rnd() * 5)] as number : Math.floor(rnd() * 256);
      const h = parseHeaderBlock(b);
      expect(typeof h.contentType === 'string' && typeof h.topic === 'string' && Number.isSafeInteger(h.receivedAt) && Number.isSafeInteger(h.oversized)).toBe(true);
    }
  });
});

describe('a real message from nats-server (the canary for the client internals the raw path reads)', () => {
  it('a fetched JetStream message takes the raw path, and it reads what the client reads', async () => {
    const nats = await startNatsCluster({ nodes: 1 });
    const nc = await connect({ servers: nats.urls.map((u) => u.replace('nats://', '')), noAsyncTraces: true });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'CANARY', subjects: ['canary.>'] });
      await jsm.consumers.add('CANARY', { durable_name: 'c', ack_policy: 'explicit' as never });
      const h = headers();
      h.set('Content-Type', 'application/senml+json');
      h.set('Outpost-Received-At', '1733612345123');
      h.set('Outpost-Topic', 'devices/pümp 1/telemetry');
      const js = jetstream(nc);
      await js.publish('canary.a', new TextEncoder().encode('{"v":1}'), { headers: h });
      await js.publish('canary.b', new TextEncoder().encode('{"v":2}'));
      const consumer = await js.consumers.get('CANARY', 'c');
      const got: JsMsg[] = [];
      for (let i = 0; i < 2; i++) {
        const m = await consumer.next({ expires: 5_000 });
        if (m !== null) got.push(m);
      }
      expect(got).toHaveLength(2);
      for (const m of got) {
        // The internals the raw path reads: if a client release moves them, this fails (the
        // source would still work, through the fallback, at the old cost).
        const raw = (m as unknown as { msg?: { _rdata?: unknown; _msg?: { hdr?: unknown } } }).msg;
        expect(raw?._rdata).toBeInstanceOf(Uint8Array);
        expect(typeof raw?._msg?.hdr).toBe('number');
        const viaApi = { contentType: m.headers?.get('Content-Type') ?? '', receivedAt: n(m.headers?.get('Outpost-Received-At') ?? ''), topic: m.headers?.get('Outpost-Topic') ?? '', oversized: 0 };
        expect(sourceHeaders(m)).toEqual(viaApi);
        m.ack();
      }
      expect(sourceHeaders(got[0] as JsMsg)).toEqual({ contentType: 'application/senml+json', receivedAt: 1_733_612_345_123, topic: 'devices/pümp 1/telemetry', oversized: 0 });
      expect(sourceHeaders(got[1] as JsMsg)).toEqual({ contentType: '', receivedAt: 0, topic: '', oversized: 0 });
    } finally {
      await nc.close();
      await nats.stop();
    }
  }, 60_000);
});

describe('sourceHeaders', () => {
  const h = headers();
  h.set('Outpost-Received-At', '1733612345123');
  h.set('Content-Type', 'application/json');
  const raw = new TextEncoder().encode(h.toString());

  it('parses the raw block of a nats.js 3.x message', () => {
    const payload = new TextEncoder().encode('{"v":1}');
    const rdata = new Uint8Array(raw.length + payload.length);
    rdata.set(raw);
    rdata.set(payload, raw.length);
    const m = { msg: { _rdata: rdata, _msg: { hdr: raw.length } }, headers: undefined } as unknown as JsMsg;
    expect(sourceHeaders(m)).toEqual({ contentType: 'application/json', receivedAt: 1_733_612_345_123, topic: '', oversized: 0 });
  });

  it('a message without headers (hdr -1) has none', () => {
    const m = { msg: { _rdata: new Uint8Array(3), _msg: { hdr: -1 } } } as unknown as JsMsg;
    expect(sourceHeaders(m)).toEqual({ contentType: '', receivedAt: 0, topic: '', oversized: 0 });
  });

  it('falls back to the headers API when the client keeps its bytes elsewhere (another client version)', () => {
    const m = { headers: decode(raw) } as unknown as JsMsg;
    expect(sourceHeaders(m)).toEqual({ contentType: 'application/json', receivedAt: 1_733_612_345_123, topic: '', oversized: 0 });
  });
});

describe('replyInfo', () => {
  it('reads the delivery count and the stream time of the old form (nats-server 2.9)', () => {
    expect(replyInfo('$JS.ACK.TELEMETRY.pipeline.1.123456.123400.1733612345123456789.5000')).toEqual({ redelivered: false, storedAt: 1_733_612_345_123 });
    expect(replyInfo('$JS.ACK.TELEMETRY.pipeline.2.123456.123400.1733612345123456789.5000')).toEqual({ redelivered: true, storedAt: 1_733_612_345_123 });
    expect(replyInfo('$JS.ACK.TELEMETRY.pipeline.11.123456.123400.1733612345123456789.5000').redelivered).toBe(true);
  });

  it('reads the new form, with domain and account hash (and a trailing token)', () => {
    expect(replyInfo('$JS.ACK.hub.ACCHASH.TELEMETRY.pipeline.1.9.8.1733612345999000000.0.rnd')).toEqual({ redelivered: false, storedAt: 1_733_612_345_999 });
    expect(replyInfo('$JS.ACK.hub.ACCHASH.TELEMETRY.pipeline.3.9.8.1733612345999000000.0').redelivered).toBe(true);
  });

  it('builds the pipeline message from subject, headers and stream time', () => {
    const m = { subject: 'devices.pump//1.telemetry', data: new Uint8Array([1]) } as unknown as JsMsg;
    expect(incoming(m, { contentType: '', receivedAt: 0, topic: '', oversized: 0 }, 99)).toEqual({ topic: 'devices/pump.1/telemetry', payload: new Uint8Array([1]), contentType: undefined, receivedAt: 99 });
    expect(incoming(m, { contentType: 'text/plain', receivedAt: 5, topic: 'x/y', oversized: 0 }, 99)).toEqual({ topic: 'x/y', payload: new Uint8Array([1]), contentType: 'text/plain', receivedAt: 5 });
  });
});
