import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  callbackAlertSink,
  createDuckDbStore,
  createInfluxSink,
  createPostgresSink,
  loadRulesFile,
  mqttAlertSink,
  openPipelineStack,
  PipelineError,
  webhookAlertSink,
  type AlertSink,
  type DuckDbStore,
  type InfluxSink,
  type PostgresSink,
  type PipelineStack,
  type Rule,
} from '@outpost/pipeline';
import { connectPipelineSource, type PipelineSource } from './pipeline-source.js';
import { CliError, defineCommand, emit, requireString, stringList, type Command, type CommandSpec, type Io, untilStopped } from '../command.js';
import { readTextFile } from '../files.js';

// `outpost pipeline`: consumes device telemetry from the broker and runs it through the hot
// path (rules → alerts) and the cold path (Parquet lake) into a time-series store.

/** `--influx URL` (credentials in the URL become Basic authentication) and `--influx-db`. */
function influxOptions(url: unknown, db: unknown): { url: string; database?: string; username?: string; password?: string } {
  const raw = requireString(url, 'influx');
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new CliError('USAGE', `--influx: expected an http:// or https:// URL, got "${raw}"`, 2);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new CliError('USAGE', `--influx: expected an http:// or https:// URL, got "${raw}"`, 2);
  const auth = u.username !== '' ? { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) } : {};
  u.username = '';
  u.password = '';
  return { url: u.toString(), ...auth, ...(db !== undefined ? { database: requireString(db, 'influx-db') } : {}) };
}

async function readPem(file: string, flag: string, io: Io): Promise<string> {
  return readTextFile(resolve(io.cwd, file), `--${flag}`);
}

type Parsed = Parameters<CommandSpec['run']>[0];

async function runPipelineCommand({ values }: Parsed, io: Io): Promise<number> {
  if (values['broker'] === undefined && stringList(values, 'nats').length === 0) throw new CliError('USAGE', '--broker URL (MQTT) or --nats URL (JetStream) is required', 2);
  const lakeDir = resolve(io.cwd, requireString(values['lake'], 'lake'));
  if (values['pg'] !== undefined && values['duckdb'] !== undefined) throw new CliError('USAGE', 'give --pg or --duckdb, not both', 2);
  if (values['influx-db'] !== undefined && values['influx'] === undefined) throw new CliError('USAGE', '--influx-db needs --influx URL', 2);
  const influx = values['influx'] !== undefined ? influxOptions(values['influx'], values['influx-db']) : undefined;
  let durationMs: number | undefined;
  if (values['duration'] !== undefined) {
    const d = requireString(values['duration'], 'duration');
    if (!/^\d+$/.test(d)) throw new CliError('USAGE', `--duration: expected milliseconds, got "${d}"`, 2);
    durationMs = Number(d);
  }
  const insecure = values['insecure'] === true;
  if (!insecure && (values['cert'] === undefined || values['key'] === undefined)) {
    throw new CliError('USAGE', '--cert and --key are required (an application identity from the fleet CA); --insecure only for development', 2);
  }
  const line = (obj: Record<string, unknown>, human: string): void => io.stdout((values.json ? JSON.stringify(obj) : human) + '\n');

  let rules: Rule[] | undefined;
  if (values['rules'] !== undefined) {
    try {
      rules = await loadRulesFile(resolve(io.cwd, requireString(values['rules'], 'rules')));
    } catch (e) {
      throw new CliError('RULES', `--rules: ${(e as Error).message}`);
    }
  }
  const ca = values['ca'] !== undefined ? await readPem(requireString(values['ca'], 'ca'), 'ca', io) : undefined;
  const cert = values['cert'] !== undefined ? await readPem(requireString(values['cert'], 'cert'), 'cert', io) : undefined;
  const key = values['key'] !== undefined ? await readPem(requireString(values['key'], 'key'), 'key', io) : undefined;

  const alertSinks: AlertSink[] = [
    callbackAlertSink((e) => line({ type: 'alert', ...e }, `alert ${e.kind.padEnd(8)} ${e.ruleId} ${e.device}: ${e.message}`), { name: 'console' }),
  ];
  for (const [i, url] of stringList(values, 'webhook').entries()) {
    const secret = values['webhook-secret'];
    alertSinks.push(webhookAlertSink({ url, name: `webhook-${i + 1}`, ...(typeof secret === 'string' ? { secret } : {}) }));
  }

  // Alerts on the broker go out over the consumer's own connection, which exists only once the
  // pipeline is open: the sink forwards to the MQTT sink made after connecting.
  let brokerAlerts: AlertSink | undefined;
  if (typeof values['alert-topic'] === 'string') {
    alertSinks.push({
      name: 'mqtt',
      send: (e, ctx) => (brokerAlerts !== undefined ? brokerAlerts.send(e, ctx) : Promise.reject(new PipelineError('ALERT_DELIVERY_FAILED', 'not connected to the broker yet'))),
    });
  }

  let stack: PipelineStack;
  try {
    stack = await openPipelineStack({
      lakeDir,
      ...(values['pg'] !== undefined ? { postgres: requireString(values['pg'], 'pg') } : {}),
      ...(values['duckdb'] !== undefined ? { duckdb: resolve(io.cwd, requireString(values['duckdb'], 'duckdb')) } : {}),
      ...(influx !== undefined ? { influx } : {}),
      ...(rules !== undefined ? { rules } : {}),
      alertSinks,
      onAlertFailure: (e, sink, err) => io.stderr(`outpost: pipeline: alert ${e.episodeId} (${e.kind}) not delivered to ${sink}: ${(err as Error).message}\n`),
    });
  } catch (e) {
    throw new CliError(e instanceof PipelineError ? e.code : 'OPEN', (e as Error).message.split('\n')[0] ?? 'cannot open the pipeline');
  }
  let source: PipelineSource;
  try {
    source = await connectPipelineSource(values, { ca, cert, key, insecure }, stack);
  } catch (e) {
    await stack.close().catch(() => undefined);
    throw e;
  }
  if (typeof values['alert-topic'] === 'string' && source.client !== undefined) brokerAlerts = mqttAlertSink({ client: source.client, topic: values['alert-topic'] });
  const store = [stack.store?.name, stack.influx?.name].filter((x) => x !== undefined).join(' and ') || 'none';
  line(
    { type: 'started', broker: source.from, lake: lakeDir, store, rules: rules?.length ?? 0, group: values['group'] ?? null },
    `pipeline: consuming ${source.from}${typeof values['group'] === 'string' ? ` (shared group ${values['group']})` : ''} → lake ${lakeDir}, time series in ${store}, ${rules?.length ?? 0} rule(s)`,
  );
  await untilStopped(durationMs);
  await source.close();
  await stack.close();
  const s = stack.stats();
  line(
    { type: 'stopped', ingest: source.stats(), ...s },
    `stopped: ${s.pipeline.messages} messages, ${s.pipeline.points} points, ${s.lake.rows} rows in ${s.lake.files} lake files, ${s.pipeline.alerts} alert events, ${Object.values(s.pipeline.deadLettered).reduce((a, b) => a + (b ?? 0), 0)} dead letters`,
  );
  return 0;
}


