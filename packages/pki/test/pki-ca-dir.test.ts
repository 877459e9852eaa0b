// The file-based CA store: files and modes, the registry's refusals, renew, revoke + CRL
// (checked with openssl), the shared-credential guard and writeBrokerFiles.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { code } from './fixtures/error-code.js';
import { createRevocationList, initCaDir, openCaDir, writeBrokerFiles, type CaDir } from '@outpost/pki';

let root: string;
let n = 0;
const fresh = (): string => join(root, `ca${n++}`);

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'outpost-cadir-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));


describe('initCaDir / openCaDir', () => {
  test('writes ca.pem, ca.key (0600, dir 0700), registry.json, crl.pem; no temp files left', async () => {
    const dir = fresh();
    const ca = await initCaDir(dir, { commonName: 'Store CA' });
    expect(readdirSync(dir).sort()).toEqual(['ca.key', 'ca.pem', 'crl.pem', 'registry.json']);
    expect(statSync(ca.keyPath).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(join(dir, 'registry.json'), 'utf8'))).toEqual({ version: 1, crlNumber: 1, devices: {}, keys: {}, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(await code(initCaDir(dir))).toBe('CA_EXISTS');
    expect(readFileSync(ca.certificatePath, 'utf8')).toBe(ca.certificatePem);
    expect(await code(openCaDir(join(root, 'missing')))).toBe('CA_NOT_FOUND');
    const again = await openCaDir(dir);
    expect(again.certificatePem).toBe(ca.certificatePem);
  });

  test('a lone ca.key is not overwritten either', async () => {
    const dir = fresh();
    await initCaDir(dir);
    rmSync(join(dir, 'ca.pem'));
    rmSync(join(dir, 'registry.json'));
    const key = readFileSync(join(dir, 'ca.key'), 'utf8');
    expect(await code(initCaDir(dir))).toBe('CA_EXISTS');
    expect(readFileSync(join(dir, 'ca.key'), 'utf8')).toBe(key);
  });
});

describe('registry', () => {
  let ca: CaDir;
  beforeAll(async () => {
    ca = await initCaDir(fresh());
  });

  test('records devices; refuses a duplicate id and any key certified before', async () => {
    const a = await ca.issueDevice({ deviceId: 'a' });
    expect(ca.device('a')).toMatchObject({ deviceId: 'a', revoked: false, previous: [], current: { serialNumber: a.serialNumber, spkiFingerprint: a.spkiFingerprint } });
    expect(await code(ca.issueDevice({ deviceId: 'a' }))).toBe('DEVICE_ALREADY_REGISTERED');
    expect(await code(ca.issueDevice({ deviceId: 'b', publicKeyPem: a.publicKeyPem }))).toBe('KEY_ALREADY_REGISTERED');
    expect(await code(ca.issueDevice({ deviceId: 'b', publicKeyPem: a.privateKeyPem! }))).toBe('KEY_ALREADY_REGISTERED');
    expect(await code(ca.issueDevice({ deviceId: 'a', renew: true, publicKeyPem: a.publicKeyPem }))).toBe('KEY_ALREADY_REGISTERED');
    expect(await code(ca.issueDevice({ deviceId: 'nobody', renew: true }))).toBe('INVALID_OPTION');
    expect(ca.device('b')).toBeUndefined();
    // Another handle on the same directory sees the registry.
    const other = await openCaDir(ca.dir);
    expect(await code(other.issueDevice({ deviceId: 'a' }))).toBe('DEVICE_ALREADY_REGISTERED');
  });

  test('a device registered before the id charset (e.g. "capteur-é") can still be revoked, not re-issued', async () => {
    const legacy = await initCaDir(fresh());
    const dev = await legacy.issueDevice({ deviceId: 'legacy' });
    // What an older release wrote: the same entry under an id outside today's charset.
    const path = join(legacy.dir, 'registry.json');
    const reg = JSON.parse(readFileSync(path, 'utf8')) as { devices: Record<string, unknown>; sha256?: string };
    reg.devices['capteur-é'] = reg.devices['legacy'];
    delete reg.devices['legacy'];
    delete reg.sha256; // older releases wrote no seal
    writeFileSync(path, JSON.stringify(reg));
    expect(await legacy.revokeDevice('capteur-é')).toEqual([dev.serialNumber]);
    await expect(legacy.issueDevice({ deviceId: 'capteur-é', renew: true })).rejects.toBeInstanceOf(RangeError);
    await expect(legacy.revokeDevice('ghost-é')).rejects.toBeInstanceOf(RangeError);
  });

  test('renew with a new key keeps the old certificate in history', async () => {
    const before = ca.device('a')!;
    const renewed = await ca.issueDevice({ deviceId: 'a', renew: true });
    const after = ca.device('a')!;
    expect(after.current.serialNumber).toBe(renewed.serialNumber);
    expect(after.previous.map((c) => c.serialNumber)).toEqual([before.current.serialNumber]);
    expect(ca.devices().map((d) => d.deviceId)).toEqual(['a']);
  });

  test('revoke: every certificate of the device lands in a CRL that openssl accepts', async () => {
    const c = await ca.issueDevice({ deviceId: 'c' });
    const serials = await ca.revokeDevice('a');
    expect(serials).toHaveLength(2);
    expect(ca.device('a')?.revoked).toBe(true);
    expect(await ca.revokeDevice('a')).toEqual([]);
    expect(await code(ca.revokeDevice('ghost'))).toBe('INVALID_OPTION');
    const crlText = spawnSync('openssl', ['crl', '-noout', '-text', '-CAfile', ca.certificatePath, '-in', ca.crlPath], { encoding: 'utf8' });
    expect(crlText.stderr).toContain('verify OK');
    for (const s of serials) expect(crlText.stdout.toUpperCase()).toContain(`SERIAL NUMBER: ${s.toUpperCase()}`);
    expect(crlText.stdout.toUpperCase()).not.toContain(c.serialNumber.toUpperCase());
    expect(crlText.stdout).toMatch(/CRL Number:\s*\n\s*3/);
    // Issuing again for a revoked id needs renew.
    expect(await code(ca.issueDevice({ deviceId: 'a' }))).toBe('DEVICE_ALREADY_REGISTERED');
    await ca.issueDevice({ deviceId: 'a', renew: true });
    expect(ca.device('a')?.revoked).toBe(false);
  });

  test('assertOwnCredential: SHARED_CREDENTIAL for a certificate presented under another id', async () => {
    const d = await ca.issueDevice({ deviceId: 'd' });
    expect(() => ca.assertOwnCredential('d', d.certificatePem)).not.toThrow();
    expect(await code(() => ca.assertOwnCredential('e', d.certificatePem))).toBe('SHARED_CREDENTIAL');
    const foreign = await (await initCaDir(fresh())).issueDevice({ deviceId: 'd' });
    expect(await code(() => ca.assertOwnCredential('d', foreign.certificatePem))).toBe('CERT_UNTRUSTED');
  });

  test('wrong types', async () => {
    await expect(initCaDir(1 as never)).rejects.toBeInstanceOf(TypeError);
    await expect(initCaDir('')).rejects.toBeInstanceOf(RangeError);
    await expect(initCaDir(fresh(), null as never)).rejects.toBeInstanceOf(TypeError);
    await expect(openCaDir(undefined as never)).rejects.toBeInstanceOf(TypeError);
    await expect(ca.issueDevice(null as never)).rejects.toBeInstanceOf(TypeError);
    await expect(ca.issueDevice({ deviceId: 'z', renew: 'yes' } as never)).rejects.toBeInstanceOf(TypeError);
    await expect(ca.issueDevice({ deviceId: '#' })).rejects.toBeInstanceOf(RangeError);
    await expect(ca.revokeDevice(5 as never)).rejects.toBeInstanceOf(TypeError);
    await expect(ca.revokeDevice('a', { now: 'now' } as never)).rejects.toBeInstanceOf(TypeError);
    expect(() => ca.assertOwnCredential('a', 7 as never)).toThrow(TypeError);
    await expect(createRevocationList({ ca: { certificatePem: ca.certificatePem, privateKeyPem: 'x' }, revoked: 'x' } as never)).rejects.toBeInstanceOf(TypeError);
    await expect(createRevocationList({ ca: { certificatePem: ca.certificatePem, privateKeyPem: 'x' }, revoked: [{ serialNumber: 'zz', revokedAt: new Date() }], crlNumber: 1 })).rejects.toBeInstanceOf(RangeError);
    await expect(writeBrokerFiles({ ca: {} as never, outDir: root, port: 8883 })).rejects.toBeInstanceOf(TypeError);
    await expect(writeBrokerFiles({ ca, outDir: join(root, 'b'), port: 0 })).rejects.toBeInstanceOf(RangeError);
    expect(existsSync(join(root, 'b'))).toBe(false);
  });
});

describe('writeBrokerFiles', () => {
  test('writes a complete broker directory; the key is 0600; the config points at absolute paths', async () => {
    const ca = await initCaDir(fresh());
    const out = join(root, 'broker');
    const f = await writeBrokerFiles({ ca, outDir: out, port: 18883, host: '127.0.0.1', apps: ['dashboard'] });
    expect(readdirSync(out).sort()).toEqual(['acl', 'ca.pem', 'crl.pem', 'mosquitto.conf', 'server.key', 'server.pem']);
    expect(statSync(f.serverKeyPath).mode & 0o777).toBe(0o600);
    const conf = readFileSync(f.confPath, 'utf8');
    expect(conf).toContain(`cafile ${join(out, 'ca.pem')}`);
    expect(conf).toContain(`crlfile ${join(out, 'crl.pem')}`);
    expect(conf).toContain(`acl_file ${join(out, 'acl')}`);
    const v = spawnSync('openssl', ['verify', '-purpose', 'sslserver', '-verify_ip', '127.0.0.1', '-CAfile', f.caPath, f.serverCertPath], { encoding: 'utf8' });
    expect(v.status).toBe(0);
    const noCrl = await writeBrokerFiles({ ca, outDir: join(root, 'broker2'), port: 18884, crl: false });
    expect(noCrl.crlPath).toBeUndefined();
    expect(readFileSync(noCrl.confPath, 'utf8')).not.toContain('crlfile');
  });
});

describe('TSDoc examples run (paths moved under a temp dir)', () => {
  test('initCaDir, openCaDir, issueDevice, issueServer, revokeDevice, assertOwnCredential, writeBrokerFiles, createRevocationList', async () => {
    const ca = await initCaDir(join(root, 'ex1'), { commonName: 'Acme Fleet CA' });
    expect(ca.certificatePath).toBe(join(root, 'ex1', 'ca.pem'));
    const opened = await openCaDir(join(root, 'ex1'));
    expect(opened.devices()).toEqual([]);
    const dev = await ca.issueDevice({ deviceId: 'sensor-0001' });
    expect(ca.device('sensor-0001')?.current.serialNumber === dev.serialNumber).toBe(true);
    const server = await ca.issueServer({ hosts: ['127.0.0.1', 'localhost'] });
    expect(server.hosts.length).toBe(2);
    await ca.issueDevice({ deviceId: 'lost-1' });
    expect((await ca.revokeDevice('lost-1')).length).toBe(1);
    const a = await ca.issueDevice({ deviceId: 'a' });
    ca.assertOwnCredential('a', a.certificatePem);
    const files = await writeBrokerFiles({ ca, outDir: join(root, 'ex-broker'), port: 8883, host: '127.0.0.1' });
    expect(files.confPath).toBe(join(root, 'ex-broker', 'mosquitto.conf'));
    const crlPem = await createRevocationList({ ca: { certificatePem: ca.certificatePem, privateKeyPem: readFileSync(ca.keyPath, 'utf8') }, crlNumber: 1, revoked: [{ serialNumber: dev.serialNumber, revokedAt: new Date() }] });
    expect(crlPem.startsWith('-----BEGIN X509 CRL-----')).toBe(true);
    writeFileSync(join(root, 'ex.crl'), crlPem);
  });
});
