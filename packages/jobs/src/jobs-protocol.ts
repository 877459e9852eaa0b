// The AWS IoT Jobs device MQTT API as pure functions: request topics, strict bounded request
// decoding (an outcome, never a throw), and the response documents' shapes.
// AWS IoT Core Developer Guide, "Jobs device MQTT API operations".

import type { JobsRejectCode } from './errors.js';
import { jobsTopicPrefix } from './topics.js';
import { DEFAULT_JOBS_LIMITS, DEVICE_STATUSES, isPlainObject, MAX_TIMEOUT_MINUTES, utf8Length, type JobExecutionStatus, type JobsLimits, type JsonObject } from './jobs-model.js';

/**
 * A jobs request topic, parsed: which operation, which thing, which job (`$next` only for `describe`).
 *
 * @example
 * ```ts
 * import type { JobsRequestTopic } from '@outpost/jobs';
 * const t: JobsRequestTopic = { operation: 'update', thingName: 'lamp', jobId: 'fw-2' };
 * ```
 */
export type JobsRequestTopic =
  | { readonly operation: 'get'; readonly thingName: string }
  | { readonly operation: 'start-next'; readonly thingName: string }
  | { readonly operation: 'describe'; readonly thingName: string; readonly jobId: string }
  | { readonly operation: 'update'; readonly thingName: string; readonly jobId: string };

const THING = '[A-Za-z0-9.:_-]{1,128}';
const JOB = '[A-Za-z0-9_-]{1,64}';
const REQUEST_RE = new RegExp(`^\\$aws/things/(${THING})/jobs/(?:(get|start-next)|(${JOB}|\\$next)/(get|update))$`);

/**
 * Parses a jobs request topic (`$aws/things/{thing}/jobs/get`, `…/start-next`,
 * `…/{jobId}/get`, `…/{jobId}/update`); `undefined` for anything else (replies, notifications,
 * bad names, `$next/update`).
 *
 * @example
 * ```ts
 * import { parseJobsRequestTopic } from '@outpost/jobs';
 * parseJobsRequestTopic('$aws/things/lamp/jobs/fw-2/update')?.operation; // 'update'
 * parseJobsRequestTopic('$aws/things/lamp/jobs/get/accepted'); // undefined
 * ```
 */
export function parseJobsRequestTopic(topic: string): JobsRequestTopic | undefined {
  if (typeof topic !== 'string') throw new TypeError(`topic: expected a string, got ${typeof topic}`);
  const m = REQUEST_RE.exec(topic);
  if (m === null) return undefined;
  const thingName = m[1]!;
  if (m[2] === 'get') return { operation: 'get', thingName };
  if (m[2] === 'start-next') return { operation: 'start-next', thingName };
  const jobId = m[3]!;
  if (m[4] === 'get') return { operation: 'describe', thingName, jobId };
  return jobId === '$next' ? undefined : { operation: 'update', thingName, jobId };
}

/**
 * The topic of a jobs request or, with `suffix`, of its answer.
 *
 * @example
 * ```ts
 * import { jobsRequestTopic } from '@outpost/jobs';
 * jobsRequestTopic({ operation: 'describe', thingName: 'lamp', jobId: '$next' }, 'accepted'); // '$aws/things/lamp/jobs/$next/get/accepted'
 * ```
 */
export function jobsRequestTopic(t: JobsRequestTopic, suffix?: 'accepted' | 'rejected'): string {
  const p = jobsTopicPrefix(t.thingName);
  const base = t.operation === 'get' || t.operation === 'start-next' ? `${p}/${t.operation}` : `${p}/${t.jobId}/${t.operation === 'describe' ? 'get' : 'update'}`;
  return suffix === undefined ? base : `${base}/${suffix}`;
}

/** GetPendingJobExecutions request. */
export interface GetPendingRequest { readonly clientToken?: string }
/** StartNextPendingJobExecution request. */
export interface StartNextRequest {
  readonly clientToken?: string;
  readonly statusDetails?: Readonly<Record<string, string>>;
  readonly stepTimeoutInMinutes?: number;
}
/** DescribeJobExecution request. */
export interface DescribeRequest {
  readonly clientToken?: string;
  readonly executionNumber?: number;
  /** Default true. */
  readonly includeJobDocument?: boolean;
}
/** UpdateJobExecution request. */
export interface UpdateRequest {
  readonly clientToken?: string;
  readonly status: JobExecutionStatus;
  readonly statusDetails?: Readonly<Record<string, string>>;
  readonly expectedVersion?: number;
  readonly executionNumber?: number;
  readonly includeJobExecutionState?: boolean;
  readonly includeJobDocument?: boolean;
  readonly stepTimeoutInMinutes?: number;
}

/**
 * A decoded request, by operation.
 *
 * @example
 * ```ts
 * import type { JobsRequest } from '@outpost/jobs';
 * const token = (r: JobsRequest): string | undefined => r.body.clientToken;
 * ```
 */
