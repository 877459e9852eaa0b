// Fleet provisioning by claim through a real Mosquitto: the reference service, the device side
// (provisionByClaim), the claim's ACL, and the attacks of issue #19.
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { webcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type mqtt from 'mqtt';
import type * as X509 from '@peculiar/x509';
import { DeviceError, connectDevice, createDeviceCsr, provisionByClaim } from '@outpost/device-sdk';
import { provisioningTopics } from '@outpost/pki';
import { startProvisioningFleet, type ProvisioningFleet } from './fixtures/provisioning-fleet.js';

const ids = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);
const ALLOWED = [...ids('dev', 100), 'victim-1', 'twice-1', 'replay-1', 'flood-ok', 'dual-1', 'dual-2', 'san-1', 'ca-1', 'two-cn', 'mismatch-1', 'mismatch-2', 'retry-1'];
let crlChanges = 0;

let fleet: ProvisioningFleet;
let claims: Array<{ cert: string; key: string }>;
beforeAll(async () => {
  fleet = await startProvisioningFleet({
    claims: { 'line-1': ['factory'], 'line-2': ['factory'], 'line-3': ['factory'], 'line-4': ['factory'] },
    service: { templates: { factory: { deviceConfiguration: { site: 'plant-7' } } }, allow: ALLOWED, onCrlChanged: () => crlChanges++, createRateLimit: { ratePerSecond: 1, burst: 150 }, registerRateLimit: { ratePerSecond: 1, burst: 1000 } },
  });
  claims = await Promise.all(['line-1', 'line-2', 'line-3', 'line-4'].map((n) => fleet.claim(n)));
});
afterAll(async () => {
  await fleet?.stop();
});

const provision = (deviceId: string, claim = claims[0]!, extra: { parameters?: Record<string, string> } = {}) =>
  provisionByClaim({ url: fleet.url, claim, ca: fleet.ca.certificatePem, deviceId, template: 'factory', dir: join(fleet.dir, 'devices'), timeoutMs: 20_000, ...extra });

async function rejection(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(DeviceError);
  expect((err as DeviceError).code).toBe('PROVISIONING_REJECTED');
  return (err as DeviceError).message;
}

/** One request on a raw claim connection and its answer (accepted or rejected), matched by clientToken. */
async function request(c: mqtt.MqttClient, topic: string, body: object): Promise<{ ok: boolean; body: Record<string, unknown> }> {
  const clientToken = Math.random().toString(36).slice(2);
  await c.subscribeAsync([`${topic}/accepted`, `${topic}/rejected`], { qos: 1 });
  return new Promise((resolve) => {
    const on = (t: string, payload: Buffer): void => {
      const b = JSON.parse(payload.toString()) as Record<string, unknown>;
      if (b['clientToken'] !== clientToken) return;
      c.removeListener('message', on);
      resolve({ ok: t.endsWith('/accepted'), body: b });
    };
    c.on('message', on);
    void c.publishAsync(topic, JSON.stringify({ ...body, clientToken }), { qos: 1 });
  });
}

