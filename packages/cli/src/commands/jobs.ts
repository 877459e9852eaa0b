// `outpost jobs-service`: the reference jobs service (AWS IoT Jobs device API) on an MQTT broker.
// `outpost jobs create|list|describe|cancel`: the operator API, reaching the running service
// through the broker on reserved topics ($outpost/jobs/ops/{operator}/…) that the ACL gives to
// the service and to each operator identity only.
import { resolve } from 'node:path';
import {
  createJobsOperatorClient, JobsError, MemoryJobsStore, openFileJobsStore, startJobsService,
  type JobsOperatorClient, type JobsStore, type JobStatus, type JsonObject,
} from '@outpost/jobs';
import { CliError, defineCommand, emit, requireString, type Command, type CommandSpec, type FlagValues, type Io, untilStopped } from '../command.js';
import { readCapped } from '../files.js';
import { connect, connectionFlags } from './shadow.js';

const aclNote = `The broker must let the service read and write the jobs topics and the operator API, and
each operator identity only its own operator topics. In Mosquitto's ACL file (brokerConfig's
\`services\` option in @outpost/pki writes the same):
  user jobs-service
  topic readwrite $aws/things/+/jobs/#
  topic readwrite $outpost/jobs/ops/#
  user ops-1
  topic readwrite $outpost/jobs/ops/ops-1/#`;

const opNote = `The request goes through the broker to a running outpost jobs-service; the operator id is
this certificate's CN.`;

const opExample = (cmd: string): string => `outpost jobs ${cmd} --broker mqtts://127.0.0.1:8883 --cert ops-1.pem --key ops-1.key --ca ca.pem`;

function durationOf(values: FlagValues): number | undefined {
  if (values['duration'] === undefined) return undefined;
  const d = requireString(values['duration'], 'duration');
  if (!/^\d+$/.test(d)) throw new CliError('USAGE', `--duration: expected milliseconds, got "${d}"`, 2);
  return Number(d);
}

type Parsed = Parameters<CommandSpec['run']>[0];

async function runService({ values }: Parsed, io: Io): Promise<number> {
  const durationMs = durationOf(values);
  if (values['memory'] === true && values['store'] !== undefined) throw new CliError('USAGE', '--store and --memory exclude each other', 2);
  const storeDir = values['memory'] === true ? undefined : resolve(io.cwd, values['store'] === undefined ? 'outpost-jobs' : requireString(values['store'], 'store'));
  const mqtt = await connect(io, values);
  let store: JobsStore | undefined;
  try {
    store = storeDir === undefined ? new MemoryJobsStore() : await openFileJobsStore({ dir: storeDir, onRepair: (n) => io.stderr(`outpost: jobs-service: cut ${n} torn bytes off the journal\n`) });
    const service = await startJobsService({ mqtt, store, onError: (e) => io.stderr(`outpost: jobs-service: ${e.message.split('\n')[0] ?? ''}\n`) });
    const line = (obj: unknown, human: string): void => io.stdout((values.json ? JSON.stringify(obj) : human) + '\n');
    line({ type: 'listening', broker: values['broker'], clientId: mqtt.clientId, store: storeDir ?? 'memory', jobs: service.listJobs().length }, `jobs service on ${String(values['broker'])} as ${mqtt.clientId}, store: ${storeDir ?? 'memory (lost on exit)'}`);
    await untilStopped(durationMs);
    await service.close();
    const s = service.stats();
    line({ type: 'stopped', stats: s }, `stopped: ${s.requests} requests, ${s.accepted} accepted, ${s.rejected} rejected, ${s.timedOut} timed out`);
    return 0;
  } finally {
    await store?.close();
    await mqtt.close();
  }
}

async function withOps<T>(io: Io, values: FlagValues, fn: (ops: JobsOperatorClient) => Promise<T>): Promise<T> {
  const mqtt = await connect(io, values);
  const ops = await createJobsOperatorClient({ mqtt, operatorId: mqtt.clientId, requestTimeoutMs: 5_000, maxRetries: 1 });
  try {
    return await fn(ops);
  } catch (err) {
    if (err instanceof JobsError) throw new CliError(err.code, err.message);
    throw err;
  } finally {
    await ops.close();
    await mqtt.close();
  }
}

