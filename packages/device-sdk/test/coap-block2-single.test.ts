// The `block2` request option (RFC 7959 §2.4 random access): one block by number, returned as it
// came, against libcoap's coap-server.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectCoap, CoapOptionNumber, type CoapClient } from '../src/coap/index.js';
import { startCoapServer, type CoapServer } from './fixtures/coap-server.js';

let server: CoapServer;
let client: CoapClient;
const body = new Uint8Array(5000).map((_, i) => i % 251);

beforeAll(async () => {
  server = await startCoapServer({ echo: false, dynamic: 4 });
  client = await connectCoap(server.url, { insecure: true, blockSize: 1024 });
  await client.put('/blob', body);
});
afterAll(async () => {
  await client?.close();
  await server?.stop();
});

it('returns only the block asked for, with its Block2 option', async () => {
  const r = await client.request('GET', '/blob', undefined, { blockSize: 1024, block2: 3 });
  expect(r.code).toBe('2.05');
  expect(Buffer.compare(r.payload, body.subarray(3072, 4096))).toBe(0);
  const b2 = r.options.find((o) => o.number === CoapOptionNumber.Block2)!.value;
  expect(Buffer.from(b2).readUIntBE(0, b2.length)).toBe((3 << 4) | 8 | 6); // num 3, more, SZX 6
  const last = await client.request('GET', '/blob', undefined, { blockSize: 1024, block2: 4 });
  expect(last.payload.length).toBe(5000 - 4096);
});

it('a block number outside 0..2^20-1 is a RangeError, a non-number a TypeError', async () => {
  await expect(client.request('GET', '/blob', undefined, { block2: -1 })).rejects.toThrow(RangeError);
  await expect(client.request('GET', '/blob', undefined, { block2: '1' as unknown as number })).rejects.toThrow(TypeError);
});
