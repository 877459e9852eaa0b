/**
 * MQTT ingest: one consumer of device telemetry, over mutual TLS, scaled out with MQTT 5 shared
 * subscriptions. Each QoS 1 message's PUBACK is held until the pipeline says the message is
 * safe, and PUBACKs leave in the order the PUBLISHes arrived (an acknowledgement window), on the
 * consumer's own mqtt-packet session (see mqtt-session.ts for why not MQTT.js).
 */
import type { IPublishPacket } from 'mqtt-packet';
import { AckWindow } from './ack-window.js';
import { assertClock, systemPipelineClock, type PipelineClock } from './clock.js';
import { PipelineError } from './errors.js';
import type { IncomingMessage } from './decode.js';
import { MqttSession, type PublishCallback, type SessionConfig } from './mqtt-session.js';
import { assertFunction, assertObject, assertString, describe, intOption } from './validate.js';

/** How long a closing consumer waits for silence after its last message before it ends its session. */
const QUIET_MS = 250;

/** Options of {@link connectIngest}. */
export interface IngestOptions {
  /** Broker URL: `mqtts://host:8883` (`mqtt://` only with `insecure: true`). */
  readonly url: string;
  /** The CA(s) that signed the broker's certificate (PEM). */
  readonly ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  /** This consumer's own certificate and key (PEM): an application identity from the fleet CA. */
  readonly cert?: string | Uint8Array;
  readonly key?: string | Uint8Array;
  /** Allow a plain `mqtt://` URL and no client certificate (development only). */
  readonly insecure?: boolean;
  /** MQTT client id; must be unique per consumer process and stable across its restarts. */
  readonly clientId: string;
  /**
   * Shared-subscription group: every consumer with the same group gets a share of the messages
   * (`$share/<group>/<topic>`), so more consumers are added without code changes. Omit it for a
   * plain subscription (one consumer sees everything).
   */
  readonly group?: string;
  /** Topic filters (default `['devices/+/telemetry']`). */
  readonly topics?: readonly string[];
  /** MQTT version (default 5). */
  readonly protocolVersion?: 4 | 5;
  /**
   * Session expiry after a connection loss, seconds (default 3600; MQTT 5). Messages in flight
   * when a consumer dies are redelivered when it comes back within this time. A graceful
   * {@link Ingest.close} ends the session (expiry 0) so the broker stops routing to it.
   */
  readonly sessionExpirySeconds?: number;
  /** Most unacknowledged QoS 1 messages the broker may send us (default 65 535; MQTT 5 Receive Maximum). */
  readonly receiveMaximum?: number;
  /** Keep-alive, seconds (default 30: a server on a wired network). */
  readonly keepaliveSeconds?: number;
  /** Delay between reconnect attempts, ms (default 1 000). */
  readonly reconnectPeriodMs?: number;
  /** Connect timeout, ms (default 10 000). */
  readonly connectTimeoutMs?: number;
  /**
   * Backpressure source (a {@link Pipeline} is one): while it says "held", the consumer stops
   * reading its socket, so the broker keeps further messages in the persistent session.
   */
  readonly flow?: FlowSource;
  /** Time for keep-alive, reconnects and the close drain (default: the system clock). */
  readonly clock?: PipelineClock;
}

/** Something that tells a consumer to stop taking messages and to start again. */
export interface FlowSource {
  /** Registers a listener called with `true` when intake must stop and `false` when it may resume; returns its remover. */
  onFlowChange(listener: (held: boolean) => void): () => void;
}

/** The publishing side of a consumer's connection (for alerts on the same connection); `mqttAlertSink` takes it. */
export interface IngestClient {
  /** Publishes; `callback` runs on PUBACK (QoS 1) / PUBCOMP (QoS 2), at once for QoS 0, or with an error. */
  publish(topic: string, payload: string | Uint8Array, options: { qos?: 0 | 1 | 2; retain?: boolean }, callback?: PublishCallback): void;
  readonly connected: boolean;
}

/** Counters of an {@link Ingest}. */
export interface IngestStats {
  /** Messages handed to the handler. */
  received: number;
  /** PUBACKs sent. */
  acked: number;
  /** Messages whose handler has not settled yet. */
  pending: number;
  /** Messages that arrived with the DUP flag (redelivered by the broker). */
  redelivered: number;
  /** Acks dropped because the connection they belonged to was gone (the broker redelivers). */
  staleAcks: number;
  /** Successful connections (1 + reconnects). */
  connects: number;
  /** Messages received on this connection whose PUBACK is not out yet (the acknowledgement window). */
  window: number;
  /** Whether intake is paused by backpressure (the socket is not read). */
  paused: boolean;
  /** Times intake was paused. */
  pauses: number;
}

