// `outpost ota rollout start|status|pause|resume|abort`: a staged rollout (canary → 1% → 10% →
// 100%) driven through a running `outpost jobs-service` by the broker. The state is a directory
// (ota-rollout-state.ts); `start` runs the rollout until it completes or aborts and can be killed
// and started again on the same directory; the other commands work with or without it running.
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createJobsOperatorClient, JobsError } from '@outpost/jobs';
import {
  createRolloutRunner, DEFAULT_MAX_TIMESTAMP_BYTES, encodeOtaJobDocument, fileControllerStore, openRolloutController, OtaError, runRollout,
  DEFAULT_MAX_ROOT_BYTES, type RolloutSnapshot, type WavePolicy, type WaveSpec,
} from '@outpost/ota';
import { CliError, defineCommand, emit, requireString, stringList, type Command, type FlagValues, type Io } from '../command.js';
import { readCapped } from '../files.js';
import { opt, readDocument, readManifestFile } from './ota-common.js';
import {
  applyOffline, journalPath, planOf, readDefinition, readOnlyController, runnerPid, sendRequest, serveRequests, takeLock, writeDefinition,
  type ControlRequest, type RolloutDefinition,
} from './ota-rollout-state.js';
import { connect, connectionFlags } from './shadow.js';

const stateFlag = { state: { type: 'string', arg: 'DIR', required: true, help: "the rollout's state directory" } } as const;
const SPEC_FLAGS = ['rollout-id', 'devices', 'canary', 'waves', 'manifest', 'image', 'timestamp', 'root', 'success-threshold', 'abort-failure-rate', 'abort-min-finished', 'max-per-minute'];

function num(values: FlagValues, flag: string, int: boolean): number | undefined {
  const v = opt(values, flag);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (int && !Number.isInteger(n))) throw new CliError('USAGE', `--${flag}: expected ${int ? 'an integer' : 'a number'}, got "${v}"`, 2);
  return n;
}

function wavesOf(text: string | undefined): WaveSpec[] | undefined {
  if (text === undefined) return undefined;
  return text.split(',').map((w) => {
    const t = w.trim();
    if (t === 'canary') return 'canary';
    const pct = /^(\d+(?:\.\d+)?)%$/.exec(t);
    const n = pct !== null ? Number(pct[1]) / 100 : Number(t);
    if (t === '' || !Number.isFinite(n)) throw new CliError('USAGE', `--waves: expected canary, a fraction or a percentage, got "${t}"`, 2);
    return n;
  });
}

/** rollout.json from the flags of a first `start`. */
async function definitionOf(io: Io, values: FlagValues): Promise<RolloutDefinition> {
  const rolloutId = requireString(values['rollout-id'], 'rollout-id');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(rolloutId)) throw new CliError('USAGE', `--rollout-id: expected [A-Za-z0-9_-]{1,64} (it is the job id), got "${rolloutId}"`, 2);
  const list = Buffer.from(await readCapped(resolve(io.cwd, requireString(values['devices'], 'devices')), { what: '--devices', cap: 64 << 20 })).toString('utf8');
  const devices = list.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter((l) => l !== '');
  const canary = (opt(values, 'canary') ?? '').split(',').map((c) => c.trim()).filter((c) => c !== '');
  const waves = wavesOf(opt(values, 'waves')) ?? (canary.length > 0 ? ['canary', 0.01, 0.1, 1] : [0.01, 0.1, 1]);
  const policy: Partial<WavePolicy> = {
    ...(num(values, 'success-threshold', false) === undefined ? {} : { successThreshold: num(values, 'success-threshold', false) as number }),
    ...(num(values, 'abort-failure-rate', false) === undefined ? {} : { abortFailureRate: num(values, 'abort-failure-rate', false) as number }),
    ...(num(values, 'abort-min-finished', true) === undefined ? {} : { abortMinFinished: num(values, 'abort-min-finished', true) as number }),
    ...(num(values, 'max-per-minute', true) === undefined ? {} : { maxPerMinute: num(values, 'max-per-minute', true) as number }),
  };
  const ts = opt(values, 'timestamp');
  const roots = stringList(values, 'root');
  let document;
  try {
    document = encodeOtaJobDocument({
      manifest: await readManifestFile(io, requireString(values['manifest'], 'manifest')), image: requireString(values['image'], 'image'),
      ...(ts === undefined ? {} : { timestamp: await readDocument(io, ts, 'timestamp', DEFAULT_MAX_TIMESTAMP_BYTES) }),
      ...(roots.length === 0 ? {} : { roots: await Promise.all(roots.map((r) => readDocument(io, r, 'root', DEFAULT_MAX_ROOT_BYTES))) }),
    });
  } catch (err) {
    if (err instanceof OtaError) throw new CliError('USAGE', `--image: ${err.message}`, 2);
    throw err;
  }
  const d: RolloutDefinition = { v: 1, rolloutId, devices, canary, waves, policy, document };
  try {
    planOf(d); // refuse a bad plan before anything is written
  } catch (err) {
    if (err instanceof RangeError || err instanceof TypeError) throw new CliError('USAGE', err.message, 2);
    throw err;
  }
  return d;
}

