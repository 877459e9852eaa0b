// TUF roles (The Update Framework specification 1.0, §5.3 "Update the root role"): a signed root
// document lists the keys and thresholds of the root, targets (manifest-signing) and timestamp
// roles, with a version and an expiry. Root N+1 is trusted only when a threshold of root N's keys
// AND a threshold of its own keys signed it, and its version is exactly N+1 (§5.3.4, §5.3.5).
//
// Root payload, deterministic CBOR:
//   {0: 1, 1: version, 2: expiresAt, 3: [* root key], 4: root threshold,
//    5: [* targets key], 6: targets threshold, 7: [* timestamp key], 8: timestamp threshold}
import { decodeDeterministic, encodeCbor, type CborValue } from './cbor.js';
import { parseSigned, requireThreshold, signCoseMulti, uniqueKeys, type RoleKeys } from './cose-multi.js';
import { type Ed25519Backend } from './ed25519.js';
import { OtaError } from './errors.js';
import { keyIdOf, toHex, type KeyPair } from './keys.js';
import { checkKeys, roleOf, type TrustStore } from './keyset.js';

/** COSE content type of a root document. */
export const ROOT_CONTENT_TYPE = 'application/outpost-root+cbor';
/** Default cap on a root document's size, checked before parsing. */
export const DEFAULT_MAX_ROOT_BYTES = 16384;

/** The content of a root document. */
export interface RootMetadata {
  readonly version: number;
  /** Seconds since the epoch. */
  readonly expiresAt: number;
  readonly root: RoleKeys;
  readonly targets: RoleKeys;
  /** Threshold 0 and no keys: no timestamp role (freshness not required). */
  readonly timestamp: RoleKeys;
}

function checkRole(r: RoleKeys, name: string, optional: boolean): { keys: Uint8Array[]; threshold: number } {
  if (typeof r !== 'object' || r === null) throw new TypeError(`${name}: expected { keys, threshold }`);
  const keys = uniqueKeys(checkKeys(r.keys, `${name}.keys`));
  const min = optional && keys.length === 0 ? 0 : 1;
  if (!Number.isSafeInteger(r.threshold) || r.threshold < min || r.threshold > keys.length) {
    throw new RangeError(`${name}.threshold: expected an integer in [${min}, ${keys.length}] (the number of distinct keys), got ${String(r.threshold)}`);
  }
  return { keys, threshold: r.threshold };
}

/**
 * Signs a root document with every key given (a COSE_Sign, one signature per key). A rotation
 * (version N+1) must be signed by a threshold of root N's keys and a threshold of its own.
 *
 * @throws {RangeError} on a version below 1, a threshold of 0 or above the number of keys.
 * @example
 * ```ts
 * import { generateKeyPair, signRoot, trustFromRoot, type RootMetadata } from '@outpost/ota';
 * const [r1, r2, r3, release, stamp] = [1, 2, 3, 4, 5].map(() => generateKeyPair());
 * const root: RootMetadata = {
 *   version: 1, expiresAt: 2_000_000_000,
 *   root: { keys: [r1!.publicKey, r2!.publicKey, r3!.publicKey], threshold: 2 },
 *   targets: { keys: [release!.publicKey], threshold: 1 },
 *   timestamp: { keys: [stamp!.publicKey], threshold: 1 },
 * };
 * const trust = trustFromRoot(signRoot(root, [r1!, r2!]));
 * trust.roles?.rootThreshold; // 2
 * ```
 */
export function signRoot(root: RootMetadata, keys: readonly KeyPair[]): Uint8Array {
  return signCoseMulti(encodeRoot(root), keys, ROOT_CONTENT_TYPE);
}

function encodeRoot(r: RootMetadata): Uint8Array {
  if (typeof r !== 'object' || r === null) throw new TypeError('root: expected an object');
  if (!Number.isSafeInteger(r.version) || r.version < 1) throw new RangeError('root.version: expected an integer ≥ 1');
  if (!Number.isSafeInteger(r.expiresAt) || r.expiresAt < 0) throw new RangeError('root.expiresAt: expected seconds since the epoch');
  const root = checkRole(r.root, 'root.root', false);
  const targets = checkRole(r.targets, 'root.targets', false);
  const ts = checkRole(r.timestamp, 'root.timestamp', true);
  return encodeCbor(new Map<number, CborValue>([
    [0, 1], [1, r.version], [2, r.expiresAt], [3, root.keys], [4, root.threshold], [5, targets.keys], [6, targets.threshold], [7, ts.keys], [8, ts.threshold],
  ]));
}

