// The job execution state machine: pure and synchronous, time passed in by the caller. Every
// operation returns an outcome and the records it changed (for the store); the in-memory state
// is updated at once so the next request sees it. AWS IoT Core Developer Guide, "Jobs device
// MQTT API operations" and "Job execution states".

import { JobsError, type JobsRejectCode } from './errors.js';
import { checkCancel, checkJobSpec, checkTargets, type JobSpec } from './jobs-operator.js';
import { checkJobId } from './topics.js';
import {
  DEFAULT_JOBS_LIMITS, isTerminalStatus, JOB_EXECUTION_TRANSITIONS,
  type ExecutionRecord, type JobExecutionStatus, type JobRecord, type JobsLimits,
} from './jobs-model.js';
import type {
  DescribeRequest, GetPendingRequest, JobExecution, JobExecutionState, JobExecutionSummary, StartNextRequest, UpdateRequest,
} from './jobs-protocol.js';

/**
 * A record a machine operation changed, to be made durable before the answer goes out.
 *
 * @example
 * ```ts
 * import type { JobsChange } from '@outpost/jobs';
 * const isJob = (c: JobsChange): boolean => c.kind === 'job';
 * ```
 */
export type JobsChange =
  | { readonly kind: 'job'; readonly record: JobRecord }
  | { readonly kind: 'exec'; readonly record: ExecutionRecord };

/**
 * The outcome of a machine operation: an answer body and the changes, or a rejection.
 *
 * @example
 * ```ts
 * import type { MachineOutcome } from '@outpost/jobs';
 * const changed = (o: MachineOutcome<unknown>): number => (o.ok ? o.changes.length : 0);
 * ```
 */
export type MachineOutcome<T> =
  | { readonly ok: true; readonly body: T; readonly changes: readonly JobsChange[] }
  | { readonly ok: false; readonly code: JobsRejectCode; readonly message: string; readonly executionState?: JobExecutionState };

const MINUTE = 60_000;
const sec = (ms: number): number => Math.floor(ms / 1000);
const key = (thing: string, jobId: string): string => `${thing}/${jobId}`;
const isPending = (s: JobExecutionStatus | undefined): boolean => s === 'QUEUED' || s === 'IN_PROGRESS';

/** Rejections (a function so the union narrows). */
function no(code: JobsRejectCode, message: string, e?: ExecutionRecord): MachineOutcome<never> {
  return e === undefined ? { ok: false, code, message } : { ok: false, code, message, executionState: stateOf(e) };
}

/** The state part of an execution record. @internal */
export function stateOf(e: ExecutionRecord): JobExecutionState {
  return Object.keys(e.statusDetails).length === 0
    ? { status: e.status, versionNumber: e.versionNumber }
    : { status: e.status, statusDetails: { ...e.statusDetails }, versionNumber: e.versionNumber };
}

/** The summary of an execution record. @internal */
export function summaryOf(e: ExecutionRecord): JobExecutionSummary {
  return {
    jobId: e.jobId, queuedAt: sec(e.queuedAt), ...(e.startedAt !== undefined ? { startedAt: sec(e.startedAt) } : {}),
    lastUpdatedAt: sec(e.lastUpdatedAt), versionNumber: e.versionNumber, executionNumber: e.executionNumber,
  };
}

/**
 * The jobs and executions of a service in memory, with AWS's rules. Pure: the caller passes the
 * time (epoch ms) to every operation and stores the returned changes.
 *
 * @example
 * ```ts
 * import { JobsMachine } from '@outpost/jobs';
 * const m = new JobsMachine();
 * m.createJob({ jobId: 'j1', document: { op: 'reboot' }, targets: ['lamp'] }, 0).length; // 2
 * const started = m.startNext('lamp', {}, 1000);
 * started.ok ? started.body.execution?.status : undefined; // 'IN_PROGRESS'
 * ```
 */
export class JobsMachine {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly execs = new Map<string, ExecutionRecord>();
  /** Per thing: its executions' job ids in queue order (terminal ones are dropped lazily). */
  private readonly pendingByThing = new Map<string, string[]>();
  /** Executions with a running timer. */
  private readonly timed = new Set<string>();
  private seq = 0;
  readonly limits: JobsLimits;

