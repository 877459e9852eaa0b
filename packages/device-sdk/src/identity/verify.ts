// Synchronous checks of device credentials with node:crypto's X509Certificate: what the MQTT
// client runs before it opens a socket, so a misconfigured device fails fast and locally.

import { X509Certificate, createPrivateKey, createHash, type KeyObject } from 'node:crypto';
import { DeviceError } from '../errors.js';
import { assertOptions, describe, deviceIdProblem, optionalDate, optionalString, pemText } from './args.js';
import { buildChain, checkKeyStrength, checkSignatureAlgorithm } from './cert-policy.js';

/** What a device certificate says about its holder. */
export interface DeviceIdentity {
  /** The subject CN: the device id. */
  readonly deviceId: string;
  /** SHA-256 of the certificate DER, `AB:CD:…` (Node's `fingerprint256`). */
  readonly fingerprint: string;
  /** SHA-256 of the SubjectPublicKeyInfo DER, `AB:CD:…`: the same across re-issues of one key. */
  readonly spkiFingerprint: string;
  /** Hex serial number, lowercase. */
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The issuer's distinguished name as Node prints it (`CN=Outpost Fleet CA`). */
  readonly issuer: string;
}

/** Options of {@link checkDeviceCredentials}. */
export interface CheckDeviceCredentialsOptions {
  /**
   * The device certificate (PEM), optionally followed by the intermediate CA certificates it
   * was issued through (the device bundle `outpost pki issue-device` writes).
   */
  readonly cert: string | Uint8Array;
  /**
   * The device private key (PEM), or a key held in a token (`{ engine, id }`, see
   * connectDevice's `key`): it cannot be read, so the key-pair check is skipped and the TLS
   * handshake proves possession; every other check runs on the certificate.
   */
  readonly key: string | Uint8Array | { readonly engine: string; readonly id: string };
  /** The fleet root CA certificate (PEM): the trust anchor. A bundle of several is accepted (CA rotation). */
  readonly ca: string | Uint8Array;
  /** The MQTT client id the device will connect with; must equal the certificate CN. */
  readonly clientId?: string;
  /** Default `new Date()`. */
  readonly now?: Date;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

function parseCert(fn: string, field: string, pem: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new DeviceError('CERT_INVALID', `${fn}: ${field}: not a PEM certificate`, { cause: err });
  }
}

function commonName(fn: string, cert: X509Certificate): string {
  // toLegacyObject() gives the raw attribute values (no RFC 2253 escaping to undo); several CNs come as an array.
  const cn = (cert.toLegacyObject().subject as unknown as Record<string, unknown>)['CN'];
  if (typeof cn !== 'string' || cn.length === 0) {
    throw new DeviceError('CERT_INVALID', `${fn}: the certificate subject has ${Array.isArray(cn) ? 'several CNs' : 'no CN'}; a device certificate carries exactly one CN, the device id`);
  }
  const problem = deviceIdProblem(cn);
  if (problem !== undefined) {
    throw new DeviceError('CERT_INVALID', `${fn}: the certificate CN ${JSON.stringify(cn)} is not a device id: ${problem}; the broker would take it as username and topic level`);
  }
  return cn;
}

function fingerprintColon(der: Uint8Array): string {
  return (createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g) ?? []).join(':');
}

function identityOf(fn: string, cert: X509Certificate): DeviceIdentity {
  const spki = new Uint8Array(cert.publicKey.export({ type: 'spki', format: 'der' }));
  return {
    deviceId: commonName(fn, cert),
    fingerprint: cert.fingerprint256,
    spkiFingerprint: fingerprintColon(spki),
    serialNumber: cert.serialNumber.toLowerCase(),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    issuer: cert.issuer,
  };
}

