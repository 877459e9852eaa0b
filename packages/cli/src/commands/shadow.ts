// `outpost shadow-service`: the reference shadow service on an MQTT broker, until SIGINT/SIGTERM.
// `outpost shadow get|update`: read a shadow, write desired/reported state, from the command line.
import { resolve } from 'node:path';
import { connectDevice, type DeviceClient } from '@outpost/device-sdk';
import {
  createShadowAppClient, MemoryShadowStore, openFileShadowStore, ShadowError, startShadowService,
  type JsonObject, type ShadowStore,
} from '@outpost/shadow';
import { CliError, defineCommand, emit, requireString, type Command, type CommandSpec, type FlagTable, type FlagValues, type Io, untilStopped } from '../command.js';
import { readCapped } from '../files.js';

/** @internal the broker connection flags, shared with the jobs commands */
export const connectionFlags = {
  broker: { type: 'string', arg: 'URL', required: true, help: 'mqtts://host:port of the broker' },
  cert: { type: 'string', arg: 'FILE', required: true, help: "this client's certificate (its CN is the MQTT client id)" },
  key: { type: 'string', arg: 'FILE', required: true, help: 'its private key' },
  ca: { type: 'string', arg: 'FILE', required: true, help: "the fleet CA certificate the broker's certificate chains to" },
  protocol: { type: 'string', arg: '4|5', help: 'MQTT version (default 5)' },
} as const satisfies FlagTable;

const shadowFlag = { shadow: { type: 'string', arg: 'NAME', help: 'a named shadow (default: the classic shadow)' } } as const satisfies FlagTable;

function nonNegative(values: FlagValues, flag: string): number | undefined {
  if (values[flag] === undefined) return undefined;
  const d = requireString(values[flag], flag);
  if (!/^\d+$/.test(d)) throw new CliError('USAGE', `--${flag}: expected a non-negative integer, got "${d}"`, 2);
  return Number(d);
}

/** Certificates, keys and CA bundles: read with a 1 MiB cap before anything parses them. */
async function readText(io: Io, v: unknown, flag: string): Promise<string> {
  const p = resolve(io.cwd, requireString(v, flag));
  return Buffer.from(await readCapped(p, { what: `--${flag}`, cap: 1 << 20 })).toString('utf8');
}

/** @internal connects with the connection flags (certificate files read with a cap) */
export async function connect(io: Io, values: FlagValues): Promise<DeviceClient> {
  const url = requireString(values['broker'], 'broker');
  if (!/^mqtts?:\/\//.test(url)) throw new CliError('USAGE', `--broker: expected mqtts://host:port, got "${url}"`, 2);
  const protocol = values['protocol'] === undefined ? '5' : requireString(values['protocol'], 'protocol');
  if (protocol !== '4' && protocol !== '5') throw new CliError('USAGE', `--protocol: expected 4 or 5, got "${protocol}"`, 2);
  const [cert, key, ca] = [await readText(io, values['cert'], 'cert'), await readText(io, values['key'], 'key'), await readText(io, values['ca'], 'ca')];
  return connectDevice({ url, cert, key, ca, protocolVersion: protocol === '5' ? 5 : 4, reconnect: { initialDelayMs: 500, maxDelayMs: 30_000 } });
}

function parseJsonObject(v: unknown, flag: string): JsonObject | null {
  const s = requireString(v, flag);
  let parsed: unknown;
  try {
    parsed = JSON.parse(s);
  } catch {
    throw new CliError('USAGE', `--${flag}: expected a JSON object, got invalid JSON`, 2);
  }
  if (parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed))) throw new CliError('USAGE', `--${flag}: expected a JSON object or null`, 2);
  return parsed as JsonObject | null;
}

function thingArg(positionals: string[]): string {
  if (positionals.length !== 1) throw new CliError('USAGE', `expected one THING argument, got ${positionals.length}`, 2);
  return positionals[0]!;
}

