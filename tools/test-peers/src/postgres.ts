/**
 * A private PostgreSQL server for tests: its own data directory in a temp dir, its own free
 * port on 127.0.0.1, trust authentication for the `postgres` role. PostgreSQL refuses to run as
 * root, so as root the binaries run as the `postgres` user (`runuser`); otherwise directly.
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, tempDir } from './index.js';

const run = promisify(execFile);
const INSTALL = 'apt-get update && apt-get install -y postgresql';

/** A running PostgreSQL server started by a test. */
export interface Postgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (trust authentication, no password). */
  readonly url: string;
  readonly port: number;
  /** The temp dir holding `data/`, the server `log` and the Unix socket. */
  readonly dir: string;
  /** Everything the server logged so far. */
  log(): string;
  /** Fast shutdown (`pg_ctl stop -m fast`), then removes the temp dir. */
  stop(): Promise<void>;
  /** SIGKILL the postmaster and its backends: a crash, recovered from WAL by the next start. */
  kill9(): void;
  /** Starts the server again on the same port and data directory (after `kill9` or a crash). */
  restart(): Promise<void>;
  /** SIGSTOP the postmaster and its backends: the server stops answering but keeps its connections. */
  freeze(): void;
  /** SIGCONT what {@link Postgres.freeze} stopped. */
  thaw(): void;
}

/** Newest `/usr/lib/postgresql/N/bin` that has `initdb`, or an Error with the install command. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root).filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined) {
    throw new Error(`required test peer "postgres" is not installed (no ${root}/*/bin/initdb); install it with: ${INSTALL}`);
  }
  return join(root, newest, 'bin');
}

/**
 * Starts a private PostgreSQL server (initdb + pg_ctl start, waiting until it accepts
 * connections). initdb costs about a second: start one server per test file (`beforeAll`).
 */
export async function startPostgres(opts: { port?: number } = {}): Promise<Postgres> {
  const bin = postgresBinDir();
  const asRoot = process.getuid?.() === 0;
  const tmp = tempDir('outpost-pg-');
  const dir = tmp.path;
  const data = join(dir, 'data');
  const logFile = join(dir, 'log');
  if (asRoot) {
    const pw = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
    const [, , uid, gid] = pw?.split(':') ?? [];
    if (uid === undefined || gid === undefined) {
      tmp.cleanup();
      throw new Error(`running as root needs the "postgres" user to run PostgreSQL; install it with: ${INSTALL}`);
    }
    chownSync(dir, Number(uid), Number(gid));
  }
  const exec = async (cmd: string, args: string[]): Promise<void> => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] : [join(bin, cmd), args];
    try {
      await run(file, argv, { env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' } });
    } catch (err) {
      const e = err as Error & { stderr?: string; stdout?: string };
      throw new Error(`${cmd} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}\n${readLog()}`);
    }
  };
  const readLog = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const port = opts.port ?? (await freePort());
  const start = (): Promise<void> =>
    exec('pg_ctl', ['-D', data, '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=on`, '-l', logFile, '-w', '-t', '60', 'start']);
  try {
    // --no-sync: the throwaway cluster's files need not be fsynced by initdb (the running server
    // still fsyncs its WAL, which the crash tests rely on).
    await exec('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
    await start();
  } catch (err) {
    tmp.cleanup();
    throw err;
  }
  let stopped = false;
  let killed = false;
  const postmasterPid = (): number | undefined => {
    const f = join(data, 'postmaster.pid');
    if (!existsSync(f)) return undefined;
    const pid = Number(readFileSync(f, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  };
  const childrenOf = (pid: number): number[] => {
    const out: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        // /proc/PID/stat: "pid (comm) state ppid ..." — comm may hold spaces, so split after ')'.
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === pid) out.push(Number(entry));
      } catch {
        // the process exited while we looked
      }
    }
    return out;
  };
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    log: readLog,
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      try {
        if (postmasterPid() !== undefined) await exec('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      } catch {
        // already down (killed): nothing to stop
      }
      tmp.cleanup();
    },
    freeze(): void {
      const pid = postmasterPid();
      if (pid === undefined) return;
      for (const p of [pid, ...childrenOf(pid)]) {
        try {
          process.kill(p, 'SIGSTOP');
        } catch {
          // gone already
        }
      }
    },
    thaw(): void {
      const pid = postmasterPid();
      if (pid === undefined) return;
      for (const p of [pid, ...childrenOf(pid)]) {
        try {
          process.kill(p, 'SIGCONT');
        } catch {
          // gone already
        }
      }
    },
    kill9(): void {
      const pid = postmasterPid();
      if (pid === undefined) return;
      // The backends too: a postmaster killed alone leaves them holding the shared memory, and
      // the next start would refuse to run ("pre-existing shared memory block is still in use").
      killed = true;
      const victims = [pid, ...childrenOf(pid)];
      for (const p of victims) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // gone already
        }
      }
    },
    async restart(): Promise<void> {
      const pid = postmasterPid();
      if (pid !== undefined) {
        // After kill9 the postmaster lingers until its parent reaps it, and the new postmaster
        // refuses to start while the pid in postmaster.pid still exists: wait for it to go.
        const deadline = Date.now() + 10_000;
        while (existsSync(`/proc/${pid}`) && Date.now() < deadline) {
          if (!killed) {
            await exec('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
            break;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      killed = false;
      await start();
    },
  };
}