  constructor(limits: Partial<JobsLimits> = {}) {
    this.limits = { ...DEFAULT_JOBS_LIMITS, ...limits };
  }

  /** Loads stored records (a store's `load()`); replaces nothing already loaded with the same key. */
  load(records: { readonly jobs: readonly JobRecord[]; readonly executions: readonly ExecutionRecord[] }): void {
    for (const j of records.jobs) this.putJob(j);
    for (const e of [...records.executions].sort((a, b) => a.seq - b.seq)) this.putExec(e);
  }

  job(jobId: string): JobRecord | undefined {
    return this.jobs.get(jobId);
  }

  execution(thingName: string, jobId: string): ExecutionRecord | undefined {
    return this.execs.get(key(thingName, jobId));
  }

  allJobs(): JobRecord[] {
    return [...this.jobs.values()].sort((a, b) => a.seq - b.seq);
  }

  executionsOf(jobId: string): ExecutionRecord[] {
    const j = this.jobs.get(jobId);
    if (j === undefined) return [];
    return j.targets.map((t) => this.execs.get(key(t, jobId))).filter((e): e is ExecutionRecord => e !== undefined);
  }

  /** @internal */
  putJob(j: JobRecord): void {
    this.jobs.set(j.jobId, j);
    this.seq = Math.max(this.seq, j.seq);
  }

  /** @internal */
  putExec(e: ExecutionRecord): void {
    const k = key(e.thingName, e.jobId);
    const had = this.execs.get(k);
    this.execs.set(k, e);
    this.seq = Math.max(this.seq, e.seq);
    if (had === undefined && isPending(e.status)) {
      const list = this.pendingByThing.get(e.thingName) ?? [];
      list.push(e.jobId);
      this.pendingByThing.set(e.thingName, list);
    }
    if (isPending(e.status) && (e.stepDeadline !== undefined || e.inProgressDeadline !== undefined)) this.timed.add(k);
    else this.timed.delete(k);
  }

  /** The thing's pending executions: IN_PROGRESS first, then QUEUED, each in queue order. */
  pending(thingName: string): ExecutionRecord[] {
    const ids = this.pendingByThing.get(thingName);
    if (ids === undefined) return [];
    const live = ids.map((id) => this.execs.get(key(thingName, id))).filter((e): e is ExecutionRecord => e !== undefined && isPending(e.status));
    if (live.length !== ids.length) {
      if (live.length === 0) this.pendingByThing.delete(thingName);
      else this.pendingByThing.set(thingName, live.map((e) => e.jobId));
    }
    return [...live.filter((e) => e.status === 'IN_PROGRESS'), ...live.filter((e) => e.status === 'QUEUED')];
  }

  /** The next pending execution of a thing (what `start-next`, `$next` and `notify-next` name). */
  next(thingName: string): ExecutionRecord | undefined {
    return this.pending(thingName)[0];
  }

  /** The execution as the device API shows it. */
  view(e: ExecutionRecord, now: number, includeDocument: boolean): JobExecution {
    const deadline = Math.min(e.stepDeadline ?? Infinity, e.inProgressDeadline ?? Infinity);
    const doc = includeDocument ? this.jobs.get(e.jobId)?.document : undefined;
    return {
      ...summaryOf(e), thingName: e.thingName, status: e.status,
      ...(Object.keys(e.statusDetails).length > 0 ? { statusDetails: { ...e.statusDetails } } : {}),
      ...(doc !== undefined ? { jobDocument: doc } : {}),
      ...(deadline !== Infinity && isPending(e.status) ? { approximateSecondsBeforeTimedOut: Math.max(0, Math.ceil((deadline - now) / 1000)) } : {}),
    };
  }

