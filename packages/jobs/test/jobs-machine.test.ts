// The job execution state machine with an injected clock: AWS's transitions, versions,
// rejections, timeouts, idempotent retries; then random command sequences (fast-check) with
// the invariants checked after every step.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isTerminalStatus, JOB_EXECUTION_TRANSITIONS, JobsError, JobsMachine, type ExecutionRecord, type JobsChange } from '../src/index.js';

const MIN = 60_000;

function machineWith(targets = ['t1'], timeout?: number): JobsMachine {
  const m = new JobsMachine();
  m.createJob({ jobId: 'j1', document: { op: 'install' }, targets, ...(timeout !== undefined ? { timeoutConfig: { inProgressTimeoutInMinutes: timeout } } : {}) }, 1_000);
  return m;
}

describe('one execution', () => {
  it('QUEUED → IN_PROGRESS → SUCCEEDED; versions rise by one; the job completes', () => {
    const m = machineWith();
    expect(m.execution('t1', 'j1')).toMatchObject({ status: 'QUEUED', versionNumber: 1, executionNumber: 1 });
    const s = m.startNext('t1', { statusDetails: { step: 'download' } }, 2_000);
    expect(s).toMatchObject({ ok: true, body: { execution: { jobId: 'j1', status: 'IN_PROGRESS', versionNumber: 2, jobDocument: { op: 'install' }, statusDetails: { step: 'download' }, startedAt: 2 } } });
    const u = m.update('t1', 'j1', { status: 'SUCCEEDED', expectedVersion: 2, includeJobExecutionState: true }, 3_000);
    expect(u).toMatchObject({ ok: true, body: { executionState: { status: 'SUCCEEDED', versionNumber: 3, statusDetails: { step: 'download' } } } });
    expect(u.ok && u.changes.map((c) => c.kind)).toEqual(['exec', 'job']);
    expect(m.job('j1')?.status).toBe('COMPLETED');
    expect(m.next('t1')).toBeUndefined();
  });

  it('VersionMismatch carries the execution state and changes nothing', () => {
    const m = machineWith();
    m.startNext('t1', {}, 2_000);
    const r = m.update('t1', 'j1', { status: 'SUCCEEDED', expectedVersion: 1 }, 3_000);
    expect(r).toMatchObject({ ok: false, code: 'VersionMismatch', executionState: { status: 'IN_PROGRESS', versionNumber: 2 } });
    expect(m.execution('t1', 'j1')?.versionNumber).toBe(2);
  });

  it('a terminal execution: update → InvalidStateTransition, describe → TerminalStateReached', () => {
    const m = machineWith();
    m.update('t1', 'j1', { status: 'REJECTED' }, 2_000);
    expect(m.update('t1', 'j1', { status: 'IN_PROGRESS' }, 3_000)).toMatchObject({ ok: false, code: 'InvalidStateTransition', executionState: { status: 'REJECTED' } });
    expect(m.describe('t1', 'j1', {}, 3_000)).toMatchObject({ ok: false, code: 'TerminalStateReached' });
  });

  it('unknown job or wrong executionNumber → ResourceNotFound', () => {
    const m = machineWith();
    expect(m.update('t1', 'nope', { status: 'IN_PROGRESS' }, 2_000)).toMatchObject({ ok: false, code: 'ResourceNotFound' });
    expect(m.update('t2', 'j1', { status: 'IN_PROGRESS' }, 2_000)).toMatchObject({ ok: false, code: 'ResourceNotFound' });
    expect(m.describe('t1', 'j1', { executionNumber: 9 }, 2_000)).toMatchObject({ ok: false, code: 'ResourceNotFound' });
  });

  it('a retry with the same clientToken is answered again and not applied twice', () => {
    const m = machineWith();
    m.startNext('t1', {}, 2_000);
    const req = { status: 'SUCCEEDED' as const, expectedVersion: 2, clientToken: 'c-7', includeJobExecutionState: true };
    const first = m.update('t1', 'j1', req, 3_000);
    const again = m.update('t1', 'j1', req, 4_000);
    expect(first.ok && again.ok).toBe(true);
    expect(again).toMatchObject({ ok: true, changes: [], body: { executionState: { status: 'SUCCEEDED', versionNumber: 3 } } });
    // another token with the stale version is a real conflict
    expect(m.update('t1', 'j1', { ...req, clientToken: 'c-8' }, 4_000)).toMatchObject({ ok: false, code: 'InvalidStateTransition' });
  });

  it('step timeout → TIMED_OUT at the deadline, not before; an update with a new step timeout resets it; -1 cancels it', () => {
    const m = machineWith();
    m.startNext('t1', { stepTimeoutInMinutes: 5 }, 0);
    expect(m.sweep(5 * MIN - 1)).toEqual([]);
    expect(m.update('t1', 'j1', { status: 'IN_PROGRESS', stepTimeoutInMinutes: 5 }, 4 * MIN).ok).toBe(true);
    expect(m.sweep(5 * MIN)).toEqual([]);
    expect(m.describe('t1', 'j1', {}, 5 * MIN)).toMatchObject({ ok: true, body: { execution: { approximateSecondsBeforeTimedOut: 240 } } });
    const out = m.sweep(9 * MIN);
    expect(out.map((c) => c.kind)).toEqual(['exec', 'job']);
    expect(m.execution('t1', 'j1')).toMatchObject({ status: 'TIMED_OUT', versionNumber: 4 });
    expect(m.update('t1', 'j1', { status: 'SUCCEEDED' }, 9 * MIN)).toMatchObject({ ok: false, code: 'InvalidStateTransition' });

    const m2 = machineWith();
    m2.startNext('t1', { stepTimeoutInMinutes: 1 }, 0);
    m2.update('t1', 'j1', { status: 'IN_PROGRESS', stepTimeoutInMinutes: -1 }, 10);
    expect(m2.sweep(100 * MIN)).toEqual([]);
  });

  it("the job's in-progress timeout runs from IN_PROGRESS and is not reset by updates", () => {
    const m = machineWith(['t1'], 10);
    expect(m.sweep(60 * MIN)).toEqual([]); // QUEUED: no timer
    m.startNext('t1', {}, 60 * MIN);
    m.update('t1', 'j1', { status: 'IN_PROGRESS', stepTimeoutInMinutes: 30 }, 65 * MIN);
    expect(m.sweep(70 * MIN - 1)).toEqual([]);
    expect(m.sweep(70 * MIN)).toHaveLength(2);
    expect(m.execution('t1', 'j1')?.status).toBe('TIMED_OUT');
  });

  it('cancel: QUEUED executions CANCELED; IN_PROGRESS ones only with force', () => {
    const m = machineWith(['t1', 't2']);
    m.startNext('t1', {}, 2_000);
    m.cancelJob('j1', false, 3_000);
    expect(m.execution('t1', 'j1')?.status).toBe('IN_PROGRESS');
    expect(m.execution('t2', 'j1')?.status).toBe('CANCELED');
    expect(() => m.cancelJob('j1', true, 4_000)).toThrow(expect.objectContaining({ code: 'InvalidStateTransition' }));
    const m2 = machineWith(['t1']);
    m2.startNext('t1', {}, 2_000);
    m2.cancelJob('j1', true, 3_000);
    expect(m2.execution('t1', 'j1')?.status).toBe('CANCELED');
    expect(() => m2.cancelJob('zz', false, 1)).toThrow(JobsError);
  });

  it('start-next returns an IN_PROGRESS execution before starting a QUEUED one', () => {
    const m = new JobsMachine();
    m.createJob({ jobId: 'a', document: {}, targets: ['t'] }, 0);
    m.createJob({ jobId: 'b', document: {}, targets: ['t'] }, 0);
    m.update('t', 'b', { status: 'IN_PROGRESS' }, 1);
    const s = m.startNext('t', {}, 2);
    expect(s.ok && s.body.execution?.jobId).toBe('b');
    expect(s.ok && s.changes).toEqual([]);
    expect(m.getPending('t', {})).toMatchObject({ ok: true, body: { inProgressJobs: [{ jobId: 'b' }], queuedJobs: [{ jobId: 'a' }] } });
  });

  it('createJob refuses bad specs with TypeError / RangeError and a used id with ResourceAlreadyExists', () => {
    const m = machineWith();
    expect(() => m.createJob({ jobId: 'j1', document: {}, targets: ['x'] }, 0)).toThrow(expect.objectContaining({ code: 'ResourceAlreadyExists' }));
    expect(() => m.createJob({ jobId: 'j2', document: [] as never, targets: ['x'] }, 0)).toThrow(TypeError);
    expect(() => m.createJob({ jobId: 'j2', document: {}, targets: [] }, 0)).toThrow(RangeError);
    expect(() => m.createJob({ jobId: 'j2', document: { big: 'x'.repeat(40_000) }, targets: ['x'] }, 0)).toThrow(RangeError);
    expect(() => m.createJob({ jobId: 'j2', document: {}, targets: ['x'], timeoutConfig: { inProgressTimeoutInMinutes: 0 } }, 0)).toThrow(RangeError);
    expect(() => m.createJob({ jobId: 'j 2', document: {}, targets: ['x'] }, 0)).toThrow(JobsError);
  });
});

