// The operator side of the jobs service: job specs checked once where they enter, the
// descriptions the operator API returns, and the reserved MQTT topics that carry it
// (`$outpost/jobs/ops/{operator}/{op}`, answered on `…/accepted` and `…/rejected`).
import { JobsError } from './errors.js';
import { checkJobId, checkThingName } from './topics.js';
import type { JobsMachine } from './jobs-machine.js';
import {
  describeValue, isPlainObject, JOB_EXECUTION_STATUSES, MAX_TIMEOUT_MINUTES, utf8Length,
  type ExecutionRecord, type JobExecutionStatus, type JobRecord, type JobsLimits, type JobStatus, type JsonObject,
} from './jobs-model.js';

/**
 * What `createJob` takes (AWS CreateJob's essentials).
 *
 * @example
 * ```ts
 * import type { JobSpec } from '@outpost/jobs';
 * const spec: JobSpec = { jobId: 'fw-2-1-0', document: { url: 'https://x/fw.bin' }, targets: ['lamp-1'], timeoutConfig: { inProgressTimeoutInMinutes: 60 } };
 * ```
 */
export interface JobSpec {
  readonly jobId: string;
  /** The job document every target receives (a JSON object, at most `maxDocumentBytes`). */
  readonly document: JsonObject;
  /** Thing names (deduplicated; 1 to `maxTargets`). */
  readonly targets: readonly string[];
  readonly timeoutConfig?: { readonly inProgressTimeoutInMinutes: number };
  readonly description?: string;
  /** AWS CreateJob `targetSelection`. `'CONTINUOUS'`: targets may be added later ({@link JobsService.associateTargets}); the job never completes by itself. Default `'SNAPSHOT'`. */
  readonly targetSelection?: 'SNAPSHOT' | 'CONTINUOUS';
}

/**
 * A job and how its executions stand (`describeJob`, `createJob`, `cancelJob`).
 *
 * @example
 * ```ts
 * import type { JobDescription } from '@outpost/jobs';
 * const succeeded = (d: JobDescription): number => d.executions.SUCCEEDED ?? 0;
 * ```
 */
export interface JobDescription {
  readonly jobId: string;
  readonly status: JobStatus;
  readonly document: JsonObject;
  readonly targets: readonly string[];
  readonly createdAt: number;
  readonly lastUpdatedAt: number;
  readonly inProgressTimeoutInMinutes?: number;
  readonly description?: string;
  readonly targetSelection: 'SNAPSHOT' | 'CONTINUOUS';
  /** Executions per status. */
  readonly executions: Partial<Record<JobExecutionStatus, number>>;
}

/**
 * One line of `listJobs`.
 *
 * @example
 * ```ts
 * import type { JobSummary } from '@outpost/jobs';
 * const line = (s: JobSummary): string => `${s.jobId} ${s.status}`;
 * ```
 */
export interface JobSummary {
  readonly jobId: string;
  readonly status: JobStatus;
  readonly targets: number;
  readonly createdAt: number;
  readonly lastUpdatedAt: number;
}

/** Checks a job spec; the normalized spec (targets deduplicated). @internal */
export function checkJobSpec(spec: unknown, limits: JobsLimits): Omit<JobRecord, 'seq' | 'status' | 'createdAt' | 'lastUpdatedAt'> {
  if (!isPlainObject(spec)) throw new TypeError(`createJob: spec: expected an object, got ${describeValue(spec)}`);
  const known = ['jobId', 'document', 'targets', 'timeoutConfig', 'description', 'targetSelection'];
  const extra = Object.keys(spec).find((k) => !known.includes(k));
  if (extra !== undefined) throw new TypeError(`createJob: unknown field ${JSON.stringify(extra.slice(0, 64))}`);
  const jobId = checkJobId(spec['jobId']);
  const doc = spec['document'];
  if (!isPlainObject(doc)) throw new TypeError(`createJob: document: expected a JSON object, got ${describeValue(doc)}`);
  let text: string;
  try {
    text = JSON.stringify(doc);
  } catch {
    throw new TypeError('createJob: document: not JSON-serialisable');
  }
  if (utf8Length(text) > limits.maxDocumentBytes) throw new RangeError(`createJob: document: ${utf8Length(text)} bytes exceeds ${limits.maxDocumentBytes}`);
  const unique = checkTargets(spec['targets'], limits, 'createJob');
  const sel = spec['targetSelection'];
  if (sel !== undefined && sel !== 'SNAPSHOT' && sel !== 'CONTINUOUS') throw new RangeError(`createJob: targetSelection: expected SNAPSHOT or CONTINUOUS, got ${describeValue(sel)}`);
  const tc = spec['timeoutConfig'];
  let timeout: number | undefined;
  if (tc !== undefined) {
    if (!isPlainObject(tc)) throw new TypeError('createJob: timeoutConfig: expected { inProgressTimeoutInMinutes }');
    const m = tc['inProgressTimeoutInMinutes'];
    if (typeof m !== 'number' || !Number.isInteger(m) || m < 1 || m > MAX_TIMEOUT_MINUTES) throw new RangeError(`createJob: timeoutConfig.inProgressTimeoutInMinutes: expected 1-${MAX_TIMEOUT_MINUTES}, got ${describeValue(m)}`);
    timeout = m;
  }
  const d = spec['description'];
  if (d !== undefined && (typeof d !== 'string' || d.length > 2028)) throw new TypeError('createJob: description: expected a string of at most 2028 characters');
  return {
    jobId, document: JSON.parse(text) as JsonObject, targets: unique,
    ...(timeout !== undefined ? { inProgressTimeoutInMinutes: timeout } : {}),
    ...(typeof d === 'string' ? { description: d } : {}),
    ...(sel === 'CONTINUOUS' ? { targetSelection: sel } : {}),
  };
}

