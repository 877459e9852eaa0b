// Fleet PKI: certificate profiles cross-checked with the openssl CLI (a real X.509 peer),
// credential checks for every negative mTLS case a device can hit locally, and the
// wrong-type matrix of the public functions.
import { spawnSync } from 'node:child_process';
import { X509Certificate, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DeviceError, assertNotSharedCredential, checkDeviceCredentials, parseDeviceIdentity } from '@outpost/device-sdk';
import { PkiError, createFleetCA, issueDeviceCertificate, issueServerCertificate, type DeviceCertificate, type FleetCA } from '@outpost/pki';

let dir: string;
let ca: FleetCA;
let otherCa: FleetCA;
let dev: DeviceCertificate;

function openssl(args: string[], input?: string): { status: number | null; out: string } {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8', input });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DeviceError);
    expect((err as DeviceError).code).toBe(code);
    return;
  }
  throw new Error(`expected DeviceError ${code}, nothing thrown`);
}
async function expectCodeAsync(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toBeInstanceOf(PkiError);
  await expect(p).rejects.toMatchObject({ code });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-pki-'));
  ca = await createFleetCA({ commonName: 'Test Fleet CA' });
  otherCa = await createFleetCA({ commonName: 'Other CA' });
  dev = await issueDeviceCertificate({ ca, deviceId: 'sensor-0001' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('createFleetCA', () => {
  test('ECDSA P-256 root: CA:true pathlen 1 critical, keyCertSign+cRLSign critical, SKI, SHA-256', () => {
    const text = openssl(['x509', '-noout', '-text', '-in', file('ca.pem', ca.certificatePem)]).out;
    expect(text).toContain('Signature Algorithm: ecdsa-with-SHA256');
    expect(text).toContain('NIST CURVE: P-256');
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:1/);
    expect(text).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(text).toContain('Subject Key Identifier');
    expect(text).toContain('Issuer: CN = Test Fleet CA');
    const node = new X509Certificate(ca.certificatePem);
    expect(node.ca).toBe(true);
    expect(node.fingerprint256).toBe(ca.fingerprint);
    expect(node.serialNumber.toLowerCase()).toBe(ca.serialNumber);
    expect(ca.algorithm).toBe('ECDSA-P256');
    expect(ca.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  test('RSA-2048 with SHA-256 (never SHA-1), validity and clock injectable', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const rsa = await createFleetCA({ algorithm: 'RSA-2048', validityDays: 10, now });
    const text = openssl(['x509', '-noout', '-text', '-in', file('rsa-ca.pem', rsa.certificatePem)]).out;
    expect(text).toContain('sha256WithRSAEncryption');
    expect(text).toContain('Public-Key: (2048 bit)');
    expect(rsa.notBefore.toISOString()).toBe('2029-12-31T23:55:00.000Z');
    expect(rsa.notAfter.toISOString()).toBe('2030-01-11T00:00:00.000Z');
    const d = await issueDeviceCertificate({ ca: rsa, deviceId: 'r1', algorithm: 'RSA-2048', now });
    expect(openssl(['verify', '-attime', String(Date.parse('2030-01-02') / 1000), '-CAfile', 'rsa-ca.pem', file('r1.pem', d.certificatePem)]).out).toContain('r1.pem: OK');
  });
});

describe('issueDeviceCertificate', () => {
  test('client profile: CN = device id, digitalSignature critical, clientAuth, AKI = CA SKI; openssl verifies', () => {
    file('ca.pem', ca.certificatePem);
    const text = openssl(['x509', '-noout', '-text', '-in', file('dev.pem', dev.certificatePem)]).out;
    expect(text).toContain('Subject: CN = sensor-0001');
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature\n/);
    expect(text).toMatch(/Extended Key Usage:\s*\n\s+TLS Web Client Authentication\n/);
    const caSki = /Subject Key Identifier:\s*\n\s+([0-9A-F:]+)/.exec(openssl(['x509', '-noout', '-text', '-in', 'ca.pem']).out)?.[1];
    expect(caSki).toBeDefined();
    expect(text).toMatch(new RegExp(`Authority Key Identifier:\\s*\\n\\s+(keyid:)?${caSki}`));
    expect(openssl(['verify', '-purpose', 'sslclient', '-CAfile', 'ca.pem', 'dev.pem']).out).toContain('dev.pem: OK');
    // The same chain does not verify against another CA.
    expect(openssl(['verify', '-CAfile', file('other.pem', otherCa.certificatePem), 'dev.pem']).status).not.toBe(0);
    const fp = openssl(['x509', '-noout', '-fingerprint', '-sha256', '-in', 'dev.pem']).out;
    expect(fp).toContain(dev.fingerprint);
  });

  test('serials are random, positive and 16 bytes', async () => {
    const serials = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const d = await issueDeviceCertificate({ ca, deviceId: `s${i}`, publicKeyPem: dev.publicKeyPem });
      expect(d.serialNumber).toMatch(/^[0-7][0-9a-f]{31}$/);
      expect(d.serialNumber.startsWith('00')).toBe(false);
      expect(new X509Certificate(d.certificatePem).serialNumber.toLowerCase()).toBe(d.serialNumber);
      serials.add(d.serialNumber);
    }
    expect(serials.size).toBe(20);
  });

  test('with the device public key: no private key returned, the key is certified', async () => {
    const kp = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pub = kp.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const d = await issueDeviceCertificate({ ca, deviceId: 'byok', publicKeyPem: pub });
    expect(d.privateKeyPem).toBeUndefined();
    expect('privateKeyPem' in d).toBe(false);
    const key = kp.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(checkDeviceCredentials({ cert: d.certificatePem, key, ca: ca.certificatePem }).spkiFingerprint).toBe(d.spkiFingerprint);
  });

  test('from an openssl CSR (key made on the device); a tampered CSR is refused', async () => {
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'csr.key', '-out', 'csr.pem', '-subj', '/CN=whatever']);
    const csrPem = readFileSync(join(dir, 'csr.pem'), 'utf8');
    const d = await issueDeviceCertificate({ ca, deviceId: 'csr-dev', csrPem });
    expect(parseDeviceIdentity(d.certificatePem).deviceId).toBe('csr-dev'); // the CA decides the CN
    expect(checkDeviceCredentials({ cert: d.certificatePem, key: readFileSync(join(dir, 'csr.key')), ca: ca.certificatePem }).deviceId).toBe('csr-dev');
    const der = Buffer.from(csrPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    der.writeUInt8(der.readUInt8(der.length - 5) ^ 0x01, der.length - 5); // flip a bit in the signature
    const bad = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    await expectCodeAsync(issueDeviceCertificate({ ca, deviceId: 'x', csrPem: bad }), 'CERT_INVALID');
  });

  test('device ids: [A-Za-z0-9._-]{1,64}', async () => {
    for (const bad of ['', 'a/b', 'a+b', 'a#', '*', 'a b', '$SYS', 'a%u', 'capteur-é', 'a,b', 'nul\0', 'tab\t', 'x'.repeat(65)]) {
      await expect(issueDeviceCertificate({ ca, deviceId: bad })).rejects.toBeInstanceOf(RangeError);
    }
    const long = await issueDeviceCertificate({ ca, deviceId: 'x'.repeat(64), publicKeyPem: dev.publicKeyPem });
    expect(parseDeviceIdentity(long.certificatePem).deviceId).toBe('x'.repeat(64));
    const all = await issueDeviceCertificate({ ca, deviceId: 'Az09._-', publicKeyPem: dev.publicKeyPem });
    expect(parseDeviceIdentity(all.certificatePem).deviceId).toBe('Az09._-');
  });

  test('refuses weak or unsupported keys, a mismatched CA key, a non-CA issuer', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
    await expect(issueDeviceCertificate({ ca, deviceId: 'w', publicKeyPem: weak })).rejects.toThrow(/RSA-1024/);
    await expect(issueDeviceCertificate({ ca, deviceId: 'w', publicKeyPem: weak })).rejects.toBeInstanceOf(RangeError);
    const ed = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string;
    await expect(issueDeviceCertificate({ ca, deviceId: 'w', publicKeyPem: ed })).rejects.toBeInstanceOf(RangeError);
    await expectCodeAsync(issueDeviceCertificate({ ca: { certificatePem: ca.certificatePem, privateKeyPem: otherCa.privateKeyPem }, deviceId: 'w' }), 'CERT_KEY_MISMATCH');
    await expectCodeAsync(issueDeviceCertificate({ ca: { certificatePem: dev.certificatePem, privateKeyPem: dev.privateKeyPem! }, deviceId: 'w' }), 'CERT_INVALID');
    await expectCodeAsync(issueDeviceCertificate({ ca, deviceId: 'w', publicKeyPem: 'not a key' }), 'CERT_INVALID');
    await expectCodeAsync(issueDeviceCertificate({ ca, deviceId: 'w', publicKeyPem: dev.publicKeyPem, csrPem: 'x' }), 'INVALID_OPTION');
    await expect(issueDeviceCertificate({ ca, deviceId: 'w', notBefore: new Date(2000, 1), notAfter: new Date(2000, 0) })).rejects.toBeInstanceOf(RangeError);
  });

  test('default validity never outlives the CA', async () => {
    const short = await createFleetCA({ validityDays: 30 });
    const d = await issueDeviceCertificate({ ca: short, deviceId: 'd', validityDays: 365 });
    expect(d.notAfter.getTime()).toBe(short.notAfter.getTime());
  });
});

