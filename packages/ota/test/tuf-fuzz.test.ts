// Fuzzing the TUF documents: mutations of a valid multi-signed root, timestamp and manifest, and
// random bytes behind the COSE_Sign tag. Only OtaError escapes (with a known code), a mutation is
// never accepted as a different document, and the verifier still accepts the valid one after.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  applyRootUpdate, checkTimestamp, generateKeyPair, OtaError, signManifest, signRoot, signTimestamp, trustFromRoot, verifyManifest,
  type KeyPair, type RootMetadata,
} from '../src/index.js';

const key = (n: number): KeyPair => generateKeyPair(new Uint8Array(32).fill(n));
const [A, B, C, T, S] = [key(81), key(82), key(83), key(84), key(85)];
const NOW = 1_800_000_000;
const ROOT: RootMetadata = {
  version: 1, expiresAt: NOW + 86_400, root: { keys: [A.publicKey, B.publicKey, C.publicKey], threshold: 2 },
  targets: { keys: [T.publicKey], threshold: 1 }, timestamp: { keys: [S.publicKey], threshold: 1 },
};
const TRUST = trustFromRoot(signRoot(ROOT, [A, B]));
const NEXT = signRoot({ ...ROOT, version: 2 }, [A, C]);
const MANIFEST = signManifest({ vendor: 'acme', deviceClass: 'gw', version: '1.0.1', sequence: 2, securityCounter: 0, imageSize: 10, imageDigest: new Uint8Array(32) }, [T]);
const STAMP = signTimestamp({ version: 3, issuedAt: NOW - 10, expiresAt: NOW + 600, manifests: [MANIFEST] }, [S]);
const CODES = new Set(['MALFORMED', 'UNKNOWN_CRITICAL', 'UNSUPPORTED_ALGORITHM', 'SIGNATURE_INVALID', 'UNKNOWN_KEY', 'REVOKED_KEY', 'THRESHOLD_NOT_MET',
  'ROLE_ROLLBACK', 'ROOT_VERSION_SKIP', 'METADATA_TOO_LARGE', 'EXPIRED', 'NOT_CURRENT', 'MANIFEST_TOO_LARGE']);

const mutate = (doc: Uint8Array): fc.Arbitrary<Uint8Array> =>
  fc.array(fc.tuple(fc.nat(doc.length - 1), fc.integer({ min: 1, max: 255 }), fc.boolean()), { minLength: 1, maxLength: 3 }).map((muts) => {
    let b = Array.from(doc);
    for (const [at, x, cut] of muts) b = cut ? b.slice(0, at) : b.map((v, i) => (i === at ? v ^ x : v));
    return Uint8Array.from(b);
  });
const refusedWithCode = (f: () => unknown): boolean => {
  try {
    f();
    return false;
  } catch (err) {
    if (!(err instanceof OtaError)) throw err;
    expect(CODES.has(err.code), err.code).toBe(true);
    return true;
  }
};
const opts = { trust: TRUST, device: { deviceClass: 'gw' }, state: { sequence: 1, securityCounter: 0 }, now: NOW };

describe('fuzz TUF documents', () => {
  it('a mutated root update is refused with a code (never applied)', () => {
    fc.assert(fc.property(mutate(NEXT), (b) => {
      expect(refusedWithCode(() => applyRootUpdate(TRUST, b))).toBe(true);
    }), { numRuns: 400 });
    expect(applyRootUpdate(TRUST, NEXT).roles?.rootVersion).toBe(2);
  });
  it('a mutated timestamp is refused with a code (never accepted)', () => {
    fc.assert(fc.property(mutate(STAMP), (b) => {
      expect(refusedWithCode(() => checkTimestamp(b, TRUST, { now: NOW, minVersion: 0 }))).toBe(true);
    }), { numRuns: 400 });
    expect(checkTimestamp(STAMP, TRUST, { now: NOW, minVersion: 0 }).version).toBe(3);
  });
  it('random bytes behind the COSE_Sign tag, as a manifest and as a timestamp', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
      const doc = Uint8Array.of(0xd8, 0x62, ...b);
      const r = verifyManifest(doc, { ...opts, timestamp: STAMP });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(CODES.has(r.code), r.code).toBe(true);
      const t = verifyManifest(MANIFEST, { ...opts, timestamp: doc });
      expect(t.ok).toBe(false);
      if (!t.ok) expect(CODES.has(t.code), t.code).toBe(true);
    }), { numRuns: 1500 });
    expect(verifyManifest(MANIFEST, { ...opts, timestamp: STAMP }).ok).toBe(true);
  });
});
