/**
 * MQTT ingest: one consumer of device telemetry, over mutual TLS, scaled out with MQTT 5 shared
 * subscriptions, with the PUBACK of each QoS 1 message held back until the pipeline says the
 * message is safe (both paths accepted it, or its failure was recorded).
 */
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient, type Packet } from 'mqtt';
import { PipelineError } from './errors.js';
import type { IncomingMessage } from './decode.js';
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
}

/** A running consumer. */
export interface Ingest {
  /** The MQTT.js client (for publishing alerts on the same connection, or inspection). */
  readonly client: MqttClient;
  stats(): IngestStats;
  /**
   * Unsubscribes, keeps handling what the broker had already started to send until nothing is
   * pending or arriving (at most `timeoutMs`, default 10 000), then disconnects. A consumer that
   * drained ends its session; one that did not keeps it, and the broker redelivers what was not
   * acknowledged when the same client id connects again.
   */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * The handler decides when a message is acknowledged: the PUBACK goes out when its promise
 * resolves. If it rejects, no PUBACK is sent and the broker redelivers the message after a
 * reconnect.
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
  if (scheme === 'mqtt:' || scheme === 'ws:') {
    if (o.insecure !== true) throw new PipelineError('INGEST_FAILED', `connectIngest: ${o.url} is not encrypted; use mqtts:// or pass insecure: true (development only)`);
  } else if (scheme !== 'mqtts:' && scheme !== 'wss:') {
    throw new RangeError(`connectIngest: url: unsupported scheme ${scheme} (expected mqtts:)`);
  }
  if (o.insecure !== true && (o.cert === undefined || o.key === undefined)) {
    throw new PipelineError('INGEST_FAILED', 'connectIngest: cert and key are required (an application identity from the fleet CA); pass insecure: true only for development');
  }
}

