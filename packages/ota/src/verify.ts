import { bytesEqual } from './cose.js';
import { parseSigned, requireThreshold } from './cose-multi.js';
import type { Ed25519Backend } from './ed25519.js';
import { intAtLeast } from './check.js';
import { OtaError, type OtaErrorCode } from './errors.js';
import { toHex } from './keys.js';
import { roleOf, type TrustStore } from './keyset.js';
import { compareVersions, decodeManifest, MANIFEST_CONTENT_TYPE, type Manifest } from './manifest.js';
import { checkTimestamp, listsManifest, type Timestamp } from './timestamp.js';

/** The device a manifest must be for. */
export interface DeviceIdentity {
  readonly deviceClass: string;
  /** When set, the manifest's vendor must equal it. */
  readonly vendor?: string;
  /** When set and the manifest lists revisions, it must be among them. */
  readonly hwRevision?: string;
}

/** What the device remembers between updates (anti-rollback and replay state). */
export interface DeviceUpdateState {
  /** Highest manifest sequence number accepted so far; `null` before any was (a factory device). */
  readonly sequence: number | null;
  /** The security counter of the confirmed image (moves only on confirm). */
  readonly securityCounter: number;
  /** The running version; lower versions are refused. */
  readonly version?: string;
  /** Versions that were rolled back; never retried. */
  readonly knownBad?: readonly string[];
  /** Highest timestamp version accepted so far (TUF rollback floor). Default 0. */
  readonly timestampVersion?: number;
  /** A device without a clock: the highest `issuedAt` of a timestamp it accepted. Default 0. */
  readonly timeFloor?: number;
}

/** Options of {@link verifyManifest}. */
export interface VerifyManifestOptions {
  readonly trust: TrustStore;
  readonly device: DeviceIdentity;
  readonly state: DeviceUpdateState;
  /**
   * Current time, seconds since the epoch, for the expiry of the manifest, the root and the
   * timestamp. Default: the system clock. `'no-clock'`: the device has no trustworthy clock, and
   * expiry is checked against `state.timeFloor` (the newest `issuedAt` it has verified) instead;
   * such a device cannot detect a freeze that starts before it sees a newer timestamp.
   */
  readonly now?: number | 'no-clock';
  /**
   * The freshness statement (a timestamp signed by the timestamp role). Required when the trust
   * store has a timestamp role (`TIMESTAMP_REQUIRED`), ignored otherwise.
   */
  readonly timestamp?: Uint8Array;
  /** Timestamps larger than this are refused before parsing. Default 4096. */
  readonly maxTimestampBytes?: number;
  /** Manifests larger than this are refused before parsing. Default 4096. */
  readonly maxManifestBytes?: number;
  /** Largest image the device can take (the slot size). Default: unlimited. */
  readonly maxImageSize?: number;
  /** Curve arithmetic backend. Default `'node'`. */
  readonly backend?: Ed25519Backend;
}

/** The outcome of {@link verifyManifest}. */
export type VerifyResult =
  | {
      readonly ok: true;
      readonly manifest: Manifest;
      readonly keyId: string;
      /** The verified timestamp, when the trust has a timestamp role: persist its version and `issuedAt`. */
      readonly timestamp?: Timestamp;
    }
  | { readonly ok: false; readonly code: OtaErrorCode; readonly message: string };

/** Default cap on manifest size, checked before any parsing. */
export const DEFAULT_MAX_MANIFEST_BYTES = 4096;

