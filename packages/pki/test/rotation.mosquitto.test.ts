// Certificate rotation before expiry through a real Mosquitto (CRL re-read on SIGHUP): the device
// (rotateCertificate) asks over its current identity, confirms from a connection made with the new
// certificate, and the service revokes the old one; the per-device topics confine a device to its
// own rotation; a rotation interrupted by a broker restart finishes on the next run.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import mqtt from 'mqtt';
import { DeviceError, createDeviceCsr, nodeCredentialFileSystem, provisionByClaim, rotateCertificate, rotationTopics, type CredentialFileSystem, type ProvisionedDevice, type RotationResult } from '@outpost/device-sdk';
import { startProvisioningFleet, type ProvisioningFleet } from './fixtures/provisioning-fleet.js';

let fleet: ProvisioningFleet;
let claim: { cert: string; key: string };
let sighups = 0;
const ALLOWED = ['rot-1', 'rot-2', 'rot-3', 'rot-4', 'rot-5'];
beforeAll(async () => {
  fleet = await startProvisioningFleet({
    crl: true,
    claims: { 'line-1': ['factory'] },
    service: {
      templates: { factory: {} }, allow: ALLOWED,
      onCrlChanged: () => {
        sighups++;
        const pid = fleet?.broker.pid(); // (also called once at start, before fleet is assigned)
        if (pid !== undefined) process.kill(pid, 'SIGHUP'); // Mosquitto re-reads crl.pem
      },
    },
  });
  claim = await fleet.claim('line-1');
});
afterAll(async () => {
  await fleet?.stop();
});

const devDir = (): string => join(fleet.dir, 'devices');
const provision = (deviceId: string): Promise<ProvisionedDevice> =>
  provisionByClaim({ url: fleet.url, claim, ca: fleet.ca.certificatePem, deviceId, template: 'factory', dir: devDir(), timeoutMs: 20_000 });
const rotate = (deviceId: string, extra: { force?: boolean; now?: () => number; fs?: CredentialFileSystem; timeoutMs?: number } = {}) =>
  rotateCertificate({ url: fleet.url, ca: fleet.ca.certificatePem, dir: devDir(), deviceId, timeoutMs: 10_000, ...extra });

/** Whether Mosquitto accepts a session with this pair (a CRL-revoked certificate fails the handshake). */
async function connects(cert: string, key: string, clientId: string): Promise<boolean> {
  const c = await mqtt.connectAsync(fleet.url, { cert, key, ca: fleet.ca.certificatePem, protocolVersion: 5, clientId, reconnectPeriod: 0, connectTimeout: 10_000 }).catch(() => undefined);
  if (c === undefined) return false;
  await c.endAsync(true);
  return true;
}