  /** GetPendingJobExecutions. */
  getPending(thingName: string, _req: GetPendingRequest): MachineOutcome<{ inProgressJobs: JobExecutionSummary[]; queuedJobs: JobExecutionSummary[] }> {
    const p = this.pending(thingName).slice(0, this.limits.maxPendingInNotify * 10);
    return { ok: true, changes: [], body: { inProgressJobs: p.filter((e) => e.status === 'IN_PROGRESS').map(summaryOf), queuedJobs: p.filter((e) => e.status === 'QUEUED').map(summaryOf) } };
  }

  /** The `notify` document's `jobs` part (at most `maxPendingInNotify` executions). */
  notifyJobs(thingName: string): { QUEUED?: JobExecutionSummary[]; IN_PROGRESS?: JobExecutionSummary[] } {
    const p = this.pending(thingName).slice(0, this.limits.maxPendingInNotify);
    const q = p.filter((e) => e.status === 'QUEUED').map(summaryOf);
    const i = p.filter((e) => e.status === 'IN_PROGRESS').map(summaryOf);
    return { ...(q.length > 0 ? { QUEUED: q } : {}), ...(i.length > 0 ? { IN_PROGRESS: i } : {}) };
  }

  /**
   * StartNextPendingJobExecution: the next pending execution; a QUEUED one moves to IN_PROGRESS
   * (its timers start), an IN_PROGRESS one is returned as it is.
   */
  startNext(thingName: string, req: StartNextRequest, now: number): MachineOutcome<{ execution?: JobExecution }> {
    const e = this.next(thingName);
    if (e === undefined) return { ok: true, body: {}, changes: [] };
    if (e.status === 'IN_PROGRESS') return { ok: true, body: { execution: this.view(e, now, true) }, changes: [] };
    const r = this.apply(e, 'IN_PROGRESS', now, req.statusDetails, req.stepTimeoutInMinutes);
    return { ok: true, body: { execution: this.view(r, now, true) }, changes: this.changesFor(r, now) };
  }

  /** DescribeJobExecution (`$next` for the next pending one). */
  describe(thingName: string, jobId: string, req: DescribeRequest, now: number): MachineOutcome<{ execution?: JobExecution }> {
    const inc = req.includeJobDocument ?? true;
    if (jobId === '$next') {
      const n = this.next(thingName);
      return { ok: true, changes: [], body: n === undefined ? {} : { execution: this.view(n, now, inc) } };
    }
    const e = this.execution(thingName, jobId);
    if (e === undefined || (req.executionNumber !== undefined && req.executionNumber !== e.executionNumber)) {
      return no('ResourceNotFound', `no execution of job ${jobId} on ${thingName}`);
    }
    // "TerminalStateReached: occurs when a command to describe a job is performed on a job that is in a terminal state."
    if (isTerminalStatus(e.status)) return no('TerminalStateReached', `job ${jobId} on ${thingName} is ${e.status}`, e);
    return { ok: true, changes: [], body: { execution: this.view(e, now, inc) } };
  }

  /**
   * UpdateJobExecution. A retry of the update last applied (same clientToken, status and
   * expectedVersion) is answered as accepted again without a second change.
   */
  update(thingName: string, jobId: string, req: UpdateRequest, now: number): MachineOutcome<{ executionState?: JobExecutionState; jobDocument?: JobRecord['document'] }> {
    const e = this.execution(thingName, jobId);
    if (e === undefined || (req.executionNumber !== undefined && req.executionNumber !== e.executionNumber)) {
      return no('ResourceNotFound', `no execution of job ${jobId} on ${thingName}`);
    }
    const body = (r: ExecutionRecord): { executionState?: JobExecutionState; jobDocument?: JobRecord['document'] } => {
      const doc = req.includeJobDocument === true ? this.jobs.get(jobId)?.document : undefined;
      return { ...(req.includeJobExecutionState === true ? { executionState: stateOf(r) } : {}), ...(doc !== undefined ? { jobDocument: doc } : {}) };
    };
    const last = e.lastRequest;
    if (req.clientToken !== undefined && last !== undefined && last.clientToken === req.clientToken && last.status === req.status && last.expectedVersion === req.expectedVersion) {
      return { ok: true, body: body(e), changes: [] };
    }
    if (isTerminalStatus(e.status)) return no('InvalidStateTransition', `job ${jobId} on ${thingName} is ${e.status}: it cannot move to ${req.status}`, e);
    if (req.expectedVersion !== undefined && req.expectedVersion !== e.versionNumber) {
      return no('VersionMismatch', `expected version ${req.expectedVersion}, the execution is at ${e.versionNumber}`, e);
    }
    if (!JOB_EXECUTION_TRANSITIONS[e.status].includes(req.status)) return no('InvalidStateTransition', `${e.status} cannot move to ${req.status}`, e);
    const lastRequest = req.clientToken === undefined ? undefined : { clientToken: req.clientToken, status: req.status, ...(req.expectedVersion !== undefined ? { expectedVersion: req.expectedVersion } : {}) };
    const r = this.apply(e, req.status, now, req.statusDetails, req.stepTimeoutInMinutes, lastRequest);
    return { ok: true, body: body(r), changes: this.changesFor(r, now) };
  }

