import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@outpost/test-peers';
import { decodeTelemetry, deviceFromTopic } from '../src/decode.js';
import { PipelineError } from '../src/errors.js';
import { cbor, enc, msg, outcome as code, T0 } from './decode-fixtures.js';

describe('JSON and CBOR objects', () => {
  it('every finite number becomes a point; the rest rides along in extra; ts in ms', () => {
    const pts = decodeTelemetry(msg(JSON.stringify({ ts: T0 - 5, temperature: 71.5, rpm: 1200, unit: 'C', ok: true })));
    expect(pts).toEqual([
      { device: 'pump-1', time: T0 - 5, metric: 'temperature', value: 71.5, extra: { unit: 'C', ok: true } },
      { device: 'pump-1', time: T0 - 5, metric: 'rpm', value: 1200, extra: { unit: 'C', ok: true } },
    ]);
  });
  it('an ISO time and a missing time (arrival time)', () => {
    expect(decodeTelemetry(msg('{"time":"2026-11-27T11:59:00Z","v":1}'))[0]?.time).toBe(Date.UTC(2026, 10, 27, 11, 59));
    expect(decodeTelemetry(msg('{"v":1}'))[0]?.time).toBe(T0);
  });
  it('an array of objects is a batch', () => {
    const pts = decodeTelemetry(msg(JSON.stringify([{ ts: T0 - 2, a: 1 }, { ts: T0 - 1, a: 2 }])));
    expect(pts.map((p) => [p.time, p.value])).toEqual([[T0 - 2, 1], [T0 - 1, 2]]);
  });
  it('CBOR, as the edge-buffer sends it (byte strings become base64 in extra)', () => {
    const pts = decodeTelemetry(msg(cbor.encode({ ts: T0, rms: 0.25, blob: new Uint8Array([1, 2, 3]) })));
    expect(pts).toEqual([{ device: 'pump-1', time: T0, metric: 'rms', value: 0.25, extra: { blob: 'AQID' } }]);
  });
  it('the topic decides the device; a payload that claims another is refused', () => {
    expect(decodeTelemetry(msg('{"device":"pump-1","v":1}'))[0]?.device).toBe('pump-1');
    expect(code(() => decodeTelemetry(msg('{"device":"pump-2","v":1}')))).toBe('SCHEMA_INVALID');
    expect(deviceFromTopic('a/b/c', 2)).toBe('c');
    expect(code(() => deviceFromTopic('devices', 1))).toBe('SCHEMA_INVALID');
  });
  it('content type wins over sniffing', () => {
    expect(decodeTelemetry(msg(cbor.encode({ v: 3 }), { contentType: 'application/cbor' }))[0]?.value).toBe(3);
    expect(code(() => decodeTelemetry(msg('{"v":1}', { contentType: 'application/cbor' })))).toBe('DECODE_FAILED');
    expect(code(() => decodeTelemetry(msg('{"v":1}', { contentType: 'text/plain' })))).toBe('DECODE_FAILED');
  });
});

