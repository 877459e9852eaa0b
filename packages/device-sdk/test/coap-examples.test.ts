// Executes every TSDoc `@example` in src/coap/ against a live libcoap server: imports from
// '@outpost/device-sdk/coap' are bound to the module, `client`, `serverUrl`, `secureUrl` and
// `deviceKey` are in scope, and each line `EXPR; // VALUE` whose VALUE parses as a JS literal
// becomes an assertion, so the documented results cannot drift from the code.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractExamples, runExample } from '@outpost/test-peers';
import * as lib from '../src/coap/index.js';
import { startCoapServer, type CoapServer } from './fixtures/coap-server.js';

const SRC = join(import.meta.dirname, '..', 'src', 'coap');
// The package's one Clock lives in src/transports (documented with the MQTT-SN import); what this module re-exports runs here too.
const SHARED = join(import.meta.dirname, '..', 'src', 'transports');

const KEY = 'example-device-key';
let server: CoapServer;
let client: lib.CoapClient;
beforeAll(async () => {
  server = await startCoapServer({ key: KEY });
  client = await lib.connectCoap(server.url, { insecure: true });
});
afterAll(async () => {
  await client?.close();
  await server?.stop();
});

describe('TSDoc @example blocks in src/coap run and their stated results hold', () => {
  const all = [...extractExamples(SRC, { recursive: true, methods: true }), ...extractExamples(SHARED).filter((e) => e.symbol in lib).map((e) => ({ ...e, code: e.code.replaceAll("'@outpost/device-sdk/mqtt-sn'", "'@outpost/device-sdk/coap'") }))];
  let total = 0;
  afterAll(() => {
    expect(total).toBeGreaterThan(20); // guards against the instrumentation checking nothing
  });
  it('every exported value has an example', () => {
    const symbols = new Set(all.map((e) => e.symbol));
    expect(Object.keys(lib).filter((k) => !symbols.has(k))).toEqual([]);
  });
  for (const ex of all) {
    it(`${ex.file}: ${ex.symbol}`, async () => {
      total += await runExample(ex.code, lib, {
        specifier: '@outpost/device-sdk/coap',
        objects: 'match',
        bindings: { client, serverUrl: server.url, secureUrl: server.secureUrl, deviceKey: KEY },
      });
    });
  }
});