  /** Moves an execution (already checked) and stores it in memory. */
  private apply(e: ExecutionRecord, status: JobExecutionStatus, now: number, details?: Readonly<Record<string, string>>, step?: number, lastRequest?: ExecutionRecord['lastRequest']): ExecutionRecord {
    const terminal = isTerminalStatus(status);
    const starting = e.status === 'QUEUED' && status === 'IN_PROGRESS';
    const timeout = this.jobs.get(e.jobId)?.inProgressTimeoutInMinutes;
    const stepDeadline = terminal || step === -1 ? undefined : step !== undefined ? now + step * MINUTE : e.stepDeadline;
    const inProgressDeadline = terminal ? undefined : starting && timeout !== undefined ? now + timeout * MINUTE : e.inProgressDeadline;
    const { stepDeadline: _s, inProgressDeadline: _i, lastRequest: _l, startedAt: _st, ...rest } = e;
    const r: ExecutionRecord = {
      ...rest, status, statusDetails: details ?? e.statusDetails, lastUpdatedAt: now, versionNumber: e.versionNumber + 1,
      ...(e.startedAt !== undefined ? { startedAt: e.startedAt } : starting ? { startedAt: now } : {}),
      ...(stepDeadline !== undefined ? { stepDeadline } : {}),
      ...(inProgressDeadline !== undefined ? { inProgressDeadline } : {}),
      ...(lastRequest !== undefined ? { lastRequest } : e.lastRequest !== undefined ? { lastRequest: e.lastRequest } : {}),
    };
    this.putExec(r);
    return r;
  }

  /** The execution change, plus the job's when this made every execution of the job terminal. */
  private changesFor(r: ExecutionRecord, now: number): JobsChange[] {
    const changes: JobsChange[] = [{ kind: 'exec', record: r }];
    const j = this.jobs.get(r.jobId);
    // A CONTINUOUS job stays IN_PROGRESS: targets are added to it later (AssociateTargetsWithJob).
    if (j !== undefined && j.status === 'IN_PROGRESS' && j.targetSelection !== 'CONTINUOUS' && isTerminalStatus(r.status) && this.executionsOf(j.jobId).every((x) => isTerminalStatus(x.status))) {
      const done: JobRecord = { ...j, status: 'COMPLETED', lastUpdatedAt: now };
      this.putJob(done);
      changes.push({ kind: 'job', record: done });
    }
    return changes;
  }

  /** Moves every execution whose step or in-progress timer has run out at `now` to TIMED_OUT. */
  sweep(now: number): JobsChange[] {
    const changes: JobsChange[] = [];
    for (const k of [...this.timed]) {
      const e = this.execs.get(k);
      if (e === undefined || e.status !== 'IN_PROGRESS') {
        this.timed.delete(k);
        continue;
      }
      if (Math.min(e.stepDeadline ?? Infinity, e.inProgressDeadline ?? Infinity) <= now) changes.push(...this.changesFor(this.apply(e, 'TIMED_OUT', now), now));
    }
    return changes;
  }