// --- random command sequences ---

type Cmd =
  | { t: 'create'; job: number; things: number[]; timeout: number | undefined }
  | { t: 'startNext'; thing: number; step: number | undefined }
  | { t: 'update'; thing: number; pick: number; status: 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'REJECTED'; version: 'right' | 'wrong' | 'none'; step: number | undefined }
  | { t: 'retry' }
  | { t: 'advance'; minutes: number }
  | { t: 'cancel'; job: number; force: boolean };

const THINGS = ['t0', 't1', 't2'];
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({ t: fc.constant('create' as const), job: fc.nat(4), things: fc.uniqueArray(fc.nat(2), { minLength: 1, maxLength: 3 }), timeout: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }) }),
  fc.record({ t: fc.constant('startNext' as const), thing: fc.nat(2), step: fc.option(fc.constantFrom(-1, 1, 5, 20), { nil: undefined }) }),
  fc.record({ t: fc.constant('update' as const), thing: fc.nat(2), pick: fc.nat(5), status: fc.constantFrom('IN_PROGRESS' as const, 'SUCCEEDED' as const, 'FAILED' as const, 'REJECTED' as const), version: fc.constantFrom('right' as const, 'wrong' as const, 'none' as const), step: fc.option(fc.constantFrom(-1, 2, 10), { nil: undefined }) }),
  fc.record({ t: fc.constant('retry' as const) }),
  fc.record({ t: fc.constant('advance' as const), minutes: fc.integer({ min: 0, max: 15 }) }),
  fc.record({ t: fc.constant('cancel' as const), job: fc.nat(4), force: fc.boolean() }),
);

