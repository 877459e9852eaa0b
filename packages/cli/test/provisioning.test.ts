// `outpost pki provision-claim`, `outpost provisioning-service` and `outpost pki revoke --sighup
// --evict` end to end: run() with a capturing Io, real files, a real Mosquitto, and a device
// provisioning itself by claim with @outpost/device-sdk's provisionByClaim.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startMosquitto, type Mosquitto } from '@outpost/test-peers';
import { connectDevice, provisionByClaim } from '@outpost/device-sdk';
import { brokerConfig } from '@outpost/pki';
import { run } from '../src/run.js';

let dir: string;
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), cwd: dir });
  return { code, out, err };
}
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-cli-prov-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('outpost pki provision-claim', () => {
  test('--help, and a claim certificate with its ACL lines and nothing else', async () => {
    for (const p of [['pki', 'provision-claim'], ['provisioning-service'], ['pki', 'rotate']]) {
      const h = await cli(...p, '--help');
      expect(h.out).toMatch(/Usage:[\s\S]*Options:[\s\S]*Example:/);
    }
    expect((await cli('pki', 'init-ca', '--out', 'ca')).code).toBe(0);
    const r = await cli('pki', 'provision-claim', '--ca', 'ca', '--name', 'line-1', '--template', 'factory', '--out', 'factory', '--json');
    expect(r.err).toBe('');
    const j = JSON.parse(r.out) as { commonName: string; key: string; certificate: string; acl: string[] };
    expect(j.commonName).toBe('claim+line-1');
    expect(statSync(j.key).mode & 0o777).toBe(0o600);
    expect(j.acl).toContain('user claim+line-1');
    expect(j.acl).toContain('topic write $aws/certificates/create-from-csr/json');
    expect(j.acl.filter((l) => l.startsWith('pattern') || /readwrite|devices\//.test(l))).toEqual([]);
    expect((await cli('pki', 'provision-claim', '--ca', 'ca', '--name', 'bad/name', '--template', 'factory', '--out', 'factory')).code).not.toBe(0);
  });
});

describe('outpost provisioning-service and pki revoke --sighup --evict', () => {
  let broker: Mosquitto;
  afterAll(async () => broker?.stop());

  test('a device provisions itself through the service; revoke --sighup --evict cuts it off', async () => {
    const bdir = join(dir, 'broker');
    mkdirSync(bdir);
    expect((await cli('pki', 'issue-server', '--ca', 'ca', '--san', '127.0.0.1', '--out', 'broker')).code).toBe(0);
    expect((await cli('pki', 'issue-device', '--ca', 'ca', '--device-id', 'provisioning-service', '--out', 'svc')).code).toBe(0);
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'ca'), 0o755);
    chmodSync(join(dir, 'ca', 'crl.pem'), 0o644);
    broker = await startMosquitto({
      dir: bdir,
      config: (port) => {
        const cfg = brokerConfig({ caPath: join(bdir, 'ca.pem'), serverCertPath: join(bdir, 'server.pem'), serverKeyPath: join(bdir, 'server.key'), aclPath: join(bdir, 'acl'), crlPath: join(dir, 'ca', 'crl.pem'), port, host: '127.0.0.1', claims: { 'line-1': ['factory'] }, services: { 'provisioning-service': ['$aws/certificates/#', '$aws/provisioning-templates/#'] } });
        writeFileSync(join(bdir, 'acl'), cfg.acl);
        return cfg.mosquittoConf;
      },
    });
    const url = `mqtts://127.0.0.1:${broker.port}`;
    writeFileSync(join(dir, 'serials.txt'), '# allowed\nsensor-7\n');
    const service = cli('provisioning-service', '--ca', 'ca', '--broker', url, '--cert', 'svc/provisioning-service.pem', '--key', 'svc/provisioning-service.key', '--broker-ca', 'broker/ca.pem', '--template', 'factory', '--allow', 'serials.txt', '--duration', '60000', '--json');
    const claim = { cert: readFileSync(join(dir, 'factory/claim-line-1.pem'), 'utf8'), key: readFileSync(join(dir, 'factory/claim-line-1.key'), 'utf8') };
    const caPem = readFileSync(join(dir, 'ca/ca.pem'), 'utf8');
    const provision = async (deviceId: string) => {
      for (let i = 0; ; i++) {
        try {
          return await provisionByClaim({ url, claim, ca: caPem, deviceId, template: 'factory', dir: join(dir, 'devices'), timeoutMs: 5_000 });
        } catch (err) {
          if (i >= 20 || !/REQUEST_TIMEOUT|no answer/.test(String(err))) throw err; // the service may still be subscribing
        }
      }
    };
    const d = await provision('sensor-7');
    await expect(provision('sensor-8')).rejects.toThrow(/403 NotAllowed/);
    // outpost pki rotate, device side: not due for a new one-year certificate; --force rotates.
    const rotate = (...extra: string[]) => cli('pki', 'rotate', '--cert', 'devices/sensor-7.pem', '--key', 'devices/sensor-7.key', '--ca', 'broker/ca.pem', '--url', url, '--json', ...extra);
    expect(JSON.parse((await rotate()).out)).toMatchObject({ outcome: 'not-due', deviceId: 'sensor-7', certificateId: d.certificateId });
    const rot = await rotate('--force');
    expect(rot.err).toBe('');
    expect(JSON.parse(rot.out)).toMatchObject({ outcome: 'rotated', deviceId: 'sensor-7' });
    expect((JSON.parse(rot.out) as { certificateId: string }).certificateId).not.toBe(d.certificateId);
    const rotated = { cert: readFileSync(join(dir, 'devices/sensor-7.pem'), 'utf8'), key: readFileSync(join(dir, 'devices/sensor-7.key'), 'utf8') };
    expect(rotated.key).not.toBe(d.key);
    expect((await rotate('--margin', 'x')).code).toBe(2);
    const device = await connectDevice({ url, cert: rotated.cert, key: rotated.key, ca: caPem, reconnect: { initialDelayMs: 50, maxDelayMs: 200 } });
    let offline = false;
    device.on('offline', () => (offline = true));
    process.emit('SIGTERM'); // stops the service (untilStopped)
    const s = await service;
    expect(s.code).toBe(0);
    const lines = s.out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; op?: string; outcome?: string; deviceId?: string; errorCode?: string });
    expect(lines.filter((l) => l.type === 'request').map((l) => [l.op, l.outcome, l.deviceId, l.errorCode ?? null])).toEqual([
      ['create-from-csr', 'accepted', 'sensor-7', null],
      ['register', 'accepted', 'sensor-7', null],
      ['create-from-csr', 'rejected', 'sensor-8', 'NotAllowed'],
      ['rotate-csr', 'accepted', 'sensor-7', null],
      ['rotate-confirm', 'accepted', 'sensor-7', null],
    ]);
    const rv = await cli('pki', 'revoke', '--ca', 'ca', '--device-id', 'sensor-7', '--sighup', String(broker.pid()), '--evict', url, '--broker-ca', 'broker/ca.pem', '--json');
    expect(rv.err).toBe('');
    expect(JSON.parse(rv.out)).toMatchObject({ deviceId: 'sensor-7', reloaded: true, evicted: true });
    await new Promise<void>((r) => { const check = (): void => void (offline ? r() : setTimeout(check, 20)); check(); });
    const errors: string[] = [];
    device.on('error', (e) => errors.push(e.code));
    await new Promise<void>((r) => { const check = (): void => void (errors.length >= 2 ? r() : setTimeout(check, 20)); check(); });
    expect(device.connected).toBe(false);
    await device.close();
  });
});
