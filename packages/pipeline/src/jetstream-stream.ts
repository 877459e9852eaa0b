/**
 * The NATS side shared by the JetStream source and the bridge: the connection (a server list, TLS
 * with the process's own identity, endless reconnects), the telemetry stream (R3, a duplicate
 * window), and the mapping between MQTT topics and NATS subjects.
 */
import { createHash } from 'node:crypto';
import { AckPolicy, jetstreamManager, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { PipelineError } from './errors.js';
import { assertObject, assertString, describe, intOption } from './validate.js';

/** How to reach the NATS cluster: shared by {@link JetStreamIngestOptions} and {@link BridgeOptions}. */
export interface NatsConnectOptions {
  /** `nats://host:port` or `tls://host:port`, one or several nodes of the cluster (the client learns the rest). */
  readonly servers: string | readonly string[];
  /** CA certificate(s) (PEM) that signed the servers' certificates. */
  readonly ca?: string;
  /** This process's own certificate (PEM), when the cluster requires client certificates. */
  readonly cert?: string;
  /** Its private key (PEM). */
  readonly key?: string;
  /** Connection name, shown by the server's monitoring (default: none). */
  readonly name?: string;
  /** Plain `nats://` without TLS (development only; the default refuses it). */
  readonly insecure?: boolean;
  /** Delay between reconnect attempts to the cluster, ms (default 250); reconnects never give up. */
  readonly reconnectWaitMs?: number;
  /** Timeout of one JetStream API request or publish, ms (default 5 000). */
  readonly requestTimeoutMs?: number;
}

/** The telemetry stream: its name, subjects, replicas and duplicate window. */
export interface TelemetryStreamOptions {
  /** Stream name (default `TELEMETRY`). */
  readonly stream?: string;
  /** Subjects stored (default `['devices.*.telemetry']`). */
  readonly subjects?: readonly string[];
  /** Replicas when the stream is created (default 3: survives one node of three; 1 for a single server). */
  readonly replicas?: number;
  /** Window in which a repeated `Nats-Msg-Id` is dropped as a duplicate, ms (default 120 000). */
  readonly duplicateWindowMs?: number;
  /** Oldest message kept, ms (default 0 = no age limit; limits retention). */
  readonly maxAgeMs?: number;
}

const NANOS = 1_000_000;

function serverList(o: NatsConnectOptions, where: string): string[] {
  const list = typeof o.servers === 'string' ? [o.servers] : o.servers;
  if (!Array.isArray(list) || list.length === 0) throw new TypeError(`${where}: servers: expected a URL or a non-empty array of URLs, got ${describe(o.servers)}`);
  return list.map((s, i) => {
    assertString(`${where}: servers[${i}]`, s);
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      throw new RangeError(`${where}: servers[${i}]: "${s}" is not a URL`);
    }
    if (u.protocol === 'nats:' && o.insecure !== true && o.ca === undefined) throw new PipelineError('INGEST_FAILED', `${where}: ${s} is not encrypted; give ca (and cert/key) for TLS or pass insecure: true (development only)`);
    if (u.protocol !== 'nats:' && u.protocol !== 'tls:') throw new RangeError(`${where}: servers[${i}]: unsupported scheme ${u.protocol} (expected nats: or tls:)`);
    return `${u.hostname}:${u.port || '4222'}`;
  });
}

/**
 * Opens a NATS connection that reconnects forever (a node that dies is replaced by another of the
 * list; what was published while reconnecting is buffered by the client).
 */
export async function connectNats(o: NatsConnectOptions, where: string): Promise<NatsConnection> {
  assertObject(`${where}: options`, o);
  const servers = serverList(o, where);
  for (const k of ['ca', 'cert', 'key', 'name'] as const) if (o[k] !== undefined) assertString(`${where}: ${k}`, o[k]);
  if ((o.cert === undefined) !== (o.key === undefined)) throw new TypeError(`${where}: cert and key go together`);
  const tls = o.ca !== undefined || o.cert !== undefined ? { ...(o.ca !== undefined ? { ca: o.ca } : {}), ...(o.cert !== undefined ? { cert: o.cert, key: o.key } : {}) } : undefined;
  try {
    return await connect({
      servers,
      ...(tls !== undefined ? { tls } : {}),
      ...(o.name !== undefined ? { name: o.name } : {}),
      maxReconnectAttempts: -1,
      // No Error (with its stack trace) built in advance for every request and its timer: the
      // bridge makes one request per message (the JetStream publish), and capturing those traces
      // was a quarter of its CPU. Errors still carry their message and cause.
      noAsyncTraces: true,
      reconnectTimeWait: intOption(`${where}: reconnectWaitMs`, o.reconnectWaitMs, 250, 1),
      timeout: intOption(`${where}: requestTimeoutMs`, o.requestTimeoutMs, 5_000, 1),
    });
  } catch (e) {
    throw new PipelineError('INGEST_FAILED', `${where}: cannot connect to ${servers.join(', ')}: ${(e as Error).message}`, { cause: e });
  }
}

