// The provisioning service's hot path without the ASN.1 object model: a PKCS#10 CSR read with a
// small DER reader and verified with node:crypto, and a device certificate's TBSCertificate
// written byte by byte and signed with node:crypto. The profile is issueClientCertificate's
// (test/fast-issue.test.ts compares the two with openssl); @peculiar/x509 spent ~3.8 ms of CPU
// per device on these two steps (asn1js parse/serialize), this path about a tenth of it.

import { createHash, createPublicKey, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { deviceIdProblem } from '@outpost/device-sdk';
import { classifyKey, randomSerial, sha256Colon, toPem, wholeSeconds } from './keys.js';
import type { DeviceCertificate } from './certificates.js';

// --- DER reading (X.690 §8.1: tag, length, contents) ---
interface Tlv {
  readonly tag: number;
  /** The whole element. */
  readonly raw: Buffer;
  readonly content: Buffer;
}

function readTlv(buf: Buffer, at: number): Tlv {
  const tag = buf[at]!;
  let len = buf[at + 1]!;
  let p = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3) throw new RangeError('DER: unsupported length');
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | buf[p++]!;
  }
  if (p + len > buf.length) throw new RangeError('DER: truncated');
  return { tag, raw: buf.subarray(at, p + len), content: buf.subarray(p, p + len) };
}

function children(t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = 0; p < t.content.length; ) {
    const c = readTlv(t.content, p);
    out.push(c);
    p += c.raw.length;
  }
  return out;
}

// --- DER writing ---
function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), ...parts]);
}
const seq = (...p: Uint8Array[]): Buffer => tlv(0x30, ...p);
const hex = (h: string): Buffer => Buffer.from(h.replace(/ /g, ''), 'hex');

const OID = {
  cn: '0603550403',
  extensionRequest: '06092a864886f70d01090e',
  basicConstraints: '0603551d13',
  keyUsage: '0603551d0f',
  extKeyUsage: '0603551d25',
  ski: '0603551d0e',
  aki: '0603551d23',
  clientAuth: '06082b06010505070302',
};
/** Signature algorithms of a CSR that the service verifies: OID (DER, hex) → hash. RFC 5758 §3.2, RFC 4055 §5. */
const CSR_SIGNATURES: Record<string, string> = {
  '06082a8648ce3d040302': 'sha256', '06082a8648ce3d040303': 'sha384', '06082a8648ce3d040304': 'sha512',
  '06092a864886f70d01010b': 'sha256', '06092a864886f70d01010c': 'sha384', '06092a864886f70d01010d': 'sha512',
};

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2), 'ascii')) : tlv(0x18, Buffer.from(iso, 'ascii'));
}

/** What a verified CSR gives the service. */
export type FastCsrVerdict = { ok: true; deviceId: string; spki: Buffer } | { ok: false; reason: string };

const text = (t: Tlv): string | undefined =>
  t.tag === 0x0c ? t.content.toString('utf8') : t.tag === 0x13 || t.tag === 0x16 ? t.content.toString('latin1') : undefined;

/** RFC 2986 PKCS#10: parses, verifies the self-signature, and checks the subject and extensions. */
export function checkCsrFast(pem: string): FastCsrVerdict {
  const body = /-----BEGIN CERTIFICATE REQUEST-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE REQUEST-----/.exec(pem)?.[1];
  if (body === undefined) return { ok: false, reason: 'certificateSigningRequest: not a PEM PKCS#10 request' };
  let info: Tlv, algOid: string, sig: Buffer, subject: Tlv, spki: Tlv, attrs: Tlv | undefined;
  try {
    const der = Buffer.from(body.replace(/\s+/g, ''), 'base64');
    const top = readTlv(der, 0);
    const [i, alg, bits] = children(top);
    info = i!;
    algOid = readTlv(alg!.content, 0).raw.toString('hex');
    sig = bits!.content.subarray(1); // BIT STRING: unused-bits byte first
    [, subject, spki, attrs] = children(info) as [Tlv, Tlv, Tlv, Tlv | undefined];
    if (top.tag !== 0x30 || info.tag !== 0x30 || subject.tag !== 0x30 || spki.tag !== 0x30 || bits!.tag !== 0x03) throw new RangeError('shape');
  } catch {
    return { ok: false, reason: 'certificateSigningRequest: not a PEM PKCS#10 request' };
  }
  const hash = CSR_SIGNATURES[algOid];
  let key: KeyObject;
  try {
    key = createPublicKey({ key: spki.raw, format: 'der', type: 'spki' });
  } catch {
    return { ok: false, reason: 'certificateSigningRequest: its public key does not parse' };
  }
  let good = false;
  try {
    good = hash !== undefined && verify(hash, info.raw, key, sig);
  } catch {
    good = false;
  }
  if (!good) return { ok: false, reason: 'certificateSigningRequest: its signature does not verify (unsupported key or tampered request)' };
  const kind = classifyKey(key);
  if (typeof kind !== 'string') return { ok: false, reason: `certificateSigningRequest: unsupported key: ${kind.unsupported}` };
  // RFC 2986 §4.1 attributes: an extensionRequest must be empty (the certificate profile is fixed).
  for (const a of attrs === undefined ? [] : children(attrs)) {
    const [type, values] = children(a);
    if (type?.raw.toString('hex') !== OID.extensionRequest || values === undefined) continue;
    const exts = children(values).flatMap((v) => children(v));
    if (exts.length > 0) return { ok: false, reason: `certificateSigningRequest: requests ${exts.length} extension(s); the certificate profile is fixed (one CN, clientAuth, CA:FALSE) and a request for SANs, CA:TRUE or key usages is refused` };
  }
  const atvs = children(subject).flatMap((rdn) => children(rdn));
  const pairs = atvs.map((atv) => children(atv));
  const cn = pairs.length === 1 && pairs[0]![0]?.raw.toString('hex') === OID.cn ? text(pairs[0]![1]!) : undefined;
  if (cn === undefined) return { ok: false, reason: `certificateSigningRequest: the subject must be exactly one CN (the device id), got ${atvs.length} attribute(s)` };
  const problem = deviceIdProblem(cn);
  if (problem !== undefined) return { ok: false, reason: `certificateSigningRequest: CN: ${problem}` };
  return { ok: true, deviceId: cn, spki: Buffer.from(spki.raw) };
}

