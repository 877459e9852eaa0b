// `outpost pki …` end to end: run() with a capturing Io, real files, openssl as the X.509
// cross-check, and Mosquitto started from the generated config (including a revoked device).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { canConnect, freePort } from '@outpost/test-peers';
import { run } from '../src/run.js';
import { endlessFifo, killEndlessWriters } from './endless-fifo.js';

let dir: string;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), cwd: dir });
  return { code, out, err };
}
function openssl(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-cli-pki-'));
});
afterAll(() => {
  killEndlessWriters();
  rmSync(dir, { recursive: true, force: true });
});

describe('outpost pki', () => {
  test('every subcommand has --help with usage, options and an example', async () => {
    for (const sub of ['init-ca', 'init-intermediate', 'issue-device', 'issue-server', 'broker-config', 'revoke', 'list']) {
      const r = await cli('pki', sub, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^Usage: outpost pki ${sub}`));
      expect(r.out).toContain('Options:');
      expect(r.out).toContain(`Example:\n  outpost pki ${sub}`);
    }
    const group = await cli('pki', '--help');
    expect(group.out).toContain('pki issue-device');
  });

  test('init-ca writes the CA (key 0600), refuses to overwrite it', async () => {
    const r = await cli('pki', 'init-ca', '--out', 'ca', '--cn', 'CLI Fleet CA', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { certificate: string; key: string; subject: string; fingerprint: string };
    expect(j.subject).toBe('CN=CLI Fleet CA');
    expect(statSync(j.key).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'ca')).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(dir, 'ca')).sort()).toEqual(['ca.key', 'ca.pem', 'crl.pem', 'registry.json']);
    expect(openssl('x509', '-noout', '-fingerprint', '-sha256', '-in', 'ca/ca.pem').out).toContain(j.fingerprint);
    expect(openssl('crl', '-noout', '-CAfile', 'ca/ca.pem', '-in', 'ca/crl.pem').out).toContain('verify OK');
    const again = await cli('pki', 'init-ca', '--out', 'ca');
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/^outpost: .*refusing to overwrite a CA.*\[CA_EXISTS\]\n$/);
    expect(readFileSync(join(dir, 'ca/ca.pem'), 'utf8')).toContain('BEGIN CERTIFICATE');
  });

  test('issue-device: unique key + certificate, CN = device id, openssl verifies the chain', async () => {
    const r = await cli('pki', 'issue-device', '--ca', 'ca', '--device-id', 'sensor-0001', '--out', 'devices', '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { certificate: string; key: string; serialNumber: string };
    expect(statSync(j.key).mode & 0o777).toBe(0o600);
    expect(openssl('verify', '-purpose', 'sslclient', '-CAfile', 'ca/ca.pem', 'devices/sensor-0001.pem').out).toContain('devices/sensor-0001.pem: OK');
    expect(openssl('x509', '-noout', '-subject', '-in', 'devices/sensor-0001.pem').out).toContain('subject=CN = sensor-0001');
    // The key written is the certified one.
    const certPub = openssl('x509', '-noout', '-pubkey', '-in', 'devices/sensor-0001.pem').out;
    const keyPub = openssl('pkey', '-pubout', '-in', 'devices/sensor-0001.key').out;
    expect(certPub).toBe(keyPub);
    const b = JSON.parse((await cli('pki', 'issue-device', '--ca', 'ca', '--device-id', 'sensor-0002', '--out', 'devices', '--json')).out) as { spkiFingerprint: string };
    expect(b.spkiFingerprint).not.toBe(JSON.parse(r.out).spkiFingerprint);
    const list = JSON.parse((await cli('pki', 'list', '--ca', 'ca', '--json')).out) as { devices: { deviceId: string }[] };
    expect(list.devices.map((d) => d.deviceId)).toEqual(['sensor-0001', 'sensor-0002']);
  });

  test('a second certificate for a registered key or device id is refused; --renew needs a new key', async () => {
    openssl('pkey', '-pubout', '-in', 'devices/sensor-0001.key', '-out', 'sensor-0001.pub');
    const dupKey = await cli('pki', 'issue-device', '--ca', 'ca', '--device-id', 'clone-1', '--key', 'sensor-0001.pub', '--out', 'clones');
    expect(dupKey.code).toBe(1);
    expect(dupKey.err).toMatch(/already certified for device "sensor-0001".*\[KEY_ALREADY_REGISTERED\]/);
    expect(existsSync(join(dir, 'clones/clone-1.pem'))).toBe(false);

    const dupId = await cli('pki', 'issue-device', '--ca', 'ca', '--device-id', 'sensor-0001', '--out', 'devices2');
    expect(dupId.code).toBe(1);
    expect(dupId.err).toContain('[DEVICE_ALREADY_REGISTERED]');
    expect(dupId.err).toContain('give --renew'); // the flag, not the library's option name

    const sameKeyRenew = await cli('pki', 'issue-device', '--ca', 'ca', '--device-id', 'sensor-0001', '--key', 'sensor-0001.pub', '--renew', '--out', 'devices2');
    expect(sameKeyRenew.err).toContain('[KEY_ALREADY_REGISTERED]');

    const renewed = await cli('pki', 'issue-device', '--ca', 'ca', '--device-id', 'sensor-0001', '--renew', '--out', 'devices2', '--json');
    expect(renewed.code).toBe(0);
    expect(JSON.parse(renewed.out).renewed).toBe(true);
    const dev = (JSON.parse((await cli('pki', 'list', '--ca', 'ca', '--json')).out) as { devices: { deviceId: string; previous: unknown[] }[] }).devices.find((d) => d.deviceId === 'sensor-0001');
    expect(dev?.previous).toHaveLength(1);
  });

  test('issue-device with a device-made key (--key) or CSR (--csr): no private key written', async () => {
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'own.key');
    openssl('pkey', '-pubout', '-in', 'own.key', '-out', 'own.pub');
    const r = await cli('pki', 'issue-device', '--ca', 'ca', '--device-id', 'byok-1', '--key', 'own.pub', '--out', 'byok', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).key).toBeNull();
    expect(existsSync(join(dir, 'byok/byok-1.key'))).toBe(false);
    openssl('req', '-new', '-key', 'own.key', '-subj', '/CN=ignored', '-out', 'own.csr');
    const c = await cli('pki', 'issue-device', '--ca', 'ca', '--device-id', 'csr-1', '--csr', 'own.csr', '--out', 'byok');
    expect(c.err).toContain('[KEY_ALREADY_REGISTERED]'); // same key as byok-1
    openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'csr2.key', '-subj', '/CN=x', '-out', 'csr2.csr');
    expect((await cli('pki', 'issue-device', '--ca', 'ca', '--device-id', 'csr-2', '--csr', 'csr2.csr', '--out', 'byok')).code).toBe(0);
    expect(openssl('verify', '-CAfile', 'ca/ca.pem', 'byok/byok-1.pem', 'byok/csr-2.pem').status).toBe(0);
  });

  test('--key and --csr are read with a size cap: /dev/zero, an endless FIFO, a missing file fail with one line, exit 1', async () => {
    const issue = (flag: string, file: string): Promise<{ code: number; out: string; err: string }> =>
      cli('pki', 'issue-device', '--ca', 'ca', '--device-id', 'capped-1', flag, file, '--out', 'capped');
    const runs: Array<[string, { code: number; out: string; err: string }, string]> = [
      ['--csr FIFO', await issue('--csr', endlessFifo(dir, 'csr.fifo')), 'FILE_TOO_LARGE'],
      ['--key /dev/zero', await issue('--key', '/dev/zero'), 'FILE_TOO_LARGE'],
      ['--key missing', await issue('--key', 'missing.pub'), 'FILE_NOT_FOUND'],
    ];
    for (const [what, r, code] of runs) {
      expect(r.code, what).toBe(1);
      expect(r.err, what).toMatch(new RegExp(`^outpost: [^\n]*\\[${code}\\]\n$`));
    }
    expect(existsSync(join(dir, 'capped/capped-1.pem'))).toBe(false);
  });

  test('bad input: one line on stderr, non-zero exit, JSON errors with --json', async () => {
    const cases: [string[], number, RegExp][] = [
      [['pki', 'issue-device', '--ca', 'ca', '--out', 'x'], 2, /missing required option --device-id/],
      [['pki', 'issue-device', '--ca', 'ca', '--device-id', 'a+b', '--out', 'x'], 1, /not allowed in a device id/],
      [['pki', 'issue-device', '--ca', 'ca', '--device-id', 'a', '--out', 'x', '--days', 'ten'], 2, /--days: expected an integer/],
      [['pki', 'issue-device', '--ca', 'nope', '--device-id', 'a', '--out', 'x'], 1, /no CA in .*\[CA_NOT_FOUND\]/],
      [['pki', 'init-ca', '--out', 'ca2', '--algorithm', 'dsa'], 2, /--algorithm: expected ecdsa-p256 or rsa-2048/],
      [['pki', 'init-ca', '--out', 'ca2', '--bogus'], 2, /Unknown option '--bogus'/],
      [['pki', 'issue-server', '--ca', 'ca', '--out', 'x'], 2, /missing required option --san/],
      [['pki', 'issue-server', '--ca', 'ca', '--san', 'bad host', '--out', 'x'], 1, /neither an IP address nor a DNS name/],
      [['pki', 'broker-config', '--ca', 'ca', '--out', 'x', '--port', '70000'], 2, /--port: expected an integer from 1 to 65535/],
      [['pki', 'revoke', '--ca', 'ca', '--device-id', 'ghost'], 1, /not registered/],
      [['pki', 'issue-device', '--ca', 'ca', '--device-id', 'a b', '--out', 'x'], 1, /" " at offset 1 is not allowed in a device id/],
      [['pki', 'init-intermediate', '--out', 'x'], 2, /missing required option --ca/],
    ];
    for (const [argv, code, re] of cases) {
      const r = await cli(...argv);
      expect({ argv, code: r.code }).toEqual({ argv, code });
      expect(r.err).toMatch(re);
      expect(r.err.trimEnd().split('\n')).toHaveLength(1);
      expect(r.out).toBe('');
    }
    const j = await cli('pki', 'issue-device', '--ca', 'nope', '--device-id', 'a', '--out', 'x', '--json');
    expect(JSON.parse(j.out)).toMatchObject({ error: { code: 'CA_NOT_FOUND' } });
    expect(existsSync(join(dir, 'ca2'))).toBe(false);
  });

  test('issue-device issues a batch with one CA load: repeated --device-id and --ids-from', async () => {
    writeFileSync(join(dir, 'ids.txt'), '# line 7\nbatch-3\n\nbatch-4\n');
    const r = await cli('pki', 'issue-device', '--ca', 'ca', '--device-id', 'batch-1', '--device-id', 'batch-2', '--ids-from', 'ids.txt', '--out', 'batch', '--json');
    expect(r.code, r.err).toBe(0);
    const issued = (JSON.parse(r.out) as { issued: Array<{ deviceId: string; key: string }> }).issued;
    expect(issued.map((d) => d.deviceId)).toEqual(['batch-1', 'batch-2', 'batch-3', 'batch-4']);
    for (const d of issued) expect(statSync(d.key).mode & 0o777).toBe(0o600);
    const list = JSON.parse((await cli('pki', 'list', '--ca', 'ca', '--json')).out) as { devices: Array<{ deviceId: string }> };
    expect(list.devices.map((d) => d.deviceId)).toEqual(expect.arrayContaining(['batch-1', 'batch-4']));
    // --key belongs to one device; a repeated id and an id already issued are refused before any write
    expect((await cli('pki', 'issue-device', '--ca', 'ca', '--device-id', 'b-5', '--device-id', 'b-6', '--key', 'batch/batch-1.key', '--out', 'batch2')).code).toBe(2);
    expect((await cli('pki', 'issue-device', '--ca', 'ca', '--device-id', 'b-7', '--device-id', 'b-7', '--out', 'batch2')).code).toBe(2);
    expect((await cli('pki', 'issue-device', '--ca', 'ca', '--out', 'batch2')).err).toMatch(/missing required option --device-id/);
  });

  test('issue-server: SANs and serverAuth; refuses to overwrite server.key', async () => {
    const r = await cli('pki', 'issue-server', '--ca', 'ca', '--san', '127.0.0.1', '--san', 'localhost', '--out', 'srv', '--json');
    expect(r.code).toBe(0);
    expect(openssl('verify', '-purpose', 'sslserver', '-verify_ip', '127.0.0.1', '-CAfile', 'ca/ca.pem', 'srv/server.pem').status).toBe(0);
    expect(statSync(join(dir, 'srv/server.key')).mode & 0o777).toBe(0o600);
    const again = await cli('pki', 'issue-server', '--ca', 'ca', '--san', 'localhost', '--out', 'srv');
    expect(again.code).toBe(1);
    expect(again.err).toContain('[FILE_EXISTS]');
  });
});


describe('outpost pki broker-config with the real Mosquitto', () => {
  let broker: ChildProcess | undefined;
  let log = '';
  const stop = async (): Promise<void> => {
    if (broker !== undefined && broker.exitCode === null) {
      const exited = new Promise((r) => broker!.once('exit', r));
      broker.kill('SIGTERM');
      await exited;
    }
    broker = undefined;
  };
  const start = async (port: number): Promise<void> => {
    // Started as root, Mosquitto drops to "mosquitto" before reading its files: broker-config,
    // run as root, handed them to that user, so the printed command works as is (the test's
    // own directory is made traversable; the CA directory stays 0700).
    if (process.getuid?.() === 0) chmodSync(dir, 0o755);
    log = '';
    broker = spawn('/usr/sbin/mosquitto', ['-c', join(dir, 'broker', 'mosquitto.conf'), '-v']);
    broker.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    broker.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    const deadline = Date.now() + 10_000;
    while (!(await canConnect(port))) {
      if (broker.exitCode !== null) throw new Error(`mosquitto exited ${broker.exitCode}: ${log}`);
      if (Date.now() > deadline) throw new Error('mosquitto did not listen');
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const pub = (port: number, id: string, certDir: string): number | null =>
    spawnSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '--cafile', join(dir, 'ca/ca.pem'), '--cert', join(dir, certDir, `${id}.pem`), '--key', join(dir, certDir, `${id}.key`), '-i', id, '-t', `devices/${id}/x`, '-m', 'hi'], { timeout: 10_000 }).status;

  afterAll(stop);

  test('config loads, an issued device connects; after revoke + broker-config again, it is refused', async () => {
    await cli('pki', 'init-ca', '--out', 'ca');
    await cli('pki', 'issue-device', '--ca', 'ca', '--device-id', 'live-1', '--out', 'live');
    await cli('pki', 'issue-device', '--ca', 'ca', '--device-id', 'live-2', '--out', 'live');
    const port = await freePort();
    const r = await cli('pki', 'broker-config', '--ca', 'ca', '--out', 'broker', '--port', String(port), '--app', 'dashboard', '--json');
    expect(r.err).toBe('');
    const j = JSON.parse(r.out) as { confPath: string; command: string };
    expect(j.command).toBe(`mosquitto -c ${j.confPath}`);
    expect(readFileSync(j.confPath, 'utf8')).toContain(`listener ${port} 127.0.0.1`);
    expect(readFileSync(join(dir, 'broker/acl'), 'utf8')).toContain('user dashboard');
    if (process.getuid?.() === 0) {
      const uid = Number(spawnSync('id', ['-u', 'mosquitto'], { encoding: 'utf8' }).stdout);
      for (const f of ['server.key', 'acl', 'crl.pem']) expect(statSync(join(dir, 'broker', f)).uid, f).toBe(uid);
      expect(statSync(join(dir, 'broker', 'server.key')).mode & 0o777).toBe(0o600);
    }
    await start(port);
    expect(pub(port, 'live-1', 'live')).toBe(0);
    expect(pub(port, 'live-2', 'live')).toBe(0);

    const rv = await cli('pki', 'revoke', '--ca', 'ca', '--device-id', 'live-1', '--json');
    expect(rv.code).toBe(0);
    expect(JSON.parse(rv.out).revoked).toHaveLength(1);
    expect(openssl('verify', '-crl_check', '-CAfile', 'ca/ca.pem', '-CRLfile', 'ca/crl.pem', 'live/live-1.pem').out).toContain('certificate revoked');
    expect(openssl('verify', '-crl_check', '-CAfile', 'ca/ca.pem', '-CRLfile', 'ca/crl.pem', 'live/live-2.pem').status).toBe(0);

    await stop();
    writeFileSync(join(dir, 'marker'), ''); // broker-config replaces its files in place
    expect((await cli('pki', 'broker-config', '--ca', 'ca', '--out', 'broker', '--port', String(port))).code).toBe(0);
    await start(port);
    expect(pub(port, 'live-1', 'live')).not.toBe(0);
    expect(pub(port, 'live-2', 'live')).toBe(0);
    await new Promise((r) => setTimeout(r, 100));
    // Mosquitto logs only "certificate verify failed"; openssl above showed the reason is the CRL.
    expect(log).toMatch(/certificate verify failed/);
  });

  test('init-intermediate: devices get a bundle (device + intermediate) and the root as ca.pem; the broker verifies the chain', async () => {
    await stop();
    expect((await cli('pki', 'init-ca', '--out', 'root')).code).toBe(0);
    const r = await cli('pki', 'init-intermediate', '--ca', 'root', '--out', 'plant', '--cn', 'Plant CA', '--json');
    expect(r.err).toBe('');
    expect(JSON.parse(r.out)).toMatchObject({ subject: 'CN=Plant CA', issuer: 'CN=Outpost Fleet CA' });
    expect(readdirSync(join(dir, 'plant')).sort()).toEqual(['ca.key', 'ca.pem', 'chain.pem', 'crl.pem', 'registry.json', 'root.pem']);
    expect(statSync(join(dir, 'plant/ca.key')).mode & 0o777).toBe(0o600);
    expect((await cli('pki', 'init-intermediate', '--ca', 'plant', '--out', 'sub')).err).toMatch(/pathlen:0.*\[CERT_INVALID\]/);
    expect((await cli('pki', 'issue-device', '--ca', 'plant', '--device-id', 'plant-1', '--out', 'plant-devs')).code).toBe(0);
    const bundle = readFileSync(join(dir, 'plant-devs/plant-1.pem'), 'utf8');
    expect(bundle.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(readFileSync(join(dir, 'plant-devs/ca.pem'), 'utf8')).toBe(readFileSync(join(dir, 'root/ca.pem'), 'utf8'));
    expect(openssl('verify', '-purpose', 'sslclient', '-CAfile', 'plant-devs/ca.pem', '-untrusted', 'plant-devs/plant-1.pem', 'plant-devs/plant-1.pem').out).toContain(': OK');

    const port = await freePort();
    expect((await cli('pki', 'broker-config', '--ca', 'plant', '--out', 'broker', '--port', String(port))).code).toBe(0);
    expect(readFileSync(join(dir, 'broker/ca.pem'), 'utf8')).toBe(readFileSync(join(dir, 'root/ca.pem'), 'utf8'));
    await start(port);
    const status = spawnSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '--cafile', join(dir, 'plant-devs/ca.pem'), '--cert', join(dir, 'plant-devs/plant-1.pem'), '--key', join(dir, 'plant-devs/plant-1.key'), '-i', 'plant-1', '-t', 'devices/plant-1/x', '-m', 'hi'], { timeout: 10_000 }).status;
    expect(status).toBe(0);
    await stop();
  });
});
