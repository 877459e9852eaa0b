// Every manifest refusal the issue lists, each a test, plus the deterministic-CBOR rules.
import { describe, expect, it } from 'vitest';
import {
  applyKeySetUpdate, decodeManifest, encodeCbor, generateKeyPair, keyIdOf, MANIFEST_CONTENT_TYPE, signKeySet,
  verifyManifest, type CborValue, type VerifyManifestOptions, type VerifyResult,
} from '../src/index.js';
import { COSE_ALG_EDDSA, sigStructure, signCose } from '../src/cose.js';
import { signEd25519 } from '../src/ed25519.js';
import { DEVICE, KEY, NOW, OTHER_KEY, release, ROOT, TRUST } from './helpers/release.js';

const STATE = { sequence: 10, securityCounter: 1, version: '1.0.0' };
const opts = (over: Partial<VerifyManifestOptions> = {}): VerifyManifestOptions => ({ trust: TRUST, device: DEVICE, state: STATE, now: NOW, ...over });
const code = (r: VerifyResult): string => (r.ok ? 'OK' : r.code);

/** A manifest map as encodeManifest would build it, for hand-made variants. */
function fieldsMap(over: Array<[number, CborValue]> = []): Map<number, CborValue> {
  const m = new Map<number, CborValue>([
    [0, 1], [1, 'acme'], [2, 'gw-1'], [4, '1.1.0'], [5, 11], [6, 1], [7, 3], [8, new Uint8Array(32)], [10, keyIdOf(KEY.publicKey)],
  ]);
  for (const [k, v] of over) m.set(k, v);
  return m;
}
const signPayload = (payload: Uint8Array, header?: Map<number, CborValue>): Uint8Array => {
  if (header === undefined) return signCose(payload, KEY.secretKey, keyIdOf(KEY.publicKey), MANIFEST_CONTENT_TYPE);
  const prot = encodeCbor(header);
  const sig = signEd25519(sigStructure(prot, payload), KEY.secretKey);
  return Uint8Array.of(0xd2, ...encodeCbor([prot, new Map(), payload, sig]));
};

describe('verifyManifest accepts', () => {
  it('a valid manifest, returning the typed fields', () => {
    const r = verifyManifest(release('1.1.0', 11).manifest, opts());
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.manifest).toMatchObject({ version: '1.1.0', sequence: 11, deviceClass: 'gw-1', imageSize: 3000 });
  });
  it('a hand-built deterministic payload', () => {
    expect(code(verifyManifest(signPayload(encodeCbor(fieldsMap())), opts()))).toBe('OK');
  });
});

