import { dirname, isAbsolute, join, resolve } from 'node:path';
import { DEFAULT_GATEWAY_LIMITS, MqttSnGateway, type BrokerCredentials, type MqttSnGatewayOptions } from '@outpost/device-sdk/mqtt-sn';
import { CliError, defineCommand, requireString, type Command, type CommandSpec, type Io, untilStopped } from '../command.js';
import { readTextFile } from '../files.js';

// `outpost mqttsn-gateway --config FILE`: runs an MQTT-SN gateway until SIGINT/SIGTERM.

const about = `Runs an MQTT-SN 1.2 gateway: MQTT-SN clients on UDP, the broker over mutual TLS. Transparent
(the default): one MQTT connection per client with that client's own certificate, so the broker's
per-device identity and ACLs still apply. Aggregating ("mode": "aggregating", MQTT-SN 1.2 §4): one
connection under the gateway's identity for every client; the gateway admits client ids ("admit",
or those with credentials) and confines each to its "namespace" (default devices/%c/#), answering
return code 3 outside it. Runs until SIGINT or SIGTERM.

Config (JSON; relative paths are relative to the config file):
  {
    "udp":        { "host": "0.0.0.0", "port": 10000, "recvBufferSize": 4194304 },
    "broker":     { "url": "mqtts://broker:8883", "ca": "ca.pem", "protocolVersion": 4 },
    "credentials": { "dir": "devices/" }          ID.pem + ID.key per client id (outpost pki issue-device --out)
             or   { "files": { "ID": { "cert": "ID.pem", "key": "ID.key" } } },
    "identity":   { "clientId": "gw-1", "cert": "gw-1.pem", "key": "gw-1.key" },   optional: QoS -1 publishes
    "useGatewayIdentity": "never" | "fallback" | "always",                         default "never"
    "mode":       "transparent" | "aggregating",                                  default "transparent"
    "namespace":  ["devices/%c/#"],           aggregating: topics each client may use (%c = its id)
    "admit":      ["pump-1", "pump-2"],       aggregating: client ids let in (default: those with credentials)
    "maxLinkInflight": 10000, "linkBackoffMs": { "min": 500, "max": 30000 },
    "predefinedTopics": { "1": "devices/gw-1/beacon" },
    "sleepBufferMax": 20,
    "maxClients": 1000, "maxRegistrations": 1000, "maxSubscriptions": 100, "maxInflight": 10,
    "sleepBufferBytes": 65536, "maxQueued": 1000, "maxQueuedBytes": 1048576, "maxWillBytes": 1024,
    "gwId": 1,
    "advertise":  { "targets": [{ "host": "255.255.255.255", "port": 10000 }], "intervalS": 900 },
    "retry":      { "tRetryMs": 10000, "nRetry": 3 }
  }`;

const ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

type Json = Record<string, unknown>;

function obj(v: unknown, field: string): Json {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CliError('CONFIG', `config: ${field}: expected an object`);
  return v as Json;
}

function str(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new CliError('CONFIG', `config: ${field}: expected a non-empty string`);
  return v;
}

async function readText(base: string, p: string, field: string): Promise<string> {
  return readTextFile(isAbsolute(p) ? p : join(base, p), `config: ${field}: cannot read`, 'CONFIG');
}

