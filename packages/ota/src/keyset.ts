// Trusted keys and signed key-set updates (TUF's root/targets split, simplified): root keys sign
// key sets; key sets list the manifest-signing keys and the revoked key ids. A key-set update is
// accepted only with a version above the current one (rollback protection), and revocation is
// cumulative: a revoked key id never comes back.
import { decodeDeterministic, encodeCbor, type CborValue } from './cbor.js';
import { signCose } from './cose.js';
import { parseSigned, requireThreshold, signCoseMulti, type RoleKeys } from './cose-multi.js';
import { publicKeyDefect, type Ed25519Backend } from './ed25519.js';
import { OtaError } from './errors.js';
import { keyIdOf, toHex, type KeyPair } from './keys.js';

/** COSE content type of a key-set update. */
export const KEYSET_CONTENT_TYPE = 'application/outpost-keyset+cbor';

/**
 * What a device trusts: the root role's keys (rotated only by a signed root update), the
 * manifest-signing (targets) keys and revoked key ids, and, from a TUF root, thresholds, the
 * timestamp role and the root's version and expiry.
 */
export interface TrustStore {
  /** Public keys of the root role: they sign root updates and key-set updates. */
  readonly rootKeys: readonly Uint8Array[];
  /** Public keys of the targets role: they sign manifests. */
  readonly signingKeys: readonly Uint8Array[];
  /** Hex key ids that are refused, cumulative. */
  readonly revoked: readonly string[];
  /** Version of the last key set applied (0: none). */
  readonly keySetVersion: number;
  /**
   * The TUF part, set by a signed root ({@link trustFromRoot}, `applyRootUpdate`). Absent in a
   * store from {@link createTrustStore} (a legacy store): it behaves as root version 0 with
   * threshold 1 for root and targets, no timestamp role and no expiry.
   */
  readonly roles?: TrustRoles;
}

/** Thresholds, the timestamp role, and the root's version and expiry. */
export interface TrustRoles {
  readonly rootVersion: number;
  /** Seconds since the epoch; at or after it the root is expired and nothing verifies. */
  readonly rootExpiresAt: number;
  readonly rootThreshold: number;
  readonly targetsThreshold: number;
  /** Keys and threshold of the timestamp role; threshold 0: no timestamp role. */
  readonly timestamp: RoleKeys;
}

/** The keys and threshold of a role of `trust` (legacy stores: threshold 1, no timestamp role). */
export function roleOf(trust: TrustStore, role: 'root' | 'targets' | 'timestamp'): RoleKeys {
  const r = trust.roles;
  if (role === 'root') return { keys: trust.rootKeys, threshold: r?.rootThreshold ?? 1 };
  if (role === 'targets') return { keys: trust.signingKeys, threshold: r?.targetsThreshold ?? 1 };
  return r?.timestamp ?? { keys: [], threshold: 0 };
}

export function checkKeys(keys: unknown, field: string): Uint8Array[] {
  if (!Array.isArray(keys)) throw new TypeError(`${field}: expected an array of 32-byte public keys`);
  return keys.map((k, i) => {
    if (!(k instanceof Uint8Array)) throw new TypeError(`${field}[${i}]: expected a Uint8Array`);
    const d = publicKeyDefect(k);
    if (d !== undefined) throw new RangeError(`${field}[${i}]: unusable Ed25519 public key (${d})`);
    return Uint8Array.from(k);
  });
}

/**
 * Builds a trust store from public keys.
 *
 * @throws {TypeError} on wrong types; `RangeError` on a malformed or small-order key.
 * @example
 * ```ts
 * import { createTrustStore, generateKeyPair } from '@outpost/ota';
 * const root = generateKeyPair();
 * const release = generateKeyPair();
 * const trust = createTrustStore({ rootKeys: [root.publicKey], signingKeys: [release.publicKey] });
 * trust.keySetVersion; // 0
 * ```
 */
export function createTrustStore(options: { rootKeys?: readonly Uint8Array[]; signingKeys: readonly Uint8Array[] }): TrustStore {
  if (typeof options !== 'object' || options === null) throw new TypeError('options: expected an object');
  return { rootKeys: checkKeys(options.rootKeys ?? [], 'rootKeys'), signingKeys: checkKeys(options.signingKeys, 'signingKeys'), revoked: [], keySetVersion: 0 };
}