describe('verifyManifest refuses', () => {
  const good = release('1.1.0', 11).manifest;
  it('a tampered manifest: every single-bit flip of every byte', () => {
    for (let i = 0; i < good.length; i++) {
      const t = good.slice();
      t[i] = (t[i] as number) ^ 0x01;
      const r = verifyManifest(t, opts());
      expect(r.ok, `byte ${i}`).toBe(false);
    }
    // A flip in the version text of the payload is caught by the signature, not by parsing.
    const at = Buffer.from(good).indexOf('1.1.0');
    const t = good.slice();
    t[at + 4] = '2'.charCodeAt(0);
    expect(code(verifyManifest(t, opts()))).toBe('SIGNATURE_INVALID');
  });
  it('a signature by an unknown key', () => {
    expect(code(verifyManifest(release('1.1.0', 11, { key: OTHER_KEY }).manifest, opts()))).toBe('UNKNOWN_KEY');
  });
  it('a signature by a revoked key (after a signed key-set update)', () => {
    const next = applyKeySetUpdate(TRUST, signKeySet({ version: 1, signingKeys: [OTHER_KEY.publicKey], revoked: [keyIdOf(KEY.publicKey)] }, ROOT));
    expect(code(verifyManifest(good, opts({ trust: next })))).toBe('REVOKED_KEY');
    expect(code(verifyManifest(release('1.1.0', 11, { key: OTHER_KEY }).manifest, opts({ trust: next })))).toBe('OK');
  });
  it('a forged signature under a trusted key id (valid signature by another key, kid swapped)', () => {
    const payload = encodeCbor(fieldsMap());
    const prot = encodeCbor(new Map<number, CborValue>([[1, COSE_ALG_EDDSA], [3, MANIFEST_CONTENT_TYPE], [4, keyIdOf(KEY.publicKey)]]));
    const sig = signEd25519(sigStructure(prot, payload), OTHER_KEY.secretKey);
    expect(code(verifyManifest(Uint8Array.of(0xd2, ...encodeCbor([prot, new Map(), payload, sig])), opts()))).toBe('SIGNATURE_INVALID');
  });
  it('a downgrade: lower version, lower security counter', () => {
    expect(code(verifyManifest(release('0.9.0', 11).manifest, opts()))).toBe('DOWNGRADE');
    expect(code(verifyManifest(release('1.1.0', 11, { securityCounter: 0 }).manifest, opts()))).toBe('DOWNGRADE');
  });
  it('a replay of an older valid manifest (sequence not above the last accepted)', () => {
    expect(code(verifyManifest(release('1.1.0', 10).manifest, opts()))).toBe('REPLAY');
    expect(code(verifyManifest(release('1.1.0', 3).manifest, opts()))).toBe('REPLAY');
  });
  it('another device class, vendor or hardware revision', () => {
    expect(code(verifyManifest(release('1.1.0', 11, { deviceClass: 'gw-2' }).manifest, opts()))).toBe('WRONG_DEVICE_CLASS');
    expect(code(verifyManifest(release('1.1.0', 11, { vendor: 'evil' }).manifest, opts()))).toBe('WRONG_VENDOR');
    expect(code(verifyManifest(release('1.1.0', 11, { hwRevisions: ['rev-c'] }).manifest, opts()))).toBe('WRONG_HW_REVISION');
  });
  it('an oversized manifest, before parsing', () => {
    const big = new Uint8Array(5000).fill(0xd2);
    expect(code(verifyManifest(big, opts()))).toBe('MANIFEST_TOO_LARGE');
    expect(code(verifyManifest(good, opts({ maxManifestBytes: good.length - 1 })))).toBe('MANIFEST_TOO_LARGE');
  });
  it('an expired manifest', () => {
    const m = release('1.1.0', 11, { expiresAt: NOW }).manifest;
    expect(code(verifyManifest(m, opts()))).toBe('EXPIRED');
    expect(code(verifyManifest(m, opts({ now: NOW - 1 })))).toBe('OK');
  });
  it('an image larger than the slot', () => {
    expect(code(verifyManifest(good, opts({ maxImageSize: 2999 })))).toBe('IMAGE_TOO_LARGE');
  });
  it('a version rolled back before', () => {
    expect(code(verifyManifest(good, opts({ state: { ...STATE, knownBad: ['1.1.0'] } })))).toBe('KNOWN_BAD');
  });
  it('malformed CBOR: empty, truncated, garbage, not a COSE_Sign1', () => {
    for (const b of [new Uint8Array(0), good.subarray(0, good.length - 1), Uint8Array.of(0xd2, 0xff), Uint8Array.of(0x84, 0x40, 0xa0, 0x40, 0x40), encodeCbor([1, 2, 3, 4])]) {
      expect(code(verifyManifest(b, opts()))).toBe('MALFORMED');
    }
    expect(code(verifyManifest(Uint8Array.of(...good, 0x00), opts()))).toBe('MALFORMED'); // trailing byte
  });
  it('non-deterministic CBOR even when correctly signed: long-form int, indefinite length, unsorted keys, duplicate keys', async () => {
    const det = encodeCbor(fieldsMap());
    // key 5 (sequence, 11) as 0x18 0x0b instead of 0x0b
    const at = det.indexOf(0x05);
    const longForm = Uint8Array.of(...det.subarray(0, at + 1), 0x18, ...det.subarray(at + 1));
    expect(decodeOrCode(longForm)).toBe('MALFORMED');
    expect(code(verifyManifest(signPayload(longForm), opts()))).toBe('MALFORMED');
    // indefinite-length map
    const indef = Uint8Array.of(0xbf, ...det.subarray(1), 0xff);
    expect(code(verifyManifest(signPayload(indef), opts()))).toBe('MALFORMED');
    // keys out of order: swap the first two pairs (0:1, 1:"acme")
    const unsorted = Uint8Array.of(det[0] as number, 0x01, 0x64, ...Buffer.from('acme'), 0x00, 0x01, ...det.subarray(9));
    const { decode } = await import('cbor-x');
    expect(() => decode(unsorted)).not.toThrow(); // well-formed CBOR: refused for its key order alone
    const ru = verifyManifest(signPayload(unsorted), opts());
    expect(ru.ok ? '' : ru.message).toMatch(/not deterministic CBOR/);
    // duplicate key: map header says one more pair, and key 1 appears twice
    const dup = Uint8Array.of((det[0] as number) + 1, 0x00, 0x01, 0x01, 0x64, ...Buffer.from('acme'), ...det.subarray(3));
    expect(() => decode(dup)).not.toThrow();
    expect(() => decode(longForm)).not.toThrow();
    expect(() => decode(indef)).not.toThrow();
    const rd = verifyManifest(signPayload(dup), opts());
    expect(rd.ok ? '' : `${rd.code} ${rd.message}`).toMatch(/^MALFORMED .*not deterministic CBOR/);
  });
  it('unknown critical fields; negative (non-critical) extension keys are ignored', () => {
    expect(code(verifyManifest(signPayload(encodeCbor(fieldsMap([[11, 'x']]))), opts()))).toBe('UNKNOWN_CRITICAL');
    expect(code(verifyManifest(signPayload(encodeCbor(fieldsMap([[-1, 'note']]))), opts()))).toBe('OK');
  });
  it('unknown algorithms, crit headers, unknown protected labels, non-empty unprotected header', () => {
    const payload = encodeCbor(fieldsMap());
    const kid = keyIdOf(KEY.publicKey);
    const hdr = (extra: Array<[number, CborValue]>, alg: number = COSE_ALG_EDDSA): Map<number, CborValue> =>
      new Map<number, CborValue>([[1, alg], [3, MANIFEST_CONTENT_TYPE], [4, kid], ...extra]);
    expect(code(verifyManifest(signPayload(payload, hdr([], -7)), opts()))).toBe('UNSUPPORTED_ALGORITHM');
    expect(code(verifyManifest(signPayload(payload, hdr([[2, [99]]])), opts()))).toBe('UNKNOWN_CRITICAL');
    expect(code(verifyManifest(signPayload(payload, hdr([[99, 1]])), opts()))).toBe('UNKNOWN_CRITICAL');
    const prot = encodeCbor(hdr([]));
    const sig = signEd25519(sigStructure(prot, payload), KEY.secretKey);
    expect(code(verifyManifest(Uint8Array.of(0xd2, ...encodeCbor([prot, new Map([[4, kid]]), payload, sig])), opts()))).toBe('MALFORMED');
  });
  it('a key-set update presented as a manifest (content type confusion)', () => {
    const ks = signKeySet({ version: 1, signingKeys: [KEY.publicKey], revoked: [] }, KEY);
    expect(code(verifyManifest(ks, opts()))).toBe('MALFORMED');
  });
  it('wrong field types in a signed payload', () => {
    for (const [k, v] of [[5, 'eleven'], [8, new Uint8Array(31)], [4, '1.1'], [2, ''], [3, [1]], [9, 'soon'], [0, 2]] as Array<[number, CborValue]>) {
      expect(code(verifyManifest(signPayload(encodeCbor(fieldsMap([[k, v]]))), opts())), `key ${k}`).toBe('MALFORMED');
    }
  });
});

