// The jobs channel's data model: statuses and AWS's transitions, the stored job and execution
// records, and the per-instance limits. AWS IoT Core Developer Guide, "Jobs device MQTT API" and
// "Job execution states"; API Reference, UpdateJobExecution / CreateJob.

/**
 * A JSON value (job documents are JSON objects).
 *
 * @example
 * ```ts
 * import type { JsonValue } from '@outpost/jobs';
 * const v: JsonValue = { url: 'https://x', size: 3 };
 * ```
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * A JSON object: a job document.
 *
 * @example
 * ```ts
 * import type { JsonObject } from '@outpost/jobs';
 * const doc: JsonObject = { operation: 'install', version: '2.1.0' };
 * ```
 */
export type JsonObject = { [key: string]: JsonValue };

/**
 * The status of one job execution (one job on one thing).
 *
 * @example
 * ```ts
 * import type { JobExecutionStatus } from '@outpost/jobs';
 * const s: JobExecutionStatus = 'IN_PROGRESS';
 * ```
 */
export type JobExecutionStatus = 'QUEUED' | 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'REJECTED' | 'TIMED_OUT' | 'CANCELED' | 'REMOVED';

/**
 * Every {@link JobExecutionStatus}.
 *
 * @example
 * ```ts
 * import { JOB_EXECUTION_STATUSES } from '@outpost/jobs';
 * JOB_EXECUTION_STATUSES.length; // 8
 * ```
 */
