// The rollout controller driven through a jobs service (AWS IoT Jobs semantics): one CONTINUOUS
// job per rollout, whose targets grow wave by wave (CreateJob with targetSelection CONTINUOUS,
// then AssociateTargetsWithJob), execution status read back as a change feed
// (ListJobExecutionsForJob with `updatedSince`), the controller's abort → CancelJob (AWS
// abortConfig's CANCEL action). Every decision is the controller's and is in its journal first;
// the job calls are idempotent, so after a restart they are simply made again.
import { sleepUnlessAborted, systemClock, type Clock } from './clock.js';
import type { RolloutController, RolloutSnapshot } from './controller.js';
import { OtaError } from './errors.js';
import type { DeviceReport } from './journal.js';
import type { OtaJobDocument } from './job-document.js';

/**
 * One line of the jobs service's execution feed (what `@outpost/jobs`' `listJobExecutions` returns).
 *
 * @example
 * ```ts
 * import type { RolloutExecution } from '@outpost/ota';
 * const e: RolloutExecution = { thingName: 'dev-1', status: 'SUCCEEDED', statusDetails: { step: 'confirmed' }, versionNumber: 3, lastUpdatedAt: 1000 };
 * ```
 */
export interface RolloutExecution {
  readonly thingName: string;
  /** An AWS IoT Jobs execution status: QUEUED, IN_PROGRESS, SUCCEEDED, FAILED, REJECTED, TIMED_OUT, CANCELED, REMOVED. */
  readonly status: string;
  readonly statusDetails: Readonly<Record<string, string>>;
  readonly versionNumber: number;
  /** On the jobs service's clock (epoch ms). */
  readonly lastUpdatedAt: number;
}

/**
 * The operator calls a rollout makes (AWS CreateJob, AssociateTargetsWithJob,
 * ListJobExecutionsForJob, CancelJob, DescribeJob). `@outpost/jobs`' `JobsOperatorClient` is one: it reaches a
 * running jobs service through the broker. Errors carry the service's `code`.
 *
 * @example
 * ```ts
 * import type { RolloutJobsApi } from '@outpost/ota';
 * const targeted = async (api: RolloutJobsApi): Promise<number> => (await api.listJobExecutions('fw-2-1-0', { maxResults: 1000 })).executions.length;
 * ```
 */
export interface RolloutJobsApi {
  createJob(spec: {
    readonly jobId: string; readonly document: Readonly<Record<string, unknown>>; readonly targets: readonly string[];
    readonly targetSelection?: 'SNAPSHOT' | 'CONTINUOUS'; readonly description?: string;
  }): Promise<unknown>;
  associateTargets(jobId: string, targets: readonly string[]): Promise<unknown>;
  listJobExecutions(jobId: string, options?: { readonly updatedSince?: number; readonly maxResults?: number; readonly nextToken?: string }): Promise<{ readonly executions: readonly RolloutExecution[]; readonly nextToken?: string }>;
  cancelJob(jobId: string, options?: { readonly force?: boolean }): Promise<unknown>;
  describeJob(jobId: string): Promise<{ readonly document: Readonly<Record<string, unknown>> }>;
}

/**
 * Options of {@link createRolloutRunner}.
 *
 * @example
 * ```ts
 * import type { RolloutJobsApi, RolloutController, RolloutRunnerOptions } from '@outpost/ota';
 * const o = (controller: RolloutController, jobs: RolloutJobsApi): RolloutRunnerOptions => ({
 *   controller, jobs, jobId: 'fw-2-1-0', document: { operation: 'outpost-ota', v: 1, manifest: 'hKNhYQ==', image: 'stream:fw-2-1-0' },
 * });
 * ```
 */
export interface RolloutRunnerOptions {
  /** The controller over the rollout's plan and journal (`openRolloutController`). */
  readonly controller: RolloutController;
  readonly jobs: RolloutJobsApi;
  /** The rollout's job: one id per rollout (deterministic, so a restarted runner finds its job). */
  readonly jobId: string;
  /** What every device receives. */
  readonly document: OtaJobDocument;
  readonly description?: string;
  /** Time for the controller's journal and rate limits. Default {@link systemClock}. */
  readonly clock?: Clock;
  /** Most thing names per CreateJob / AssociateTargetsWithJob request. Default 500. */
  readonly maxTargetsPerRequest?: number;
  /** Page size of the feed. Default 250. */
  readonly pageSize?: number;
  /**
   * The feed is read again from this long before the last change seen (executions changed within
   * the same millisecond on the service's clock are not missed; repeats are dropped by version).
   * Default 5000 ms.
   */
  readonly feedOverlapMs?: number;
}