function jobIdArg(positionals: string[]): string {
  if (positionals.length !== 1) throw new CliError('USAGE', `expected one JOB_ID argument, got ${positionals.length}`, 2);
  return positionals[0]!;
}

async function documentOf(io: Io, values: FlagValues): Promise<JsonObject> {
  const inline = values['document'];
  const file = values['document-file'];
  if ((inline === undefined) === (file === undefined)) throw new CliError('USAGE', 'give one of --document JSON or --document-file FILE', 2);
  const text = inline !== undefined ? requireString(inline, 'document') : Buffer.from(await readCapped(resolve(io.cwd, requireString(file, 'document-file')), { what: '--document-file', cap: 1 << 20 })).toString('utf8');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new CliError('USAGE', '--document: expected a JSON object, got invalid JSON', 2);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CliError('USAGE', '--document: expected a JSON object', 2);
  return v as JsonObject;
}

async function create({ values, positionals }: Parsed, io: Io): Promise<number> {
  const jobId = jobIdArg(positionals);
  const document = await documentOf(io, values);
  const targets = requireString(values['targets'], 'targets').split(',').map((t) => t.trim()).filter((t) => t !== '');
  let timeout: number | undefined;
  if (values['timeout-minutes'] !== undefined) {
    const t = requireString(values['timeout-minutes'], 'timeout-minutes');
    if (!/^\d+$/.test(t)) throw new CliError('USAGE', `--timeout-minutes: expected 1-10080, got "${t}"`, 2);
    timeout = Number(t);
  }
  const description = values['description'] === undefined ? undefined : requireString(values['description'], 'description');
  const job = await withOps(io, values, (ops) => ops.createJob({
    jobId, document, targets, ...(timeout !== undefined ? { timeoutConfig: { inProgressTimeoutInMinutes: timeout } } : {}), ...(description !== undefined ? { description } : {}),
  }));
  emit(io, values.json, job, `created ${job.jobId}: ${job.targets.length} execution(s) QUEUED`);
  return 0;
}

const counts = (e: Partial<Record<string, number>>): string => Object.entries(e).map(([k, v]) => `${k} ${String(v)}`).join(', ');