/** Reads and checks the config file; returns gateway options. */
export async function loadGatewayConfig(file: string): Promise<{ options: MqttSnGatewayOptions; summary: Json }> {
  const raw = await readTextFile(file, 'cannot read config', 'CONFIG');
  let cfg: Json;
  try {
    cfg = obj(JSON.parse(raw), '(top level)');
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError('CONFIG', `config ${file}: not valid JSON: ${(e as Error).message.split('\n')[0] ?? ''}`);
  }
  const base = dirname(resolve(file));
  const broker = obj(cfg['broker'], 'broker');
  const url = str(broker['url'], 'broker.url');
  const ca = broker['ca'] === undefined ? undefined : await readText(base, str(broker['ca'], 'broker.ca'), 'broker.ca');
  const pv = broker['protocolVersion'];
  if (pv !== undefined && pv !== 4 && pv !== 5) throw new CliError('CONFIG', 'config: broker.protocolVersion: expected 4 or 5');
  let credentials: MqttSnGatewayOptions['credentials'];
  let credSummary: string = 'none';
  if (cfg['credentials'] !== undefined) {
    const c = obj(cfg['credentials'], 'credentials');
    if (c['dir'] !== undefined) {
      const dir = isAbsolute(str(c['dir'], 'credentials.dir')) ? (c['dir'] as string) : join(base, c['dir'] as string);
      credSummary = `dir ${dir}`;
      credentials = async (clientId: string): Promise<BrokerCredentials | undefined> => {
        if (!ID_RE.test(clientId)) return undefined; // never a path from the network
        try {
          const [cert, key] = await Promise.all([readTextFile(join(dir, `${clientId}.pem`), 'certificate'), readTextFile(join(dir, `${clientId}.key`), 'key')]);
          return { cert, key };
        } catch {
          return undefined;
        }
      };
    } else if (c['files'] !== undefined) {
      const files = obj(c['files'], 'credentials.files');
      const map = new Map<string, BrokerCredentials>();
      for (const [id, v] of Object.entries(files)) {
        const f = obj(v, `credentials.files.${id}`);
        map.set(id, { cert: await readText(base, str(f['cert'], `credentials.files.${id}.cert`), `credentials.files.${id}.cert`), key: await readText(base, str(f['key'], `credentials.files.${id}.key`), `credentials.files.${id}.key`) });
      }
      credentials = map;
      credSummary = `${map.size} client(s) from files`;
    } else throw new CliError('CONFIG', 'config: credentials: expected "dir" or "files"');
  }
  let identity: MqttSnGatewayOptions['identity'];
  if (cfg['identity'] !== undefined) {
    const i = obj(cfg['identity'], 'identity');
    identity = { clientId: str(i['clientId'], 'identity.clientId'), cert: await readText(base, str(i['cert'], 'identity.cert'), 'identity.cert'), key: await readText(base, str(i['key'], 'identity.key'), 'identity.key') };
  }
  const udp = cfg['udp'] === undefined ? {} : obj(cfg['udp'], 'udp');
  const predefined = cfg['predefinedTopics'] === undefined ? undefined : obj(cfg['predefinedTopics'], 'predefinedTopics');
  const options = {
    udp: { host: typeof udp['host'] === 'string' ? udp['host'] : '0.0.0.0', port: typeof udp['port'] === 'number' ? udp['port'] : 10000, ...(udp['recvBufferSize'] !== undefined ? { recvBufferSize: udp['recvBufferSize'] } : {}) },
    broker: { url, ...(ca !== undefined ? { ca } : {}), ...(pv !== undefined ? { protocolVersion: pv } : {}) },
    ...(credentials !== undefined ? { credentials } : {}),
    ...(identity !== undefined ? { identity } : {}),
    ...(cfg['useGatewayIdentity'] !== undefined ? { useGatewayIdentity: cfg['useGatewayIdentity'] } : {}),
    // the aggregating mode's options, checked by the gateway itself
    ...Object.fromEntries(['mode', 'namespace', 'admit', 'maxLinkInflight', 'linkBackoffMs'].filter((k) => cfg[k] !== undefined).map((k) => [k, cfg[k]])),
    ...(predefined !== undefined ? { predefinedTopics: predefined } : {}),
    // the limits (sleepBufferMax among them), checked by the gateway itself
    ...Object.fromEntries(Object.keys(DEFAULT_GATEWAY_LIMITS).filter((k) => cfg[k] !== undefined).map((k) => [k, cfg[k]])),
    ...(cfg['gwId'] !== undefined ? { gwId: cfg['gwId'] } : {}),
    ...(cfg['advertise'] !== undefined ? { advertise: cfg['advertise'] } : {}),
    ...(cfg['retry'] !== undefined ? { retry: cfg['retry'] } : {}),
  } as MqttSnGatewayOptions;
  return { options, summary: { broker: url, mode: options.mode ?? 'transparent', credentials: credSummary, identity: identity?.clientId ?? null } };
}