/**
 * Connects a consumer and subscribes (QoS 1) to the telemetry topics, shared within `group`
 * when one is given. Each message goes to `handler`; its PUBACK is sent only when the handler's
 * promise resolves, while later messages keep flowing (acknowledgements may go out in any
 * order; MQTT 5 §4.6 requires in-order PUBACKs only from a publisher's point of view of
 * ordering, which the broker does not rely on for QoS 1 delivery to subscribers).
 *
 * At-least-once: a message whose handler has not resolved when the consumer dies is
 * redelivered (with DUP set) when it reconnects with the same `clientId` within
 * `sessionExpirySeconds`. Handlers must therefore be idempotent, which the pipeline's sinks are.
 *
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
  checkOptions(options);
  assertFunction('connectIngest: handler', handler);
  const version = options.protocolVersion ?? 5;
  const expiry = intOption('connectIngest: sessionExpirySeconds', options.sessionExpirySeconds, 3600, 0, 0xffffffff);
  const receiveMaximum = intOption('connectIngest: receiveMaximum', options.receiveMaximum, 65_535, 1, 65_535);
  const keepalive = intOption('connectIngest: keepaliveSeconds', options.keepaliveSeconds, 30, 0, 65_535);
  const reconnectPeriod = intOption('connectIngest: reconnectPeriodMs', options.reconnectPeriodMs, 1_000, 1);
  const connectTimeout = intOption('connectIngest: connectTimeoutMs', options.connectTimeoutMs, 10_000, 1);
  const filters = (options.topics ?? ['devices/+/telemetry']).map((t) => (options.group !== undefined ? `$share/${options.group}/${t}` : t));

  const stats: IngestStats = { received: 0, acked: 0, pending: 0, redelivered: 0, staleAcks: 0, connects: 0 };
  const opts: IClientOptions = {
    clientId: options.clientId,
    protocolVersion: version,
    clean: false,
    keepalive,
    reconnectPeriod,
    connectTimeout,
    resubscribe: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    ...(version === 5 ? { properties: { sessionExpiryInterval: expiry, receiveMaximum } } : {}),
    ...(options.ca !== undefined ? { ca: pemList(options.ca) } : {}),
    ...(options.cert !== undefined ? { cert: pemList(options.cert)[0] as string } : {}),
    ...(options.key !== undefined ? { key: pemList(options.key)[0] as string } : {}),
  } as IClientOptions;

  // The client is created first and connected after the hooks below are installed: a resumed
  // session's queued messages can arrive right behind the CONNACK, and MQTT.js's default
  // handleMessage would acknowledge them before anyone handled them.
  const client = mqtt.connect(options.url, { ...opts, reconnectPeriod: 0, manualConnect: true } as IClientOptions);

  // Each connection gets an epoch; an ack held for an older connection is dropped, because the
  // broker redelivers that message on the new one (and the id may have been reused).
  let epoch = 0;
  let closing = false;
  client.on('connect', () => {
    epoch++;
    stats.connects++;
  });
  client.on('error', () => {
    /* reconnects are automatic; the first connect's error is reported below */
  });

  // MQTT.js sends the PUBACK right after handleMessage's callback and only then reads the next
  // packet. To hold the PUBACK without stalling the stream, handleMessage calls back at once
  // and the PUBACK write is intercepted here and released when the handler resolves.
  const held = new Set<number>();
  const internal = client as unknown as { _sendPacket(packet: Packet, cb?: (err?: Error) => void, ...rest: unknown[]): void };
  const send = internal._sendPacket.bind(client);
  if (typeof send !== 'function') throw new PipelineError('INGEST_FAILED', 'connectIngest: this MQTT.js version has no _sendPacket; pin mqtt 5.x');
  internal._sendPacket = (packet: Packet, cb?: (err?: Error) => void, ...rest: unknown[]) => {
    if (packet.cmd === 'puback' && packet.messageId !== undefined && held.has(packet.messageId)) {
      held.delete(packet.messageId);
      cb?.(); // let MQTT.js read the next packet now; the real PUBACK goes out later
      return;
    }
    send(packet, cb, ...rest);
  };

  let lastArrival = 0;
  client.handleMessage = (packet: IPublishPacket, callback: (err?: Error) => void) => {
    lastArrival = Date.now();
    stats.received++;
    if (packet.dup) stats.redelivered++;
    const id = packet.messageId;
    const qos1 = packet.qos > 0 && id !== undefined;
    if (qos1) held.add(id);
    const myEpoch = epoch;
    const payload = typeof packet.payload === 'string' ? new TextEncoder().encode(packet.payload) : new Uint8Array(packet.payload.buffer, packet.payload.byteOffset, packet.payload.byteLength);
    const ct = packet.properties?.contentType;
    stats.pending++;
    let result: Promise<void>;
    try {
      result = handler({ topic: packet.topic, payload, contentType: ct, receivedAt: Date.now() });
    } catch (e) {
      result = Promise.reject(e);
    }
    result.then(
      () => {
        stats.pending--;
        if (qos1) {
          if (myEpoch === epoch && client.connected) {
            send({ cmd: 'puback', messageId: id } as Packet);
            stats.acked++;
          } else {
            stats.staleAcks++;
          }
        }
      },
      () => {
        stats.pending--;
      },
    );
    callback();
  };

  try {
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => { client.off('connect', onConnect); reject(e); };
      const onConnect = () => { client.off('error', onError); resolve(); };
      client.once('connect', onConnect);
      client.once('error', onError);
      client.once('close', () => onError(new Error('connection closed before CONNACK')));
      client.connect();
    });
  } catch (e) {
    await client.endAsync(true).catch(() => undefined);
    throw new PipelineError('INGEST_FAILED', `connectIngest: cannot connect to ${options.url}: ${(e as Error).message}`, { cause: e });
  }
  // The first attempt ran without automatic reconnects, so a wrong URL or a refused identity
  // fails fast; from here on the client reconnects by itself.
  client.options.reconnectPeriod = reconnectPeriod;

  try {
    const granted = await client.subscribeAsync(filters, { qos: 1 });
    const refused = granted.filter((g) => g.qos !== 0 && g.qos !== 1 && g.qos !== 2);
    if (refused.length > 0) throw new Error(`subscription refused (reason ${refused.map((g) => g.qos).join(', ')}) for ${refused.map((g) => g.topic).join(', ')}`);
  } catch (e) {
    await client.endAsync(true).catch(() => undefined);
    throw new PipelineError('INGEST_FAILED', `connectIngest: ${(e as Error).message}`, { cause: e });
  }

  return {
    client,
    stats: () => ({ ...stats }),
    async close(timeoutMs = 10_000) {
      if (closing) return;
      closing = true;
      const deadline = Date.now() + timeoutMs;
      // 1. UNSUBSCRIBE: after the UNSUBACK the broker adds no new messages for us, but completes
      //    those it has started to send (MQTT 5 §3.10.4); they keep being handled and acked.
      const unsubscribed = client.connected ? await client.unsubscribeAsync(filters).then(() => true, () => false) : false;
      // 2. Drain: nothing pending and nothing arriving for a moment (or the timeout).
      while (Date.now() < deadline && (stats.pending > 0 || Date.now() - lastArrival < QUIET_MS)) {
        await new Promise((r) => setTimeout(r, Math.min(QUIET_MS, Math.max(1, deadline - Date.now()))).unref());
      }
      const drained = unsubscribed && stats.pending === 0 && Date.now() - lastArrival >= QUIET_MS;
      // 3. Only a drained consumer ends its session (expiry 0 on DISCONNECT), so the broker stops
      //    routing shared messages to it. Otherwise the session stays: what was not acknowledged
      //    is redelivered when a consumer with this client id comes back.
      const disconnect = version === 5 && drained ? { properties: { sessionExpiryInterval: 0 } } : {};
      await client.endAsync(false, disconnect).catch(() => undefined);
    },
  };
}