/**
 * A rollout driven through a jobs service. Create with {@link createRolloutRunner}.
 *
 * @example
 * ```ts
 * import type { RolloutRunner } from '@outpost/ota';
 * const wave = async (r: RolloutRunner): Promise<string> => (await r.step()).waveName;
 * ```
 */
export interface RolloutRunner {
  /**
   * One round: target the devices dispatched but not known to be targeted, read the execution
   * feed into the controller, cancel the job when the rollout aborted, dispatch what the current
   * wave and its rate limit allow. Rejects when a jobs call fails (nothing is lost: call again).
   */
  step(): Promise<RolloutSnapshot>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Aborts (journalled) and cancels the job: QUEUED executions become CANCELED; devices already installing finish. */
  abort(reason: string): Promise<void>;
  snapshot(): RolloutSnapshot;
}

const isCode = (err: unknown, ...codes: string[]): boolean => typeof err === 'object' && err !== null && codes.includes((err as { code?: unknown }).code as string);

/**
 * The controller's report for an execution status; `undefined` for a status that is not a
 * device's result (QUEUED, IN_PROGRESS, and CANCELED / REMOVED, which are the operator's).
 * FAILED with `statusDetails.reason` HEALTH_CHECK_FAILED or ROLLED_BACK (what `createOtaAgent`
 * reports after the trial image went back to the old slot) is `'rolled-back'`.
 *
 * @example
 * ```ts
 * import { reportOfExecution } from '@outpost/ota';
 * reportOfExecution('SUCCEEDED', {}); // 'confirmed'
 * reportOfExecution('FAILED', { reason: 'HEALTH_CHECK_FAILED' }); // 'rolled-back'
 * reportOfExecution('TIMED_OUT', {}); // 'failed'
 * ```
 */
export function reportOfExecution(status: string, details: Readonly<Record<string, string>>): DeviceReport | undefined {
  switch (status) {
    case 'SUCCEEDED':
      return 'confirmed';
    case 'FAILED':
      return details['reason'] === 'HEALTH_CHECK_FAILED' || details['reason'] === 'ROLLED_BACK' ? 'rolled-back' : 'failed';
    case 'REJECTED':
    case 'TIMED_OUT':
      return 'failed';
    default:
      return undefined;
  }
}

const positiveInt = (v: unknown, what: string, dflt: number): number => {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new RangeError(`${what}: expected a positive integer, got ${String(v)}`);
  return v;
};

/**
 * Drives a rollout controller through a jobs service. Idempotent against its own restart: the
 * job id is fixed, CreateJob's ResourceAlreadyExists is taken as done, AssociateTargetsWithJob
 * leaves a target the job already has alone, and the feed is read from the start once, so each
 * device gets exactly one execution whatever the runner's crashes.
 *
 * @throws {TypeError} / `RangeError` for wrong options.
 * @example
 * ```ts
 * import {
 *   createRolloutRunner, encodeOtaJobDocument, memoryControllerStore, openRolloutController, planRollout, type RolloutJobsApi,
 * } from '@outpost/ota';
 * const targeted: string[] = [];
 * const jobs: RolloutJobsApi = { // a stand-in; in use: createJobsOperatorClient from @outpost/jobs
 *   createJob: async (spec) => { targeted.push(...spec.targets); },
 *   associateTargets: async (_id, t) => { targeted.push(...t); },
 *   listJobExecutions: async () => ({ executions: targeted.map((thingName) => ({ thingName, status: 'SUCCEEDED', statusDetails: {}, versionNumber: 3, lastUpdatedAt: 5 })) }),
 *   cancelJob: async () => undefined,
 *   describeJob: async () => ({ document: {} }),
 * };
 * const plan = planRollout({ devices: ['a', 'b', 'c'], seed: 'fw-2', waves: ['canary', 1], canary: ['a'] });
 * const controller = await openRolloutController(plan, memoryControllerStore());
 * const runner = createRolloutRunner({ controller, jobs, jobId: 'fw-2', document: encodeOtaJobDocument({ manifest: new Uint8Array([1]), image: 'stream:fw-2' }) });
 * await runner.step(); // targets the canary
 * await runner.step(); // reads its SUCCEEDED, starts the 100% wave
 * (await runner.step()).status; // 'completed'
 * ```
 */
