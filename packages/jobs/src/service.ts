// The reference jobs service: the AWS IoT Jobs device MQTT API over any MQTT broker, for
// development, tests and small self-hosted fleets (at scale, AWS IoT Jobs is the engine). The
// logic is the JobsMachine; this file is the I/O edge: messages in, store commits, answers and
// notifications out, and a timer that sweeps timeouts.
import type { JobsRejectCode } from './errors.js';
import { jobsTopicPrefix } from './topics.js';
import { JobsMachine, type JobsChange } from './jobs-machine.js';
import { isPlainObject, type ExecutionRecord, type JobsLimits, type JobStatus } from './jobs-model.js';
import {
  describeExecutionOf, describeJobOf, listExecutionsOf, listJobsOf, parseOperatorTopic,
  type ExecutionPage, type JobDescription, type JobSpec, type JobSummary, type ListExecutionsOptions,
} from './jobs-operator.js';
import { decodeJobsRequest, jobsRequestTopic, parseJobsRequestTopic, type JobsRequestTopic } from './jobs-protocol.js';
import { handleOperatorRequest } from './service-ops.js';
import { MemoryJobsStore, type JobsStore } from './jobs-store.js';
import { toLink, type Link, type MqttLike } from './jobs-transport.js';

/**
 * Options of {@link startJobsService}.
 *
 * @example
 * ```ts
 * import { MemoryJobsStore, type JobsServiceOptions, type MqttLike } from '@outpost/jobs';
 * const options = (mqtt: MqttLike): JobsServiceOptions => ({ mqtt, store: new MemoryJobsStore(), sweepIntervalMs: 0 });
 * ```
 */
export interface JobsServiceOptions {
  /** A connection whose identity may read and write `$aws/things/+/jobs/#` (and `$outpost/jobs/ops/#` for the operator API). */
  readonly mqtt: MqttLike;
  /** Default a {@link MemoryJobsStore}; {@link openFileJobsStore} keeps jobs across restarts. */
  readonly store?: JobsStore;
  /** Clock in epoch milliseconds. Default `Date.now`. */
  readonly now?: () => number;
  /** Default {@link DEFAULT_JOBS_LIMITS}. */
  readonly limits?: Partial<JobsLimits>;
  /** Requests of one thing being handled at most; one more is rejected with RequestThrottled. Default 10. */
  readonly maxInFlightPerThing?: number;
  /** How often timeouts are swept, in ms. Default 1000; 0 sweeps only when {@link JobsService.sweep} is called. */
  readonly sweepIntervalMs?: number;
  /** Serve the operator API on `$outpost/jobs/ops/+/+`. Default true. */
  readonly operatorApi?: boolean;
  /** Called with errors the service keeps going after (a store failure is also answered InternalError). */
  readonly onError?: (err: Error) => void;
}

/**
 * Counters of a running {@link JobsService}.
 *
 * @example
 * ```ts
 * import type { JobsServiceStats } from '@outpost/jobs';
 * const share = (s: JobsServiceStats): number => s.rejected / Math.max(1, s.requests);
 * ```
 */
export interface JobsServiceStats {
  readonly requests: number;
  readonly accepted: number;
  readonly rejected: number;
  /** Rejected with RequestThrottled (also counted in `rejected`). */
  readonly throttled: number;
  readonly notifications: number;
  readonly timedOut: number;
  readonly commits: number;
  readonly errors: number;
  /** Requests received and not answered yet. */
  readonly inFlight: number;
}

/**
 * A running reference jobs service, with the operator API in process.
 *
 * @example
 * ```ts
 * import type { JobsService } from '@outpost/jobs';
 * const queued = (s: JobsService, id: string): number => s.describeJob(id).executions.QUEUED ?? 0;
 * ```
 */