export type JobsRequest =
  | { readonly operation: 'get'; readonly body: GetPendingRequest }
  | { readonly operation: 'start-next'; readonly body: StartNextRequest }
  | { readonly operation: 'describe'; readonly body: DescribeRequest }
  | { readonly operation: 'update'; readonly body: UpdateRequest };

/**
 * What {@link decodeJobsRequest} found: the request, or the rejection to send (with the
 * clientToken to echo when the request carried a valid one).
 *
 * @example
 * ```ts
 * import type { DecodeOutcome } from '@outpost/jobs';
 * const code = (o: DecodeOutcome): string => (o.ok ? 'ok' : o.code);
 * ```
 */
export type DecodeOutcome =
  | { readonly ok: true; readonly request: JobsRequest }
  | { readonly ok: false; readonly code: JobsRejectCode; readonly message: string; readonly clientToken?: string };

const FIELDS: Record<JobsRequest['operation'], readonly string[]> = {
  get: ['clientToken'],
  'start-next': ['clientToken', 'statusDetails', 'stepTimeoutInMinutes'],
  describe: ['clientToken', 'executionNumber', 'includeJobDocument'],
  update: ['clientToken', 'status', 'statusDetails', 'expectedVersion', 'executionNumber', 'includeJobExecutionState', 'includeJobDocument', 'stepTimeoutInMinutes'],
};

class Invalid extends Error {}
const utf8 = new TextDecoder('utf-8', { fatal: true });
const KEY_RE = /^[a-zA-Z0-9:_-]+$/;
// UpdateJobExecution statusDetails value pattern `[^\p{C}]+`: no control, format or unassigned characters.
const VALUE_BAD_RE = /\p{C}/u;

/** Checks a statusDetails map against the limits (UpdateJobExecution API reference). @internal */
export function checkStatusDetails(v: unknown, limits: JobsLimits): Record<string, string> {
  if (!isPlainObject(v)) throw new Invalid('statusDetails: expected an object of strings');
  const keys = Object.keys(v);
  if (keys.length > limits.maxStatusDetails) throw new Invalid(`statusDetails: at most ${limits.maxStatusDetails} entries, got ${keys.length}`);
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const k of keys) {
    const val = v[k];
    if (k.length > limits.maxStatusDetailKeyChars || !KEY_RE.test(k)) throw new Invalid(`statusDetails: key must match [a-zA-Z0-9:_-]{1,${limits.maxStatusDetailKeyChars}}`);
    if (typeof val !== 'string' || val.length === 0 || val.length > limits.maxStatusDetailValueChars || VALUE_BAD_RE.test(val)) {
      throw new Invalid(`statusDetails.${k}: expected a string of 1-${limits.maxStatusDetailValueChars} printable characters`);
    }
    out[k] = val;
  }
  return { ...out };
}

function integer(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new Invalid(`${field}: expected an integer ${min}-${max}`);
  return v;
}

function stepTimeout(v: unknown): number {
  if (v === -1) return -1; // cancels the step timer (UpdateJobExecution stepTimeoutInMinutes)
  return integer(v, 'stepTimeoutInMinutes', 1, MAX_TIMEOUT_MINUTES);
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw new Invalid(`${field}: expected a boolean`);
  return v;
}

function bodyOf(op: JobsRequest['operation'], o: Record<string, unknown>, limits: JobsLimits): JobsRequest {
  const token = o['clientToken'] === undefined ? {} : { clientToken: o['clientToken'] as string };
  const opt = <T>(k: string, f: (v: unknown) => T): Record<string, T> => (o[k] === undefined ? {} : { [k]: f(o[k]) });
  const details = opt('statusDetails', (v) => checkStatusDetails(v, limits));
  switch (op) {
    case 'get':
      return { operation: op, body: token };
    case 'start-next':
      return { operation: op, body: { ...token, ...details, ...opt('stepTimeoutInMinutes', stepTimeout) } };
    case 'describe':
      return { operation: op, body: { ...token, ...opt('executionNumber', (v) => integer(v, 'executionNumber', 0, Number.MAX_SAFE_INTEGER)), ...opt('includeJobDocument', (v) => bool(v, 'includeJobDocument')) } };
    case 'update': {
      const status = o['status'];
      if (typeof status !== 'string' || !DEVICE_STATUSES.includes(status as JobExecutionStatus)) throw new Invalid(`status: expected one of ${DEVICE_STATUSES.join(', ')}`);
      // The embedded SDK (Jobs-for-AWS-IoT-embedded-sdk) sends expectedVersion as a decimal string.
      const ev = opt('expectedVersion', (v) => integer(typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : v, 'expectedVersion', 0, Number.MAX_SAFE_INTEGER));
      return {
        operation: op,
        body: {
          ...token, status: status as JobExecutionStatus, ...details, ...ev,
          ...opt('executionNumber', (v) => integer(v, 'executionNumber', 0, Number.MAX_SAFE_INTEGER)),
          ...opt('includeJobExecutionState', (v) => bool(v, 'includeJobExecutionState')),
          ...opt('includeJobDocument', (v) => bool(v, 'includeJobDocument')),
          ...opt('stepTimeoutInMinutes', stepTimeout),
        },
      };
    }
  }
}

