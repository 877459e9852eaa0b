// kill -9 of the rollout controller process (`outpost ota rollout start`) mid-wave, twice, while
// scripted devices (jobs clients answering after a delay) work through their executions: started
// again on the same --state directory, the rollout completes, and every device was targeted
// exactly once (one execution each, one dispatch each in the journal).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, type DeviceClient } from '@outpost/device-sdk';
import { createJobsOperatorClient, startJobsService, type JobsOperatorClient, type JobsService } from '@outpost/jobs';
import { tempDir } from '@outpost/test-peers';
import { run } from '../src/run.js';
import { startFleet, type Fleet } from '../../device-sdk/test/fixtures/fleet.js';
import { startResponder, type Responder } from '../../ota/test/fixtures/responder.js';

const tmp = tempDir('outpost-cli-rollout-kill-');
const OPS = 'ops-kill';
const MAIN = join(import.meta.dirname, '..', 'src', 'main.ts');
const DEVICES = 30;
let fleet: Fleet;
let service: JobsService;
let ops: JobsOperatorClient;
const closers: Array<() => Promise<unknown>> = [];
const children: ChildProcess[] = [];

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), cwd: tmp.path });
  return { code, out, err };
}

async function mqttFor(id: string): Promise<DeviceClient> {
  const c = await fleet.device(id);
  const mq = await connectDevice({ url: fleet.url, cert: c.cert, key: c.key, ca: fleet.ca.certificatePem, servername: 'localhost', reconnect: { initialDelayMs: 100, maxDelayMs: 400 } });
  closers.push(() => mq.close({ force: true }));
  return mq;
}

function controller(extra: string[]): { child: ChildProcess; exit: Promise<number | null> } {
  const conn = ['--broker', fleet.url, '--cert', join(tmp.path, `${OPS}.pem`), '--key', join(tmp.path, `${OPS}.key`), '--ca', join(tmp.path, 'ca.pem')];
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@outpost/source', MAIN, 'ota', 'rollout', 'start', '--state', join(tmp.path, 'st'), '--interval', '100', ...extra, ...conn], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  return { child, exit: new Promise((r) => child.once('exit', (code) => r(code))) };
}

/** Waits until the journal shows wave `wave` dispatched and not yet finished, then kill -9. */
async function killMidWave(c: { child: ChildProcess; exit: Promise<number | null> }, wave: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (c.child.exitCode !== null) throw new Error(`the controller exited ${c.child.exitCode} before wave ${wave}`);
    const s = await cli('ota', 'rollout', 'status', '--state', 'st', '--json');
    if (s.code === 0) {
      const j = JSON.parse(s.out) as { wave: number; waves: Array<{ size: number; dispatched: number; confirmed: number }> };
      const w = j.waves[wave]!;
      if (j.wave === wave && w.dispatched > 0 && w.confirmed < w.size) {
        c.child.kill('SIGKILL');
        await c.exit;
        return;
      }
      if (j.wave > wave) throw new Error(`wave ${wave} finished before the kill`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`wave ${wave} never started`);
}

beforeAll(async () => {
  fleet = await startFleet({ services: { 'jobs-service': ['$aws/things/+/jobs/#', '$outpost/jobs/ops/#'], [OPS]: [`$outpost/jobs/ops/${OPS}/#`], 'ops-check': ['$outpost/jobs/ops/ops-check/#'] } });
  writeFileSync(join(tmp.path, 'ca.pem'), fleet.ca.certificatePem);
  const c = await fleet.device(OPS);
  writeFileSync(join(tmp.path, `${OPS}.pem`), c.cert);
  writeFileSync(join(tmp.path, `${OPS}.key`), c.key);
  service = await startJobsService({ mqtt: await mqttFor('jobs-service'), sweepIntervalMs: 0 });
  ops = await createJobsOperatorClient({ mqtt: await mqttFor('ops-check'), operatorId: 'ops-check', requestTimeoutMs: 2_000 });
  writeFileSync(join(tmp.path, 'fw.manifest'), Buffer.from([0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40])); // the devices here do not verify it
}, 60_000);

afterAll(async () => {
  for (const ch of children) if (ch.exitCode === null && ch.signalCode === null) ch.kill('SIGKILL');
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await ops?.close();
  await service?.close();
  await fleet?.stop();
  tmp.cleanup();
});

describe('kill -9 of the rollout controller', () => {
  it('killed mid-wave twice and started again: the rollout completes, each device targeted exactly once', async () => {
    const ids = Array.from({ length: DEVICES }, (_, i) => `k-${String(i).padStart(2, '0')}`);
    writeFileSync(join(tmp.path, 'fleet.txt'), ids.join('\n'));
    const responders: Responder[] = [];
    for (const id of ids) {
      const c = await fleet.device(id);
      const r = await startResponder(id, { url: fleet.url, cert: c.cert, key: c.key, ca: fleet.ca.certificatePem }, { fail: false, delayMs: 400 + (Number(id.slice(2)) % 5) * 200 });
      closers.push(() => r.close());
      responders.push(r);
    }
    const first = controller(['--rollout-id', 'fw-k', '--devices', join(tmp.path, 'fleet.txt'), '--canary', 'k-00,k-01', '--waves', 'canary,10%,50%,100%', '--manifest', join(tmp.path, 'fw.manifest'), '--image', 'stream:fw-k']);
    await killMidWave(first, 1);
    const second = controller([]);
    await killMidWave(second, 2);
    const third = controller([]);
    expect(await third.exit).toBe(0);
    const s = JSON.parse((await cli('ota', 'rollout', 'status', '--state', 'st', '--json')).out) as { status: string; waves: Array<{ size: number; confirmed: number }> };
    expect(s.status).toBe('completed');
    for (const w of s.waves) expect(w.confirmed).toBe(w.size);
    const job = await ops.describeJob('fw-k');
    expect([...job.targets].sort()).toEqual(ids);
    expect(job.executions).toEqual({ SUCCEEDED: DEVICES });
    for (const r of responders) expect(r.started, r.id).toEqual(['fw-k#1']);
    const dispatched = readFileSync(join(tmp.path, 'st', 'journal.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l.replace(/^#[0-9a-f]{16} /, '')) as { type: string; devices?: string[] })
      .filter((e) => e.type === 'dispatch').flatMap((e) => e.devices ?? []);
    expect(dispatched.sort()).toEqual(ids);
  }, 120_000);
});