/**
 * Verifies a signed manifest for this device: the size cap; with a TUF trust, the root's expiry
 * and, when there is a timestamp role, the timestamp (threshold, rollback, expiry, the manifest
 * listed); then the COSE_Sign1/COSE_Sign envelope, a threshold of distinct targets keys (unknown,
 * revoked) with Ed25519 signatures over the exact bytes received, then the payload (those same
 * bytes) and the policy: vendor, device class, hardware revision, expiry, image size, replay
 * (sequence not above the last accepted), downgrade (security counter or version lower),
 * known-bad versions. Never throws for bad input; throws `TypeError` for wrong option types and
 * `RangeError` for NaN, ±Infinity, negative or fractional numbers in `state` and the options.
 *
 * @example
 * ```ts
 * import {
 *   createTrustStore, DEFAULT_MAX_MANIFEST_BYTES, generateKeyPair, signManifest, verifyManifest,
 *   type DeviceIdentity, type DeviceUpdateState, type VerifyManifestOptions, type VerifyResult,
 * } from '@outpost/ota';
 * const key = generateKeyPair();
 * const bytes = signManifest({ vendor: 'acme', deviceClass: 'gw-1', version: '1.1.0', sequence: 7,
 *   securityCounter: 2, imageSize: 3, imageDigest: new Uint8Array(32) }, key);
 * const device: DeviceIdentity = { deviceClass: 'gw-1', vendor: 'acme', hwRevision: 'rev-b' };
 * const state: DeviceUpdateState = { sequence: 6, securityCounter: 2, version: '1.0.0', knownBad: [] };
 * const options: VerifyManifestOptions = {
 *   trust: createTrustStore({ signingKeys: [key.publicKey] }), device, state,
 *   now: 1_700_000_000, maxManifestBytes: DEFAULT_MAX_MANIFEST_BYTES, maxImageSize: 1 << 20,
 * };
 * const r: VerifyResult = verifyManifest(bytes, options);
 * r.ok; // true
 * const replayed = verifyManifest(bytes, { ...options, state: { ...state, sequence: 7 } });
 * replayed.ok ? 'accepted' : replayed.code; // 'REPLAY'
 * ```
 */
export function verifyManifest(bytes: Uint8Array, options: VerifyManifestOptions): VerifyResult {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes: expected a Uint8Array');
  if (typeof options !== 'object' || options === null) throw new TypeError('options: expected an object');
  if (typeof options.trust !== 'object' || options.trust === null || !Array.isArray(options.trust.signingKeys)) throw new TypeError('options.trust: expected a TrustStore');
  if (typeof options.device !== 'object' || options.device === null || typeof options.device.deviceClass !== 'string') throw new TypeError('options.device: expected { deviceClass: string }');
  const s = options.state;
  if (typeof s !== 'object' || s === null || (typeof s.sequence !== 'number' && s.sequence !== null) || typeof s.securityCounter !== 'number') {
    throw new TypeError('options.state: expected { sequence: number | null, securityCounter: number }');
  }
  // NaN compares false with everything: unchecked, a NaN sequence or counter would accept any manifest.
  if (s.sequence !== null) intAtLeast(s.sequence, 'options.state.sequence', 0);
  intAtLeast(s.securityCounter, 'options.state.securityCounter', 0);
  if (s.version !== undefined && typeof s.version !== 'string') throw new TypeError('options.state.version: expected a string');
  if (s.knownBad !== undefined && (!Array.isArray(s.knownBad) || s.knownBad.some((v) => typeof v !== 'string'))) throw new TypeError('options.state.knownBad: expected an array of strings');
  if (options.now !== undefined && options.now !== 'no-clock') intAtLeast(options.now, 'options.now', 0);
  if (s.timestampVersion !== undefined) intAtLeast(s.timestampVersion, 'options.state.timestampVersion', 0);
  if (s.timeFloor !== undefined) intAtLeast(s.timeFloor, 'options.state.timeFloor', 0);
  if (options.timestamp !== undefined && !(options.timestamp instanceof Uint8Array)) throw new TypeError('options.timestamp: expected a Uint8Array');
  if (options.maxManifestBytes !== undefined) intAtLeast(options.maxManifestBytes, 'options.maxManifestBytes', 1);
  if (options.maxImageSize !== undefined) intAtLeast(options.maxImageSize, 'options.maxImageSize', 0);
  try {
    return { ok: true, ...checkManifest(bytes, options) };
  } catch (err) {
    if (err instanceof OtaError) return { ok: false, code: err.code, message: err.message };
    throw err;
  }
}

/**
 * Signature-only part, shared with `verifyBoot`: a threshold of the targets role's keys (a
 * COSE_Sign1 is one signature), then the payload; returns the manifest or throws `OtaError`.
 */
export function checkSignedManifest(bytes: Uint8Array, trust: TrustStore, maxBytes: number, backend?: Ed25519Backend): { manifest: Manifest; keyId: string } {
  if (bytes.length > maxBytes) throw new OtaError('MANIFEST_TOO_LARGE', `manifest: ${bytes.length} bytes exceeds the ${maxBytes}-byte limit`);
  const doc = parseSigned(bytes, MANIFEST_CONTENT_TYPE);
  // RFC 9052 §4.4: each signature covers the protected headers and payload bytes as received.
  const count = requireThreshold(doc, roleOf(trust, 'targets'), trust.revoked, 'manifest', backend);
  const manifest = decodeManifest(doc.payload);
  const kid = toHex(manifest.keyId);
  if (!count.signers.includes(kid) || !doc.signatures.some((sig) => bytesEqual(sig.kid, manifest.keyId))) throw new OtaError('MALFORMED', 'manifest.keyId differs from the COSE kid of a counted signature');
  return { manifest, keyId: kid };
}

