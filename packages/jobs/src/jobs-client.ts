// The device jobs client: AWS IoT Jobs device MQTT API requests with promises, notifications
// as callbacks, and offline safety — unanswered requests are sent again with the same
// clientToken (an update the service already applied is recognised, not applied twice), and
// after a reconnect the client re-reads the next pending execution and hands it to the
// notify-next listeners, so a notification missed while offline is not a job missed.
import { checkThingName, checkJobId, jobsTopicPrefix } from './topics.js';
import { DEFAULT_JOBS_LIMITS, DEVICE_STATUSES, isPlainObject, type JobExecutionStatus, type JsonObject } from './jobs-model.js';
import { checkStatusDetails, type JobExecution, type JobExecutionState, type JobExecutionSummary } from './jobs-protocol.js';
import { Requester } from './jobs-requester.js';
import { toLink, type MqttLike } from './jobs-transport.js';

/**
 * Options of {@link createJobsClient}.
 *
 * @example
 * ```ts
 * import type { JobsClientOptions, MqttLike } from '@outpost/jobs';
 * const options = (mqtt: MqttLike): JobsClientOptions => ({ mqtt, thingName: 'lamp-1', requestTimeoutMs: 3000 });
 * ```
 */
export interface JobsClientOptions {
  /** The device's connection; its identity may read and write `$aws/things/{thingName}/jobs/#`. */
  readonly mqtt: MqttLike;
  readonly thingName: string;
  /** Wait for an answer this long before sending the request again. Default 5000 ms. */
  readonly requestTimeoutMs?: number;
  /** Sends after the first before giving up with `TIMEOUT`. Default 5. */
  readonly maxRetries?: number;
  /**
   * Called with what an `onNext` / `onNotify` listener threw or rejected with (an async listener
   * whose update fails must not become an unhandled rejection). Default: a process warning.
   */
  readonly onError?: (err: unknown) => void;
}

/**
 * Options of {@link JobsClient.update}.
 *
 * @example
 * ```ts
 * import type { UpdateOptions } from '@outpost/jobs';
 * const o: UpdateOptions = { statusDetails: { step: 'download' }, expectedVersion: 2, stepTimeoutInMinutes: 10 };
 * ```
 */
export interface UpdateOptions {
  readonly statusDetails?: Readonly<Record<string, string>>;
  readonly expectedVersion?: number;
  readonly executionNumber?: number;
  /** 1-10080, or -1 to cancel the step timer. */
  readonly stepTimeoutInMinutes?: number;
  readonly includeJobExecutionState?: boolean;
  readonly includeJobDocument?: boolean;
}

/**
 * The `notify` message's pending executions.
 *
 * @example
 * ```ts
 * import type { PendingJobs } from '@outpost/jobs';
 * const n = (p: PendingJobs): number => (p.QUEUED?.length ?? 0) + (p.IN_PROGRESS?.length ?? 0);
 * ```
 */
export interface PendingJobs {
  readonly QUEUED?: readonly JobExecutionSummary[];
  readonly IN_PROGRESS?: readonly JobExecutionSummary[];
}

/**
 * A device's jobs client, from {@link createJobsClient}.
 *
 * @example
 * ```ts
 * import type { JobsClient } from '@outpost/jobs';
 * async function runNext(jobs: JobsClient): Promise<void> {
 *   const e = await jobs.startNext();
 *   if (e !== undefined) await jobs.update(e.jobId, 'SUCCEEDED', { expectedVersion: e.versionNumber });
 * }
 * ```
 */
export interface JobsClient {
  readonly thingName: string;
  /** GetPendingJobExecutions. */
  get(): Promise<{ inProgressJobs: JobExecutionSummary[]; queuedJobs: JobExecutionSummary[] }>;
  /** StartNextPendingJobExecution: the execution now IN_PROGRESS, or `undefined` when none is pending. */
  startNext(options?: { readonly statusDetails?: Readonly<Record<string, string>>; readonly stepTimeoutInMinutes?: number }): Promise<JobExecution | undefined>;
  /** DescribeJobExecution (`'$next'` for the next pending one; `undefined` when none). */
  describe(jobId: string, options?: { readonly includeJobDocument?: boolean; readonly executionNumber?: number }): Promise<JobExecution | undefined>;
  /** UpdateJobExecution. Rejections throw {@link JobsError} with the AWS code (`VersionMismatch`, …). */
  update(jobId: string, status: JobExecutionStatus, options?: UpdateOptions): Promise<{ executionState?: JobExecutionState; jobDocument?: JsonObject }>;
  /** Called with the next pending execution on `notify-next` and after every reconnect (`undefined`: none). */
  onNext(listener: (execution: JobExecution | undefined) => unknown): () => void;
  /** Called with the pending executions on `notify`. */
  onNotify(listener: (jobs: PendingJobs) => unknown): () => void;
  stats(): { readonly reconnects: number; readonly notifications: number };
  /** Stops listening; requests in flight fail with `CLOSED`. The MQTT client stays open. */
  close(): Promise<void>;
}