describe('SenML (RFC 8428)', () => {
  it('resolves base name, time, unit and value (the RFC §5.1.2 style pack)', () => {
    const pack = [
      { bn: 'urn:dev:ow:10e2073a01080063:', bt: 1.764e9, bu: 'Cel', n: 'temp', v: 23.1 },
      { n: 'temp', t: 10, v: 23.5 },
      { n: 'door', vs: 'open', u: 'x' },
      { n: 'alarm', vb: true },
      { bv: 100, n: 'energy', v: 5, s: 42 },
    ];
    const pts = decodeTelemetry(msg(JSON.stringify(pack), { receivedAt: 1.764e12 }));
    expect(pts).toEqual([
      { device: 'pump-1', time: 1.764e12, metric: 'urn:dev:ow:10e2073a01080063:temp', value: 23.1, extra: { u: 'Cel' } },
      { device: 'pump-1', time: 1.764e12 + 10_000, metric: 'urn:dev:ow:10e2073a01080063:temp', value: 23.5, extra: { u: 'Cel' } },
      { device: 'pump-1', time: 1.764e12, metric: 'urn:dev:ow:10e2073a01080063:door', value: null, extra: { vs: 'open', u: 'x' } },
      { device: 'pump-1', time: 1.764e12, metric: 'urn:dev:ow:10e2073a01080063:alarm', value: null, extra: { vb: true, u: 'Cel' } },
      { device: 'pump-1', time: 1.764e12, metric: 'urn:dev:ow:10e2073a01080063:energy', value: 105, extra: { s: 42, u: 'Cel' } },
    ]);
  });
  it('relative times (below 2^28 s) count from arrival', () => {
    const pts = decodeTelemetry(msg('[{"n":"a","v":1,"t":-5}]'));
    expect(pts[0]?.time).toBe(T0 - 5000);
  });
  it('SenML CBOR with the integer labels of RFC 8428 Table 4', () => {
    const pack = [{ [-2]: 'p1/', [-3]: T0 / 1000, 0: 'rpm', 2: 1500, 1: '1/min' }];
    const pts = decodeTelemetry(msg(cbor.encode(pack), { contentType: 'application/senml+cbor' }));
    expect(pts).toEqual([{ device: 'pump-1', time: T0, metric: 'p1/rpm', value: 1500, extra: { u: '1/min' } }]);
  });
  it('refuses must-understand fields, records without values, a non-array pack', () => {
    expect(code(() => decodeTelemetry(msg('[{"n":"a","v":1,"foo_":1}]')))).toBe('SCHEMA_INVALID');
    expect(code(() => decodeTelemetry(msg('[{"n":"a"}]', { contentType: 'application/senml+json' })))).toBe('SCHEMA_INVALID');
    expect(code(() => decodeTelemetry(msg('{"n":"a","v":1}', { contentType: 'application/senml+json' })))).toBe('SCHEMA_INVALID');
  });
});

