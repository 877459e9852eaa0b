// Fuzzing the manifest parser and verifier: random bytes, mutations of valid manifests, random
// CBOR values signed by a trusted key. Only OtaError codes escape (as refusals), nothing throws,
// and the verifier still accepts a valid manifest afterwards.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyKeySetUpdate, decodeManifest, encodeCbor, keyIdOf, MANIFEST_CONTENT_TYPE, OtaError, verifyManifest, type CborValue } from '../src/index.js';
import { signCose } from '../src/cose.js';
import { DEVICE, KEY, NOW, release, TRUST } from './helpers/release.js';

const CODES = new Set(['SIGNATURE_INVALID', 'UNKNOWN_KEY', 'REVOKED_KEY', 'UNSUPPORTED_ALGORITHM', 'UNKNOWN_CRITICAL', 'MALFORMED', 'MANIFEST_TOO_LARGE',
  'WRONG_VENDOR', 'WRONG_DEVICE_CLASS', 'WRONG_HW_REVISION', 'DOWNGRADE', 'REPLAY', 'EXPIRED', 'IMAGE_TOO_LARGE', 'KNOWN_BAD']);
const opts = { trust: TRUST, device: DEVICE, state: { sequence: 10, securityCounter: 1, version: '1.0.0' }, now: NOW, maxImageSize: 1 << 20 };
const valid = release('1.1.0', 11).manifest;

function check(bytes: Uint8Array): void {
  const r = verifyManifest(bytes, opts);
  if (!r.ok) expect(CODES.has(r.code), r.code).toBe(true);
  else expect(r.manifest.sequence).toBeGreaterThan(10);
}

const cborValue: fc.Arbitrary<CborValue> = fc.letrec<{ v: CborValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer({ min: -1000, max: 2 ** 40 }),
    fc.string({ maxLength: 12 }),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.uniqueArray(fc.tuple(fc.oneof(fc.integer({ min: -3, max: 12 }), fc.string({ maxLength: 3 })), tie('v')), { maxLength: 12, selector: (e) => `${typeof e[0]}:${String(e[0])}` })
      .map((es) => new Map<number | string, CborValue>(es)),
  ),
})).v;

describe('fuzz', () => {
  it('random bytes (with and without the COSE tag)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (b, tag) => check(tag ? Uint8Array.of(0xd2, ...b) : b)), { numRuns: 3000 });
  });
  it('mutations of a valid manifest: byte flips, insertions, deletions, truncations', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(valid.length), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 4 }), (muts) => {
        let b = Array.from(valid);
        for (const [pos, val, op] of muts) {
          const p = pos % (b.length + 1);
          if (op === 0) b[p] = val;
          else if (op === 1) b.splice(p, 0, val);
          else if (op === 2) b.splice(p, 1);
          else b = b.slice(0, p);
        }
        const bytes = Uint8Array.from(b);
        const r = verifyManifest(bytes, opts);
        if (!r.ok) expect(CODES.has(r.code)).toBe(true);
        else expect(Buffer.from(bytes).equals(Buffer.from(valid))).toBe(true); // only the original verifies
      }),
      { numRuns: 3000 },
    );
  });
  it('arbitrary CBOR payloads signed by a trusted key: refused with a code, or a well-typed manifest', () => {
    fc.assert(
      fc.property(cborValue, (v) => {
        const payload = encodeCbor(v);
        check(signCose(payload, KEY.secretKey, keyIdOf(KEY.publicKey), MANIFEST_CONTENT_TYPE));
        try {
          const m = decodeManifest(payload);
          expect(typeof m.version).toBe('string');
        } catch (err) {
          expect(err).toBeInstanceOf(OtaError);
        }
      }),
      { numRuns: 2000 },
    );
  });
  it('key-set updates: random bytes only raise OtaError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      try {
        applyKeySetUpdate(TRUST, Uint8Array.of(0xd2, ...b));
      } catch (err) {
        expect(err).toBeInstanceOf(OtaError);
      }
    }), { numRuns: 1000 });
  });
  it('the verifier still works afterwards', () => {
    expect(verifyManifest(valid, opts).ok).toBe(true);
  });
});
