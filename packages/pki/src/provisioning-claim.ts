// Claim certificates for fleet provisioning by claim: one certificate shared by a batch of
// devices at the factory, good for nothing but asking the provisioning service for a device's
// own certificate.

import { PkiError } from './errors.js';
import { assertOptions, describe } from './args.js';
import { issueClientCertificate, type CaCredentials, type DeviceCertificate, type KeyAlgorithm } from './certificates.js';
import { deviceIdProblem } from '@outpost/device-sdk';

/** The CN prefix of every claim certificate. */
export const CLAIM_PREFIX = 'claim+';

/**
 * The certificate CN of claim `name`: `claim+<name>`. The `+` is deliberate: it is outside the
 * device id charset, so a claim can never be mistaken for a device (no device id, topic level
 * or pipeline record can be `claim+…`), and Mosquitto 2.0 applies no ACL `pattern` to a
 * username containing `+` ("ACL denying access to client with dangerous username"): the
 * `devices/%u/#` pattern every device gets does not reach a claim. A claim reaches only the
 * topics its own `user` lines grant (`brokerConfig({ claims })`): the provisioning topics.
 *
 * @throws TypeError for a non-string; RangeError for a name outside `[A-Za-z0-9._-]{1,58}`.
 * @example
 * ```ts
 * import { claimCommonName } from '@outpost/pki';
 * claimCommonName('line-1'); // 'claim+line-1'
 * ```
 */
export function claimCommonName(name: string): string {
  if (typeof name !== 'string') throw new TypeError(`claimCommonName: name: expected a string, got ${describe(name)}`);
  const problem = name.length > 64 - CLAIM_PREFIX.length ? `expected at most ${64 - CLAIM_PREFIX.length} characters` : deviceIdProblem(name);
  if (problem !== undefined) throw new RangeError(`claimCommonName: name: ${problem}`);
  return CLAIM_PREFIX + name;
}

/** Options of {@link issueClaimCertificate}. */
export interface IssueClaimOptions {
  /** The fleet CA (or the intermediate the broker trusts) that signs the claim. */
  readonly ca: CaCredentials;
  /** The claim's name (`[A-Za-z0-9._-]`); the CN is `claim+<name>`. */
  readonly name: string;
  /** Validity in days, default 30: a claim lives as long as a production batch, not a device. */
  readonly validityDays?: number;
  /** Clock for the validity window. Default: now. */
  readonly now?: Date;
  /** Key algorithm of the generated key. Default `'ECDSA-P256'`. */
  readonly algorithm?: KeyAlgorithm;
}

/**
 * Issues a claim certificate (CN `claim+<name>`, clientAuth, a new key). Give it to the
 * factory image; write its ACL with `brokerConfig({ claims: { <name>: [templates] } })`.
 *
 * @throws TypeError / RangeError for bad options; PkiError `CERT_INVALID` for an unusable CA.
 * @example
 * ```ts
 * import { createFleetCA, issueClaimCertificate } from '@outpost/pki';
 * const ca = await createFleetCA();
 * const claim = await issueClaimCertificate({ ca, name: 'line-1' });
 * claim.deviceId; // 'claim+line-1'
 * ```
 */
export async function issueClaimCertificate(options: IssueClaimOptions): Promise<DeviceCertificate> {
  const fn = 'issueClaimCertificate';
  assertOptions(fn, options);
  const cn = claimCommonName(options.name);
  const { name: _name, validityDays, ...rest } = options;
  if (rest.ca === undefined) throw new PkiError('CERT_INVALID', `${fn}: ca is required`);
  return issueClientCertificate(fn, { ...rest, validityDays: validityDays ?? 30 }, cn);
}

/** Options of {@link issueEvictionCertificate}. */
export interface IssueEvictionOptions {
  readonly ca: CaCredentials;
  /** The device whose open session is to be taken over. */
  readonly deviceId: string;
  /** Lifetime in seconds, default 300: the certificate is for one CONNECT, right now. */
  readonly validitySeconds?: number;
  readonly now?: Date;
}

/**
 * A short-lived certificate with a device's CN and a new key, for cutting the open session of a
 * revoked device. Mosquitto checks the CRL at the handshake only; with
 * `use_username_as_clientid` (brokerConfig's `bindClientId`, the default) no other identity can
 * take the device's client id, but a CONNECT with this certificate can: the broker closes the
 * old connection (MQTT 3.1.1 §3.1.4, MQTT 5 reason 0x8E), and the device's reconnects then fail
 * on the CRL. Connect with it once, disconnect, and drop the key (`outpost pki revoke --broker`
 * does all of it). It is not registered, so it does not replace the device's certificate.
 *
 * @example
 * ```ts
 * import { createFleetCA, issueEvictionCertificate } from '@outpost/pki';
 * const ca = await createFleetCA();
 * const e = await issueEvictionCertificate({ ca, deviceId: 'lost-1' });
 * e.deviceId; // 'lost-1'
 * e.notAfter.getTime() - e.notBefore.getTime() <= 10 * 60_000; // true
 * ```
 */
export async function issueEvictionCertificate(options: IssueEvictionOptions): Promise<DeviceCertificate> {
  const fn = 'issueEvictionCertificate';
  assertOptions(fn, options);
  const deviceId = options.deviceId;
  if (typeof deviceId !== 'string') throw new TypeError(`${fn}: deviceId: expected a string, got ${describe(deviceId)}`);
  const problem = deviceIdProblem(deviceId);
  if (problem !== undefined) throw new RangeError(`${fn}: deviceId: ${problem}`);
  const seconds = options.validitySeconds ?? 300;
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 1 || seconds > 3600) throw new RangeError(`${fn}: validitySeconds: expected an integer in [1, 3600], got ${String(seconds)}`);
  const now = options.now ?? new Date();
  // Backdated 1 minute for a broker clock slightly behind, not the usual 5.
  return issueClientCertificate(fn, { ca: options.ca, notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + seconds * 1000) }, deviceId);
}