function decodeOrCode(b: Uint8Array): string {
  try {
    decodeManifest(b);
    return 'OK';
  } catch (err) {
    return (err as { code: string }).code;
  }
}

describe('deterministic encoding (RFC 8949 §4.2.1)', () => {
  it('shortest-form integers and bytewise-sorted keys, checked against hand-encoded bytes', () => {
    expect([...encodeCbor(0)]).toEqual([0x00]);
    expect([...encodeCbor(23)]).toEqual([0x17]);
    expect([...encodeCbor(24)]).toEqual([0x18, 0x18]);
    expect([...encodeCbor(256)]).toEqual([0x19, 0x01, 0x00]);
    expect([...encodeCbor(65536)]).toEqual([0x1a, 0x00, 0x01, 0x00, 0x00]);
    expect([...encodeCbor(2 ** 32)]).toEqual([0x1b, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect([...encodeCbor(-1)]).toEqual([0x20]);
    expect([...encodeCbor(-25)]).toEqual([0x38, 0x18]);
    // keys 10, -1, 100, "z", "aa": bytewise order of encodings 0x0a < 0x18 0x64 < 0x20 < 0x61 0x7a < 0x62 0x61 0x61
    const m = new Map<number | string, CborValue>([['aa', 1], ['z', 2], [100, 3], [-1, 4], [10, 5]]);
    expect([...encodeCbor(m)]).toEqual([0xa5, 0x0a, 0x05, 0x18, 0x64, 0x03, 0x20, 0x04, 0x61, 0x7a, 0x02, 0x62, 0x61, 0x61, 0x01]);
  });
  it('a signed manifest is byte-identical when signed twice (Ed25519 is deterministic too)', () => {
    expect(release('1.1.0', 11).manifest).toEqual(release('1.1.0', 11).manifest);
  });
  it("why encoding is our own: cbor-x 1.6 writes maps in insertion order and 2^32 as a float (README claim)", async () => {
    const { encode } = await import('cbor-x');
    const m = new Map<number | string, CborValue>([['b', 1], [10, 'x']]);
    expect(Buffer.from(encode(m)).toString('hex')).toMatch(/a2616201(0a6178)$/); // (after its tag 259 for a Map)
    expect(Buffer.from(encodeCbor(m)).toString('hex')).toBe('a20a6178' + '616201');
    expect(Buffer.from(encode(2 ** 32)).toString('hex')).toMatch(/^fb/);
  });
    it('refuses values outside the data model', () => {
    expect(() => encodeCbor(1.5 as unknown as CborValue)).toThrow(RangeError);
    expect(() => encodeCbor(true as unknown as CborValue)).toThrow(TypeError);
  });
});

describe('COSE_Sign1 structure, read by an independent decoder (cbor-x)', () => {
  it('tag 18 around [protected, {}, payload, signature]; Sig_structure as RFC 9052 §4.4; verifies with node:crypto directly', async () => {
    const { decode, encode, Tag } = await import('cbor-x');
    const { createPublicKey, verify } = await import('node:crypto');
    const bytes = release('1.1.0', 11).manifest;
    const tagged = decode(bytes) as InstanceType<typeof Tag>;
    expect(tagged.tag).toBe(18);
    const [prot, unprot, payload, sig] = tagged.value as [Uint8Array, unknown, Uint8Array, Uint8Array];
    expect(unprot instanceof Map ? unprot.size : Object.keys(unprot as object).length).toBe(0);
    const hdr = decode(prot) as Map<number, unknown> | Record<string, unknown>;
    const get = (k: number): unknown => (hdr instanceof Map ? hdr.get(k) : (hdr as Record<string, unknown>)[String(k)]);
    expect(get(1)).toBe(-8);
    expect(get(3)).toBe(MANIFEST_CONTENT_TYPE);
    expect(Buffer.from(get(4) as Uint8Array).equals(Buffer.from(keyIdOf(KEY.publicKey)))).toBe(true);
    // The Sig_structure built by cbor-x (arrays, text and byte strings have one encoding) equals ours…
    const toBeSigned = encode(['Signature1', Buffer.from(prot), Buffer.alloc(0), Buffer.from(payload)]);
    expect(Buffer.from(sigStructure(prot, payload)).equals(toBeSigned)).toBe(true);
    // …and the signature verifies over it with a plain SPKI key, outside this package.
    const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(KEY.publicKey)]);
    expect(verify(null, toBeSigned, createPublicKey({ key: spki, format: 'der', type: 'spki' }), sig)).toBe(true);
    // payload fields as another decoder sees them
    const m = decode(payload) as Map<number, unknown> | Record<string, unknown>;
    const f = (k: number): unknown => (m instanceof Map ? m.get(k) : (m as Record<string, unknown>)[String(k)]);
    expect([f(1), f(2), f(4), f(5), f(7)]).toEqual(['acme', 'gw-1', '1.1.0', 11, 3000]);
  });
});

