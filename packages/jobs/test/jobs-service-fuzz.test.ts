// Fuzzing the thing that keeps state: one service instance fed random request topics and
// payloads (with jobs created, timeouts swept and the clock moved in between), checked after
// each run: every request answered exactly once on its own /accepted or /rejected, no internal
// error, nothing left in flight, and a normal job still runs afterwards. The broker here is an
// in-process loopback (a fake, for speed: thousands of inputs per run); the same service runs
// against real Mosquitto in jobs-service.mosquitto.test.ts. Plus the wrong-type matrix.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  createJobsClient, createJobsOperatorClient, decodeJobsRequest, JobsMachine, MemoryJobsStore, operatorTopic, parseJobsRequestTopic, startJobsService,
  type MqttLike,
} from '../src/index.js';

type Listener = (...args: unknown[]) => void;

/** A loopback "broker" for one client: records what the service publishes; the test injects what it receives. */
class Loopback implements MqttLike {
  readonly sent: Array<{ topic: string; payload: string }> = [];
  private readonly listeners = new Map<string, Set<Listener>>();
  publish(topic: string, payload: string | Uint8Array): Promise<void> {
    this.sent.push({ topic, payload: typeof payload === 'string' ? payload : new TextDecoder().decode(payload) });
    return Promise.resolve();
  }
  subscribe(): Promise<void> {
    return Promise.resolve();
  }
  on(event: string, fn: Listener): () => void {
    const set = this.listeners.get(event) ?? new Set();
    set.add(fn);
    this.listeners.set(event, set);
    return () => set.delete(fn);
  }
  inject(topic: string, payload: Uint8Array): void {
    for (const fn of this.listeners.get('message') ?? []) fn(topic, payload);
  }
}

