// The reference jobs service, the device jobs client and the operator client together, against
// a real Mosquitto 2 with mutual TLS and the per-device ACL of brokerConfig() (devices: their own
// $aws/things/{id}/jobs/# only; the service and the operator: identities of their own). The
// service runs on an injected clock (timeouts are swept by the test) and a file store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, type DeviceClient } from '@outpost/device-sdk';
import { tempDir } from '@outpost/test-peers';
import { startFleet, type Fleet } from '../../device-sdk/test/fixtures/fleet.js';
import { TcpProxy } from '../../shadow/test/fixtures/proxy.js';
import {
  createJobsClient, createJobsOperatorClient, JobsError, MemoryJobsStore, openFileJobsStore, startJobsService,
  type JobExecution, type JobsChange, type JobsClient, type JobsOperatorClient, type JobsService, type JobsStore,
} from '../src/index.js';

const SERVICE = 'jobs-service';
const OPERATOR = 'jobs-operator';
let fleet: Fleet;
let tmp: { path: string; cleanup(): void };
let store: JobsStore;
let service: JobsService;
let serviceMqtt: DeviceClient;
let opsMqtt: DeviceClient;
let ops: JobsOperatorClient;
let now = Date.UTC(2026, 0, 1);
const closers: Array<() => Promise<unknown>> = [];

async function connect(id: string, via?: TcpProxy): Promise<DeviceClient> {
  const c = await fleet.device(id);
  const port = via?.port ?? Number(new URL(fleet.url).port);
  const mq = await connectDevice({
    url: `mqtts://127.0.0.1:${port}`, cert: c.cert, key: c.key, ca: fleet.ca.certificatePem, servername: 'localhost',
    protocolVersion: 5, reconnect: { initialDelayMs: 100, maxDelayMs: 400 }, connectTimeoutMs: 20_000,
  });
  closers.push(() => mq.close({ force: true }));
  return mq;
}

async function device(id: string, via?: TcpProxy): Promise<{ mq: DeviceClient; jobs: JobsClient; next: JobExecution[] }> {
  const mq = await connect(id, via);
  const jobs = await createJobsClient({ mqtt: mq, thingName: id, requestTimeoutMs: 1_500, maxRetries: 20 });
  const next: JobExecution[] = [];
  jobs.onNext((e) => { if (e !== undefined) next.push(e); });
  closers.push(() => jobs.close());
  return { mq, jobs, next };
}

async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  fleet = await startFleet({ services: { [SERVICE]: ['$aws/things/+/jobs/#', '$outpost/jobs/ops/#'], [OPERATOR]: [`$outpost/jobs/ops/${OPERATOR}/#`] } });
  tmp = tempDir('outpost-jobs-');
  store = await openFileJobsStore({ dir: tmp.path });
  serviceMqtt = await connect(SERVICE);
  service = await startJobsService({ mqtt: serviceMqtt, store, now: () => now, sweepIntervalMs: 0 });
  opsMqtt = await connect(OPERATOR);
  ops = await createJobsOperatorClient({ mqtt: opsMqtt, operatorId: OPERATOR, requestTimeoutMs: 3_000 });
}, 60_000);

afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await ops?.close();
  await service?.close();
  await store?.close();
  await fleet?.stop();
  tmp?.cleanup();
});

