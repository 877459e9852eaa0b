// The provisioning service's registry writes with the power cut at every file operation (the ota
// crash-point approach; only SIGKILL was tested before, and a process kill keeps the page cache).
// The CA directory lives on an in-memory file system where only fsynced data and fsynced directory
// entries survive; the service runs on it through an in-process MQTT stand-in (no broker: the file
// system is what is under test). The workload: three devices provisioned at once (group commit),
// one whose first answer was lost and asks again (its pending certificate revoked, the CRL
// rewritten), and a rotation confirmed (the old certificate revoked). After every cut the
// registry opens, every acknowledged request is in it, no id has two usable certificates, a
// restarted service's CRL names every revoked certificate, and it provisions on.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { tempDir } from '@outpost/test-peers';
import { createDeviceCsr } from '@outpost/device-sdk';
import { initCaDir, openCaDir, provisioningTopics, startProvisioningService, type ProvisioningMqttClient } from '@outpost/pki';
import { PowerCut, PowerCutFs } from './fixtures/power-cut-fs.js';

const tmp = tempDir('outpost-regcut-');
afterAll(() => tmp.cleanup());

type Answer = { ok: boolean; body: Record<string, unknown> };

/** An in-process MQTT stand-in: requests go straight to the service's listener, answers come back by clientToken. */
class Loopback implements ProvisioningMqttClient {
  #listeners = new Set<(topic: string, payload: Buffer) => void>();
  #waiting = new Map<string, (a: Answer) => void>();
  #n = 0;
  subscribe(_f: string[], _o: { qos: 0 | 1 }, cb: (err: Error | null) => void): void {
    cb(null);
  }
  unsubscribe(_f: string[], cb: () => void): void {
    cb();
  }
  publish(topic: string, payload: Buffer, _o: { qos: 0 | 1 }, cb: () => void): void {
    const body = JSON.parse(payload.toString()) as Record<string, unknown>;
    this.#waiting.get(String(body['clientToken']))?.({ ok: topic.endsWith('/accepted'), body });
    cb();
  }
  on(_e: 'message', l: (topic: string, payload: Buffer) => void): void {
    this.#listeners.add(l);
  }
  removeListener(_e: 'message', l: (topic: string, payload: Buffer) => void): void {
    this.#listeners.delete(l);
  }
  request(topic: string, body: object): Promise<Answer> {
    const clientToken = `t${++this.#n}`;
    return new Promise((resolve) => {
      this.#waiting.set(clientToken, resolve);
      for (const l of this.#listeners) l(topic, Buffer.from(JSON.stringify({ ...body, clientToken })));
    });
  }
}

const CA = '/ca';
const NOW = Date.parse('2026-12-07T12:00:00Z');
const CREATE = provisioningTopics('create-from-csr').request;
const REGISTER = provisioningTopics('register', { template: 'factory' }).request;
const rotate = (id: string, op: string): string => `$aws/certificates/rotate/${id}/${op}/json`;

/** What the workload saw acknowledged (accepted answers only). */
interface Acked {
  created: Array<[string, string]>; // [id, certificateId]
  registered: Array<[string, string]>;
  confirmed: Array<[string, string]>;
}

async function start(fs: PowerCutFs) {
  const client = new Loopback();
  const ca = await openCaDir(CA, { fs });
  const service = await startProvisioningService({ client, ca, templates: { factory: {} }, allow: () => true, now: () => NOW });
  return { client, ca, service };
}

// CSRs made once: the workload is the same on every run (only the cut moves).
const csrs = new Map<string, Awaited<ReturnType<typeof createDeviceCsr>>>();
async function csr(key: string, id: string): Promise<string> {
  if (!csrs.has(key)) csrs.set(key, await createDeviceCsr(id));
  return csrs.get(key)!.csrPem;
}

async function workload(fs: PowerCutFs, acked: Acked): Promise<void> {
  const { client } = await start(fs);
  const provision = async (id: string, key = id): Promise<void> => {
    const c = await client.request(CREATE, { certificateSigningRequest: await csr(key, id) });
    if (!c.ok) throw new PowerCut();
    acked.created.push([id, String(c.body['certificateId'])]);
    const r = await client.request(REGISTER, { certificateOwnershipToken: c.body['certificateOwnershipToken'], parameters: { SerialNumber: id } });
    if (!r.ok) throw new PowerCut();
    acked.registered.push([id, String(c.body['certificateId'])]);
  };
  await Promise.all(['dev-a', 'dev-b', 'dev-c'].map((id) => provision(id)));
  const lost = await client.request(CREATE, { certificateSigningRequest: await csr('dev-d-lost', 'dev-d') });
  if (!lost.ok) throw new PowerCut();
  acked.created.push(['dev-d', String(lost.body['certificateId'])]);
  await provision('dev-d', 'dev-d-again');
  const r = await client.request(rotate('dev-a', 'create-from-csr'), { certificateSigningRequest: await csr('dev-a-rot', 'dev-a') });
  if (!r.ok) throw new PowerCut();
  acked.created.push(['dev-a', String(r.body['certificateId'])]);
  const c = await client.request(rotate('dev-a', 'confirm'), { certificateId: r.body['certificateId'] });
  if (!c.ok) throw new PowerCut();
  acked.confirmed.push(['dev-a', String(r.body['certificateId'])]);
}

const idOf = (fingerprint: string): string => fingerprint.replaceAll(':', '').toLowerCase();
const crlSerials = (pem: string): string => spawnSync('openssl', ['crl', '-noout', '-text'], { input: pem, encoding: 'utf8' }).stdout.toLowerCase().replace(/[^0-9a-z\n]/g, '');

async function checkAfterCut(rebooted: PowerCutFs, acked: Acked, where: string): Promise<void> {
  const { ca, client, service } = await start(rebooted); // the registry opens, the service starts
  const reg = JSON.parse(rebooted.peek(`${CA}/registry.json`)!) as { provisioning?: { things: Record<string, { certificateId: string }>; rotations?: Record<string, unknown> } };
  const certsOf = (id: string) => {
    const d = ca.device(id);
    return d === undefined ? [] : [d.current, ...d.previous];
  };
  for (const [id, certId] of acked.created) expect(certsOf(id).map((c) => idOf(c.fingerprint)), `${where}: acknowledged certificate of ${id}`).toContain(certId);
  for (const [id, certId] of acked.registered) expect(reg.provisioning?.things[id]?.certificateId, `${where}: acknowledged registration of ${id}`).toBe(certId);
  for (const [id, certId] of acked.confirmed) expect(idOf(ca.device(id)!.current.fingerprint), `${where}: acknowledged rotation of ${id}`).toBe(certId);
  const crl = crlSerials(rebooted.peek(`${CA}/crl.pem`)!);
  for (const d of ca.devices()) {
    const usable = [d.current, ...d.previous].filter((c) => c.revokedAt === undefined);
    const pendingRotation = reg.provisioning?.rotations?.[d.deviceId] !== undefined ? 1 : 0;
    expect(usable.length, `${where}: ${d.deviceId} has ${usable.length} usable certificates`).toBeLessThanOrEqual(1 + pendingRotation);
    // The restarted service rewrote the CRL from the registry: a revocation committed just before the cut is in it.
    for (const c of [d.current, ...d.previous].filter((x) => x.revokedAt !== undefined)) expect(crl, `${where}: CRL misses ${d.deviceId}'s ${c.serialNumber}`).toContain(c.serialNumber.toLowerCase().replace(/^0+/, ''));
  }
  // … and provisions on.
  const more = await client.request(CREATE, { certificateSigningRequest: await csr('dev-e', 'dev-e') });
  expect(more.ok, `${where}: ${JSON.stringify(more.body)}`).toBe(true);
  await service.stop();
}

test.each(['strict', 'eager-metadata'] as const)('power cut at every file operation of the registry writes (%s): acknowledged work survives, one usable certificate per id', async (model) => {
  const dir = join(tmp.path, model);
  await initCaDir(dir, { commonName: 'Power-cut CA', now: new Date(NOW - 86_400_000) });
  const base = new PowerCutFs();
  for (const f of ['ca.pem', 'ca.key', 'registry.json', 'crl.pem']) base.put(`${CA}/${f}`, readFileSync(join(dir, f), 'utf8'));
  let cut = 1;
  let acknowledgedAtSomeCut = 0;
  for (; cut < 1000; cut++) {
    const fs = base.afterCut();
    fs.cutAt = cut;
    const acked: Acked = { created: [], registered: [], confirmed: [] };
    const err = await workload(fs, acked).then(() => undefined, (e: unknown) => e);
    if (err === undefined) break;
    expect(err).toBeInstanceOf(PowerCut);
    await checkAfterCut(fs.afterCut(model), acked, `cut at ${cut} (${fs.log[cut - 1]})`);
    acknowledgedAtSomeCut = Math.max(acknowledgedAtSomeCut, acked.confirmed.length + acked.registered.length);
  }
  expect(cut).toBeGreaterThan(60);
  expect(acknowledgedAtSomeCut).toBe(4); // cuts late in the workload: every registration acknowledged, the rotation's confirmation in flight
}, 300_000);
