// Session 7 (issue #13, ingest CPU): each point's extras are checked once per write group and
// the result shared by every sink, instead of once per sink; the pipeline hands its sinks frozen
// point arrays so the shared result cannot go stale. And deviceFromTopic without split().
import { describe, expect, it } from 'vitest';
import { createPipeline } from '../src/pipeline.js';
import { callbackDeadLetterSink } from '../src/dead-letter.js';
import { decodeTelemetry, deviceFromTopic } from '../src/decode.js';
import { checkedExtras } from '../src/schema.js';
import type { TelemetryPoint, TelemetrySink } from '../src/types.js';

const enc = new TextEncoder();
const msg = (topic: string, body: string) => ({ topic, payload: enc.encode(body), receivedAt: Date.UTC(2026, 11, 7) });

describe('checked extras shared between sinks', () => {
  it('a frozen array of decoded points is checked once: the second call returns the same result', () => {
    const points = Object.freeze(decodeTelemetry(msg('devices/pump-1/telemetry', '{"ts": 1796515200000, "temperature": 21.5, "unit": "Cel"}')));
    const first = checkedExtras(points);
    expect(first).toEqual(['{"unit":"Cel"}']);
    expect(checkedExtras(points)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('an array that can change, or that holds points not decoded here, is checked on every call', () => {
    const mutable = decodeTelemetry(msg('devices/pump-1/telemetry', '{"temperature": 21.5}'));
    expect(checkedExtras(mutable)).not.toBe(checkedExtras(mutable));
    const own: TelemetryPoint = { device: 'pump-1', time: Date.UTC(2026, 11, 7), metric: 'temperature', value: 1, extra: { a: 1 } };
    const frozen = Object.freeze([own]);
    const before = checkedExtras(frozen);
    (own as { extra: unknown }).extra = { a: 2 }; // a caller's point can change: never served stale
    expect(checkedExtras(frozen)).not.toBe(before);
    expect(checkedExtras(frozen)).toEqual(['{"a":2}']);
  });

  it('every sink of a pipeline gets the same frozen array, alone and in a write group', async () => {
    const seen: { sink: string; points: readonly TelemetryPoint[] }[] = [];
    const sink = (name: string): TelemetrySink => ({ name, write: async (points) => { seen.push({ sink: name, points }); }, flush: async () => {}, close: async () => {} });
    const pipeline = createPipeline({ sinks: [sink('a'), sink('b')], deadLetter: callbackDeadLetterSink(() => {}) });
    await pipeline.handle(msg('devices/pump-1/telemetry', '{"temperature": 21.5}')); // a group of one
    await Promise.all([1, 2, 3].map((v) => pipeline.handle(msg('devices/pump-2/telemetry', `{"temperature": ${v}}`)))); // one group of three
    await pipeline.close();
    expect(seen.map((s) => [s.sink, s.points.length])).toEqual([['a', 1], ['b', 1], ['a', 3], ['b', 3]]);
    for (const s of seen) expect(Object.isFrozen(s.points)).toBe(true);
    expect(seen[0]?.points).toBe(seen[1]?.points);
    expect(seen[2]?.points).toBe(seen[3]?.points);
    expect(checkedExtras(seen[2]?.points ?? [])).toBe(checkedExtras(seen[3]?.points ?? []));
  });
});

describe('deviceFromTopic', () => {
  it('takes the same level as split("/") did, and refuses the same topics', () => {
    const topics = ['devices/pump-1/telemetry', 'a/b/c', 'a//c', '/x/y', 'devices', 'devices/', 'a/b/c/d/e', 'a/+/c', 'a/#', ''];
    for (const t of topics) {
      for (const level of [0, 1, 2, 3, 4]) {
        const want = t.split('/')[level];
        if (want === undefined || want === '' || want === '+' || want === '#') expect(() => deviceFromTopic(t, level)).toThrow(/has no device id/);
        else expect(deviceFromTopic(t, level)).toBe(want);
      }
    }
  });
});