/** Checks a target list: thing names, deduplicated, 1 to `maxTargets`. @internal */
export function checkTargets(targets: unknown, limits: JobsLimits, op: string): string[] {
  if (!Array.isArray(targets)) throw new TypeError(`${op}: targets: expected an array of thing names, got ${describeValue(targets)}`);
  const unique = [...new Set(targets.map((t) => checkThingName(t)))];
  if (unique.length === 0 || unique.length > limits.maxTargets) throw new RangeError(`${op}: targets: expected 1-${limits.maxTargets} things, got ${unique.length}`);
  return unique;
}

/** The description of a stored job. @internal */
export function describeJobOf(m: JobsMachine, jobId: string): JobDescription {
  const j = m.job(checkJobId(jobId));
  if (j === undefined) throw new JobsError('ResourceNotFound', `no job ${jobId}`);
  const executions: Partial<Record<JobExecutionStatus, number>> = {};
  for (const e of m.executionsOf(jobId)) executions[e.status] = (executions[e.status] ?? 0) + 1;
  return {
    jobId: j.jobId, status: j.status, document: j.document, targets: j.targets, createdAt: j.createdAt, lastUpdatedAt: j.lastUpdatedAt,
    ...(j.inProgressTimeoutInMinutes !== undefined ? { inProgressTimeoutInMinutes: j.inProgressTimeoutInMinutes } : {}),
    ...(j.description !== undefined ? { description: j.description } : {}),
    targetSelection: j.targetSelection ?? 'SNAPSHOT',
    executions,
  };
}

/** `listJobs` over a machine. @internal */
export function listJobsOf(m: JobsMachine, status?: JobStatus): JobSummary[] {
  return m.allJobs()
    .filter((j) => status === undefined || j.status === status)
    .map((j) => ({ jobId: j.jobId, status: j.status, targets: j.targets.length, createdAt: j.createdAt, lastUpdatedAt: j.lastUpdatedAt }));
}

/** `describeJobExecution` over a machine (terminal executions included: this is the operator's view). @internal */
export function describeExecutionOf(m: JobsMachine, jobId: string, thingName: string): ExecutionRecord {
  const e = m.execution(checkThingName(thingName), checkJobId(jobId));
  if (e === undefined) throw new JobsError('ResourceNotFound', `no execution of job ${jobId} on ${thingName}`);
  return e;
}

/** Checks that a job may be canceled. @internal */
export function checkCancel(m: JobsMachine, jobId: string): void {
  const j = m.job(checkJobId(jobId));
  if (j === undefined) throw new JobsError('ResourceNotFound', `no job ${jobId}`);
  if (j.status !== 'IN_PROGRESS') throw new JobsError('InvalidStateTransition', `job ${jobId} is ${j.status}`);
}

/**
 * One line of `listJobExecutions`: an execution's status as the operator sees it.
 *
 * @example
 * ```ts
 * import type { ExecutionSummary } from '@outpost/jobs';
 * const failed = (e: ExecutionSummary): boolean => e.status === 'FAILED';
 * ```
 */
export interface ExecutionSummary {
  readonly thingName: string;
  readonly status: JobExecutionStatus;
  readonly statusDetails: Readonly<Record<string, string>>;
  readonly versionNumber: number;
  readonly executionNumber: number;
  readonly queuedAt: number;
  readonly lastUpdatedAt: number;
}

/**
 * Options of `listJobExecutions` (AWS ListJobExecutionsForJob, plus `updatedSince`).
 *
 * @example
 * ```ts
 * import type { ListExecutionsOptions } from '@outpost/jobs';
 * const changedSince = (t: number): ListExecutionsOptions => ({ updatedSince: t, maxResults: 250 });
 * ```
 */
export interface ListExecutionsOptions {
  readonly status?: JobExecutionStatus;
  /** Only executions with `lastUpdatedAt` at or after this time (epoch ms, the service's clock): a change feed for a rollout controller. */
  readonly updatedSince?: number;
  /** Page size, 1-1000. Default 250. */
  readonly maxResults?: number;
  /** From the previous page's answer. */
  readonly nextToken?: string;
}