/**
 * Decodes a root document (its COSE envelope and payload, every field checked) WITHOUT verifying
 * any signature: for tools (`outpost ota root inspect`), never for a trust decision.
 *
 * @throws {OtaError} `MALFORMED`, `UNKNOWN_CRITICAL`.
 * @example
 * ```ts
 * import { decodeRoot, DEFAULT_MAX_ROOT_BYTES, generateKeyPair, ROOT_CONTENT_TYPE, signRoot, trustFromRoot,
 *   type RoleKeys, type RootOptions, type TrustRoles } from '@outpost/ota';
 * const k = generateKeyPair();
 * const one: RoleKeys = { keys: [k.publicKey], threshold: 1 };
 * const bytes = signRoot({ version: 1, expiresAt: 2_000_000_000, root: one, targets: one, timestamp: { keys: [], threshold: 0 } }, [k]);
 * const options: RootOptions = { maxBytes: DEFAULT_MAX_ROOT_BYTES };
 * const roles: TrustRoles | undefined = trustFromRoot(bytes, options).roles;
 * roles?.timestamp.threshold; // 0: no timestamp role
 * ROOT_CONTENT_TYPE; // 'application/outpost-root+cbor'
 * decodeRoot(bytes).version; // 1
 * ```
 */
export function decodeRoot(bytes: Uint8Array): RootMetadata {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes: expected a Uint8Array');
  return decodeRootPayload(parseSigned(bytes, ROOT_CONTENT_TYPE).payload);
}

function decodeRootPayload(payload: Uint8Array): RootMetadata {
  const v = decodeDeterministic(payload, 'root');
  if (!(v instanceof Map) || v.get(0) !== 1) throw new OtaError('MALFORMED', 'root: expected a map with format 1');
  for (const k of v.keys()) if (typeof k !== 'number' || k < 0 || k > 8) throw new OtaError('UNKNOWN_CRITICAL', `root: unknown field ${String(k)}`);
  const n = (k: number, name: string): number => {
    const x = v.get(k);
    if (typeof x !== 'number' || x < 0) throw new OtaError('MALFORMED', `root.${name}: expected an unsigned integer`);
    return x;
  };
  try {
    const role = (kk: number, kt: number, name: string, optional: boolean): RoleKeys => {
      const keys = v.get(kk);
      if (!Array.isArray(keys)) throw new RangeError(`${name}.keys: expected an array`);
      const r = checkRole({ keys: keys as Uint8Array[], threshold: n(kt, `${name}.threshold`) }, name, optional);
      if (r.keys.length !== keys.length) throw new RangeError(`${name}.keys: a key is listed twice`);
      return r;
    };
    return {
      version: n(1, 'version'), expiresAt: n(2, 'expiresAt'),
      root: role(3, 4, 'root', false), targets: role(5, 6, 'targets', false), timestamp: role(7, 8, 'timestamp', true),
    };
  } catch (err) {
    if (err instanceof OtaError) throw err;
    throw new OtaError('MALFORMED', `root: ${(err as Error).message}`);
  }
}

/** Options of {@link trustFromRoot} and {@link applyRootUpdate}. */
export interface RootOptions {
  /** Documents larger than this are refused before parsing. Default {@link DEFAULT_MAX_ROOT_BYTES}. */
  readonly maxBytes?: number;
  readonly backend?: Ed25519Backend;
}

function parseRoot(bytes: Uint8Array, options: RootOptions): { doc: ReturnType<typeof parseSigned>; root: RootMetadata } {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes: expected a Uint8Array');
  const max = options.maxBytes ?? DEFAULT_MAX_ROOT_BYTES;
  // Endless data: the cap comes before any parsing.
  if (bytes.length > max) throw new OtaError('METADATA_TOO_LARGE', `root: ${bytes.length} bytes exceeds the ${max}-byte limit`);
  const doc = parseSigned(bytes, ROOT_CONTENT_TYPE);
  return { doc, root: decodeRootPayload(doc.payload) };
}

function toTrust(root: RootMetadata, prev: TrustStore | undefined): TrustStore {
  return {
    rootKeys: root.root.keys, signingKeys: root.targets.keys, revoked: prev?.revoked ?? [], keySetVersion: prev?.keySetVersion ?? 0,
    roles: { rootVersion: root.version, rootExpiresAt: root.expiresAt, rootThreshold: root.root.threshold, targetsThreshold: root.targets.threshold, timestamp: root.timestamp },
  };
}

