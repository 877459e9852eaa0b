/**
 * The pipeline's JetStream source: a durable pull consumer on the telemetry stream, shared by any
 * number of pipeline processes (each pulls what it has room for; the server hands every message
 * to one of them). Per message, the delivery model's three outcomes map onto JetStream's acks
 * (docs.nats.io "Consumer Acknowledgements"): *delivered* → `+ACK` once every sink made it
 * durable; *rejected* → its dead letter is durable, then `+TERM` (never redelivered); *errored* →
 * `-NAK` with a delay when the handler failed, and a message the pipeline holds (a sink down) is
 * kept with `+WPI` (in progress) so it is not redelivered to another worker meanwhile. There is no
 * order constraint between acks (unlike MQTT's PUBACK order): each goes out when its message is done.
 *
 * Backpressure has two bounds: `maxInFlight` in this process (no pull beyond it, none while the
 * flow source says "held"), and the consumer's `max_ack_pending` across all processes (the server
 * stops handing out messages; the stream keeps them).
 */
import { AckPolicy, jetstream, type Consumer, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { assertClock, systemPipelineClock, type PipelineClock } from './clock.js';
import type { IncomingMessage } from './decode.js';
import { PipelineError } from './errors.js';
import type { FlowSource } from './ingest.js';
import { Puller, type PullerSettings } from './jetstream-puller.js';
import { connectNats, openStream, telemetryStreamConfig, type NatsConnectOptions, type TelemetryStreamOptions, STREAM_STARTUP_WAIT_MS } from './jetstream-stream.js';
import { assertFunction, assertObject, assertString, intOption } from './validate.js';

/** Options of {@link connectJetStreamIngest}: the cluster, the stream (created when missing) and the consumer. */
export interface JetStreamIngestOptions extends NatsConnectOptions, TelemetryStreamOptions {
  /** Durable consumer name, shared by every process of the pipeline (default `pipeline`). */
  readonly durable?: string;
  /** The consumer's `max_ack_pending` when it is created: unacknowledged messages across all processes (default 16 384). */
  readonly maxAckPending?: number;
  /** The consumer's `ack_wait` when it is created, ms (default 30 000): a worker silent this long loses its messages to another. */
  readonly ackWaitMs?: number;
  /** Messages this process handles at once (default 4 096); it pulls no more until some are done. Keep the pipeline's `flushAtInFlight` (default 10 000) below it, so batches commit when full rather than at their age bound. */
  readonly maxInFlight?: number;
  /** Messages asked for per pull (default 256). */
  readonly batch?: number;
  /** How long one pull waits for messages, ms (default 1 000; at least 1 000). */
  readonly pullExpiresMs?: number;
  /** Delay before a message whose handler failed is redelivered, ms (default 1 000). */
  readonly nakDelayMs?: number;
  /** Backpressure source (a pipeline): while "held", no pulls; held messages are kept with `+WPI`. */
  readonly flow?: FlowSource;
  /** Time for waits and the in-progress timer (default: the system clock). */
  readonly clock?: PipelineClock;
}

/**
 * Handles one message. Resolve when it may be acknowledged; resolve `'rejected'` when it was
 * dead-lettered (then it is terminated, never redelivered); reject to have it redelivered later.
 */
export type JetStreamHandler = (message: IncomingMessage, info: JetStreamMessageInfo) => Promise<void | 'rejected'>;

/** What the stream says about a message beyond the pipeline's `IncomingMessage`. */
export interface JetStreamMessageInfo {
  /** The bridge stored an empty stand-in: the device's payload had this many bytes, more than the cluster's `max_payload`. */
  readonly oversizedBytes: number | undefined;
}

/** Counters of a {@link JetStreamIngest}. */
export interface JetStreamIngestStats {
  /** Messages handed to the handler. */
  received: number;
  /** `+ACK`s sent (delivered). */
  acked: number;
  /** `+TERM`s sent (rejected: dead-lettered). */
  termed: number;
  /** `-NAK`s sent (the handler failed, or the source closed with the message unfinished). */
  naked: number;
  /** Messages that the server had delivered before (to this or another process). */
  redelivered: number;
  /** Messages whose handler has not settled. */
  pending: number;
  /** `+WPI`s sent for messages held longer than a third of `ackWaitMs`. */
  working: number;
  /** Pull requests made. */
  pulls: number;
  /** Pulls that failed (no leader, connection lost); retried. */
  pullErrors: number;
  /** Whether pulling is paused by backpressure. */
  paused: boolean;
  /** Times pulling was paused. */
  pauses: number;
  /** Reconnections to the cluster. */
  reconnects: number;
  /** Writes of settled messages' acks (`+ACK`/`+TERM`/`-NAK`): one per event-loop turn in which messages settled, not one per message. */
  ackWrites: number;
}

/** A running JetStream source. */
export interface JetStreamIngest {
  stats(): JetStreamIngestStats;
  /** Stops pulling (backpressure); acks still go out. Also driven by `options.flow`. */
  pause(): void;
  resume(): void;
  /**
   * Stops pulling, waits until nothing is pending (at most `timeoutMs`, default 10 000), `-NAK`s
   * what is still unfinished (another process takes it at once), then closes the connection.
   */
  close(timeoutMs?: number): Promise<void>;
}

interface Settings extends PullerSettings {
  readonly durable: string;
  readonly maxAckPending: number;
}

function settings(o: JetStreamIngestOptions): Settings {
  const durable = o.durable ?? 'pipeline';
  assertString('connectJetStreamIngest: durable', durable);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(durable)) throw new RangeError(`connectJetStreamIngest: durable: "${durable}" must be 1..64 of A-Z a-z 0-9 _ -`);
  if (o.clock !== undefined) assertClock('connectJetStreamIngest: clock', o.clock);
  if (o.flow !== undefined) {
    assertObject('connectJetStreamIngest: flow', o.flow);
    assertFunction('connectJetStreamIngest: flow.onFlowChange', o.flow.onFlowChange);
  }
  return {
    durable,
    maxAckPending: intOption('connectJetStreamIngest: maxAckPending', o.maxAckPending, 16_384, 1),
    ackWaitMs: intOption('connectJetStreamIngest: ackWaitMs', o.ackWaitMs, 30_000, 1_000),
    maxInFlight: intOption('connectJetStreamIngest: maxInFlight', o.maxInFlight, 4_096, 1),
    batch: intOption('connectJetStreamIngest: batch', o.batch, 256, 1),
    pullExpiresMs: intOption('connectJetStreamIngest: pullExpiresMs', o.pullExpiresMs, 1_000, 1_000),
    nakDelayMs: intOption('connectJetStreamIngest: nakDelayMs', o.nakDelayMs, 1_000, 0),
    clock: o.clock ?? systemPipelineClock,
  };
}

