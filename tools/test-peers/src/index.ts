/**
 * Real protocol peers for tests: Mosquitto (and later libcoap) started on free
 * 127.0.0.1 ports. When a binary is missing the test fails with the command that
 * installs it; it never skips silently.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const INSTALL_HINT: Record<string, string> = {
  influxd: 'apt-get update && apt-get install -y influxdb',
  mosquitto: 'apt-get update && apt-get install -y mosquitto mosquitto-clients',
  mosquitto_pub: 'apt-get update && apt-get install -y mosquitto-clients',
  mosquitto_sub: 'apt-get update && apt-get install -y mosquitto-clients',
  'coap-server-openssl': 'apt-get update && apt-get install -y libcoap3-bin',
  'coap-client-openssl': 'apt-get update && apt-get install -y libcoap3-bin',
  prlimit: 'apt-get update && apt-get install -y util-linux',
  'nats-server': 'apt-get update && apt-get install -y nats-server',
};

/** Absolute path of a required binary, or an Error that says how to install it. */
export function requireBinary(name: string): string {
  const dirs = (process.env['PATH'] ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']);
  for (const d of dirs) {
    const p = join(d, name);
    const r = spawnSync('test', ['-x', p]);
    if (r.status === 0) return p;
  }
  throw new Error(`required test peer "${name}" is not installed; install it with: ${INSTALL_HINT[name] ?? `apt-get install -y ${name}`}`);
}

/** A free TCP port on 127.0.0.1 (bound and released; racy only against other processes). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') return reject(new Error('no port'));
      srv.close(() => resolve(addr.port));
    });
  });
}

/** Whether something accepts a TCP connection on 127.0.0.1:port right now. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, timeoutMs = 10_000, proc?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc !== undefined && proc.exitCode !== null) throw new Error(`process exited with code ${proc.exitCode} before listening on ${port}`);
    if (await canConnect(port)) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A temporary directory removed by `cleanup()`. */
export function tempDir(prefix = 'outpost-test-'): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** A running Mosquitto broker started by a test. */
export interface Mosquitto {
  readonly port: number;
  readonly configPath: string;
  /** Everything the broker logged so far. */
  log(): string;
  /** Stops the broker (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Kills the broker with SIGKILL. */
  kill(): Promise<void>;
  /** Starts the broker again on the same port with the same config. */
  start(): Promise<void>;
  /** Process id of the running broker (for SIGSTOP/SIGCONT, prlimit), undefined when stopped. */
  pid(): number | undefined;
}

/**
 * Starts `mosquitto -c config` where `config(port)` returns the config text for the
 * chosen port. The config is written to `dir`. `maxOpenFiles` caps the broker's file
 * descriptors (RLIMIT_NOFILE) to test what devices see when it runs out.
 */
export async function startMosquitto(opts: { dir: string; config: (port: number) => string; port?: number; maxOpenFiles?: number }): Promise<Mosquitto> {
  const bin = requireBinary('mosquitto');
  const port = opts.port ?? (await freePort());
  const configPath = join(opts.dir, 'mosquitto.conf');
  writeFileSync(configPath, opts.config(port));
  // Started as root, Mosquitto drops to the `mosquitto` user before it reads the ACL and
  // the certificates: make this throwaway test directory readable to it.
  if (process.getuid?.() === 0) {
    chmodSync(opts.dir, 0o777); // writable too: persistence keeps mosquitto.db here
    for (const f of readdirSync(opts.dir)) chmodSync(join(opts.dir, f), 0o644);
  }
  let proc: ChildProcess | undefined;
  let output = '';
  const start = async (): Promise<void> => {
    // maxOpenFiles: RLIMIT_NOFILE through prlimit(1), to run the broker out of descriptors.
    const p = opts.maxOpenFiles === undefined
      ? spawn(bin, ['-c', configPath], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(requireBinary('prlimit'), [`--nofile=${opts.maxOpenFiles}:${opts.maxOpenFiles}`, bin, '-c', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    p.stdout?.on('data', (d: Buffer) => { output += d.toString(); });
    p.stderr?.on('data', (d: Buffer) => { output += d.toString(); });
    try {
      await waitForPort(port, 10_000, p);
    } catch (err) {
      p.kill('SIGKILL');
      throw new Error(`mosquitto did not start: ${(err as Error).message}\n${output}`);
    }
  };
  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const p = proc;
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => { p.once('exit', () => resolve()); p.kill(signal); });
  };
  await start();
  return {
    port,
    configPath,
    log: () => output,
    stop: () => halt('SIGTERM'),
    kill: () => halt('SIGKILL'),
    start,
    pid: () => (proc !== undefined && proc.exitCode === null && proc.signalCode === null ? proc.pid : undefined),
  };
}

export { describeDocExamples, describeImportedExamples, extractExamples, importExample, instrumentExample, literalValue, readmeSynopsis, runExample } from './doc-examples.js';
export type { Example, InstrumentOptions, ObjectComparison } from './doc-examples.js';
export { bench, report } from './bench.js';
export type { Result as BenchResult } from './bench.js';
export { mulberry32 } from './random.js';
export { postgresBinDir, startPostgres, type Postgres } from './postgres.js';
export { startInflux, type Influx, type InfluxSeries } from './influx.js';
export { startNatsCluster, type NatsCluster, type NatsClusterOptions, type NatsTls } from './nats.js';