describe('state machine properties (fast-check command sequences)', () => {
  it('terminal stays terminal; every change raises the version by exactly one; one IN_PROGRESS per thing; no overdue execution after a sweep; retries change nothing', () => {
    fc.assert(fc.property(fc.array(cmd, { maxLength: 60 }), (cmds) => {
      const m = new JobsMachine();
      let now = 1_000_000;
      let token = 0;
      const versions = new Map<string, number>();
      const terminal = new Map<string, string>();
      let last: { thing: string; jobId: string; req: Parameters<JobsMachine['update']>[2] } | undefined;
      const seen = (changes: readonly JobsChange[]): void => {
        for (const c of changes) {
          if (c.kind !== 'exec') continue;
          const k = `${c.record.thingName}/${c.record.jobId}`;
          const before = versions.get(k);
          expect(c.record.versionNumber).toBe(before === undefined ? 1 : before + 1);
          versions.set(k, c.record.versionNumber);
          expect(terminal.has(k)).toBe(false); // a terminal execution never changes again
          if (isTerminalStatus(c.record.status)) terminal.set(k, c.record.status);
        }
      };
      for (const c of cmds) {
        switch (c.t) {
          case 'create':
            try {
              seen(m.createJob({ jobId: `j${c.job}`, document: { n: c.job }, targets: c.things.map((i) => THINGS[i]!), ...(c.timeout !== undefined ? { timeoutConfig: { inProgressTimeoutInMinutes: c.timeout } } : {}) }, now));
            } catch (e) {
              expect((e as JobsError).code).toBe('ResourceAlreadyExists');
            }
            break;
          case 'startNext': {
            const out = m.startNext(THINGS[c.thing]!, c.step === undefined ? {} : { stepTimeoutInMinutes: c.step }, now);
            expect(out.ok).toBe(true);
            if (out.ok) seen(out.changes);
            break;
          }
          case 'update': {
            // A device updates what it started: the executions of this thing that are IN_PROGRESS.
            const thing = THINGS[c.thing]!;
            const mine = m.pending(thing).filter((e) => e.status === 'IN_PROGRESS');
            const e = mine[c.pick % Math.max(1, mine.length)];
            if (e === undefined) break;
            const req = {
              status: c.status, clientToken: `tok-${++token}`,
              ...(c.version === 'right' ? { expectedVersion: e.versionNumber } : c.version === 'wrong' ? { expectedVersion: e.versionNumber + 1 } : {}),
              ...(c.step !== undefined ? { stepTimeoutInMinutes: c.step } : {}),
            };
            const out = m.update(thing, e.jobId, req, now);
            if (c.version === 'wrong') expect(out).toMatchObject({ ok: false, code: 'VersionMismatch' });
            else expect(out.ok).toBe(true);
            if (out.ok) {
              seen(out.changes);
              last = { thing, jobId: e.jobId, req };
            }
            break;
          }
          case 'retry': {
            if (last === undefined) break;
            const out = m.update(last.thing, last.jobId, last.req, now);
            expect(out).toMatchObject({ ok: true, changes: [] });
            break;
          }
          case 'advance':
            now += c.minutes * 60_000;
            seen(m.sweep(now));
            break;
          case 'cancel':
            try {
              seen(m.cancelJob(`j${c.job}`, c.force, now));
            } catch (e) {
              expect(['ResourceNotFound', 'InvalidStateTransition']).toContain((e as JobsError).code);
            }
            break;
        }
        for (const thing of THINGS) {
          const p = m.pending(thing);
          expect(p.filter((e) => e.status === 'IN_PROGRESS').length).toBeLessThanOrEqual(1);
          for (const e of p as ExecutionRecord[]) expect(Math.min(e.stepDeadline ?? Infinity, e.inProgressDeadline ?? Infinity)).toBeGreaterThan(c.t === 'advance' ? now : -Infinity);
        }
        for (const j of m.allJobs()) {
          const all = m.executionsOf(j.jobId);
          if (j.status === 'COMPLETED') expect(all.every((e) => isTerminalStatus(e.status))).toBe(true);
          if (j.status === 'IN_PROGRESS' && all.every((e) => isTerminalStatus(e.status))) throw new Error(`job ${j.jobId} should be COMPLETED`);
        }
      }
      // the executions' statuses only took allowed steps (checked by the table at the end, too)
      for (const [, s] of terminal) expect(JOB_EXECUTION_TRANSITIONS[s as 'SUCCEEDED']).toEqual([]);
    }), { numRuns: 400 });
  });
});
