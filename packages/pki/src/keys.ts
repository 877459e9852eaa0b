// Internal key helpers: generation and import through WebCrypto (node:crypto's `webcrypto`,
// passed explicitly to @peculiar/x509 so no process-wide provider switch is touched),
// PEM conversion, fingerprints and serial numbers. Not exported from the package.

import { createHash, createPrivateKey, createPublicKey, randomBytes, webcrypto, type KeyObject } from 'node:crypto';

// The package compiles without the DOM lib; take the WebCrypto types from @types/node.
export type Crypto = webcrypto.Crypto;
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;
/** A WebCrypto signature algorithm (ECDSA with its hash, or RSASSA-PKCS1-v1_5). */
export type SigningAlgorithm = webcrypto.Algorithm | webcrypto.EcdsaParams;
type RsaHashedKeyGenParams = webcrypto.RsaHashedKeyGenParams;
type EcKeyGenParams = webcrypto.EcKeyGenParams;
type RsaHashedImportParams = webcrypto.RsaHashedImportParams;
type EcKeyImportParams = webcrypto.EcKeyImportParams;
type EcdsaParams = webcrypto.EcdsaParams;

/** The WebCrypto provider handed to every @peculiar/x509 call. */
export const crypto: Crypto = webcrypto;

/** Key algorithms the fleet PKI issues. */
export type KeyAlgorithm = 'ECDSA-P256' | 'RSA-2048';

export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['ECDSA-P256', 'RSA-2048'];

/** WebCrypto parameters for generating and signing with each algorithm (SHA-256, never SHA-1). */
function params(algorithm: KeyAlgorithm): { gen: RsaHashedKeyGenParams | EcKeyGenParams; sign: SigningAlgorithm; importAlg: RsaHashedImportParams | EcKeyImportParams } {
  if (algorithm === 'ECDSA-P256') {
    return {
      gen: { name: 'ECDSA', namedCurve: 'P-256' },
      sign: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
      importAlg: { name: 'ECDSA', namedCurve: 'P-256' },
    };
  }
  return {
    gen: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    sign: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    importAlg: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  };
}

export interface GeneratedKeyPair {
  readonly keys: CryptoKeyPair;
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
  readonly spkiDer: Uint8Array;
}

export async function generateKeyPair(algorithm: KeyAlgorithm): Promise<GeneratedKeyPair> {
  const keys = (await crypto.subtle.generateKey(params(algorithm).gen, true, ['sign', 'verify'])) as CryptoKeyPair;
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
  const spkiDer = new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey));
  return { keys, privateKeyPem: toPem('PRIVATE KEY', pkcs8), publicKeyPem: toPem('PUBLIC KEY', spkiDer), spkiDer };
}

export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Which of our algorithms a key is, or a description of why it is not acceptable. */
export function classifyKey(key: KeyObject): KeyAlgorithm | { unsupported: string } {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'ec') {
    return details.namedCurve === 'prime256v1' ? 'ECDSA-P256' : { unsupported: `EC curve ${details.namedCurve ?? 'unknown'} (expected P-256)` };
  }
  if (type === 'rsa') {
    const bits = details.modulusLength ?? 0;
    return bits >= 2048 ? 'RSA-2048' : { unsupported: `RSA-${bits} (expected at least 2048 bits)` };
  }
  return { unsupported: `${type ?? 'unknown'} key (expected ECDSA P-256 or RSA ≥ 2048)` };
}

/** Imports a PEM private key (PKCS#8, SEC1 or PKCS#1) as a WebCrypto signing key. */
export async function importSigningKey(pem: string): Promise<{ key: CryptoKey; algorithm: KeyAlgorithm; signingAlgorithm: SigningAlgorithm; object: KeyObject }> {
  const object = createPrivateKey(pem);
  const kind = classifyKey(object);
  if (typeof kind !== 'string') throw new RangeError(`unsupported CA key: ${kind.unsupported}`);
  const p = params(kind);
  const pkcs8 = object.export({ type: 'pkcs8', format: 'der' });
  // RSA keys of any size ≥ 2048 import with the same parameters.
  const key = await crypto.subtle.importKey('pkcs8', pkcs8, p.importAlg, false, ['sign']);
  return { key, algorithm: kind, signingAlgorithm: p.sign, object };
}

/** SPKI DER of a public key given as PEM (SPKI "PUBLIC KEY" or a private key, whose public half is taken). */
export function spkiFromPem(pem: string): { der: Uint8Array; object: KeyObject } {
  const object = createPublicKey(pem);
  const der = new Uint8Array(object.export({ type: 'spki', format: 'der' }));
  return { der, object };
}

/** SHA-256 as uppercase colon-separated hex, the format of Node's `fingerprint256` and `openssl x509 -fingerprint -sha256`. */
export function sha256Colon(bytes: Uint8Array): string {
  const hex = createHash('sha256').update(bytes).digest('hex').toUpperCase();
  return hex.match(/../g)?.join(':') ?? '';
}

/**
 * A random positive 16-byte serial (RFC 5280 §4.1.2.2: positive, ≤ 20 octets; CA/B BR: ≥ 64
 * random bits). The first byte is in 0x01..0x7f so the DER INTEGER is exactly 16 bytes and positive.
 */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) || 0x01;
  return bytes.toString('hex');
}

/** X.509 validity has second precision; drop the milliseconds so round-trips compare equal. */
export function wholeSeconds(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

export function signingAlgorithmFor(algorithm: KeyAlgorithm): SigningAlgorithm {
  return params(algorithm).sign;
}
