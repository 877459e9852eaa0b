// The TUF attack list (theupdateframework.io "Security" → attacks; TUF spec 1.0 §1.5.2), each as a
// test against the device's checks: arbitrary software, rollback, indefinite freeze, endless
// data, mix-and-match, fewer than threshold signatures (incl. one key counted twice), an expired
// role, a root rotation signed by the new key only, fast-forward; and the migration of today's
// single-signature trust stores.
import { describe, expect, it } from 'vitest';
import {
  applyKeySetUpdate, applyRootUpdate, createTrustStore, decodeTrustStore, encodeTrustStore, generateKeyPair, memoryOtaFileSystem,
  openTrustState, signKeySet, signManifest, signRoot, signTimestamp, streamImage, trustFromRoot, verifyManifest,
  type KeyPair, type ManifestFields, type RootMetadata, type TrustStore, type VerifyManifestOptions, type VerifyResult,
} from '../src/index.js';
import { makeImage, sha256 } from './helpers/release.js';

const key = (n: number): KeyPair => generateKeyPair(new Uint8Array(32).fill(n));
const [R1, R2, R3] = [key(11), key(12), key(13)]; // root
const [T1, T2] = [key(21), key(22)]; // targets (release)
const [S1, S2] = [key(31), key(32)]; // timestamp
const [N1, N2] = [key(41), key(42)]; // the next root
const X = key(99); // nobody's
const NOW = 1_800_000_000;
const DAY = 86_400;
const DEVICE = { deviceClass: 'gw-1', vendor: 'acme' };
const STATE = { sequence: 10, securityCounter: 1, version: '1.0.0' };
const pubs = (...k: KeyPair[]): Uint8Array[] => k.map((x) => x.publicKey);

/** Root v1: 2-of-3 root keys, 2-of-2 targets keys, 1-of-2 timestamp keys. */
const ROOT1: RootMetadata = {
  version: 1, expiresAt: NOW + 365 * DAY,
  root: { keys: pubs(R1, R2, R3), threshold: 2 }, targets: { keys: pubs(T1, T2), threshold: 2 }, timestamp: { keys: pubs(S1, S2), threshold: 1 },
};
const TRUST = trustFromRoot(signRoot(ROOT1, [R1, R2]));

const image = makeImage(2000, 5);
const fields = (over: Partial<ManifestFields> = {}): ManifestFields => ({
  vendor: 'acme', deviceClass: 'gw-1', version: '1.1.0', sequence: 11, securityCounter: 1, imageSize: image.length, imageDigest: sha256(image), ...over,
});
const MANIFEST = signManifest(fields(), [T1, T2]);
const stamp = (over: { version?: number; expiresAt?: number; issuedAt?: number; manifests?: Uint8Array[] } = {}, keys: KeyPair[] = [S1]): Uint8Array =>
  signTimestamp({ version: over.version ?? 5, issuedAt: over.issuedAt ?? NOW - 60, expiresAt: over.expiresAt ?? NOW + DAY, manifests: over.manifests ?? [MANIFEST] }, keys);
