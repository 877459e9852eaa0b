import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { startConsole, ConsoleError } from '@outpost/console';
import { createDuckDbStore, createPostgresSink, type TimeSeriesQueries } from '@outpost/pipeline';
import { CliError, parseCommandArgs, requireString, type Command, type Io, untilStopped } from '../command.js';

// `outpost console`: the real-time fleet console, a web page fed by the broker's telemetry and
// alert topics, with history from the pipeline's store and shadow edits through the service.

const help = `Usage: outpost console --broker URL --ca FILE --cert FILE --key FILE [--duckdb FILE | --pg URL]
                       [--host H] [--port P] [--token T] [--tls-cert FILE --tls-key FILE]
                       [--client-id ID] [--alert-topic FILTER] [--insecure] [--json] [--duration MS]

Serves the fleet console on http://127.0.0.1:PORT/: live charts of every device's telemetry,
the alert feed (fired/resolved) as the pipeline publishes it (outpost pipeline --alert-topic
alerts/{device}/{ruleId}), silent devices, each device's shadow with an edit of desired through
the shadow service, and history from the time-series store. A random access token is printed
at start: log in with it. Runs until SIGINT or SIGTERM.

Options:
  --broker URL        mqtts://host:8883 (mqtt:// only with --insecure)
  --ca FILE           the CA that signed the broker's certificate (PEM)
  --cert FILE         the console's identity: it reads devices/+/telemetry, devices/+/status,
  --key FILE          alerts/# and reads and writes $aws/things/+/shadow/# (broker-config services)
  --duckdb FILE       history from this DuckDB file (not while a pipeline process holds it open)
  --pg URL            history from PostgreSQL, e.g. postgres://user@db/telemetry
  --host H            address to listen on (default 127.0.0.1; anything else needs --tls-cert)
  --port P            port (default 8080; 0 for a free one)
  --token T           the access token (default: 24 random bytes, printed)
  --tls-cert FILE     serve HTTPS with this certificate and key (PEM)
  --tls-key FILE
  --client-id ID      MQTT client id (default outpost-console-<random>)
  --alert-topic F     alert topic filter (default alerts/#)
  --insecure          allow mqtt:// and no client certificate (development only)
  --json              one JSON line at start (url, token) and at stop
  --duration MS       stop after MS milliseconds (for tests and smoke runs)

Example:
  outpost console --broker mqtts://broker:8883 --ca ca.pem --cert console.pem --key console.key \\
    --pg postgres://outpost@db/telemetry`;

async function readPem(file: unknown, flag: string, io: Io): Promise<string> {
  const f = requireString(file, flag);
  try {
    return await readFile(resolve(io.cwd, f), 'utf8');
  } catch (e) {
    throw new CliError('FILE', `--${flag}: cannot read ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
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

async function runConsole(args: readonly string[], io: Io): Promise<number> {
  const { values } = parseCommandArgs(args, {
    broker: { type: 'string' }, ca: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' },
    duckdb: { type: 'string' }, pg: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' },
    token: { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' },
    'client-id': { type: 'string' }, 'alert-topic': { type: 'string' }, insecure: { type: 'boolean', default: false },
    duration: { type: 'string' },
  });
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
      ...(typeof values['host'] === 'string' ? { host: values['host'] } : {}),
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
  { path: ['console'], summary: 'the real-time fleet console (a web page on 127.0.0.1)', help, run: runConsole },
];