describe('provisioning by claim', () => {
  test('100 devices on 4 claims each end with their own certificate and connect with it', async () => {
    const all = ids('dev', 100);
    // One chain per claim: the broker binds the client id to the claim's CN, so a claim is one session at a time.
    const chains = claims.map(async (claim, k) => {
      const out = [];
      for (const id of all.filter((_, i) => i % claims.length === k)) out.push(await provision(id, claim));
      return out;
    });
    const devices = (await Promise.all(chains)).flat();
    expect(devices.map((d) => d.deviceId).sort()).toEqual(all);
    const spkis = new Set<string>();
    for (const d of devices) {
      const cert = new X509Certificate(readFileSync(d.certPath, 'utf8'));
      expect(cert.subject).toBe(`CN=${d.deviceId}`);
      expect(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(readFileSync(d.keyPath, 'utf8')))).toBe(true);
      expect(statSync(d.keyPath).mode & 0o777).toBe(0o600);
      expect(d.deviceConfiguration).toEqual({ site: 'plant-7' });
      spkis.add(cert.publicKey.export({ type: 'spki', format: 'der' }).toString('hex'));
    }
    expect(spkis.size).toBe(100);
    // Each connects with its own certificate and may use its own topics.
    for (const d of devices.slice(0, 100)) {
      const c = await connectDevice({ url: fleet.url, cert: d.cert, key: d.key, ca: fleet.ca.certificatePem });
      await c.publish(`devices/${d.deviceId}/telemetry`, '{"t":1}', { qos: 1 });
      await c.close();
    }
    // The registry holds them, fsynced before each answer.
    const reg = JSON.parse(readFileSync(join(fleet.ca.dir, 'registry.json'), 'utf8')) as { provisioning: { things: Record<string, unknown> } };
    for (const id of all) expect(reg.provisioning.things[id]).toMatchObject({ template: 'factory' });
    expect(fleet.events.filter((e) => e.outcome === 'accepted' && e.op === 'register').length).toBeGreaterThanOrEqual(100);
  });

  test('the claim cannot publish telemetry, read a device\'s topics, or reach anything but provisioning', async () => {
    const d = await provision('victim-1', claims[1]);
    const c = await fleet.raw(claims[1]!);
    const denied = async (topic: string): Promise<string> => c.publishAsync(topic, 'x', { qos: 1 }).then(() => 'published', (e: unknown) => String(e));
    // (Its own CN, claim+line-2, cannot even be a topic level: '+' is a wildcard.)
    expect(await denied('devices/claim-line-2/telemetry')).toMatch(/Not authorized|135/);
    expect(await denied('devices/line-2/telemetry')).toMatch(/Not authorized|135/);
    expect(await denied('devices/victim-1/telemetry')).toMatch(/Not authorized|135/);
    expect(await denied('$aws/things/victim-1/shadow/update')).toMatch(/Not authorized|135/);
    expect(await denied('$aws/provisioning-templates/other/provision/json')).toMatch(/Not authorized|135/);
    const got: string[] = [];
    c.on('message', (t) => got.push(t));
    await c.subscribeAsync(['devices/victim-1/#', '$aws/things/victim-1/#', '$aws/certificates/create-from-csr/json'], { qos: 1 });
    const dev = await connectDevice({ url: fleet.url, cert: d.cert, key: d.key, ca: fleet.ca.certificatePem });
    await dev.publish('devices/victim-1/telemetry', 'secret', { qos: 1 });
    await dev.close();
    // A round trip after the device's publish: had the broker delivered it, it would be here first.
    const r = await request(c, provisioningTopics('create-from-csr').request, { certificateSigningRequest: 'nope' });
    expect(r.ok).toBe(false);
    expect(got.filter((t) => !t.startsWith('$aws/certificates/create-from-csr/json/'))).toEqual([]);
    await c.endAsync();
  });

  test('the same id cannot be provisioned twice; a second claim request for it is refused', async () => {
    await provision('twice-1', claims[2]);
    expect(await rejection(provision('twice-1', claims[2]))).toMatch(/409 ResourceAlreadyExists/);
  });
});

test('a device whose answer was lost asks again: its pending certificate is revoked, a new one issued', async () => {
  const crlChangesBefore = crlChanges; // (the service also rewrites the CRL once when it starts)
  const c = await fleet.raw(claims[1]!);
  const { csrPem } = await createDeviceCsr('retry-1');
  const lost = await request(c, provisioningTopics('create-from-csr').request, { certificateSigningRequest: csrPem });
  await c.endAsync();
  expect(lost.ok).toBe(true); // … and the device never got to RegisterThing
  const oldSerial = new X509Certificate(String(lost.body['certificatePem'])).serialNumber.toLowerCase();
  const d = await provision('retry-1', claims[1]);
  expect(new X509Certificate(d.cert).serialNumber.toLowerCase()).not.toBe(oldSerial);
  expect(crlChanges).toBe(crlChangesBefore + 1);
  const crl = spawnSync('openssl', ['crl', '-in', fleet.ca.crlPath, '-noout', '-text'], { encoding: 'utf8' }).stdout.toLowerCase().replace(/[^0-9a-z\n]/g, '');
  expect(crl).toContain(oldSerial.replace(/^0+/, ''));
  // The old token was dropped with it.
  const c2 = await fleet.raw(claims[1]!);
  const reg = provisioningTopics('register', { template: 'factory' }).request;
  expect(await request(c2, reg, { certificateOwnershipToken: lost.body['certificateOwnershipToken'], parameters: { SerialNumber: 'retry-1' } })).toMatchObject({ ok: false, body: { errorCode: 'InvalidCertificateOwnershipToken' } });
  await c2.endAsync();
});