const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `30s`, `5m`, `1h`, `1d` → milliseconds. */
export function parseDuration(v: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(v);
  if (m === null || Number(m[1]) <= 0) throw new CliError('USAGE', `--${flag}: expected a duration such as 500ms, 30s, 5m, 1h or 1d, got "${v}"`, 2);
  return Math.round(Number(m[1]) * (UNITS[m[2] as string] as number));
}

/** An ISO 8601 time, `now`, or `-DUR` before now → epoch milliseconds. */
export function parseTime(v: string, flag: string, now: number): number {
  if (v === 'now') return now;
  if (v.startsWith('-')) return now - parseDuration(v.slice(1), flag);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new CliError('USAGE', `--${flag}: expected an ISO 8601 time, "now" or -DURATION (e.g. -1h), got "${v}"`, 2);
  return t;
}

async function runQuery({ values, positionals }: Parsed, io: Io): Promise<number> {
  const what = positionals[0];
  if (positionals.length !== 1 || (what !== 'last' && what !== 'series' && what !== 'gaps')) throw new CliError('USAGE', 'expected one of: last, series, gaps', 2);
  if ([values['pg'], values['duckdb'], values['influx']].filter((v) => v !== undefined).length !== 1) throw new CliError('USAGE', 'give exactly one of --pg URL, --duckdb FILE or --influx URL', 2);
  if (values['influx'] !== undefined && what !== 'last') throw new CliError('USAGE', '--influx answers last only', 2);
  const now = Date.now();
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const from = str('from') !== undefined ? parseTime(str('from') as string, 'from', now) : now - 3_600_000;
  const to = str('to') !== undefined ? parseTime(str('to') as string, 'to', now) : now + 1;
  if (what === 'series' && (str('device') === undefined || str('metric') === undefined)) throw new CliError('USAGE', 'series needs --device and --metric', 2);
  const bucketMs = parseDuration(str('bucket') ?? '1m', 'bucket');
  const minGapMs = parseDuration(str('min-gap') ?? '5m', 'min-gap');
  // A query never creates a store: DuckDB would make an empty file for a mistyped path and answer
  // "(no rows)" with exit 0, which reads like "no data" rather than "wrong file".
  const duckPath = str('duckdb') !== undefined ? resolve(io.cwd, str('duckdb') as string) : undefined;
  if (duckPath !== undefined && !existsSync(duckPath)) throw new CliError('FILE_NOT_FOUND', `--duckdb ${duckPath}: no such file (outpost pipeline writes LAKE/timeseries.duckdb)`);
  let store: PostgresSink | DuckDbStore | InfluxSink;
  try {
    store =
      str('pg') !== undefined
        ? createPostgresSink({ connectionString: str('pg') as string })
        : str('influx') !== undefined
          ? createInfluxSink({ ...influxOptions(values['influx'], values['influx-db']), createDatabase: false })
          : await createDuckDbStore({ path: duckPath as string });
  } catch (e) {
    throw new CliError(e instanceof PipelineError ? e.code : 'OPEN', (e as Error).message.split('\n')[0] ?? 'cannot open the store');
  }
  const iso = (t: number): string => new Date(t).toISOString();
  try {
    let rows: Record<string, unknown>[];
    let human: string[];
    if (what === 'last') {
      const r = await store.lastValues({ ...(str('device') !== undefined ? { device: str('device') as string } : {}), ...(str('metric') !== undefined ? { metric: str('metric') as string } : {}) });
      rows = r.map((x) => ({ ...x, time: iso(x.time) }));
      human = r.map((x) => `${x.device}  ${x.metric}  ${x.value ?? '-'}  ${iso(x.time)}`);
    } else if (what === 'series') {
      const r = await (store as PostgresSink | DuckDbStore).downsample({ device: str('device') as string, metric: str('metric') as string, from, to, bucketMs });
      rows = r.map((x) => ({ ...x, bucket: iso(x.bucket) }));
      human = r.map((x) => `${iso(x.bucket)}  n=${x.count}  min=${x.min ?? '-'}  avg=${x.avg ?? '-'}  max=${x.max ?? '-'}`);
    } else {
      const r = await (store as PostgresSink | DuckDbStore).gaps({ from, to, minGapMs, ...(str('device') !== undefined ? { device: str('device') as string } : {}) });
      rows = r.map((x) => ({ ...x, from: iso(x.from), to: iso(x.to) }));
      human = r.map((x) => `${x.device}  ${iso(x.from)} → ${iso(x.to)}  (${Math.round(x.durationMs / 1000)} s)`);
    }
    emit(io, values.json, rows, human.length > 0 ? human.join('\n') : '(no rows)');
  } catch (e) {
    throw new CliError(e instanceof PipelineError ? e.code : 'QUERY', (e as Error).message.split('\n')[0] ?? 'query failed');
  } finally {
    await store.close();
  }
  return 0;
}