/**
 * The device's first trust: a root document shipped with it (TUF 5.2: the trusted root is
 * provisioned out of band), signed by a threshold of its own root keys. Expiry is not checked
 * here; every verification checks it.
 *
 * @throws {OtaError} `METADATA_TOO_LARGE`, `MALFORMED`, `THRESHOLD_NOT_MET`, …
 * @example
 * ```ts
 * import { generateKeyPair, signRoot, trustFromRoot } from '@outpost/ota';
 * const root = generateKeyPair();
 * const release = generateKeyPair();
 * const bytes = signRoot({ version: 1, expiresAt: 2_000_000_000, root: { keys: [root.publicKey], threshold: 1 },
 *   targets: { keys: [release.publicKey], threshold: 1 }, timestamp: { keys: [], threshold: 0 } }, [root]);
 * trustFromRoot(bytes).roles?.rootVersion; // 1
 * ```
 */
export function trustFromRoot(bytes: Uint8Array, options: RootOptions = {}): TrustStore {
  const { doc, root } = parseRoot(bytes, options);
  requireThreshold(doc, root.root, [], 'root (by its own keys)', options.backend);
  return toTrust(root, undefined);
}

/**
 * Applies root version N+1 (TUF 5.3): it must be signed by a threshold of the trusted root N's
 * keys (§5.3.4) AND a threshold of its own keys (§5.3.5), and its version must be exactly N+1
 * (§5.3.5: a device several versions behind applies each in turn). A legacy trust store counts as
 * root version 0 with threshold 1, so its root keys can sign the first TUF root (version 1).
 * Expiry of an intermediate root does not matter (§5.3.10 checks only the final one: every
 * verification checks the trusted root's expiry). The old store is unchanged; persist the result
 * before acting on it. Revoked key ids stay revoked, and no role of the new root may use one.
 *
 * @throws {OtaError} `THRESHOLD_NOT_MET` (incl. a rotation signed by the new keys only),
 *   `ROLE_ROLLBACK` (version ≤ N), `ROOT_VERSION_SKIP` (version > N+1), `REVOKED_KEY`,
 *   `METADATA_TOO_LARGE`, `MALFORMED`, …
 * @example
 * ```ts
 * import { applyRootUpdate, generateKeyPair, signRoot, trustFromRoot, type RootMetadata } from '@outpost/ota';
 * const [oldRoot, newRoot, release] = [generateKeyPair(), generateKeyPair(), generateKeyPair()];
 * const v = (version: number, root: Uint8Array): RootMetadata => ({ version, expiresAt: 2_000_000_000,
 *   root: { keys: [root], threshold: 1 }, targets: { keys: [release.publicKey], threshold: 1 }, timestamp: { keys: [], threshold: 0 } });
 * const trust = trustFromRoot(signRoot(v(1, oldRoot.publicKey), [oldRoot]));
 * const rotated = applyRootUpdate(trust, signRoot(v(2, newRoot.publicKey), [oldRoot, newRoot]));
 * rotated.roles?.rootVersion; // 2
 * ```
 */
export function applyRootUpdate(trust: TrustStore, bytes: Uint8Array, options: RootOptions = {}): TrustStore {
  if (typeof trust !== 'object' || trust === null || !Array.isArray(trust.rootKeys)) throw new TypeError('trust: expected a TrustStore');
  const { doc, root } = parseRoot(bytes, options);
  const current = trust.roles?.rootVersion ?? 0;
  requireThreshold(doc, roleOf(trust, 'root'), trust.revoked, `root v${root.version} (by the trusted root v${current})`, options.backend);
  requireThreshold(doc, root.root, [], `root v${root.version} (by its own keys)`, options.backend);
  if (root.version <= current) throw new OtaError('ROLE_ROLLBACK', `root: version ${root.version} is not above the trusted ${current}`);
  if (root.version !== current + 1) throw new OtaError('ROOT_VERSION_SKIP', `root: version ${root.version} follows ${current}; apply version ${current + 1} first`);
  for (const k of [...root.root.keys, ...root.targets.keys, ...root.timestamp.keys]) {
    const kid = toHex(keyIdOf(k));
    if (trust.revoked.includes(kid)) throw new OtaError('REVOKED_KEY', `root v${root.version}: lists revoked key ${kid}`);
  }
  return toTrust(root, trust);
}