const opts = (over: Partial<VerifyManifestOptions> = {}): VerifyManifestOptions => ({ trust: TRUST, device: DEVICE, state: STATE, now: NOW, timestamp: stamp(), ...over });
const code = (r: VerifyResult): string => (r.ok ? 'OK' : r.code);
/** Verifies `m` with a current timestamp that lists it (so the signature check is what decides). */
const check = (m: Uint8Array, over: Partial<VerifyManifestOptions> = {}): string => code(verifyManifest(m, opts({ timestamp: stamp({ manifests: [m] }), ...over })));
const codeOf = (f: () => unknown): string => {
  try {
    f();
    return 'OK';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
};

describe('a TUF trust store accepts', () => {
  it('a manifest signed by the targets threshold with a current timestamp, and returns the timestamp to persist', () => {
    const r = verifyManifest(MANIFEST, opts());
    expect(code(r)).toBe('OK');
    if (r.ok) expect(r.timestamp).toMatchObject({ version: 5, issuedAt: NOW - 60 });
  });
});

describe('TUF attacks', () => {
  it('arbitrary software: a manifest by a key outside the targets role, and an image that is not the signed one', async () => {
    expect(check(signManifest(fields(), [X, T1]))).toBe('THRESHOLD_NOT_MET');
    const other = makeImage(2000, 6);
    await expect(streamImage((async function* () { yield other; })(), { expectedSize: image.length, expectedDigest: sha256(image) })).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  });

  it('rollback: an older timestamp, an older root, an older manifest', async () => {
    expect(code(verifyManifest(MANIFEST, opts({ state: { ...STATE, timestampVersion: 6 } })))).toBe('ROLE_ROLLBACK');
    expect(code(verifyManifest(MANIFEST, opts({ state: { ...STATE, timestampVersion: 5 } })))).toBe('OK'); // the same statement again
    const v2 = applyRootUpdate(TRUST, signRoot({ ...ROOT1, version: 2 }, [R1, R2]));
    expect(codeOf(() => applyRootUpdate(v2, signRoot({ ...ROOT1, version: 1 }, [R1, R2])))).toBe('ROLE_ROLLBACK');
    expect(codeOf(() => applyRootUpdate(v2, signRoot({ ...ROOT1, version: 2 }, [R1, R2])))).toBe('ROLE_ROLLBACK');
    expect(code(verifyManifest(MANIFEST, opts({ state: { ...STATE, sequence: 11 } })))).toBe('REPLAY');
    // The persisted state refuses a lower timestamp version too.
    const fs = memoryOtaFileSystem();
    const store = await openTrustState({ fs, path: '/d/trust.cbor', initial: TRUST });
    await store.recordTimestamp({ version: 9, issuedAt: NOW });
    await expect(store.recordTimestamp({ version: 8, issuedAt: NOW + 1 })).rejects.toMatchObject({ code: 'ROLE_ROLLBACK' });
    expect((await openTrustState({ fs, path: '/d/trust.cbor' })).current()).toMatchObject({ timestampVersion: 9, timeFloor: NOW });
  });

  it('indefinite freeze: a withheld timestamp expires; none at all is refused; a no-clock device uses its time floor', () => {
    expect(code(verifyManifest(MANIFEST, opts({ now: NOW + DAY })))).toBe('EXPIRED');
    expect(code(verifyManifest(MANIFEST, opts({ timestamp: undefined } as unknown as Partial<VerifyManifestOptions>)))).toBe('TIMESTAMP_REQUIRED');
    const { timestamp: _t, ...noStamp } = opts();
    void _t;
    expect(code(verifyManifest(MANIFEST, noStamp))).toBe('TIMESTAMP_REQUIRED');
    // No trustworthy clock: expiry is checked against the newest issuedAt the device has verified.
    expect(code(verifyManifest(MANIFEST, opts({ now: 'no-clock', state: { ...STATE, timeFloor: NOW + DAY } })))).toBe('EXPIRED');
    expect(code(verifyManifest(MANIFEST, opts({ now: 'no-clock', state: { ...STATE, timeFloor: NOW } })))).toBe('OK');
  });

  it('endless data: oversized root, timestamp and manifest are refused by size before parsing; too many signatures; an image past its size', async () => {
    const junk = new Uint8Array(1 << 20).fill(0xff); // not CBOR at all: a parse would say MALFORMED
    expect(codeOf(() => applyRootUpdate(TRUST, junk))).toBe('METADATA_TOO_LARGE');
    expect(code(verifyManifest(MANIFEST, opts({ timestamp: junk })))).toBe('METADATA_TOO_LARGE');
    expect(code(verifyManifest(junk, opts()))).toBe('MANIFEST_TOO_LARGE');
    const many = signManifest(fields(), Array.from({ length: 17 }, () => T1));
    expect(check(many, { maxManifestBytes: 1 << 16 })).toBe('MALFORMED');
    await expect(streamImage((async function* () { yield image; yield new Uint8Array(1); })(), { expectedSize: image.length, expectedDigest: sha256(image) })).rejects.toMatchObject({ code: 'IMAGE_TOO_LONG' });
  });

  it('mix-and-match: a validly signed manifest that the current timestamp does not list', () => {
    const older = signManifest(fields({ version: '1.0.5', sequence: 11 }), [T1, T2]);
    expect(code(verifyManifest(older, opts()))).toBe('NOT_CURRENT');
    expect(code(verifyManifest(older, opts({ timestamp: stamp({ manifests: [MANIFEST, older] }) })))).toBe('OK');
  });

  it('fewer than threshold: one targets key, the same key twice, a stranger as the second; timestamp and key set too', () => {
    expect(check(signManifest(fields(), [T1]))).toBe('THRESHOLD_NOT_MET');
    expect(check(signManifest(fields(), T1))).toBe('THRESHOLD_NOT_MET'); // a COSE_Sign1
    expect(check(signManifest(fields(), [T1, T1]))).toBe('THRESHOLD_NOT_MET');
    expect(check(signManifest(fields(), [T1, T1, T1]))).toBe('THRESHOLD_NOT_MET');
    expect(check(signManifest(fields(), [T2, R1]))).toBe('THRESHOLD_NOT_MET');
    expect(check(signManifest(fields(), [T2, T1]))).toBe('OK');
    expect(code(verifyManifest(MANIFEST, opts({ timestamp: stamp({}, [X]) })))).toBe('UNKNOWN_KEY'); // one signature: the single-signature code
    expect(code(verifyManifest(MANIFEST, opts({ timestamp: stamp({}, [X, X]) })))).toBe('THRESHOLD_NOT_MET');
    // A key set changes the targets role: one root key of a 2-of-3 root is not enough.
    expect(codeOf(() => applyKeySetUpdate(TRUST, signKeySet({ version: 1, signingKeys: pubs(X), revoked: [] }, R1)))).toBe('THRESHOLD_NOT_MET');
    // With the root threshold it applies, but never below the targets threshold (no manifest could verify).
    const ks = (keys: Uint8Array[]): Uint8Array => signKeySet({ version: 1, signingKeys: keys, revoked: [] }, [R1, R2]);
    expect(codeOf(() => applyKeySetUpdate(TRUST, ks(pubs(X))))).toBe('MALFORMED');
    expect(applyKeySetUpdate(TRUST, ks(pubs(X, T1))).signingKeys).toHaveLength(2);
  });

  it('a corrupted signature among enough good ones does not count, and too few good ones are refused', () => {
    const m = signManifest(fields(), [T1, T2]);
    const bad = m.slice();
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1; // the last signature (T2's)
    expect(code(verifyManifest(bad, opts({ timestamp: stamp({ manifests: [bad] }) })))).toBe('THRESHOLD_NOT_MET');
  });

  it('an expired role: root, timestamp, manifest', () => {
    const expiredRoot = trustFromRoot(signRoot({ ...ROOT1, expiresAt: NOW }, [R1, R2]));
    expect(code(verifyManifest(MANIFEST, opts({ trust: expiredRoot })))).toBe('EXPIRED');
    expect(code(verifyManifest(MANIFEST, opts({ timestamp: stamp({ expiresAt: NOW }) })))).toBe('EXPIRED');
    const m = signManifest(fields({ expiresAt: NOW }), [T1, T2]);
    expect(code(verifyManifest(m, opts({ timestamp: stamp({ manifests: [m] }) })))).toBe('EXPIRED');
  });

  it('a root rotation signed by the new keys only (or the old only) is refused; by both, in sequence, accepted', () => {
    const next: RootMetadata = { ...ROOT1, version: 2, root: { keys: pubs(N1, N2), threshold: 2 } };
    expect(codeOf(() => applyRootUpdate(TRUST, signRoot(next, [N1, N2])))).toBe('THRESHOLD_NOT_MET');
    expect(codeOf(() => applyRootUpdate(TRUST, signRoot(next, [R1, R2, N1])))).toBe('THRESHOLD_NOT_MET');
    expect(codeOf(() => applyRootUpdate(TRUST, signRoot(next, [R1, N1, N2])))).toBe('THRESHOLD_NOT_MET');
    const v2 = applyRootUpdate(TRUST, signRoot(next, [R1, R3, N1, N2]));
    expect(v2.roles?.rootVersion).toBe(2);
    // The old root keys no longer sign anything.
    expect(codeOf(() => applyRootUpdate(v2, signRoot({ ...ROOT1, version: 3 }, [R1, R2, R3])))).toBe('THRESHOLD_NOT_MET');
    // Versions are sequential: v3 before v2 is refused; a device at v1 walks v2 then v3.
    const v3doc = signRoot({ ...next, version: 3 }, [N1, N2]);
    expect(codeOf(() => applyRootUpdate(TRUST, v3doc))).not.toBe('OK');
    expect(codeOf(() => applyRootUpdate(TRUST, signRoot({ ...ROOT1, version: 3 }, [R1, R2])))).toBe('ROOT_VERSION_SKIP');
    expect(applyRootUpdate(v2, v3doc).roles?.rootVersion).toBe(3);
  });

  it('fast-forward: a compromised timestamp key pushes the version up; rotating the timestamp role resets it', async () => {
    const fs = memoryOtaFileSystem();
    const store = await openTrustState({ fs, path: '/d/trust.cbor', initial: TRUST });
    // The attacker holds S1 and signs version 2^40; the device accepts it (it is validly signed).
    const evil = verifyManifest(MANIFEST, opts({ timestamp: stamp({ version: 2 ** 40 }) }));
    if (!evil.ok || evil.timestamp === undefined) throw new Error('expected acceptance');
    await store.recordTimestamp(evil.timestamp);
    const honest = stamp({ version: 6 }, [S2]);
    expect(code(verifyManifest(MANIFEST, opts({ timestamp: honest, state: { ...STATE, timestampVersion: store.current().timestampVersion } })))).toBe('ROLE_ROLLBACK');
    // Recovery: root v2 replaces the timestamp keys; the stored timestamp version starts over.
    await store.updateRoot([signRoot({ ...ROOT1, version: 2, timestamp: { keys: pubs(S2), threshold: 1 } }, [R1, R2])]);
    const reopened = await openTrustState({ fs, path: '/d/trust.cbor' });
    expect(reopened.current().timestampVersion).toBe(0);
    const st = { ...STATE, timestampVersion: reopened.current().timestampVersion };
    expect(code(verifyManifest(MANIFEST, opts({ trust: reopened.current().trust, timestamp: honest, state: st })))).toBe('OK');
    expect(code(verifyManifest(MANIFEST, opts({ trust: reopened.current().trust, timestamp: stamp({ version: 7 }, [S1]), state: st })))).toBe('UNKNOWN_KEY');
    // A root update that keeps the timestamp role keeps the floor.
    await reopened.recordTimestamp({ version: 6, issuedAt: NOW });
    await reopened.updateRoot([signRoot({ ...ROOT1, version: 3, timestamp: { keys: pubs(S2), threshold: 1 } }, [R1, R2])]);
    expect(reopened.current().timestampVersion).toBe(6);
  });
});

describe('migration from single-signature trust stores', () => {
  const legacyRoot = key(51);
  const legacySigner = key(52);
  const legacy: TrustStore = createTrustStore({ rootKeys: [legacyRoot.publicKey], signingKeys: [legacySigner.publicKey] });
  const m = signManifest(fields(), legacySigner);

  it('keep working as threshold 1 with no timestamp role: COSE_Sign1 manifests, key sets, the stored encoding', () => {
    expect(code(verifyManifest(m, { trust: legacy, device: DEVICE, state: STATE, now: NOW }))).toBe('OK');
    const next = applyKeySetUpdate(legacy, signKeySet({ version: 1, signingKeys: pubs(T1), revoked: [] }, legacyRoot));
    expect(next.signingKeys).toHaveLength(1);
    expect(decodeTrustStore(encodeTrustStore(legacy))).toEqual(legacy);
    expect(decodeTrustStore(encodeTrustStore(TRUST))).toEqual(TRUST);
  });

  it('move to TUF by a root v1 signed by the legacy root key and the new root keys', () => {
    const upgraded = applyRootUpdate(legacy, signRoot(ROOT1, [legacyRoot, R1, R2]));
    expect(upgraded.roles).toMatchObject({ rootVersion: 1, rootThreshold: 2, targetsThreshold: 2 });
    expect(code(verifyManifest(MANIFEST, opts({ trust: upgraded })))).toBe('OK');
    expect(check(m, { trust: upgraded })).toBe('THRESHOLD_NOT_MET');
    expect(codeOf(() => applyRootUpdate(legacy, signRoot(ROOT1, [R1, R2])))).toBe('THRESHOLD_NOT_MET');
  });
});

describe('role documents are checked strictly', () => {
  it('thresholds must fit the keys; a key may not be listed twice', () => {
    expect(() => signRoot({ ...ROOT1, root: { keys: pubs(R1), threshold: 2 } }, [R1])).toThrow(RangeError);
    expect(() => signRoot({ ...ROOT1, root: { keys: pubs(R1), threshold: 0 } }, [R1])).toThrow(RangeError);
    expect(() => signRoot({ ...ROOT1, timestamp: { keys: [], threshold: 1 } }, [R1])).toThrow(RangeError);
    expect(() => signRoot({ ...ROOT1, version: 0 }, [R1])).toThrow(RangeError);
  });
  it('a tampered root (any byte) is never applied', () => {
    const good = signRoot({ ...ROOT1, version: 2 }, [R1, R2]);
    for (let i = 0; i < good.length; i += 7) {
      const t = good.slice();
      t[i] = (t[i] as number) ^ 0x10;
      expect(codeOf(() => applyRootUpdate(TRUST, t)), `byte ${i}`).not.toBe('OK');
    }
  });
});