/** The stream config from the options (defaults stated in {@link TelemetryStreamOptions}). */
export function telemetryStreamConfig(o: TelemetryStreamOptions, where: string): Partial<StreamConfig> & { name: string } {
  const name = o.stream ?? 'TELEMETRY';
  assertString(`${where}: stream`, name);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw new RangeError(`${where}: stream: "${name}" must be 1..64 of A-Z a-z 0-9 _ -`);
  const subjects = o.subjects ?? ['devices.*.telemetry'];
  if (!Array.isArray(subjects) || subjects.length === 0) throw new TypeError(`${where}: subjects: expected a non-empty array, got ${describe(subjects)}`);
  subjects.forEach((s, i) => assertString(`${where}: subjects[${i}]`, s));
  return {
    name,
    subjects: [...subjects],
    num_replicas: intOption(`${where}: replicas`, o.replicas, 3, 1, 5),
    duplicate_window: intOption(`${where}: duplicateWindowMs`, o.duplicateWindowMs, 120_000, 1) * NANOS,
    max_age: intOption(`${where}: maxAgeMs`, o.maxAgeMs, 0, 0) * NANOS,
  };
}

/**
 * Creates the stream if it does not exist (a stream that exists is used as it is: its replicas
 * and window are the operator's). Retries until `timeoutMs` while the cluster cannot answer (a
 * node just restarted, no meta leader yet).
 */
export async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await jsm.streams.info(config.name);
      return;
    } catch (e) {
      last = e;
      if (/not found/i.test((e as Error).message)) {
        try {
          await jsm.streams.add(config);
          return;
        } catch (e2) {
          last = e2;
        }
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new PipelineError('INGEST_FAILED', `stream ${config.name}: not available within ${timeoutMs} ms: ${(last as Error | undefined)?.message ?? 'no answer'}`, { cause: last });
}

/**
 * How long a bridge or worker that starts while the cluster recovers (a node just killed or
 * restarted: no stream leader yet) waits for the stream before it gives up: a minute, so that
 * starting during a recovery waits instead of crash-looping. (10 s was too short: after a
 * `kill -9` of a node, a CI run saw the stream unavailable for longer.)
 */
export const STREAM_STARTUP_WAIT_MS = 60_000;

/** Opens the manager (without its account check, which fails while a node catches up) and makes sure the stream is there. */
export async function openStream(nc: NatsConnection, config: Partial<StreamConfig> & { name: string }, timeoutMs: number): Promise<JetStreamManager> {
  const jsm = await jetstreamManager(nc, { timeout: Math.min(timeoutMs, 5_000), checkAPI: false });
  await ensureStream(jsm, config, timeoutMs);
  return jsm;
}

export { AckPolicy };

/**
 * The NATS subject of an MQTT topic, as NATS's own MQTT listener maps it (docs.nats.io "MQTT":
 * `/` becomes `.`, a `.` in a level becomes `//`), so the bridge and devices on NATS's MQTT
 * listener land on the same subjects: `devices/pump.1/telemetry` → `devices.pump//1.telemetry`.
 *
 * @example
 * ```ts
 * import { subjectOfTopic } from '@outpost/pipeline';
 * subjectOfTopic('devices/pump.1/telemetry'); // 'devices.pump//1.telemetry'
 * ```
 */
export function subjectOfTopic(topic: string): string {
  return topic.split('/').map((level) => level.replace(/\./g, '//')).join('.');
}

/**
 * The MQTT topic of a subject ({@link subjectOfTopic} reversed).
 *
 * @example
 * ```ts
 * import { topicOfSubject } from '@outpost/pipeline';
 * topicOfSubject('devices.pump//1.telemetry'); // 'devices/pump.1/telemetry'
 * ```
 */
export function topicOfSubject(subject: string): string {
  if (!subject.includes('//')) return subject.replaceAll('.', '/'); // no escaped dot: every token as it is
  return subject.split('.').map((token) => token.replace(/\/\//g, '.')).join('/');
}

/**
 * The `Nats-Msg-Id` of a device message: the device, then the MQTT-level identity when the device
 * gave one (MQTT 5 user property `msg-id`), else a SHA-256 of the payload. The same message
 * published again within the stream's duplicate window (a bridge restarted before the device's
 * PUBACK, a broker redelivery) is stored once. Without a `msg-id`, two byte-identical payloads of
 * one device within the window are one message: payloads carry their own timestamp (`ts`), so they
 * differ.
 *
 * @example
 * ```ts
 * import { messageId } from '@outpost/pipeline';
 * const payload = new TextEncoder().encode('{"ts": 1700000000000, "v": 1}');
 * messageId('pump-1', payload) === messageId('pump-1', payload.slice()); // true
 * messageId('pump-1', payload, '42'); // 'pump-1:m:42'
 * ```
 */
export function messageId(device: string, payload: Uint8Array, mqttId?: string): string {
  if (mqttId !== undefined && mqttId !== '') return `${device}:m:${mqttId}`;
  return `${device}:h:${createHash('sha256').update(payload).digest('base64url').slice(0, 32)}`;
}
