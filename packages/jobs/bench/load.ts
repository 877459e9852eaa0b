// The load side of bench/service.ts, in its own process so the service does not share its event
// loop with the devices: argv = broker URL, directory with ca.pem and {thing}.pem/.key, devices,
// window, updates. Connects the devices, starts their executions, waits for "go" on stdin, runs
// the updates and prints one JSON line { updates, ms }.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connectDevice } from '@outpost/device-sdk';
import { createJobsClient, type JobsClient } from '@outpost/jobs';

const [url, dir, devicesArg, windowArg, updatesArg] = process.argv.slice(2) as [string, string, string, string, string];
const WINDOW = Number(windowArg);
const ca = readFileSync(join(dir, 'ca.pem'), 'utf8');
const clients: JobsClient[] = [];
for (let i = 0; i < Number(devicesArg); i++) {
  const id = `bench-${String(i).padStart(3, '0')}`;
  const mq = await connectDevice({ url, cert: readFileSync(join(dir, `${id}.pem`), 'utf8'), key: readFileSync(join(dir, `${id}.key`), 'utf8'), ca, servername: 'localhost', maxInFlight: 1000 });
  const jobs = await createJobsClient({ mqtt: mq, thingName: id, requestTimeoutMs: 30_000, maxRetries: 0 });
  await jobs.startNext();
  clients.push(jobs);
}

async function run(n: number): Promise<number> {
  let left = n;
  const t0 = performance.now();
  await Promise.all(clients.flatMap((jobs) => Array.from({ length: WINDOW }, async () => {
    while (left > 0) {
      left--;
      await jobs.update('bench', 'IN_PROGRESS', { statusDetails: { progress: String(left) } });
    }
  })));
  return performance.now() - t0;
}

process.stdout.write('ready\n');
await new Promise((r) => process.stdin.once('data', r));
await run(2_000); // warm-up
const ms = await run(Number(updatesArg));
process.stdout.write(`${JSON.stringify({ updates: Number(updatesArg), ms })}\n`);
process.exit(0);
