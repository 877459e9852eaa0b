// kill -9 of the jobs service process, five times, while devices keep sending progress updates
// through Mosquitto: each device sends one update at a time (IN_PROGRESS with a counter) and
// counts the accepted answers. After each restart every acknowledged update is still there, and
// at the end each execution's version is exactly 2 + the updates acknowledged: none lost, none
// applied twice (the clients retry unanswered updates with the same clientToken across restarts).
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, type DeviceClient } from '@outpost/device-sdk';
import { tempDir } from '@outpost/test-peers';
import { startFleet, type Fleet } from '../../device-sdk/test/fixtures/fleet.js';
import { createJobsClient, createJobsOperatorClient, type JobsClient, type JobsOperatorClient } from '../src/index.js';

const DEVICES = 5;
const KILLS = 5;
const SCRIPT = join(import.meta.dirname, 'fixtures', 'service-proc.ts');
let fleet: Fleet;
const tmp = tempDir('outpost-jobs-kill-');
const clients: DeviceClient[] = [];
/** Every service process started, killed in afterAll even when the test fails. */
const children: ChildProcess[] = [];

async function creds(id: string): Promise<{ cert: string; key: string }> {
  const c = await fleet.device(id);
  writeFileSync(join(tmp.path, `${id}.pem`), c.cert);
  writeFileSync(join(tmp.path, `${id}.key`), c.key);
  return c;
}

async function connect(id: string): Promise<DeviceClient> {
  const c = await creds(id);
  const mq = await connectDevice({ url: fleet.url, cert: c.cert, key: c.key, ca: fleet.ca.certificatePem, servername: 'localhost', reconnect: { initialDelayMs: 100, maxDelayMs: 400 } });
  clients.push(mq);
  return mq;
}

function startService(): Promise<ChildProcess> {
  const p = (f: string): string => join(tmp.path, f);
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@outpost/source', SCRIPT, fleet.url, p('jobs-service.pem'), p('jobs-service.key'), p('ca.pem'), p('store')], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(child); });
    child.once('exit', (code) => reject(new Error(`service exited ${String(code)}`)));
  });
}

beforeAll(async () => {
  fleet = await startFleet({ services: { 'jobs-service': ['$aws/things/+/jobs/#', '$outpost/jobs/ops/#'], 'ops-kill': ['$outpost/jobs/ops/ops-kill/#'] } });
  writeFileSync(join(tmp.path, 'ca.pem'), fleet.ca.certificatePem);
  await creds('jobs-service');
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const c of clients) await c.close({ force: true }).catch(() => undefined);
  await fleet?.stop();
  tmp.cleanup();
});

describe('kill -9 of the service under load', () => {
  it(`${KILLS} kills: every acknowledged update kept, none applied twice`, async () => {
    let service = await startService();
    const ops: JobsOperatorClient = await createJobsOperatorClient({ mqtt: await connect('ops-kill'), operatorId: 'ops-kill', requestTimeoutMs: 1_000, maxRetries: 60 });
    const things = Array.from({ length: DEVICES }, (_, i) => `kill-${i}`);
    await ops.createJob({ jobId: 'load', document: {}, targets: things });
    const acked = new Map<string, number>(things.map((t) => [t, 0]));
    let running = true;
    const loops = await Promise.all(things.map(async (t) => {
      const jobs: JobsClient = await createJobsClient({ mqtt: await connect(t), thingName: t, requestTimeoutMs: 500, maxRetries: 200 });
      expect((await jobs.startNext())?.versionNumber).toBe(2);
      // wrapped: an async function returning a promise would adopt it and wait for the loop
      return { loop: (async () => {
        while (running) {
          const n = acked.get(t)! + 1;
          await jobs.update('load', 'IN_PROGRESS', { statusDetails: { n: String(n) } });
          acked.set(t, n);
        }
      })() };
    }));
    for (let k = 0; k < KILLS; k++) {
      await new Promise((r) => setTimeout(r, 600));
      const before = new Map(acked);
      service.kill('SIGKILL');
      await new Promise((r) => service.once('exit', r));
      const t0 = Date.now();
      service = await startService();
      console.log(`kill ${k + 1}: restarted in ${Date.now() - t0} ms, acked ${[...acked.values()].join(',')}`);
      for (const t of things) {
        const e = await ops.describeJobExecution('load', t);
        expect(e.versionNumber, `${t} after kill ${k + 1}`).toBeGreaterThanOrEqual(2 + before.get(t)!);
      }
    }
    running = false;
    await Promise.all(loops.map((l) => l.loop));
    let total = 0;
    for (const t of things) {
      const e = await ops.describeJobExecution('load', t);
      expect(e.versionNumber, t).toBe(2 + acked.get(t)!);
      expect(e.statusDetails).toEqual({ n: String(acked.get(t)) });
      total += acked.get(t)!;
    }
    expect(total).toBeGreaterThan(DEVICES * KILLS); // updates did flow between the kills
    service.kill('SIGKILL');
  }, 120_000);
});