describe('attacks', () => {
  test('a CSR for an id the hook does not allow, or for another device\'s provisioned id', async () => {
    expect(await rejection(provision('not-on-the-list', claims[0]))).toMatch(/403 NotAllowed/);
    expect(await rejection(provision('dev-0000', claims[0]))).toMatch(/409 ResourceAlreadyExists/);
  });

  test('RegisterThing naming another device than the certificate', async () => {
    expect(await rejection(provision('mismatch-1', claims[0], { parameters: { SerialNumber: 'mismatch-2' } }))).toMatch(/403 ThingNameMismatch/);
  });

  test('CSRs with extra SANs, CA:TRUE or two CNs are refused', async () => {
    await createDeviceCsr('shim'); // loads @peculiar/x509's Reflect shim before the import below
    const x509 = await import('@peculiar/x509');
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const make = async (name: string, extensions: X509.Extension[]): Promise<string> => {
      const keys = (await webcrypto.subtle.generateKey(alg, false, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
      return (await x509.Pkcs10CertificateRequestGenerator.create({ name, keys, signingAlgorithm: alg, extensions }, webcrypto)).toString('pem');
    };
    const c = await fleet.raw(claims[3]!);
    const topic = provisioningTopics('create-from-csr').request;
    const san = await request(c, topic, { certificateSigningRequest: await make('CN=san-1', [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'broker.example.com' }])]) });
    const caTrue = await request(c, topic, { certificateSigningRequest: await make('CN=ca-1', [new x509.BasicConstraintsExtension(true, 0, true)]) });
    const twoCn = await request(c, topic, { certificateSigningRequest: await make('CN=two-cn, CN=victim-1', []) });
    for (const r of [san, caTrue, twoCn]) expect(r).toMatchObject({ ok: false, body: { statusCode: 400, errorCode: 'InvalidCsr' } });
    await c.endAsync();
    for (const id of ['san-1', 'ca-1', 'two-cn']) expect(fleet.ca.device(id)).toBeUndefined();
  });

  test('a replayed ownership token is refused, and CreateKeysAndCertificate is not offered', async () => {
    const c = await fleet.raw(claims[3]!);
    const { csrPem } = await createDeviceCsr('replay-1');
    const created = await request(c, provisioningTopics('create-from-csr').request, { certificateSigningRequest: csrPem });
    expect(created.ok).toBe(true);
    const reg = provisioningTopics('register', { template: 'factory' }).request;
    const body = { certificateOwnershipToken: created.body['certificateOwnershipToken'], parameters: { SerialNumber: 'replay-1' } };
    expect(await request(c, reg, body)).toMatchObject({ ok: true, body: { thingName: 'replay-1' } });
    expect(await request(c, reg, body)).toMatchObject({ ok: false, body: { statusCode: 400, errorCode: 'InvalidCertificateOwnershipToken' } });
    expect(await request(c, provisioningTopics('create-keys').request, {})).toMatchObject({ ok: false, body: { errorCode: 'CreateKeysAndCertificateNotSupported' } });
    await c.endAsync();
  });

  test('a claim used from two devices at once: the broker keeps one session, the other device is told', async () => {
    const first = await fleet.raw(claims[2]!);
    let firstClosed = false;
    first.on('close', () => (firstClosed = true));
    const d = await provision('dual-2', claims[2]); // the same claim CN takes the session over
    expect(d.deviceId).toBe('dual-2');
    await new Promise<void>((r) => (firstClosed ? r() : first.once('close', () => r())));
    expect(firstClosed).toBe(true);
    await first.endAsync(true);
  });

  test('a flood of create requests is rate-limited and the service stays up', async () => {
    const c = await fleet.raw(claims[3]!);
    const topic = provisioningTopics('create-from-csr').request;
    await c.subscribeAsync([`${topic}/accepted`, `${topic}/rejected`], { qos: 1 });
    let throttled = 0;
    let answers = 0;
    c.on('message', (_t, p) => {
      answers++;
      if ((JSON.parse(p.toString()) as { errorCode?: string }).errorCode === 'Throttling') throttled++;
    });
    const N = 400;
    for (let i = 0; i < N; i++) c.publish(topic, JSON.stringify({ certificateSigningRequest: 'x'.repeat(100) }), { qos: 0 });
    await new Promise<void>((resolve) => {
      const check = (): void => void (answers >= N ? resolve() : setTimeout(check, 20));
      check();
    });
    expect(throttled).toBeGreaterThan(N / 2); // the clock stood still: only what was left of the burst passed
    await c.endAsync();
    fleet.clock += 600_000; // ten minutes later the bucket is full again
    expect((await provision('flood-ok', claims[3])).deviceId).toBe('flood-ok');
  });
});
