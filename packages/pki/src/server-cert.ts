// Broker (TLS server) certificates from the fleet CA or an intermediate (RFC 5280 profile:
// serverAuth, subjectAltName). Pure: nothing here touches files.

import { isIP } from 'node:net';
import { assertOptions, describe } from './args.js';
import { checkAlgorithm, loadCa, validity, type CaCredentials, type ValidityOptions } from './certificates.js';
import { crypto, generateKeyPair, randomSerial, sha256Colon, type KeyAlgorithm } from './keys.js';
import { loadX509 } from './x509-loader.js';

/** Options of {@link issueServerCertificate}. */
export interface IssueServerOptions extends ValidityOptions {
  readonly ca: CaCredentials;
  /** Host names and IP addresses the broker is reached at; become DNS / IP SANs. */
  readonly hosts: readonly string[];
  /** Default `'ECDSA-P256'`. */
  readonly algorithm?: KeyAlgorithm;
}

/** A broker (TLS server) certificate and its new key. */
export interface ServerCertificate {
  readonly certificatePem: string;
  /** `certificatePem` followed by the issuing intermediates: the broker's `certfile`. */
  readonly chainPem: string;
  readonly privateKeyPem: string;
  readonly hosts: readonly string[];
  readonly fingerprint: string;
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/**
 * Issues a broker (TLS server) certificate with a new key: subjectAltName from `hosts` (IP
 * addresses as iPAddress, names as dNSName), extKeyUsage serverAuth, CN = the first host.
 *
 * @throws TypeError / RangeError for a bad option (`hosts` must be a non-empty array of strings).
 * @example
 * ```ts
 * import { createFleetCA, issueServerCertificate } from '@outpost/pki';
 * const ca = await createFleetCA();
 * const server = await issueServerCertificate({ ca, hosts: ['127.0.0.1', 'localhost'] });
 * server.hosts; // ['127.0.0.1', 'localhost']
 * ```
 */
export async function issueServerCertificate(options: IssueServerOptions): Promise<ServerCertificate> {
  const x509 = await loadX509();
  const fn = 'issueServerCertificate';
  assertOptions(fn, options);
  const hosts = checkHosts(fn, options.hosts);
  const algorithm = checkAlgorithm(fn, options.algorithm) ?? 'ECDSA-P256';
  const ca = await loadCa(fn, options.ca);
  const { notBefore, notAfter } = validity(fn, options, ca, 365);
  const kp = await generateKeyPair(algorithm);
  const serialNumber = randomSerial();
  const usage = x509.KeyUsageFlags.digitalSignature | (algorithm === 'RSA-2048' ? x509.KeyUsageFlags.keyEncipherment : 0);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber,
      subject: [{ CN: [hosts[0]!] }],
      issuer: ca.cert.subjectName,
      notBefore,
      notAfter,
      publicKey: kp.spkiDer,
      signingKey: ca.signingKey,
      signingAlgorithm: ca.signingAlgorithm,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(usage, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension(hosts.map((h) => ({ type: isIP(h) === 0 ? ('dns' as const) : ('ip' as const), value: h })), false),
        await x509.SubjectKeyIdentifierExtension.create(kp.spkiDer, false, crypto),
        new x509.AuthorityKeyIdentifierExtension(ca.keyId, false),
      ],
    },
    crypto,
  );
  const certificatePem = cert.toString('pem') + '\n';
  return {
    certificatePem,
    chainPem: certificatePem + ca.chainPem,
    privateKeyPem: kp.privateKeyPem,
    hosts,
    fingerprint: sha256Colon(new Uint8Array(cert.rawData)),
    serialNumber,
    notBefore,
    notAfter,
  };
}

function checkHosts(fn: string, value: unknown): readonly string[] {
  if (!Array.isArray(value)) throw new TypeError(`${fn}: hosts: expected an array of strings, got ${describe(value)}`);
  if (value.length === 0) throw new RangeError(`${fn}: hosts: expected at least one host name or IP address`);
  const hosts: string[] = [];
  for (const [i, h] of (value as unknown[]).entries()) {
    if (typeof h !== 'string') throw new TypeError(`${fn}: hosts[${i}]: expected a string, got ${describe(h)}`);
    // RFC 1123 host names (letters, digits, hyphen, dots; a leading "*." wildcard) or an IP address.
    if (isIP(h) === 0 && !/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(h)) {
      throw new RangeError(`${fn}: hosts[${i}]: "${h}" is neither an IP address nor a DNS name`);
    }
    hosts.push(h);
  }
  return hosts;
}