/** Waits until Mosquitto refuses the pair: SIGHUP is asynchronous (the broker re-reads the CRL in its loop). */
async function refusedSoon(cert: string, key: string, clientId: string): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if (!(await connects(cert, key, clientId))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe('rotation', () => {
  test('not due: nothing changes; forced or due: a new key and certificate, the old one revoked after the confirmation', async () => {
    const d = await provision('rot-1');
    const first = await rotate('rot-1');
    expect(first.outcome).toBe('not-due');
    expect(first.certificateId).toBe(d.certificateId);
    // 340 days later the one-year certificate is within the 30-day margin.
    const later = await rotate('rot-1', { now: () => Date.now() + 340 * 86_400_000 });
    expect(later.outcome).toBe('rotated');
    expect(later.certificateId).not.toBe(d.certificateId);
    expect(later.key).not.toBe(d.key);
    const x = new X509Certificate(readFileSync(later.certPath, 'utf8'));
    expect(x.subject).toBe('CN=rot-1');
    expect(readFileSync(later.keyPath, 'utf8')).toBe(later.key);
    // The registry: the new certificate is current, the old one revoked; the CRL reached the broker.
    const reg = fleet.ca.device('rot-1')!;
    expect(reg.current.fingerprint.replaceAll(':', '').toLowerCase()).toBe(later.certificateId);
    expect(reg.previous.find((c) => c.fingerprint.replaceAll(':', '').toLowerCase() === d.certificateId)?.revokedAt).toBeDefined();
    expect(await connects(later.cert, later.key, 'rot-1')).toBe(true);
    expect(await refusedSoon(d.cert, d.key, 'rot-1')).toBe(true);
    expect(fleet.events.filter((e) => e.deviceId === 'rot-1' && e.outcome === 'accepted').map((e) => e.op)).toEqual(['create-from-csr', 'register', 'rotate-csr', 'rotate-confirm']);
  });

  test('a device cannot ask for another id, nor publish on another device\'s rotation topics; an unknown confirmation is refused', async () => {
    const a = await provision('rot-2');
    const victim = await provision('rot-3');
    const c = await mqtt.connectAsync(fleet.url, { cert: a.cert, key: a.key, ca: fleet.ca.certificatePem, protocolVersion: 5, clientId: 'rot-2', reconnectPeriod: 0 });
    const own = rotationTopics('rot-2', 'create-from-csr');
    await c.subscribeAsync([own.accepted, own.rejected, rotationTopics('rot-2', 'confirm').rejected], { qos: 1 });
    const answer = (topic: string, body: object): Promise<{ topic: string; body: Record<string, unknown> }> =>
      new Promise((resolve) => {
        c.once('message', (t, p) => resolve({ topic: t, body: JSON.parse(p.toString()) as Record<string, unknown> }));
        void c.publishAsync(topic, JSON.stringify(body), { qos: 1 });
      });
    // A CSR for the victim's id on its own topic: refused.
    const csr = await createDeviceCsr('rot-3');
    expect(await answer(own.request, { certificateSigningRequest: csr.csrPem })).toMatchObject({ topic: own.rejected, body: { statusCode: 403, errorCode: 'NotAllowed' } });
    // The victim's topic: the ACL refuses the publish (MQTT 5 PUBACK 135).
    const err = await c.publishAsync(rotationTopics('rot-3', 'create-from-csr').request, JSON.stringify({ certificateSigningRequest: csr.csrPem }), { qos: 1 }).then(() => 'published', (e: unknown) => String(e));
    expect(err).toMatch(/Not authorized|135/);
    // A confirmation of a certificate that was never issued to it.
    expect(await answer(rotationTopics('rot-2', 'confirm').request, { certificateId: 'a'.repeat(64) })).toMatchObject({ body: { statusCode: 404, errorCode: 'NotFound' } });
    await c.endAsync();
    expect(fleet.ca.device('rot-3')!.previous).toEqual([]);
    expect(await connects(victim.cert, victim.key, 'rot-3')).toBe(true);
  });

  test('the broker restarts mid-rotation (after the new pair is stored): the old pair stays, the next run confirms and promotes the stored one', async () => {
    const d = await provision('rot-4');
    const fs = nodeCredentialFileSystem();
    let stopped = false;
    const cutting: CredentialFileSystem = {
      ...fs,
      async rename(from, to) {
        await fs.rename(from, to);
        if (to.endsWith('rot-4.next.pem') && !stopped) {
          stopped = true;
          await fleet.broker.stop();
        }
      },
    };
    const down = await rotate('rot-4', { force: true, fs: cutting }).then(() => undefined, (e: unknown) => e);
    expect(stopped).toBe(true);
    expect(down).toBeInstanceOf(DeviceError);
    expect(['CONNECTION_REFUSED', 'REQUEST_TIMEOUT']).toContain((down as DeviceError).code);
    expect(readFileSync(join(devDir(), 'rot-4.pem'), 'utf8')).toBe(d.cert); // untouched
    const stored = readFileSync(join(devDir(), 'rot-4.next.pem'), 'utf8');
    await fleet.broker.start();
    expect(await connects(d.cert, d.key, 'rot-4')).toBe(true); // still valid: not confirmed yet
    // The service's connection comes back by itself (MQTT.js reconnect); the device retries.
    let done: RotationResult | undefined;
    for (let i = 0; i < 50 && done === undefined; i++) {
      done = await rotate('rot-4', { timeoutMs: 2_000 }).catch(async () => void (await new Promise((r) => setTimeout(r, 200))));
    }
    expect(done?.outcome).toBe('rotated');
    expect(done!.cert).toBe(stored); // the stored pair, resumed: no second CSR
    expect(fleet.events.filter((e) => e.deviceId === 'rot-4' && e.op === 'rotate-csr').length).toBe(1);
    expect(await connects(done!.cert, done!.key, 'rot-4')).toBe(true);
    expect(await refusedSoon(d.cert, d.key, 'rot-4')).toBe(true);
  });
});