export function createRolloutRunner(options: RolloutRunnerOptions): RolloutRunner {
  if (typeof options !== 'object' || options === null) throw new TypeError('createRolloutRunner: options: expected an object');
  const { controller: ctl, jobs, jobId, document } = options;
  if (typeof ctl?.tick !== 'function') throw new TypeError('createRolloutRunner: controller: expected a RolloutController');
  for (const m of ['createJob', 'associateTargets', 'listJobExecutions', 'cancelJob', 'describeJob'] as const) if (typeof jobs?.[m] !== 'function') throw new TypeError(`createRolloutRunner: jobs.${m}: expected a function`);
  if (typeof jobId !== 'string' || jobId === '') throw new TypeError('createRolloutRunner: jobId: expected a non-empty string');
  if (typeof document !== 'object' || document === null) throw new TypeError('createRolloutRunner: document: expected an OtaJobDocument');
  const overlap = options.feedOverlapMs ?? 5000;
  if (typeof overlap !== 'number' || !Number.isFinite(overlap) || overlap < 0) throw new RangeError('feedOverlapMs: expected a non-negative number');
  return new Runner(options, {
    clock: options.clock ?? systemClock, overlap,
    perRequest: positiveInt(options.maxTargetsPerRequest, 'maxTargetsPerRequest', 500), pageSize: positiveInt(options.pageSize, 'pageSize', 250),
  });
}

class Runner implements RolloutRunner {
  private readonly ctl: RolloutController;
  private readonly jobs: RolloutJobsApi;
  private readonly jobId: string;
  /** Dispatched (journalled) but not known to be targeted: after a restart, every device without a result (targeting it again is a no-op when the job has it). */
  private readonly pending: Set<string>;
  /** The highest execution version seen per device (the feed repeats its overlap). */
  private readonly seen = new Map<string, number>();
  private created = false;
  private cursor = 0;
  private canceled = false;

  constructor(private readonly o: RolloutRunnerOptions, private readonly c: { clock: Clock; overlap: number; perRequest: number; pageSize: number }) {
    this.ctl = o.controller;
    this.jobs = o.jobs;
    this.jobId = o.jobId;
    this.pending = new Set(this.ctl.dispatched().filter((d) => this.ctl.result(d) === undefined));
  }

  async step(): Promise<RolloutSnapshot> {
    // An aborted rollout targets nobody more (its job is canceled; associating would be refused).
    if (this.ctl.snapshot().status !== 'aborted') await this.target();
    await this.readFeed();
    if (this.ctl.snapshot().status === 'aborted') await this.cancel();
    else {
      for (const d of await this.ctl.tick(this.c.clock.now())) this.pending.add(d);
      await this.target();
    }
    return this.ctl.snapshot();
  }

  pause(): Promise<void> {
    return this.ctl.pause(this.c.clock.now());
  }

  resume(): Promise<void> {
    return this.ctl.resume(this.c.clock.now());
  }

  async abort(reason: string): Promise<void> {
    await this.ctl.abort(this.c.clock.now(), reason);
    await this.cancel();
  }

  snapshot(): RolloutSnapshot {
    return this.ctl.snapshot();
  }

  private async target(): Promise<void> {
    while (this.pending.size > 0) {
      const batch = [...this.pending].slice(0, this.c.perRequest);
      if (!(this.created ? await this.associate(batch) : await this.create(batch))) return;
      for (const d of batch) this.pending.delete(d);
    }
  }

  /** CreateJob with the first batch; an existing job of this rollout gets the batch associated. */
  private async create(batch: readonly string[]): Promise<boolean> {
    const { jobId, document, description } = this.o;
    try {
      await this.jobs.createJob({ jobId, document: document as unknown as Readonly<Record<string, unknown>>, targets: batch, targetSelection: 'CONTINUOUS', ...(description === undefined ? {} : { description }) });
    } catch (err) {
      // Made by an earlier run, or by this request whose answer was lost: add the targets to it,
      // unless the id belongs to another job (its document differs).
      if (!isCode(err, 'ResourceAlreadyExists')) throw err;
      const existing = await this.jobs.describeJob(jobId);
      if (JSON.stringify(existing.document) !== JSON.stringify(document)) throw new OtaError('ROLLOUT_STATE', `job ${jobId} exists with another job document: give this rollout another id`);
      this.created = true;
      return this.associate(batch);
    }
    this.created = true;
    return true;
  }

  /** AssociateTargetsWithJob; false when the job was canceled outside the rollout (which aborts it). */
  private async associate(batch: readonly string[]): Promise<boolean> {
    try {
      await this.jobs.associateTargets(this.jobId, batch);
      return true;
    } catch (err) {
      if (!isCode(err, 'InvalidStateTransition', 'ResourceNotFound')) throw err;
      this.pending.clear();
      await this.ctl.abort(this.c.clock.now(), `job ${this.jobId} was canceled or removed outside the rollout (${(err as Error).message})`);
      return false;
    }
  }