const table = (s: RolloutSnapshot): string => [
  `${'wave'.padEnd(8)} ${'size'.padStart(7)} ${'dispatched'.padStart(10)} ${'confirmed'.padStart(9)} ${'failed'.padStart(6)}`,
  ...s.waves.map((w, i) => `${(i === s.wave ? '> ' : '  ') + w.name.padEnd(6)} ${String(w.size).padStart(7)} ${String(w.dispatched).padStart(10)} ${String(w.confirmed).padStart(9)} ${String(w.failed).padStart(6)}`),
].join('\n');
const line = (id: string, s: RolloutSnapshot): string => `rollout ${id}: ${s.status}, wave ${s.waveName} (${s.waves.map((w) => `${w.name} ${w.confirmed}/${w.size} confirmed, ${w.failed} failed`).join('; ')})`;

async function start({ values }: { values: FlagValues & { json: boolean } }, io: Io): Promise<number> {
  const dir = resolve(io.cwd, requireString(values['state'], 'state'));
  const intervalMs = num(values, 'interval', true) ?? 5000;
  const durationMs = num(values, 'duration', true);
  if (intervalMs < 0 || (durationMs !== undefined && durationMs < 0)) throw new CliError('USAGE', '--interval and --duration: expected milliseconds ≥ 0', 2);
  let def = await readDefinition(dir);
  const given = SPEC_FLAGS.filter((f) => values[f] !== undefined);
  if (def !== undefined && given.length > 0) throw new CliError('USAGE', `${dir} already holds rollout ${def.rolloutId}: run start --state DIR without --${given[0]} to resume it`, 2);
  if (def === undefined) {
    def = await definitionOf(io, values);
    await writeDefinition(dir, def);
  }
  const id = def.rolloutId;
  const release = await takeLock(dir);
  const mqtt = await connect(io, values).catch(async (err: unknown) => { await release(); throw err; });
  const ops = await createJobsOperatorClient({ mqtt, operatorId: mqtt.clientId, requestTimeoutMs: 5_000, maxRetries: 2 });
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const timer = durationMs === undefined ? undefined : setTimeout(onSignal, durationMs);
  try {
    const controller = await openRolloutController(planOf(def), fileControllerStore(journalPath(dir), { onRepair: (n) => io.stderr(`outpost: rollout: cut ${n} torn bytes off the journal\n`) }));
    const runner = createRolloutRunner({ controller, jobs: ops, jobId: id, document: def.document, description: `outpost ota rollout ${id}` });
    const out = (obj: unknown, human: string): void => io.stdout((values.json ? JSON.stringify(obj) : human) + '\n');
    out({ type: 'started', rolloutId: id, jobId: id, state: dir, ...runner.snapshot() }, `${line(id, runner.snapshot())}; state ${dir}`);
    let last = '';
    const final = await runRollout(runner, {
      intervalMs, signal: stop.signal,
      beforeStep: () => serveRequests(dir, runner),
      onStep: (s) => {
        const key = JSON.stringify(s);
        if (key !== last) out({ type: 'progress', ...s }, line(id, s));
        last = key;
      },
      onError: (e) => io.stderr(`outpost: rollout: ${e instanceof JobsError ? `${e.code}: ` : ''}${e.message.split('\n')[0] ?? ''} (retrying)\n`),
    });
    out({ type: 'finished', ...final }, `${line(id, final)}${final.reason === undefined ? '' : `\nreason: ${final.reason}`}`);
    if (final.status === 'aborted') throw new CliError('ROLLOUT_ABORTED', `rollout ${id} aborted: ${final.reason ?? ''}`, 3);
    return 0;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await ops.close();
    await mqtt.close();
    await release();
  }
}