describe('key sets', () => {
  const ks1 = signKeySet({ version: 1, signingKeys: [KEY.publicKey, OTHER_KEY.publicKey], revoked: [] }, ROOT);
  const ks2 = signKeySet({ version: 2, signingKeys: [OTHER_KEY.publicKey], revoked: [keyIdOf(KEY.publicKey)] }, ROOT);
  const errCode = (f: () => unknown): string => {
    try {
      f();
      return 'OK';
    } catch (err) {
      return (err as { code: string }).code;
    }
  };
  it('apply in order; a rollback to an older key set is refused', () => {
    const t1 = applyKeySetUpdate(TRUST, ks1);
    const t2 = applyKeySetUpdate(t1, ks2);
    expect(t2.keySetVersion).toBe(2);
    expect(errCode(() => applyKeySetUpdate(t2, ks1))).toBe('KEYSET_ROLLBACK');
    expect(errCode(() => applyKeySetUpdate(t2, ks2))).toBe('KEYSET_ROLLBACK');
  });
  it('revocation is cumulative: a later key set cannot bring a revoked key back', () => {
    const t2 = applyKeySetUpdate(TRUST, ks2);
    const back = signKeySet({ version: 3, signingKeys: [KEY.publicKey], revoked: [] }, ROOT);
    expect(errCode(() => applyKeySetUpdate(t2, back))).toBe('REVOKED_KEY');
  });
  it('only root keys sign key sets; tampering is caught', () => {
    expect(errCode(() => applyKeySetUpdate(TRUST, signKeySet({ version: 5, signingKeys: [OTHER_KEY.publicKey], revoked: [] }, KEY)))).toBe('UNKNOWN_KEY');
    const t = ks1.slice();
    t[t.length - 70] = (t[t.length - 70] as number) ^ 1;
    expect(errCode(() => applyKeySetUpdate(TRUST, t))).not.toBe('OK');
    expect(errCode(() => applyKeySetUpdate(TRUST, release('1.1.0', 11).manifest))).toBe('MALFORMED');
  });
  it('a freshly generated key works end to end', () => {
    const k = generateKeyPair();
    const t = applyKeySetUpdate(TRUST, signKeySet({ version: 1, signingKeys: [k.publicKey], revoked: [] }, ROOT));
    expect(code(verifyManifest(release('1.1.0', 11, { key: k }).manifest, opts({ trust: t })))).toBe('OK');
  });
});
