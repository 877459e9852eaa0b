// The stream server as a state-keeping thing under hostile input: thousands of random and
// mutated requests on its topics, then a good request must still be served exactly. The MQTT
// client here is an in-memory loopback (a broker adds nothing to what is fuzzed: the server's
// handling of payloads); the protocol runs through Mosquitto in streams.mosquitto.test.ts.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { decodeDataBlock, decodeStreamRejection, encodeGetStream, startStreamServer, type StreamMqtt } from '../src/index.js';

type Listener = (topic: string, payload: Buffer) => void;

function loopback(): { mqtt: StreamMqtt; inject(topic: string, payload: Uint8Array): void; published: Array<{ topic: string; payload: Uint8Array }> } {
  const listeners: Listener[] = [];
  const published: Array<{ topic: string; payload: Uint8Array }> = [];
  return {
    published,
    inject: (topic, payload) => { for (const l of listeners) l(topic, Buffer.from(payload)); },
    mqtt: {
      publish: (topic, payload, _o, cb) => { published.push({ topic, payload: typeof payload === 'string' ? new TextEncoder().encode(payload) : payload }); cb?.(null); return undefined; },
      subscribe: (_f, _o, cb) => { cb?.(null); return undefined; },
      on: (_e, l) => { listeners.push(l as Listener); return undefined; },
    },
  };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

it('survives random and mutated requests and still serves a good one; every answer is a data block or a rejection', async () => {
  const data = new Uint8Array(5000).map((_, i) => (i * 7) % 256);
  const lb = loopback();
  const server = await startStreamServer({ mqtt: lb.mqtt, streams: { s1: { version: 2, files: [{ fileId: 0, data }] } } });
  const good = encodeGetStream({ c: 'ok', f: 0, l: 1024, o: 1, n: 2 }, 'cbor');
  const topics = ['$aws/things/d1/streams/s1/get/cbor', '$aws/things/d1/streams/s1/get/json', '$aws/things/d1/streams/s1/describe/json', '$aws/things/d1/streams/s1/describe/cbor', '$aws/things/d1/streams/nope/get/cbor'];
  const mutated = fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 })).map(([at, x]) => { const b = new Uint8Array(good); b[at]! ^= x; return b; });
  fc.assert(fc.property(fc.constantFrom(...topics), fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated, fc.json().map((s) => new TextEncoder().encode(s))), (topic, payload) => {
    lb.inject(topic, payload);
  }), { numRuns: 2000 });
  await settle();
  for (const p of lb.published) {
    const fmt = p.topic.endsWith('/cbor') ? 'cbor' : 'json';
    if (p.topic.includes('/data/')) expect(decodeDataBlock(p.payload, fmt).f).toBe(0);
    else if (p.topic.includes('/rejected/')) expect(typeof decodeStreamRejection(p.payload, fmt).o).toBe('string');
    else expect(p.topic).toMatch(/\/description\//);
  }
  expect(server.stats().rejected).toBeGreaterThan(0);
  lb.published.length = 0;
  lb.inject(topics[0]!, good);
  await settle();
  const blocks = lb.published.map((p) => decodeDataBlock(p.payload, 'cbor'));
  expect(blocks.map((b) => b.i)).toEqual([1, 2]);
  expect(Buffer.compare(blocks[0]!.p, data.subarray(1024, 2048))).toBe(0);
  await server.stop();
});

it('rejects a request over maxBytesPerRequest, a wrong version and an offset past the end', async () => {
  const lb = loopback();
  await startStreamServer({ mqtt: lb.mqtt, maxBytesPerRequest: 4096, streams: { s1: { version: 2, files: [{ fileId: 0, data: new Uint8Array(3000) }] } } });
  const t = '$aws/things/d1/streams/s1/get/json';
  lb.inject(t, encodeGetStream({ c: 'a', f: 0, l: 1024, o: 0, n: 5 }, 'json'));
  lb.inject(t, encodeGetStream({ c: 'b', s: 1, f: 0, l: 1024, o: 0, n: 1 }, 'json'));
  lb.inject(t, encodeGetStream({ c: 'c', f: 0, l: 1024, o: 3, n: 1 }, 'json'));
  lb.inject(t, new TextEncoder().encode('{"c":"d","f":0,"l":100,"o":0,"n":1}'));
  await settle();
  const r = Object.fromEntries(lb.published.map((p) => decodeStreamRejection(p.payload, 'json')).map((x) => [x.c, x.o]));
  expect(r).toEqual({ a: 'InvalidRequest', b: 'VersionMismatch', c: 'OffsetOutOfBounds', d: 'BlockSizeOutOfBounds' });
});

it('wrong option types are TypeErrors, bad values RangeErrors', async () => {
  const lb = loopback();
  await expect(startStreamServer({ mqtt: {} as StreamMqtt, streams: {} })).rejects.toThrow(TypeError);
  await expect(startStreamServer({ mqtt: lb.mqtt, streams: { s: { files: [{ fileId: 256, data: new Uint8Array(1) }] } } })).rejects.toThrow(RangeError);
  await expect(startStreamServer({ mqtt: lb.mqtt, streams: { s: { files: [{ fileId: 0 }] } } })).rejects.toThrow(TypeError);
  await expect(startStreamServer({ mqtt: lb.mqtt, maxBytesPerRequest: 10, streams: {} })).rejects.toThrow(RangeError);
});
