/**
 * How the device client drives MQTT.js, through its public API only (no private members):
 * the options it connects with, reconnects that keep the session's stores, and ping round
 * trips timed from the public `packetsend`/`packetreceive` events. `mqtt` is pinned to the
 * minor this is tested with (5.16.x); test/mqtt-canary.mosquitto.test.ts fails if the
 * behaviour relied on here changes.
 */
import { performance } from 'node:perf_hooks';
import type { IClientOptions, MqttClient, Packet } from 'mqtt';
import type { ResolvedOptions } from './options.js';

/** Longest interval Node's setInterval accepts (about 24.8 days). */
export const NEVER_MS = 0x7fff_ffff;

/**
 * The MQTT.js options of a device connection. Reconnects are driven by the device client
 * (backoff with jitter, {@link reconnectKeepingSession}). MQTT.js's own reconnect period is
 * parked at {@link NEVER_MS} rather than 0: 0 switches off MQTT.js's resubscription and fails
 * in-flight QoS 1 publishes whenever the link is torn down (its `_cleanUp` flushes the
 * outgoing map when `reconnectPeriod === 0` and `clean`). The parked timer never fires,
 * because every `connect()` clears it (canary-tested).
 */
export function mqttOptions(o: ResolvedOptions, clientId: string): IClientOptions {
  return {
    clientId,
    protocolVersion: o.protocolVersion,
    keepalive: o.keepAliveS,
    clean: o.cleanSession,
    connectTimeout: o.connectTimeoutMs,
    reconnectPeriod: NEVER_MS,
    queueQoSZero: false,
    manualConnect: true,
    ...(o.protocolVersion === 5 && o.sessionExpiryIntervalS > 0 ? { properties: { sessionExpiryInterval: o.sessionExpiryIntervalS } } : {}),
    ...(o.will !== undefined
      ? { will: { topic: o.will.topic, payload: toBuffer(o.will.payload), qos: o.will.qos ?? 0, retain: o.will.retain ?? false } }
      : {}),
  };
}

/**
 * Starts a new connection attempt with MQTT.js's public `reconnect()`, handing it the
 * client's current message stores: without them `reconnect()` starts from empty stores and
 * the unacknowledged QoS 1/2 publishes of the session would be lost.
 */
export function reconnectKeepingSession(mq: MqttClient): void {
  mq.reconnect({ incomingStore: mq.incomingStore, outgoingStore: mq.outgoingStore });
}

/**
 * Times PINGREQ → PINGRESP from MQTT.js's public packet events (MQTT 3.1.1 §3.12/§3.13),
 * both the pings of MQTT.js's keep-alive and those of `DeviceClient.ping()`.
 */
export class PingTracker {
  /** Round trip of the last PINGREQ/PINGRESP, ms; undefined before the first. */
  lastRttMs: number | undefined;
  private sentAt: number | undefined;
  private readonly waiters = new Set<(rtt: number) => void>();

  constructor(mq: MqttClient) {
    mq.on('packetsend', (p: Packet) => {
      if (p.cmd === 'pingreq' && this.sentAt === undefined) this.sentAt = performance.now();
    });
    mq.on('packetreceive', (p: Packet) => {
      if (p.cmd !== 'pingresp' || this.sentAt === undefined) return;
      const rtt = performance.now() - this.sentAt;
      this.lastRttMs = rtt;
      this.sentAt = undefined;
      for (const w of [...this.waiters]) w(rtt);
      this.waiters.clear();
    });
  }

  /** Forgets an unanswered ping (the connection it was sent on closed). */
  reset(): void {
    this.sentAt = undefined;
  }

  /** Calls `fn` with the round trip of the next PINGRESP; returns a function that cancels. */
  next(fn: (rtt: number) => void): () => void {
    this.waiters.add(fn);
    return () => this.waiters.delete(fn);
  }
}

/** A will payload as the Buffer MQTT.js takes, without copying bytes. */
function toBuffer(p: Uint8Array | string): Buffer {
  return typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}