describe('issueServerCertificate', () => {
  test('IP and DNS SANs, serverAuth; openssl verifies it as an SSL server', async () => {
    const s = await issueServerCertificate({ ca, hosts: ['127.0.0.1', 'localhost', '::1'] });
    file('ca.pem', ca.certificatePem);
    file('server.pem', s.certificatePem);
    expect(openssl(['verify', '-purpose', 'sslserver', '-CAfile', 'ca.pem', 'server.pem']).out).toContain('server.pem: OK');
    const node = new X509Certificate(s.certificatePem);
    expect(node.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(node.checkHost('localhost')).toBe('localhost');
    expect(node.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(openssl(['verify', '-purpose', 'sslserver', '-verify_ip', '127.0.0.1', '-verify_hostname', 'localhost', '-CAfile', 'ca.pem', 'server.pem']).status).toBe(0);
    expect(createPublicKey(s.privateKeyPem).asymmetricKeyType).toBe('ec');
  });

  test('bad hosts', async () => {
    await expect(issueServerCertificate({ ca, hosts: [] })).rejects.toBeInstanceOf(RangeError);
    await expect(issueServerCertificate({ ca, hosts: ['bad host'] })).rejects.toBeInstanceOf(RangeError);
    await expect(issueServerCertificate({ ca, hosts: [1 as unknown as string] })).rejects.toBeInstanceOf(TypeError);
    await expect(issueServerCertificate({ ca, hosts: 'localhost' as unknown as string[] })).rejects.toBeInstanceOf(TypeError);
  });
});

describe('checkDeviceCredentials', () => {
  const now = (): Date => new Date();

  test('accepts a good set and returns the identity; accepts bytes and CA bundles', () => {
    const id = checkDeviceCredentials({ cert: dev.certificatePem, key: dev.privateKeyPem!, ca: ca.certificatePem, clientId: 'sensor-0001' });
    expect(id.deviceId).toBe('sensor-0001');
    expect(id.fingerprint).toBe(dev.fingerprint);
    expect(id.spkiFingerprint).toBe(dev.spkiFingerprint);
    expect(id.issuer).toBe('CN=Test Fleet CA');
    const enc = new TextEncoder();
    const bundle = otherCa.certificatePem + ca.certificatePem;
    expect(checkDeviceCredentials({ cert: enc.encode(dev.certificatePem), key: enc.encode(dev.privateKeyPem!), ca: enc.encode(bundle) }).deviceId).toBe('sensor-0001');
  });

  test('remembered checks stay exact: the clock and the client id are checked on every call, a changed input is checked afresh', async () => {
    const args = { cert: dev.certificatePem, key: dev.privateKeyPem!, ca: ca.certificatePem };
    expect(checkDeviceCredentials(args).deviceId).toBe('sensor-0001');
    expectCode(() => checkDeviceCredentials({ ...args, now: new Date(dev.notAfter.getTime() + 1000) }), 'CERT_EXPIRED');
    expectCode(() => checkDeviceCredentials({ ...args, clientId: 'sensor-0002' }), 'CERT_IDENTITY_MISMATCH');
    const other = await issueDeviceCertificate({ ca, deviceId: 'other-memo' });
    expectCode(() => checkDeviceCredentials({ ...args, key: other.privateKeyPem! }), 'CERT_KEY_MISMATCH');
    expectCode(() => checkDeviceCredentials({ ...args, ca: otherCa.certificatePem }), 'CERT_UNTRUSTED');
    expect(checkDeviceCredentials(args).deviceId).toBe('sensor-0001');
  });

  test('key/cert mismatch → CERT_KEY_MISMATCH', async () => {
    const other = await issueDeviceCertificate({ ca, deviceId: 'other' });
    expectCode(() => checkDeviceCredentials({ cert: dev.certificatePem, key: other.privateKeyPem!, ca: ca.certificatePem }), 'CERT_KEY_MISMATCH');
  });

  test('signed by another CA → CERT_UNTRUSTED', async () => {
    const foreign = await issueDeviceCertificate({ ca: otherCa, deviceId: 'sensor-0001' });
    expectCode(() => checkDeviceCredentials({ cert: foreign.certificatePem, key: foreign.privateKeyPem!, ca: ca.certificatePem }), 'CERT_UNTRUSTED');
  });

  test('self-signed device certificate (openssl req -x509) → CERT_UNTRUSTED, even when given as the CA', () => {
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'self.key', '-out', 'self.pem', '-subj', '/CN=sensor-0001', '-days', '1', '-addext', 'basicConstraints=critical,CA:FALSE']);
    const cert = readFileSync(join(dir, 'self.pem'), 'utf8');
    const key = readFileSync(join(dir, 'self.key'), 'utf8');
    expectCode(() => checkDeviceCredentials({ cert, key, ca: ca.certificatePem }), 'CERT_UNTRUSTED');
    expectCode(() => checkDeviceCredentials({ cert, key, ca: cert }), 'CERT_UNTRUSTED');
  });

  test('expired / not yet valid, by the injected clock and by issued dates', async () => {
    const after = new Date(dev.notAfter.getTime() + 1000);
    expectCode(() => checkDeviceCredentials({ cert: dev.certificatePem, key: dev.privateKeyPem!, ca: ca.certificatePem, now: after }), 'CERT_EXPIRED');
    const before = new Date(dev.notBefore.getTime() - 1000);
    expectCode(() => checkDeviceCredentials({ cert: dev.certificatePem, key: dev.privateKeyPem!, ca: ca.certificatePem, now: before }), 'CERT_NOT_YET_VALID');
    const old = await issueDeviceCertificate({ ca, deviceId: 'old', notBefore: new Date('2020-01-01'), notAfter: new Date('2021-01-01') });
    expectCode(() => checkDeviceCredentials({ cert: old.certificatePem, key: old.privateKeyPem!, ca: ca.certificatePem, now: now() }), 'CERT_EXPIRED');
    file('old.pem', old.certificatePem);
    expect(openssl(['verify', '-CAfile', 'ca.pem', 'old.pem']).out).toContain('expired');
  });

  test('client id must be the CN → CERT_IDENTITY_MISMATCH', () => {
    expectCode(() => checkDeviceCredentials({ cert: dev.certificatePem, key: dev.privateKeyPem!, ca: ca.certificatePem, clientId: 'sensor-0002' }), 'CERT_IDENTITY_MISMATCH');
  });

  test('a CA or a server certificate presented as a device certificate → CERT_INVALID', async () => {
    expectCode(() => checkDeviceCredentials({ cert: ca.certificatePem, key: ca.privateKeyPem, ca: ca.certificatePem }), 'CERT_INVALID');
    const s = await issueServerCertificate({ ca, hosts: ['localhost'] });
    expectCode(() => checkDeviceCredentials({ cert: s.certificatePem, key: s.privateKeyPem, ca: ca.certificatePem }), 'CERT_INVALID');
  });

  test('garbage in → CERT_INVALID, no secret in the message', () => {
    expectCode(() => checkDeviceCredentials({ cert: 'nope', key: dev.privateKeyPem!, ca: ca.certificatePem }), 'CERT_INVALID');
    expectCode(() => checkDeviceCredentials({ cert: dev.certificatePem, key: 'nope', ca: ca.certificatePem }), 'CERT_INVALID');
    expectCode(() => checkDeviceCredentials({ cert: dev.certificatePem, key: dev.privateKeyPem!, ca: 'nope' }), 'CERT_INVALID');
    try {
      checkDeviceCredentials({ cert: dev.certificatePem, key: dev.privateKeyPem!.slice(0, 80), ca: ca.certificatePem });
    } catch (err) {
      expect((err as Error).message).not.toContain(dev.privateKeyPem!.slice(30, 70));
    }
  });
});