/** The time to check expiry against: the clock, or a no-clock device's floor. */
const checkTime = (o: VerifyManifestOptions): number => (o.now === 'no-clock' ? (o.state.timeFloor ?? 0) : (o.now ?? Math.floor(Date.now() / 1000)));

// TUF 5.4 (timestamp first, then the targets metadata): freshness, then the trusted root's expiry.
function checkFreshness(bytes: Uint8Array, o: VerifyManifestOptions, now: number): Timestamp | undefined {
  const r = o.trust.roles;
  if (r !== undefined && now >= r.rootExpiresAt) throw new OtaError('EXPIRED', `root v${r.rootVersion} expired at ${new Date(r.rootExpiresAt * 1000).toISOString()}; a newer root is needed`);
  if (roleOf(o.trust, 'timestamp').threshold === 0) return undefined;
  if (o.timestamp === undefined) throw new OtaError('TIMESTAMP_REQUIRED', 'the trust has a timestamp role: a current timestamp must come with the manifest');
  const t = checkTimestamp(o.timestamp, o.trust, {
    now, minVersion: o.state.timestampVersion ?? 0,
    ...(o.maxTimestampBytes === undefined ? {} : { maxBytes: o.maxTimestampBytes }), ...(o.backend === undefined ? {} : { backend: o.backend }),
  });
  if (!listsManifest(t, bytes)) throw new OtaError('NOT_CURRENT', `manifest: its SHA-256 is not among the ${t.manifestDigests.length} current manifests of timestamp v${t.version} (an old or mixed-in manifest)`);
  return t;
}

function checkManifest(bytes: Uint8Array, o: VerifyManifestOptions): { manifest: Manifest; keyId: string; timestamp?: Timestamp } {
  const maxBytes = o.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
  if (bytes.length > maxBytes) throw new OtaError('MANIFEST_TOO_LARGE', `manifest: ${bytes.length} bytes exceeds the ${maxBytes}-byte limit`);
  const now = checkTime(o);
  const timestamp = checkFreshness(bytes, o, now);
  const r = checkSignedManifest(bytes, o.trust, maxBytes, o.backend);
  const m = r.manifest;
  const d = o.device;
  if (d.vendor !== undefined && m.vendor !== d.vendor) throw new OtaError('WRONG_VENDOR', `manifest is for vendor "${m.vendor}", device is "${d.vendor}"`);
  if (m.deviceClass !== d.deviceClass) throw new OtaError('WRONG_DEVICE_CLASS', `manifest is for device class "${m.deviceClass}", device is "${d.deviceClass}"`);
  if (m.hwRevisions !== undefined && d.hwRevision !== undefined && !m.hwRevisions.includes(d.hwRevision)) {
    throw new OtaError('WRONG_HW_REVISION', `manifest is for hardware revisions ${m.hwRevisions.join(', ')}, device is ${d.hwRevision}`);
  }
  if (m.expiresAt !== undefined && now >= m.expiresAt) throw new OtaError('EXPIRED', `manifest expired at ${new Date(m.expiresAt * 1000).toISOString()}`);
  if (o.maxImageSize !== undefined && m.imageSize > o.maxImageSize) throw new OtaError('IMAGE_TOO_LARGE', `image of ${m.imageSize} bytes exceeds the ${o.maxImageSize}-byte slot`);
  const s = o.state;
  if (s.sequence !== null && m.sequence <= s.sequence) throw new OtaError('REPLAY', `manifest sequence ${m.sequence} is not above the last accepted ${s.sequence}`);
  if (m.securityCounter < s.securityCounter) throw new OtaError('DOWNGRADE', `security counter ${m.securityCounter} is below the device's ${s.securityCounter}`);
  if (s.version !== undefined && compareVersions(m.version, s.version) < 0) throw new OtaError('DOWNGRADE', `version ${m.version} is below the running ${s.version}`);
  if (s.knownBad?.includes(m.version) === true) throw new OtaError('KNOWN_BAD', `version ${m.version} was rolled back before and is not retried`);
  return timestamp === undefined ? r : { ...r, timestamp };
}
