import { resolve } from 'node:path';
import { startConsole, ConsoleError } from '@outpost/console';
import { createDuckDbStore, createPostgresSink, type TimeSeriesQueries } from '@outpost/pipeline';
import { CliError, defineCommand, requireString, type Command, type CommandSpec, type Io, untilStopped } from '../command.js';
import { readTextFile } from '../files.js';

// `outpost console`: the real-time fleet console, a web page fed by the broker's telemetry and
// alert topics, with history from the pipeline's store and shadow edits through the service.

async function readPem(file: unknown, flag: string, io: Io): Promise<string> {
  return readTextFile(resolve(io.cwd, requireString(file, flag)), `--${flag}`);
}

function intFlag(v: unknown, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const s = requireString(v, flag);
  if (!/^\d+$/.test(s)) throw new CliError('USAGE', `--${flag}: expected a non-negative integer, got "${s}"`, 2);
  return Number(s);
}

async function openStore(values: Record<string, unknown>, io: Io): Promise<(TimeSeriesQueries & { close(): Promise<void> }) | undefined> {
  if (values['pg'] !== undefined && values['duckdb'] !== undefined) throw new CliError('USAGE', 'give --pg or --duckdb, not both', 2);
  try {
    if (values['pg'] !== undefined) return createPostgresSink({ connectionString: requireString(values['pg'], 'pg') });
    if (values['duckdb'] !== undefined) return await createDuckDbStore({ path: resolve(io.cwd, requireString(values['duckdb'], 'duckdb')) });
  } catch (e) {
    throw new CliError('STORE', (e as Error).message.split('\n')[0] ?? 'cannot open the store');
  }
  return undefined;
}

async function runConsole({ values }: Parameters<CommandSpec['run']>[0], io: Io): Promise<number> {
  const broker = requireString(values['broker'], 'broker');
  const insecure = values['insecure'] === true;
  if (!insecure && (values['cert'] === undefined || values['key'] === undefined)) {
    throw new CliError('USAGE', '--cert and --key are required (the console identity from the fleet CA); --insecure only for development', 2);
  }
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) throw new CliError('USAGE', '--tls-cert and --tls-key go together', 2);
  const durationMs = intFlag(values['duration'], 'duration');
  const port = intFlag(values['port'], 'port') ?? 8080;
  const ca = values['ca'] !== undefined ? await readPem(values['ca'], 'ca', io) : undefined;
  const cert = values['cert'] !== undefined ? await readPem(values['cert'], 'cert', io) : undefined;
  const key = values['key'] !== undefined ? await readPem(values['key'], 'key', io) : undefined;
  const tls = values['tls-cert'] !== undefined ? { cert: await readPem(values['tls-cert'], 'tls-cert', io), key: await readPem(values['tls-key'], 'tls-key', io) } : undefined;
  const store = await openStore(values, io);
  let c;
  try {
    c = await startConsole({
      brokerUrl: broker, port, insecure,
      ...(ca !== undefined ? { ca } : {}), ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}),
      ...(store !== undefined ? { store } : {}), ...(tls !== undefined ? { tls } : {}),
      ...(typeof values['bind'] === 'string' ? { host: values['bind'] } : {}),
      ...(typeof values['token'] === 'string' ? { token: values['token'] } : {}),
      ...(typeof values['client-id'] === 'string' ? { clientId: values['client-id'] } : {}),
      ...(typeof values['alert-topic'] === 'string' ? { topics: { alerts: [values['alert-topic']] } } : {}),
    });
  } catch (e) {
    await store?.close().catch(() => undefined);
    if (e instanceof ConsoleError || e instanceof RangeError || e instanceof TypeError) throw new CliError(e instanceof ConsoleError ? e.code : 'USAGE', e.message, 2);
    throw new CliError('CONNECT', `cannot start the console: ${(e as Error).message.split('\n')[0] ?? ''}`);
  }
  const login = new URL('/login', c.url).href;
  io.stdout(values.json ? `${JSON.stringify({ type: 'started', url: c.url, login, token: c.token })}\n` : `console: ${login}\naccess token: ${c.token}\n`);
  await untilStopped(durationMs);
  const s = c.stats();
  await c.close();
  await store?.close();
  io.stdout(values.json ? `${JSON.stringify({ type: 'stopped', ...s })}\n` : `stopped: ${s.messages} messages, ${s.live.devices} devices, ${s.rejected} rejected\n`);
  return 0;
}

/** `outpost console`. */
export const consoleCommands: readonly Command[] = [
  defineCommand({
    path: ['console'],
    summary: 'the real-time fleet console (a web page on 127.0.0.1)',
    about: `Serves the fleet console on http://127.0.0.1:PORT/: live charts of every device's telemetry,
the alert feed (fired/resolved) as the pipeline publishes it (outpost pipeline --alert-topic
alerts/{device}/{ruleId}), silent devices, each device's shadow with an edit of desired through
the shadow service, and history from the time-series store. A random access token is printed
at start: log in with it. Runs until SIGINT or SIGTERM. With --json: one JSON line at start
(url, token) and at stop.

The console's identity (--cert/--key) reads devices/+/telemetry, devices/+/status and alerts/#,
and reads and writes $aws/things/+/shadow/# (outpost pki broker-config --service).`,
    flags: {
      broker: { type: 'string', arg: 'URL', required: true, help: 'mqtts://host:8883 (mqtt:// only with --insecure)' },
      ca: { type: 'string', arg: 'FILE', help: "the CA that signed the broker's certificate (PEM)" },
      cert: { type: 'string', arg: 'FILE', help: "the console's certificate (required unless --insecure)" },
      key: { type: 'string', arg: 'FILE', help: 'its private key' },
      duckdb: { type: 'string', arg: 'FILE', help: 'history from this DuckDB file (not while a pipeline process holds it open)' },
      pg: { type: 'string', arg: 'URL', help: 'history from PostgreSQL, e.g. postgres://user@db/telemetry' },
      bind: { type: 'string', arg: 'ADDR', help: 'address to listen on (default 127.0.0.1; anything else needs --tls-cert)' },
      port: { type: 'string', arg: 'P', help: 'port (default 8080; 0 for a free one)' },
      token: { type: 'string', arg: 'T', help: 'the access token (default: 24 random bytes, printed)' },
      'tls-cert': { type: 'string', arg: 'FILE', help: 'serve HTTPS with this certificate (PEM) and --tls-key' },
      'tls-key': { type: 'string', arg: 'FILE', help: 'the HTTPS private key' },
      'client-id': { type: 'string', arg: 'ID', help: 'MQTT client id (default outpost-console-<random>)' },
      'alert-topic': { type: 'string', arg: 'FILTER', help: 'alert topic filter (default alerts/#)' },
      insecure: { type: 'boolean', help: 'allow mqtt:// and no client certificate (development only)' },
      duration: { type: 'string', arg: 'MS', help: 'stop after MS milliseconds (for tests and smoke runs)' },
    },
    example: 'outpost console --broker mqtts://broker:8883 --ca ca.pem --cert console.pem --key console.key \\\n  --pg postgres://outpost@db/telemetry',
    run: runConsole,
  }),
];