/** A running consumer. */
export interface Ingest {
  /** The connection's publishing side (alerts on the same connection: `mqttAlertSink({ client })`). */
  readonly client: IngestClient;
  stats(): IngestStats;
  /** Stops reading the socket (backpressure); PUBACKs still go out. Also driven by `options.flow`. */
  pause(): void;
  /** Reads again. */
  resume(): void;
  /**
   * Drops the connection without DISCONNECT, as a crash would: nothing unacknowledged is
   * acknowledged, the broker redelivers it; the consumer reconnects after `reconnectPeriodMs`.
   */
  drop(): void;
  /**
   * Unsubscribes, keeps handling what the broker had already started to send until nothing is
   * pending or arriving (at most `timeoutMs`, default 10 000), then disconnects. A consumer that
   * drained ends its session; one that did not keeps it, and the broker redelivers what was not
   * acknowledged when the same client id connects again.
   */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * The handler decides when a message is acknowledged: its PUBACK goes out when its promise has
 * resolved and so have those of every message that arrived before it on the connection. If it
 * rejects, no PUBACK can go out for it or anything after it (order), so the consumer drops the
 * connection and reconnects after `reconnectPeriodMs`; the broker redelivers what was not
 * acknowledged.
 */
export type IngestHandler = (message: IncomingMessage) => Promise<void>;

function pemList(v: string | Uint8Array | ReadonlyArray<string | Uint8Array>): string[] {
  return (Array.isArray(v) ? v : [v]).map((c: string | Uint8Array) => (typeof c === 'string' ? c : Buffer.from(c).toString('utf8')));
}

function checkOptions(o: IngestOptions): void {
  assertObject('connectIngest: options', o);
  assertString('connectIngest: url', o.url);
  assertString('connectIngest: clientId', o.clientId);
  if (o.clientId.length === 0) throw new RangeError('connectIngest: clientId: must not be empty');
  if (o.insecure !== undefined && typeof o.insecure !== 'boolean') throw new TypeError(`connectIngest: insecure: expected a boolean, got ${describe(o.insecure)}`);
  if (o.group !== undefined) {
    assertString('connectIngest: group', o.group);
    if (o.group.length === 0 || /[/+#]/.test(o.group)) throw new RangeError(`connectIngest: group: "${o.group}" must be non-empty without / + #`);
  }
  if (o.topics !== undefined) {
    if (!Array.isArray(o.topics) || o.topics.length === 0) throw new TypeError(`connectIngest: topics: expected a non-empty array of topic filters, got ${describe(o.topics)}`);
    o.topics.forEach((t, i) => assertString(`connectIngest: topics[${i}]`, t));
  }
  if (o.protocolVersion !== undefined && o.protocolVersion !== 4 && o.protocolVersion !== 5) throw new RangeError(`connectIngest: protocolVersion: expected 4 or 5, got ${String(o.protocolVersion)}`);
  let scheme: string;
  try {
    scheme = new URL(o.url).protocol;
  } catch {
    throw new RangeError(`connectIngest: url: "${o.url}" is not a URL`);
  }
  if (scheme === 'mqtt:') {
    if (o.insecure !== true) throw new PipelineError('INGEST_FAILED', `connectIngest: ${o.url} is not encrypted; use mqtts:// or pass insecure: true (development only)`);
  } else if (scheme !== 'mqtts:') {
    throw new RangeError(`connectIngest: url: unsupported scheme ${scheme} (expected mqtts:)`);
  }
  if (o.insecure !== true && (o.cert === undefined || o.key === undefined)) {
    throw new PipelineError('INGEST_FAILED', 'connectIngest: cert and key are required (an application identity from the fleet CA); pass insecure: true only for development');
  }
}


/** Consecutive messages of one connection whose handler returned the same promise: sequence numbers `from`…`to` (-1…-1 for one QoS 0 message). */
interface Run {
  readonly p: Promise<void>;
  readonly w: AckWindow;
  readonly conn: number;
  readonly from: number;
  to: number;
  /** Its promise settled: later messages with the same promise need a reaction of their own. */
  fired: boolean;
}

/** The handler's promise, or a rejected one if it threw. */
function invoke(handler: IngestHandler, m: IncomingMessage): Promise<void> {
  try {
    return handler(m);
  } catch (e) {
    return Promise.reject(e);
  }
}

const toBytes = (p: Buffer | string): Uint8Array => (typeof p === 'string' ? new TextEncoder().encode(p) : new Uint8Array(p.buffer, p.byteOffset, p.byteLength));

/** Checks the options and turns them into the session's settings (defaults stated in {@link IngestOptions}). */
function sessionConfig(options: IngestOptions, handler: IngestHandler): SessionConfig {
  checkOptions(options);
  assertFunction('connectIngest: handler', handler);
  if (options.clock !== undefined) assertClock('connectIngest: clock', options.clock);
  if (options.flow !== undefined) {
    assertObject('connectIngest: flow', options.flow);
    assertFunction('connectIngest: flow.onFlowChange', options.flow.onFlowChange);
  }
  const tls = options.insecure === true && options.cert === undefined ? undefined : {
    ...(options.ca !== undefined ? { ca: pemList(options.ca) } : {}),
    ...(options.cert !== undefined ? { cert: pemList(options.cert)[0] as string } : {}),
    ...(options.key !== undefined ? { key: pemList(options.key)[0] as string } : {}),
  };
  return {
    url: new URL(options.url),
    tls,
    clientId: options.clientId,
    version: options.protocolVersion ?? 5,
    sessionExpirySeconds: intOption('connectIngest: sessionExpirySeconds', options.sessionExpirySeconds, 3600, 0, 0xffffffff),
    receiveMaximum: intOption('connectIngest: receiveMaximum', options.receiveMaximum, 65_535, 1, 65_535),
    keepaliveSeconds: intOption('connectIngest: keepaliveSeconds', options.keepaliveSeconds, 30, 0, 65_535),
    reconnectPeriodMs: intOption('connectIngest: reconnectPeriodMs', options.reconnectPeriodMs, 1_000, 1),
    connectTimeoutMs: intOption('connectIngest: connectTimeoutMs', options.connectTimeoutMs, 10_000, 1),
    filters: (options.topics ?? ['devices/+/telemetry']).map((t) => (options.group !== undefined ? `$share/${options.group}/${t}` : t)),
    clock: options.clock ?? systemPipelineClock,
  };
}

/**
 * A graceful close: UNSUBSCRIBE (after the UNSUBACK the broker adds no new messages but completes
 * those it has started to send, MQTT 5 §3.10.4), drain until nothing is pending or arriving (at
 * most `timeoutMs`), then DISCONNECT. Only a drained consumer ends its session (expiry 0), so
 * the broker stops routing shared messages to it; otherwise the session stays and what was not
 * acknowledged is redelivered when a consumer with this client id comes back.
 */
async function drainAndEnd(session: MqttSession, cfg: SessionConfig, idle: () => boolean, timeoutMs: number): Promise<void> {
  const { clock } = cfg;
  const deadline = clock.now() + timeoutMs;
  const unsubscribed = session.connected ? await session.unsubscribe(cfg.filters).then(() => true, () => false) : false;
  if (session.isPaused) session.resume(); // read what the broker had started to send
  while (clock.now() < deadline && !idle()) {
    await new Promise<void>((r) => clock.setTimeout(() => r(), Math.min(QUIET_MS, Math.max(1, deadline - clock.now()))));
  }
  const drained = unsubscribed && idle();
  await session.end(cfg.version === 5 && drained ? { sessionExpiryInterval: 0 } : undefined).catch(() => undefined);
}

/**
 * Connects a consumer and subscribes (QoS 1) to the telemetry topics, shared within `group`
 * when one is given. Each message goes to `handler` as soon as it is parsed (later messages keep
 * flowing); its PUBACK goes out when the handler has resolved for it and for every message that
 * arrived before it on the connection (MQTT 3.1.1 §4.6, MQTT 5 [MQTT-4.6.0-2]). With MQTT 5 the
 * broker sends at most `receiveMaximum` unacknowledged messages; with `flow` the consumer also
 * stops reading while the pipeline holds messages for a sink that is down.
 *
 * At-least-once: a message whose handler has not resolved when the consumer dies is
 * redelivered (with DUP set) when it reconnects with the same `clientId` within
 * `sessionExpirySeconds`. Handlers must therefore be idempotent, which the pipeline's sinks are.
 *
 * Not executed here (it needs a broker):
 * ```text
 * const ingest = await connectIngest({ url: 'mqtts://broker:8883', ca, cert, key,
 *   clientId: 'pipeline-1', group: 'pipeline', flow: pipeline }, (msg) => pipeline.handle(msg));
 * ```
 *
 * @throws TypeError/RangeError for wrong options; `PipelineError` `INGEST_FAILED` when the broker
 * cannot be reached or refuses the identity or the subscription.
 * @example
 * ```ts
 * import { connectIngest } from '@outpost/pipeline';
 * import { startMosquitto, tempDir } from '@outpost/test-peers';
 * import { connectAsync } from 'mqtt';
 * // A local broker, as the tests start one; in production: mqtts:// with ca, cert and key.
 * const dir = tempDir();
 * const broker = await startMosquitto({ dir: dir.path, config: (port) => `listener ${port} 127.0.0.1\nallow_anonymous true\n` });
 * const url = `mqtt://127.0.0.1:${broker.port}`;
 * const topics: string[] = [];
 * const ingest = await connectIngest({ url, insecure: true, clientId: 'pipeline-1', group: 'pipeline' }, async (msg) => {
 *   topics.push(msg.topic); // the PUBACK goes out when this resolves
 * });
 * const device = await connectAsync(url, { clientId: 'pump-1' });
 * await device.publishAsync('devices/pump-1/telemetry', '{"temperature": 21.5}', { qos: 1 });
 * while (ingest.stats().acked < 1) await new Promise((r) => setTimeout(r, 10));
 * topics; // ['devices/pump-1/telemetry']
 * await device.endAsync();
 * await ingest.close();
 * await broker.stop();
 * dir.cleanup();
 * ```
 */
export async function connectIngest(options: IngestOptions, handler: IngestHandler): Promise<Ingest> {
  const cfg = sessionConfig(options, handler);
  const { clock } = cfg;
  const stats: IngestStats = { received: 0, acked: 0, pending: 0, redelivered: 0, staleAcks: 0, connects: 0, window: 0, paused: false, pauses: 0 };
  let lastArrival = 0;
  let closing = false;
  // One window per connection: a new connection starts a new order (the broker redelivers the
  // old connection's unacknowledged messages on it).
  let window = new AckWindow(() => undefined);
  let session: MqttSession;
  const openWindow = (conn: number): AckWindow =>
    new AckWindow((id) => {
      if (session.puback(conn, id)) stats.acked++;
      else stats.staleAcks++;
    });

  // Consecutive messages whose handler returned the same promise (a pipeline's write group: the
  // messages of one socket read) share one reaction instead of one each.
  let run: Run | undefined;
  const onPublish = (packet: IPublishPacket, conn: number): void => {
    lastArrival = clock.now();
    stats.received++;
    if (packet.dup) stats.redelivered++;
    const w = window;
    const seq = packet.qos > 0 && packet.messageId !== undefined ? w.push(packet.messageId) : -1;
    stats.pending++;
    const user = packet.properties?.userProperties;
    const p = invoke(handler, { topic: packet.topic, payload: toBytes(packet.payload), contentType: packet.properties?.contentType, receivedAt: lastArrival, ...(user !== undefined ? { userProperties: user } : {}) });
    const r = run;
    if (r !== undefined && r.p === p && !r.fired && r.w === w && r.conn === conn && seq >= 0 && r.from >= 0 && r.to === seq - 1) {
      r.to = seq;
      return;
    }
    const next: Run = { p, w, conn, from: seq, to: seq, fired: false };
    run = next;
    p.then(
      () => {
        next.fired = true;
        stats.pending -= next.to - next.from + 1;
        if (next.from < 0) return;
        for (let s = next.from; s <= next.to; s++) if (!next.w.complete(s)) stats.staleAcks++;
      },
      () => {
        next.fired = true;
        stats.pending -= next.to - next.from + 1;
        // Nothing after this message may be acknowledged before it: start over on a new
        // connection, where the broker redelivers it and what followed it.
        if (next.from >= 0 && next.w === window && next.conn === session.conn) session.drop();
      },
    );
  };

  session = new MqttSession(cfg, {
    publish: onPublish,
    connected: (conn) => {
      stats.connects++;
      window = openWindow(conn);
    },
    disconnected: () => {
      window.reset();
      window = new AckWindow(() => undefined);
    },
  });

  try {
    await session.open();
  } catch (e) {
    await session.end().catch(() => undefined);
    throw new PipelineError('INGEST_FAILED', `connectIngest: cannot connect to ${options.url}: ${(e as Error).message}`, { cause: e });
  }
  const pause = (): void => {
    if (!session.isPaused) stats.pauses++;
    session.pause();
  };
  const resume = (): void => session.resume();
  const stopFlow = options.flow?.onFlowChange((held) => (held ? pause() : resume()));

  return {
    client: {
      publish: (topic, payload, opts, cb) => session.publish(topic, payload, opts, cb),
      get connected() {
        return session.connected;
      },
    },
    stats: () => ({ ...stats, window: window.size, paused: session.isPaused }),
    pause,
    resume,
    drop: () => session.drop(),
    async close(timeoutMs = 10_000) {
      if (closing) return;
      closing = true;
      stopFlow?.();
      await drainAndEnd(session, cfg, () => stats.pending === 0 && clock.now() - lastArrival >= QUIET_MS, timeoutMs);
    },
  };
}