/** The content of a key-set update. */
export interface KeySet {
  readonly version: number;
  readonly signingKeys: readonly Uint8Array[];
  /** Key ids (8 bytes) to revoke. */
  readonly revoked: readonly Uint8Array[];
}

/**
 * Signs a key-set update with a root key (a COSE_Sign1), or with several (a COSE_Sign, for a root
 * role with a threshold above 1). Payload: `{0: 1, 1: version, 2: [* bstr], 3: [* bstr]}`.
 *
 * @example
 * ```ts
 * import { generateKeyPair, keyIdOf, KEYSET_CONTENT_TYPE, parseCose, signKeySet, type KeySet } from '@outpost/ota';
 * const root = generateKeyPair();
 * const next = generateKeyPair();
 * const old = generateKeyPair();
 * const set: KeySet = { version: 2, signingKeys: [next.publicKey], revoked: [keyIdOf(old.publicKey)] };
 * parseCose(signKeySet(set, root), KEYSET_CONTENT_TYPE).contentType; // 'application/outpost-keyset+cbor'
 * ```
 */
export function signKeySet(set: KeySet, rootKey: KeyPair | readonly KeyPair[]): Uint8Array {
  if (!Number.isSafeInteger(set.version) || set.version < 1) throw new RangeError('keySet.version: expected an integer ≥ 1');
  const payload = encodeCbor(new Map<number, CborValue>([
    [0, 1],
    [1, set.version],
    [2, checkKeys(set.signingKeys, 'keySet.signingKeys')],
    [3, set.revoked.map((r) => Uint8Array.from(r))],
  ]));
  if (Array.isArray(rootKey)) return signCoseMulti(payload, rootKey as readonly KeyPair[], KEYSET_CONTENT_TYPE);
  const k = rootKey as KeyPair;
  return signCose(payload, k.secretKey, keyIdOf(k.publicKey), KEYSET_CONTENT_TYPE);
}

/**
 * Applies a signed key-set update and returns the new trust store (the old one is unchanged).
 * Refuses (`OtaError`): a signature not by a root key (`UNKNOWN_KEY`, `REVOKED_KEY`,
 * `SIGNATURE_INVALID`), a version not above the current one (`KEYSET_ROLLBACK`), bad shape
 * (`MALFORMED`, `UNSUPPORTED_ALGORITHM`, `UNKNOWN_CRITICAL`), or a signing key that was revoked
 * before (`REVOKED_KEY`). Persist the result before acting on it.
 *
 * @example
 * ```ts
 * import { applyKeySetUpdate, createTrustStore, generateKeyPair, keyIdOf, signKeySet, type TrustStore } from '@outpost/ota';
 * const root = generateKeyPair();
 * const a = generateKeyPair();
 * const b = generateKeyPair();
 * const trust: TrustStore = createTrustStore({ rootKeys: [root.publicKey], signingKeys: [a.publicKey] });
 * const next = applyKeySetUpdate(trust, signKeySet({ version: 1, signingKeys: [b.publicKey], revoked: [keyIdOf(a.publicKey)] }, root));
 * next.revoked.length; // 1
 * ```
 */