const dec = new TextDecoder();

function checkDetails(d: unknown): Record<string, string> {
  try {
    return checkStatusDetails(d, DEFAULT_JOBS_LIMITS);
  } catch (err) {
    throw new RangeError(`statusDetails: ${(err as Error).message}`);
  }
}

function checkStep(v: unknown): number {
  if (v !== -1 && (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 10_080)) throw new RangeError('stepTimeoutInMinutes: expected 1-10080 or -1');
  return v as number;
}

const KNOWN: Record<string, readonly string[]> = {
  startNext: ['statusDetails', 'stepTimeoutInMinutes'],
  describe: ['includeJobDocument', 'executionNumber'],
  update: ['statusDetails', 'expectedVersion', 'executionNumber', 'stepTimeoutInMinutes', 'includeJobExecutionState', 'includeJobDocument'],
};

function optionsOf(o: unknown, name: 'startNext' | 'describe' | 'update'): Record<string, unknown> {
  if (o === undefined) return {};
  if (!isPlainObject(o)) throw new TypeError(`${name}: options: expected an object`);
  const extra = Object.keys(o).find((k) => !KNOWN[name]!.includes(k));
  if (extra !== undefined) throw new TypeError(`${name}: unknown option ${JSON.stringify(extra.slice(0, 64))}`);
  // undefined values are left out (JSON would drop them anyway)
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

class Client implements JobsClient {
  private readonly prefix: string;
  private readonly req: Requester;
  private readonly nextListeners = new Set<(e: JobExecution | undefined) => unknown>();
  private readonly notifyListeners = new Set<(j: PendingJobs) => unknown>();
  private readonly unlisten: Array<() => void> = [];
  private readonly counters = { reconnects: 0, notifications: 0 };

  private readonly onError: ((err: unknown) => void) | undefined;

  constructor(private readonly link: ReturnType<typeof toLink>, readonly thingName: string, o: JobsClientOptions) {
    this.prefix = jobsTopicPrefix(thingName);
    this.onError = o.onError;
    this.req = new Requester(link, { requestTimeoutMs: o.requestTimeoutMs ?? 5000, maxRetries: o.maxRetries ?? 5 });
  }

  private get filters(): string[] {
    const p = this.prefix;
    return [`${p}/notify`, `${p}/notify-next`, `${p}/+/accepted`, `${p}/+/rejected`, `${p}/+/+/accepted`, `${p}/+/+/rejected`];
  }

  async start(): Promise<void> {
    this.unlisten.push(this.link.onMessage((t, p) => this.onMessage(t, p)));
    this.unlisten.push(this.link.onConnect(() => { void this.reconnected(); }));
    await this.link.subscribe(this.filters);
  }

  private async reconnected(): Promise<void> {
    this.counters.reconnects++;
    try {
      await this.link.subscribe(this.filters);
      this.req.resendAll();
      const next = await this.describe('$next');
      for (const l of this.nextListeners) this.call(l, next);
    } catch {
      // Offline again or closed: the next reconnect tries again.
    }
  }

  /** Runs a listener; what it throws or rejects with goes to `onError`. */
  private call<T>(l: (v: T) => unknown, v: T): void {
    const fail = (err: unknown): void => {
      if (this.onError !== undefined) this.onError(err);
      else process.emitWarning(`@outpost/jobs: a jobs listener failed: ${err instanceof Error ? err.message : String(err)}`);
    };
    try {
      const r = l(v);
      if (r instanceof Promise) r.catch(fail);
    } catch (err) {
      fail(err);
    }
  }

  private onMessage(topic: string, payload: Uint8Array): void {
    if (!topic.startsWith(`${this.prefix}/`)) return;
    if (this.req.handle(topic, payload)) return;
    const rest = topic.slice(this.prefix.length + 1);
    if (rest !== 'notify' && rest !== 'notify-next') return;
    let doc: unknown;
    try {
      doc = JSON.parse(dec.decode(payload));
    } catch {
      return;
    }
    if (!isPlainObject(doc)) return;
    this.counters.notifications++;
    if (rest === 'notify-next') {
      const e = isPlainObject(doc['execution']) ? (doc['execution'] as unknown as JobExecution) : undefined;
      for (const l of this.nextListeners) this.call(l, e);
    } else {
      const jobs = isPlainObject(doc['jobs']) ? (doc['jobs'] as unknown as PendingJobs) : {};
      for (const l of this.notifyListeners) this.call(l, jobs);
    }
  }

  async get(): Promise<{ inProgressJobs: JobExecutionSummary[]; queuedJobs: JobExecutionSummary[] }> {
    const r = await this.req.request(`${this.prefix}/get`, {});
    return { inProgressJobs: (r['inProgressJobs'] ?? []) as JobExecutionSummary[], queuedJobs: (r['queuedJobs'] ?? []) as JobExecutionSummary[] };
  }

  async startNext(options?: { readonly statusDetails?: Readonly<Record<string, string>>; readonly stepTimeoutInMinutes?: number }): Promise<JobExecution | undefined> {
    const o = optionsOf(options, 'startNext');
    const body = {
      ...(o['statusDetails'] !== undefined ? { statusDetails: checkDetails(o['statusDetails']) } : {}),
      ...(o['stepTimeoutInMinutes'] !== undefined ? { stepTimeoutInMinutes: checkStep(o['stepTimeoutInMinutes']) } : {}),
    };
    const r = await this.req.request(`${this.prefix}/start-next`, body);
    return r['execution'] as JobExecution | undefined;
  }

  async describe(jobId: string, options?: { readonly includeJobDocument?: boolean; readonly executionNumber?: number }): Promise<JobExecution | undefined> {
    if (jobId !== '$next') checkJobId(jobId);
    const o = optionsOf(options, 'describe');
    if (o['includeJobDocument'] !== undefined && typeof o['includeJobDocument'] !== 'boolean') throw new TypeError('describe: includeJobDocument: expected a boolean');
    const r = await this.req.request(`${this.prefix}/${jobId}/get`, { ...o });
    return r['execution'] as JobExecution | undefined;
  }

  async update(jobId: string, status: JobExecutionStatus, options?: UpdateOptions): Promise<{ executionState?: JobExecutionState; jobDocument?: JsonObject }> {
    checkJobId(jobId);
    if (typeof status !== 'string') throw new TypeError('update: status: expected a string');
    if (!DEVICE_STATUSES.includes(status)) throw new RangeError(`update: status: expected one of ${DEVICE_STATUSES.join(', ')}`);
    const o = optionsOf(options, 'update');
    const ev = o['expectedVersion'];
    if (ev !== undefined && (typeof ev !== 'number' || !Number.isSafeInteger(ev) || ev < 0)) throw new RangeError('update: expectedVersion: expected a non-negative integer');
    const body: Record<string, unknown> = { status, ...o };
    if (o['statusDetails'] !== undefined) body['statusDetails'] = checkDetails(o['statusDetails']);
    if (o['stepTimeoutInMinutes'] !== undefined) checkStep(o['stepTimeoutInMinutes']);
    const r = await this.req.request(`${this.prefix}/${jobId}/update`, body);
    return {
      ...(r['executionState'] !== undefined ? { executionState: r['executionState'] as JobExecutionState } : {}),
      ...(r['jobDocument'] !== undefined ? { jobDocument: r['jobDocument'] as JsonObject } : {}),
    };
  }

  onNext(listener: (execution: JobExecution | undefined) => unknown): () => void {
    if (typeof listener !== 'function') throw new TypeError('onNext: listener: expected a function');
    this.nextListeners.add(listener);
    return () => this.nextListeners.delete(listener);
  }

  onNotify(listener: (jobs: PendingJobs) => unknown): () => void {
    if (typeof listener !== 'function') throw new TypeError('onNotify: listener: expected a function');
    this.notifyListeners.add(listener);
    return () => this.notifyListeners.delete(listener);
  }

  stats(): { readonly reconnects: number; readonly notifications: number } {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    for (const u of this.unlisten) u();
    this.req.close();
  }
}

/**
 * Creates a device's jobs client on its MQTT connection and subscribes to its jobs topics
 * (notify, notify-next and the answers to its requests).
 *
 * @throws TypeError / RangeError for a wrong option; {@link JobsError} `BAD_NAME` for a bad thing name.
 * @example
 * ```ts
 * import { createJobsClient, type MqttLike } from '@outpost/jobs';
 * async function device(mqtt: MqttLike): Promise<void> {
 *   const jobs = await createJobsClient({ mqtt, thingName: 'lamp-1' });
 *   jobs.onNext(async (e) => {
 *     if (e?.status !== 'QUEUED') return;
 *     const started = await jobs.startNext({ stepTimeoutInMinutes: 10 });
 *     if (started !== undefined) await jobs.update(started.jobId, 'SUCCEEDED', { expectedVersion: started.versionNumber });
 *   });
 * }
 * ```
 */
export async function createJobsClient(options: JobsClientOptions): Promise<JobsClient> {
  if (!isPlainObject(options)) throw new TypeError('createJobsClient: options: expected an object');
  const link = toLink(options.mqtt, 'createJobsClient: mqtt');
  if (options.onError !== undefined && typeof options.onError !== 'function') throw new TypeError('createJobsClient: onError: expected a function');
  const thing = checkThingName(options.thingName);
  for (const k of ['requestTimeoutMs', 'maxRetries'] as const) {
    const v = options[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < (k === 'maxRetries' ? 0 : 1))) throw new RangeError(`createJobsClient: ${k}: expected a ${k === 'maxRetries' ? 'non-negative' : 'positive'} integer`);
  }
  const c = new Client(link, thing, options);
  await c.start();
  return c;
}
