// The operator API over MQTT, service side: `$outpost/jobs/ops/{operator}/{op}` with a JSON
// body and a clientToken, answered on `…/accepted` (the result) or `…/rejected` (an error
// document with the JobsError code). The broker's ACL decides who may publish there.
import { JobsError } from './errors.js';
import { isPlainObject, type JobStatus } from './jobs-model.js';
import type { ListExecutionsOptions, OperatorOp } from './jobs-operator.js';
import type { Service } from './service.js';

const dec = new TextDecoder();

function field(body: Record<string, unknown>, k: string): string {
  const v = body[k];
  if (typeof v !== 'string') throw new TypeError(`${k}: expected a string`);
  return v;
}

async function run(svc: Service, op: OperatorOp, body: Record<string, unknown>): Promise<unknown> {
  switch (op) {
    case 'create':
      return { job: await svc.createJob(body['spec'] as never) };
    case 'cancel': {
      const force = body['force'];
      if (force !== undefined && typeof force !== 'boolean') throw new TypeError('force: expected a boolean');
      return { job: await svc.cancelJob(field(body, 'jobId'), force === undefined ? {} : { force }) };
    }
    case 'describe':
      return { job: svc.describeJob(field(body, 'jobId')) };
    case 'list':
      return { jobs: svc.listJobs(body['status'] === undefined ? {} : { status: body['status'] as JobStatus }) };
    case 'describe-execution':
      return { execution: svc.describeJobExecution(field(body, 'jobId'), field(body, 'thingName')) };
    case 'associate-targets':
      return { job: await svc.associateTargets(field(body, 'jobId'), body['targets'] as string[]) };
    case 'list-executions': {
      const { jobId: _j, clientToken: _c, ...options } = body;
      return await svc.listJobExecutions(field(body, 'jobId'), options as ListExecutionsOptions);
    }
  }
}

/** Handles one operator request: never throws; every outcome is an answer. @internal */
export async function handleOperatorRequest(svc: Service, topic: string, op: OperatorOp, payload: Uint8Array): Promise<void> {
  let token: string | undefined;
  try {
    if (payload.length > svc.machine.limits.maxDocumentBytes * 2 + 4096) throw new RangeError('operator request too large');
    let body: unknown;
    try {
      body = JSON.parse(dec.decode(payload));
    } catch {
      throw new JobsError('InvalidJson', 'the request is not JSON');
    }
    if (!isPlainObject(body)) throw new TypeError('the request must be a JSON object');
    const t = body['clientToken'];
    if (typeof t === 'string' && Buffer.byteLength(t) <= svc.machine.limits.maxClientTokenBytes) token = t;
    const result = await run(svc, op, body);
    await svc.send(`${topic}/accepted`, { ...(result as object), ...(token !== undefined ? { clientToken: token } : {}) });
  } catch (err) {
    const code = err instanceof JobsError ? err.code : err instanceof TypeError || err instanceof RangeError ? 'InvalidRequest' : 'InternalError';
    if (code === 'InternalError') svc.report(err as Error);
    const message = err instanceof Error ? err.message : String(err);
    await svc.send(`${topic}/rejected`, { code, message, timestamp: Math.floor(svc.now() / 1000), ...(token !== undefined ? { clientToken: token } : {}) });
  }
}
