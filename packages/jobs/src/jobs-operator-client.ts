// The operator API over MQTT, client side: what `outpost jobs create|list|describe|cancel` and a
// rollout controller use to reach a running jobs service through the broker.
import { isPlainObject, type ExecutionRecord, type JobStatus } from './jobs-model.js';
import { operatorTopic, type ExecutionPage, type JobDescription, type JobSpec, type JobSummary, type ListExecutionsOptions, type OperatorOp } from './jobs-operator.js';
import { Requester } from './jobs-requester.js';
import { toLink, type MqttLike } from './jobs-transport.js';

/**
 * Options of {@link createJobsOperatorClient}.
 *
 * @example
 * ```ts
 * import type { JobsOperatorClientOptions, MqttLike } from '@outpost/jobs';
 * const o = (mqtt: MqttLike): JobsOperatorClientOptions => ({ mqtt, operatorId: 'ops-1' });
 * ```
 */
export interface JobsOperatorClientOptions {
  /** A connection whose identity may read and write `$outpost/jobs/ops/{operatorId}/#`. */
  readonly mqtt: MqttLike;
  /** The operator identity (normally the connection's client id / certificate CN). */
  readonly operatorId: string;
  /** Default 5000 ms. */
  readonly requestTimeoutMs?: number;
  /** Default 2. */
  readonly maxRetries?: number;
}

/**
 * The jobs service's operator API, reached through the broker.
 *
 * @example
 * ```ts
 * import type { JobsOperatorClient } from '@outpost/jobs';
 * const ids = async (ops: JobsOperatorClient): Promise<string[]> => (await ops.listJobs()).map((j) => j.jobId);
 * ```
 */
export interface JobsOperatorClient {
  createJob(spec: JobSpec): Promise<JobDescription>;
  cancelJob(jobId: string, options?: { readonly force?: boolean }): Promise<JobDescription>;
  describeJob(jobId: string): Promise<JobDescription>;
  listJobs(options?: { readonly status?: JobStatus }): Promise<JobSummary[]>;
  describeJobExecution(jobId: string, thingName: string): Promise<ExecutionRecord>;
  /** AssociateTargetsWithJob (a CONTINUOUS job): idempotent, a target the job has is left alone. */
  associateTargets(jobId: string, targets: readonly string[]): Promise<JobDescription>;
  /** ListJobExecutionsForJob: one page; pass `nextToken` on for the next. */
  listJobExecutions(jobId: string, options?: ListExecutionsOptions): Promise<ExecutionPage>;
  close(): Promise<void>;
}

/**
 * Connects the operator API on an MQTT connection (subscribes to its answers).
 *
 * @throws TypeError for a wrong option; {@link JobsError} `BAD_NAME` for a bad operator id.
 * @example
 * ```ts
 * import { createJobsOperatorClient, type MqttLike } from '@outpost/jobs';
 * async function cancel(mqtt: MqttLike): Promise<void> {
 *   const ops = await createJobsOperatorClient({ mqtt, operatorId: 'ops-1' });
 *   await ops.cancelJob('fw-2-1-0', { force: true });
 *   await ops.close();
 * }
 * ```
 */
export async function createJobsOperatorClient(options: JobsOperatorClientOptions): Promise<JobsOperatorClient> {
  if (!isPlainObject(options)) throw new TypeError('createJobsOperatorClient: options: expected an object');
  const link = toLink(options.mqtt, 'createJobsOperatorClient: mqtt');
  const base = operatorTopic(options.operatorId, 'list').slice(0, -'/list'.length);
  const req = new Requester(link, { requestTimeoutMs: options.requestTimeoutMs ?? 5000, maxRetries: options.maxRetries ?? 2 });
  const filters = [`${base}/+/accepted`, `${base}/+/rejected`];
  // After a reconnect the broker may have lost the session (clean start, broker restart):
  // subscribe again before sending the unanswered requests again.
  const offs = [link.onMessage((t, p) => { req.handle(t, p); }), link.onConnect(() => { link.subscribe(filters).then(() => req.resendAll(), () => undefined); })];
  await link.subscribe(filters);
  const call = (op: OperatorOp, body: Record<string, unknown>): Promise<Record<string, unknown>> => req.request(operatorTopic(options.operatorId, op), body);
  return {
    createJob: async (spec) => (await call('create', { spec }))['job'] as JobDescription,
    cancelJob: async (jobId, o = {}) => (await call('cancel', { jobId, ...(o.force !== undefined ? { force: o.force } : {}) }))['job'] as JobDescription,
    describeJob: async (jobId) => (await call('describe', { jobId }))['job'] as JobDescription,
    listJobs: async (o = {}) => (await call('list', o.status !== undefined ? { status: o.status } : {}))['jobs'] as JobSummary[],
    describeJobExecution: async (jobId, thingName) => (await call('describe-execution', { jobId, thingName }))['execution'] as ExecutionRecord,
    associateTargets: async (jobId, targets) => (await call('associate-targets', { jobId, targets }))['job'] as JobDescription,
    async listJobExecutions(jobId, o = {}) {
      const r = await call('list-executions', { ...o, jobId });
      return { executions: r['executions'] as ExecutionPage['executions'], ...(typeof r['nextToken'] === 'string' ? { nextToken: r['nextToken'] } : {}) };
    },
    async close() {
      for (const off of offs) off();
      req.close();
    },
  };
}
