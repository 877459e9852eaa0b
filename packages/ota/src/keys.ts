import { createHash, randomBytes } from 'node:crypto';
import { publicKeyDefect, publicKeyOf } from './ed25519.js';
import { OtaError } from './errors.js';

/** An Ed25519 key pair: a 32-byte secret seed, its public key and key id. */
export interface KeyPair {
  /** The 32-byte RFC 8032 secret seed. Keep it off devices. */
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
  /** {@link keyIdOf} the public key. */
  readonly keyId: Uint8Array;
}

/**
 * A key id: the first 8 bytes of SHA-256 over the 32-byte public key.
 *
 * @example
 * ```ts
 * import { generateKeyPair, keyIdOf } from '@outpost/ota';
 * const k = generateKeyPair();
 * keyIdOf(k.publicKey).length; // 8
 * ```
 */
export function keyIdOf(publicKey: Uint8Array): Uint8Array {
  if (!(publicKey instanceof Uint8Array)) throw new TypeError('publicKey: expected a Uint8Array');
  if (publicKey.length !== 32) throw new RangeError(`publicKey: expected 32 bytes, got ${publicKey.length}`);
  return new Uint8Array(createHash('sha256').update(publicKey).digest().subarray(0, 8));
}

/**
 * Generates an Ed25519 signing key pair (from `crypto.randomBytes`), or derives one from a seed.
 *
 * @example
 * ```ts
 * import { generateKeyPair, type KeyPair } from '@outpost/ota';
 * const key: KeyPair = generateKeyPair();
 * key.publicKey.length; // 32
 * generateKeyPair(key.secretKey).keyId; // the same key id: derived from the seed
 * ```
 */
export function generateKeyPair(seed?: Uint8Array): KeyPair {
  const secretKey = seed === undefined ? new Uint8Array(randomBytes(32)) : Uint8Array.from(seed);
  const publicKey = publicKeyOf(secretKey);
  return { secretKey, publicKey, keyId: keyIdOf(publicKey) };
}

/**
 * Lower-case hex of bytes.
 *
 * @example
 * ```ts
 * import { toHex } from '@outpost/ota';
 * toHex(new Uint8Array([0xd2, 0x84])); // 'd284'
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * Bytes of an even-length hex string.
 *
 * @throws {RangeError} on odd length or non-hex digits.
 * @example
 * ```ts
 * import { fromHex } from '@outpost/ota';
 * fromHex('d284').length; // 2
 * ```
 */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string') throw new TypeError('hex: expected a string');
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new RangeError('hex: expected an even number of hex digits');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** A JSON Web Key (RFC 8037 §2) for an Ed25519 key; `d` only in private keys. */
export interface Ed25519Jwk {
  readonly kty: 'OKP';
  readonly crv: 'Ed25519';
  readonly kid: string;
  readonly x: string;
  readonly d?: string;
}

/**
 * Exports a key pair (or a public key) as an RFC 8037 JWK, `kid` in hex.
 *
 * @example
 * ```ts
 * import { generateKeyPair, keyToJwk, type Ed25519Jwk } from '@outpost/ota';
 * const k = generateKeyPair();
 * const pub: Ed25519Jwk = keyToJwk(k.publicKey);
 * pub.crv; // 'Ed25519'
 * keyToJwk(k).d !== undefined; // true: the private JWK
 * ```
 */
export function keyToJwk(key: KeyPair | Uint8Array): Ed25519Jwk {
  const pub = key instanceof Uint8Array ? key : key.publicKey;
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
  const jwk: Ed25519Jwk = { kty: 'OKP', crv: 'Ed25519', kid: toHex(keyIdOf(pub)), x: b64(pub) };
  return key instanceof Uint8Array ? jwk : { ...jwk, d: b64(key.secretKey) };
}

/**
 * Reads an RFC 8037 Ed25519 JWK: the public key, and the secret seed when `d` is present. The
 * public key must be canonical and not of small order; `kid`, when present, must match.
 *
 * @throws {OtaError} `MALFORMED` for anything else.
 * @example
 * ```ts
 * import { generateKeyPair, jwkToKey, keyToJwk } from '@outpost/ota';
 * const k = generateKeyPair();
 * jwkToKey(keyToJwk(k)).secretKey?.length; // 32
 * ```
 */
export function jwkToKey(jwk: unknown): { publicKey: Uint8Array; keyId: Uint8Array; secretKey?: Uint8Array } {
  if (typeof jwk !== 'object' || jwk === null) throw new OtaError('MALFORMED', 'jwk: expected an object');
  const j = jwk as Record<string, unknown>;
  if (j['kty'] !== 'OKP' || j['crv'] !== 'Ed25519' || typeof j['x'] !== 'string') throw new OtaError('MALFORMED', 'jwk: expected kty "OKP", crv "Ed25519" and x');
  const publicKey = new Uint8Array(Buffer.from(j['x'], 'base64url'));
  const defect = publicKeyDefect(publicKey);
  if (defect !== undefined) throw new OtaError('MALFORMED', `jwk: unusable Ed25519 public key (${defect})`);
  const keyId = keyIdOf(publicKey);
  if (j['kid'] !== undefined && j['kid'] !== toHex(keyId)) throw new OtaError('MALFORMED', `jwk: kid ${String(j['kid'])} does not match the key (${toHex(keyId)})`);
  if (j['d'] === undefined) return { publicKey, keyId };
  if (typeof j['d'] !== 'string') throw new OtaError('MALFORMED', 'jwk: d must be a string');
  const secretKey = new Uint8Array(Buffer.from(j['d'], 'base64url'));
  if (secretKey.length !== 32 || toHex(publicKeyOf(secretKey)) !== toHex(publicKey)) throw new OtaError('MALFORMED', 'jwk: d does not match x');
  return { publicKey, keyId, secretKey };
}