/** `outpost pipeline` and `outpost pipeline query`. */
export const pipelineCommands: readonly Command[] = [
  defineCommand({
    path: ['pipeline'],
    summary: 'consume telemetry: rules and alerts (hot path), Parquet lake and time-series store (cold path)',
    about: `Consumes device telemetry (JSON, CBOR or SenML) from an MQTT broker over mutual TLS (or from the
NATS JetStream stream that outpost bridge fills) and runs it through both paths: rules raise alerts
within milliseconds (hot path), and every point is written to a Parquet lake in a Hive layout
(cold path) and to a time-series store. A message is acknowledged only after both paths accepted
it or it was rejected into the dead-letter files (LAKE/dead-letter/); a store outage holds the
stream instead. Runs until SIGINT or SIGTERM, then flushes. With --json: one JSON object per line
(startup, alerts, final stats).

The consumer's identity is an application identity from the fleet CA
(outpost pki issue-device --device-id pipeline, and broker-config --app pipeline).`,
    flags: {
      lake: { type: 'string', arg: 'DIR', required: true, help: "the Parquet lake's root directory" },
      broker: { type: 'string', arg: 'URL', help: 'mqtts://host:8883 (mqtt:// only with --insecure)' },
      nats: { type: 'string', multiple: true, arg: 'URL', help: 'instead of --broker: the JetStream stream outpost bridge fills (tls://host:4222;\nrepeatable; one durable consumer shared by every process)' },
      durable: { type: 'string', arg: 'NAME', help: 'with --nats: the durable consumer (default pipeline)' },
      ca: { type: 'string', arg: 'FILE', help: "the CA that signed the broker's certificate (PEM)" },
      cert: { type: 'string', arg: 'FILE', help: "this consumer's certificate" },
      key: { type: 'string', arg: 'FILE', help: 'its private key' },
      'client-id': { type: 'string', arg: 'ID', help: 'MQTT client id, unique per process and stable across its restarts (default\noutpost-pipeline; with --group give each process its own: pipeline-1, …)' },
      group: { type: 'string', arg: 'NAME', help: 'MQTT 5 shared-subscription group: more processes with the same group share the load' },
      topic: { type: 'string', multiple: true, arg: 'FILTER', help: 'topic filter, repeatable (default devices/+/telemetry)' },
      pg: { type: 'string', arg: 'URL', help: 'PostgreSQL (TimescaleDB when installed) for time series, e.g. postgres://user@host:5432/db' },
      duckdb: { type: 'string', arg: 'FILE', help: 'embedded DuckDB file for time series (default LAKE/timeseries.duckdb when --pg is not given)' },
      influx: { type: 'string', arg: 'URL', help: 'also write the time series to InfluxDB 1.x, e.g. http://user:pass@influx:8086' },
      'influx-db': { type: 'string', arg: 'DB', help: 'the InfluxDB database, created if missing (default telemetry)' },
      rules: { type: 'string', arg: 'FILE', help: 'alert rules (JSON: { "rules": [ ... ] }; see docs/guides/alert-rules.md)' },
      'alert-topic': { type: 'string', arg: 'TEMPLATE', help: 'also publish alerts on the broker, e.g. alerts/{device}/{ruleId} (needs an ACL line)' },
      webhook: { type: 'string', multiple: true, arg: 'URL', help: 'POST alerts to this URL (retried; Idempotency-Key header), repeatable' },
      'webhook-secret': { type: 'string', arg: 'S', help: 'sign webhook bodies (X-Outpost-Signature: sha256=HMAC)' },
      insecure: { type: 'boolean', help: 'allow mqtt:// and no client certificate (development only)' },
      duration: { type: 'string', arg: 'MS', help: 'stop after MS milliseconds (for tests and smoke runs)' },
    },
    example: 'outpost pipeline --broker mqtts://broker:8883 --ca ca.pem --cert pipeline.pem --key pipeline.key \\\n  --client-id pipeline-1 --group pipeline --lake /var/lib/outpost/lake --pg postgres://outpost@db/telemetry --rules rules.json',
    run: runPipelineCommand,
  }),
  defineCommand({
    path: ['pipeline', 'query'],
    summary: 'ask the time-series store: last values, downsampled series, gaps',
    positionals: 'last|series|gaps',
    about: `Asks the pipeline's time-series store (give one of --pg, --duckdb, --influx) the common questions:
  last     the latest value of each device and metric   [--device D] [--metric M]
  series   one device's metric downsampled into buckets  --device D --metric M [--from T] [--to T] [--bucket DUR]
  gaps     silences longer than --min-gap per device     [--device D] [--from T] [--to T] [--min-gap DUR]
A query never creates a store: a missing --duckdb file is FILE_NOT_FOUND.`,
    flags: {
      pg: { type: 'string', arg: 'URL', help: 'PostgreSQL (TimescaleDB) store, e.g. postgres://user@db/telemetry' },
      duckdb: { type: 'string', arg: 'FILE', help: 'embedded DuckDB store (outpost pipeline writes LAKE/timeseries.duckdb)' },
      influx: { type: 'string', arg: 'URL', help: 'InfluxDB 1.x (last only)' },
      'influx-db': { type: 'string', arg: 'DB', help: 'the InfluxDB database (default telemetry)' },
      device: { type: 'string', arg: 'D', help: 'one device' },
      metric: { type: 'string', arg: 'M', help: 'one metric' },
      from: { type: 'string', arg: 'T', help: 'ISO 8601 time or relative to now: -1h, -30m, now (default: an hour ago)' },
      to: { type: 'string', arg: 'T', help: 'ISO 8601 time or relative to now (default: now)' },
      bucket: { type: 'string', arg: 'DUR', help: 'bucket width for series: 500ms, 30s, 5m, 1h, 1d (default 1m)' },
      'min-gap': { type: 'string', arg: 'DUR', help: 'shortest silence reported by gaps (default 5m)' },
    },
    example: 'outpost pipeline query series --duckdb /var/lib/outpost/lake/timeseries.duckdb \\\n  --device pump-2 --metric temperature --from -6h --bucket 5m',
    run: runQuery,
  }),
];