function shadowFailure(err: unknown): never {
  if (err instanceof ShadowError) throw new CliError(err.code, `${err.message}${err.status !== undefined ? ` (${err.status})` : ''}`);
  throw err;
}

async function runService({ values }: Parameters<CommandSpec['run']>[0], io: Io): Promise<number> {
  const durationMs = nonNegative(values, 'duration');
  const maxInFlightPerShadow = nonNegative(values, 'max-in-flight');
  if (maxInFlightPerShadow === 0) throw new CliError('USAGE', '--max-in-flight: expected at least 1', 2);
  const tombstoneTtlMs = nonNegative(values, 'tombstone-ttl-ms');
  if (values['memory'] === true && values['store'] !== undefined) throw new CliError('USAGE', '--store and --memory exclude each other', 2);
  const storeDir = values['memory'] === true ? undefined : resolve(io.cwd, values['store'] === undefined ? 'outpost-shadows' : requireString(values['store'], 'store'));
  const mqtt = await connect(io, values);
  let store: ShadowStore | undefined;
  try {
    store = storeDir === undefined ? new MemoryShadowStore() : await openFileShadowStore({ dir: storeDir });
    const service = await startShadowService({
      mqtt,
      store,
      ...(maxInFlightPerShadow !== undefined ? { maxInFlightPerShadow } : {}),
      ...(tombstoneTtlMs !== undefined ? { tombstoneTtlMs } : {}),
      onError: (e) => io.stderr(`outpost: shadow-service: ${e.message.split('\n')[0] ?? ''}\n`),
    });
    const line = (obj: unknown, human: string): void => io.stdout((values.json ? JSON.stringify(obj) : human) + '\n');
    line({ type: 'listening', broker: values['broker'], clientId: mqtt.clientId, store: storeDir ?? 'memory', maxInFlightPerShadow: maxInFlightPerShadow ?? 10, tombstoneTtlMs: tombstoneTtlMs ?? 172_800_000 }, `shadow service on ${String(values['broker'])} as ${mqtt.clientId}, store: ${storeDir ?? 'memory (lost on exit)'}`);
    await untilStopped(durationMs);
    await service.close();
    const s = service.stats();
    line({ type: 'stopped', stats: s }, `stopped: ${s.requests} requests, ${s.accepted} accepted, ${s.rejected} rejected, ${s.deltas} deltas`);
    return 0;
  } finally {
    await store?.close();
    await mqtt.close();
  }
}

async function withApp<T>(io: Io, values: FlagValues, fn: (app: ReturnType<typeof createShadowAppClient>) => Promise<T>): Promise<T> {
  const mqtt = await connect(io, values);
  const app = createShadowAppClient({ mqtt, requestTimeoutMs: 5_000, maxRetries: 1 });
  try {
    return await fn(app);
  } catch (err) {
    return shadowFailure(err);
  } finally {
    await app.close();
    await mqtt.close();
  }
}

