/**
 * NATS with JetStream for tests: one node or a cluster (Raft) of N nodes on free 127.0.0.1 ports,
 * each with its own store directory, killed with SIGKILL and restarted on the same ports and
 * store (as a crashed machine that comes back).
 *
 * A node's config (NATS server configuration, docs.nats.io "Configuring JetStream" and
 * "Clustering"): `server_name`, `listen`, `http` (monitoring, for `/jsz` and the meta leader),
 * `jetstream { store_dir }`, `cluster { name, listen, routes }`, optionally `tls { … verify }`
 * for client connections and an `mqtt { … }` listener.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, requireBinary, tempDir, waitForPort } from './index.js';

/** Client TLS of the nodes: PEM texts; with `verify` a client must present a certificate from `ca`. */
export interface NatsTls {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
  /** Require client certificates (default true). */
  readonly verify?: boolean;
  /** Map the client certificate's subject to a user (NATS `verify_and_map`); needs `users`. */
  readonly map?: boolean;
}

/** Options of {@link startNatsCluster}. */
export interface NatsClusterOptions {
  /** Nodes (default 3; 1 = a single server without routes). */
  readonly nodes?: number;
  readonly tls?: NatsTls;
  /** Extra config text appended to every node's file (accounts, authorization); `{DIR}` as for `mqtt`. */
  readonly extra?: (node: number) => string;
  /**
   * Also open an MQTT listener on every node (config `mqtt { listen }`), or the given block, where
   * `{MQTT_PORT}` is the node's port and `{DIR}` the directory holding `server.crt`, `server.key`
   * and `ca.crt` (with `tls`); ports in `mqttPorts`.
   */
  readonly mqtt?: boolean | ((node: number) => string);
  /** Time to wait for the nodes and the meta leader, ms (default 20 000). */
  readonly timeoutMs?: number;
}

/** A running NATS cluster (or single node) started by a test. */
export interface NatsCluster {
  /** Client ports, one per node. */
  readonly ports: readonly number[];
  /** MQTT listener ports (when `mqtt` was asked for), one per node. */
  readonly mqttPorts: readonly number[];
  /** `nats://127.0.0.1:PORT` (or `tls://` with `tls`) of every node, for a client's server list. */
  readonly urls: readonly string[];
  /** Kills node `i` with SIGKILL (no flush, no leadership hand-over) and waits for it to exit. */
  kill(i: number): Promise<void>;
  /** Stops node `i` with SIGTERM (lame-duck free, graceful) and waits for it to exit. */
  stopNode(i: number): Promise<void>;
  /** Starts node `i` again on the same ports and store; resolves when it listens. */
  restart(i: number): Promise<void>;
  /** Whether node `i` runs. */
  running(i: number): boolean;
  /** The meta leader's server name as node `i` sees it (undefined: none / node down). */
  metaLeader(i?: number): Promise<string | undefined>;
  /** Resolves when a running node reports a meta leader (quorum is there). */
  waitForLeader(timeoutMs?: number): Promise<void>;
  /** What node `i` logged. */
  log(i: number): string;
  /** Stops every node and removes the store directories. */
  stop(): Promise<void>;
}

interface Node {
  readonly name: string;
  readonly port: number;
  readonly clusterPort: number;
  readonly httpPort: number;
  readonly mqttPort: number;
  readonly config: string;
  proc: ChildProcess | undefined;
  output: string;
}

function nodeConfig(o: NatsClusterOptions, nodes: readonly Omit<Node, 'config' | 'proc' | 'output'>[], i: number, dir: string): string {
  const n = nodes[i] as (typeof nodes)[number];
  const lines = [
    `server_name: ${n.name}`,
    `listen: 127.0.0.1:${n.port}`,
    `http: 127.0.0.1:${n.httpPort}`,
    `jetstream { store_dir: "${join(dir, n.name)}" }`,
  ];
  if (nodes.length > 1) {
    const routes = nodes.filter((_, j) => j !== i).map((m) => `nats-route://127.0.0.1:${m.clusterPort}`);
    lines.push(`cluster { name: outpost, listen: 127.0.0.1:${n.clusterPort}, routes: [${routes.join(', ')}] }`);
  }
  if (o.tls !== undefined) {
    const verify = o.tls.map === true ? 'verify_and_map: true' : `verify: ${o.tls.verify ?? true}`;
    lines.push(`tls { cert_file: "${join(dir, 'server.crt')}", key_file: "${join(dir, 'server.key')}", ca_file: "${join(dir, 'ca.crt')}", ${verify}, timeout: 5 }`);
  }
  if (o.mqtt !== undefined && o.mqtt !== false) {
    lines.push(typeof o.mqtt === 'function' ? o.mqtt(i).replace(/\{MQTT_PORT\}/g, String(n.mqttPort)).replace(/\{DIR\}/g, dir) : `mqtt { listen: 127.0.0.1:${n.mqttPort} }`);
  }
  if (o.extra !== undefined) lines.push(o.extra(i).replace(/\{DIR\}/g, dir));
  return `${lines.join('\n')}\n`;
}

