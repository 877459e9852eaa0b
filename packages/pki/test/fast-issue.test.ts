// The provisioning service's fast path (fast-issue.ts) against the library's issuance: the same
// profile as issueClientCertificate (openssl's text of both, serials, keys, dates and signatures
// masked), a chain openssl verifies, for an EC and an RSA CA; and the CSR refusals.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { createDeviceCsr } from '@outpost/device-sdk';
import { createFleetCA, issueDeviceCertificate } from '@outpost/pki';
import { checkCsrFast, fastSigner, issueFast } from '../src/fast-issue.js';
import { loadCa } from '../src/certificates.js';

const dir = mkdtempSync(join(tmpdir(), 'outpost-fast-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const openssl = (args: string[], input?: string): string => {
  const r = spawnSync('openssl', args, { encoding: 'utf8', ...(input === undefined ? {} : { input }), cwd: dir });
  return r.stdout + r.stderr;
};
const profile = (pem: string): string =>
  openssl(['x509', '-noout', '-text'], pem)
    .replace(/Serial Number:[\s\S]*?Signature Algorithm/, 'Serial Number: * Signature Algorithm')
    .replace(/Not (Before|After) *: .*/g, 'Not $1: *')
    .replace(/pub:[\s\S]*?ASN1 OID/, 'pub: * ASN1 OID')
    .replace(/(Subject Key Identifier|Authority Key Identifier):[^\n]*\n[^\n]*/g, '$1: *')
    .replace(/Signature Value:[\s\S]*$/, 'Signature Value: *');

describe.each(['ECDSA-P256', 'RSA-2048'] as const)('issueFast with an %s CA', (algorithm) => {
  test('the same profile as issueDeviceCertificate, and a chain openssl verifies', async () => {
    const ca = await createFleetCA({ commonName: `Fast ${algorithm}`, algorithm });
    const loaded = await loadCa('test', ca);
    const signer = fastSigner(ca.certificatePem, loaded.keyObject, loaded.keyId, loaded.chainPem);
    const { csrPem } = await createDeviceCsr('fast-1');
    const v = checkCsrFast(csrPem);
    expect(v).toMatchObject({ ok: true, deviceId: 'fast-1' });
    const now = new Date();
    const fast = issueFast(signer, { deviceId: 'fast-1', spki: (v as { spki: Buffer }).spki, now, validityDays: 365 });
    const slow = await issueDeviceCertificate({ ca, deviceId: 'fast-1', csrPem, now });
    expect(profile(fast.certificatePem)).toBe(profile(slow.certificatePem));
    expect(fast.notAfter.getTime()).toBe(slow.notAfter.getTime());
    expect(fast.notBefore.getTime()).toBe(slow.notBefore.getTime());
    writeFileSync(join(dir, 'ca.pem'), ca.certificatePem);
    expect(openssl(['verify', '-CAfile', 'ca.pem', '-purpose', 'sslclient'], fast.certificatePem)).toMatch(/stdin: OK/);
    // The SKI/AKI values match those of the library's certificate.
    const ids = (pem: string): string[] => [...openssl(['x509', '-noout', '-ext', 'subjectKeyIdentifier,authorityKeyIdentifier'], pem).matchAll(/([0-9A-F]{2}(?::[0-9A-F]{2}){19})/g)].map((m) => m[1]!);
    expect(ids(fast.certificatePem)).toEqual(ids(slow.certificatePem));
  });
});

describe('checkCsrFast refusals', () => {
  const key = join(dir, 'k.pem');
  const csr = (subj: string, extra: string[] = []): string => openssl(['req', '-new', '-key', key, '-subj', subj, ...extra]);
  test('extensions, two CNs, other attributes, a tampered signature, an unsupported curve, not a CSR', () => {
    writeFileSync(key, createPrivateKeyPem('prime256v1'));
    expect(checkCsrFast(csr('/CN=ok-1'))).toMatchObject({ ok: true, deviceId: 'ok-1' });
    expect(checkCsrFast(csr('/CN=san-1', ['-addext', 'subjectAltName=DNS:evil.example']))).toMatchObject({ ok: false, reason: expect.stringMatching(/extension/) });
    expect(checkCsrFast(csr('/CN=ca-1', ['-addext', 'basicConstraints=critical,CA:TRUE']))).toMatchObject({ ok: false, reason: expect.stringMatching(/extension/) });
    expect(checkCsrFast(csr('/CN=a/CN=b'))).toMatchObject({ ok: false, reason: expect.stringMatching(/exactly one CN/) });
    expect(checkCsrFast(csr('/O=acme/CN=a'))).toMatchObject({ ok: false, reason: expect.stringMatching(/exactly one CN/) });
    expect(checkCsrFast(csr('/CN=a#b'))).toMatchObject({ ok: false, reason: expect.stringMatching(/CN:/) });
    const good = csr('/CN=ok-2');
    const b64 = good.split('\n').filter((l) => !l.startsWith('-----')).join('');
    const der = Buffer.from(b64, 'base64');
    der[der.length - 5] = der[der.length - 5]! ^ 1; // inside the signature
    expect(checkCsrFast(`-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`)).toMatchObject({ ok: false, reason: expect.stringMatching(/does not verify/) });
    writeFileSync(key, createPrivateKeyPem('secp384r1'));
    expect(checkCsrFast(csr('/CN=p384'))).toMatchObject({ ok: false, reason: expect.stringMatching(/unsupported key/) });
    expect(checkCsrFast('nope')).toMatchObject({ ok: false, reason: expect.stringMatching(/not a PEM/) });
    expect(checkCsrFast('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----')).toMatchObject({ ok: false });
  });
});

function createPrivateKeyPem(curve: string): string {
  return openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${curve}`]);
}
