// The update manifest: a CBOR map with integer keys (SUIT-style, draft-ietf-suit-manifest),
// deterministic encoding (RFC 8949 §4.2.1), carried as the payload of a COSE_Sign1.
//
//   key  field            type
//   0    formatVersion    uint (1)
//   1    vendor           tstr
//   2    deviceClass      tstr
//   3    hwRevisions      [* tstr]   optional; absent = any revision
//   4    version          tstr       "MAJOR.MINOR.PATCH"
//   5    sequence         uint       monotonically increasing per device class
//   6    securityCounter  uint       anti-rollback counter
//   7    imageSize        uint       bytes
//   8    imageDigest      bstr .size 32   SHA-256 of the image
//   9    expiresAt        uint       optional; seconds since the Unix epoch
//   10   keyId            bstr       the signing key's id (must equal the COSE kid)
//   negative keys: non-critical extensions, ignored; any other non-negative key: unknown
//   critical field, refused.
import { decodeDeterministic, encodeCbor, type CborValue } from './cbor.js';
import { signCose } from './cose.js';
import { signCoseMulti } from './cose-multi.js';
import { OtaError } from './errors.js';
import { keyIdOf, type KeyPair } from './keys.js';

/** COSE content type of a manifest. */
export const MANIFEST_CONTENT_TYPE = 'application/outpost-manifest+cbor';
const FORMAT_VERSION = 1;

/** A decoded, type-checked manifest. */
export interface Manifest {
  readonly formatVersion: 1;
  readonly vendor: string;
  readonly deviceClass: string;
  /** Hardware revisions the image runs on; absent means any. */
  readonly hwRevisions?: readonly string[];
  /** `MAJOR.MINOR.PATCH`. */
  readonly version: string;
  readonly sequence: number;
  readonly securityCounter: number;
  readonly imageSize: number;
  /** SHA-256 of the image, 32 bytes. */
  readonly imageDigest: Uint8Array;
  /** Seconds since the Unix epoch after which the manifest is refused. */
  readonly expiresAt?: number;
  readonly keyId: Uint8Array;
}

/** What {@link signManifest} needs; `keyId` and `formatVersion` are filled in. */
export type ManifestFields = Omit<Manifest, 'formatVersion' | 'keyId'>;

const VERSION_RE = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/;

/**
 * Compares two `MAJOR.MINOR.PATCH` versions: negative, zero or positive.
 *
 * @throws {RangeError} when either is not `MAJOR.MINOR.PATCH`.
 * @example
 * ```ts
 * import { compareVersions } from '@outpost/ota';
 * compareVersions('1.10.0', '1.9.3') > 0; // true
 * ```
 */
export function compareVersions(a: string, b: string): number {
  const pa = VERSION_RE.exec(a);
  const pb = VERSION_RE.exec(b);
  if (pa === null || pb === null) throw new RangeError(`version: expected MAJOR.MINOR.PATCH, got "${pa === null ? a : b}"`);
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return d;
  }
  return 0;
}

function checkUint(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new RangeError(`${field}: expected a non-negative safe integer, got ${String(v)}`);
  return v;
}

/** Encodes manifest fields as the deterministic CBOR payload. */
export function encodeManifest(m: Manifest): Uint8Array {
  if (typeof m.vendor !== 'string' || typeof m.deviceClass !== 'string' || typeof m.version !== 'string') throw new TypeError('manifest: vendor, deviceClass and version must be strings');
  if (m.vendor.length === 0 || m.deviceClass.length === 0) throw new RangeError('manifest: vendor and deviceClass must not be empty');
  if (!VERSION_RE.test(m.version)) throw new RangeError(`manifest.version: expected MAJOR.MINOR.PATCH, got "${m.version}"`);
  if (!(m.imageDigest instanceof Uint8Array) || m.imageDigest.length !== 32) throw new RangeError('manifest.imageDigest: expected 32 bytes (SHA-256)');
  const map = new Map<number, CborValue>([
    [0, FORMAT_VERSION],
    [1, m.vendor],
    [2, m.deviceClass],
    [4, m.version],
    [5, checkUint(m.sequence, 'manifest.sequence')],
    [6, checkUint(m.securityCounter, 'manifest.securityCounter')],
    [7, checkUint(m.imageSize, 'manifest.imageSize')],
    [8, m.imageDigest],
    [10, m.keyId],
  ]);
  if (m.hwRevisions !== undefined) {
    if (!Array.isArray(m.hwRevisions) || m.hwRevisions.some((r) => typeof r !== 'string')) throw new TypeError('manifest.hwRevisions: expected an array of strings');
    map.set(3, [...m.hwRevisions]);
  }
  if (m.expiresAt !== undefined) map.set(9, checkUint(m.expiresAt, 'manifest.expiresAt'));
  return encodeCbor(map);
}

function malformed(field: string, expected: string): never {
  throw new OtaError('MALFORMED', `manifest.${field}: expected ${expected}`);
}