export interface JobsService {
  /** Creates a job and queues an execution on every target; resolves when durable (and notified). */
  createJob(spec: JobSpec): Promise<JobDescription>;
  /** Cancels a job: QUEUED executions become CANCELED, IN_PROGRESS ones too with `force`. */
  cancelJob(jobId: string, options?: { readonly force?: boolean }): Promise<JobDescription>;
  describeJob(jobId: string): JobDescription;
  listJobs(options?: { readonly status?: JobStatus }): JobSummary[];
  describeJobExecution(jobId: string, thingName: string): ExecutionRecord;
  /** AssociateTargetsWithJob: queues the CONTINUOUS job on targets it does not have yet; resolves when durable (and notified). A repeat changes nothing. */
  associateTargets(jobId: string, targets: readonly string[]): Promise<JobDescription>;
  /** ListJobExecutionsForJob: one page of the job's executions, oldest change first; `updatedSince` makes it a change feed. */
  listJobExecutions(jobId: string, options?: ListExecutionsOptions): Promise<ExecutionPage>;
  /** Applies every timeout due at the clock's time now; resolves with how many executions timed out. */
  sweep(): Promise<number>;
  stats(): JobsServiceStats;
  /** Resolves when every request received so far has been answered. */
  idle(): Promise<void>;
  /** Stops handling requests and waits for those in progress; the MQTT client and store stay open. */
  close(): Promise<void>;
}

const DEVICE_FILTERS = ['$aws/things/+/jobs/get', '$aws/things/+/jobs/start-next', '$aws/things/+/jobs/+/get', '$aws/things/+/jobs/+/update'];
const OPS_FILTER = '$outpost/jobs/ops/+/+';
const dec = new TextDecoder();

/** @internal */
export class Service implements JobsService {
  machine: JobsMachine;
  readonly now: () => number;
  private readonly inFlight = new Map<string, number>();
  private readonly work = new Set<Promise<void>>();
  private readonly lastPending = new Map<string, string>();
  private readonly lastNext = new Map<string, string>();
  /** Settles after the last commit handed to the store: answers without changes wait for it (no uncommitted reads). */
  private barrier: Promise<void> = Promise.resolve();
  readonly counters = { requests: 0, accepted: 0, rejected: 0, throttled: 0, notifications: 0, timedOut: 0, commits: 0, errors: 0 };
  private readonly maxInFlight: number;
  private unlisten: Array<() => void> = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private closed = false;

  constructor(readonly link: Link, readonly store: JobsStore, private readonly o: JobsServiceOptions) {
    this.machine = new JobsMachine(o.limits);
    this.now = o.now ?? Date.now;
    this.maxInFlight = o.maxInFlightPerThing ?? 10;
  }

  async start(): Promise<void> {
    this.machine.load(await this.store.load());
    const filters = this.o.operatorApi === false ? DEVICE_FILTERS : [...DEVICE_FILTERS, OPS_FILTER];
    this.unlisten.push(this.link.onMessage((t, p) => this.onMessage(t, p)));
    this.unlisten.push(this.link.onConnect(() => { this.link.subscribe(filters).catch((e: unknown) => this.report(e as Error)); }));
    await this.link.subscribe(filters);
    const every = this.o.sweepIntervalMs ?? 1000;
    if (every > 0) {
      this.timer = setInterval(() => { this.track(this.sweep().then(() => undefined)); }, every);
      this.timer.unref?.();
    }
  }

  report(err: Error): void {
    this.counters.errors++;
    this.o.onError?.(err);
  }

  private track(p: Promise<void>): void {
    const q = p.catch((e: unknown) => this.report(e as Error));
    this.work.add(q);
    void q.finally(() => this.work.delete(q));
  }

  private onMessage(topic: string, payload: Uint8Array): void {
    if (this.closed) return;
    const ops = this.o.operatorApi === false ? undefined : parseOperatorTopic(topic);
    if (ops !== undefined) {
      this.track(handleOperatorRequest(this, topic, ops.op, payload));
      return;
    }
    const t = parseJobsRequestTopic(topic);
    if (t === undefined) return;
    this.counters.requests++;
    const n = this.inFlight.get(t.thingName) ?? 0;
    if (n >= this.maxInFlight) {
      this.counters.throttled++;
      this.track(this.reject(t, 'RequestThrottled', 'too many requests in flight for this thing', tokenOf(payload, this.machine.limits.maxClientTokenBytes)));
      return;
    }
    this.inFlight.set(t.thingName, n + 1);
    this.track(this.handle(t, payload).finally(() => {
      const left = (this.inFlight.get(t.thingName) ?? 1) - 1;
      if (left > 0) this.inFlight.set(t.thingName, left); else this.inFlight.delete(t.thingName);
    }));
  }

