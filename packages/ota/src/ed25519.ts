// Ed25519 (RFC 8032 §5.1) with one strict verification policy applied before either backend:
// 64-byte signature, S < L (§5.1.7 step 1), public key A canonically encoded (y < p) and not of
// small order, commitment R not one of the small-order points. node:crypto (OpenSSL) does the
// curve arithmetic on the hot path; @noble/ed25519 (`zip215: false`) is the reference the tests
// compare it with.
import { createHash, createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import * as ed from '@noble/ed25519';

// noble's synchronous API needs a SHA-512; node:crypto's is used, and only if none is set.
if (ed.hashes.sha512 === undefined) {
  ed.hashes.sha512 = ((m: Uint8Array): Uint8Array => new Uint8Array(createHash('sha512').update(m).digest())) as NonNullable<typeof ed.hashes.sha512>;
}

/** The order of the prime-order subgroup, L = 2^252 + 27742317777372353535851937790883648493. */
const L = (1n << 252n) + 27742317777372353535851937790883648493n;

const L_BYTES = Uint8Array.from({ length: 32 }, (_, i) => Number((L >> BigInt(8 * i)) & 0xffn));

/** `s` (32 bytes, little-endian) < L, compared from the most significant byte. */
function scalarCanonical(s: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const d = (s[i] as number) - (L_BYTES[i] as number);
    if (d !== 0) return d < 0;
  }
  return false; // equal to L
}

/** Why a signature or key was refused before any curve equation was checked. */
export type Ed25519Defect = 'BAD_LENGTH' | 'S_NOT_CANONICAL' | 'KEY_NOT_CANONICAL' | 'KEY_SMALL_ORDER' | 'R_SMALL_ORDER';

/** A point encoding that decodes strictly (y < p) and is not of small order, or the defect. */
function pointDefect(bytes: Uint8Array): 'NOT_CANONICAL' | 'SMALL_ORDER' | undefined {
  let p;
  try {
    p = ed.Point.fromBytes(bytes, false);
  } catch {
    return 'NOT_CANONICAL';
  }
  return p.isSmallOrder() ? 'SMALL_ORDER' : undefined;
}

/** Checks a public key is usable: 32 bytes, canonical, not of small order. */
export function publicKeyDefect(publicKey: Uint8Array): Ed25519Defect | undefined {
  if (publicKey.length !== 32) return 'BAD_LENGTH';
  const d = pointDefect(publicKey);
  return d === undefined ? undefined : d === 'SMALL_ORDER' ? 'KEY_SMALL_ORDER' : 'KEY_NOT_CANONICAL';
}

// The canonical encodings of the eight points of small order (libsodium's blocklist).
const SMALL_ORDER_HEX = new Set([
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
]);

/**
 * Checks the shape of a signature: 64 bytes, R not one of the small-order points, S < L.
 * (A non-canonical R can never equal the encoding the verification equation recomputes, so both
 * backends refuse it without a check here.)
 */
export function signatureDefect(signature: Uint8Array): Ed25519Defect | undefined {
  if (signature.length !== 64) return 'BAD_LENGTH';
  if (!scalarCanonical(signature.subarray(32))) return 'S_NOT_CANONICAL';
  if (SMALL_ORDER_HEX.has(Buffer.from(signature.buffer, signature.byteOffset, 32).toString('hex'))) return 'R_SMALL_ORDER';
  return undefined;
}

// Public keys already found sound (trust stores hold a handful): the point decoding is not repeated.
const soundKeys = new Set<string>();
function keySound(publicKey: Uint8Array): boolean {
  const hex = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('hex');
  if (soundKeys.has(hex)) return true;
  if (publicKeyDefect(publicKey) !== undefined) return false;
  if (soundKeys.size > 1024) soundKeys.clear();
  soundKeys.add(hex);
  return true;
}

const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
const keyCache = new Map<string, KeyObject>();

function nodePublicKey(publicKey: Uint8Array): KeyObject {
  const hex = Buffer.from(publicKey).toString('hex');
  let k = keyCache.get(hex);
  if (k === undefined) {
    const der = new Uint8Array(44);
    der.set(SPKI_PREFIX);
    der.set(publicKey, 12);
    k = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
    if (keyCache.size > 256) keyCache.clear();
    keyCache.set(hex, k);
  }
  return k;
}

/** Which implementation does the curve arithmetic. */
export type Ed25519Backend = 'node' | 'noble';

/**
 * Strict Ed25519 verification (RFC 8032 §5.1.7 plus the refusals above). Never throws for bad
 * input: returns `false`.
 *
 * @example
 * ```ts
 * import { verifyEd25519, fromHex, type Ed25519Backend } from '@outpost/ota';
 * // RFC 8032 §7.1 TEST 1 (empty message)
 * const pk = fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
 * const sig = fromHex('e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b');
 * const backend: Ed25519Backend = 'noble';
 * verifyEd25519(sig, new Uint8Array(0), pk); // true (node:crypto)
 * verifyEd25519(sig, new Uint8Array(0), pk, backend); // true
 * ```
 */
export function verifyEd25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array, backend: Ed25519Backend = 'node'): boolean {
  if (!(signature instanceof Uint8Array) || !(message instanceof Uint8Array) || !(publicKey instanceof Uint8Array)) return false;
  if (signatureDefect(signature) !== undefined || !keySound(publicKey)) return false;
  try {
    if (backend === 'noble') return ed.verify(signature, message, publicKey, { zip215: false });
    return nodeVerify(null, message, nodePublicKey(publicKey), signature);
  } catch {
    return false;
  }
}

/** Raw, unchecked verification by one backend (for benchmarks and the edge-case tests). */
export function rawVerifyEd25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array, backend: Ed25519Backend): boolean {
  try {
    if (backend === 'noble') return ed.verify(signature, message, publicKey, { zip215: false });
    return nodeVerify(null, message, nodePublicKey(publicKey), signature);
  } catch {
    return false;
  }
}

/** RFC 8032 §5.1.6 signing with a 32-byte secret seed (node:crypto). */
export function signEd25519(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  if (!(secretKey instanceof Uint8Array)) throw new TypeError('secretKey: expected a Uint8Array');
  if (secretKey.length !== 32) throw new RangeError(`secretKey: expected 32 bytes, got ${secretKey.length}`);
  const der = new Uint8Array(48);
  der.set(PKCS8_PREFIX);
  der.set(secretKey, 16);
  const key = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  return new Uint8Array(nodeSign(null, message, key));
}

/** RFC 8032 §5.1.5 public key of a 32-byte secret seed. */
export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  if (!(secretKey instanceof Uint8Array)) throw new TypeError('secretKey: expected a Uint8Array');
  if (secretKey.length !== 32) throw new RangeError(`secretKey: expected 32 bytes, got ${secretKey.length}`);
  return ed.getPublicKey(secretKey);
}