describe('a job through the broker', () => {
  it('QUEUED → IN_PROGRESS → SUCCEEDED, created by the operator over MQTT; notify-next tells the device', async () => {
    const d = await device('dev-1');
    const created = await ops.createJob({ jobId: 'fw-1', document: { url: 'https://example.com/fw-1.bin' }, targets: ['dev-1'] });
    expect(created).toMatchObject({ jobId: 'fw-1', status: 'IN_PROGRESS', executions: { QUEUED: 1 } });
    await eventually(() => d.next.length > 0, 'notify-next');
    expect(d.next[0]).toMatchObject({ jobId: 'fw-1', status: 'QUEUED', versionNumber: 1, jobDocument: { url: 'https://example.com/fw-1.bin' } });
    expect(await d.jobs.get()).toMatchObject({ inProgressJobs: [], queuedJobs: [{ jobId: 'fw-1', versionNumber: 1 }] });
    const started = await d.jobs.startNext({ statusDetails: { step: 'download' } });
    expect(started).toMatchObject({ jobId: 'fw-1', status: 'IN_PROGRESS', versionNumber: 2, statusDetails: { step: 'download' } });
    const done = await d.jobs.update('fw-1', 'SUCCEEDED', { expectedVersion: 2, includeJobExecutionState: true, statusDetails: { step: 'done' } });
    expect(done.executionState).toEqual({ status: 'SUCCEEDED', versionNumber: 3, statusDetails: { step: 'done' } });
    expect(await ops.describeJob('fw-1')).toMatchObject({ status: 'COMPLETED', executions: { SUCCEEDED: 1 } });
    expect(await ops.describeJobExecution('fw-1', 'dev-1')).toMatchObject({ status: 'SUCCEEDED', versionNumber: 3 });
    expect((await ops.listJobs()).map((j) => j.jobId)).toContain('fw-1');
    // durable: the store has it
    expect((await store.load()).executions.find((e) => e.thingName === 'dev-1')?.status).toBe('SUCCEEDED');
  });

  it('VersionMismatch, then TerminalStateReached and InvalidStateTransition once finished', async () => {
    const d = await device('dev-2');
    await ops.createJob({ jobId: 'fw-2', document: { n: 2 }, targets: ['dev-2'] });
    const e = await d.jobs.startNext();
    expect(e?.versionNumber).toBe(2);
    const err = await d.jobs.update('fw-2', 'SUCCEEDED', { expectedVersion: 1 }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(JobsError);
    expect(err).toMatchObject({ code: 'VersionMismatch', value: { executionState: { status: 'IN_PROGRESS', versionNumber: 2 } } });
    await d.jobs.update('fw-2', 'FAILED', { expectedVersion: 2, statusDetails: { reason: 'checksum' } });
    await expect(d.jobs.describe('fw-2')).rejects.toMatchObject({ code: 'TerminalStateReached' });
    await expect(d.jobs.update('fw-2', 'IN_PROGRESS')).rejects.toMatchObject({ code: 'InvalidStateTransition' });
    await expect(d.jobs.update('nope', 'IN_PROGRESS')).rejects.toMatchObject({ code: 'ResourceNotFound' });
  });

  it('a step timeout on the clock → TIMED_OUT, notified; a late SUCCEEDED is refused', async () => {
    const d = await device('dev-3');
    await ops.createJob({ jobId: 'fw-3', document: {}, targets: ['dev-3'] });
    await d.jobs.startNext({ stepTimeoutInMinutes: 1 });
    now += 59_000;
    expect(await service.sweep()).toBe(0);
    now += 1_000;
    expect(await service.sweep()).toBe(1);
    expect(await ops.describeJobExecution('fw-3', 'dev-3')).toMatchObject({ status: 'TIMED_OUT' });
    await expect(d.jobs.update('fw-3', 'SUCCEEDED')).rejects.toMatchObject({ code: 'InvalidStateTransition', value: { executionState: { status: 'TIMED_OUT' } } });
  });

  it('an update retried with the same clientToken is applied once', async () => {
    const d = await device('dev-4');
    await ops.createJob({ jobId: 'fw-4', document: {}, targets: ['dev-4'] });
    await d.jobs.startNext();
    const answers: string[] = [];
    d.mq.on('message', (m) => { if (m.topic.startsWith('$aws/things/dev-4/jobs/fw-4/update/')) answers.push(m.topic.split('/').pop()!); });
    const body = JSON.stringify({ status: 'SUCCEEDED', expectedVersion: 2, clientToken: 'retry-1' });
    await d.mq.publish('$aws/things/dev-4/jobs/fw-4/update', body);
    await d.mq.publish('$aws/things/dev-4/jobs/fw-4/update', body);
    await eventually(() => answers.length === 2, 'two answers');
    expect(answers).toEqual(['accepted', 'accepted']);
    expect(await ops.describeJobExecution('fw-4', 'dev-4')).toMatchObject({ status: 'SUCCEEDED', versionNumber: 3 });
  });

  it('reconnect mid-job: an update sent while offline lands once; the client re-reads the next job it missed', async () => {
    const proxy = await TcpProxy.start(Number(new URL(fleet.url).port));
    closers.push(() => proxy.close());
    const d = await device('dev-5', proxy);
    await ops.createJob({ jobId: 'fw-5a', document: {}, targets: ['dev-5'] });
    const e = await d.jobs.startNext();
    expect(e?.jobId).toBe('fw-5a');
    await proxy.cut();
    await eventually(() => !d.mq.connected, 'device offline');
    const update = d.jobs.update('fw-5a', 'SUCCEEDED', { expectedVersion: 2 });
    await ops.createJob({ jobId: 'fw-5b', document: { second: true }, targets: ['dev-5'] }); // its notify-next is missed
    const before = d.next.length;
    await proxy.restore();
    await update;
    await eventually(() => d.next.slice(before).some((x) => x.jobId === 'fw-5b'), 're-read of the next job after reconnect');
    expect(d.jobs.stats().reconnects).toBeGreaterThanOrEqual(1);
    expect(await ops.describeJobExecution('fw-5a', 'dev-5')).toMatchObject({ status: 'SUCCEEDED', versionNumber: 3 });
  });
});

describe('isolation (broker ACL) and the operator API', () => {
  it("a device cannot read or write another device's job topics, nor the operator API", async () => {
    const mallory = await connect('dev-mallory');
    // Mosquitto's acl_file grants every SUBACK and checks read access per delivered message
    // (eclipse/mosquitto#803): mallory sees her own notify-next and none of the victim's.
    const seen: string[] = [];
    mallory.on('message', (m) => seen.push(m.topic));
    await mallory.subscribe(['$aws/things/dev-victim/jobs/notify-next', '$aws/things/+/jobs/#']);
    await ops.createJob({ jobId: 'fw-6', document: {}, targets: ['dev-victim', 'dev-mallory'] });
    await eventually(() => seen.includes('$aws/things/dev-mallory/jobs/notify-next'), "mallory's own notification");
    await service.idle();
    expect(seen.filter((t) => t.includes('dev-victim'))).toEqual([]);
    await expect(mallory.publish('$aws/things/dev-victim/jobs/fw-6/update', '{"status":"FAILED"}')).rejects.toMatchObject({ code: 'NOT_AUTHORIZED' });
    await expect(mallory.publish(`$outpost/jobs/ops/${OPERATOR}/cancel`, '{"jobId":"fw-6"}')).rejects.toMatchObject({ code: 'NOT_AUTHORIZED' });
    await service.idle();
    expect(await ops.describeJobExecution('fw-6', 'dev-victim')).toMatchObject({ status: 'QUEUED', versionNumber: 1 });
  });

  it('operator errors come back typed: ResourceNotFound, ResourceAlreadyExists, InvalidRequest; cancel with force', async () => {
    await expect(ops.describeJob('missing')).rejects.toMatchObject({ code: 'ResourceNotFound' });
    await expect(ops.createJob({ jobId: 'fw-6', document: {}, targets: ['x'] })).rejects.toMatchObject({ code: 'ResourceAlreadyExists' });
    await expect(ops.createJob({ jobId: 'fw-7', document: {}, targets: [] })).rejects.toMatchObject({ code: 'InvalidRequest' });
    const d = await device('dev-7');
    await ops.createJob({ jobId: 'fw-7', document: {}, targets: ['dev-7', 'dev-7b'] });
    await d.jobs.startNext();
    const canceled = await ops.cancelJob('fw-7', { force: true });
    expect(canceled).toMatchObject({ status: 'CANCELED', executions: { CANCELED: 2 } });
    await expect(d.jobs.update('fw-7', 'SUCCEEDED')).rejects.toMatchObject({ code: 'InvalidStateTransition' });
  });

  it('a restarted service keeps every job from its store', async () => {
    await service.close();
    await store.close();
    store = await openFileJobsStore({ dir: tmp.path });
    service = await startJobsService({ mqtt: serviceMqtt, store, now: () => now, sweepIntervalMs: 0 });
    expect(service.describeJob('fw-1')).toMatchObject({ status: 'COMPLETED', executions: { SUCCEEDED: 1 } });
    expect(service.describeJobExecution('fw-7', 'dev-7b').status).toBe('CANCELED');
    expect(service.listJobs({ status: 'IN_PROGRESS' }).map((j) => j.jobId)).toContain('fw-6');
  });
});

describe('limits', () => {
  it('more than maxInFlightPerThing requests of one thing: the rest are RequestThrottled with their clientToken, nothing else is lost', async () => {
    // A store whose commits wait for the test: requests pile up in the service while it writes.
    let open!: () => void;
    const gate = new Promise<void>((r) => { open = r; });
    class GatedStore extends MemoryJobsStore {
      override async commit(changes: readonly JobsChange[]): Promise<void> {
        await gate;
        return super.commit(changes);
      }
    }
    const gated = new GatedStore();
    // This service takes the main one's place on its connection for the test.
    await service.close();
    const svc = await startJobsService({ mqtt: serviceMqtt, store: gated, maxInFlightPerThing: 3, sweepIntervalMs: 0, operatorApi: false });
    const created = svc.createJob({ jobId: 'thr-1', document: {}, targets: ['dev-thr'] }); // waits at the gate too
    open();
    await created;
    const blocker = { open: (): void => undefined };
    const gate2 = new Promise<void>((r) => { blocker.open = r; });
    closers.push(async () => { blocker.open(); await svc.close(); });
    (gated as unknown as { commit: (c: readonly JobsChange[]) => Promise<void> }).commit = async (c) => { await gate2; return MemoryJobsStore.prototype.commit.call(gated, c); };
    const d = await connect('dev-thr');
    const answers: Array<{ topic: string; token: unknown; code: unknown }> = [];
    d.on('message', (m) => {
      const doc = JSON.parse(new TextDecoder().decode(m.payload)) as Record<string, unknown>;
      answers.push({ topic: m.topic.split('/').slice(-1)[0]!, token: doc['clientToken'], code: doc['code'] });
    });
    await d.subscribe('$aws/things/dev-thr/jobs/thr-1/update/+');
    for (let i = 0; i < 5; i++) await d.publish('$aws/things/dev-thr/jobs/thr-1/update', JSON.stringify({ status: 'IN_PROGRESS', statusDetails: { n: String(i) }, clientToken: `t${i}` }));
    await eventually(() => svc.stats().requests === 5 && answers.length === 2, 'two throttled answers while three wait');
    expect(answers).toEqual([{ topic: 'rejected', token: 't3', code: 'RequestThrottled' }, { topic: 'rejected', token: 't4', code: 'RequestThrottled' }]);
    expect(svc.stats().inFlight).toBe(3);
    blocker.open();
    await eventually(() => answers.length === 5, 'the three held requests answered');
    expect(answers.slice(2).map((a) => [a.topic, a.token])).toEqual([['accepted', 't0'], ['accepted', 't1'], ['accepted', 't2']]);
    expect(svc.stats()).toMatchObject({ throttled: 2, accepted: 3 });
    expect(svc.describeJobExecution('thr-1', 'dev-thr').versionNumber).toBe(4);
  });
});