export const JOB_EXECUTION_STATUSES: readonly JobExecutionStatus[] = ['QUEUED', 'IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'REJECTED', 'TIMED_OUT', 'CANCELED', 'REMOVED'];

/**
 * Whether a status is terminal: nothing moves an execution out of it.
 *
 * @example
 * ```ts
 * import { isTerminalStatus } from '@outpost/jobs';
 * isTerminalStatus('SUCCEEDED'); // true
 * isTerminalStatus('QUEUED'); // false
 * ```
 */
export function isTerminalStatus(s: JobExecutionStatus): boolean {
  return s !== 'QUEUED' && s !== 'IN_PROGRESS';
}

/** The statuses a device may set with UpdateJobExecution (API Reference: "status … IN_PROGRESS, FAILED, SUCCEEDED, or REJECTED"). */
export const DEVICE_STATUSES: readonly JobExecutionStatus[] = ['IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'REJECTED'];

/**
 * AWS's allowed transitions ("Job execution states"): a device moves QUEUED or IN_PROGRESS to
 * IN_PROGRESS, SUCCEEDED, FAILED or REJECTED; the service moves QUEUED to CANCELED or REMOVED and
 * IN_PROGRESS to TIMED_OUT, CANCELED (forced cancel) or REMOVED. Terminal statuses have none.
 *
 * @example
 * ```ts
 * import { JOB_EXECUTION_TRANSITIONS } from '@outpost/jobs';
 * JOB_EXECUTION_TRANSITIONS.SUCCEEDED.length; // 0
 * JOB_EXECUTION_TRANSITIONS.QUEUED.includes('TIMED_OUT'); // false
 * ```
 */
export const JOB_EXECUTION_TRANSITIONS: Readonly<Record<JobExecutionStatus, readonly JobExecutionStatus[]>> = {
  QUEUED: ['IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'REJECTED', 'CANCELED', 'REMOVED'],
  IN_PROGRESS: ['IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'REJECTED', 'TIMED_OUT', 'CANCELED', 'REMOVED'],
  SUCCEEDED: [],
  FAILED: [],
  REJECTED: [],
  TIMED_OUT: [],
  CANCELED: [],
  REMOVED: [],
};

/**
 * The status of a job as a whole: IN_PROGRESS until every execution is terminal (COMPLETED) or
 * an operator cancels it (CANCELED).
 *
 * @example
 * ```ts
 * import type { JobStatus } from '@outpost/jobs';
 * const s: JobStatus = 'COMPLETED';
 * ```
 */
export type JobStatus = 'IN_PROGRESS' | 'CANCELED' | 'COMPLETED';

/**
 * A job as the service stores it. Times are epoch milliseconds on the service's clock.
 *
 * @example
 * ```ts
 * import type { JobRecord } from '@outpost/jobs';
 * const targets = (j: JobRecord): number => j.targets.length;
 * ```
 */
export interface JobRecord {
  readonly jobId: string;
  readonly document: JsonObject;
  readonly targets: readonly string[];
  readonly status: JobStatus;
  readonly createdAt: number;
  readonly lastUpdatedAt: number;
  /** CreateJob `timeoutConfig.inProgressTimeoutInMinutes`: IN_PROGRESS longer than this → TIMED_OUT. */
  readonly inProgressTimeoutInMinutes?: number;
  readonly description?: string;
  /** `'CONTINUOUS'`: targets may be added later and the job never completes by itself (AWS CreateJob `targetSelection`); absent: SNAPSHOT. */
  readonly targetSelection?: 'CONTINUOUS';
  /** Creation order (the order executions are queued in). */
  readonly seq: number;
}

/**
 * One job execution as the service stores it. Times are epoch milliseconds.
 *
 * @example
 * ```ts
 * import type { ExecutionRecord } from '@outpost/jobs';
 * const late = (e: ExecutionRecord, now: number): boolean => (e.stepDeadline ?? Infinity) <= now;
 * ```
 */
export interface ExecutionRecord {
  readonly jobId: string;
  readonly thingName: string;
  readonly status: JobExecutionStatus;
  readonly statusDetails: Readonly<Record<string, string>>;
  readonly queuedAt: number;
  readonly startedAt?: number;
  readonly lastUpdatedAt: number;
  /** Starts at 1; one more for each accepted change. */
  readonly versionNumber: number;
  readonly executionNumber: number;
  /** When the step timer runs out (`stepTimeoutInMinutes`). */
  readonly stepDeadline?: number;
  /** When the job's in-progress timer runs out (`inProgressTimeoutInMinutes`). */
  readonly inProgressDeadline?: number;
  /** The last device update applied: a retry with the same clientToken is answered, not applied again. */
  readonly lastRequest?: { readonly clientToken: string; readonly status: JobExecutionStatus; readonly expectedVersion?: number };
  /** Queue order on the thing. */
  readonly seq: number;
}

/**
 * Per-instance limits of the jobs protocol (decoder and service). Defaults in {@link DEFAULT_JOBS_LIMITS}.
 *
 * @example
 * ```ts
 * import type { JobsLimits } from '@outpost/jobs';
 * const small: Partial<JobsLimits> = { maxRequestBytes: 4096 };
 * ```
 */
export interface JobsLimits {
  /** Largest request payload accepted. */
  readonly maxRequestBytes: number;
  /** Longest clientToken echoed, in UTF-8 bytes. */
  readonly maxClientTokenBytes: number;
  /** Most `statusDetails` entries. */
  readonly maxStatusDetails: number;
  /** Longest `statusDetails` key, in characters (AWS: `[a-zA-Z0-9:_-]{1,128}`). */
  readonly maxStatusDetailKeyChars: number;
  /** Longest `statusDetails` value, in characters (AWS: 1–1024, no control characters). */
  readonly maxStatusDetailValueChars: number;
  /** Largest job document, JSON-encoded in UTF-8 bytes (AWS: 32 KB). */
  readonly maxDocumentBytes: number;
  /** Most targets of one job. */
  readonly maxTargets: number;
  /** Most executions listed in a `notify` message (AWS: 15) and, times ten, in a `get` answer. */
  readonly maxPendingInNotify: number;
}

/**
 * The default {@link JobsLimits}.
 *
 * @example
 * ```ts
 * import { DEFAULT_JOBS_LIMITS } from '@outpost/jobs';
 * DEFAULT_JOBS_LIMITS.maxClientTokenBytes; // 64
 * ```
 */
export const DEFAULT_JOBS_LIMITS: JobsLimits = {
  maxRequestBytes: 32 * 1024,
  maxClientTokenBytes: 64,
  maxStatusDetails: 10,
  maxStatusDetailKeyChars: 128,
  maxStatusDetailValueChars: 1024,
  maxDocumentBytes: 32 * 1024,
  maxTargets: 100_000,
  maxPendingInNotify: 15,
};

/** AWS: stepTimeoutInMinutes and inProgressTimeoutInMinutes range 1–10080 (7 days); -1 cancels a step timer. */
export const MAX_TIMEOUT_MINUTES = 10_080;

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}
