// Job-execution updates per second with durable state: the reference jobs service on a file
// store (every accepted update fsynced before its answer; group commit), driven by device jobs
// clients through Mosquitto 2 with mutual TLS on loopback. Each device keeps WINDOW progress
// updates (IN_PROGRESS with statusDetails) in flight on its own execution and waits for every
// answer; the devices run in a child process (bench/load.ts). A second row runs the same
// updates straight into the service's state machine and store, without MQTT, to show what the
// broker round trips cost.
// Run: npx tsx --conditions=@outpost/source packages/jobs/bench/service.ts
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { loadavg } from 'node:os';
import { connectDevice, type DeviceClient } from '@outpost/device-sdk';
import { tempDir } from '@outpost/test-peers';
import { JobsMachine, nodeJobsFileSystem, openFileJobsStore, startJobsService, type JobsFileSystem } from '@outpost/jobs';
import { startFleet } from '../../device-sdk/test/fixtures/fleet.js';

const DEVICES = Number(process.env['DEVICES'] ?? 20);
const WINDOW = Number(process.env['WINDOW'] ?? 8);
const UPDATES = Number(process.env['UPDATES'] ?? 20_000);

const fleet = await startFleet({ services: { 'jobs-service': ['$aws/things/+/jobs/#', '$outpost/jobs/ops/#'] }, maxInflightMessages: 1000 });
const dirs = [tempDir('jobs-bench-'), tempDir('jobs-bench-direct-'), tempDir('jobs-bench-certs-')];
const connect = async (id: string): Promise<DeviceClient> => {
  const c = await fleet.device(id);
  return connectDevice({ url: fleet.url, cert: c.cert, key: c.key, ca: fleet.ca.certificatePem, servername: 'localhost', maxInFlight: 1000 });
};

/** The node file layer, counting fsyncs of files (group commit: many commits share one). */
let syncs = 0;
const base = nodeJobsFileSystem();
const counting: JobsFileSystem = {
  ...base,
  openAppend: async (path) => {
    const h = await base.openAppend(path);
    return { ...h, sync: () => { syncs++; return h.sync(); } };
  },
};
const store = await openFileJobsStore({ dir: dirs[0]!.path, fs: counting });
const serviceMqtt = await connect('jobs-service');
const service = await startJobsService({ mqtt: serviceMqtt, store, maxInFlightPerThing: WINDOW + 2 });
const things = Array.from({ length: DEVICES }, (_, i) => `bench-${String(i).padStart(3, '0')}`);
await service.createJob({ jobId: 'bench', document: { op: 'progress' }, targets: things });
// The devices run in their own process (bench/load.ts): the service keeps its event loop.
writeFileSync(join(dirs[2]!.path, 'ca.pem'), fleet.ca.certificatePem);
for (const t of things) {
  const c = await fleet.device(t);
  writeFileSync(join(dirs[2]!.path, `${t}.pem`), c.cert);
  writeFileSync(join(dirs[2]!.path, `${t}.key`), c.key);
}
const load = spawn(process.execPath, ['--import', 'tsx', '--conditions=@outpost/source', join(import.meta.dirname, 'load.ts'), fleet.url, dirs[2]!.path, String(DEVICES), String(WINDOW), String(UPDATES)], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: load.stdout! });
const nextLine = (): Promise<string> => new Promise((resolve) => lines.once('line', resolve));
await nextLine(); // ready

async function direct(n: number): Promise<number> {
  const s = await openFileJobsStore({ dir: dirs[1]!.path });
  const m = new JobsMachine();
  await s.commit(m.createJob({ jobId: 'bench', document: {}, targets: things }, 0));
  for (const t of things) {
    const o = m.startNext(t, {}, 0);
    if (o.ok) await s.commit(o.changes);
  }
  let left = n;
  const t0 = performance.now();
  await Promise.all(things.flatMap((t) => Array.from({ length: WINDOW }, async () => {
    while (left > 0) {
      left--;
      const out = m.update(t, 'bench', { status: 'IN_PROGRESS', statusDetails: { progress: String(left) } }, 1);
      if (out.ok) await s.commit(out.changes);
    }
  })));
  const rate = n / ((performance.now() - t0) / 1000);
  await s.close();
  return rate;
}

const commitsBefore = service.stats().commits;
const syncsBefore = syncs;
load.stdin!.write('go\n');
const result = JSON.parse(await nextLine()) as { updates: number; ms: number };
const broker = result.updates / (result.ms / 1000);
const commits = service.stats().commits - commitsBefore;
const fsyncs = syncs - syncsBefore;
const inProcess = await direct(UPDATES);
const version = service.describeJobExecution('bench', things[0]!).versionNumber;
console.log(`\njobs service, durable file store (node ${process.version}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
console.log(`  ${DEVICES} devices x ${WINDOW} in flight, ${UPDATES} updates through Mosquitto (mTLS):  ${Math.round(broker).toLocaleString('en-US')} updates/s  (${commits} commits in ${fsyncs} fsyncs, warm-up included; execution ${things[0]} at version ${version})`);
console.log(`  same updates into JobsMachine + file store, no MQTT:            ${Math.round(inProcess).toLocaleString('en-US')} updates/s`);

load.kill();
await service.close();
await store.close();
await serviceMqtt.close({ force: true });
await fleet.stop();
for (const d of dirs) d.cleanup();