/** `outpost jobs-service`, `outpost jobs create|list|describe|cancel`. */
export const jobsCommands: readonly Command[] = [
  defineCommand({
    path: ['jobs-service'],
    summary: 'run the reference jobs service (AWS IoT Jobs device API) on an MQTT broker',
    about: `Runs the reference jobs service: AWS IoT Jobs device MQTT API semantics and topics
($aws/things/+/jobs/{get,start-next,+/get,+/update}, notify, notify-next) over any MQTT
broker, and the operator API on $outpost/jobs/ops/{operator}/... for outpost jobs. Jobs and
executions are kept in a durable store (snapshot + fsynced journal) unless --memory is given.
Step and in-progress timeouts are swept every second. Runs until SIGINT or SIGTERM. With --json:
one JSON object per line (listening, stopped).

${aclNote}`,
    flags: {
      ...connectionFlags,
      store: { type: 'string', arg: 'DIR', help: 'directory of the job store (default ./outpost-jobs)' },
      memory: { type: 'boolean', help: 'keep jobs in memory only (lost on exit)' },
      duration: { type: 'string', arg: 'MS', help: 'stop after MS milliseconds (for tests and smoke runs)' },
    },
    example: 'outpost jobs-service --broker mqtts://127.0.0.1:8883 --cert jobs-service.pem --key jobs-service.key --ca ca.pem --store ./jobs',
    run: runService,
  }),
  defineCommand({
    path: ['jobs', 'create'],
    summary: 'create a job on a set of things',
    positionals: 'JOB_ID',
    about: `Creates a job: an execution QUEUED on every target, which hears of it on notify-next. The job
document is --document JSON or --document-file FILE. ${opNote}`,
    flags: {
      ...connectionFlags,
      targets: { type: 'string', arg: 'LIST', required: true, help: 'comma-separated thing names' },
      document: { type: 'string', arg: 'JSON', help: 'the job document (a JSON object)' },
      'document-file': { type: 'string', arg: 'FILE', help: 'the job document from a file (at most 1 MiB)' },
      'timeout-minutes': { type: 'string', arg: 'N', help: 'in-progress timeout: IN_PROGRESS longer than N minutes → TIMED_OUT (1-10080)' },
      description: { type: 'string', arg: 'TEXT', help: 'a note kept with the job' },
    },
    example: opExample(`create fw-2-1-0 --document '{"url":"https://updates.example.com/fw-2.1.0.bin"}' --targets sensor-0001,sensor-0002`),
    run: create,
  }),
  defineCommand({
    path: ['jobs', 'list'],
    summary: 'list jobs',
    about: `Lists jobs in creation order. ${opNote}`,
    flags: { ...connectionFlags, status: { type: 'string', arg: 'S', help: 'only jobs with this status: IN_PROGRESS, CANCELED or COMPLETED' } },
    example: opExample('list --status IN_PROGRESS'),
    async run({ values }, io) {
      const status = values['status'] === undefined ? undefined : requireString(values['status'], 'status');
      if (status !== undefined && !['IN_PROGRESS', 'CANCELED', 'COMPLETED'].includes(status)) throw new CliError('USAGE', `--status: expected IN_PROGRESS, CANCELED or COMPLETED, got "${status}"`, 2);
      const jobs = await withOps(io, values, (ops) => ops.listJobs(status === undefined ? {} : { status: status as JobStatus }));
      emit(io, values.json, jobs, jobs.length === 0 ? '(no jobs)' : jobs.map((j) => `${j.jobId}  ${j.status}  ${j.targets} target(s)`).join('\n'));
      return 0;
    },
  }),
  defineCommand({
    path: ['jobs', 'describe'],
    summary: 'show a job, or one thing\'s execution of it',
    positionals: 'JOB_ID',
    about: `Shows a job and its executions per status, or with --thing one execution (status, version,
statusDetails). ${opNote}`,
    flags: { ...connectionFlags, thing: { type: 'string', arg: 'THING', help: "show this thing's execution of the job" } },
    example: opExample('describe fw-2-1-0'),
    async run({ values, positionals }, io) {
      const jobId = jobIdArg(positionals);
      const thing = values['thing'] === undefined ? undefined : requireString(values['thing'], 'thing');
      if (thing !== undefined) {
        const e = await withOps(io, values, (ops) => ops.describeJobExecution(jobId, thing));
        emit(io, values.json, e, `${jobId} on ${thing}: ${e.status}, version ${e.versionNumber}${Object.keys(e.statusDetails).length > 0 ? `, ${JSON.stringify(e.statusDetails)}` : ''}`);
        return 0;
      }
      const job = await withOps(io, values, (ops) => ops.describeJob(jobId));
      emit(io, values.json, job, `${job.jobId}  ${job.status}  ${job.targets.length} target(s)\nexecutions: ${counts(job.executions)}\ndocument: ${JSON.stringify(job.document)}`);
      return 0;
    },
  }),
  defineCommand({
    path: ['jobs', 'cancel'],
    summary: 'cancel a job',
    positionals: 'JOB_ID',
    about: `Cancels a job: QUEUED executions become CANCELED; IN_PROGRESS ones too with --force. ${opNote}`,
    flags: { ...connectionFlags, force: { type: 'boolean', help: 'cancel IN_PROGRESS executions as well' } },
    example: opExample('cancel fw-2-1-0 --force'),
    async run({ values, positionals }, io) {
      const jobId = jobIdArg(positionals);
      const job = await withOps(io, values, (ops) => ops.cancelJob(jobId, { force: values['force'] === true }));
      emit(io, values.json, job, `canceled ${job.jobId}: ${counts(job.executions)}`);
      return 0;
    },
  }),
];