async function jsz(httpPort: number): Promise<{ meta_cluster?: { leader?: string } } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${httpPort}/jsz`, { signal: AbortSignal.timeout(1_000) });
    return (await res.json()) as { meta_cluster?: { leader?: string } };
  } catch {
    return undefined;
  }
}

const up = (n: Node): boolean => n.proc !== undefined && n.proc.exitCode === null && n.proc.signalCode === null;

/** Starts one node's server and resolves when it listens. */
async function startNode(bin: string, n: Node, timeoutMs: number): Promise<void> {
  const p = spawn(bin, ['-c', n.config], { stdio: ['ignore', 'pipe', 'pipe'] });
  n.proc = p;
  const add = (d: Buffer): void => {
    n.output += d.toString();
    if (n.output.length > 200_000) n.output = n.output.slice(-100_000);
  };
  p.stdout?.on('data', add);
  p.stderr?.on('data', add);
  try {
    await waitForPort(n.port, timeoutMs, p);
  } catch (err) {
    p.kill('SIGKILL');
    throw new Error(`nats-server ${n.name} did not start: ${(err as Error).message}\n${n.output}`);
  }
}

/** Signals one node's server and waits for it to exit. */
async function haltNode(n: Node, signal: NodeJS.Signals): Promise<void> {
  const p = n.proc;
  if (p === undefined || !up(n)) return;
  await new Promise<void>((resolve) => {
    p.once('exit', () => resolve());
    p.kill(signal);
  });
}

/**
 * Starts `nodes` NATS servers with JetStream (default 3, clustered) on free 127.0.0.1 ports and
 * waits until each listens and a JetStream meta leader is elected. `nodes: 1` is a single server.
 * With `mqtt` the MQTT listener's `{MQTT_PORT}` placeholder is filled in per node.
 */
export async function startNatsCluster(opts: NatsClusterOptions = {}): Promise<NatsCluster> {
  const bin = requireBinary('nats-server');
  const count = opts.nodes ?? 3;
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`startNatsCluster: nodes: expected a positive integer, got ${String(count)}`);
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const dir = tempDir('outpost-nats-');
  if (opts.tls !== undefined) {
    writeFileSync(join(dir.path, 'server.crt'), opts.tls.cert);
    writeFileSync(join(dir.path, 'server.key'), opts.tls.key, { mode: 0o600 });
    writeFileSync(join(dir.path, 'ca.crt'), opts.tls.ca);
  }
  const bare: Omit<Node, 'config' | 'proc' | 'output'>[] = [];
  for (let i = 0; i < count; i++) {
    bare.push({ name: `n${i + 1}`, port: await freePort(), clusterPort: await freePort(), httpPort: await freePort(), mqttPort: await freePort() });
  }
  const nodes: Node[] = bare.map((b, i) => {
    mkdirSync(join(dir.path, b.name), { recursive: true });
    const config = join(dir.path, `${b.name}.conf`);
    writeFileSync(config, nodeConfig(opts, bare, i, dir.path));
    return { ...b, config, proc: undefined, output: '' };
  });
  const node = (i: number): Node => {
    const n = nodes[i];
    if (n === undefined) throw new RangeError(`nats cluster: no node ${i} (0..${nodes.length - 1})`);
    return n;
  };
  const metaLeader = async (i?: number): Promise<string | undefined> => {
    for (const n of i === undefined ? nodes : [node(i)]) {
      if (!up(n)) continue;
      const leader = (await jsz(n.httpPort))?.meta_cluster?.leader;
      if (leader !== undefined && leader !== '') return leader;
      if (count === 1 && (await jsz(n.httpPort)) !== undefined) return n.name; // a single server is its own leader
    }
    return undefined;
  };
  const waitForLeader = async (ms = timeoutMs): Promise<void> => {
    const deadline = Date.now() + ms;
    while ((await metaLeader()) === undefined) {
      if (Date.now() > deadline) throw new Error(`nats cluster: no JetStream meta leader after ${ms} ms\n${nodes.map((n) => n.output.slice(-2000)).join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  try {
    await Promise.all(nodes.map((n) => startNode(bin, n, timeoutMs)));
    await waitForLeader();
  } catch (e) {
    await Promise.all(nodes.map((n) => haltNode(n, 'SIGKILL')));
    dir.cleanup();
    throw e;
  }
  const scheme = opts.tls !== undefined ? 'tls' : 'nats';
  return {
    ports: nodes.map((n) => n.port),
    mqttPorts: nodes.map((n) => n.mqttPort),
    urls: nodes.map((n) => `${scheme}://127.0.0.1:${n.port}`),
    kill: (i) => haltNode(node(i), 'SIGKILL'),
    stopNode: (i) => haltNode(node(i), 'SIGTERM'),
    restart: async (i) => {
      const n = node(i);
      if (!up(n)) await startNode(bin, n, timeoutMs);
    },
    running: (i) => up(node(i)),
    metaLeader,
    waitForLeader,
    log: (i) => node(i).output,
    async stop() {
      await Promise.all(nodes.map((n) => haltNode(n, 'SIGTERM')));
      dir.cleanup();
    },
  };
}
