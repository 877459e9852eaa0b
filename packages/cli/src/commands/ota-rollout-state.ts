// The state directory of `outpost ota rollout …`:
//   rollout.json   the rollout's definition (devices, waves, policy, job document), written once
//   journal.jsonl  the controller's journal (fileControllerStore: fsynced appends, torn tail cut)
//   runner.pid     `PID START\n`: the running `start` (one runner per directory); START is its
//                  start time (/proc/PID/stat field 22), absent where there is no /proc
//   requests/      pause / resume / abort requests for the running runner, answered with `.done`
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  memoryControllerStore, nodeOtaFileSystem, fileControllerStore, openRolloutController, planRollout,
  type OtaFileSystem, type OtaJobDocument, type RolloutController, type RolloutEvent, type RolloutPlan, type RolloutRunner, type WavePolicy, type WaveSpec,
} from '@outpost/ota';
import { CliError } from '../command.js';

/** rollout.json */
export interface RolloutDefinition {
  readonly v: 1;
  /** The plan's seed and the job id. */
  readonly rolloutId: string;
  readonly devices: readonly string[];
  readonly canary: readonly string[];
  readonly waves: readonly WaveSpec[];
  readonly policy: Partial<WavePolicy>;
  readonly document: OtaJobDocument;
}

export const definitionPath = (dir: string): string => join(dir, 'rollout.json');
export const journalPath = (dir: string): string => join(dir, 'journal.jsonl');
const pidPath = (dir: string): string => join(dir, 'runner.pid');
const requestsDir = (dir: string): string => join(dir, 'requests');

const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException)?.code === 'ENOENT';

export async function readDefinition(dir: string): Promise<RolloutDefinition | undefined> {
  let text: string;
  try {
    text = await readFile(definitionPath(dir), 'utf8');
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
  let d: RolloutDefinition;
  try {
    d = JSON.parse(text) as RolloutDefinition;
  } catch {
    throw new CliError('MALFORMED', `${definitionPath(dir)}: not JSON`);
  }
  if (d?.v !== 1 || typeof d.rolloutId !== 'string' || !Array.isArray(d.devices)) throw new CliError('MALFORMED', `${definitionPath(dir)}: not a rollout definition`);
  return d;
}

/** Writes rollout.json atomically and durably (temp, fsync, rename, fsync of the directory). */
export async function writeDefinition(dir: string, d: RolloutDefinition): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${definitionPath(dir)}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(JSON.stringify(d));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, definitionPath(dir));
  await nodeOtaFileSystem().syncDir(dir);
}

export const planOf = (d: RolloutDefinition): RolloutPlan => planRollout({ devices: d.devices, seed: d.rolloutId, waves: d.waves, canary: d.canary, policy: d.policy });

/**
 * The journal as it stands, read without writing: complete lines only (a torn tail is the
 * running runner's append in progress, or a crash's leftover that the next `start` cuts off).
 */
export async function readJournal(dir: string): Promise<RolloutEvent[]> {
  const base = nodeOtaFileSystem();
  // Writes go nowhere: the store's repair of a torn tail is left to the runner that owns the file.
  const nowhere = { write: async () => undefined, sync: async () => undefined, close: async () => undefined };
  const readOnly: OtaFileSystem = {
    ...base,
    async readFile(path) {
      const b = await base.readFile(path);
      return b === undefined ? undefined : b.subarray(0, b.lastIndexOf(0x0a) + 1);
    },
    openWrite: async () => nowhere, openAppend: async () => nowhere, rename: async () => undefined,
    unlink: async () => undefined, syncDir: async () => undefined, mkdir: async () => undefined,
  };
  return fileControllerStore(journalPath(dir), { fs: readOnly }).load();
}

/** A controller over a copy of the journal (for `status`: never writes). */
export async function readOnlyController(dir: string, plan: RolloutPlan): Promise<{ controller: RolloutController; events: RolloutEvent[] }> {
  const events = await readJournal(dir);
  const store = memoryControllerStore();
  store.events.push(...events);
  return { controller: await openRolloutController(plan, store), events };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * A process's start time: field 22 of /proc/PID/stat (proc(5): starttime, clock ticks since
 * boot), parsed after the last ')' since field 2 (comm) may hold spaces and parentheses; 'dead'
 * for a zombie (field 3 state Z: killed, not yet reaped by its parent). `undefined` where there
 * is no /proc (not Linux) or the process is gone.
 */
async function startTime(pid: number): Promise<string | 'dead' | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields 3.. after "pid (comm) "
    if (f[0] === 'Z' || f[0] === 'X') return 'dead';
    return f[19] !== undefined && /^\d+$/.test(f[19]) ? f[19] : undefined;
  } catch {
    return undefined;
  }
}

/** An older CLI wrote the pid alone: on Linux such a pid is a runner only if its command line is a rollout's. */
async function looksLikeRunner(pid: number): Promise<boolean> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').includes('rollout');
  } catch {
    return false; // gone since
  }
}

/** This process's runner.pid line. */
const ownLine = async (): Promise<string> => {
  const t = await startTime(process.pid);
  return t === undefined || t === 'dead' ? `${process.pid}\n` : `${process.pid} ${t}\n`;
};