  /**
   * CreateJob: checks the spec and queues an execution (version 1) on every target.
   *
   * @throws TypeError / RangeError for a bad spec; {@link JobsError} `ResourceAlreadyExists`.
   */
  createJob(spec: JobSpec, now: number): JobsChange[] {
    const s = checkJobSpec(spec, this.limits);
    if (this.jobs.has(s.jobId)) throw new JobsError('ResourceAlreadyExists', `job ${s.jobId} exists`);
    return this.addJob(s, now);
  }

  /**
   * CancelJob: QUEUED executions become CANCELED, IN_PROGRESS ones too with `force`.
   *
   * @throws {@link JobsError} `ResourceNotFound`, `InvalidStateTransition` (the job is not IN_PROGRESS).
   */
  cancelJob(jobId: string, force: boolean, now: number): JobsChange[] {
    checkCancel(this, jobId);
    return this.endJob(jobId, 'CANCELED', force, now);
  }

  /**
   * AssociateTargetsWithJob: queues an execution of a CONTINUOUS job on every target that has
   * none yet; a target the job already has is left as it is (so a retry changes nothing).
   *
   * @throws TypeError / RangeError for bad targets; {@link JobsError} `ResourceNotFound`,
   * `InvalidRequest` (not a CONTINUOUS job), `InvalidStateTransition` (the job is not IN_PROGRESS).
   */
  associateTargets(jobId: string, targets: readonly string[], now: number): JobsChange[] {
    const list = checkTargets(targets, this.limits, 'associateTargets');
    const j = this.jobs.get(checkJobId(jobId));
    if (j === undefined) throw new JobsError('ResourceNotFound', `no job ${jobId}`);
    if (j.targetSelection !== 'CONTINUOUS') throw new JobsError('InvalidRequest', `job ${jobId} is a SNAPSHOT job: targets can be added to CONTINUOUS jobs only`);
    if (j.status !== 'IN_PROGRESS') throw new JobsError('InvalidStateTransition', `job ${jobId} is ${j.status}`);
    const have = new Set(j.targets);
    const fresh = list.filter((t) => !have.has(t));
    if (fresh.length === 0) return [];
    if (j.targets.length + fresh.length > this.limits.maxTargets) throw new RangeError(`associateTargets: job ${jobId} would have more than ${this.limits.maxTargets} targets`);
    const job: JobRecord = { ...j, targets: [...j.targets, ...fresh], lastUpdatedAt: now };
    this.putJob(job);
    return [{ kind: 'job', record: job }, ...fresh.map((t) => this.queue(jobId, t, now))];
  }

  private queue(jobId: string, thingName: string, now: number): JobsChange {
    const e: ExecutionRecord = { jobId, thingName, status: 'QUEUED', statusDetails: {}, queuedAt: now, lastUpdatedAt: now, versionNumber: 1, executionNumber: 1, seq: ++this.seq };
    this.putExec(e);
    return { kind: 'exec', record: e };
  }

  /** @internal Creates the job's records from a checked spec. */
  addJob(spec: Omit<JobRecord, 'seq' | 'status' | 'createdAt' | 'lastUpdatedAt'>, now: number): JobsChange[] {
    const job: JobRecord = { ...spec, status: 'IN_PROGRESS', createdAt: now, lastUpdatedAt: now, seq: ++this.seq };
    this.putJob(job);
    return [{ kind: 'job', record: job }, ...spec.targets.map((t) => this.queue(spec.jobId, t, now))];
  }

  /** @internal Moves the job's pending executions to `status` (CANCELED or REMOVED); IN_PROGRESS ones only with `force`. */
  endJob(jobId: string, status: 'CANCELED' | 'REMOVED', force: boolean, now: number): JobsChange[] {
    const j = this.jobs.get(jobId);
    if (j === undefined) return [];
    const changes: JobsChange[] = [];
    for (const e of this.executionsOf(jobId)) {
      if (e.status === 'QUEUED' || (force && e.status === 'IN_PROGRESS')) changes.push({ kind: 'exec', record: this.apply(e, status, now) });
    }
    const ended: JobRecord = { ...j, status: 'CANCELED', lastUpdatedAt: now };
    this.putJob(ended);
    changes.push({ kind: 'job', record: ended });
    return changes;
  }
}