const enc = new TextEncoder();
const THINGS = ['t0', 't1', 't2'];
const topicArb = fc.oneof(
  fc.tuple(fc.constantFrom(...THINGS), fc.constantFrom('get', 'start-next')).map(([t, op]) => `$aws/things/${t}/jobs/${op}`),
  fc.tuple(fc.constantFrom(...THINGS), fc.constantFrom('j0', 'j1', 'j2', '$next', 'zz'), fc.constantFrom('get', 'update')).map(([t, j, op]) => `$aws/things/${t}/jobs/${j}/${op}`),
  fc.string({ maxLength: 40 }).map((s) => `$aws/things/${s}`),
);
const payloadArb = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.record({
    status: fc.constantFrom('IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'REJECTED', 'QUEUED', 7),
    expectedVersion: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constant('2'), fc.constant(-1)),
    stepTimeoutInMinutes: fc.constantFrom(-1, 1, 3, 0),
    clientToken: fc.string({ maxLength: 70 }),
    statusDetails: fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 3 }),
  }, { requiredKeys: [] }).map((o) => enc.encode(JSON.stringify(o))),
);
const stepArb = fc.oneof(
  { weight: 8, arbitrary: fc.record({ t: fc.constant('msg' as const), topic: topicArb, payload: payloadArb }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('job' as const), job: fc.nat(2), targets: fc.uniqueArray(fc.constantFrom(...THINGS), { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('tick' as const), minutes: fc.integer({ min: 0, max: 4 }) }) },
);

describe('service fuzz', () => {
  it('random requests: each answered once on its own topic, no internal error, nothing left in flight; a job still runs afterwards', async () => {
    await fc.assert(fc.asyncProperty(fc.array(stepArb, { maxLength: 80 }), async (steps) => {
      const mqtt = new Loopback();
      let now = 1_700_000_000_000;
      const errors: Error[] = [];
      const service = await startJobsService({ mqtt, store: new MemoryJobsStore(), now: () => now, sweepIntervalMs: 0, maxInFlightPerThing: 1000, onError: (e) => errors.push(e) });
      let requests = 0;
      for (const s of steps) {
        if (s.t === 'msg') {
          if (parseJobsRequestTopic(s.topic) !== undefined) requests++;
          mqtt.inject(s.topic, s.payload);
        } else if (s.t === 'job') {
          await service.createJob({ jobId: `j${s.job}`, document: { n: s.job }, targets: s.targets }).catch((e: { code?: string }) => expect(e.code).toBe('ResourceAlreadyExists'));
        } else {
          now += s.minutes * 60_000;
          await service.sweep();
        }
      }
      await service.idle();
      const answers = mqtt.sent.filter((m) => /\/(accepted|rejected)$/.test(m.topic));
      expect(answers).toHaveLength(requests);
      for (const a of answers) {
        const req = a.topic.replace(/\/(accepted|rejected)$/, '');
        expect(parseJobsRequestTopic(req)).toBeDefined();
        const doc = JSON.parse(a.payload) as Record<string, unknown>;
        expect(typeof doc['timestamp']).toBe('number');
        if (a.topic.endsWith('/rejected')) expect(['InvalidJson', 'InvalidRequest', 'InvalidStateTransition', 'ResourceNotFound', 'VersionMismatch', 'TerminalStateReached']).toContain(doc['code']);
      }
      expect(errors).toEqual([]);
      expect(service.stats()).toMatchObject({ requests, errors: 0, inFlight: 0 });
      // still works: a fresh job through the same instance
      await service.createJob({ jobId: 'after', document: {}, targets: ['t9'] });
      mqtt.inject('$aws/things/t9/jobs/start-next', enc.encode('{"clientToken":"s"}'));
      await service.idle();
      mqtt.inject('$aws/things/t9/jobs/after/update', enc.encode('{"status":"SUCCEEDED","expectedVersion":2,"clientToken":"u"}'));
      await service.idle();
      expect(mqtt.sent.at(-3)?.topic).toBe('$aws/things/t9/jobs/after/update/accepted');
      expect(service.describeJob('after').status).toBe('COMPLETED');
      await service.close();
    }), { numRuns: 150 });
  }, 120_000);
});

describe('wrong types', () => {
  const mqtt = new Loopback();
  it('startJobsService', async () => {
    await expect(startJobsService(null as never)).rejects.toThrow(TypeError);
    await expect(startJobsService({ mqtt: {} as never })).rejects.toThrow(TypeError);
    await expect(startJobsService({ mqtt, store: {} as never })).rejects.toThrow(TypeError);
    await expect(startJobsService({ mqtt, now: 5 as never })).rejects.toThrow(TypeError);
    await expect(startJobsService({ mqtt, maxInFlightPerThing: 0 })).rejects.toThrow(RangeError);
    await expect(startJobsService({ mqtt, sweepIntervalMs: -1 })).rejects.toThrow(RangeError);
  });
  it('service operator calls', async () => {
    const s = await startJobsService({ mqtt, sweepIntervalMs: 0 });
    await expect(s.createJob(null as never)).rejects.toThrow(TypeError);
    await expect(s.createJob({ jobId: 'a', document: {}, targets: 'x' as never })).rejects.toThrow(TypeError);
    await expect(s.createJob({ jobId: 'a', document: {}, targets: ['x'], extra: 1 } as never)).rejects.toThrow(TypeError);
    await expect(s.cancelJob('a', { force: 'yes' as never })).rejects.toThrow(TypeError);
    expect(() => s.listJobs({ status: 'DONE' as never })).toThrow(RangeError);
    expect(() => s.describeJob(7 as never)).toThrow(TypeError);
    await s.close();
  });
  it('device and operator clients', async () => {
    await expect(createJobsClient({ mqtt, thingName: 'a/b' })).rejects.toThrow(expect.objectContaining({ code: 'BAD_NAME' }));
    await expect(createJobsClient({ mqtt, thingName: 5 as never })).rejects.toThrow(TypeError);
    await expect(createJobsClient({ mqtt, thingName: 'a', requestTimeoutMs: 0 })).rejects.toThrow(RangeError);
    const c = await createJobsClient({ mqtt, thingName: 'a' });
    await expect(c.update('j', 'QUEUED')).rejects.toThrow(RangeError);
    await expect(c.update('j', 5 as never)).rejects.toThrow(TypeError);
    await expect(c.update('j', 'SUCCEEDED', { expectedVersion: -1 })).rejects.toThrow(RangeError);
    await expect(c.update('j', 'SUCCEEDED', { statusDetails: { k: 1 } as never })).rejects.toThrow(RangeError);
    await expect(c.startNext({ stepTimeoutInMinutes: 0 })).rejects.toThrow(RangeError);
    await expect(c.update('j', 'SUCCEEDED', { clientToken: 'x' } as never)).rejects.toThrow(TypeError);
    await expect(c.describe('a.b')).rejects.toThrow(expect.objectContaining({ code: 'BAD_NAME' }));
    expect(() => c.onNext(5 as never)).toThrow(TypeError);
    await c.close();
    await expect(c.get()).rejects.toThrow(expect.objectContaining({ code: 'CLOSED' }));
    await expect(createJobsOperatorClient({ mqtt, operatorId: 'a/b' })).rejects.toThrow(expect.objectContaining({ code: 'BAD_NAME' }));
    expect(() => operatorTopic('ops', 'drop' as never)).toThrow(RangeError);
  });
  it('machine and decoder', () => {
    expect(() => new JobsMachine().createJob({ jobId: 'a', document: {}, targets: [5 as never] }, 0)).toThrow(TypeError);
    expect(() => decodeJobsRequest('get', [1] as never)).toThrow(TypeError);
  });
});

describe('device client listeners', () => {
  it('a listener that throws or rejects goes to onError, not to an unhandled rejection; the others still run', async () => {
    const mqtt = new Loopback();
    const errors: unknown[] = [];
    const c = await createJobsClient({ mqtt, thingName: 'l1', onError: (e) => errors.push(e) });
    const seen: string[] = [];
    c.onNext(async () => { throw new Error('async boom'); });
    c.onNext(() => { throw new Error('sync boom'); });
    c.onNext((e) => { seen.push(e?.jobId ?? 'none'); });
    mqtt.inject('$aws/things/l1/jobs/notify-next', enc.encode(JSON.stringify({ timestamp: 1, execution: { jobId: 'j1', status: 'QUEUED' } })));
    await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual(['j1']);
    expect(errors.map((e) => (e as Error).message).sort()).toEqual(['async boom', 'sync boom']);
    await c.close();
  });
});