/**
 * Decodes a jobs request payload strictly: UTF-8 JSON object (an empty payload is `{}`), known
 * fields only, each checked (statusDetails per AWS's patterns and the limits), the clientToken at
 * most `maxClientTokenBytes`. Never throws for bad input: it returns the rejection.
 *
 * @throws TypeError when `payload` is not a Uint8Array.
 * @example
 * ```ts
 * import { decodeJobsRequest } from '@outpost/jobs';
 * const out = decodeJobsRequest('update', new TextEncoder().encode('{"status":"DONE","clientToken":"t1"}'));
 * out.ok ? 'ok' : out.code; // 'InvalidRequest'
 * out.ok ? undefined : out.clientToken; // 't1'
 * ```
 */
export function decodeJobsRequest(operation: JobsRequest['operation'], payload: Uint8Array, limits: JobsLimits = DEFAULT_JOBS_LIMITS): DecodeOutcome {
  if (!(payload instanceof Uint8Array)) throw new TypeError(`payload: expected a Uint8Array, got ${typeof payload}`);
  if (payload.length > limits.maxRequestBytes) return { ok: false, code: 'InvalidRequest', message: `request of ${payload.length} bytes exceeds ${limits.maxRequestBytes}` };
  let value: unknown;
  try {
    const text = utf8.decode(payload);
    value = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    return { ok: false, code: 'InvalidJson', message: 'the request is not UTF-8 encoded JSON' };
  }
  if (!isPlainObject(value)) return { ok: false, code: 'InvalidRequest', message: 'the request must be a JSON object' };
  const tv = value['clientToken'];
  const tokenOk = typeof tv === 'string' && utf8Length(tv) <= limits.maxClientTokenBytes;
  const echo = tokenOk ? { clientToken: tv } : {};
  if (tv !== undefined && !tokenOk) return { ok: false, code: 'InvalidRequest', message: `clientToken: expected a string of at most ${limits.maxClientTokenBytes} bytes` };
  const allowed = FIELDS[operation];
  const unknown = Object.keys(value).find((k) => !allowed.includes(k));
  if (unknown !== undefined) return { ok: false, code: 'InvalidRequest', message: `unknown field ${JSON.stringify(unknown.slice(0, 64))}`, ...echo };
  try {
    return { ok: true, request: bodyOf(operation, value, limits) };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, code: 'InvalidRequest', message: err.message, ...echo };
    throw err;
  }
}

/**
 * A job execution summary (GetPendingJobExecutions, `notify`). Times in epoch seconds.
 *
 * @example
 * ```ts
 * import type { JobExecutionSummary } from '@outpost/jobs';
 * const id = (s: JobExecutionSummary): string => s.jobId;
 * ```
 */
export interface JobExecutionSummary {
  readonly jobId: string;
  readonly queuedAt: number;
  readonly startedAt?: number;
  readonly lastUpdatedAt: number;
  readonly versionNumber: number;
  readonly executionNumber: number;
}

/**
 * A job execution as the device API returns it. Times in epoch seconds.
 *
 * @example
 * ```ts
 * import type { JobExecution } from '@outpost/jobs';
 * const done = (e: JobExecution): boolean => e.status === 'SUCCEEDED';
 * ```
 */
export interface JobExecution extends JobExecutionSummary {
  readonly thingName: string;
  readonly status: JobExecutionStatus;
  readonly statusDetails?: Readonly<Record<string, string>>;
  readonly jobDocument?: JsonObject;
  /** Seconds until the earlier of the step and in-progress timers runs out. */
  readonly approximateSecondsBeforeTimedOut?: number;
}

/**
 * The state part of an execution (UpdateJobExecution answers, VersionMismatch rejections).
 *
 * @example
 * ```ts
 * import type { JobExecutionState } from '@outpost/jobs';
 * const v = (s: JobExecutionState): number => s.versionNumber;
 * ```
 */
export interface JobExecutionState {
  readonly status: JobExecutionStatus;
  readonly statusDetails?: Readonly<Record<string, string>>;
  readonly versionNumber: number;
}

/**
 * An AWS IoT Jobs `ErrorResponse` (the body of every `/rejected`).
 *
 * @example
 * ```ts
 * import type { JobsErrorResponse } from '@outpost/jobs';
 * const r: JobsErrorResponse = { code: 'VersionMismatch', message: 'expected version 3', timestamp: 1 };
 * ```
 */
export interface JobsErrorResponse {
  readonly code: JobsRejectCode;
  readonly message: string;
  readonly timestamp: number;
  readonly clientToken?: string;
  readonly executionState?: JobExecutionState;
}
