import { setMaxListeners } from 'node:events';
import { MqttClient } from 'mqtt';
import { reconnectDelay } from './backoff.js';
import { decodeBufferedMessage, encodeBufferedMessage, isPermanentRefusal } from './buffered.js';
import { ackError, mapTransportError } from './error-map.js';
import { describe } from './describe.js';
import { DeviceError } from './errors.js';
import { TypedEmitter } from './events.js';
import { abortError, InFlightWindow } from './flow.js';
import { checkClientCredentials } from './credentials.js';
import { mqttOptions, PingTracker, reconnectKeepingSession } from './mqtt-link.js';
import { resolveOptions, type ConnectDeviceOptions, type ResolvedOptions } from './options.js';
import { classified, openStream, probeBytes, type TransportProbe } from './transports/tls.js';
import { openWebSocketStream } from './transports/ws.js';
import { checkTopicName, filterList, inboundProperties, pingOptions, publishOptions, qosOf, signalOf, withSignal, type WireProperties } from './client-args.js';
import { sendRequest } from './request.js';
import type { ConnectionStats, DeviceClientEvents, Granted, InboundMessage, PublishOptions, PublishProperties, QoS, RequestOptions, SubscribeOptions } from './client-types.js';

/**
 * An MQTT connection of one device, authenticated by its own certificate. Create it
 * with {@link connectDevice}.
 */
export class DeviceClient extends TypedEmitter<DeviceClientEvents> {
  /** The MQTT client id (the certificate's CN). */
  readonly clientId: string;
  private readonly o: ResolvedOptions;
  private readonly mq: MqttClient;
  private readonly window: InFlightWindow;
  private readonly probe: TransportProbe = { closedIn: 0, closedOut: 0, current: undefined, lastError: undefined };
  private lastTopic: string | undefined;
  private everConnected = false;
  private closing = false;
  private closed = false;
  private attempt = 0;
  private connectedAt = 0;
  private reconnectTimer: unknown;
  private counters = { messagesIn: 0, messagesOut: 0, reconnects: 0, bufferRejected: 0 };
  private readonly requestSubscriptions = new Map<string, number>();
  private drainAbort: AbortController | undefined;
  private drainTask: Promise<void> | undefined;
  private readonly tunedSignals = new WeakSet<AbortSignal>();
  private readonly pings: PingTracker;
  private lastError: DeviceError | undefined;