async function loaded(io: Io, values: FlagValues): Promise<{ dir: string; def: RolloutDefinition }> {
  const dir = resolve(io.cwd, requireString(values['state'], 'state'));
  const def = await readDefinition(dir);
  if (def === undefined) throw new CliError('NOT_FOUND', `${dir} holds no rollout (start one with outpost ota rollout start)`);
  return { dir, def };
}

async function status({ values }: { values: FlagValues & { json: boolean } }, io: Io): Promise<number> {
  const { dir, def } = await loaded(io, values);
  const plan = planOf(def);
  const { controller, events } = await readOnlyController(dir, plan);
  const s = controller.snapshot();
  const pid = await runnerPid(dir);
  const waveOf = new Map(plan.waves.flatMap((w) => w.devices.map((d) => [d, w.index] as const)));
  const lastReport = new Map<string, Extract<(typeof events)[number], { type: 'report' }>>();
  for (const e of events) if (e.type === 'report') lastReport.set(e.device, e);
  const failures = [...lastReport.values()].filter((e) => e.status === 'failed' || e.status === 'rolled-back')
    .map((e) => ({ device: e.device, wave: plan.waves[waveOf.get(e.device) ?? 0]?.name, status: e.status, details: e.details ?? {} }));
  const shown = failures.filter((f) => f.wave === s.waveName);
  emit(io, values.json, { rolloutId: def.rolloutId, jobId: def.rolloutId, runner: pid ?? null, ...s, failures },
    [`rollout ${def.rolloutId}: ${s.status} at wave ${s.waveName}; runner ${pid === undefined ? 'not running' : `pid ${pid}`}`,
      ...(s.reason === undefined ? [] : [`reason: ${s.reason}`]), table(s),
      ...(shown.length === 0 ? [] : [`failed in wave ${s.waveName}:`, ...shown.map((f) => `  ${f.device}  ${f.status}  ${f.details['reason'] ?? ''}${f.details['message'] === undefined ? '' : `: ${f.details['message']}`}`)]),
      ...(failures.length > shown.length ? [`(${failures.length - shown.length} more in earlier waves: --json lists all)`] : []),
    ].join('\n'));
  return 0;
}

function control(op: ControlRequest['op']) {
  return async ({ values }: { values: FlagValues & { json: boolean } }, io: Io): Promise<number> => {
    const { dir, def } = await loaded(io, values);
    const reason = opt(values, 'reason');
    if (op === 'abort' && reason === undefined) throw new CliError('USAGE', 'abort: --reason TEXT is required (it is kept in the journal)', 2);
    const req: ControlRequest = { op, ...(reason === undefined ? {} : { reason }) };
    const pid = await runnerPid(dir);
    const waitMs = num(values, 'wait', true) ?? 30_000;
    const r = pid !== undefined ? await sendRequest(dir, req, waitMs, (ms) => sleep(ms)) : await applyOffline(dir, planOf(def), req, Date.now());
    if (!r.ok) throw new CliError('ROLLOUT_STATE', `${op}: ${r.error ?? 'refused'}`);
    const s = (await readOnlyController(dir, planOf(def))).controller.snapshot();
    const note = op === 'abort' && pid === undefined ? ' (no runner is running: the job is canceled when start --state DIR runs next)' : '';
    emit(io, values.json, { rolloutId: def.rolloutId, applied: op, runner: pid ?? null, ...s }, `${line(def.rolloutId, s)}${note}`);
    return 0;
  };
}

const controlFlags = { ...stateFlag, wait: { type: 'string', arg: 'MS', help: 'how long to wait for a running runner to take the request (default 30000)' } } as const;