/**
 * Reads the identity out of a device certificate without judging it (no chain or date
 * checks; use {@link checkDeviceCredentials} for that).
 *
 * @throws TypeError for a non-PEM argument; DeviceError `CERT_INVALID` for an unparsable certificate or one without a single CN.
 * @example
 * ```ts
 * import { createFleetCA, issueDeviceCertificate } from '@outpost/pki';
 * import { parseDeviceIdentity } from '@outpost/device-sdk';
 * const ca = await createFleetCA();
 * const dev = await issueDeviceCertificate({ ca, deviceId: 'pump-7' });
 * parseDeviceIdentity(dev.certificatePem).deviceId; // 'pump-7'
 * ```
 */
export function parseDeviceIdentity(certPem: string | Uint8Array): DeviceIdentity {
  const fn = 'parseDeviceIdentity';
  return identityOf(fn, parseCert(fn, 'certPem', pemText(fn, 'certPem', certPem)));
}

/**
 * Checks, synchronously and without I/O, that a device can present these credentials: the key
 * belongs to the certificate (`CERT_KEY_MISMATCH`); the CN is exactly one device id of the
 * charset `[A-Za-z0-9._-]{1,64}` and the certificate is an end-entity client certificate
 * (`CERT_INVALID`); it chains to the given CA, directly or through the intermediates that follow
 * it in `cert`, within every CA's pathLen, and is not self-signed (`CERT_UNTRUSTED`); every key
 * in the chain is RSA ≥ 2048 (`WEAK_KEY`) or EC on P-256/384/521 (`UNSUPPORTED_CURVE`); every
 * signature is SHA-256 or stronger (`WEAK_SIGNATURE`); every certificate is within its validity
 * window (`CERT_EXPIRED` / `CERT_NOT_YET_VALID`); the CN equals the client id
 * (`CERT_IDENTITY_MISMATCH`). The broker made by `@outpost/pki`'s `brokerConfig` also ties the client id to
 * the CN (`use_username_as_clientid`).
 *
 * Everything but the dates and the client id is remembered for the last 16 distinct
 * `(cert, key, ca)` inputs, so a reconnect does not pay for the key and signature checks again.
 * Revocation is not checked here (the broker's `crlfile` does that).
 *
 * @returns The certificate's identity.
 * @throws TypeError for a wrong argument type; DeviceError with the codes above.
 * @example
 * ```ts
 * import { createFleetCA, issueDeviceCertificate } from '@outpost/pki';
 * import { checkDeviceCredentials } from '@outpost/device-sdk';
 * const ca = await createFleetCA();
 * const dev = await issueDeviceCertificate({ ca, deviceId: 'pump-7' });
 * const id = checkDeviceCredentials({ cert: dev.certificatePem, key: dev.privateKeyPem!, ca: ca.certificatePem, clientId: 'pump-7' });
 * id.deviceId; // 'pump-7'
 * ```
 */
export function checkDeviceCredentials(options: CheckDeviceCredentialsOptions): DeviceIdentity {
  const fn = 'checkDeviceCredentials';
  assertOptions(fn, options);
  const certText = pemText(fn, 'cert', options.cert);
  const inToken = typeof options.key === 'object' && options.key !== null && !(options.key instanceof Uint8Array);
  if (inToken && (typeof (options.key as { engine?: unknown }).engine !== 'string' || typeof (options.key as { id?: unknown }).id !== 'string')) {
    throw new TypeError(`${fn}: key: expected PEM or { engine, id }, got ${describe(options.key)}`);
  }
  const keyText = inToken ? '' : pemText(fn, 'key', options.key);
  const caText = pemText(fn, 'ca', options.ca);
  const clientId = optionalString(fn, 'clientId', options.clientId);
  const now = optionalDate(fn, 'now', options.now) ?? new Date();

  const k = memoKey(certText, keyText, caText);
  const checked = memoGet(k) ?? memoSet(k, checkStatic(fn, certText, keyText, caText));
  const identity = checked.identity;
  const t = now.getTime();
  for (const c of checked.validity) {
    if (t < c.notBefore.getTime()) {
      throw new DeviceError('CERT_NOT_YET_VALID', `${fn}: ${c.label} is valid from ${c.notBefore.toISOString()}, now is ${now.toISOString()}; check the device clock`);
    }
    if (t > c.notAfter.getTime()) {
      throw new DeviceError('CERT_EXPIRED', `${fn}: ${c.label} expired at ${c.notAfter.toISOString()}; ${c.leaf ? 'renew it (outpost pki issue-device --renew)' : 'renew that CA and re-issue below it'}`);
    }
  }
  if (clientId !== undefined && clientId !== identity.deviceId) {
    throw new DeviceError('CERT_IDENTITY_MISMATCH', `${fn}: clientId "${clientId}" differs from the certificate CN "${identity.deviceId}"; a device connects with its own id`);
  }
  return identity;
}

