// Shadow merge laws as fast-check properties.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyUpdate, computeDelta, deleteShadow, mergePatches, ShadowError, type JsonObject, type JsonValue, type ShadowRecord } from '../src/index.js';
import { decodeJson, encodeJson } from '../src/cbor.js';
import { patch, section } from './arbitraries.js';

const isObj = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);
const eq = (a: unknown, b: unknown): boolean => JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObj(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k === '__proto__' ? '«proto»' : k, sortKeys(v[k])]));
  return v;
}

/** Every leaf of desired (non-object value) has an equal value at the same path in reported. */
function covers(desired: JsonObject, reported: JsonValue | undefined): boolean {
  return Object.keys(desired).every((k) => {
    const d = desired[k]!;
    const r = isObj(reported) && Object.hasOwn(reported, k) ? reported[k] : undefined;
    return isObj(d) ? covers(d, r) : eq(d, r);
  });
}

const record: fc.Arbitrary<ShadowRecord | undefined> = fc.option(
  fc.record({ desired: fc.option(section, { nil: undefined }), reported: fc.option(section, { nil: undefined }) }).map((s) => {
    const req = { state: { ...(s.desired ? { desired: s.desired } : {}), ...(s.reported ? { reported: s.reported } : {}) } };
    return applyUpdate(undefined, req, { timestamp: 1 }).record;
  }),
  { nil: undefined },
);

const update = fc.record({ desired: fc.option(fc.oneof(patch, fc.constant(null)), { nil: undefined }), reported: fc.option(fc.oneof(patch, fc.constant(null)), { nil: undefined }) })
  .map((s) => ({ state: { ...(s.desired !== undefined ? { desired: s.desired } : {}), ...(s.reported !== undefined ? { reported: s.reported } : {}) } }));

describe('shadow merge laws', () => {
  it('an update without a version applied twice leaves the same state and metadata as once (AWS: merges are idempotent)', () => {
    fc.assert(fc.property(record, update, (r, u) => {
      const once = applyUpdate(r, u, { timestamp: 5 }).record;
      const twice = applyUpdate(once, u, { timestamp: 5 }).record;
      expect(eq(twice.state, once.state)).toBe(true);
      expect(eq(twice.metadata, once.metadata)).toBe(true);
      expect(twice.version).toBe(once.version + 1);
    }), { numRuns: 500 });
  });

  it('a versioned update applied twice: the second is a 409 (AWS: version must match)', () => {
    fc.assert(fc.property(record, update, (r, u) => {
      const v = { ...u, version: r?.version ?? 0 };
      const once = applyUpdate(r, v, { timestamp: 5 }).record;
      expect(() => applyUpdate(once, v, { timestamp: 5 })).toThrow(ShadowError);
    }), { numRuns: 200 });
  });

  it('the delta is empty exactly when reported covers desired', () => {
    fc.assert(fc.property(section, fc.option(section, { nil: undefined }), (d, r) => {
      expect(computeDelta(d, r) === undefined).toBe(covers(d, r));
    }), { numRuns: 1000 });
  });

  it('the delta has only desired leaves, each different from reported, at the same path', () => {
    fc.assert(fc.property(section, section, (d, r) => {
      const delta = computeDelta(d, r);
      if (delta === undefined) return;
      // Applying the delta as a reported patch makes reported cover desired.
      const after = applyUpdate(applyUpdate(undefined, { state: { reported: r } }, { timestamp: 1 }).record, { state: { reported: delta } }, { timestamp: 2 }).record;
      expect(covers(d, after.state.reported)).toBe(true);
    }), { numRuns: 500 });
  });

  it('versions strictly increase by one per accepted update, and a delete does not reset them', () => {
    const op = fc.oneof(update.map((u) => ({ kind: 'update' as const, u })), fc.constant({ kind: 'delete' as const }));
    fc.assert(fc.property(fc.array(op, { minLength: 1, maxLength: 20 }), (ops) => {
      let r: ShadowRecord | undefined;
      let last = 0;
      for (const o of ops) {
        if (o.kind === 'delete') {
          if (r === undefined || r.deleted === true) continue;
          r = deleteShadow(r, { thingName: 't', timestamp: 1 }).record;
          expect(r.version).toBe(last);
          continue;
        }
        r = applyUpdate(r, o.u, { timestamp: 1 }).record;
        expect(r.version).toBe(last + 1);
        last = r.version;
      }
    }), { numRuns: 300 });
  });

  it('mergePatches: when it merges, sending the merge equals sending both in order', () => {
    fc.assert(fc.property(record, patch, patch, (r, a, b) => {
      const m = mergePatches(a, b);
      if (m === undefined) return;
      const seq = applyUpdate(applyUpdate(r, { state: { reported: a } }, { timestamp: 3 }).record, { state: { reported: b } }, { timestamp: 3 }).record;
      const one = applyUpdate(r, { state: { reported: m } }, { timestamp: 3 }).record;
      expect(eq(one.state, seq.state)).toBe(true);
    }), { numRuns: 1000 });
  });

  it('mergePatches refuses exactly the cases no single patch can express', () => {
    expect(mergePatches({ a: null }, { a: { b: 1 } })).toBeUndefined();
    expect(mergePatches({ a: 1 }, { a: { b: 1 } })).toBeUndefined();
    expect(mergePatches({ a: [1] }, { a: { b: 1 } })).toBeUndefined();
    expect(mergePatches({ a: { b: 1 } }, { a: null })).toEqual({ a: null });
    expect(mergePatches({ a: { b: 1 } }, { a: { c: null } })).toEqual({ a: { b: 1, c: null } });
  });

  it('a "__proto__" key is data, never a prototype', () => {
    const r = applyUpdate(undefined, JSON.parse('{"state":{"desired":{"__proto__":{"polluted":true}}}}'), { timestamp: 1 }).record;
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.keys(r.state.desired!)).toEqual(['__proto__']);
    expect(computeDelta(r.state.desired, {})).toEqual(JSON.parse('{"__proto__":{"polluted":true}}'));
  });

  it('CBOR round trip of sections keeps every key, "__proto__" included', () => {
    fc.assert(fc.property(patch, (p) => {
      expect(eq(decodeJson(encodeJson(p)), p)).toBe(true);
    }), { numRuns: 300 });
  });
});