  /** @internal Use {@link connectDevice}. */
  constructor(o: ResolvedOptions, clientId: string) {
    super();
    this.o = o;
    this.clientId = clientId;
    this.window = new InFlightWindow(o.maxInFlight, o.maxPending);
    this.mq = new MqttClient(() => (o.wsPath !== undefined ? openWebSocketStream(this.o, this.probe) : openStream(this.o, this.probe)), mqttOptions(o, clientId));
    this.pings = new PingTracker(this.mq);
    this.mq.on('message', (topic, payload, packet) => {
      this.counters.messagesIn++;
      this.emit('message', {
        topic,
        payload: new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength),
        qos: packet.qos,
        retain: packet.retain,
        dup: packet.dup,
        ...(packet.properties !== undefined ? withProps(inboundProperties(packet.properties as Record<string, unknown>)) : {}),
      });
    });
    this.mq.on('error', (err) => {
      this.recordError(mapTransportError(classified(this.probe, err), o.protocolVersion));
    });
  }

  /** Whether the client is connected now. */
  get connected(): boolean {
    return this.mq.connected;
  }

  /** Publishes handed to the socket and not complete. */
  get inFlight(): number {
    return this.window.size;
  }

  /** @internal Starts the first connection; rejects with a typed error if it fails. */
  async start(signal: AbortSignal | undefined): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        this.mq.off('connect', onConnect);
        this.mq.off('close', onClose);
        signal?.removeEventListener('abort', onAbort);
      };
      const onConnect = (): void => {
        cleanup();
        resolve();
      };
      const onClose = (): void => {
        cleanup();
        const err = this.lastError ?? (this.probe.lastError !== undefined ? mapTransportError(this.probe.lastError, this.o.protocolVersion) : new DeviceError('NETWORK_ERROR', 'the connection closed before the broker accepted it'));
        this.mq.end(true);
        reject(err);
      };
      const onAbort = (): void => {
        cleanup();
        this.mq.end(true);
        reject(abortError(signal as AbortSignal));
      };
      if (signal?.aborted === true) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.mq.on('connect', onConnect);
      this.mq.on('close', onClose);
      this.mq.connect();
    });
    this.onConnected(false, this.mq);
    this.startDrain();
    this.mq.on('connect', (connack) => this.onConnected(connack.sessionPresent, this.mq));
    this.mq.on('close', () => this.onClosed());
  }

  private onConnected(sessionPresent: boolean, mq: MqttClient): void {
    this.connectedAt = this.o.now();
    if (this.reconnectTimer !== undefined) this.o.clock.clearTimer(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const reconnect = this.everConnected;
    this.everConnected = true;
    void mq;
    this.window.setOpen(true);
    this.emit('connect', { sessionPresent, reconnect });
  }

  private onClosed(): void {
    this.window.setOpen(false);
    this.pings.reset();
    if (this.closing || this.closed) return;
    if (this.reconnectTimer !== undefined) return; // an attempt failed before the timer fired: keep it
    if (this.probe.lastError !== undefined) {
      this.recordError(mapTransportError(this.probe.lastError, this.o.protocolVersion));
      this.probe.lastError = undefined;
    }
    const policy = this.o.reconnect;
    if (policy === false) {
      void this.close({ force: true });
      return;
    }
    if (this.connectedAt > 0 && this.o.now() - this.connectedAt >= policy.resetAfterMs) this.attempt = 0;
    this.connectedAt = 0;
    if (this.attempt === 0) this.emit('offline');
    if (this.attempt >= policy.maxAttempts) {
      this.recordError(new DeviceError('RECONNECT_EXHAUSTED', `gave up after ${this.attempt} reconnect attempts`));
      void this.close({ force: true });
      return;
    }
    const attempt = this.attempt++;
    const delayMs = reconnectDelay(attempt, policy, this.o.random);
    this.reconnectTimer = this.o.clock.setTimer(() => {
      this.reconnectTimer = undefined;
      if (this.closing || this.closed) return;
      this.counters.reconnects++;
      this.emit('reconnect', { attempt: attempt + 1, delayMs });
      reconnectKeepingSession(this.mq);
    }, delayMs);
  }

  private recordError(err: DeviceError): void {
    this.lastError = err;
    this.emit('error', err);
  }

  /**
   * Publishes a message. Resolves when it is complete: written to the socket for QoS 0,
   * acknowledged by the broker for QoS 1 (PUBACK) and 2 (PUBCOMP). At most `maxInFlight`
   * publishes are outstanding; further calls wait in order (at most `maxPending`,
   * then `QUEUE_FULL`). While offline, publishes wait for the connection.
   *
   * @throws {DeviceError} `NOT_AUTHORIZED` when the broker denies the topic (MQTT 5
   * reason code 0x87), `PUBLISH_FAILED`, `QUEUE_FULL`, `CLOSED`, `ABORTED`.
   */
  publish(topic: string, payload: Uint8Array | string, options?: PublishOptions): Promise<void> {
    // The hot path stays synchronous up to the one promise per message: the throughput
    // bench holds this wrapper to within 5% of raw MQTT.js.
    let qos: QoS = 1;
    let retain = false;
    let signal: AbortSignal | undefined;
    let properties: WireProperties | undefined;
    try {
      if (topic !== this.lastTopic) {
        checkTopicName('publish', topic);
        this.lastTopic = topic;
      }
      if (typeof payload !== 'string' && !(payload instanceof Uint8Array)) {
        throw new TypeError(`publish: payload: expected a Uint8Array or string, got ${describe(payload)}`);
      }
      if (options !== undefined) ({ qos, retain, signal, properties } = publishOptions(options));
      if (properties !== undefined && this.o.protocolVersion !== 5) throw new RangeError('publish: properties need MQTT 5 (connect with protocolVersion: 5)');
      if (properties !== undefined && this.o.buffer !== undefined && qos > 0) throw new RangeError('publish: properties are not kept by the edge buffer; publish them at QoS 0 or without a buffer');
      if (this.closed || this.closing) throw new DeviceError('CLOSED', 'publish: the client is closed');
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.o.buffer !== undefined && qos > 0) {
      if (signal?.aborted === true) return Promise.reject(abortError(signal));
      const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
      return this.o.buffer.append(encodeBufferedMessage({ topic, payload: bytes, qos: qos as 1 | 2, retain })).then(() => undefined);
    }
    if (signal === undefined && this.window.tryAcquire()) return this.send(topic, payload, qos, retain, undefined, properties);
    return this.window.acquire(signal).then(() => this.send(topic, payload, qos, retain, signal, properties));
  }

  /** Runs the buffer's drain for the client's lifetime; sends wait while offline. */
  private startDrain(): void {
    const buffer = this.o.buffer;
    if (buffer === undefined) return;
    const ac = new AbortController();
    this.drainAbort = ac;
    this.drainTask = (async () => {
      while (!ac.signal.aborted) {
        try {
          await buffer.drain((rec, { signal }) => this.sendRecord(rec.payload, signal), { maxInFlight: this.o.maxInFlight, follow: true, signal: ac.signal });
        } catch (err) {
          if (ac.signal.aborted) return;
          // The drain acked the confirmed prefix and rewound the rest: start again from there.
          this.recordError(err instanceof DeviceError ? err : new DeviceError('PUBLISH_FAILED', `buffered delivery failed, retrying: ${(err as Error).message}`, { cause: err }));
          await new Promise<void>((resolve) => {
            // The listener goes when the timer fires: a long outage retries here many times on one signal.
            const onAbort = (): void => { this.o.clock.clearTimer(t); resolve(); };
            const t = this.o.clock.setTimer(() => { ac.signal.removeEventListener('abort', onAbort); resolve(); }, 1_000);
            ac.signal.addEventListener('abort', onAbort, { once: true });
          });
        }
      }
    })();
  }

  private async sendRecord(bytes: Uint8Array, signal: AbortSignal): Promise<void> {
    let m;
    try {
      m = decodeBufferedMessage(bytes);
    } catch (err) {
      // Not ours to retry: a record that never decodes would block the queue forever.
      this.counters.bufferRejected++;
      this.recordError(err as DeviceError);
      return;
    }
    // Up to maxInFlight sends wait on the drain's one signal at once: not a leak.
    if (!this.tunedSignals.has(signal)) {
      setMaxListeners(this.o.maxInFlight + 16, signal);
      this.tunedSignals.add(signal);
    }
    await this.window.acquire(signal);
    try {
      await this.send(m.topic, m.payload, m.qos, m.retain, undefined);
    } catch (err) {
      if (!isPermanentRefusal(err)) throw err;
      this.counters.bufferRejected++;
      this.recordError(err as DeviceError);
    }
  }

  private send(topic: string, payload: Uint8Array | string, qos: QoS, retain: boolean, signal: AbortSignal | undefined, properties?: WireProperties): Promise<void> {
    const p = new Promise<void>((resolve, reject) => {
      // MQTT.js and mqtt-packet take any Uint8Array (Buffer.byteLength + stream.write): no copy.
      this.mq.publish(topic, payload as Buffer, properties === undefined ? { qos, retain } : { qos, retain, properties }, (err) => {
        this.window.release();
        if (err === undefined || err === null) {
          this.counters.messagesOut++;
          resolve();
          return;
        }
        const code = (err as { code?: unknown }).code;
        reject(typeof code === 'number' ? ackError('publish', topic, code, this.o.protocolVersion) : new DeviceError(this.closed || this.closing ? 'CLOSED' : 'PUBLISH_FAILED', `publish "${topic}": ${err.message}`, { cause: err }));
      });
    });
    return signal === undefined ? p : withSignal(signal, p);
  }

  /** Resolves when a publish would be handed to the socket at once (connected, window not full). */
  async whenWritable(signal?: AbortSignal): Promise<void> {
    if (this.window.writable) return;
    if (this.closed || this.closing) throw new DeviceError('CLOSED', 'whenWritable: the client is closed');
    await this.window.acquire(signal);
    this.window.release();
  }

  /**
   * MQTT 5 request/response (§4.10): publishes with a Response Topic and fresh Correlation Data,
   * subscribes to the response topic for the time of the request (shared by concurrent ones),
   * and resolves with the first message there that carries the same Correlation Data.
   *
   * @throws {RangeError} on an MQTT 3.1.1 connection; {@link DeviceError} `REQUEST_TIMEOUT`,
   * or the refusals of `publish` and `subscribe`.
   */
  request(topic: string, payload: Uint8Array | string, options: RequestOptions): Promise<InboundMessage> {
    return sendRequest({
      protocolVersion: this.o.protocolVersion,
      clock: this.o.clock as { setTimer(fn: () => void, ms: number): unknown; clearTimer(t: unknown): void },
      subscribe: (f, o) => this.subscribe(f, o),
      unsubscribe: (f) => this.unsubscribe(f),
      publish: (t, p, o) => this.publish(t, p, o),
      on: (e, fn) => this.on(e, fn),
      requestSubscriptions: this.requestSubscriptions,
    }, topic, payload, options);
  }

  /**
   * Subscribes to one or more topic filters.
   *
   * @throws {DeviceError} `NOT_AUTHORIZED` when the broker denies a filter (SUBACK 0x80 in
   * MQTT 3.1.1, 0x87 in MQTT 5), `SUBSCRIBE_FAILED` for other refusals.
   */
  async subscribe(filters: string | readonly string[], options: SubscribeOptions = {}): Promise<Granted[]> {
    const list = filterList('subscribe', filters);
    const qos = qosOf('subscribe', options.qos, 1);
    const signal = signalOf('subscribe', options.signal);
    this.assertOpen('subscribe');
    const granted = await withSignal(signal, new Promise<Array<{ topic: string; qos: number }>>((resolve, reject) => {
      this.mq.subscribe(list, { qos }, (err, g) => {
        if (err !== null && err !== undefined) {
          // MQTT.js wraps SUBACK failures in ErrorWithSubackPacket: the reason codes are in packet.granted.
          const granted = (err as { packet?: { granted?: unknown } }).packet?.granted;
          const failed = Array.isArray(granted) ? granted.findIndex((g) => typeof g === 'number' && g >= 0x80) : -1;
          const code = failed >= 0 ? (granted as number[])[failed] : (err as { code?: unknown }).code;
          const target = failed >= 0 ? (list[failed] ?? list.join(', ')) : list.join(', ');
          reject(typeof code === 'number' ? ackError('subscribe', target, code, this.o.protocolVersion) : new DeviceError('SUBSCRIBE_FAILED', `subscribe: ${err.message}`, { cause: err }));
        } else resolve(g ?? []);
      });
    }));
    for (const g of granted) {
      if (g.qos >= 0x80) throw ackError('subscribe', g.topic, g.qos, this.o.protocolVersion);
    }
    return granted.map((g) => ({ filter: g.topic, qos: g.qos as QoS }));
  }

  /** Unsubscribes from one or more topic filters. */
  async unsubscribe(filters: string | readonly string[], options: { signal?: AbortSignal } = {}): Promise<void> {
    const list = filterList('unsubscribe', filters);
    const signal = signalOf('unsubscribe', options.signal);
    this.assertOpen('unsubscribe');
    await withSignal(signal, new Promise<void>((resolve, reject) => {
      this.mq.unsubscribe(list, (err) => {
        if (err !== null && err !== undefined) reject(new DeviceError('UNSUBSCRIBE_FAILED', `unsubscribe: ${err.message}`, { cause: err }));
        else resolve();
      });
    }));
  }

  /**
   * Sends a PINGREQ now and resolves with the round trip in ms.
   *
   * @throws {DeviceError} `PING_TIMEOUT` without a PINGRESP within `timeoutMs` (default 10,000),
   * `NOT_CONNECTED`, `CLOSED`, `ABORTED`; TypeError / RangeError for bad options.
   */
  async ping(options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<number> {
    const { timeoutMs, signal } = pingOptions(options);
    this.assertOpen('ping');
    if (!this.mq.connected) throw new DeviceError('NOT_CONNECTED', 'ping: not connected');
    const clock = this.o.clock;
    let timer: unknown;
    let cancel = (): void => {};
    const p = new Promise<number>((resolve, reject) => {
      timer = clock.setTimer(() => {
        cancel();
        reject(new DeviceError('PING_TIMEOUT', `ping: no PINGRESP within ${timeoutMs} ms`));
      }, timeoutMs);
      cancel = this.pings.next((rtt) => {
        clock.clearTimer(timer);
        resolve(rtt);
      });
    });
    this.mq.sendPing();
    return withSignal(signal, p).finally(() => {
      cancel();
      clock.clearTimer(timer);
    });
  }

  /** Per-connection statistics. */
  stats(): ConnectionStats {
    return {
      connected: this.mq.connected,
      messagesIn: this.counters.messagesIn,
      messagesOut: this.counters.messagesOut,
      ...probeBytes(this.probe),
      reconnects: this.counters.reconnects,
      lastPingRttMs: this.pings.lastRttMs,
      inFlight: this.window.size,
      pending: this.window.waiting,
      lastError: this.lastError,
      buffered: this.o.buffer?.stats().records ?? 0,
      bufferRejected: this.counters.bufferRejected,
    };
  }

  /**
   * Closes the connection. By default waits for in-flight publishes and sends DISCONNECT;
   * `force: true` drops the socket at once. Waiting publishes fail with `CLOSED`.
   */
  async close(options: { force?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    if (this.reconnectTimer !== undefined) this.o.clock.clearTimer(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.window.failAll(new DeviceError('CLOSED', 'the client was closed'));
    this.drainAbort?.abort();
    await this.drainTask?.catch(() => undefined);
    await new Promise<void>((resolve) => this.mq.end(options.force === true, {}, () => resolve()));
    this.closed = true;
    this.emit('close');
  }

  private assertOpen(op: string): void {
    if (this.closed || this.closing) throw new DeviceError('CLOSED', `${op}: the client is closed`);
  }
}

/**
 * Connects a device to an MQTT broker over mutual TLS with its own certificate.
 *
 * Refuses to start without a per-device certificate, key and CA (`CERT_REQUIRED`)
 * unless `insecure: true`; checks that the key matches the certificate, that the
 * certificate chains to the CA and is within its validity period, and that the
 * client id equals its CN. The broker's certificate is always verified against `ca`.
 *
 * @throws {TypeError | RangeError} for malformed options.
 * @throws {DeviceError} `CERT_*` for credential problems, `SERVER_CERT_UNTRUSTED`,
 * `NOT_AUTHORIZED`/`CONNECTION_REFUSED` (with `reasonCode`), `NETWORK_ERROR`,
 * `CONNECT_TIMEOUT`, `ABORTED`.
 * @example
 * ```ts
 * import { connectDevice } from '@outpost/device-sdk';
 * const device = await connectDevice({ url: 'mqtts://broker.example:8883', cert, key, ca });
 * await device.publish(`devices/${device.clientId}/telemetry`, new TextEncoder().encode('{"t":21.5}'));
 * await device.close();
 * ```
 */
export async function connectDevice(options: ConnectDeviceOptions): Promise<DeviceClient> {
  const o = resolveOptions(options);
  const clientId = checkClientCredentials(o); // checkDeviceCredentials memoises identical inputs
  const client = new DeviceClient(o, clientId);
  await client.start(o.signal);
  return client;
}

/** `{ properties }` when there are any (exactOptionalPropertyTypes: no `properties: undefined`). */
function withProps(p: PublishProperties | undefined): { properties?: PublishProperties } {
  return p === undefined ? {} : { properties: p };
}