/** A CA ready to sign on the fast path: its subject DER, key identifier and key. */
export interface FastSigner {
  readonly issuer: Buffer;
  readonly keyId: Buffer;
  readonly key: KeyObject;
  readonly ec: boolean;
  readonly notAfter: Date;
  readonly chainPem: string;
}

/** The fast signer of a CA certificate (PEM) and its private key. */
export function fastSigner(caPem: string, key: KeyObject, keyIdHex: string, chainPem: string): FastSigner {
  const ca = new X509Certificate(caPem);
  const tbs = children(readTlv(ca.raw, 0))[0]!;
  const f = children(tbs);
  const issuer = f[f[0]!.tag === 0xa0 ? 5 : 4]!.raw; // [0] version, serial, signature, issuer, validity, subject
  return { issuer: Buffer.from(issuer), keyId: hex(keyIdHex), key, ec: key.asymmetricKeyType === 'ec', notAfter: new Date(ca.validTo), chainPem };
}

/**
 * A device certificate (CN = deviceId, clientAuth, CA:FALSE, keyUsage digitalSignature, SKI, AKI,
 * a random positive 128-bit serial) for `spki`, signed with SHA-256. RFC 5280 §4.1.
 */
export function issueFast(s: FastSigner, o: { deviceId: string; spki: Buffer; now: Date; validityDays: number }): DeviceCertificate {
  const serialNumber = randomSerial();
  const notBefore = wholeSeconds(new Date(o.now.getTime() - 5 * 60_000)); // issueClientCertificate's backdating
  let notAfter = wholeSeconds(new Date(o.now.getTime() + o.validityDays * 86_400_000));
  if (notAfter > s.notAfter) notAfter = wholeSeconds(s.notAfter);
  const alg = s.ec ? seq(hex('06082a8648ce3d040302')) : seq(hex('06092a864886f70d01010b'), hex('0500'));
  const keyBits = children(readTlv(o.spki, 0))[1]!.content.subarray(1);
  const ext = (oid: string, critical: boolean, value: Buffer): Buffer => seq(hex(oid), ...(critical ? [hex('0101ff')] : []), tlv(0x04, value));
  const tbs = seq(
    hex('a003020102'), // [0] version v3
    tlv(0x02, hex(serialNumber)),
    alg,
    s.issuer,
    seq(time(notBefore), time(notAfter)),
    seq(tlv(0x31, seq(hex(OID.cn), tlv(0x0c, Buffer.from(o.deviceId, 'utf8'))))),
    o.spki,
    tlv(0xa3, seq(
      ext(OID.basicConstraints, true, seq()),
      ext(OID.keyUsage, true, hex('03020780')), // digitalSignature
      ext(OID.extKeyUsage, false, seq(hex(OID.clientAuth))),
      ext(OID.ski, false, tlv(0x04, createHash('sha1').update(keyBits).digest())), // RFC 5280 §4.2.1.2 (1)
      ext(OID.aki, false, seq(tlv(0x80, s.keyId))),
    )),
  );
  const der = seq(tbs, alg, tlv(0x03, Buffer.from([0]), sign('sha256', tbs, s.key)));
  const certificatePem = toPem('CERTIFICATE', der);
  return {
    deviceId: o.deviceId, certificatePem, chainPem: certificatePem + s.chainPem, publicKeyPem: toPem('PUBLIC KEY', o.spki),
    fingerprint: sha256Colon(der), spkiFingerprint: sha256Colon(o.spki), serialNumber, notBefore, notAfter,
  };
}
