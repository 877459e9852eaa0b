// The rollout controller driven through the broker: a real Mosquitto with mutual TLS and the
// per-identity ACL of brokerConfig() (devices: their own jobs topics only), the reference jobs
// service, the operator API over MQTT, and scripted device responders (a jobs client per device
// answering SUCCEEDED, or FAILED for the failing hardware revision). The runner's clock is a
// manual one, so rate limits are exact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, type DeviceClient } from '@outpost/device-sdk';
import { createJobsOperatorClient, startJobsService, type JobsOperatorClient, type JobsService } from '@outpost/jobs';
import { tempDir } from '@outpost/test-peers';
import { startFleet, type Fleet } from '../../device-sdk/test/fixtures/fleet.js';
import {
  createRolloutRunner, encodeOtaJobDocument, fileControllerStore, openRolloutController, planRollout, runRollout,
  type Clock, type RolloutJobsApi, type RolloutPlan,
} from '../src/index.js';
import { startResponder, type Responder } from './fixtures/responder.js';

const OPERATOR = 'rollout-ops';
let fleet: Fleet;
let service: JobsService;
let ops: JobsOperatorClient;
const tmp = tempDir('outpost-rollout-');
const closers: Array<() => Promise<unknown>> = [];
const document = encodeOtaJobDocument({ manifest: new Uint8Array([0xd2, 1, 2, 3]), image: 'stream:fw-2-0-0' });

async function mqttFor(id: string): Promise<DeviceClient> {
  const c = await fleet.device(id);
  const mq = await connectDevice({ url: fleet.url, cert: c.cert, key: c.key, ca: fleet.ca.certificatePem, servername: 'localhost', protocolVersion: 5, reconnect: { initialDelayMs: 100, maxDelayMs: 400 }, connectTimeoutMs: 20_000 });
  closers.push(() => mq.close({ force: true }));
  return mq;
}

async function responders(ids: readonly string[], failing: (id: string) => boolean): Promise<Map<string, Responder>> {
  const out = new Map<string, Responder>();
  await Promise.all(ids.map(async (id) => {
    const c = await fleet.device(id);
    const r = await startResponder(id, { url: fleet.url, cert: c.cert, key: c.key, ca: fleet.ca.certificatePem }, { fail: failing(id) });
    closers.push(() => r.close());
    out.set(id, r);
  }));
  return out;
}

const runOtherwise = (runner: Parameters<typeof runRollout>[0]): Promise<unknown> => runRollout(runner, { intervalMs: 10, signal: AbortSignal.timeout(20_000) });

function manualClock(start = Date.UTC(2026, 11, 7)): Clock & { advance(ms: number): void } {
  let t = start;
  return { now: () => t, sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 50))), advance: (ms) => { t += ms; } };
}

async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function allExecutions(jobId: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let next: string | undefined;
  do {
    const p = await ops.listJobExecutions(jobId, { maxResults: 1000, ...(next === undefined ? {} : { nextToken: next }) });
    for (const e of p.executions) out.set(e.thingName, e.status);
    next = p.nextToken;
  } while (next !== undefined);
  return out;
}

beforeAll(async () => {
  fleet = await startFleet({ services: { 'jobs-service': ['$aws/things/+/jobs/#', '$outpost/jobs/ops/#'], [OPERATOR]: [`$outpost/jobs/ops/${OPERATOR}/#`] } });
  service = await startJobsService({ mqtt: await mqttFor('jobs-service'), sweepIntervalMs: 0 });
  ops = await createJobsOperatorClient({ mqtt: await mqttFor(OPERATOR), operatorId: OPERATOR, requestTimeoutMs: 2_000, maxRetries: 10 });
}, 60_000);

afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await ops?.close();
  await service?.close();
  await fleet?.stop();
  tmp.cleanup();
});

