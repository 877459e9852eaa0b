// The freshness statement (TUF 1.0 §4.6 "timestamp.json", §5.4): an online key re-signs, often and
// with a short expiry, the version, issue time and expiry, and the SHA-256 of every current release
// manifest. A device that sees no new timestamp before the last one expires knows it is being
// frozen; a manifest whose digest the current timestamp does not list is an old or mixed one.
//
// Payload, deterministic CBOR: {0: 1, 1: version, 2: expiresAt, 3: issuedAt, 4: [* bstr .size 32]}
import { createHash } from 'node:crypto';
import { decodeDeterministic, encodeCbor, type CborValue } from './cbor.js';
import { parseSigned, requireThreshold, signCoseMulti } from './cose-multi.js';
import type { Ed25519Backend } from './ed25519.js';
import { OtaError } from './errors.js';
import type { KeyPair } from './keys.js';
import { roleOf, type TrustStore } from './keyset.js';

/** COSE content type of a timestamp (freshness) document. */
export const TIMESTAMP_CONTENT_TYPE = 'application/outpost-timestamp+cbor';
/** Default cap on a timestamp document's size, checked before parsing. */
export const DEFAULT_MAX_TIMESTAMP_BYTES = 4096;

/** What {@link signTimestamp} signs. */
export interface TimestampFields {
  readonly version: number;
  /** Seconds since the epoch; keep it short (hours to a day): it bounds a freeze. */
  readonly expiresAt: number;
  /** Seconds since the epoch; a device without a clock keeps the highest as its time floor. */
  readonly issuedAt: number;
  /** The current release manifests (their exact bytes are hashed). */
  readonly manifests: readonly Uint8Array[];
}

/** A verified timestamp. */
export interface Timestamp {
  readonly version: number;
  readonly expiresAt: number;
  readonly issuedAt: number;
  /** SHA-256 of each current manifest. */
  readonly manifestDigests: readonly Uint8Array[];
}

const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

/**
 * Signs a freshness statement with the timestamp role's keys (a COSE_Sign).
 *
 * @example
 * ```ts
 * import { generateKeyPair, signTimestamp, TIMESTAMP_CONTENT_TYPE } from '@outpost/ota';
 * const stamp = generateKeyPair();
 * const bytes = signTimestamp({ version: 7, issuedAt: 1_800_000_000, expiresAt: 1_800_086_400, manifests: [new Uint8Array([1, 2])] }, [stamp]);
 * bytes[0]; // 0xd8 (tag 98, COSE_Sign)
 * TIMESTAMP_CONTENT_TYPE; // 'application/outpost-timestamp+cbor'
 * ```
 */
export function signTimestamp(fields: TimestampFields, keys: readonly KeyPair[]): Uint8Array {
  if (typeof fields !== 'object' || fields === null) throw new TypeError('fields: expected an object');
  for (const f of ['version', 'expiresAt', 'issuedAt'] as const) {
    if (!Number.isSafeInteger(fields[f]) || fields[f] < (f === 'version' ? 1 : 0)) throw new RangeError(`timestamp.${f}: expected an unsigned integer${f === 'version' ? ' ≥ 1' : ''}`);
  }
  if (!Array.isArray(fields.manifests) || fields.manifests.some((m) => !(m instanceof Uint8Array))) throw new TypeError('timestamp.manifests: expected an array of Uint8Array');
  const payload = encodeCbor(new Map<number, CborValue>([
    [0, 1], [1, fields.version], [2, fields.expiresAt], [3, fields.issuedAt], [4, fields.manifests.map(sha256)],
  ]));
  return signCoseMulti(payload, keys, TIMESTAMP_CONTENT_TYPE);
}