async function runGateway({ values }: Parameters<CommandSpec['run']>[0], io: Io): Promise<number> {
  const file = resolve(io.cwd, requireString(values['config'], 'config'));
  let durationMs: number | undefined;
  if (values['duration'] !== undefined) {
    const d = requireString(values['duration'], 'duration');
    if (!/^\d+$/.test(d)) throw new CliError('USAGE', `--duration: expected milliseconds, got "${d}"`, 2);
    durationMs = Number(d);
  }
  const { options, summary } = await loadGatewayConfig(file);
  let gw: MqttSnGateway;
  try {
    gw = new MqttSnGateway(options);
  } catch (e) {
    throw new CliError('CONFIG', `config: ${(e as Error).message}`);
  }
  const line = (obj: Json, human: string): void => io.stdout((values.json ? JSON.stringify(obj) : human) + '\n');
  gw.on('client', (e) => line({ type: 'client', ...e }, `client ${e.clientId} ${e.event}${e.reason !== undefined ? `: ${e.reason}` : ''}`));
  gw.on('malformed', (e) => line({ type: 'malformed', from: `${e.from.address}:${e.from.port}`, code: e.error.code, message: e.error.message }, `malformed datagram from ${e.from.address}:${e.from.port} dropped: ${e.error.message}`));
  gw.on('dropped', (e) => line({ type: 'dropped', ...e }, `sleep buffer full for ${e.clientId}: dropped a message on ${e.topic}`));
  gw.on('unauthorized', (e) => line({ type: 'unauthorized', ...e }, `refused ${e.clientId}: ${e.action} ${e.topic} is outside its namespace`));
  gw.on('link', (e) => line({ type: 'link', ...e }, `broker link ${e.up ? 'up' : `down${e.reason !== undefined ? `: ${e.reason}` : ''}`}`));
  gw.on('error', (e) => io.stderr(`outpost: mqttsn-gateway: ${e.clientId !== undefined ? `${e.clientId}: ` : ''}${e.error.message.split('\n')[0] ?? ''}\n`));
  try {
    await gw.start();
  } catch (e) {
    throw new CliError('LISTEN_FAILED', `cannot listen on UDP ${options.udp?.host ?? '0.0.0.0'}:${options.udp?.port ?? 10000}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const addr = gw.address();
  line({ type: 'listening', udp: addr, ...summary }, `MQTT-SN gateway listening on udp://${addr.address}:${addr.port} → ${String(summary['broker'])} (${String(summary['mode'])}; credentials: ${String(summary['credentials'])})`);
  await untilStopped(durationMs);
  const stats = gw.stats();
  await gw.close();
  line({ type: 'stopped', stats }, `stopped: ${stats.datagramsIn} datagrams in, ${stats.publishesIn} publishes from clients, ${stats.publishesOut} to clients, ${stats.malformed} malformed`);
  return 0;
}

/** `outpost mqttsn-gateway`. */
export const mqttsnCommands: readonly Command[] = [
  defineCommand({
    path: ['mqttsn-gateway'],
    summary: 'run an MQTT-SN gateway (UDP) in front of an MQTT broker',
    about,
    flags: {
      config: { type: 'string', arg: 'FILE', required: true, help: 'the configuration above' },
      duration: { type: 'string', arg: 'MS', help: 'stop after MS milliseconds (for tests and smoke runs)' },
    },
    example: 'outpost mqttsn-gateway --config /etc/outpost/mqttsn.json   # with --json: one JSON object per line',
    run: runGateway,
  }),
];