describe('a rollout through the broker', () => {
  it('canary → 1% → 10%: the failing hardware revision aborts the 10 % wave, the job is canceled, the 100 % wave never targeted', async () => {
    const devices = Array.from({ length: 40 }, (_, i) => `ro-a-${String(i).padStart(2, '0')}`);
    const plan: RolloutPlan = planRollout({ devices, seed: 'fw-2.0.0-a', canary: devices.slice(0, 2), policy: { successThreshold: 0.9, abortFailureRate: 0.1, abortMinFinished: 2 } });
    const waveOf = new Map(plan.waves.flatMap((w) => w.devices.map((d) => [d, w.index] as const)));
    // hardware revision B: every other device of the 10 % and 100 % waves
    const b = new Set(plan.waves.slice(2).flatMap((w) => w.devices.filter((_, i) => i % 2 === 0)));
    const revB = (d: string): boolean => b.has(d);
    expect(plan.waves[2]!.devices.filter(revB).length).toBeGreaterThanOrEqual(2); // the fault is in the 10 % wave
    const fleetOf = await responders(devices, revB);
    const controller = await openRolloutController(plan, fileControllerStore(`${tmp.path}/a.jsonl`));
    const clock = manualClock();
    const runner = createRolloutRunner({ controller, jobs: ops, jobId: 'ro-a', document, clock });
    const last = await runRollout(runner, { intervalMs: 100, clock, onStep: () => clock.advance(1_000), signal: AbortSignal.timeout(60_000) });
    expect(last).toMatchObject({ status: 'aborted', waveName: '10%' });
    expect(last.reason).toMatch(/wave 10%/);
    expect(last.waves[0]).toMatchObject({ confirmed: 2, failed: 0 });
    expect(last.waves[1]?.failed).toBe(0);
    expect(last.waves[3]?.dispatched).toBe(0);
    expect((await ops.describeJob('ro-a'))).toMatchObject({ status: 'CANCELED', targetSelection: 'CONTINUOUS' });
    const ex = await allExecutions('ro-a');
    for (const d of plan.waves[3]!.devices) expect(ex.has(d)).toBe(false); // never targeted
    for (const [d, status] of ex) {
      expect(waveOf.get(d)).toBeLessThanOrEqual(2);
      if (status === 'SUCCEEDED') expect(revB(d)).toBe(false);
      if (status === 'FAILED') expect(revB(d)).toBe(true);
    }
    // each targeted device started exactly one execution; untargeted ones none; documents parsed
    for (const [d, r] of fleetOf) {
      expect(r.started.length).toBeLessThanOrEqual(1);
      if (ex.get(d) === 'SUCCEEDED' || ex.get(d) === 'FAILED') expect(r.started).toEqual(['ro-a#1']);
      expect(r.badDocuments).toBe(0);
    }
  }, 90_000);

  it('maxPerMinute limits the executions created per minute of the runner clock; pause holds, resume goes on, abort cancels the queued', async () => {
    const devices = Array.from({ length: 12 }, (_, i) => `ro-b-${String(i).padStart(2, '0')}`);
    const plan = planRollout({ devices, seed: 'fw-2.0.0-b', waves: [1], policy: { maxPerMinute: 5 } });
    const controller = await openRolloutController(plan, fileControllerStore(`${tmp.path}/b.jsonl`));
    const clock = manualClock();
    // no devices answer: executions stay QUEUED, so the counts are the runner's doing
    const runner = createRolloutRunner({ controller, jobs: ops, jobId: 'ro-b', document, clock });
    await runner.step();
    expect((await allExecutions('ro-b')).size).toBe(5);
    clock.advance(30_000);
    await runner.step();
    expect((await allExecutions('ro-b')).size).toBe(5); // the same minute
    clock.advance(30_000);
    await runner.step();
    expect((await allExecutions('ro-b')).size).toBe(10);
    await runner.pause();
    clock.advance(120_000);
    expect((await runner.step()).status).toBe('paused');
    expect((await allExecutions('ro-b')).size).toBe(10);
    await runner.resume();
    await runner.step();
    expect((await allExecutions('ro-b')).size).toBe(12);
    await runner.abort('operator saw a bad metric');
    expect(runner.snapshot()).toMatchObject({ status: 'aborted', reason: 'aborted by the operator: operator saw a bad metric' });
    const ex = await allExecutions('ro-b');
    expect([...ex.values()].every((s) => s === 'CANCELED')).toBe(true);
    expect((await ops.describeJob('ro-b')).status).toBe('CANCELED');
    // a runner restarted on the aborted journal: nothing targeted, no error
    const again = createRolloutRunner({ controller: await openRolloutController(plan, fileControllerStore(`${tmp.path}/b.jsonl`)), jobs: ops, jobId: 'ro-b', document, clock });
    expect((await again.step()).status).toBe('aborted');
  }, 60_000);

  it('a job id taken by another job: ROLLOUT_STATE, not a job with two documents', async () => {
    await ops.createJob({ jobId: 'ro-e', document: { other: true }, targets: ['ro-e-9'], targetSelection: 'CONTINUOUS' });
    const plan = planRollout({ devices: ['ro-e-0', 'ro-e-1'], seed: 'fw-2.0.0-e', waves: [1] });
    const runner = createRolloutRunner({ controller: await openRolloutController(plan, fileControllerStore(`${tmp.path}/e.jsonl`)), jobs: ops, jobId: 'ro-e', document, clock: manualClock() });
    await expect(runOtherwise(runner)).rejects.toMatchObject({ code: 'ROLLOUT_STATE' });
    expect((await ops.describeJob('ro-e')).targets).toEqual(['ro-e-9']);
  }, 60_000);

  it('an operator identity the broker refuses (PUBACK 0x87): NOT_AUTHORIZED at the first round, not retried until the signal', async () => {
    // A device's certificate used as an operator: its ACL allows no $outpost/jobs/ops/ publish.
    const intruder = await createJobsOperatorClient({ mqtt: await mqttFor('ro-intruder'), operatorId: 'ro-intruder', requestTimeoutMs: 2_000, maxRetries: 3 });
    closers.push(() => intruder.close());
    const plan = planRollout({ devices: ['ro-n-0'], seed: 'fw-2.0.0-n', waves: [1] });
    const runner = createRolloutRunner({ controller: await openRolloutController(plan, fileControllerStore(`${tmp.path}/n.jsonl`)), jobs: intruder, jobId: 'ro-n', document, clock: manualClock() });
    const errors: Error[] = [];
    const run = runRollout(runner, { intervalMs: 10, signal: AbortSignal.timeout(10_000), onError: (e) => errors.push(e) });
    await expect(run).rejects.toMatchObject({ code: 'NOT_AUTHORIZED' });
    expect(errors).toEqual([]);
    await expect(ops.describeJob('ro-n')).rejects.toMatchObject({ code: 'ResourceNotFound' });
  }, 60_000);

  it('a job canceled outside the rollout (outpost jobs cancel) aborts it with the reason', async () => {
    const devices = Array.from({ length: 6 }, (_, i) => `ro-d-${i}`);
    const plan = planRollout({ devices, seed: 'fw-2.0.0-d', waves: [1], policy: { maxPerMinute: 2 } });
    const clock = manualClock();
    const runner = createRolloutRunner({ controller: await openRolloutController(plan, fileControllerStore(`${tmp.path}/d.jsonl`)), jobs: ops, jobId: 'ro-d', document, clock });
    await runner.step();
    await ops.cancelJob('ro-d');
    clock.advance(60_000);
    const s = await runner.step();
    expect(s.status).toBe('aborted');
    expect(s.reason).toMatch(/job ro-d was canceled or removed outside the rollout/);
    expect((await allExecutions('ro-d')).size).toBe(2);
  }, 60_000);

  it('a runner that dies between its journal and the jobs call is replaced: the new one targets what was dispatched, each device once', async () => {
    const devices = Array.from({ length: 8 }, (_, i) => `ro-c-${i}`);
    const plan = planRollout({ devices, seed: 'fw-2.0.0-c', waves: ['canary', 1], canary: ['ro-c-0', 'ro-c-1'] });
    const path = `${tmp.path}/c.jsonl`;
    const clock = manualClock();
    // the first runner's jobs calls fail after the dispatch is journalled (the process "died")
    const dead: RolloutJobsApi = {
      createJob: async () => { throw new Error('killed'); }, associateTargets: async () => { throw new Error('killed'); },
      listJobExecutions: (id, o) => ops.listJobExecutions(id, o), cancelJob: async () => undefined, describeJob: (id) => ops.describeJob(id),
    };
    const first = createRolloutRunner({ controller: await openRolloutController(plan, fileControllerStore(path)), jobs: dead, jobId: 'ro-c', document, clock });
    await expect(first.step()).rejects.toThrow('killed');
    await expect(ops.describeJob('ro-c')).rejects.toMatchObject({ code: 'ResourceNotFound' });
    const fleetOf = await responders(devices, () => false);
    const controller = await openRolloutController(plan, fileControllerStore(path));
    expect(controller.dispatched()).toEqual(['ro-c-0', 'ro-c-1']);
    const second = createRolloutRunner({ controller, jobs: ops, jobId: 'ro-c', document, clock });
    const last = await runRollout(second, { intervalMs: 100, clock, onStep: () => clock.advance(1_000), signal: AbortSignal.timeout(30_000) });
    expect(last.status).toBe('completed');
    // a third runner over the finished journal changes nothing and creates nothing
    const third = createRolloutRunner({ controller: await openRolloutController(plan, fileControllerStore(path)), jobs: ops, jobId: 'ro-c', document, clock });
    expect((await third.step()).status).toBe('completed');
    await eventually(async () => [...(await allExecutions('ro-c')).values()].every((s) => s === 'SUCCEEDED'), 'all SUCCEEDED');
    expect((await ops.describeJob('ro-c')).targets).toHaveLength(8);
    for (const r of fleetOf.values()) expect(r.started).toEqual(['ro-c#1']);
  }, 60_000);
});
