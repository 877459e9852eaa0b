/**
 * The bridge from the device broker into JetStream: an MQTT shared subscription
 * (`$share/bridge/devices/+/telemetry`, MQTT 5 §4.8.2) consumed with the pipeline's own MQTT
 * session (`connectIngest`: PUBACKs strictly in arrival order, MQTT 5 [MQTT-4.6.0-2]), each
 * message published to the stream with a `Nats-Msg-Id` (JetStream de-duplication within the
 * stream's `duplicate_window`), and its PUBACK released only after JetStream's publish ack, i.e.
 * once the stream (R3: a quorum of its replicas) has stored it.
 *
 * While the cluster cannot store (no quorum, no leader, every node gone) the publish is retried
 * with a doubling delay and no PUBACK goes out: the broker keeps the messages in the bridge's
 * persistent session and stops sending at Receive Maximum. Several bridges share the
 * subscription (give each its own client id); a bridge that dies leaves its unacknowledged
 * messages to be redelivered, and their message ids make the second publish a duplicate.
 */
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { assertClock, systemPipelineClock, type PipelineClock } from './clock.js';
import type { IncomingMessage } from './decode.js';
import { PipelineError } from './errors.js';
import { connectIngest, type Ingest, type IngestOptions, type IngestStats } from './ingest.js';
import { StreamPublisher } from './jetstream-publish.js';
import { connectNats, messageId, openStream, subjectOfTopic, telemetryStreamConfig, type NatsConnectOptions, type TelemetryStreamOptions, STREAM_STARTUP_WAIT_MS } from './jetstream-stream.js';
import { DEVICE_ID_PATTERN } from './schema.js';
import { assertObject, intOption } from './validate.js';

/** Options of {@link startBridge}. */
export interface BridgeOptions {
  /**
   * The device broker: `connectIngest`'s options. Defaults here: `group` `bridge`, `topics`
   * `['devices/+/telemetry']`, `receiveMaximum` 1 024 (messages on their way into the stream).
   */
  readonly from: Omit<IngestOptions, 'flow'>;
  /** The NATS cluster and the stream (created when missing, default R3 with a 2-minute duplicate window). */
  readonly to: NatsConnectOptions & TelemetryStreamOptions;
  /** First delay before publishing again after a failed publish, ms (default 250); doubled per failure. */
  readonly retryDelayMs?: number;
  /** Longest delay between publish attempts, ms (default 5 000). */
  readonly maxRetryDelayMs?: number;
  /** Time for the retry delays (default: the system clock). */
  readonly clock?: PipelineClock;
}

/** Counters of a {@link Bridge}. */
export interface BridgeStats {
  /** The MQTT side: messages received, PUBACKs sent (`acked`), pending, redelivered by the broker. */
  mqtt: IngestStats;
  /** Messages the stream acknowledged (stored, or known as duplicates). */
  published: number;
  /** Of those, messages the stream already had (same `Nats-Msg-Id` within the window). */
  duplicates: number;
  /** Failed publish attempts (retried). */
  publishErrors: number;
  /** Whether the last publish attempt failed (the cluster cannot store right now). */
  blocked: boolean;
  /** Messages larger than the servers' `max_payload` (less 2 KiB for headers), stored as an empty stand-in with `Outpost-Oversized: <bytes>`. */
  oversized: number;
}

/** A running bridge. */
export interface Bridge {
  stats(): BridgeStats;
  /**
   * Stops taking messages, lets those on their way finish (at most `timeoutMs`, default 10 000),
   * then closes both connections. What was not stored is not acknowledged: the broker keeps it.
   */
  close(timeoutMs?: number): Promise<void>;
}

/** The subject and headers of a device message; a topic whose device id is not valid goes with `Outpost-Topic` so the pipeline dead-letters it. */
function envelope(m: IncomingMessage, invalidSubject: string): { subject: string; device: string; hdrs: ReturnType<typeof headers> } {
  const hdrs = headers();
  hdrs.set('Outpost-Received-At', String(m.receivedAt));
  if (m.contentType !== undefined && m.contentType !== '') hdrs.set('Content-Type', m.contentType);
  const device = m.topic.split('/')[1] ?? '';
  if (DEVICE_ID_PATTERN.test(device) && /^[A-Za-z0-9/._-]+$/.test(m.topic)) return { subject: subjectOfTopic(m.topic), device, hdrs };
  hdrs.set('Outpost-Topic', m.topic.slice(0, 1024));
  return { subject: invalidSubject, device: `invalid:${m.topic.slice(0, 128)}`, hdrs };
}