  private async handle(t: JobsRequestTopic, payload: Uint8Array): Promise<void> {
    const d = decodeJobsRequest(t.operation, payload, this.machine.limits);
    if (!d.ok) {
      await this.barrier;
      return this.reject(t, d.code, d.message, d.clientToken);
    }
    const now = this.now();
    const r = d.request;
    const token = r.body.clientToken;
    const m = this.machine;
    const out = r.operation === 'get' ? m.getPending(t.thingName, r.body)
      : r.operation === 'start-next' ? m.startNext(t.thingName, r.body, now)
      : r.operation === 'describe' ? m.describe(t.thingName, (t as { jobId: string }).jobId, r.body, now)
      : m.update(t.thingName, (t as { jobId: string }).jobId, r.body, now);
    if (!out.ok) {
      await this.barrier;
      return this.reject(t, out.code, out.message, token, out.executionState);
    }
    try {
      await this.commit(out.changes);
    } catch {
      return this.reject(t, 'InternalError', 'the job store failed; retry', token);
    }
    this.counters.accepted++;
    await this.send(jobsRequestTopic(t, 'accepted'), { ...out.body, timestamp: Math.floor(now / 1000), ...(token !== undefined ? { clientToken: token } : {}) });
    await this.notify(out.changes);
  }

  /** Makes changes durable (in order with every other commit); on a store failure reloads the machine from the store. */
  async commit(changes: readonly JobsChange[]): Promise<void> {
    if (changes.length === 0) return this.barrier;
    const p = this.store.commit(changes);
    this.barrier = p.catch(() => undefined);
    this.counters.commits++;
    try {
      await p;
    } catch (err) {
      this.report(err as Error);
      // Memory ran ahead of the disk: take the store's word for what happened.
      try {
        const fresh = new JobsMachine(this.machine.limits);
        fresh.load(await this.store.load());
        this.machine = fresh;
      } catch (e) {
        this.report(e as Error);
      }
      throw err;
    }
  }

  async reject(t: JobsRequestTopic, code: JobsRejectCode, message: string, token?: string, executionState?: unknown): Promise<void> {
    this.counters.rejected++;
    const doc = { code, message, timestamp: Math.floor(this.now() / 1000), ...(token !== undefined ? { clientToken: token } : {}), ...(executionState !== undefined ? { executionState } : {}) };
    await this.send(jobsRequestTopic(t, 'rejected'), doc);
  }

  async send(topic: string, doc: unknown): Promise<void> {
    try {
      await this.link.publish(topic, JSON.stringify(doc));
    } catch (err) {
      this.report(err as Error);
    }
  }

  /** `notify` when a thing's pending list changed, `notify-next` when its next execution changed. */
  async notify(changes: readonly JobsChange[]): Promise<void> {
    const things = new Set<string>();
    for (const c of changes) if (c.kind === 'exec') things.add(c.record.thingName);
    const ts = Math.floor(this.now() / 1000);
    const sends: Promise<void>[] = [];
    for (const thing of things) {
      const pending = this.machine.pending(thing);
      const sig = pending.map((e) => e.jobId).join(',');
      if (this.lastPending.get(thing) !== sig) {
        if (sig === '') this.lastPending.delete(thing); else this.lastPending.set(thing, sig);
        sends.push(this.send(`${jobsTopicPrefix(thing)}/notify`, { timestamp: ts, jobs: this.machine.notifyJobs(thing) }));
      }
      const next = pending[0];
      if ((this.lastNext.get(thing) ?? '') !== (next?.jobId ?? '')) {
        if (next === undefined) this.lastNext.delete(thing); else this.lastNext.set(thing, next.jobId);
        sends.push(this.send(`${jobsTopicPrefix(thing)}/notify-next`, next === undefined ? { timestamp: ts } : { timestamp: ts, execution: this.machine.view(next, this.now(), true) }));
      }
    }
    this.counters.notifications += sends.length;
    await Promise.all(sends);
  }

  async createJob(spec: JobSpec): Promise<JobDescription> {
    const changes = this.machine.createJob(spec, this.now());
    await this.commit(changes);
    await this.notify(changes);
    return describeJobOf(this.machine, spec.jobId);
  }

  async cancelJob(jobId: string, options: { readonly force?: boolean } = {}): Promise<JobDescription> {
    if (!isPlainObject(options)) throw new TypeError('cancelJob: options: expected an object');
    if (options.force !== undefined && typeof options.force !== 'boolean') throw new TypeError('cancelJob: force: expected a boolean');
    const changes = this.machine.cancelJob(jobId, options.force === true, this.now());
    await this.commit(changes);
    await this.notify(changes);
    return describeJobOf(this.machine, jobId);
  }

