// A FIFO that never ends: its writer sends 2 MiB (more than any of the CLI's read caps) and then
// holds the pipe open, so a read without a cap never returns. Each writer is its own process
// group; killEndlessWriters() (in afterAll) ends them.
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';

const writers: number[] = [];

/** Creates `name` in `dir` as a FIFO with an endless writer; returns its path. */
export function endlessFifo(dir: string, name: string): string {
  const fifo = join(dir, name);
  execFileSync('mkfifo', [fifo]);
  const writer = spawn('sh', ['-c', `{ head -c 2097152 /dev/zero; sleep 600; } > '${fifo}'`], { stdio: 'ignore', detached: true });
  writers.push(writer.pid as number);
  return fifo;
}

/** Kills every writer started by {@link endlessFifo}. */
export function killEndlessWriters(): void {
  for (const pid of writers.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
