// Issuing through an intermediate CA: the root allows one (pathlen:1), the intermediate signs
// devices (pathlen:0), device bundles carry the chain, openssl and Mosquitto verify it.
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { code } from './fixtures/error-code.js';
import { freePort, startMosquitto, tempDir } from '@outpost/test-peers';
import { DeviceError, checkDeviceCredentials } from '@outpost/device-sdk';
import { createFleetCA, createIntermediateCA, initCaDir, initIntermediateCaDir, issueDeviceCertificate, openCaDir, writeBrokerFiles, type FleetCA } from '@outpost/pki';

let tmp: { path: string; cleanup(): void };
let root: FleetCA;

function openssl(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('openssl', args, { cwd: tmp.path, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}
function file(name: string, text: string): string {
  writeFileSync(join(tmp.path, name), text);
  return name;
}

beforeAll(async () => {
  tmp = tempDir('outpost-inter-');
  chmodSync(tmp.path, 0o755); // started as root, Mosquitto reads the broker directory inside it as "mosquitto"
  root = await createFleetCA({ commonName: 'Root CA' });
});
afterAll(() => tmp.cleanup());

describe('createFleetCA / createIntermediateCA', () => {
  test('the root allows one intermediate (pathlen:1) unless told otherwise', async () => {
    expect(openssl(['x509', '-noout', '-text', '-in', file('root.pem', root.certificatePem)]).out).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:1/);
    const flat = await createFleetCA({ pathLength: 0 });
    expect(openssl(['x509', '-noout', '-text', '-in', file('flat.pem', flat.certificatePem)]).out).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    await expect(createFleetCA({ pathLength: -1 })).rejects.toBeInstanceOf(RangeError);
    await expect(createFleetCA({ pathLength: '1' } as never)).rejects.toBeInstanceOf(TypeError);
  });

  test('an intermediate: CA:TRUE pathlen:0, issued by the root, verified by openssl; devices below it carry the chain', async () => {
    const inter = await createIntermediateCA({ ca: root, commonName: 'Plant 7 CA' });
    const text = openssl(['x509', '-noout', '-text', '-in', file('inter.pem', inter.certificatePem)]).out;
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(text).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(text).toContain('Issuer: CN = Root CA');
    expect(text).toContain('Subject: CN = Plant 7 CA');
    expect(openssl(['verify', '-CAfile', 'root.pem', 'inter.pem']).out).toContain('inter.pem: OK');
    expect(inter.chainPem).toBe(inter.certificatePem);
    expect(inter.rootPem).toBe(root.certificatePem);
    expect(inter.notAfter.getTime()).toBeLessThanOrEqual(root.notAfter.getTime());

    const dev = await issueDeviceCertificate({ ca: inter, deviceId: 'plant7-0001' });
    expect(dev.chainPem).toBe(dev.certificatePem + inter.certificatePem);
    file('dev.pem', dev.certificatePem);
    expect(openssl(['verify', '-purpose', 'sslclient', '-CAfile', 'root.pem', '-untrusted', 'inter.pem', 'dev.pem']).out).toContain('dev.pem: OK');
    expect(checkDeviceCredentials({ cert: dev.chainPem, key: dev.privateKeyPem!, ca: root.certificatePem, clientId: 'plant7-0001' }).deviceId).toBe('plant7-0001');
    // Without the intermediate in the bundle nobody can build the chain.
    expect(await code(() => checkDeviceCredentials({ cert: dev.certificatePem, key: dev.privateKeyPem!, ca: root.certificatePem }), DeviceError)).toBe('CERT_UNTRUSTED');
    // A device issued by the root directly: its bundle is its certificate.
    const direct = await issueDeviceCertificate({ ca: root, deviceId: 'direct' });
    expect(direct.chainPem).toBe(direct.certificatePem);
  });

  test('no intermediate below an intermediate, nor below a pathlen:0 root', async () => {
    const inter = await createIntermediateCA({ ca: root });
    expect(await code(createIntermediateCA({ ca: inter }))).toBe('CERT_INVALID');
    expect(await code(createIntermediateCA({ ca: await createFleetCA({ pathLength: 0 }) }))).toBe('CERT_INVALID');
    await expect(createIntermediateCA({ ca: root, validityDays: 0 })).rejects.toBeInstanceOf(RangeError);
    await expect(createIntermediateCA(null as never)).rejects.toBeInstanceOf(TypeError);
  });
});

describe('an intermediate CA directory behind Mosquitto', () => {
  test('initIntermediateCaDir: chain.pem and root.pem; broker files trust the root; a device bundle connects, a revoked one does not', async () => {
    const rootDir = await initCaDir(join(tmp.path, 'root-ca'), { commonName: 'Root CA' });
    const interDir = await initIntermediateCaDir(join(tmp.path, 'plant-ca'), { parent: rootDir, commonName: 'Plant CA' });
    expect(readdirSync(interDir.dir).sort()).toEqual(['ca.key', 'ca.pem', 'chain.pem', 'crl.pem', 'registry.json', 'root.pem']);
    const reopened = await openCaDir(interDir.dir);
    expect(reopened.rootPem).toBe(rootDir.certificatePem);
    expect(reopened.chainPem).toBe(interDir.certificatePem);
    expect(rootDir.rootPem).toBe(rootDir.certificatePem);
    expect(rootDir.chainPem).toBe('');

    const ok = await reopened.issueDevice({ deviceId: 'plant-ok' });
    const gone = await reopened.issueDevice({ deviceId: 'plant-gone' });
    await reopened.revokeDevice('plant-gone');
    const brokerDir = join(tmp.path, 'broker');
    const port = await freePort();
    const files = await writeBrokerFiles({ ca: reopened, outDir: brokerDir, port, host: '127.0.0.1' });
    const broker = await startMosquitto({ dir: brokerDir, port, config: () => `log_type all\n${readFileSync(files.confPath, 'utf8')}` });
    try {
      expect(readFileSync(files.caPath, 'utf8')).toBe(rootDir.certificatePem);
      const pub = (id: string, bundle: string, key: string): { status: number | null; out: string } => {
        writeFileSync(join(tmp.path, `${id}.bundle.pem`), bundle);
        writeFileSync(join(tmp.path, `${id}.key`), key);
        const r = spawnSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), '--cafile', files.caPath, '--cert', join(tmp.path, `${id}.bundle.pem`), '--key', join(tmp.path, `${id}.key`), '-i', id, '-t', `devices/${id}/t`, '-m', 'x'], { encoding: 'utf8', timeout: 10_000 });
        return { status: r.status, out: `${r.stdout}${r.stderr}` };
      };
      const okRun = pub("plant-ok", ok.chainPem, ok.privateKeyPem!);
      expect(okRun.status, okRun.out + broker.log()).toBe(0);
      // spawnSync blocked the event loop: give the broker's log a moment to arrive.
      for (let i = 0; i < 200 && !/as plant-ok \(p2, c1, k60, u'plant-ok'\)/.test(broker.log()); i++) await new Promise((r) => setTimeout(r, 25));
      expect(broker.log()).toMatch(/as plant-ok \(p2, c1, k60, u'plant-ok'\)/);
      expect(pub('plant-gone', gone.chainPem, gone.privateKeyPem!).status).not.toBe(0);
      expect(pub('plant-nochain', ok.certificatePem, ok.privateKeyPem!).status).not.toBe(0);
    } finally {
      await broker.stop();
    }
  });
});
