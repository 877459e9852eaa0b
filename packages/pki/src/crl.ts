// Certificate revocation lists (RFC 5280 §5) signed by the fleet CA, for Mosquitto's `crlfile`.

import { PkiError } from './errors.js';
import { assertOptions, describe, optionalDate, optionalInt } from './args.js';
import { loadCa, type CaCredentials } from './certificates.js';
import { crypto, toPem, wholeSeconds } from './keys.js';
import { loadX509 } from './x509-loader.js';

/** One revoked certificate. */
export interface RevokedCertificate {
  /** Hex serial number as issued (`DeviceCertificate.serialNumber`). */
  readonly serialNumber: string;
  readonly revokedAt: Date;
}

/** Options of {@link createRevocationList}. */
export interface CreateRevocationListOptions {
  readonly ca: CaCredentials;
  readonly revoked: readonly RevokedCertificate[];
  /** Monotonic CRL number (RFC 5280 §5.2.3). */
  readonly crlNumber: number;
  /** Default `new Date()`. */
  readonly now?: Date;
  /**
   * Days until `nextUpdate`. Default 365. OpenSSL (and so Mosquitto) refuses every client once
   * a CRL is past its nextUpdate, so a short value means a scheduled re-signing job.
   */
  readonly nextUpdateDays?: number;
}

const CRL_NUMBER_OID = '2.5.29.20';

/** DER INTEGER of a non-negative safe integer (the CRL number extension's value). */
function derInteger(n: number): Uint8Array {
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v % 256);
    v = Math.floor(v / 256);
  } while (v > 0);
  if ((bytes[0] ?? 0) & 0x80) bytes.unshift(0);
  return new Uint8Array([0x02, bytes.length, ...bytes]);
}

/**
 * Creates a CRL (v2, SHA-256 signature, authority key identifier and CRL number) listing the
 * given serial numbers. An empty list is valid: brokers can be configured with `crlfile` from
 * the first day.
 *
 * @returns The CRL as PEM (`-----BEGIN X509 CRL-----`).
 * @throws TypeError / RangeError for a bad option; PkiError `CERT_INVALID` / `CERT_KEY_MISMATCH` for an unusable CA.
 * @example
 * ```ts
 * import { createFleetCA, issueDeviceCertificate, createRevocationList } from '@outpost/pki';
 * const ca = await createFleetCA();
 * const dev = await issueDeviceCertificate({ ca, deviceId: 'lost-1' });
 * const crlPem = await createRevocationList({ ca, crlNumber: 1, revoked: [{ serialNumber: dev.serialNumber, revokedAt: new Date() }] });
 * crlPem.startsWith('-----BEGIN X509 CRL-----'); // true
 * ```
 */
export async function createRevocationList(options: CreateRevocationListOptions): Promise<string> {
  const fn = 'createRevocationList';
  assertOptions(fn, options);
  const x509 = await loadX509();
  if (!Array.isArray(options.revoked)) throw new TypeError(`${fn}: revoked: expected an array, got ${describe(options.revoked)}`);
  if (options.crlNumber === undefined) throw new TypeError(`${fn}: crlNumber: expected a number, got undefined`);
  const crlNumber = optionalInt(fn, 'crlNumber', options.crlNumber, 0, Number.MAX_SAFE_INTEGER)!;
  const now = optionalDate(fn, 'now', options.now) ?? new Date();
  const days = optionalInt(fn, 'nextUpdateDays', options.nextUpdateDays, 1, 36_500) ?? 365;
  const entries = (options.revoked as readonly unknown[]).map((r, i) => {
    if (typeof r !== 'object' || r === null) throw new TypeError(`${fn}: revoked[${i}]: expected { serialNumber, revokedAt }, got ${describe(r)}`);
    const e = r as Record<string, unknown>;
    const serial = e['serialNumber'];
    if (typeof serial !== 'string') throw new TypeError(`${fn}: revoked[${i}].serialNumber: expected a hex string, got ${describe(serial)}`);
    if (!/^[0-9a-fA-F]{1,40}$/.test(serial)) throw new RangeError(`${fn}: revoked[${i}].serialNumber: expected 1 to 40 hex digits, got "${serial}"`);
    const at = optionalDate(fn, `revoked[${i}].revokedAt`, e['revokedAt']);
    if (at === undefined) throw new TypeError(`${fn}: revoked[${i}].revokedAt: expected a Date, got undefined`);
    return { serialNumber: serial.toLowerCase(), revocationDate: wholeSeconds(at) };
  });
  const ca = await loadCa(fn, options.ca);
  if (!ca.node.ca) throw new PkiError('CERT_INVALID', `${fn}: ca is not a CA certificate`);
  const crl = await x509.X509CrlGenerator.create(
    {
      issuer: ca.cert.subjectName,
      thisUpdate: wholeSeconds(now),
      nextUpdate: wholeSeconds(new Date(now.getTime() + days * 86_400_000)),
      entries,
      signingKey: ca.signingKey,
      signingAlgorithm: ca.signingAlgorithm,
      extensions: [new x509.AuthorityKeyIdentifierExtension(ca.keyId, false), new x509.Extension(CRL_NUMBER_OID, false, derInteger(crlNumber))],
    },
    crypto,
  );
  // @peculiar/x509 2.2 labels it "BEGIN CRL", which OpenSSL (and so Mosquitto) cannot load;
  // RFC 7468 §5 says "X509 CRL".
  return toPem('X509 CRL', new Uint8Array(crl.rawData));
}