describe('bad input is refused with a reason, never a crash', () => {
  it('each reason', () => {
    expect(code(() => decodeTelemetry(msg(new Uint8Array(300_000))))).toBe('OVERSIZED');
    expect(code(() => decodeTelemetry(msg('{"v":1}'), { maxPayloadBytes: 3 }))).toBe('OVERSIZED');
    expect(code(() => decodeTelemetry(msg('')))).toBe('DECODE_FAILED');
    expect(code(() => decodeTelemetry(msg('{"v":')))).toBe('DECODE_FAILED');
    expect(code(() => decodeTelemetry(msg(new Uint8Array([0x7b, 0xff, 0xfe]))))).toBe('DECODE_FAILED'); // `{` then invalid UTF-8
    expect(code(() => decodeTelemetry(msg(new Uint8Array([0xff, 0x00]))))).toBe('DECODE_FAILED');
    expect(code(() => decodeTelemetry(msg('{"unit":"C"}')))).toBe('SCHEMA_INVALID');
    expect(code(() => decodeTelemetry(msg('42')))).toBe('DECODE_FAILED'); // sniffed as CBOR: 0x34 0x32 is two items
    expect(code(() => decodeTelemetry(msg('[]')))).toBe('SCHEMA_INVALID');
    expect(code(() => decodeTelemetry(msg('{"ts":"yesterday","v":1}')))).toBe('SCHEMA_INVALID');
    expect(code(() => decodeTelemetry(msg(`{"ts":${T0 + 2 * 86_400_000},"v":1}`)))).toBe('SCHEMA_INVALID');
    expect(code(() => decodeTelemetry(msg('{"ts":0,"v":1}')))).toBe('SCHEMA_INVALID');
    expect(code(() => decodeTelemetry(msg('{"v":1}', { topic: 'devices//telemetry' })))).toBe('SCHEMA_INVALID');
    expect(code(() => decodeTelemetry(msg(JSON.stringify(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`m${i}`, i])))), { maxPoints: 10 }))).toBe('SCHEMA_INVALID');
    expect(code(() => decodeTelemetry(msg(`{"${'x'.repeat(300)}":1}`)))).toBe('SCHEMA_INVALID');
    expect(code(() => decodeTelemetry(msg('{"a\\u0000b":1}')))).toBe('SCHEMA_INVALID');
  });
  it('wrong argument types raise TypeError / RangeError naming the field', () => {
    const good = msg('{"v":1}');
    expect(() => decodeTelemetry(null as never)).toThrow(TypeError);
    expect(() => decodeTelemetry({ ...good, topic: 1 } as never)).toThrow(/message.topic: expected a string, got number/);
    expect(() => decodeTelemetry({ ...good, payload: '{"v":1}' } as never)).toThrow(/message.payload: expected a Uint8Array, got string/);
    expect(() => decodeTelemetry({ ...good, receivedAt: '1' } as never)).toThrow(TypeError);
    expect(() => decodeTelemetry({ ...good, contentType: 5 } as never)).toThrow(TypeError);
    expect(() => decodeTelemetry(good, 'json' as never)).toThrow(TypeError);
    expect(() => decodeTelemetry(good, { format: 'xml' as never })).toThrow(RangeError);
    expect(() => decodeTelemetry(good, { maxPoints: 0 })).toThrow(RangeError);
    expect(() => decodeTelemetry(good, { deviceLevel: '1' as never })).toThrow(TypeError);
    expect(() => deviceFromTopic(5 as never)).toThrow(TypeError);
  });

  it('fuzz: random bytes, mutated valid payloads and random JSON values yield points or a PipelineError', () => {
    const rnd = mulberry32(0x9e1);
    const seeds = [
      enc.encode(JSON.stringify({ ts: T0, temperature: 21.5, unit: 'C' })),
      enc.encode(JSON.stringify([{ bn: 'x/', bt: T0 / 1000, n: 'a', v: 1 }, { n: 'b', vs: 's' }])),
      cbor.encode({ ts: T0, rms: 0.1, tags: { a: [1, 2] } }),
      cbor.encode([{ [-2]: 'p/', 0: 'rpm', 2: 1 }]),
    ];
    const randomValue = (depth: number): unknown => {
      const k = Math.floor(rnd() * (depth > 2 ? 5 : 8));
      switch (k) {
        case 0: return rnd() < 0.5 ? null : rnd() < 0.5;
        case 1: return (rnd() - 0.5) * 10 ** Math.floor(rnd() * 20);
        case 2: return Math.floor(rnd() * 2 ** 40).toString(36).slice(0, Math.floor(rnd() * 8));
        case 3: return T0 - Math.floor(rnd() * 1e6);
        case 4: return ['n', 'v', 'bn', 'ts', 'vs', 'device'][Math.floor(rnd() * 6)];
        case 5: return Array.from({ length: Math.floor(rnd() * 4) }, () => randomValue(depth + 1));
        default: return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 5) }, () => [['n', 'v', 'bn', 'bt', 'ts', 'vs', 'vb', 'u', 't', 'temp', 'device', '-2', '0', '2'][Math.floor(rnd() * 14)] as string, randomValue(depth + 1)]));
      }
    };
    let ok = 0;
    let refused = 0;
    for (let i = 0; i < 10_000; i++) {
      let payload: Uint8Array;
      const r = rnd();
      if (r < 0.3) {
        payload = Uint8Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256));
      } else if (r < 0.65) {
        payload = Uint8Array.from(seeds[Math.floor(rnd() * seeds.length)] as Uint8Array);
        for (let m = 0; m < 1 + Math.floor(rnd() * 4); m++) payload[Math.floor(rnd() * payload.length)] = Math.floor(rnd() * 256);
        if (rnd() < 0.2) payload = payload.subarray(0, Math.floor(rnd() * payload.length));
      } else {
        const v = randomValue(0);
        payload = rnd() < 0.5 ? enc.encode(JSON.stringify(v) ?? 'null') : cbor.encode(v);
      }
      try {
        const pts = decodeTelemetry({ topic: 'devices/fz/telemetry', payload, receivedAt: T0 });
        for (const p of pts) {
          expect(p.device).toBe('fz');
          expect(Number.isInteger(p.time)).toBe(true);
          expect(p.value === null || Number.isFinite(p.value)).toBe(true);
          expect(typeof p.metric).toBe('string');
          if (p.extra !== undefined) expect(() => JSON.stringify(p.extra)).not.toThrow();
        }
        ok++;
      } catch (e) {
        if (!(e instanceof PipelineError)) throw new Error(`payload ${Buffer.from(payload).toString('hex')} threw ${String(e)}`);
        expect(['DECODE_FAILED', 'SCHEMA_INVALID', 'OVERSIZED']).toContain(e.code);
        refused++;
      }
    }
    expect(ok).toBeGreaterThan(250);
    expect(refused).toBeGreaterThan(2_500);
  });
});
