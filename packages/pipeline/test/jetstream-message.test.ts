// The JetStream source's own reading of a message (src/jetstream-message.ts): the raw header block
// parsed in one pass must give what the client's headers API gives (the client is the oracle),
// and the reply subject's tokens must be read by position in both of its forms.
import type { JsMsg } from '@nats-io/jetstream';
import { headers, type MsgHdrs } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { incoming, parseHeaderBlock, replyInfo, sourceHeaders } from '../src/jetstream-message.js';

const decode = (raw: Uint8Array): MsgHdrs => (headers().constructor as unknown as { decode(b: Uint8Array): MsgHdrs }).decode(raw);
const n = (s: string): number => {
  const x = Number(s);
  return Number.isSafeInteger(x) && x > 0 ? x : 0;
};
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