/**
 * Decodes and type-checks a manifest payload (deterministic CBOR only). It does not verify
 * anything: use {@link verifyManifest} on a device.
 *
 * @throws {OtaError} `MALFORMED` or `UNKNOWN_CRITICAL`.
 * @example
 * ```ts
 * import { decodeManifest, generateKeyPair, MANIFEST_CONTENT_TYPE, parseCose, signManifest, type CoseSign1, type Manifest } from '@outpost/ota';
 * const bytes = signManifest({ vendor: 'acme', deviceClass: 'gw', version: '2.0.0', sequence: 3, securityCounter: 1,
 *   imageSize: 10, imageDigest: new Uint8Array(32) }, generateKeyPair());
 * const cose: CoseSign1 = parseCose(bytes, MANIFEST_CONTENT_TYPE);
 * const m: Manifest = decodeManifest(cose.payload);
 * m.version; // '2.0.0'
 * ```
 */
export function decodeManifest(payload: Uint8Array): Manifest {
  const v = decodeDeterministic(payload, 'manifest');
  if (!(v instanceof Map)) malformed('(root)', 'a map');
  for (const k of v.keys()) {
    if (typeof k !== 'number') malformed('(keys)', `integer keys, got "${k}"`);
    if (k >= 0 && k > 10) throw new OtaError('UNKNOWN_CRITICAL', `manifest: unknown critical field ${k} (non-negative keys are critical)`);
  }
  const uint = (k: number, name: string): number => {
    const x = v.get(k);
    if (typeof x !== 'number' || x < 0) malformed(name, 'an unsigned integer');
    return x;
  };
  const text = (k: number, name: string): string => {
    const x = v.get(k);
    if (typeof x !== 'string' || x.length === 0) malformed(name, 'a non-empty text string');
    return x;
  };
  const bytes = (k: number, name: string, len?: number): Uint8Array => {
    const x = v.get(k);
    if (!(x instanceof Uint8Array) || (len !== undefined && x.length !== len) || x.length === 0) malformed(name, len === undefined ? 'a byte string' : `a ${len}-byte string`);
    return x;
  };
  if (uint(0, 'formatVersion') !== FORMAT_VERSION) malformed('formatVersion', `${FORMAT_VERSION}`);
  const version = text(4, 'version');
  if (!VERSION_RE.test(version)) malformed('version', 'MAJOR.MINOR.PATCH');
  const m: Manifest = {
    formatVersion: 1,
    vendor: text(1, 'vendor'),
    deviceClass: text(2, 'deviceClass'),
    version,
    sequence: uint(5, 'sequence'),
    securityCounter: uint(6, 'securityCounter'),
    imageSize: uint(7, 'imageSize'),
    imageDigest: bytes(8, 'imageDigest', 32),
    keyId: bytes(10, 'keyId'),
  };
  const hw = v.get(3);
  if (hw !== undefined && (!Array.isArray(hw) || hw.some((r) => typeof r !== 'string'))) malformed('hwRevisions', 'an array of text strings');
  const exp = v.get(9);
  if (exp !== undefined && (typeof exp !== 'number' || exp < 0)) malformed('expiresAt', 'an unsigned integer');
  return {
    ...m,
    ...(hw === undefined ? {} : { hwRevisions: hw as string[] }),
    ...(exp === undefined ? {} : { expiresAt: exp as number }),
  };
}

/**
 * Signs a manifest: deterministic CBOR payload in a tagged COSE_Sign1 with EdDSA, the key id in
 * the protected header and in the manifest. Given an array of keys (a targets role with a
 * threshold above 1), a COSE_Sign with one signature per key; the manifest names the first.
 *
 * @example
 * ```ts
 * import { generateKeyPair, signManifest, type ManifestFields } from '@outpost/ota';
 * import { createHash } from 'node:crypto';
 * const key = generateKeyPair();
 * const image = new Uint8Array(1024);
 * const fields: ManifestFields = {
 *   vendor: 'acme', deviceClass: 'gw-1', hwRevisions: ['rev-b'], version: '1.0.0', sequence: 1, securityCounter: 1,
 *   imageSize: image.length, imageDigest: new Uint8Array(createHash('sha256').update(image).digest()),
 *   expiresAt: Math.floor(Date.now() / 1000) + 30 * 86400,
 * };
 * const manifest = signManifest(fields, key);
 * manifest[0]; // 0xd2 (COSE_Sign1 tag)
 * ```
 */
export function signManifest(fields: ManifestFields, key: KeyPair | readonly KeyPair[]): Uint8Array {
  if (typeof fields !== 'object' || fields === null) throw new TypeError('fields: expected an object');
  const keys = Array.isArray(key) ? (key as readonly KeyPair[]) : [key as KeyPair];
  if (keys.length === 0 || keys.some((k) => typeof k !== 'object' || k === null || !(k.secretKey instanceof Uint8Array))) throw new TypeError('key: expected a KeyPair or a non-empty array of them');
  const first = keys[0] as KeyPair;
  const keyId = keyIdOf(first.publicKey);
  const payload = encodeManifest({ ...fields, formatVersion: 1, keyId });
  return Array.isArray(key) ? signCoseMulti(payload, keys, MANIFEST_CONTENT_TYPE) : signCose(payload, first.secretKey, keyId, MANIFEST_CONTENT_TYPE);
}