/** What does not depend on the clock or the client id: computed once per distinct input. */
interface StaticCheck {
  readonly identity: DeviceIdentity;
  /** Validity windows of the chain, leaf first. */
  readonly validity: readonly { readonly label: string; readonly leaf: boolean; readonly notBefore: Date; readonly notAfter: Date }[];
}

/** Distinct credential sets remembered; a device has one, a gateway a few, a test many. */
const MEMO_LIMIT = 16;
/** Keyed by a SHA-256 of the three texts, so no private-key text is kept past the call. */
const memo = new Map<string, StaticCheck>();

function memoKey(cert: string, key: string, ca: string): string {
  const h = createHash('sha256');
  // Lengths first, so moving bytes from one field to the next changes the digest.
  for (const part of [cert, key, ca]) h.update(`${part.length}:`).update(part);
  return h.digest('base64');
}

function memoGet(k: string): StaticCheck | undefined {
  const v = memo.get(k);
  if (v !== undefined) {
    memo.delete(k); // most recently used last
    memo.set(k, v);
  }
  return v;
}

function memoSet(k: string, value: StaticCheck): StaticCheck {
  memo.set(k, value);
  if (memo.size > MEMO_LIMIT) memo.delete(memo.keys().next().value as string);
  return value;
}

function parseBundle(fn: string, field: string, text: string): X509Certificate[] {
  const pems = text.match(PEM_CERT) ?? [];
  if (pems.length === 0) throw new DeviceError('CERT_INVALID', `${fn}: ${field}: no PEM certificate found`);
  return pems.map((p, i) => parseCert(fn, pems.length === 1 ? field : `${field}[${i}]`, p));
}

/** `keyText` '' = the key is in a token: no pair check here (the handshake proves it). */
function checkStatic(fn: string, certText: string, keyText: string, caText: string): StaticCheck {
  const [cert, ...intermediates] = parseBundle(fn, 'cert', certText) as [X509Certificate, ...X509Certificate[]];
  const cas = parseBundle(fn, 'ca', caText);
  if (keyText !== '') checkKeyPair(fn, cert, keyText);
  const identity = identityOf(fn, cert);
  const what = `cert for "${identity.deviceId}"`;
  if (cert.ca) throw new DeviceError('CERT_INVALID', `${fn}: cert is a CA certificate; a device presents an end-entity certificate`);
  if (cert.checkIssued(cert) && cert.verify(cert.publicKey)) {
    throw new DeviceError('CERT_UNTRUSTED', `${fn}: ${what} is self-signed; issue it from the fleet CA (outpost pki issue-device)`);
  }
  const chain = buildChain(fn, cert, intermediates, cas, what);
  const eku = cert.keyUsage; // Node exposes the extended key usage OIDs here
  if (eku !== undefined && eku.length > 0 && !eku.includes('1.3.6.1.5.5.7.3.2')) {
    throw new DeviceError('CERT_INVALID', `${fn}: cert lacks extKeyUsage clientAuth; a broker will refuse it as a client certificate`);
  }
  const label = (c: X509Certificate, i: number): string => (i === 0 ? what : `CA certificate "${c.subject.replace(/\n/g, ', ')}"`);
  // Keys of every certificate, the anchor's included; signatures of all but the self-signed anchor.
  chain.forEach((c, i) => checkKeyStrength(fn, label(c, i), c.publicKey));
  chain.slice(0, -1).forEach((c, i) => checkSignatureAlgorithm(fn, label(c, i), c));
  // The leaf's and the intermediates' windows; the anchor's is the fleet operator's to watch (a
  // device clock behind the CA's creation would otherwise refuse a certificate the broker accepts).
  const validity = chain.slice(0, -1).map((c, i) => ({ label: label(c, i), leaf: i === 0, notBefore: new Date(c.validFrom), notAfter: new Date(c.validTo) }));
  return { identity, validity };
}