describe('parseDeviceIdentity and assertNotSharedCredential', () => {
  test('parse', () => {
    const id = parseDeviceIdentity(dev.certificatePem);
    expect(id).toMatchObject({ deviceId: 'sensor-0001', fingerprint: dev.fingerprint, serialNumber: dev.serialNumber, issuer: 'CN=Test Fleet CA' });
    expect(id.notBefore.getTime()).toBe(dev.notBefore.getTime());
    expect(id.notAfter.getTime()).toBe(dev.notAfter.getTime());
    expectCode(() => parseDeviceIdentity('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), 'CERT_INVALID');
  });

  test('one key under two ids, or a certificate presented under another id, is SHARED_CREDENTIAL', async () => {
    const a = await issueDeviceCertificate({ ca, deviceId: 'a' });
    const b = await issueDeviceCertificate({ ca, deviceId: 'b' });
    assertNotSharedCredential([{ deviceId: 'a', cert: a.certificatePem }, { deviceId: 'b', cert: b.certificatePem }, { deviceId: 'a', cert: a.certificatePem }]);
    expectCode(() => assertNotSharedCredential([{ deviceId: 'a', cert: a.certificatePem }, { deviceId: 'b', cert: a.certificatePem }]), 'SHARED_CREDENTIAL');
    // Same key certified twice under two names (what the CA store prevents at issue time).
    const b2 = await issueDeviceCertificate({ ca, deviceId: 'b', publicKeyPem: a.publicKeyPem });
    expectCode(() => assertNotSharedCredential([{ deviceId: 'a', cert: a.certificatePem }, { deviceId: 'b', cert: b2.certificatePem }]), 'SHARED_CREDENTIAL');
  });
});

describe('wrong-type matrix', () => {
  const notObjects: unknown[] = [undefined, null, 1, 'x', [], true];
  test.each(notObjects.filter((v) => v !== undefined))('createFleetCA(%o) → TypeError', async (v) => {
    await expect(createFleetCA(v as never)).rejects.toBeInstanceOf(TypeError);
  });
  test.each(notObjects)('issueDeviceCertificate(%o) / issueServerCertificate / checkDeviceCredentials → TypeError', async (v) => {
    await expect(issueDeviceCertificate(v as never)).rejects.toBeInstanceOf(TypeError);
    await expect(issueServerCertificate(v as never)).rejects.toBeInstanceOf(TypeError);
    expect(() => checkDeviceCredentials(v as never)).toThrow(TypeError);
  });
  test.each([
    [{ commonName: 1 }, TypeError],
    [{ commonName: '' }, RangeError],
    [{ algorithm: 'DSA' }, RangeError],
    [{ algorithm: 256 }, TypeError],
    [{ validityDays: '10' }, TypeError],
    [{ validityDays: 0 }, RangeError],
    [{ validityDays: 1.5 }, RangeError],
    [{ now: '2020-01-01' }, TypeError],
    [{ now: new Date(NaN) }, RangeError],
  ] as const)('createFleetCA(%o) → %o', async (opts, E) => {
    await expect(createFleetCA(opts as never)).rejects.toBeInstanceOf(E);
  });
  test.each([
    [{ deviceId: 7 }, TypeError],
    [{ deviceId: 'a/b' }, RangeError],
    [{ deviceId: 'ok', ca: null }, TypeError],
    [{ deviceId: 'ok', ca: { certificatePem: 1, privateKeyPem: 'x' } }, TypeError],
    [{ deviceId: 'ok', publicKeyPem: 5 }, TypeError],
    [{ deviceId: 'ok', validityDays: -1 }, RangeError],
    [{ deviceId: 'ok', notAfter: 'tomorrow' }, TypeError],
  ] as const)('issueDeviceCertificate(%o) → %o', async (opts, E) => {
    await expect(issueDeviceCertificate({ ca, ...opts } as never)).rejects.toBeInstanceOf(E);
  });
  test.each([
    [{ cert: 1 }, TypeError],
    [{ cert: '' }, RangeError],
    [{ key: {} }, TypeError],
    [{ ca: new Uint8Array(0) }, RangeError],
    [{ clientId: 1 }, TypeError],
    [{ now: Date.now() }, TypeError],
  ] as const)('checkDeviceCredentials(%o) → %o', (opts, E) => {
    expect(() => checkDeviceCredentials({ cert: dev.certificatePem, key: dev.privateKeyPem!, ca: ca.certificatePem, ...opts } as never)).toThrow(E);
  });
  test('parseDeviceIdentity / assertNotSharedCredential', () => {
    expect(() => parseDeviceIdentity(1 as never)).toThrow(TypeError);
    expect(() => parseDeviceIdentity('' as never)).toThrow(RangeError);
    expect(() => assertNotSharedCredential(1 as never)).toThrow(TypeError);
    expect(() => assertNotSharedCredential([null] as never)).toThrow(TypeError);
    expect(() => assertNotSharedCredential([{ deviceId: 1, cert: dev.certificatePem }] as never)).toThrow(TypeError);
  });
});

describe('TSDoc examples run', () => {
  test('createFleetCA / issueDeviceCertificate / issueServerCertificate / parse / check / shared', async () => {
    const ca = await createFleetCA({ commonName: 'Acme Fleet CA' });
    expect(ca.certificatePem.startsWith('-----BEGIN CERTIFICATE-----')).toBe(true);
    const dev = await issueDeviceCertificate({ ca, deviceId: 'sensor-0001' });
    expect(dev.deviceId).toBe('sensor-0001');
    expect(typeof dev.privateKeyPem).toBe('string');
    const server = await issueServerCertificate({ ca, hosts: ['127.0.0.1', 'localhost'] });
    expect(server.hosts).toEqual(['127.0.0.1', 'localhost']);
    const pump = await issueDeviceCertificate({ ca, deviceId: 'pump-7' });
    expect(parseDeviceIdentity(pump.certificatePem).deviceId).toBe('pump-7');
    const id = checkDeviceCredentials({ cert: pump.certificatePem, key: pump.privateKeyPem!, ca: ca.certificatePem, clientId: 'pump-7' });
    expect(id.deviceId).toBe('pump-7');
    const a = await issueDeviceCertificate({ ca, deviceId: 'a' });
    const b = await issueDeviceCertificate({ ca, deviceId: 'b' });
    expect(() => assertNotSharedCredential([{ deviceId: 'a', cert: a.certificatePem }, { deviceId: 'b', cert: b.certificatePem }])).not.toThrow();
  });
});
