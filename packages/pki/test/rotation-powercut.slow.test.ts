// Rotation with the power cut at every file operation of the device's credential store (the ota
// crash-point approach: an in-memory file system where only fsynced data and fsynced directory
// entries survive), against the real service and Mosquitto (which re-reads the CRL on SIGHUP, so
// a confirmed rotation really revokes the old certificate). After every cut the device has a pair
// on disk that the broker accepts (old or new), and a second run ends rotated.
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import mqtt from 'mqtt';
import { provisionByClaim, rotateCertificate } from '@outpost/device-sdk';
import { startProvisioningFleet, type ProvisioningFleet } from './fixtures/provisioning-fleet.js';
import { PowerCut, PowerCutFs } from './fixtures/power-cut-fs.js';

let fleet: ProvisioningFleet;
beforeAll(async () => {
  fleet = await startProvisioningFleet({
    crl: true,
    claims: { 'line-1': ['factory'] },
    service: {
      templates: { factory: {} }, allow: ['cut-1'], allowReprovision: true,
      onCrlChanged: () => {
        const pid = fleet?.broker.pid(); // (also called once at start, before fleet is assigned)
        if (pid !== undefined) process.kill(pid, 'SIGHUP');
      },
    },
  });
});
afterAll(async () => {
  await fleet?.stop();
});

const DIR = '/device';
const files = (fs: PowerCutFs): Record<string, string> => Object.fromEntries([...fs.names.keys()].filter((n) => !n.includes('.tmp-')).map((n) => [n.slice(DIR.length + 1), fs.peek(n)!]));

async function connects(cert: string | undefined, key: string | undefined): Promise<boolean> {
  if (cert === undefined || key === undefined) return false;
  const c = await mqtt.connectAsync(fleet.url, { cert, key, ca: fleet.ca.certificatePem, protocolVersion: 5, clientId: 'cut-1', reconnectPeriod: 0, connectTimeout: 10_000 }).catch(() => undefined);
  if (c === undefined) return false;
  await c.endAsync(true);
  return true;
}

/** Mosquitto applies a SIGHUP in its loop: retry a refusal briefly before calling a pair dead. */
async function someWorkingPair(fs: PowerCutFs): Promise<string | undefined> {
  const f = files(fs);
  for (let i = 0; i < 3; i++) {
    if (await connects(f['cut-1.pem'], f['cut-1.key'])) return 'current';
    if (await connects(f['cut-1.next.pem'], f['cut-1.next.key'])) return 'next';
    if (await connects(f['cut-1.next.pem'], f['cut-1.key'])) return 'half-promoted';
  }
  return undefined;
}

test.each(['strict', 'eager-metadata'] as const)('power cut at every file operation of a rotation (%s): a working pair after every cut, rotated after a retry', async (model) => {
  const d = await provisionByClaim({ url: fleet.url, claim: await fleet.claim('line-1'), ca: fleet.ca.certificatePem, deviceId: 'cut-1', template: 'factory', dir: join(fleet.dir, `dev-${model}`) });
  let base = new PowerCutFs();
  base.put(`${DIR}/cut-1.pem`, d.cert);
  base.put(`${DIR}/cut-1.key`, d.key);
  const rotate = (fs: PowerCutFs) => rotateCertificate({ url: fleet.url, ca: fleet.ca.certificatePem, dir: DIR, deviceId: 'cut-1', force: true, fs, timeoutMs: 10_000 });
  const seen = new Set<string>();
  let cut = 1;
  for (; cut < 200; cut++) {
    const fs = base.afterCut();
    const before = files(fs)['cut-1.pem'];
    fs.cutAt = cut;
    const err = await rotate(fs).then(() => undefined, (e: unknown) => e);
    if (err === undefined) break; // the whole rotation ran without reaching operation `cut`
    expect(err).toBeInstanceOf(PowerCut);
    const rebooted = fs.afterCut(model);
    const working = await someWorkingPair(rebooted);
    expect(working, `after a cut at operation ${cut} (${fs.log[cut - 1]}): no pair connects; files ${Object.keys(files(rebooted)).join(', ')}`).toBeDefined();
    seen.add(working!);
    const again = await rotate(rebooted);
    expect(again.outcome).toBe('rotated');
    expect(again.cert).not.toBe(before);
    expect(await connects(files(rebooted)['cut-1.pem'], files(rebooted)['cut-1.key'])).toBe(true);
    base = rebooted;
  }
  expect(cut).toBeGreaterThan(20); // every operation of load, writeNext, load and promote was cut
  // Both sides of the confirmation were hit (and, when renames survive without fsync, the cut between the two renames).
  expect([...seen].sort()).toEqual(expect.arrayContaining(model === 'strict' ? ['current', 'next'] : ['current', 'half-promoted', 'next']));
}, 240_000);