/** `outpost shadow-service`, `outpost shadow get`, `outpost shadow update`. */
export const shadowCommands: readonly Command[] = [
  defineCommand({
    path: ['shadow-service'],
    summary: 'run the reference device-shadow service on an MQTT broker',
    about: `Runs the reference device-shadow service: AWS IoT shadow semantics and topics
($aws/things/+/shadow[/name/+]/{get,update,delete}) over any MQTT broker. Documents are kept
in a durable file store (one file per shadow, written atomically) unless --memory is given.
Runs until SIGINT or SIGTERM. For development, tests and small self-hosted fleets; at scale
use AWS IoT Core's shadow service, whose topics the Outpost clients speak unchanged.

The service's identity must be allowed to read and write every shadow topic; for Mosquitto
(outpost pki broker-config writes this for a service identity):
  user shadow-service
  topic readwrite $aws/things/+/shadow/#

With --json: one JSON object per line (listening, stopped) instead of text.`,
    flags: {
      ...connectionFlags,
      store: { type: 'string', arg: 'DIR', help: 'directory of the file store (default ./outpost-shadows)' },
      memory: { type: 'boolean', help: 'keep documents in memory only (lost on exit)' },
      'max-in-flight': { type: 'string', arg: 'N', help: 'requests queued per shadow before 429 "too many requests" (default 10, as AWS)' },
      'tombstone-ttl-ms': { type: 'string', arg: 'MS', help: "how long a deleted shadow's version is remembered (default 172800000: 48 h, as AWS)" },
      duration: { type: 'string', arg: 'MS', help: 'stop after MS milliseconds (for tests and smoke runs)' },
    },
    example: 'outpost shadow-service --broker mqtts://127.0.0.1:8883 --cert shadow-service.pem --key shadow-service.key --ca ca.pem --store ./shadows',
    run: runService,
  }),
  defineCommand({
    path: ['shadow', 'get'],
    summary: "print a device's shadow document",
    positionals: 'THING',
    about: `Prints a device's shadow document (desired, reported, delta, version) through the shadow
service's topics (AWS IoT Core or outpost shadow-service).`,
    flags: { ...connectionFlags, ...shadowFlag },
    example: 'outpost shadow get sensor-0001 --broker mqtts://127.0.0.1:8883 --cert ops.pem --key ops.key --ca ca.pem --json',
    async run({ values, positionals }, io) {
      const thing = thingArg(positionals);
      const shadowName = values['shadow'] === undefined ? undefined : requireString(values['shadow'], 'shadow');
      const doc = await withApp(io, values, (app) => app.get(thing, shadowName === undefined ? {} : { shadowName }));
      const human = [
        `${thing}${shadowName === undefined ? '' : ` (${shadowName})`}  version ${doc.version}`,
        `desired   ${JSON.stringify(doc.state.desired ?? {})}`,
        `reported  ${JSON.stringify(doc.state.reported ?? {})}`,
        `delta     ${doc.state.delta === undefined ? '(none: reported covers desired)' : JSON.stringify(doc.state.delta)}`,
      ].join('\n');
      emit(io, values.json, doc, human);
      return 0;
    },
  }),
  defineCommand({
    path: ['shadow', 'update'],
    summary: "write desired or reported state of a device's shadow",
    positionals: 'THING',
    about: `Writes desired (or reported) state of a device's shadow (give --desired or --reported):
objects merge, null deletes a key, arrays are replaced whole. With --version the update applies
only if the shadow is still at that version (otherwise it fails with 409 and nothing changes).`,
    flags: {
      ...connectionFlags,
      desired: { type: 'string', arg: 'JSON', help: `desired state patch, e.g. '{"reportIntervalS":30}'` },
      reported: { type: 'string', arg: 'JSON', help: 'reported state patch' },
      version: { type: 'string', arg: 'N', help: 'expected current version (optimistic concurrency)' },
      ...shadowFlag,
    },
    example: `outpost shadow update sensor-0001 --desired '{"reportIntervalS":30}' --broker mqtts://127.0.0.1:8883 --cert ops.pem --key ops.key --ca ca.pem`,
    async run({ values, positionals }, io) {
      const thing = thingArg(positionals);
      if (values['desired'] === undefined && values['reported'] === undefined) throw new CliError('USAGE', 'missing required option --desired or --reported', 2);
      const state: { desired?: JsonObject | null; reported?: JsonObject | null } = {};
      if (values['desired'] !== undefined) state.desired = parseJsonObject(values['desired'], 'desired');
      if (values['reported'] !== undefined) state.reported = parseJsonObject(values['reported'], 'reported');
      const version = nonNegative(values, 'version');
      const shadowName = values['shadow'] === undefined ? undefined : requireString(values['shadow'], 'shadow');
      const accepted = await withApp(io, values, (app) => app.update(thing, { state, ...(version !== undefined ? { version } : {}) }, shadowName === undefined ? {} : { shadowName }));
      emit(io, values.json, accepted, `accepted: ${thing} now at version ${accepted.version}`);
      return 0;
    },
  }),
];
