// CONTINUOUS jobs (targets added later, AssociateTargetsWithJob) and the operator's change feed
// (ListJobExecutionsForJob with updatedSince and pages): what a rollout controller drives.
import { describe, expect, it } from 'vitest';
import { JobsError, JobsMachine, MemoryJobsStore } from '../src/index.js';
import { listExecutionsOf } from '../src/jobs-operator.js';

describe('a CONTINUOUS job', () => {
  it('takes targets later, once each; never completes by itself; a SNAPSHOT job refuses targets', () => {
    const m = new JobsMachine();
    m.createJob({ jobId: 'ro', document: { v: 1 }, targets: ['a'], targetSelection: 'CONTINUOUS' }, 1_000);
    const u = m.update('a', 'ro', { status: 'SUCCEEDED' }, 2_000);
    expect(u.ok && u.changes.map((c) => c.kind)).toEqual(['exec']);
    expect(m.job('ro')?.status).toBe('IN_PROGRESS');
    const c = m.associateTargets('ro', ['a', 'b', 'c', 'b'], 3_000);
    expect(c.map((x) => (x.kind === 'exec' ? x.record.thingName : 'job'))).toEqual(['job', 'b', 'c']);
    expect(m.job('ro')?.targets).toEqual(['a', 'b', 'c']);
    expect(m.execution('a', 'ro')?.status).toBe('SUCCEEDED'); // not queued again
    expect(m.next('b')).toMatchObject({ jobId: 'ro', status: 'QUEUED', executionNumber: 1 });
    expect(m.associateTargets('ro', ['a', 'b'], 4_000)).toEqual([]); // a retry changes nothing
    m.createJob({ jobId: 'snap', document: {}, targets: ['a'] }, 1_000);
    expect(() => m.associateTargets('snap', ['b'], 5_000)).toThrow(expect.objectContaining({ code: 'InvalidRequest' }));
    expect(() => m.associateTargets('nope', ['b'], 5_000)).toThrow(expect.objectContaining({ code: 'ResourceNotFound' }));
    expect(() => m.associateTargets('ro', [], 5_000)).toThrow(RangeError);
    expect(() => m.associateTargets('ro', ['bad/name'], 5_000)).toThrow(JobsError);
    m.cancelJob('ro', false, 6_000);
    expect(m.execution('b', 'ro')?.status).toBe('CANCELED');
    expect(() => m.associateTargets('ro', ['d'], 7_000)).toThrow(expect.objectContaining({ code: 'InvalidStateTransition' }));
    expect(() => m.createJob({ jobId: 'x', document: {}, targets: ['a'], targetSelection: 'SOMETIMES' as never }, 0)).toThrow(RangeError);
  });

  it('survives a store round trip (targetSelection is kept)', async () => {
    const m = new JobsMachine();
    const store = new MemoryJobsStore();
    await store.commit(m.createJob({ jobId: 'ro', document: {}, targets: ['a'], targetSelection: 'CONTINUOUS' }, 0));
    await store.commit(m.associateTargets('ro', ['b'], 1));
    const again = new JobsMachine();
    again.load(await store.load());
    expect(again.job('ro')).toMatchObject({ targetSelection: 'CONTINUOUS', targets: ['a', 'b'] });
    expect(again.next('b')?.jobId).toBe('ro');
  });
});

describe('listJobExecutions: the change feed', () => {
  it('pages in (lastUpdatedAt, thing) order; updatedSince gives only what changed; bad options are typed errors', () => {
    const m = new JobsMachine();
    const things = Array.from({ length: 7 }, (_, i) => `t${i}`);
    m.createJob({ jobId: 'ro', document: {}, targets: things, targetSelection: 'CONTINUOUS' }, 1_000);
    m.update('t5', 'ro', { status: 'SUCCEEDED' }, 2_000);
    m.update('t2', 'ro', { status: 'FAILED', statusDetails: { reason: 'health' } }, 3_000);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const p = listExecutionsOf(m, 'ro', { maxResults: 3, ...(token !== undefined ? { nextToken: token } : {}) });
      seen.push(...p.executions.map((e) => e.thingName));
      token = p.nextToken;
    } while (token !== undefined);
    expect(seen).toEqual(['t0', 't1', 't3', 't4', 't6', 't5', 't2']);
    const changed = listExecutionsOf(m, 'ro', { updatedSince: 2_000 });
    expect(changed.executions).toMatchObject([{ thingName: 't5', status: 'SUCCEEDED', versionNumber: 2 }, { thingName: 't2', status: 'FAILED', statusDetails: { reason: 'health' } }]);
    expect(changed.nextToken).toBeUndefined();
    expect(listExecutionsOf(m, 'ro', { status: 'FAILED' }).executions.map((e) => e.thingName)).toEqual(['t2']);
    expect(() => listExecutionsOf(m, 'ro', { maxResults: 0 })).toThrow(RangeError);
    expect(() => listExecutionsOf(m, 'ro', { status: 'DONE' as never })).toThrow(RangeError);
    expect(() => listExecutionsOf(m, 'ro', { nextToken: 'garbage' })).toThrow(TypeError);
    expect(() => listExecutionsOf(m, 'nope')).toThrow(expect.objectContaining({ code: 'ResourceNotFound' }));
  });
});
