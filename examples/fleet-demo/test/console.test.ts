import { expect, test } from 'vitest';
import { runDemo } from '../src/index.js';

test('--console: the login URL and token printed; the console shows the live fleet, then stops', async () => {
  let out = '';
  let err = '';
  const done = runDemo(['--chapter', 'secureConnect', '--console', '--console-for', '6000', '--json'], { stdout: (t) => { out += t; }, stderr: (t) => { err += t; } });
  while (!out.includes('"console"')) {
    await new Promise((r) => setTimeout(r, 100));
    if (err !== '') break;
  }
  expect(err).toBe('');
  const { console: login, token } = JSON.parse(out.split('\n').find((l) => l.includes('"console"')) as string) as { console: string; token: string };
  const r = await fetch(login, { method: 'POST', redirect: 'manual', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `token=${token}` });
  expect(r.status).toBe(303);
  const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0] as string;
  let ids: string[] = [];
  while (!ids.includes('line-6')) {
    await new Promise((res) => setTimeout(res, 200));
    const body = (await (await fetch(new URL('/api/devices', login), { headers: { cookie } })).json()) as { devices: Array<{ id: string }> };
    ids = body.devices.map((d) => d.id);
  }
  expect(ids).toEqual(expect.arrayContaining(['line-1', 'line-2', 'line-3', 'line-4', 'line-5', 'line-6']));
  expect(await done).toBe(0);
}, 60_000);

test('a filter the broker refuses (Aedes answers SUBACK 0x80) is counted, not fatal: the console runs without it', async () => {
  const { createFleetCA, issueDeviceCertificate, issueServerCertificate } = await import('@outpost/pki');
  const { startConsole } = await import('@outpost/console');
  const { startEmbeddedBroker } = await import('../src/broker.js');
  const ca = await createFleetCA({ commonName: 'Console Refusal CA' });
  const server = await issueServerCertificate({ ca, hosts: ['127.0.0.1'] });
  // ops-console is an application: it may read devices/… and $aws/things/…, not alerts/….
  const broker = await startEmbeddedBroker({ caPem: ca.certificatePem, certPem: server.certificatePem, keyPem: server.privateKeyPem, apps: ['ops-console'] });
  try {
    const id = await issueDeviceCertificate({ ca, deviceId: 'ops-console' });
    const con = await startConsole({ brokerUrl: broker.url, ca: ca.certificatePem, cert: id.certificatePem, key: id.privateKeyPem as string, clientId: 'ops-console', protocolVersion: 4, shadow: false });
    expect(con.stats().refusedSubscriptions).toEqual(['alerts/#']);
    await con.close();
  } finally {
    await broker.close();
  }
});
