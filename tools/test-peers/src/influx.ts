/**
 * A private InfluxDB 1.x server for tests: `influxd run -config FILE` with its meta, data and
 * WAL directories in a temp dir, the HTTP API on a free 127.0.0.1 port, the RPC (backup) service
 * on another free 127.0.0.1 port, reporting, the `_internal` monitor store and every other
 * listener off. No authentication.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, requireBinary, tempDir, waitForPort } from './index.js';

/** A running InfluxDB started by a test. */
export interface Influx {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** The temp dir holding `meta/`, `data/`, `wal/` and `influxd.conf`. */
  readonly dir: string;
  /** Everything the server logged so far. */
  log(): string;
  /** Runs InfluxQL over `/query` (POST, epoch=ms) and returns the first result's series. */
  query(q: string, db?: string): Promise<InfluxSeries[]>;
  /** SIGSTOP, resolving once the kernel reports the process stopped: it holds its sockets but answers nothing (a hung database). */
  pause(): Promise<void>;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  /** SIGKILL, waiting for the process to exit. */
  kill9(): Promise<void>;
  /** Starts the server again on the same port and directories (after `kill9`). */
  restart(): Promise<void>;
  /** SIGTERM, waits, removes the temp dir. */
  stop(): Promise<void>;
}

/** One series of an InfluxQL result. */
export interface InfluxSeries {
  readonly name: string;
  readonly tags?: Record<string, string>;
  readonly columns: string[];
  readonly values: unknown[][];
}

function config(dir: string, httpPort: number, rpcPort: number): string {
  return `reporting-enabled = false
bind-address = "127.0.0.1:${rpcPort}"
[meta]
  dir = "${join(dir, 'meta')}"
  logging-enabled = false
[data]
  dir = "${join(dir, 'data')}"
  wal-dir = "${join(dir, 'wal')}"
  wal-fsync-delay = "0s"
  query-log-enabled = false
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:${httpPort}"
  auth-enabled = false
  log-enabled = false
  pprof-enabled = false
[logging]
  level = "warn"
  suppress-logo = true
[continuous_queries]
  enabled = false
[retention]
  enabled = false
[shard-precreation]
  enabled = false
`;
}

/**
 * Starts a private InfluxDB 1.x server and waits until `/ping` answers. About a second: start
 * one per test file (`beforeAll`).
 */
export async function startInflux(): Promise<Influx> {
  const bin = requireBinary('influxd');
  const tmp = tempDir('outpost-influx-');
  const dir = tmp.path;
  const port = await freePort();
  const rpcPort = await freePort();
  const conf = join(dir, 'influxd.conf');
  writeFileSync(conf, config(dir, port, rpcPort));
  let out = '';
  let proc: ChildProcess | undefined;
  const url = `http://127.0.0.1:${port}`;
  const start = async (): Promise<void> => {
    const p = spawn(bin, ['run', '-config', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    await waitForPort(port, 30_000, p);
    // The port opens before the HTTP handler is ready on a loaded machine: wait for /ping.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ok = await fetch(`${url}/ping`).then((r) => r.status === 204, () => false);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`influxd: /ping did not answer\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const exited = (): Promise<void> =>
    new Promise((resolve) => {
      if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
    });
  try {
    await start();
  } catch (err) {
    proc?.kill('SIGKILL');
    tmp.cleanup();
    throw err;
  }
  let stopped = false;
  return {
    url,
    port,
    dir,
    log: () => out,
    async query(q, db) {
      const body = new URLSearchParams({ q, epoch: 'ms', ...(db !== undefined ? { db } : {}) });
      const res = await fetch(`${url}/query`, { method: 'POST', body });
      const json = (await res.json()) as { results?: { series?: InfluxSeries[]; error?: string }[]; error?: string };
      const first = json.results?.[0];
      if (!res.ok || json.error !== undefined || first?.error !== undefined) throw new Error(`influx query failed (${res.status}): ${json.error ?? first?.error ?? ''}`);
      return first?.series ?? [];
    },
    async pause() {
      const pid = proc?.pid;
      if (pid === undefined) return;
      proc?.kill('SIGSTOP');
      // /proc/PID/stat: "pid (comm) STATE …"; T = stopped.
      const deadline = Date.now() + 5_000;
      while (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'T') {
        if (Date.now() > deadline) throw new Error(`influxd ${pid} did not stop`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    resume: () => void proc?.kill('SIGCONT'),
    async kill9() {
      const done = exited();
      proc?.kill('SIGCONT');
      proc?.kill('SIGKILL');
      await done;
    },
    async restart() {
      await exited();
      await start();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const done = exited();
      proc?.kill('SIGCONT');
      proc?.kill('SIGTERM');
      const t = setTimeout(() => proc?.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(t);
      tmp.cleanup();
    },
  };
}