/** The durable consumer: used as it is when it exists, else created (explicit acks, the bounds above); retried until `timeoutMs` while the cluster cannot answer. */
async function ensureConsumer(nc: NatsConnection, jsm: JetStreamManager, stream: string, s: Settings, timeoutMs: number): Promise<Consumer> {
  const deadline = Date.now() + timeoutMs;
  const js = jetstream(nc, { timeout: Math.min(timeoutMs, 5_000) });
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await js.consumers.get(stream, s.durable);
    } catch (e) {
      last = e;
      if (/not found/i.test((e as Error).message)) {
        try {
          await jsm.consumers.add(stream, { durable_name: s.durable, ack_policy: AckPolicy.Explicit, max_ack_pending: s.maxAckPending, ack_wait: s.ackWaitMs * 1_000_000 });
          continue;
        } catch (e2) {
          last = e2;
        }
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new PipelineError('INGEST_FAILED', `consumer ${s.durable} on ${stream}: not available within ${timeoutMs} ms: ${(last as Error | undefined)?.message ?? 'no answer'}`, { cause: last });
}

/**
 * Connects to the cluster, creates the stream (R3, duplicate window) and the durable consumer when
 * missing, and pulls: each message goes to `handler` at once; its outcome is acknowledged as in
 * the file comment. At-least-once: a message whose process dies before the ack is redelivered to
 * another after `ackWaitMs`; the pipeline's stores are idempotent by key.
 *
 * Not executed here (it needs a NATS cluster; the tests start one with `startNatsCluster`):
 * ```text
 * const ingest = await connectJetStreamIngest({ servers: ['tls://nats-1:4222', 'tls://nats-2:4222'],
 *   ca, cert, key, durable: 'pipeline', flow: pipeline }, (m) => pipeline.handle(m));
 * ```
 *
 * @throws TypeError/RangeError for wrong options; `PipelineError` `INGEST_FAILED` when the cluster
 * cannot be reached or the stream or consumer cannot be created within `requestTimeoutMs`.
 * @example
 * ```ts
 * import { connectJetStreamIngest, startBridge } from '@outpost/pipeline';
 * import { startMosquitto, startNatsCluster, tempDir } from '@outpost/test-peers';
 * import { connectAsync } from 'mqtt';
 * // A local broker, one NATS server and a bridge, as the tests start them; in production a
 * // 3-node cluster over TLS (replicas 3).
 * const dir = tempDir();
 * const broker = await startMosquitto({ dir: dir.path, config: (port) => `listener ${port} 127.0.0.1\nallow_anonymous true\n` });
 * const nats = await startNatsCluster({ nodes: 1 });
 * const url = `mqtt://127.0.0.1:${broker.port}`;
 * const bridge = await startBridge({ from: { url, insecure: true, clientId: 'bridge-1' }, to: { servers: nats.urls, insecure: true, replicas: 1 } });
 * const topics: string[] = [];
 * const ingest = await connectJetStreamIngest({ servers: nats.urls, insecure: true, replicas: 1 }, async (m) => {
 *   topics.push(m.topic); // acknowledged (+ACK) when this resolves
 * });
 * const device = await connectAsync(url, { clientId: 'pump-1' });
 * await device.publishAsync('devices/pump-1/telemetry', '{"temperature": 21.5}', { qos: 1 });
 * while (ingest.stats().acked < 1) await new Promise((r) => setTimeout(r, 10));
 * topics; // ['devices/pump-1/telemetry']
 * await device.endAsync();
 * await bridge.close();
 * await ingest.close();
 * await nats.stop();
 * await broker.stop();
 * dir.cleanup();
 * ```
 */
export function connectJetStreamIngest(options: JetStreamIngestOptions, handler: JetStreamHandler): Promise<JetStreamIngest> {
  return openJetStreamIngest(options, handler, undefined);
}

/**
 * {@link connectJetStreamIngest}, with `rejected` telling for a message whose handler resolved
 * whether it was dead-lettered (then `+TERM`): the pipeline's handlers resolve one shared promise
 * per write group, dead-lettered messages included (`runJetStreamPipeline`).
 */
export async function openJetStreamIngest(options: JetStreamIngestOptions, handler: JetStreamHandler, rejected: ((payload: Uint8Array) => boolean) | undefined): Promise<JetStreamIngest> {
  assertObject('connectJetStreamIngest: options', options);
  assertFunction('connectJetStreamIngest: handler', handler);
  const s = settings(options);
  const streamConfig = telemetryStreamConfig(options, 'connectJetStreamIngest');
  const timeoutMs = intOption('connectJetStreamIngest: requestTimeoutMs', options.requestTimeoutMs, 5_000, 1);
  const nc = await connectNats(options, 'connectJetStreamIngest');
  let consumer: Consumer;
  try {
    const jsm = await openStream(nc, streamConfig, Math.max(timeoutMs, STREAM_STARTUP_WAIT_MS));
    consumer = await ensureConsumer(nc, jsm, streamConfig.name, s, Math.max(timeoutMs, 10_000));
  } catch (e) {
    await nc.close().catch(() => undefined);
    throw e instanceof PipelineError ? e : new PipelineError('INGEST_FAILED', `connectJetStreamIngest: ${(e as Error).message}`, { cause: e });
  }
  return startPulling(nc, consumer, s, options.flow, handler, rejected);
}

function startPulling(nc: NatsConnection, consumer: Consumer, s: Settings, flow: FlowSource | undefined, handler: JetStreamHandler, rejected: ((payload: Uint8Array) => boolean) | undefined): JetStreamIngest {
  const puller = new Puller(nc, consumer, s, handler, rejected);
  const { stats } = puller;
  const running = puller.loop();
  void (async () => {
    for await (const st of nc.status()) if (st.type === 'reconnect') stats.reconnects++;
  })().catch(() => undefined);
  const pause = (): void => {
    if (!stats.paused) stats.pauses++;
    stats.paused = true;
  };
  const resume = (): void => {
    stats.paused = false;
    puller.nudge();
  };
  const stopFlow = flow?.onFlowChange((held) => (held ? pause() : resume()));
  let closed = false;
  return {
    stats: () => ({ ...stats }),
    pause,
    resume,
    async close(timeoutMs = 10_000) {
      if (closed) return;
      closed = true;
      stopFlow?.();
      puller.stop();
      await running;
      const deadline = s.clock.now() + timeoutMs;
      while (puller.inFlight.size > 0 && s.clock.now() < deadline) await puller.sleep(20);
      puller.nakAll();
      await nc.drain().catch(() => nc.close());
    },
  };
}