/**
 * Starts a bridge: connects to the cluster (creating the stream when missing), then to the
 * broker with a shared subscription; see the file comment for what is acknowledged when.
 *
 * Not executed here (it needs a broker and a NATS cluster; the tests start both):
 * ```text
 * const bridge = await startBridge({
 *   from: { url: 'mqtts://broker:8883', ca, cert, key, clientId: 'bridge-1' },
 *   to: { servers: ['tls://nats-1:4222', 'tls://nats-2:4222'], ca, cert, key },
 * });
 * ```
 *
 * @throws TypeError/RangeError for wrong options; `PipelineError` `INGEST_FAILED` when the broker
 * or the cluster cannot be reached, or the stream cannot be created.
 * @example
 * ```ts
 * import { startBridge } from '@outpost/pipeline';
 * import { startMosquitto, startNatsCluster, tempDir } from '@outpost/test-peers';
 * import { connectAsync } from 'mqtt';
 * // A local broker and one NATS server, as the tests start them; in production mqtts:// and tls:// with identities.
 * const dir = tempDir();
 * const broker = await startMosquitto({ dir: dir.path, config: (port) => `listener ${port} 127.0.0.1\nallow_anonymous true\n` });
 * const nats = await startNatsCluster({ nodes: 1 });
 * const url = `mqtt://127.0.0.1:${broker.port}`;
 * const bridge = await startBridge({ from: { url, insecure: true, clientId: 'bridge-1' }, to: { servers: nats.urls, insecure: true, replicas: 1 } });
 * const device = await connectAsync(url, { clientId: 'pump-1' });
 * await device.publishAsync('devices/pump-1/telemetry', '{"temperature": 21.5}', { qos: 1 });
 * while (bridge.stats().mqtt.acked < 1) await new Promise((r) => setTimeout(r, 10));
 * bridge.stats().published; // 1
 * await device.endAsync();
 * await bridge.close();
 * await nats.stop();
 * await broker.stop();
 * dir.cleanup();
 * ```
 */
export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  assertObject('startBridge: options', options);
  assertObject('startBridge: from', options.from);
  assertObject('startBridge: to', options.to);
  if (options.clock !== undefined) assertClock('startBridge: clock', options.clock);
  const clock = options.clock ?? systemPipelineClock;
  const retryDelayMs = intOption('startBridge: retryDelayMs', options.retryDelayMs, 250, 1);
  const maxRetryDelayMs = intOption('startBridge: maxRetryDelayMs', options.maxRetryDelayMs, Math.max(5_000, retryDelayMs), retryDelayMs);
  const streamConfig = telemetryStreamConfig(options.to, 'startBridge');
  const timeoutMs = intOption('startBridge: requestTimeoutMs', options.to.requestTimeoutMs, 5_000, 1);
  const invalidSubject = (streamConfig.subjects?.[0] ?? 'devices.*.telemetry').replace('*', '_invalid');
  const nc = await connectNats(options.to, 'startBridge');
  try {
    await openStream(nc, streamConfig, Math.max(timeoutMs, STREAM_STARTUP_WAIT_MS));
  } catch (e) {
    await nc.close().catch(() => undefined);
    throw e;
  }
  // Many publishes in flight (up to the session's receiveMaximum), their acks on one subscription.
  const publisher = new StreamPublisher(nc, timeoutMs, clock);
  const stats = { published: 0, duplicates: 0, publishErrors: 0, blocked: false, oversized: 0 };
  let closing = false;
  const sleep = (ms: number): Promise<void> => new Promise((r) => clock.setTimeout(r, ms));

  // Resolves once the stream has the message (the PUBACK may then go out); rejects only at close.
  const forward = async (m: IncomingMessage): Promise<void> => {
    const { subject, device, hdrs } = envelope(m, invalidSubject);
    const mqttId = m.userProperties?.['msg-id'];
    hdrs.set('Nats-Msg-Id', messageId(device, m.payload, typeof mqttId === 'string' ? mqttId : undefined));
    // Larger than the cluster takes (max_payload): retrying could never succeed and would hold every
    // later PUBACK (arrival order). Store an empty stand-in with the size; the pipeline dead-letters it.
    let body = m.payload;
    if (m.payload.byteLength + 2_048 > (nc.info?.max_payload ?? Number.POSITIVE_INFINITY)) {
      hdrs.set('Outpost-Oversized', String(m.payload.byteLength));
      hdrs.set('Outpost-Topic', m.topic.slice(0, 1024));
      body = new Uint8Array(0);
      stats.oversized++;
    }
    let delay = retryDelayMs;
    for (;;) {
      try {
        const ack = await publisher.publish(subject, body, hdrs);
        stats.published++;
        if (ack.duplicate) stats.duplicates++;
        stats.blocked = false;
        return;
      } catch {
        stats.publishErrors++;
        stats.blocked = true;
      }
      if (closing) throw new PipelineError('CLOSED', 'bridge: closed before the stream stored the message; not acknowledged, the broker keeps it');
      await sleep(delay);
      delay = Math.min(delay * 2, maxRetryDelayMs);
    }
  };

  let ingest: Ingest;
  try {
    ingest = await connectIngest({ group: 'bridge', topics: ['devices/+/telemetry'], receiveMaximum: 1_024, ...options.from }, forward);
  } catch (e) {
    publisher.close();
    await nc.close().catch(() => undefined);
    throw e;
  }
  return bridgeHandle(ingest, nc, stats, () => {
    closing = true;
    publisher.close();
  });
}

function bridgeHandle(ingest: Ingest, nc: NatsConnection, stats: Omit<BridgeStats, 'mqtt'>, markClosing: () => void): Bridge {
  let closed = false;
  return {
    stats: () => ({ mqtt: ingest.stats(), ...stats }),
    async close(timeoutMs = 10_000) {
      if (closed) return;
      closed = true;
      await ingest.close(timeoutMs); // drains: messages on their way are stored and acknowledged
      markClosing();
      await nc.drain().catch(() => nc.close());
    },
  };
}
