// The rollout runner's lock (runner.pid): a pid file left by `kill -9` whose pid now belongs to
// another process (pid reuse) is stale; the runner is identified by pid + its start time.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '@outpost/test-peers';
import { runnerPid, takeLock } from '../src/commands/ota-rollout-state.js';

const tmp = tempDir('outpost-cli-lock-');
const kids: ChildProcess[] = [];
afterAll(() => {
  for (const k of kids) if (k.exitCode === null) k.kill('SIGKILL');
});
const linux = process.platform === 'linux';

/** Field 22 of /proc/PID/stat (the process start time, clock ticks since boot), read independently of the code under test. */
const startOf = (pid: number): string => (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop() as string).split(' ')[19] as string;

async function other(): Promise<number> {
  const k = spawn('sleep', ['120'], { stdio: 'ignore' });
  kids.push(k);
  await once(k, 'spawn');
  return k.pid as number;
}
let n = 0;
async function dirWith(content: string): Promise<string> {
  const dir = join(tmp.path, `d${n++}`);
  await mkdir(dir, { recursive: true });
  writeFileSync(join(dir, 'runner.pid'), content);
  return dir;
}

describe.runIf(linux)('runner.pid on Linux (pid + start time)', () => {
  it('a live pid of another process (a sleep) with a wrong start time: stale, start takes the lock', async () => {
    const pid = await other();
    const dir = await dirWith(`${pid} ${Number(startOf(pid)) + 1}\n`);
    expect(await runnerPid(dir)).toBeUndefined();
    const release = await takeLock(dir);
    expect(readFileSync(join(dir, 'runner.pid'), 'utf8')).toBe(`${process.pid} ${startOf(process.pid)}\n`);
    await release();
  });
  it('a live pid of another process without a start time (not a rollout runner): stale', async () => {
    const pid = await other();
    const dir = await dirWith(`${pid}\n`);
    expect(await runnerPid(dir)).toBeUndefined();
    await (await takeLock(dir))();
  });
  it('a pid alone written by an older CLI whose process is a rollout runner (its argv holds rollout): live', async () => {
    const k = spawn('sh', ['-c', 'sleep 120; :', 'outpost', 'ota', 'rollout', 'start'], { stdio: 'ignore' });
    kids.push(k);
    await once(k, 'spawn');
    const dir = await dirWith(`${k.pid}\n`);
    expect(await runnerPid(dir)).toBe(k.pid);
    await expect(takeLock(dir)).rejects.toMatchObject({ code: 'ROLLOUT_RUNNING' });
  });
  it('the same pid and start time: a live runner, start refuses with ROLLOUT_RUNNING', async () => {
    const pid = await other();
    const dir = await dirWith(`${pid} ${startOf(pid)}\n`);
    expect(await runnerPid(dir)).toBe(pid);
    await expect(takeLock(dir)).rejects.toMatchObject({ code: 'ROLLOUT_RUNNING' });
  });
  it('a pid whose process was kill -9\'d and reaped: stale', async () => {
    const pid = await other();
    const start = startOf(pid);
    const k = kids.at(-1) as ChildProcess;
    k.kill('SIGKILL');
    await once(k, 'exit');
    const dir = await dirWith(`${pid} ${start}\n`);
    expect(await runnerPid(dir)).toBeUndefined();
  });
  it('a runner kill -9\'d but not yet reaped (a zombie: its parent does not wait): stale', async () => {
    // sh starts a sleep in the background, prints its pid, and becomes a sleep that never reaps it.
    const parent = spawn('sh', ['-c', 'sleep 120 & echo $!; exec sleep 120'], { stdio: ['ignore', 'pipe', 'ignore'] });
    kids.push(parent);
    const [line] = (await once(parent.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
    const pid = Number(line.toString().trim());
    const start = startOf(pid);
    // Kill it once sh has become the sleep (a shell still running would reap it).
    while (readFileSync(`/proc/${parent.pid}/comm`, 'utf8') !== 'sleep\n') await new Promise((r) => setTimeout(r, 5));
    process.kill(pid, 'SIGKILL');
    while (!readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')) await new Promise((r) => setTimeout(r, 5));
    const dir = await dirWith(`${pid} ${start}\n`);
    expect(await runnerPid(dir)).toBeUndefined();
  });
  it('our own lock: an empty file is no runner; once taken, this process is the runner and a second take refuses', async () => {
    const dir = await dirWith('');
    const release = await takeLock(dir);
    expect(await runnerPid(dir)).toBe(process.pid);
    await expect(takeLock(dir)).rejects.toMatchObject({ code: 'ROLLOUT_RUNNING' });
    await release();
    expect(await runnerPid(dir)).toBeUndefined();
  });
});
