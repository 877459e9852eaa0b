// Fuzzing the network-facing decoders: random bytes, random JSON and mutated valid requests
// through decodeRequest + applyUpdate and parseShadowTopic. Only ShadowError escapes, and the
// functions still work afterwards.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyUpdate, decodeRequest, parseShadowTopic, ShadowError } from '../src/index.js';

const T = 1_700_000_000;
const valid = new TextEncoder().encode('{"state":{"desired":{"a":{"b":[1,2]},"c":null},"reported":{"x":"y"}},"clientToken":"tok","version":0}');

function process(bytes: Uint8Array): void {
  try {
    applyUpdate(undefined, decodeRequest(bytes), { timestamp: T });
  } catch (e) {
    if (!(e instanceof ShadowError)) throw e;
    expect([400, 409, 413, 415]).toContain(e.status);
  }
}

describe('fuzz', () => {
  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => process(b)), { numRuns: 2000 });
  });

  it('mutated valid requests (byte flips, truncation)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: valid.length }), (i, byte, len) => {
      const b = valid.slice(0, len);
      if (i < b.length) b[i] = byte;
      process(b);
    }), { numRuns: 3000 });
  });

  it('random JSON values as requests', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 8 }), fc.jsonValue({ maxDepth: 8 }), (state, other) => {
      process(new TextEncoder().encode(JSON.stringify({ state, clientToken: other })));
      process(new TextEncoder().encode(JSON.stringify({ state: { desired: state, reported: other } })));
    }), { numRuns: 1500 });
  });

  it('random topics never throw', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom('$aws', 'things', 'shadow', 'name', 'get', 'update', 'delete', 'accepted', 'delta', 'a', '', '+', '#'), { maxLength: 9 }), (parts) => {
      const t = parseShadowTopic(parts.join('/'));
      if (t !== undefined) expect(t.thingName).toMatch(/^[a-zA-Z0-9:_-]+$/);
    }), { numRuns: 2000 });
  });

  it('still works afterwards', () => {
    expect(applyUpdate(undefined, decodeRequest(valid), { timestamp: T }).record.version).toBe(1);
  });
});
