// The provisioning service killed with SIGKILL while devices provision (the `outpost
// provisioning-service` CLI in a child process): every device that got its RegisterThing
// accepted is in the registry after the crash, the registry still parses, and a restarted
// service provisions on. (A process crash: the page cache survives it. The write protocol's
// power-cut safety — temporary file, fsync, rename, directory fsync, then the answer — is not
// exercised by a crash-point harness here.)
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startMosquitto, tempDir, type Mosquitto } from '@outpost/test-peers';
import { connectDevice, provisionByClaim } from '@outpost/device-sdk';
import { brokerConfig, initCaDir, issueClaimCertificate, type CaDir } from '@outpost/pki';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const tmp = tempDir('outpost-prov-kill-');
let ca: CaDir;
let broker: Mosquitto;
let url: string;
const claims: Array<{ cert: string; key: string }> = [];
const ids = Array.from({ length: 400 }, (_, i) => `k-${String(i).padStart(4, '0')}`);

beforeAll(async () => {
  ca = await initCaDir(join(tmp.path, 'ca'));
  const dir = join(tmp.path, 'broker');
  mkdirSync(dir);
  chmodSync(tmp.path, 0o755);
  const server = await ca.issueServer({ hosts: ['127.0.0.1'] });
  const paths = { caPath: join(dir, 'ca.pem'), serverCertPath: join(dir, 'server.pem'), serverKeyPath: join(dir, 'server.key'), aclPath: join(dir, 'acl') };
  writeFileSync(paths.caPath, ca.certificatePem);
  writeFileSync(paths.serverCertPath, server.chainPem);
  writeFileSync(paths.serverKeyPath, server.privateKeyPem!, { mode: 0o600 });
  const names = ['a', 'b', 'c', 'd'];
  broker = await startMosquitto({
    dir,
    config: (port) => {
      const c = brokerConfig({ ...paths, port, host: '127.0.0.1', claims: Object.fromEntries(names.map((n) => [n, ['factory']])), services: { 'provisioning-service': ['$aws/certificates/#', '$aws/provisioning-templates/#'] } });
      writeFileSync(paths.aclPath, c.acl);
      return c.mosquittoConf;
    },
  });
  url = `mqtts://127.0.0.1:${broker.port}`;
  const svc = await ca.issueDevice({ deviceId: 'provisioning-service' });
  writeFileSync(join(tmp.path, 'svc.pem'), svc.chainPem);
  writeFileSync(join(tmp.path, 'svc.key'), svc.privateKeyPem!, { mode: 0o600 });
  writeFileSync(join(tmp.path, 'serials.txt'), ids.join('\n') + '\n');
  for (const n of names) {
    const c = await issueClaimCertificate({ ca: await ca.credentials(), name: n });
    claims.push({ cert: c.chainPem, key: c.privateKeyPem! });
  }
});
afterAll(async () => {
  await broker?.stop();
  tmp.cleanup();
});

function startService(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--conditions=@outpost/source', '--import', 'tsx', join(ROOT, 'packages/cli/src/main.ts'), 'provisioning-service',
    '--ca', join(tmp.path, 'ca'), '--broker', url, '--cert', join(tmp.path, 'svc.pem'), '--key', join(tmp.path, 'svc.key'), '--broker-ca', join(tmp.path, 'broker', 'ca.pem'),
    '--template', 'factory', '--allow', join(tmp.path, 'serials.txt'), '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"type":"listening"')) resolve(child);
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`service exited ${code}: ${out}`)));
  });
}

test('SIGKILL mid-provisioning loses no acknowledged device; a restarted service goes on', async () => {
  let service = await startService();
  const acknowledged: string[] = [];
  let next = 0;
  let stop = false;
  const chain = async (claim: { cert: string; key: string }): Promise<void> => {
    while (!stop && next < ids.length) {
      const id = ids[next++]!;
      try {
        const d = await provisionByClaim({ url, claim, ca: ca.certificatePem, deviceId: id, template: 'factory', dir: join(tmp.path, 'devices'), timeoutMs: 3_000 });
        acknowledged.push(d.deviceId);
      } catch {
        // in flight at the crash, or refused after it: not acknowledged
      }
    }
  };
  const chains = claims.map((c) => chain(c));
  await new Promise<void>((r) => { const check = (): void => void (acknowledged.length >= 30 ? r() : setTimeout(check, 10)); check(); });
  service.kill('SIGKILL');
  await new Promise((r) => service.once('exit', r));
  const atCrash = acknowledged.length;
  stop = true;
  await Promise.all(chains);
  // Everything acknowledged before (and, trivially, after) the crash is in the registry.
  const reg = JSON.parse(readFileSync(join(tmp.path, 'ca', 'registry.json'), 'utf8')) as { provisioning: { things: Record<string, { template: string }> } };
  expect(atCrash).toBeGreaterThanOrEqual(30);
  for (const id of acknowledged) expect(reg.provisioning.things[id]).toMatchObject({ template: 'factory' });
  // A restarted service provisions more, and a device acknowledged before the crash connects.
  service = await startService();
  stop = false;
  const before = acknowledged.length;
  next = ids.length - 5;
  await chain(claims[0]!);
  expect(acknowledged.length).toBe(before + 5);
  const first = acknowledged[0]!;
  const dev = await connectDevice({ url, cert: readFileSync(join(tmp.path, 'devices', `${first}.pem`), 'utf8'), key: readFileSync(join(tmp.path, 'devices', `${first}.key`), 'utf8'), ca: ca.certificatePem });
  await dev.publish(`devices/${first}/telemetry`, 'ok', { qos: 1 });
  await dev.close();
  service.kill('SIGTERM');
  await new Promise((r) => service.once('exit', r));
});