  /** Reads what changed since the last round (pages of ListJobExecutionsForJob) into the controller. */
  private async readFeed(): Promise<void> {
    if (!this.created && this.ctl.dispatched().length === 0) return;
    let next: string | undefined;
    let newest = this.cursor;
    do {
      let page;
      try {
        page = await this.jobs.listJobExecutions(this.jobId, { updatedSince: this.cursor, maxResults: this.c.pageSize, ...(next === undefined ? {} : { nextToken: next }) });
      } catch (err) {
        if (isCode(err, 'ResourceNotFound')) return; // not created yet
        throw err;
      }
      for (const e of page.executions) {
        newest = Math.max(newest, e.lastUpdatedAt);
        await this.consider(e);
      }
      next = page.nextToken;
    } while (next !== undefined);
    this.cursor = Math.max(0, newest - this.c.overlap);
  }

  private async consider(e: RolloutExecution): Promise<void> {
    if ((this.seen.get(e.thingName) ?? 0) >= e.versionNumber) return;
    this.seen.set(e.thingName, e.versionNumber);
    const r = reportOfExecution(e.status, e.statusDetails);
    if (r === undefined || this.ctl.result(e.thingName) === r) return;
    try {
      await this.ctl.report(e.thingName, r, this.c.clock.now(), e.statusDetails);
    } catch (err) {
      if (!(err instanceof OtaError && err.code === 'ROLLOUT_STATE')) throw err; // a thing not in the plan
    }
  }

  private async cancel(): Promise<void> {
    if (this.canceled) return;
    try {
      await this.jobs.cancelJob(this.jobId);
    } catch (err) {
      // Already canceled (or never created: nothing was dispatched).
      if (!isCode(err, 'InvalidStateTransition', 'ResourceNotFound')) throw err;
    }
    this.canceled = true;
  }
}

/**
 * Options of {@link runRollout}.
 *
 * @example
 * ```ts
 * import type { RunRolloutOptions } from '@outpost/ota';
 * const o: RunRolloutOptions = { intervalMs: 2000, onError: (e) => console.warn(e.message) };
 * ```
 */
export interface RunRolloutOptions {
  /** Time between rounds. Default 5000 ms. */
  readonly intervalMs?: number;
  /** Ends the loop (after the round in progress). */
  readonly signal?: AbortSignal;
  readonly clock?: Clock;
  /** Called before every round (a CLI applies pause / resume / abort requests here). */
  readonly beforeStep?: () => Promise<void>;
  readonly onStep?: (snapshot: RolloutSnapshot) => void;
  /** A round that failed (a jobs call timed out, the broker is down); the next round tries again. */
  readonly onError?: (err: Error) => void;
}

/** A failure no later round can undo: the rollout's own state errors, and the broker's ACL refusing the operator. */
function isPermanent(err: unknown): boolean {
  return err instanceof OtaError || (err !== null && typeof err === 'object' && (err as { code?: unknown }).code === 'NOT_AUTHORIZED');
}

/**
 * Runs rounds of a {@link RolloutRunner} every `intervalMs` until the rollout completes or
 * aborts (and its job is canceled), or `signal` aborts. Resolves with the last snapshot. A round
 * that fails on the transport is reported to `onError` and tried again.
 *
 * @throws {OtaError} `ROLLOUT_STATE` when the job id is taken by another job (no round can succeed).
 * @throws {JobsError} `NOT_AUTHORIZED` when the broker refuses the operator's jobs requests (MQTT 5
 *   PUBACK 0x87: the identity's ACL does not allow them); not retried, since no round can succeed.
 *
 * @example
 * ```ts
 * import { runRollout, type RolloutRunner, type RolloutSnapshot } from '@outpost/ota';
 * const drive = (runner: RolloutRunner): Promise<RolloutSnapshot> => runRollout(runner, { intervalMs: 2000 });
 * ```
 */
export async function runRollout(runner: RolloutRunner, options: RunRolloutOptions = {}): Promise<RolloutSnapshot> {
  const every = options.intervalMs ?? 5000;
  if (typeof every !== 'number' || !Number.isFinite(every) || every < 0) throw new RangeError('intervalMs: expected a non-negative number');
  const clock = options.clock ?? systemClock;
  const stop = options.signal ?? new AbortController().signal;
  let last = runner.snapshot();
  while (!stop.aborted) {
    try {
      await options.beforeStep?.();
      last = await runner.step();
      options.onStep?.(last);
      if (last.status === 'completed' || last.status === 'aborted') return last;
    } catch (err) {
      if (isPermanent(err)) throw err; // another round would fail the same way
      options.onError?.(err as Error);
    }
    await sleepUnlessAborted(clock, every, stop); // one listener per wait, removed after it (a long rollout makes many rounds)
  }
  return runner.snapshot();
}