function decodeTimestamp(payload: Uint8Array): Timestamp {
  const v = decodeDeterministic(payload, 'timestamp');
  if (!(v instanceof Map) || v.get(0) !== 1) throw new OtaError('MALFORMED', 'timestamp: expected a map with format 1');
  for (const k of v.keys()) if (typeof k !== 'number' || k < 0 || k > 4) throw new OtaError('UNKNOWN_CRITICAL', `timestamp: unknown field ${String(k)}`);
  const n = (k: number, name: string): number => {
    const x = v.get(k);
    if (typeof x !== 'number' || x < 0) throw new OtaError('MALFORMED', `timestamp.${name}: expected an unsigned integer`);
    return x;
  };
  const d = v.get(4);
  if (!Array.isArray(d) || d.some((x) => !(x instanceof Uint8Array) || x.length !== 32)) throw new OtaError('MALFORMED', 'timestamp.manifests: expected an array of 32-byte SHA-256 digests');
  return { version: n(1, 'version'), expiresAt: n(2, 'expiresAt'), issuedAt: n(3, 'issuedAt'), manifestDigests: d as Uint8Array[] };
}

/** Options of {@link checkTimestamp}. */
export interface CheckTimestampOptions {
  /** The time to check expiry against, seconds (a clock, or a no-clock device's time floor). */
  readonly now: number;
  /** The highest timestamp version this device accepted before (rollback below it is refused). */
  readonly minVersion: number;
  readonly maxBytes?: number;
  readonly backend?: Ed25519Backend;
}

/**
 * Verifies a timestamp against the trusted timestamp role (TUF 5.4): size cap, threshold of
 * distinct timestamp keys, version not below the last accepted one, not expired at `now`.
 *
 * @throws {OtaError} `METADATA_TOO_LARGE`, `THRESHOLD_NOT_MET`, `ROLE_ROLLBACK`, `EXPIRED`, `MALFORMED`, …
 * @example
 * ```ts
 * import { checkTimestamp, DEFAULT_MAX_TIMESTAMP_BYTES, generateKeyPair, signRoot, signTimestamp, trustFromRoot,
 *   type CheckTimestampOptions, type Timestamp, type TimestampFields } from '@outpost/ota';
 * const [root, release, stamp] = [generateKeyPair(), generateKeyPair(), generateKeyPair()];
 * const trust = trustFromRoot(signRoot({ version: 1, expiresAt: 2_000_000_000, root: { keys: [root.publicKey], threshold: 1 },
 *   targets: { keys: [release.publicKey], threshold: 1 }, timestamp: { keys: [stamp.publicKey], threshold: 1 } }, [root]));
 * const fields: TimestampFields = { version: 4, issuedAt: 1_800_000_000, expiresAt: 1_800_003_600, manifests: [] };
 * const options: CheckTimestampOptions = { now: 1_800_000_100, minVersion: 3, maxBytes: DEFAULT_MAX_TIMESTAMP_BYTES };
 * const t: Timestamp = checkTimestamp(signTimestamp(fields, [stamp]), trust, options);
 * t.version; // 4
 * ```
 */
export function checkTimestamp(bytes: Uint8Array, trust: TrustStore, o: CheckTimestampOptions): Timestamp {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('timestamp: expected a Uint8Array');
  const max = o.maxBytes ?? DEFAULT_MAX_TIMESTAMP_BYTES;
  if (bytes.length > max) throw new OtaError('METADATA_TOO_LARGE', `timestamp: ${bytes.length} bytes exceeds the ${max}-byte limit`);
  const doc = parseSigned(bytes, TIMESTAMP_CONTENT_TYPE);
  requireThreshold(doc, roleOf(trust, 'timestamp'), trust.revoked, 'timestamp', o.backend);
  const t = decodeTimestamp(doc.payload);
  // TUF 5.4.3.1: a version below the trusted one is a rollback; equal is the same statement again.
  if (t.version < o.minVersion) throw new OtaError('ROLE_ROLLBACK', `timestamp: version ${t.version} is below the trusted ${o.minVersion}`);
  if (o.now >= t.expiresAt) throw new OtaError('EXPIRED', `timestamp: expired at ${new Date(t.expiresAt * 1000).toISOString()} (a frozen or withheld update)`);
  return t;
}

/** Whether the timestamp lists the SHA-256 of these exact manifest bytes. */
export function listsManifest(t: Timestamp, manifest: Uint8Array): boolean {
  const d = sha256(manifest);
  return t.manifestDigests.some((x) => x.length === d.length && x.every((b, i) => b === d[i]));
}
