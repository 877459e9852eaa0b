// What a device's credentials must satisfy beyond "signed by the CA": strong signatures and
// keys (what OpenSSL's security level 2 and AWS IoT require), and a chain to a trust anchor
// through intermediate CAs within their pathLen. Internal: not exported from the package.

import type { KeyObject, X509Certificate } from 'node:crypto';
import { DeviceError } from '../errors.js';
import { pathLenConstraint, signatureAlgorithmOid } from './der.js';

/** Signature algorithms accepted on a certificate (RFC 4055 §5, RFC 5758 §3.2, RFC 8410 §3). */
const STRONG_SIGNATURES: ReadonlyMap<string, string> = new Map([
  ['1.2.840.113549.1.1.11', 'sha256WithRSAEncryption'],
  ['1.2.840.113549.1.1.12', 'sha384WithRSAEncryption'],
  ['1.2.840.113549.1.1.13', 'sha512WithRSAEncryption'],
  ['1.2.840.10045.4.3.2', 'ecdsa-with-SHA256'],
  ['1.2.840.10045.4.3.3', 'ecdsa-with-SHA384'],
  ['1.2.840.10045.4.3.4', 'ecdsa-with-SHA512'],
]);

/** Names of refused signature algorithms, for the message. */
const WEAK_SIGNATURES: ReadonlyMap<string, string> = new Map([
  ['1.2.840.113549.1.1.2', 'md2WithRSAEncryption'],
  ['1.2.840.113549.1.1.4', 'md5WithRSAEncryption'],
  ['1.2.840.113549.1.1.5', 'sha1WithRSAEncryption'],
  ['1.2.840.113549.1.1.14', 'sha224WithRSAEncryption'],
  ['1.2.840.10045.4.1', 'ecdsa-with-SHA1'],
  ['1.2.840.10045.4.3.1', 'ecdsa-with-SHA224'],
  ['1.2.840.10040.4.3', 'dsa-with-sha1'],
]);

/** Curves accepted for EC keys (NIST P-256/384/521, the curves TLS 1.3 signature schemes name, RFC 8446 §4.2.3). */
const CURVES: ReadonlySet<string> = new Set(['prime256v1', 'secp384r1', 'secp521r1']);

/** Smallest RSA modulus accepted (NIST SP 800-131A; OpenSSL security level 2). */
export const MIN_RSA_BITS = 2048;

/** Refuses a signature algorithm other than RSA PKCS#1 v1.5 or ECDSA with SHA-256/384/512: `WEAK_SIGNATURE`. */
export function checkSignatureAlgorithm(fn: string, label: string, cert: X509Certificate): void {
  const oid = signatureAlgorithmOid(cert.raw);
  if (oid !== undefined && STRONG_SIGNATURES.has(oid)) return;
  const name = oid === undefined ? 'an unreadable algorithm' : WEAK_SIGNATURES.get(oid) ?? `OID ${oid}`;
  throw new DeviceError('WEAK_SIGNATURE', `${fn}: ${label} is signed with ${name}; brokers at OpenSSL security level 2 refuse it (expected SHA-256 or stronger with RSA or ECDSA): re-issue it`);
}

/** Refuses an RSA key under 2048 bits (`WEAK_KEY`) and an EC key off P-256/384/521 or a non-RSA/EC key (`UNSUPPORTED_CURVE` / `WEAK_KEY`). */
export function checkKeyStrength(fn: string, label: string, key: KeyObject): void {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'rsa' || type === 'rsa-pss') {
    const bits = details.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) throw new DeviceError('WEAK_KEY', `${fn}: ${label} has an RSA-${bits} key; at least ${MIN_RSA_BITS} bits are required: re-issue it with a new key`);
    return;
  }
  if (type === 'ec') {
    const curve = details.namedCurve ?? 'unknown';
    if (!CURVES.has(curve)) throw new DeviceError('UNSUPPORTED_CURVE', `${fn}: ${label} has an EC key on curve ${curve}; expected P-256, P-384 or P-521: re-issue it with a new key`);
    return;
  }
  if (type === 'ed25519' || type === 'ed448') {
    throw new DeviceError('UNSUPPORTED_CURVE', `${fn}: ${label} has an ${type} key; expected ECDSA P-256/384/521 or RSA ≥ ${MIN_RSA_BITS}`);
  }
  throw new DeviceError('WEAK_KEY', `${fn}: ${label} has a ${type ?? 'unknown'} key; expected ECDSA P-256/384/521 or RSA ≥ ${MIN_RSA_BITS}`);
}

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  return parent.ca && child.checkIssued(parent) && child.verify(parent.publicKey);
}

/** Longest chain followed, anchor included (OpenSSL's default verify depth is 100; fleets use 2 or 3). */
const MAX_CHAIN = 8;

/**
 * RFC 5280 §6.1: builds leaf → intermediates → anchor. Each link's signature must verify, each
 * issuer must be a CA, and each CA's pathLenConstraint must allow the intermediates below it
 * (§4.2.1.9). Returns the chain with the anchor last.
 *
 * @throws DeviceError `CERT_UNTRUSTED` when no such chain exists.
 */
export function buildChain(fn: string, leaf: X509Certificate, intermediates: readonly X509Certificate[], anchors: readonly X509Certificate[], what: string): X509Certificate[] {
  const chain = [leaf];
  for (let cur = leaf; chain.length < MAX_CHAIN; ) {
    const anchor = anchors.find((a) => issuedBy(cur, a));
    const next = anchor ?? intermediates.find((i) => !chain.includes(i) && issuedBy(cur, i));
    if (next === undefined) break;
    // The CA at chain index k has k - 1 intermediates below it.
    const limit = pathLenConstraint(next.raw);
    if (limit === undefined) throw new DeviceError('CERT_INVALID', `${fn}: the CA certificate "${next.subject.replace(/\n/g, ', ')}" does not parse`);
    if (limit !== null && chain.length - 1 > limit) {
      throw new DeviceError('CERT_UNTRUSTED', `${fn}: ${what} chains through ${chain.length - 1} intermediate CA(s) but "${next.subject.replace(/\n/g, ', ')}" allows ${limit} (pathlen:${limit}); brokers refuse this chain`);
    }
    chain.push(next);
    if (anchor !== undefined) return chain;
    cur = next;
  }
  const hint = intermediates.length === 0 ? ' (a certificate issued by an intermediate CA needs the intermediate after it in the cert bundle)' : '';
  throw new DeviceError('CERT_UNTRUSTED', `${fn}: ${what} is not signed by the given CA (issuer ${leaf.issuer.replace(/\n/g, ', ')})${hint}`);
}