/**
 * The pid of the live runner of `dir`, if any. A runner is its pid and its start time: a pid file
 * left by a `kill -9` is stale when that pid is gone, or (pid reuse) when the live process with
 * that pid started at another time. Where there is no /proc the file holds the pid alone and
 * liveness decides (a reused pid then looks live: remove runner.pid by hand).
 */
export async function runnerPid(dir: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(pidPath(dir), 'utf8');
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
  const [p, recorded, ...rest] = text.trim().split(' ');
  const pid = Number(p);
  if (!Number.isInteger(pid) || pid <= 0 || rest.length > 0) return undefined;
  if (pid !== process.pid && !alive(pid)) return undefined;
  const now = await startTime(pid);
  if (now === 'dead') return undefined;
  if (now === undefined) return pid; // alive, start time unknown (no /proc, or hidden by hidepid): liveness decides
  // Our own pid with our start time: a second command in this process must not take the lock.
  if (recorded !== undefined) return now === recorded ? pid : undefined;
  return pid !== process.pid && (await looksLikeRunner(pid)) ? pid : undefined; // our pid alone: an earlier holder of it
}

/** Takes `dir`'s runner lock (runner.pid); resolves with its release. @throws {CliError} ROLLOUT_RUNNING. */
export async function takeLock(dir: string): Promise<() => Promise<void>> {
  for (let tries = 0; tries < 3; tries++) {
    try {
      const fh = await open(pidPath(dir), 'wx', 0o600);
      await fh.writeFile(await ownLine());
      await fh.close();
      return async () => { await unlink(pidPath(dir)).catch(() => undefined); };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = await runnerPid(dir);
      if (pid !== undefined) throw new CliError('ROLLOUT_RUNNING', `a runner (pid ${pid}) is working on ${dir}`);
      await unlink(pidPath(dir)).catch(() => undefined); // stale: its process is gone
    }
  }
  throw new CliError('ROLLOUT_RUNNING', `could not take ${pidPath(dir)}`);
}

/** A control request: pause, resume or abort. */
export interface ControlRequest {
  readonly op: 'pause' | 'resume' | 'abort';
  readonly reason?: string;
}

/** Applies one control request to a runner; the error message when it does not fit the state. */
async function apply(runner: RolloutRunner, r: ControlRequest): Promise<string | undefined> {
  try {
    if (r.op === 'pause') await runner.pause();
    else if (r.op === 'resume') await runner.resume();
    else await runner.abort(r.reason ?? 'no reason given');
    return undefined;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ROLLOUT_STATE') return (err as Error).message;
    throw err;
  }
}

/** The running runner's side: applies every waiting request in order and answers each. */
export async function serveRequests(dir: string, runner: RolloutRunner): Promise<void> {
  let names: string[];
  try {
    names = (await readdir(requestsDir(dir))).filter((n) => n.endsWith('.json')).sort();
  } catch (err) {
    if (isMissing(err)) return;
    throw err;
  }
  for (const n of names) {
    const path = join(requestsDir(dir), n);
    let r: ControlRequest;
    try {
      r = JSON.parse(await readFile(path, 'utf8')) as ControlRequest;
    } catch {
      await unlink(path).catch(() => undefined);
      continue;
    }
    const error = await apply(runner, r);
    const done = path.replace(/\.json$/, '.done');
    await writeFile(`${done}.tmp`, JSON.stringify(error === undefined ? { ok: true } : { ok: false, error }));
    await rename(`${done}.tmp`, done);
    await unlink(path);
  }
}

/** The requester's side: hands a request to the running runner and waits for its answer. */
export async function sendRequest(dir: string, r: ControlRequest, waitMs: number, sleep: (ms: number) => Promise<void>): Promise<{ ok: boolean; error?: string }> {
  await mkdir(requestsDir(dir), { recursive: true, mode: 0o700 });
  const name = `${String(Date.now()).padStart(15, '0')}-${randomBytes(4).toString('hex')}`;
  const path = join(requestsDir(dir), `${name}.json`);
  await writeFile(`${path}.tmp`, JSON.stringify(r));
  await rename(`${path}.tmp`, path);
  const done = join(requestsDir(dir), `${name}.done`);
  for (const deadline = Date.now() + waitMs; Date.now() < deadline; await sleep(100)) {
    try {
      const answer = JSON.parse(await readFile(done, 'utf8')) as { ok: boolean; error?: string };
      await unlink(done).catch(() => undefined);
      return answer;
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }
  await unlink(path).catch(() => undefined);
  throw new CliError('TIMEOUT', `the runner of ${dir} did not take the ${r.op} request within ${waitMs} ms (is it stuck? see outpost ota rollout status)`);
}

/** Without a runner: the request applied to the journal directly, under the lock. */
export async function applyOffline(dir: string, plan: RolloutPlan, r: ControlRequest, now: number): Promise<{ ok: boolean; error?: string }> {
  const release = await takeLock(dir);
  try {
    const ctl = await openRolloutController(plan, fileControllerStore(journalPath(dir)));
    try {
      if (r.op === 'pause') await ctl.pause(now);
      else if (r.op === 'resume') await ctl.resume(now);
      else await ctl.abort(now, r.reason ?? 'no reason given');
      return { ok: true };
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ROLLOUT_STATE') return { ok: false, error: (err as Error).message };
      throw err;
    }
  } finally {
    await release();
  }
}