/**
 * A page of `listJobExecutions`, oldest change first (by `lastUpdatedAt`, then thing name).
 *
 * @example
 * ```ts
 * import type { ExecutionPage } from '@outpost/jobs';
 * const more = (p: ExecutionPage): boolean => p.nextToken !== undefined;
 * ```
 */
export interface ExecutionPage {
  readonly executions: readonly ExecutionSummary[];
  readonly nextToken?: string;
}

const int = (v: unknown, what: string, min: number, max: number): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new RangeError(`listJobExecutions: ${what}: expected an integer ${min}-${max}, got ${describeValue(v)}`);
  return v;
};

/** `listJobExecutions` over a machine: one page in (lastUpdatedAt, thingName) order. @internal */
export function listExecutionsOf(m: JobsMachine, jobId: string, o: ListExecutionsOptions = {}): ExecutionPage {
  if (!isPlainObject(o)) throw new TypeError('listJobExecutions: options: expected an object');
  if (m.job(checkJobId(jobId)) === undefined) throw new JobsError('ResourceNotFound', `no job ${jobId}`);
  const since = o.updatedSince === undefined ? -Infinity : int(o.updatedSince, 'updatedSince', 0, Number.MAX_SAFE_INTEGER);
  const max = o.maxResults === undefined ? 250 : int(o.maxResults, 'maxResults', 1, 1000);
  if (o.status !== undefined && !JOB_EXECUTION_STATUSES.includes(o.status as JobExecutionStatus)) throw new RangeError(`listJobExecutions: status: expected one of ${JOB_EXECUTION_STATUSES.join(', ')}`);
  let after: [number, string] | undefined;
  if (o.nextToken !== undefined) {
    const t = typeof o.nextToken === 'string' ? /^(\d{1,16}):(.{1,128})$/s.exec(o.nextToken) : null;
    if (t === null) throw new TypeError('listJobExecutions: nextToken: expected the token of a previous answer');
    after = [Number(t[1]), t[2]!];
  }
  const rows = m.executionsOf(jobId)
    .filter((e) => e.lastUpdatedAt >= since && (o.status === undefined || e.status === o.status))
    .filter((e) => after === undefined || e.lastUpdatedAt > after[0] || (e.lastUpdatedAt === after[0] && e.thingName > after[1]))
    .sort((a, b) => a.lastUpdatedAt - b.lastUpdatedAt || (a.thingName < b.thingName ? -1 : a.thingName > b.thingName ? 1 : 0));
  const page = rows.slice(0, max).map((e) => ({
    thingName: e.thingName, status: e.status, statusDetails: e.statusDetails, versionNumber: e.versionNumber,
    executionNumber: e.executionNumber, queuedAt: e.queuedAt, lastUpdatedAt: e.lastUpdatedAt,
  }));
  const last = page[page.length - 1];
  return rows.length > max && last !== undefined ? { executions: page, nextToken: `${last.lastUpdatedAt}:${last.thingName}` } : { executions: page };
}

/** The operator operations carried over MQTT. */
export const OPERATOR_OPS = ['create', 'cancel', 'describe', 'list', 'describe-execution', 'associate-targets', 'list-executions'] as const;
export type OperatorOp = (typeof OPERATOR_OPS)[number];
const OPERATOR_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;
const OPS_TOPIC_RE = /^\$outpost\/jobs\/ops\/([A-Za-z0-9._-]{1,64})\/(create|cancel|describe|list|describe-execution|associate-targets|list-executions)$/;

/**
 * The topic an operator publishes a request to; replies come on `{topic}/accepted|rejected`.
 * The broker's ACL gives each operator identity `$outpost/jobs/ops/{its id}/#` only.
 *
 * @example
 * ```ts
 * import { operatorTopic } from '@outpost/jobs';
 * operatorTopic('ops-1', 'create'); // '$outpost/jobs/ops/ops-1/create'
 * ```
 */
export function operatorTopic(operatorId: string, op: OperatorOp): string {
  if (typeof operatorId !== 'string' || !OPERATOR_ID_RE.test(operatorId)) throw new JobsError('BAD_NAME', `operator id must match ${OPERATOR_ID_RE.source}`, operatorId);
  if (!OPERATOR_OPS.includes(op)) throw new RangeError(`operatorTopic: op: expected one of ${OPERATOR_OPS.join(', ')}`);
  return `$outpost/jobs/ops/${operatorId}/${op}`;
}

/** Parses an operator request topic. @internal */
export function parseOperatorTopic(topic: string): { operatorId: string; op: OperatorOp } | undefined {
  const m = OPS_TOPIC_RE.exec(topic);
  return m === null ? undefined : { operatorId: m[1]!, op: m[2] as OperatorOp };
}
