// Fleet CA and certificate issuance (RFC 5280 profiles), built with @peculiar/x509 over
// node:crypto's WebCrypto. Pure: nothing here touches files; see ca-dir.ts for the store.

import { X509Certificate as NodeX509Certificate, type KeyObject } from 'node:crypto';
import type * as X509 from '@peculiar/x509';
import { loadX509 } from './x509-loader.js';
import { PkiError } from './errors.js';
import {
  assertOptions,
  checkDeviceId,
  describe,
  optionalDate,
  optionalInt,
  optionalString,
  pemText,
} from './args.js';
import {
  KEY_ALGORITHMS,
  crypto,
  generateKeyPair,
  importSigningKey,
  randomSerial,
  signingAlgorithmFor,
  sha256Colon,
  spkiFromPem,
  classifyKey,
  toPem,
  wholeSeconds,
  type KeyAlgorithm,
  type CryptoKey,
  type SigningAlgorithm,
} from './keys.js';

export type { KeyAlgorithm } from './keys.js';

const DAY_MS = 86_400_000;
/** Devices' clocks drift; a certificate valid from "now" is refused by a device a minute behind. */
const BACKDATE_MS = 5 * 60_000;
const MAX_VALIDITY_DAYS = 36_500;

/** A fleet certificate authority: the root every device and broker certificate chains to. */
export interface FleetCA {
  /** The self-signed CA certificate (PEM). Give it to brokers (`cafile`) and devices. */
  readonly certificatePem: string;
  /** The CA private key (PKCS#8 PEM). Keep it offline; store it with mode 0600. */
  readonly privateKeyPem: string;
  readonly algorithm: KeyAlgorithm;
  readonly commonName: string;
  /** Hex serial number, lowercase. */
  readonly serialNumber: string;
  /** SHA-256 of the certificate DER, `AB:CD:…` (as `openssl x509 -fingerprint -sha256`). */
  readonly fingerprint: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Options of {@link createFleetCA}. */
export interface CreateFleetCAOptions {
  /** CA subject CN. Default `'Outpost Fleet CA'`. */
  readonly commonName?: string;
  /** Default `'ECDSA-P256'` (signatures are always SHA-256). */
  readonly algorithm?: KeyAlgorithm;
  /** Default 3650 (ten years). */
  readonly validityDays?: number;
  /** The current time (injectable for tests). Default `new Date()`. */
  readonly now?: Date;
  /**
   * basicConstraints pathLenConstraint: how many intermediate CAs may stand between this root and
   * a device. Default 1 (one level of {@link createIntermediateCA}); 0 signs devices only.
   */
  readonly pathLength?: number;
}

/** The CA half needed to sign: a {@link FleetCA} or the two PEMs read from files. */
export interface CaCredentials {
  readonly certificatePem: string | Uint8Array;
  readonly privateKeyPem: string | Uint8Array;
  /**
   * For an intermediate CA: its certificate and those above it up to (not including) the root,
   * appended to every certificate it issues (`chainPem` of the result). Absent for a root.
   */
  readonly chainPem?: string | Uint8Array;
}

/** Validity overrides shared by the issuing functions. */
export interface ValidityOptions {
  /** Default 365. Ignored where `notAfter` is given. */
  readonly validityDays?: number;
  /** The current time. Default `new Date()`. */
  readonly now?: Date;
  /** Default `now` minus 5 minutes (clock-skew allowance). */
  readonly notBefore?: Date;
  /** Default `now + validityDays`, never later than the CA's own `notAfter`. */
  readonly notAfter?: Date;
}

/** Options of {@link issueDeviceCertificate}. */
export interface IssueDeviceOptions extends ValidityOptions {
  readonly ca: CaCredentials;
  /** Becomes the certificate CN, the broker username and the `devices/<id>/` topic level. */
  readonly deviceId: string;
  /**
   * The device's public key (SPKI PEM) when the key was made on the device. A private-key PEM
   * is accepted too; only its public half is used. Default: a new key pair is generated.
   */
  readonly publicKeyPem?: string | Uint8Array;
  /** A PKCS#10 CSR (PEM) from the device; its signature is checked and its key used. */
  readonly csrPem?: string | Uint8Array;
  /** Algorithm of a generated key. Default `'ECDSA-P256'`. */
  readonly algorithm?: KeyAlgorithm;
}

/** A device certificate as issued. */
export interface DeviceCertificate {
  readonly deviceId: string;
  readonly certificatePem: string;
  /**
   * The device bundle: `certificatePem` followed by the issuing intermediates (equal to
   * `certificatePem` when the root issued it). Give the device this as its `cert`.
   */
  readonly chainPem: string;
  /** Present only when the key pair was generated here (no `publicKeyPem`/`csrPem` given). */
  readonly privateKeyPem?: string;
  readonly publicKeyPem: string;
  /** SHA-256 of the certificate DER, `AB:CD:…`. */
  readonly fingerprint: string;
  /** SHA-256 of the SubjectPublicKeyInfo DER, `AB:CD:…`: identifies the key across renewals. */
  readonly spkiFingerprint: string;
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Internal (used by intermediate.ts). */
export function checkAlgorithm(fn: string, value: unknown): KeyAlgorithm | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new TypeError(`${fn}: algorithm: expected a string, got ${describe(value)}`);
  if (!(KEY_ALGORITHMS as readonly string[]).includes(value)) {
    throw new RangeError(`${fn}: algorithm: expected one of ${KEY_ALGORITHMS.join(', ')}, got "${value}"`);
  }
  return value as KeyAlgorithm;
}

/** Internal (used by intermediate.ts). */
export function checkCommonName(fn: string, value: unknown): string | undefined {
  const cn = optionalString(fn, 'commonName', value);
  if (cn === undefined) return undefined;
  if (cn.length === 0 || [...cn].length > 64) throw new RangeError(`${fn}: commonName: expected 1 to 64 characters, got ${[...cn].length}`);
  return cn;
}

/**
 * Creates a fleet CA: a self-signed root with basicConstraints CA:true, pathLen 1 (critical;
 * it signs devices, brokers and one level of {@link createIntermediateCA}), keyUsage keyCertSign + cRLSign (critical) and a
 * subject key identifier. ECDSA P-256 with SHA-256 by default.
 *
 * @throws TypeError / RangeError for a bad option.
 * @example
 * ```ts
 * import { createFleetCA } from '@outpost/pki';
 * const ca = await createFleetCA({ commonName: 'Acme Fleet CA' });
 * ca.certificatePem.startsWith('-----BEGIN CERTIFICATE-----'); // true
 * ```
 */
export async function createFleetCA(options: CreateFleetCAOptions = {}): Promise<FleetCA> {
  const x509 = await loadX509();
  const fn = 'createFleetCA';
  assertOptions(fn, options);
  const commonName = checkCommonName(fn, options.commonName) ?? 'Outpost Fleet CA';
  const algorithm = checkAlgorithm(fn, options.algorithm) ?? 'ECDSA-P256';
  const days = optionalInt(fn, 'validityDays', options.validityDays, 1, MAX_VALIDITY_DAYS) ?? 3650;
  const now = optionalDate(fn, 'now', options.now) ?? new Date();
  const pathLength = optionalInt(fn, 'pathLength', options.pathLength, 0, 8) ?? 1;

  const kp = await generateKeyPair(algorithm);
  const notBefore = wholeSeconds(new Date(now.getTime() - BACKDATE_MS));
  const notAfter = wholeSeconds(new Date(now.getTime() + days * DAY_MS));
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name: [{ CN: [commonName] }],
      notBefore,
      notAfter,
      keys: kp.keys,
      signingAlgorithm: signingAlgorithmFor(algorithm),
      extensions: [
        new x509.BasicConstraintsExtension(true, pathLength, true), // RFC 5280 §4.2.1.9
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(kp.keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return caResult(cert, kp.privateKeyPem, algorithm, commonName, notBefore, notAfter);
}

/** Internal (used by intermediate.ts): the {@link FleetCA} fields of a CA certificate just made. */
export function caResult(cert: X509.X509Certificate, privateKeyPem: string, algorithm: KeyAlgorithm, commonName: string, notBefore: Date, notAfter: Date): FleetCA {
  return {
    certificatePem: cert.toString('pem') + '\n',
    privateKeyPem,
    algorithm,
    commonName,
    serialNumber: cert.serialNumber.toLowerCase(),
    fingerprint: sha256Colon(new Uint8Array(cert.rawData)),
    notBefore,
    notAfter,
  };
}

/** A CA ready to sign: checked to be a CA whose key matches its certificate. */
export interface LoadedCa {
  readonly cert: X509.X509Certificate;
  readonly node: NodeX509Certificate;
  readonly signingKey: CryptoKey;
  /** The same key for node:crypto (the provisioning service's fast path). */
  readonly keyObject: KeyObject;
  readonly signingAlgorithm: SigningAlgorithm;
  readonly keyId: string;
  /** What to append to an issued certificate to make its bundle ('' for a root). */
  readonly chainPem: string;
}

/** Internal (used by crl.ts): parses and checks CA credentials ready to sign. */
export async function loadCa(fn: string, value: unknown): Promise<LoadedCa> {
  const x509 = await loadX509();
  if (typeof value !== 'object' || value === null) throw new TypeError(`${fn}: ca: expected { certificatePem, privateKeyPem }, got ${describe(value)}`);
  const o = value as Record<string, unknown>;
  const certPem = pemText(fn, 'ca.certificatePem', o['certificatePem']);
  const keyPem = pemText(fn, 'ca.privateKeyPem', o['privateKeyPem']);
  let node: NodeX509Certificate;
  let cert: X509.X509Certificate;
  try {
    node = new NodeX509Certificate(certPem);
    cert = new x509.X509Certificate(node.raw);
  } catch (err) {
    throw new PkiError('CERT_INVALID', `${fn}: ca.certificatePem: not a PEM certificate`, { cause: err });
  }
  if (!node.ca) throw new PkiError('CERT_INVALID', `${fn}: ca.certificatePem: not a CA certificate (basicConstraints CA:false)`);
  let imported: Awaited<ReturnType<typeof importSigningKey>>;
  try {
    imported = await importSigningKey(keyPem);
  } catch (err) {
    if (err instanceof RangeError) throw new RangeError(`${fn}: ca.privateKeyPem: ${err.message}`);
    throw new PkiError('CERT_INVALID', `${fn}: ca.privateKeyPem: not a PEM private key`, { cause: err });
  }
  if (!node.checkPrivateKey(imported.object)) {
    throw new PkiError('CERT_KEY_MISMATCH', `${fn}: ca.privateKeyPem does not belong to ca.certificatePem`);
  }
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const keyId = ski?.keyId ?? (await x509.SubjectKeyIdentifierExtension.create(new Uint8Array(node.publicKey.export({ type: 'spki', format: 'der' })), false, crypto)).keyId;
  const rawChain = o['chainPem'];
  const chain = rawChain === undefined || rawChain === '' || (rawChain instanceof Uint8Array && rawChain.byteLength === 0) ? '' : pemText(fn, 'ca.chainPem', rawChain);
  return { cert, node, signingKey: imported.key, keyObject: imported.object, signingAlgorithm: imported.signingAlgorithm, keyId, chainPem: chain.endsWith('\n') || chain === '' ? chain : chain + '\n' };
}

/** Internal (used by intermediate.ts): the validity window of a certificate `ca` issues. */
export function validity(fn: string, o: ValidityOptions, ca: LoadedCa, defaultDays: number): { notBefore: Date; notAfter: Date } {
  const days = optionalInt(fn, 'validityDays', o.validityDays, 1, MAX_VALIDITY_DAYS) ?? defaultDays;
  const now = optionalDate(fn, 'now', o.now) ?? new Date();
  const nb = optionalDate(fn, 'notBefore', o.notBefore);
  const na = optionalDate(fn, 'notAfter', o.notAfter);
  const notBefore = wholeSeconds(nb ?? new Date(now.getTime() - BACKDATE_MS));
  let notAfter = wholeSeconds(na ?? new Date(now.getTime() + days * DAY_MS));
  // A certificate cannot outlive its issuer in a useful way: clamp the default, keep explicit overrides.
  if (na === undefined && notAfter.getTime() > ca.cert.notAfter.getTime()) notAfter = wholeSeconds(ca.cert.notAfter);
  if (notAfter.getTime() <= notBefore.getTime()) {
    throw new RangeError(`${fn}: notAfter (${notAfter.toISOString()}) must be later than notBefore (${notBefore.toISOString()})`);
  }
  return { notBefore, notAfter };
}

async function subjectKey(fn: string, o: Omit<IssueDeviceOptions, 'deviceId'>): Promise<{ spki: Uint8Array; publicKeyPem: string; privateKeyPem?: string; publicKey: PublicKeyInput }> {
  const x509 = await loadX509();
  if (o.publicKeyPem !== undefined && o.csrPem !== undefined) {
    throw new PkiError('INVALID_OPTION', `${fn}: give publicKeyPem or csrPem, not both`);
  }
  if (o.csrPem !== undefined) {
    const text = pemText(fn, 'csrPem', o.csrPem);
    let csr: X509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(text);
    } catch (err) {
      throw new PkiError('CERT_INVALID', `${fn}: csrPem: not a PEM certificate request`, { cause: err });
    }
    if (!(await csr.verify(crypto))) throw new PkiError('CERT_INVALID', `${fn}: csrPem: the request's signature does not verify`);
    return fromSpki(fn, 'csrPem', toPem('PUBLIC KEY', new Uint8Array(csr.publicKey.rawData)));
  }
  if (o.publicKeyPem !== undefined) return fromSpki(fn, 'publicKeyPem', pemText(fn, 'publicKeyPem', o.publicKeyPem));
  const kp = await generateKeyPair(checkAlgorithm(fn, o.algorithm) ?? 'ECDSA-P256');
  return { spki: kp.spkiDer, publicKeyPem: kp.publicKeyPem, privateKeyPem: kp.privateKeyPem, publicKey: kp.spkiDer };
}

type PublicKeyInput = Uint8Array;

function fromSpki(fn: string, field: string, pem: string): { spki: Uint8Array; publicKeyPem: string; publicKey: PublicKeyInput } {
  let parsed: ReturnType<typeof spkiFromPem>;
  try {
    parsed = spkiFromPem(pem);
  } catch (err) {
    throw new PkiError('CERT_INVALID', `${fn}: ${field}: not a PEM public key`, { cause: err });
  }
  const kind = classifyKey(parsed.object);
  if (typeof kind !== 'string') throw new RangeError(`${fn}: ${field}: unsupported key: ${kind.unsupported}`);
  return { spki: parsed.der, publicKeyPem: toPem('PUBLIC KEY', parsed.der), publicKey: parsed.der };
}

/**
 * Issues a device (MQTT client) certificate: CN = `deviceId`, keyUsage digitalSignature
 * (critical), extKeyUsage clientAuth, basicConstraints CA:false, a random positive 16-byte
 * serial, subject and authority key identifiers. Generates an ECDSA P-256 key pair unless
 * the device's own public key (or CSR) is given.
 *
 * This function keeps no registry; use {@link openCaDir} to refuse duplicate keys and ids.
 *
 * @throws TypeError / RangeError for a bad option (a device id with `/`, `+`, `#`, control characters, or over 64 characters is a RangeError).
 * @throws PkiError `CERT_INVALID` / `CERT_KEY_MISMATCH` for an unusable CA or key.
 * @example
 * ```ts
 * import { createFleetCA, issueDeviceCertificate } from '@outpost/pki';
 * const ca = await createFleetCA();
 * const dev = await issueDeviceCertificate({ ca, deviceId: 'sensor-0001' });
 * dev.deviceId; // 'sensor-0001'
 * typeof dev.privateKeyPem; // 'string' (generated here; give it to the device only)
 * ```
 */
export async function issueDeviceCertificate(options: IssueDeviceOptions): Promise<DeviceCertificate> {
  const fn = 'issueDeviceCertificate';
  assertOptions(fn, options);
  return issueClientCertificate(fn, options, checkDeviceId(fn, options.deviceId));
}

/**
 * Internal (claim-cert.ts): a clientAuth certificate with the given CN, checked by the caller.
 * `deviceId` in the result is that CN.
 */
export async function issueClientCertificate(fn: string, options: Omit<IssueDeviceOptions, 'deviceId'>, deviceId: string, loaded?: LoadedCa): Promise<DeviceCertificate> {
  const x509 = await loadX509();
  const ca = loaded ?? (await loadCa(fn, options.ca)); // loaded: the provisioning service signs many with one CA
  const { notBefore, notAfter } = validity(fn, options, ca, 365);
  const key = await subjectKey(fn, options);
  const serialNumber = randomSerial();
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber,
      subject: [{ CN: [deviceId] }],
      issuer: ca.cert.subjectName,
      notBefore,
      notAfter,
      publicKey: key.publicKey,
      signingKey: ca.signingKey,
      signingAlgorithm: ca.signingAlgorithm,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
        await x509.SubjectKeyIdentifierExtension.create(key.publicKey, false, crypto),
        new x509.AuthorityKeyIdentifierExtension(ca.keyId, false),
      ],
    },
    crypto,
  );
  const certificatePem = cert.toString('pem') + '\n';
  const result: DeviceCertificate = {
    deviceId,
    certificatePem,
    chainPem: certificatePem + ca.chainPem,
    publicKeyPem: key.publicKeyPem,
    fingerprint: sha256Colon(new Uint8Array(cert.rawData)),
    spkiFingerprint: sha256Colon(key.spki),
    serialNumber,
    notBefore,
    notAfter,
  };
  return key.privateKeyPem === undefined ? result : { ...result, privateKeyPem: key.privateKeyPem };
}
