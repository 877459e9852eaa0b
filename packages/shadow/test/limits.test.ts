// Limits and error documents as AWS IoT returns them: 8 KB state → 413, nesting over 6 → 400,
// clientToken over 64 bytes → 400, invalid JSON / missing state / non-object sections → 400.
import { describe, expect, it } from 'vitest';
import { applyUpdate, decodeRequest, DEFAULT_LIMITS, ShadowError, validateUpdateRequest } from '../src/index.js';

const T = 1_700_000_000;

function errorOf(fn: () => unknown): ShadowError {
  try { fn(); } catch (e) { if (e instanceof ShadowError) return e; throw e; }
  throw new Error('expected a ShadowError');
}

function nested(depth: number): Record<string, unknown> {
  let v: unknown = 1;
  for (let i = depth; i >= 1; i--) v = { [`l${i}`]: v };
  return v as Record<string, unknown>;
}

describe('limits', () => {
  it('8 KB of desired + reported is accepted; one byte more is 413', () => {
    // {"a":"…"} is 8 bytes of syntax around the string.
    const fit = { a: 'x'.repeat(8 * 1024 - 8) };
    expect(JSON.stringify(fit).length).toBe(8192);
    expect(applyUpdate(undefined, { state: { desired: fit } }, { timestamp: T }).record.version).toBe(1);
    const e = errorOf(() => applyUpdate(undefined, { state: { desired: { a: 'x'.repeat(8 * 1024 - 7) } } }, { timestamp: T }));
    expect(e.code).toBe('PAYLOAD_TOO_LARGE');
    expect(e.toErrorDocument(T)).toEqual({ code: 413, message: 'The payload exceeds the maximum size allowed', timestamp: T });
  });

  it('the limit is on desired + reported together, metadata excluded', () => {
    const half = { a: 'x'.repeat(4096 - 8) }; // 4096 bytes each
    const r = applyUpdate(undefined, { state: { desired: half, reported: half } }, { timestamp: T });
    expect(r.record.version).toBe(1); // metadata would add more, but does not count
    expect(errorOf(() => applyUpdate(r.record, { state: { reported: { b: 1 } } }, { timestamp: T })).status).toBe(413);
  });

  it('the limit counts the document after the merge: deleting keys makes room', () => {
    const big = applyUpdate(undefined, { state: { desired: { a: 'x'.repeat(8000) } } }, { timestamp: T }).record;
    expect(applyUpdate(big, { state: { desired: { a: null, b: 'y'.repeat(8000) } } }, { timestamp: T }).record.version).toBe(2);
  });

  it('nesting: 6 levels are accepted, 7 are 400; arrays count as levels', () => {
    expect(applyUpdate(undefined, { state: { desired: nested(6) } }, { timestamp: T }).record.version).toBe(1);
    const e = errorOf(() => applyUpdate(undefined, { state: { reported: nested(7) } }, { timestamp: T }));
    expect(e.status).toBe(400);
    expect(e.message).toBe('JSON contains too many levels of nesting; maximum is 6');
    expect(errorOf(() => applyUpdate(undefined, { state: { desired: { a: [[[[[[1]]]]]] } } }, { timestamp: T })).status).toBe(400);
    expect(applyUpdate(undefined, { state: { desired: { a: [[[[[1]]]]] } } }, { timestamp: T }).record.version).toBe(1);
  });

  it('clientToken: 64 bytes are accepted, 65 are 400; counted in UTF-8 bytes', () => {
    expect(validateUpdateRequest({ state: {}, clientToken: 't'.repeat(64) }).clientToken).toHaveLength(64);
    expect(errorOf(() => validateUpdateRequest({ state: {}, clientToken: 't'.repeat(65) })).status).toBe(400);
    expect(errorOf(() => validateUpdateRequest({ state: {}, clientToken: 'é'.repeat(33) })).status).toBe(400); // 66 bytes, 33 chars
    expect(errorOf(() => validateUpdateRequest({ state: {}, clientToken: 5 })).status).toBe(400);
  });

  it('limits are per call', () => {
    const limits = { ...DEFAULT_LIMITS, maxStateBytes: 16 };
    expect(errorOf(() => applyUpdate(undefined, { state: { desired: { abcdefgh: 'ijklmnop' } } }, { timestamp: T, limits })).status).toBe(413);
  });
});

describe('bad requests → 400 with AWS messages, and the error document', () => {
  const cases: Array<[string, unknown, string]> = [
    ['missing state', { clientToken: 'c' }, 'Missing required node: state'],
    ['state not an object', { state: [1] }, 'State node must be an object'],
    ['desired not an object', { state: { desired: 5 } }, 'Desired node must be an object'],
    ['reported an array', { state: { reported: [] } }, 'Reported node must be an object'],
    ['unknown node in state', { state: { delta: {} } }, "State contains an invalid node: 'delta'"],
    ['version not an integer', { state: {}, version: 1.5 }, 'Invalid version'],
    ['version a string', { state: {}, version: '3' }, 'Invalid version'],
    ['request not an object', [1, 2], 'Invalid JSON: the request must be a JSON object'],
  ];
  for (const [name, req, message] of cases) {
    it(name, () => {
      const e = errorOf(() => validateUpdateRequest(req));
      expect(e.code).toBe('BAD_REQUEST');
      expect(e.message).toBe(message);
    });
  }

  it('the error document keeps the clientToken when the request had a valid one', () => {
    const e = errorOf(() => validateUpdateRequest({ state: { desired: 5 }, clientToken: 'abc' }));
    expect(e.toErrorDocument(T)).toEqual({ code: 400, message: 'Desired node must be an object', timestamp: T, clientToken: 'abc' });
  });

  it('decodeRequest: invalid JSON → 400, not UTF-8 → 415, over 128 KB → 413, empty → {}', () => {
    expect(errorOf(() => decodeRequest('{"state":')).message).toBe('Invalid JSON');
    expect(errorOf(() => decodeRequest(new Uint8Array([0x7b, 0xff, 0x7d]))).status).toBe(415);
    expect(errorOf(() => decodeRequest(new Uint8Array(128 * 1024 + 1).fill(0x20))).status).toBe(413);
    expect(decodeRequest(new Uint8Array(0))).toEqual({});
    expect(errorOf(() => decodeRequest('"just a string"')).status).toBe(400);
  });

  it('non-JSON values from API callers are 400 too (NaN, undefined, functions)', () => {
    expect(errorOf(() => applyUpdate(undefined, { state: { desired: { a: Number.NaN } } }, { timestamp: T })).status).toBe(400);
    expect(errorOf(() => applyUpdate(undefined, { state: { desired: { a: undefined } } }, { timestamp: T })).status).toBe(400);
    expect(errorOf(() => applyUpdate(undefined, { state: { desired: { a: () => 1 } } }, { timestamp: T })).status).toBe(400);
  });
});