function checkKeyPair(fn: string, cert: X509Certificate, keyText: string): void {
  let key: KeyObject;
  try {
    key = createPrivateKey(keyText);
  } catch (err) {
    throw new DeviceError('CERT_INVALID', `${fn}: key: not a PEM private key (an encrypted key must be decrypted first)`, { cause: err });
  }
  if (!cert.checkPrivateKey(key)) {
    throw new DeviceError('CERT_KEY_MISMATCH', `${fn}: key does not belong to cert; give the private key the certificate was issued for`);
  }
}

/** One credential as seen by a gateway, a provisioning manifest or an audit. */
export interface PresentedCredential {
  readonly deviceId: string;
  readonly cert: string | Uint8Array;
}

/**
 * Refuses a shared ("group") credential: throws `SHARED_CREDENTIAL` when the same key (same
 * SPKI fingerprint, so also the same certificate) appears under two device ids, or when a
 * certificate's CN is not the device id it is presented for. Pure: give it every credential
 * at once (a gateway's device table, a provisioning manifest). The CA store does the same
 * across issuance with `KEY_ALREADY_REGISTERED`.
 *
 * @throws TypeError for a wrong argument type; DeviceError `SHARED_CREDENTIAL` / `CERT_INVALID`.
 * @example
 * ```ts
 * import { createFleetCA, issueDeviceCertificate } from '@outpost/pki';
 * import { assertNotSharedCredential } from '@outpost/device-sdk';
 * const ca = await createFleetCA();
 * const a = await issueDeviceCertificate({ ca, deviceId: 'a' });
 * const b = await issueDeviceCertificate({ ca, deviceId: 'b' });
 * assertNotSharedCredential([{ deviceId: 'a', cert: a.certificatePem }, { deviceId: 'b', cert: b.certificatePem }]); // undefined
 * ```
 */
export function assertNotSharedCredential(credentials: Iterable<PresentedCredential>): void {
  const fn = 'assertNotSharedCredential';
  if (typeof credentials !== 'object' || credentials === null || typeof (credentials as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new TypeError(`${fn}: credentials: expected an iterable of { deviceId, cert }, got ${describe(credentials)}`);
  }
  const owner = new Map<string, string>();
  let i = 0;
  for (const c of credentials) {
    if (typeof c !== 'object' || c === null) throw new TypeError(`${fn}: credentials[${i}]: expected { deviceId, cert }, got ${describe(c)}`);
    const deviceId = c.deviceId;
    if (typeof deviceId !== 'string') throw new TypeError(`${fn}: credentials[${i}].deviceId: expected a string, got ${describe(deviceId)}`);
    const id = identityOf(fn, parseCert(fn, `credentials[${i}].cert`, pemText(fn, `credentials[${i}].cert`, c.cert)));
    if (id.deviceId !== deviceId) {
      throw new DeviceError('SHARED_CREDENTIAL', `${fn}: device "${deviceId}" presents the certificate of "${id.deviceId}"; every device needs its own certificate`);
    }
    const prev = owner.get(id.spkiFingerprint);
    if (prev !== undefined && prev !== deviceId) {
      throw new DeviceError('SHARED_CREDENTIAL', `${fn}: devices "${prev}" and "${deviceId}" share one key (SPKI ${id.spkiFingerprint}); issue one key pair per device`);
    }
    owner.set(id.spkiFingerprint, deviceId);
    i++;
  }
}
