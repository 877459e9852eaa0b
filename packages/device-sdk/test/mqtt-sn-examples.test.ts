// Executes every TSDoc `@example` in src/mqtt-sn/ (and those in src/transports/ of what it re-exports): imports from '@outpost/device-sdk/mqtt-sn'
// are bound to the module, and each line `EXPR; // VALUE` whose VALUE parses as a JS literal
// becomes an assertion. Examples that need a live gateway or network are listed in NETWORKED
// (their behaviour is covered by the Mosquitto tests) and are type-checked only.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractExamples, runExample } from '@outpost/test-peers';
import * as lib from '../src/mqtt-sn/index.js';

const SRC = join(import.meta.dirname, '..', 'src', 'mqtt-sn');
// The package's one Clock and datagram interface live in src/transports; their values this module re-exports are documented there.
const SHARED = join(import.meta.dirname, '..', 'src', 'transports');
const NETWORKED = new Set(['MqttSnClient', 'connectMqttSn', 'publishQoSMinus1', 'searchGateway', 'MqttSnGateway']);
const options = { specifier: '@outpost/device-sdk/mqtt-sn', objects: 'equal' } as const;

describe('TSDoc @example blocks of the MQTT-SN module run and their stated results hold', () => {
  let total = 0;
  afterAll(() => {
    expect(total).toBeGreaterThan(20); // guards against the instrumentation checking nothing
  });
  const all = [...extractExamples(SRC), ...extractExamples(SHARED).filter((e) => e.symbol in lib)];
  it('every export has an example', () => {
    const symbols = new Set(all.map((e) => e.symbol));
    expect(Object.keys(lib).filter((k) => !symbols.has(k))).toEqual([]);
    expect([...NETWORKED].filter((k) => !symbols.has(k))).toEqual([]);
  });
  for (const ex of all.filter((e) => !NETWORKED.has(e.symbol))) {
    it(`${ex.file}: ${ex.symbol}`, async () => {
      total += await runExample(ex.code, lib, options);
    });
  }
});
