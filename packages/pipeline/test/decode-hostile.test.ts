// Issue #13 defects 1, 4, 6 and 7 and a fuzz of one decoder instance: whatever a device sends
// ends in points or a PipelineError with a reason, and the same decoder still works afterwards.
import { describe, expect, it } from 'vitest';
import { mulberry32, tempDir } from '@outpost/test-peers';
import { callbackDeadLetterSink, type DeadLetter } from '../src/dead-letter.js';
import { createDecoder, decodeTelemetry } from '../src/decode.js';
import { PipelineError } from '../src/errors.js';
import { createLake } from '../src/lake.js';
import { createPipeline } from '../src/pipeline.js';
import type { TelemetryPoint, TelemetrySink } from '../src/types.js';
import { cbor, enc, msg, outcome, T0 } from './decode-fixtures.js';

/** The poison messages of issue #13 defect 1 and their relatives. */
const POISON: [string, Uint8Array][] = [
  ['device with a toString key', enc.encode('{"device":{"toString":1},"t":1}')],
  ['device with toString and valueOf keys', enc.encode('{"device":{"toString":1,"valueOf":2},"temperature":1}')],
  ['3,000 nested arrays (6 KB)', enc.encode(`{"a":${'['.repeat(3000)}${']'.repeat(3000)},"t":1}`)],
  ['10,000 nested objects', enc.encode(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`)],
  ['10,000 nested CBOR arrays', new Uint8Array([...new Array<number>(10_000).fill(0x81), 0x01])],
  ['10,000 nested CBOR tags', new Uint8Array([...new Array<number>(10_000).fill(0xc1), 0x01])],
  ['a CBOR map of 100,000 keys declared', new Uint8Array([0xba, 0x00, 0x01, 0x86, 0xa0, 0x61, 0x61, 0x01])],
  ['a CBOR float NaN metric', cbor.encode({ temperature: NaN })],
  ['a CBOR Infinity metric', cbor.encode({ temperature: Infinity })],
  ['a huge string', enc.encode(`{"temperature":1,"note":"${'x'.repeat(200_000)}"}`)],
  ['non-UTF-8 JSON', new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d])],
  ['a lone surrogate in CBOR text', new Uint8Array([0xa2, 0x61, 0x74, 0x01, 0x61, 0x73, 0x63, 0xed, 0xa0, 0x80])],
];

describe('issue #13 defect 1: poison messages end in a PipelineError, never a plain error', () => {
  it.each(POISON)('%s', (_name, payload) => {
    expect(outcome(() => decodeTelemetry(msg(payload)))).toMatch(/^(DECODE_FAILED|SCHEMA_INVALID|OVERSIZED)$/);
  });

  it('through createPipeline.handle: every poison message is dead-lettered with a reason, nothing throws', async () => {
    const letters: DeadLetter[] = [];
    const stored: TelemetryPoint[] = [];
    const sink: TelemetrySink = { name: 'memory', write: async (p) => void stored.push(...p), flush: async () => {}, close: async () => {} };
    const pipeline = createPipeline({ sinks: [sink], deadLetter: callbackDeadLetterSink((l) => void letters.push(l)) });
    for (const [, payload] of POISON) await pipeline.handle(msg(payload, { receivedAt: Date.now() }));
    await pipeline.handle(msg('{"temperature": 21.5}', { receivedAt: Date.now() }));
    await pipeline.close();
    expect(letters).toHaveLength(POISON.length);
    for (const l of letters) {
      expect(['DECODE_FAILED', 'SCHEMA_INVALID', 'OVERSIZED']).toContain(l.reason);
      expect(l.detail.length).toBeGreaterThan(10);
    }
    expect(stored.map((p) => p.value)).toEqual([21.5]);
  });
});

describe('issue #13 defect 7: __proto__, constructor and prototype keys are data, never structure', () => {
  const body = '{"temperature":21.5,"__proto__":{"polluted":true},"constructor":{"name":{"toString":1}},"prototype":"p"}';

  it('extra has no prototype and keeps the keys as its own data', () => {
    const [p] = decodeTelemetry(msg(body));
    expect(p?.value).toBe(21.5);
    expect(Object.getPrototypeOf(p?.extra)).toBe(null);
    expect(Object.keys(p?.extra ?? {})).toEqual(['__proto__', 'constructor', 'prototype']);
    expect(JSON.stringify(p?.extra)).toBe('{"__proto__":{"polluted":true},"constructor":{"name":{"toString":1}},"prototype":"p"}');
    expect(({} as Record<string, unknown>)['polluted']).toBe(undefined);
  });

  it('the valid temperature point lands in the lake (it used to end as SINK_FAILED)', async () => {
    const dir = tempDir();
    try {
      const lake = await createLake({ dir: dir.path, encoder: 'inline' });
      const letters: DeadLetter[] = [];
      const pipeline = createPipeline({ sinks: [lake], deadLetter: callbackDeadLetterSink((l) => void letters.push(l)) });
      const done = pipeline.handle(msg(body, { receivedAt: Date.now() }));
      await pipeline.flush();
      await done;
      await pipeline.close();
      expect(letters.map((l) => `${l.reason} ${l.detail}`)).toEqual([]);
      expect(lake.stats().rows).toBe(1);
    } finally {
      dir.cleanup();
    }
  });
});

describe('issue #13 defect 4: one schema at decode (what the lake refuses, decode refuses)', () => {
  it('a time before 1970 is refused at decode even when maxAgeMs allows it', () => {
    expect(outcome(() => decodeTelemetry(msg('{"ts":-1000,"temperature":1}'), { maxAgeMs: Number.MAX_SAFE_INTEGER }))).toBe('SCHEMA_INVALID');
    expect(outcome(() => decodeTelemetry(msg('[{"n":"a","v":1,"t":-1e9}]', { receivedAt: 1000 }), { maxAgeMs: Number.MAX_SAFE_INTEGER }))).toBe('SCHEMA_INVALID');
  });
  it('device ids outside [A-Za-z0-9._-]{1,128} and metric names outside RFC 8428 §4.5.1 are refused', () => {
    expect(outcome(() => decodeTelemetry(msg('{"temperature":1}', { topic: 'devices/pump 1/telemetry' })))).toBe('SCHEMA_INVALID');
    expect(outcome(() => decodeTelemetry(msg('{"temperature":1}', { topic: `devices/${'d'.repeat(129)}/telemetry` })))).toBe('SCHEMA_INVALID');
    expect(outcome(() => decodeTelemetry(msg('{"temp rature":1}')))).toBe('SCHEMA_INVALID');
    expect(outcome(() => decodeTelemetry(msg('{"-temp":1}')))).toBe('SCHEMA_INVALID');
    expect(outcome(() => decodeTelemetry(msg('{"a.b:c/d_e-f":1}')))).toBe('OK');
  });
});

describe('issue #13 defect 6: SenML base sum (RFC 8428 §4.1, §4.6)', () => {
  it('bs is added to each record’s sum', () => {
    const pts = decodeTelemetry(msg('[{"bn":"meter:","bs":1000,"n":"energy","s":5},{"n":"energy","s":7,"t":1}]'));
    expect(pts.map((p) => [p.value, p.extra?.['s']])).toEqual([[null, 1005], [null, 1007]]);
  });
});

describe('bounds are per-instance options', () => {
  it('maxDepth, maxKeys and maxStringLength', () => {
    const deep = `{"t":1,"a":${'['.repeat(5)}${']'.repeat(5)}}`;
    expect(outcome(() => decodeTelemetry(msg(deep)))).toBe('OK');
    expect(outcome(() => decodeTelemetry(msg(deep), { maxDepth: 5 }))).toBe('DECODE_FAILED');
    const wide = JSON.stringify(Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`m${i}`, i])));
    expect(outcome(() => decodeTelemetry(msg(wide)))).toBe('OK');
    expect(outcome(() => decodeTelemetry(msg(wide), { maxKeys: 49 }))).toBe('SCHEMA_INVALID');
    expect(outcome(() => decodeTelemetry(msg('{"t":1,"s":"abcdef"}'), { maxStringLength: 5 }))).toBe('SCHEMA_INVALID');
    expect(() => createDecoder({ maxDepth: 0 })).toThrow(RangeError);
    expect(() => createDecoder({ maxKeys: '5' as never })).toThrow(TypeError);
  });
});

describe('fuzz: one decoder instance under hostile input still decodes afterwards', () => {
  it('2,000 hostile messages; after every tenth, a good message yields its point', () => {
    const decode = createDecoder({ maxPayloadBytes: 64 * 1024 });
    const rnd = mulberry32(0x13);
    const good = msg('{"ts":1764244800000,"temperature":21.5}');
    const hostileKeys = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'device', 'ts', 'n', 'v', 'bn', 'temperature'];
    const gen = (): Uint8Array => {
      const k = Math.floor(rnd() * 9);
      const depth = Math.floor(rnd() * 12_000);
      switch (k) {
        case 0: return enc.encode(`${'['.repeat(depth)}${']'.repeat(rnd() < 0.5 ? depth : 0)}`);
        case 1: return enc.encode(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
        case 2: return new Uint8Array([...new Array<number>(depth).fill(rnd() < 0.5 ? 0xa1 : 0x9f), 0x01]);
        case 3: return enc.encode(JSON.stringify(Object.fromEntries(Array.from({ length: 1 + Math.floor(rnd() * 3000) }, (_, i) => [`k${i}`, i]))));
        case 4: return enc.encode(`{${Array.from({ length: 1 + Math.floor(rnd() * 6) }, () => `"${hostileKeys[Math.floor(rnd() * hostileKeys.length)]}":${rnd() < 0.5 ? '{"toString":1,"valueOf":1}' : String(rnd())}`).join(',')}}`);
        case 5: return cbor.encode({ temperature: [NaN, Infinity, -Infinity, 2 ** 80, -0][Math.floor(rnd() * 5)], ts: [NaN, 1e300, -1, T0][Math.floor(rnd() * 4)] });
        case 6: return Uint8Array.from({ length: Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256));
        case 7: return enc.encode(`{"temperature":1,"s":"${'é'.repeat(Math.floor(rnd() * 8_000))}"}`);
        default: return Uint8Array.from([0x7b, ...Array.from({ length: Math.floor(rnd() * 50) }, () => 0x80 + Math.floor(rnd() * 64))]);
      }
    };
    const codes = new Map<string, number>();
    for (let i = 0; i < 2_000; i++) {
      const payload = gen();
      let result: string;
      try {
        const pts = decode(msg(payload));
        for (const p of pts) expect(() => JSON.stringify(p)).not.toThrow();
        result = 'OK';
      } catch (e) {
        if (!(e instanceof PipelineError)) throw new Error(`message ${i} (${payload.length} bytes) threw ${String(e)}`);
        expect(e.message.length).toBeGreaterThan(5);
        result = e.code;
      }
      codes.set(result, (codes.get(result) ?? 0) + 1);
      if (i % 10 === 0) expect(decode(good).map((p) => p.value)).toEqual([21.5]);
    }
    expect(decode(good)).toEqual([{ device: 'pump-1', time: 1764244800000, metric: 'temperature', value: 21.5 }]);
    expect([...codes.keys()].sort()).toEqual(['DECODE_FAILED', 'OK', 'OVERSIZED', 'SCHEMA_INVALID']);
  });
});
