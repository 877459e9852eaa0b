// RFC 8032 §7.1 vectors on both backends, the edge cases (S ≥ L, small-order keys and R, all-zero
// signature), and agreement between node:crypto and @noble/ed25519 under the strict policy.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as ed from '@noble/ed25519';
import { fromHex, toHex, verifyEd25519 } from '../src/index.js';
import { publicKeyDefect, publicKeyOf, rawVerifyEd25519, signatureDefect, signEd25519 } from '../src/ed25519.js';

// RFC 8032 §7.1 TEST 1, 2, 3.
const VECTORS = [
  {
    sk: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pk: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    msg: '',
    sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    sk: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    pk: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    msg: '72',
    sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    sk: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    pk: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    msg: 'af82',
    sig: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

// The eight points of small order (canonical encodings; the libsodium blocklist).
const SMALL_ORDER = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
];
const L = (1n << 252n) + 27742317777372353535851937790883648493n;
const le = (b: Uint8Array): bigint => b.reduceRight((acc, x) => (acc << 8n) | BigInt(x), 0n);
const toLe = (x: bigint): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => Number((x >> BigInt(8 * i)) & 0xffn));

describe('RFC 8032 §7.1 vectors', () => {
  for (const [i, v] of VECTORS.entries()) {
    it(`TEST ${i + 1}: key, signature, verification on node:crypto and noble`, () => {
      const sk = fromHex(v.sk);
      const msg = fromHex(v.msg);
      expect(toHex(publicKeyOf(sk))).toBe(v.pk);
      expect(toHex(signEd25519(msg, sk))).toBe(v.sig);
      for (const backend of ['node', 'noble'] as const) {
        expect(verifyEd25519(fromHex(v.sig), msg, fromHex(v.pk), backend)).toBe(true);
        expect(verifyEd25519(fromHex(v.sig), Uint8Array.of(...msg, 0), fromHex(v.pk), backend)).toBe(false);
      }
    });
  }
});

describe('edge cases', () => {
  const v = VECTORS[1] as (typeof VECTORS)[number];
  const pk = fromHex(v.pk);
  const msg = fromHex(v.msg);
  const sig = fromHex(v.sig);

  it('non-canonical S (S + L): both raw libraries refuse, and so does the strict check', () => {
    const bad = Uint8Array.of(...sig.subarray(0, 32), ...toLe(le(sig.subarray(32)) + L));
    expect(rawVerifyEd25519(bad, msg, pk, 'node')).toBe(false);
    expect(rawVerifyEd25519(bad, msg, pk, 'noble')).toBe(false);
    expect(signatureDefect(bad)).toBe('S_NOT_CANONICAL');
    expect(verifyEd25519(bad, msg, pk)).toBe(false);
    // S = L exactly, and S = 2^256 - 1
    expect(signatureDefect(Uint8Array.of(...sig.subarray(0, 32), ...toLe(L)))).toBe('S_NOT_CANONICAL');
    expect(signatureDefect(Uint8Array.of(...sig.subarray(0, 32), ...new Uint8Array(32).fill(0xff)))).toBe('S_NOT_CANONICAL');
  });

  it('the eight small-order public keys: noble confirms the list; the strict check refuses all', () => {
    for (const hex of SMALL_ORDER) {
      expect(ed.Point.fromBytes(fromHex(hex)).isSmallOrder()).toBe(true);
      expect(publicKeyDefect(fromHex(hex))).toBe('KEY_SMALL_ORDER');
    }
  });

  it('a "signature" valid for every message under a small-order key: what each library says, and the strict refusal', () => {
    // A = identity, R = identity, S = 0 satisfies [S]B = R + [k]A for every k.
    const A = fromHex(SMALL_ORDER[0] as string);
    const forged = Uint8Array.of(...fromHex(SMALL_ORDER[0] as string), ...new Uint8Array(32));
    const node = rawVerifyEd25519(forged, msg, A, 'node');
    const noble = rawVerifyEd25519(forged, msg, A, 'noble');
    // Recorded behaviour (OpenSSL 3 accepts it: it has no small-order check; noble's strict mode refuses).
    expect({ node, noble }).toEqual({ node: true, noble: false });
    expect(verifyEd25519(forged, msg, A, 'node')).toBe(false);
    expect(verifyEd25519(forged, msg, A, 'noble')).toBe(false);
    expect(ed.verify(forged, msg, A)).toBe(true); // noble's default ZIP-215 mode accepts it: hence zip215: false
  });

  it('an all-zero signature: refused by both libraries and by the strict check (R of small order)', () => {
    const zero = new Uint8Array(64);
    expect(rawVerifyEd25519(zero, msg, pk, 'node')).toBe(false);
    expect(rawVerifyEd25519(zero, msg, pk, 'noble')).toBe(false);
    expect(signatureDefect(zero)).toBe('R_SMALL_ORDER');
    // under a small-order (order 4) key, R = 0…0 and S = 0 is the forgery the check exists for
    const A4 = fromHex(SMALL_ORDER[2] as string);
    expect(verifyEd25519(zero, msg, A4, 'node')).toBe(false);
    expect(verifyEd25519(zero, msg, A4, 'noble')).toBe(false);
  });

  it('non-canonical encodings of the key (y ≥ p) are refused', () => {
    // y = p (encodes 0 non-canonically) and y = p + 1 (the identity, non-canonically)
    const p = (1n << 255n) - 19n;
    expect(publicKeyDefect(toLe(p))).toBe('KEY_NOT_CANONICAL');
    expect(publicKeyDefect(toLe(p + 1n))).toBe('KEY_NOT_CANONICAL');
    expect(publicKeyDefect(new Uint8Array(31))).toBe('BAD_LENGTH');
  });

  it('non-canonical R (y ≥ p): both libraries refuse it under a sound key', () => {
    const p = (1n << 255n) - 19n;
    for (const r of [toLe(p), toLe(p + 1n), toLe(p + 5n)]) {
      const bad = Uint8Array.of(...r, ...sig.subarray(32));
      expect(rawVerifyEd25519(bad, msg, pk, 'node')).toBe(false);
      expect(rawVerifyEd25519(bad, msg, pk, 'noble')).toBe(false);
      expect(verifyEd25519(bad, msg, pk)).toBe(false);
    }
  });

  it('wrong lengths never throw', () => {
    expect(verifyEd25519(new Uint8Array(63), msg, pk)).toBe(false);
    expect(verifyEd25519(sig, msg, new Uint8Array(33))).toBe(false);
  });
});

describe('node:crypto and noble agree under the strict policy', () => {
  it('random keys, messages and single-byte corruptions of signature, key or message', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 200 }), fc.nat(200), fc.integer({ min: 0, max: 3 }), (seed, msg, pos, what) => {
        const pk = publicKeyOf(seed);
        const sig = signEd25519(msg, seed);
        const s = sig.slice();
        const k = pk.slice();
        const m = msg.slice();
        if (what === 1) s[pos % 64] = (s[pos % 64] as number) ^ (1 << (pos % 8));
        if (what === 2) k[pos % 32] = (k[pos % 32] as number) ^ (1 << (pos % 8));
        if (what === 3 && m.length > 0) m[pos % m.length] = (m[pos % m.length] as number) ^ 1;
        const a = verifyEd25519(s, m, k, 'node');
        const b = verifyEd25519(s, m, k, 'noble');
        expect(a).toBe(b);
        if (what === 0) expect(a).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
