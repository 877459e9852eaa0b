// The broker killed (SIGKILL, no persistence: every session and subscription lost) and started
// again in the middle of a job: the service, the device client and the operator client
// subscribe again on their own; the update the device sent while the broker was down lands
// once; a job created afterwards reaches the device through notify-next.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, type DeviceClient } from '@outpost/device-sdk';
import { startFleet, type Fleet } from '../../device-sdk/test/fixtures/fleet.js';
import {
  createJobsClient, createJobsOperatorClient, MemoryJobsStore, startJobsService,
  type JobExecution, type JobsClient, type JobsOperatorClient, type JobsService,
} from '../src/index.js';

let fleet: Fleet;
const clients: DeviceClient[] = [];
let service: JobsService;
let ops: JobsOperatorClient;
let jobs: JobsClient;

async function connect(id: string): Promise<DeviceClient> {
  const c = await fleet.device(id);
  const mq = await connectDevice({ url: fleet.url, cert: c.cert, key: c.key, ca: fleet.ca.certificatePem, servername: 'localhost', reconnect: { initialDelayMs: 100, maxDelayMs: 300 } });
  clients.push(mq);
  return mq;
}

async function eventually(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  fleet = await startFleet({ services: { 'jobs-service': ['$aws/things/+/jobs/#', '$outpost/jobs/ops/#'], 'ops-r': ['$outpost/jobs/ops/ops-r/#'] } });
  service = await startJobsService({ mqtt: await connect('jobs-service'), store: new MemoryJobsStore(), sweepIntervalMs: 0 });
  ops = await createJobsOperatorClient({ mqtt: await connect('ops-r'), operatorId: 'ops-r', requestTimeoutMs: 1_000, maxRetries: 30 });
}, 60_000);

afterAll(async () => {
  await jobs?.close();
  await ops?.close();
  await service?.close();
  for (const c of clients) await c.close({ force: true }).catch(() => undefined);
  await fleet?.stop();
});

describe('broker restart mid-job', () => {
  it('everyone subscribes again; the offline update lands once; the next job arrives by notify-next', async () => {
    const mq = await connect('dev-r');
    jobs = await createJobsClient({ mqtt: mq, thingName: 'dev-r', requestTimeoutMs: 1_000, maxRetries: 60 });
    const next: Array<JobExecution | undefined> = [];
    jobs.onNext((e) => next.push(e));
    await ops.createJob({ jobId: 'r-1', document: {}, targets: ['dev-r'] });
    expect((await jobs.startNext())?.versionNumber).toBe(2);
    await fleet.broker.kill();
    await eventually(() => !mq.connected, 'device offline');
    const update = jobs.update('r-1', 'SUCCEEDED', { expectedVersion: 2 });
    await fleet.broker.start();
    await update;
    expect(await ops.describeJobExecution('r-1', 'dev-r')).toMatchObject({ status: 'SUCCEEDED', versionNumber: 3 });
    const before = next.length;
    await ops.createJob({ jobId: 'r-2', document: { n: 2 }, targets: ['dev-r'] });
    await eventually(() => next.slice(before).some((e) => e?.jobId === 'r-2'), 'notify-next for the job created after the restart');
    expect(service.stats().errors).toBe(0);
  }, 90_000);
});