  describeJob(jobId: string): JobDescription {
    return describeJobOf(this.machine, jobId);
  }

  listJobs(options: { readonly status?: JobStatus } = {}): JobSummary[] {
    const s = options.status;
    if (s !== undefined && s !== 'IN_PROGRESS' && s !== 'CANCELED' && s !== 'COMPLETED') throw new RangeError(`listJobs: status: expected IN_PROGRESS, CANCELED or COMPLETED`);
    return listJobsOf(this.machine, s);
  }

  describeJobExecution(jobId: string, thingName: string): ExecutionRecord {
    return describeExecutionOf(this.machine, jobId, thingName);
  }

  async associateTargets(jobId: string, targets: readonly string[]): Promise<JobDescription> {
    const changes = this.machine.associateTargets(jobId, targets, this.now());
    await this.commit(changes);
    await this.notify(changes);
    return describeJobOf(this.machine, jobId);
  }

  async listJobExecutions(jobId: string, options: ListExecutionsOptions = {}): Promise<ExecutionPage> {
    await this.barrier; // no uncommitted reads
    return listExecutionsOf(this.machine, jobId, options);
  }

  async sweep(): Promise<number> {
    const changes = this.machine.sweep(this.now());
    if (changes.length === 0) return 0;
    await this.commit(changes);
    const n = changes.filter((c) => c.kind === 'exec').length;
    this.counters.timedOut += n;
    await this.notify(changes);
    return n;
  }

  stats(): JobsServiceStats {
    let inFlight = 0;
    for (const n of this.inFlight.values()) inFlight += n;
    return { ...this.counters, inFlight };
  }

  async idle(): Promise<void> {
    while (this.work.size > 0) await Promise.all([...this.work]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const u of this.unlisten) u();
    await this.idle();
  }
}

/** The request's clientToken when it has a valid one (for a throttled answer). */
function tokenOf(payload: Uint8Array, max: number): string | undefined {
  try {
    const v: unknown = JSON.parse(dec.decode(payload));
    const t = isPlainObject(v) ? v['clientToken'] : undefined;
    return typeof t === 'string' && Buffer.byteLength(t) <= max ? t : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts the reference jobs service on an MQTT connection: it loads the store, subscribes to
 * every thing's jobs request topics (and the operator API's), answers each request with AWS
 * semantics, publishes `notify` / `notify-next` when a thing's pending executions change, and
 * sweeps step and in-progress timeouts on the clock. Every change is durable in the store
 * before its answer or notification goes out.
 *
 * @throws TypeError / RangeError for a wrong option.
 * @example
 * ```ts
 * import { startJobsService, openFileJobsStore, type MqttLike } from '@outpost/jobs';
 * async function serve(mqtt: MqttLike): Promise<void> {
 *   const store = await openFileJobsStore({ dir: '/var/lib/outpost/jobs' });
 *   const service = await startJobsService({ mqtt, store });
 *   await service.createJob({ jobId: 'reboot-1', document: { operation: 'reboot' }, targets: ['lamp-1'] });
 * }
 * ```
 */
export async function startJobsService(options: JobsServiceOptions): Promise<JobsService> {
  if (!isPlainObject(options)) throw new TypeError('startJobsService: options: expected an object');
  const link = toLink(options.mqtt, 'startJobsService: mqtt');
  const store = options.store ?? new MemoryJobsStore();
  if (!isPlainObject(store) || typeof store.load !== 'function' || typeof store.commit !== 'function') throw new TypeError('startJobsService: store: expected a JobsStore');
  if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('startJobsService: now: expected a function');
  const m = options.maxInFlightPerThing;
  if (m !== undefined && (typeof m !== 'number' || !Number.isInteger(m) || m < 1)) throw new RangeError('startJobsService: maxInFlightPerThing: expected a positive integer');
  const s = options.sweepIntervalMs;
  if (s !== undefined && (typeof s !== 'number' || !Number.isInteger(s) || s < 0)) throw new RangeError('startJobsService: sweepIntervalMs: expected a non-negative integer');
  const svc = new Service(link, store, options);
  await svc.start();
  return svc;
}