/** `outpost ota rollout start|status|pause|resume|abort`. */
export const otaRolloutCommands: readonly Command[] = [
  defineCommand({
    path: ['ota', 'rollout', 'start'],
    summary: 'run a staged rollout through the jobs service',
    about: `Runs a staged rollout (canary → 1% → 10% → 100% by default) through a running outpost
jobs-service, reached by the broker as an operator. The rollout is one CONTINUOUS job (job id =
--rollout-id) whose targets are added wave by wave and within --max-per-minute; execution
results are read back from the service and gate the next wave; too many failures abort the
rollout and cancel the job's queued executions. Devices are assigned to waves by a hash of the
rollout id and their name (stable when devices are added).

The first start writes the rollout to --state DIR; every decision is journalled there before
it is acted on. Started again on the same DIR (after a crash or kill -9: no other flag), it
resumes where it was; each device is targeted once. Runs until the rollout completes (exit 0)
or aborts (exit 3), or until SIGINT/SIGTERM (exit 0; start it again to go on). With --json: one
JSON object per line (started, progress, finished).

The operator identity (this certificate's CN) needs $outpost/jobs/ops/{CN}/# in the ACL.`,
    flags: {
      ...stateFlag, ...connectionFlags,
      'rollout-id': { type: 'string', arg: 'ID', help: 'the rollout id: the job id and the seed of the waves ([A-Za-z0-9_-]{1,64})' },
      devices: { type: 'string', arg: 'FILE', help: 'the fleet: one thing name per line (# comments)' },
      canary: { type: 'string', arg: 'LIST', help: 'comma-separated devices of the canary wave' },
      waves: { type: 'string', arg: 'LIST', help: 'e.g. canary,1%,10%,100% (the default with --canary; cumulative)' },
      manifest: { type: 'string', arg: 'M', help: 'the signed manifest (outpost ota sign)' },
      image: { type: 'string', arg: 'SOURCE', help: 'where devices fetch the image: stream:<id>, https://…, coap://…' },
      timestamp: { type: 'string', arg: 'T', help: 'the signed timestamp document, when the trust has a timestamp role' },
      root: { type: 'string', multiple: true, arg: 'ROOT', help: 'root documents devices apply first (repeatable, oldest first)' },
      'success-threshold': { type: 'string', arg: 'F', help: 'share of a wave that must confirm before the next (default 0.95)' },
      'abort-failure-rate': { type: 'string', arg: 'F', help: 'abort when failed/finished exceeds this (default 0.1)…' },
      'abort-min-finished': { type: 'string', arg: 'N', help: '…once N devices of the wave finished (default 5, canary 1)' },
      'max-per-minute': { type: 'string', arg: 'N', help: 'at most N devices targeted per minute (default unlimited)' },
      interval: { type: 'string', arg: 'MS', help: 'time between rounds (default 5000)' },
      duration: { type: 'string', arg: 'MS', help: 'stop after MS milliseconds (tests, smoke runs)' },
    },
    example: `outpost ota rollout start --state ./ro-2.1.0 --rollout-id fw-2-1-0 --devices fleet.txt --canary lamp-0001,lamp-0002 \\
    --manifest fw-2.1.0.manifest --image stream:fw-2-1-0 --broker mqtts://127.0.0.1:8883 --cert ops-1.pem --key ops-1.key --ca ca.pem`,
    run: start,
  }),
  defineCommand({
    path: ['ota', 'rollout', 'status'],
    summary: "show a rollout's waves and the failures of its current wave",
    about: `Shows a rollout from its state directory (no broker needed): its status (running, paused,
aborted, completed), the current wave, the reason it aborted, per wave the devices dispatched,
confirmed and failed, and the failed devices of the current wave with the reason and message
their agent reported (statusDetails). With --json: every failure of every wave.`,
    flags: stateFlag,
    example: 'outpost ota rollout status --state ./ro-2.1.0',
    run: status,
  }),
  defineCommand({
    path: ['ota', 'rollout', 'pause'],
    summary: 'stop targeting more devices (devices already targeted go on)',
    about: `Pauses a rollout: no further devices are targeted; results keep coming in. Handed to the running
start (through DIR/requests) or, with none running, written to the journal directly.`,
    flags: controlFlags,
    example: 'outpost ota rollout pause --state ./ro-2.1.0',
    run: control('pause'),
  }),
  defineCommand({
    path: ['ota', 'rollout', 'resume'],
    summary: 'resume a paused rollout',
    about: 'Resumes a paused rollout (see pause for how the request reaches it).',
    flags: controlFlags,
    example: 'outpost ota rollout resume --state ./ro-2.1.0',
    run: control('resume'),
  }),
  defineCommand({
    path: ['ota', 'rollout', 'abort'],
    summary: "abort a rollout and cancel its job's queued executions",
    about: `Aborts a rollout for good: the reason is journalled, the job is canceled (QUEUED executions become
CANCELED; devices already installing finish, and roll back on their own if unhealthy). With no
start running, the job is canceled when start --state DIR runs next.`,
    flags: { ...controlFlags, reason: { type: 'string', arg: 'TEXT', required: true, help: 'why (kept in the journal)' } },
    example: "outpost ota rollout abort --state ./ro-2.1.0 --reason 'crash reports from the 1% wave'",
    run: control('abort'),
  }),
];