export function applyKeySetUpdate(trust: TrustStore, bytes: Uint8Array, options: { maxBytes?: number; backend?: Ed25519Backend } = {}): TrustStore {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes: expected a Uint8Array');
  const max = options.maxBytes ?? 16384;
  if (bytes.length > max) throw new OtaError('MANIFEST_TOO_LARGE', `key set: ${bytes.length} bytes exceeds the ${max}-byte limit`);
  const doc = parseSigned(bytes, KEYSET_CONTENT_TYPE);
  // A key set changes the targets role, so it needs the root role's threshold (TUF 5.3.4).
  requireThreshold(doc, roleOf(trust, 'root'), trust.revoked, 'key set', options.backend);
  const v = decodeDeterministic(doc.payload, 'key set');
  if (!(v instanceof Map) || v.get(0) !== 1) throw new OtaError('MALFORMED', 'key set: expected a map with format 1');
  for (const k of v.keys()) if (typeof k !== 'number' || k > 3) throw new OtaError('UNKNOWN_CRITICAL', `key set: unknown field ${String(k)}`);
  const version = v.get(1);
  const keys = v.get(2);
  const revoked = v.get(3);
  if (typeof version !== 'number' || version < 1) throw new OtaError('MALFORMED', 'key set: version must be an unsigned integer ≥ 1');
  if (!Array.isArray(keys) || !keys.every((k) => k instanceof Uint8Array && publicKeyDefect(k) === undefined)) throw new OtaError('MALFORMED', 'key set: signing keys must be valid 32-byte Ed25519 public keys');
  if (!Array.isArray(revoked) || !revoked.every((k) => k instanceof Uint8Array)) throw new OtaError('MALFORMED', 'key set: revoked must be an array of key ids');
  if (version <= trust.keySetVersion) throw new OtaError('KEYSET_ROLLBACK', `key set: version ${version} is not above the current ${trust.keySetVersion}`);
  // A TUF store: never below the targets threshold (a legacy store keeps its old behaviour).
  const targets = trust.roles?.targetsThreshold ?? 0;
  if (keys.length < targets) throw new OtaError('MALFORMED', `key set: ${keys.length} signing key(s), fewer than the targets threshold ${targets} (no manifest could verify)`);
  const allRevoked = new Set([...trust.revoked, ...(revoked as Uint8Array[]).map(toHex)]);
  for (const k of keys as Uint8Array[]) {
    if (allRevoked.has(toHex(keyIdOf(k)))) throw new OtaError('REVOKED_KEY', `key set: lists revoked key ${toHex(keyIdOf(k))}`);
  }
  return { ...trust, signingKeys: (keys as Uint8Array[]).map((k) => Uint8Array.from(k)), revoked: [...allRevoked].sort(), keySetVersion: version };
}

/**
 * Serialises a trust store (deterministic CBOR) for the device to persist.
 *
 * @example
 * ```ts
 * import { createTrustStore, decodeTrustStore, encodeTrustStore, generateKeyPair } from '@outpost/ota';
 * const t = createTrustStore({ signingKeys: [generateKeyPair().publicKey] });
 * decodeTrustStore(encodeTrustStore(t)).signingKeys.length; // 1
 * ```
 */
export function encodeTrustStore(trust: TrustStore): Uint8Array {
  const m = new Map<number, CborValue>([
    [0, 1], [1, trust.keySetVersion], [2, [...trust.rootKeys]], [3, [...trust.signingKeys]], [4, [...trust.revoked]],
  ]);
  const r = trust.roles;
  if (r !== undefined) {
    m.set(5, r.rootVersion).set(6, r.rootExpiresAt).set(7, r.rootThreshold).set(8, r.targetsThreshold).set(9, [...r.timestamp.keys]).set(10, r.timestamp.threshold);
  }
  return encodeCbor(m);
}

/** Reads what {@link encodeTrustStore} wrote (with or without the TUF part). @throws {OtaError} `MALFORMED`. */
export function decodeTrustStore(bytes: Uint8Array): TrustStore {
  const v = decodeDeterministic(bytes, 'trust store');
  const ok = v instanceof Map && v.get(0) === 1 && typeof v.get(1) === 'number' && Array.isArray(v.get(2)) && Array.isArray(v.get(3)) && Array.isArray(v.get(4));
  if (!ok) throw new OtaError('MALFORMED', 'trust store: unexpected shape');
  const m = v as Map<number, CborValue>;
  try {
    const t = createTrustStore({ rootKeys: m.get(2) as Uint8Array[], signingKeys: m.get(3) as Uint8Array[] });
    const base: TrustStore = { ...t, revoked: (m.get(4) as string[]).map(String), keySetVersion: m.get(1) as number };
    if (!m.has(5)) return base;
    const n = (k: number): number => {
      const x = m.get(k);
      if (typeof x !== 'number' || x < 0) throw new RangeError(`field ${k}: expected an unsigned integer`);
      return x;
    };
    const roles: TrustRoles = {
      rootVersion: n(5), rootExpiresAt: n(6), rootThreshold: n(7), targetsThreshold: n(8),
      timestamp: { keys: checkKeys(m.get(9), 'timestampKeys'), threshold: n(10) },
    };
    return { ...base, roles };
  } catch (err) {
    throw new OtaError('MALFORMED', `trust store: ${(err as Error).message}`);
  }
}
