// The reference shadow service: the AWS IoT shadow topic protocol over any MQTT broker, for
// development, tests and small self-hosted fleets (at scale, AWS IoT Core is the engine).

import { applyUpdate, decodeRequest, deleteShadow, getDocument } from './document.js';
import { DEFAULT_LIMITS, type ShadowLimits, type ShadowRecord } from './document-types.js';
import { ShadowError } from './errors.js';
import { describe, isObject, utf8Length } from './json.js';
import { MemoryShadowStore, type ShadowKey, type ShadowStore } from './store.js';
import { parseShadowTopic, shadowTopicPrefix, type ShadowOperation, type ShadowTopicSuffix } from './topics.js';
import { toTransport, type MqttLike, type Transport } from './transport.js';

/**
 * A reply the service is about to publish, as shown to {@link ShadowServiceOptions.dropReply}.
 *
 * @example
 * ```ts
 * import type { ServiceReply } from '@outpost/shadow';
 * const isAccepted = (r: ServiceReply): boolean => r.suffix === 'accepted';
 * ```
 */
export interface ServiceReply {
  readonly topic: string;
  readonly thingName: string;
  readonly shadowName: string | undefined;
  readonly operation: ShadowOperation;
  readonly suffix: ShadowTopicSuffix;
  readonly payload: string;
}

/**
 * Options of {@link startShadowService}.
 *
 * @example
 * ```ts
 * import { MemoryShadowStore, type ShadowServiceOptions, type MqttLike } from '@outpost/shadow';
 * const options = (mqtt: MqttLike): ShadowServiceOptions => ({ mqtt, store: new MemoryShadowStore() });
 * ```
 */
export interface ShadowServiceOptions {
  /** A connection whose identity may read and write every shadow topic (`$aws/things/+/shadow/#`). */
  readonly mqtt: MqttLike;
  /** Default: a {@link MemoryShadowStore}. Use {@link openFileShadowStore} to keep documents across restarts. */
  readonly store?: ShadowStore;
  /** Default {@link DEFAULT_LIMITS} (AWS IoT Core's). */
  readonly limits?: Partial<ShadowLimits>;
  /** Clock in epoch milliseconds. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Requests of one shadow queued or being handled at most; one more is answered at once with
   * 429 (`TOO_MANY_REQUESTS`) and not applied. Default 10 (AWS IoT Core: 10 in flight per
   * connection). Positive integer.
   */
  readonly maxInFlightPerShadow?: number;
  /**
   * How long a deleted shadow's version is kept, in ms; an update after that starts a new
   * shadow at version 1. Default 48 h (AWS: the version restarts unless the shadow is
   * recreated within 48 hours of its deletion). Non-negative integer; `Infinity` keeps it forever.
   */
  readonly tombstoneTtlMs?: number;
  /** Called with errors the service keeps going after (a store failure is also answered with 500). */
  readonly onError?: (err: Error) => void;
  /** Fault injection for tests: return true to drop (not publish) a reply. */
  readonly dropReply?: (reply: ServiceReply) => boolean;
}

/**
 * Counters of a running {@link ShadowService}.
 *
 * @example
 * ```ts
 * import type { ShadowServiceStats } from '@outpost/shadow';
 * const rate = (s: ShadowServiceStats): number => s.rejected / Math.max(1, s.requests);
 * ```
 */
export interface ShadowServiceStats {
  readonly requests: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly deltas: number;
  readonly dropped: number;
  readonly errors: number;
  /** Requests answered 429 because their shadow had `maxInFlightPerShadow` in flight (also counted in `rejected`). */
  readonly throttled: number;
  /** Tombstones found older than `tombstoneTtlMs` (the shadow started over at version 1). */
  readonly expiredTombstones: number;
}

/**
 * A running reference shadow service, from {@link startShadowService}.
 *
 * @example
 * ```ts
 * import type { ShadowService } from '@outpost/shadow';
 * const stop = (s: ShadowService): Promise<void> => s.close();
 * ```
 */
export interface ShadowService {
  stats(): ShadowServiceStats;
  /** Resolves when every request received so far has been answered. */
  idle(): Promise<void>;
  /** Stops handling requests and waits for those in progress; the MQTT client and store stay open. */
  close(): Promise<void>;
}

const decoder = new TextDecoder();
const FILTERS = ['$aws/things/+/shadow/+', '$aws/things/+/shadow/name/+/+'];

class Service implements ShadowService {
  private readonly queues = new Map<string, Promise<void>>();
  private readonly inFlight = new Map<string, number>();
  private readonly throttles = new Set<Promise<void>>();
  private readonly counters = { requests: 0, accepted: 0, rejected: 0, deltas: 0, dropped: 0, errors: 0, throttled: 0, expiredTombstones: 0 };
  private readonly maxInFlight: number;
  private readonly tombstoneTtlMs: number;
  private readonly limits: ShadowLimits;
  private readonly now: () => number;
  private unlisten: Array<() => void> = [];
  private closed = false;

  constructor(private readonly t: Transport, private readonly store: ShadowStore, private readonly o: ShadowServiceOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...(o.limits ?? {}) };
    this.now = o.now ?? Date.now;
    this.maxInFlight = o.maxInFlightPerShadow ?? 10;
    this.tombstoneTtlMs = o.tombstoneTtlMs ?? 48 * 3600 * 1000;
  }

  async start(): Promise<void> {
    this.unlisten.push(this.t.onMessage((topic, payload) => this.onMessage(topic, payload)));
    // Clean sessions lose subscriptions with the connection: subscribe again on every connect.
    this.unlisten.push(this.t.onConnect(() => { this.t.subscribe(FILTERS).catch((e: unknown) => this.report(e as Error)); }));
    await this.t.subscribe(FILTERS);
  }

  private report(err: Error): void {
    this.counters.errors++;
    this.o.onError?.(err);
  }

  private onMessage(topic: string, payload: Uint8Array): void {
    if (this.closed) return;
    const t = parseShadowTopic(topic);
    if (t === undefined || t.suffix !== undefined) return;
    this.counters.requests++;
    const key: ShadowKey = t.shadowName === undefined ? { thingName: t.thingName } : { thingName: t.thingName, shadowName: t.shadowName };
    const k = shadowTopicPrefix(t.thingName, t.shadowName);
    const n = this.inFlight.get(k) ?? 0;
    if (n >= this.maxInFlight) {
      this.throttle(key, k, t.operation, payload);
      return;
    }
    this.inFlight.set(k, n + 1);
    // One request at a time per shadow, in arrival order: versions are assigned in that order.
    const prev = this.queues.get(k) ?? Promise.resolve();
    const next = prev.then(() => this.handle(key, t.operation, payload)).catch((e: unknown) => this.report(e as Error)).finally(() => {
      const left = (this.inFlight.get(k) ?? 1) - 1;
      if (left > 0) this.inFlight.set(k, left); else this.inFlight.delete(k);
    });
    this.queues.set(k, next);
    void next.then(() => { if (this.queues.get(k) === next) this.queues.delete(k); });
  }

  /** AWS error document 429 on `{op}/rejected`, with the request's clientToken when it has one. */
  private throttle(key: ShadowKey, prefix: string, op: ShadowOperation, payload: Uint8Array): void {
    this.counters.rejected++;
    this.counters.throttled++;
    let token: string | undefined;
    try {
      const body: unknown = JSON.parse(decoder.decode(payload));
      const tv = isObject(body) ? body['clientToken'] : undefined;
      if (typeof tv === 'string' && utf8Length(tv) <= this.limits.maxClientTokenBytes) token = tv;
    } catch { /* no token to echo */ }
    const e = new ShadowError('TOO_MANY_REQUESTS', 'Too Many Requests');
    const p = this.publish(key, prefix, op, 'rejected', JSON.stringify(e.toErrorDocument(Math.floor(this.now() / 1000), token)));
    this.throttles.add(p);
    void p.finally(() => this.throttles.delete(p));
  }

  /** The stored record, or `undefined` for a tombstone older than `tombstoneTtlMs`. */
  private async load(key: ShadowKey): Promise<ShadowRecord | undefined> {
    const r = await this.store.get(key);
    if (r?.deleted === true && this.now() - r.timestamp * 1000 >= this.tombstoneTtlMs) {
      this.counters.expiredTombstones++;
      return undefined;
    }
    return r;
  }

  private async handle(key: ShadowKey, op: ShadowOperation, payload: Uint8Array): Promise<void> {
    const timestamp = Math.floor(this.now() / 1000);
    const prefix = shadowTopicPrefix(key.thingName, key.shadowName);
    let token: string | undefined;
    try {
      const body = decodeRequest(payload, this.limits);
      const tv = body['clientToken'];
      if (typeof tv === 'string' && utf8Length(tv) <= this.limits.maxClientTokenBytes) token = tv;
      const current = await this.load(key);
      if (op === 'update') {
        const r = applyUpdate(current, body, { timestamp, limits: this.limits });
        await this.store.put(key, r.record);
        this.counters.accepted++;
        // Handed to the connection in this order (QoS 1 keeps it); the PUBACKs are awaited together.
        const sends = [this.publish(key, prefix, 'update', 'accepted', JSON.stringify(r.accepted))];
        if (r.delta !== undefined) {
          this.counters.deltas++;
          sends.push(this.publish(key, prefix, 'update', 'delta', JSON.stringify(r.delta)));
        }
        sends.push(this.publish(key, prefix, 'update', 'documents', JSON.stringify(r.documents)));
        await Promise.all(sends);
        return;
      }
      if (tv !== undefined && (typeof tv !== 'string' || utf8Length(tv) > this.limits.maxClientTokenBytes)) {
        throw new ShadowError('BAD_REQUEST', `Invalid clientToken: ${typeof tv !== 'string' ? 'expected a string' : `at most ${this.limits.maxClientTokenBytes} bytes`}`);
      }
      const names = { thingName: key.thingName, ...(key.shadowName !== undefined ? { shadowName: key.shadowName } : {}), ...(token !== undefined ? { clientToken: token } : {}) };
      if (op === 'get') {
        const doc = getDocument(current, names);
        this.counters.accepted++;
        await this.publish(key, prefix, 'get', 'accepted', JSON.stringify(doc));
        return;
      }
      const v = body['version'];
      if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)) throw new ShadowError('BAD_REQUEST', 'Invalid version');
      const del = deleteShadow(current, { ...names, timestamp, ...(typeof v === 'number' ? { version: v } : {}) });
      await this.store.put(key, del.record);
      this.counters.accepted++;
      await this.publish(key, prefix, 'delete', 'accepted', JSON.stringify(del.accepted));
    } catch (err) {
      const e = err instanceof ShadowError && e_isServiceError(err) ? err : new ShadowError('INTERNAL', 'Internal service failure', { cause: err });
      if (e.code === 'INTERNAL') this.report(err as Error);
      this.counters.rejected++;
      await this.publish(key, prefix, op, 'rejected', JSON.stringify(e.toErrorDocument(timestamp, token)));
    }
  }

  private async publish(key: ShadowKey, prefix: string, operation: ShadowOperation, suffix: ShadowTopicSuffix, payload: string): Promise<void> {
    const topic = `${prefix}/${operation}/${suffix}`;
    if (this.o.dropReply?.({ topic, thingName: key.thingName, shadowName: key.shadowName, operation, suffix, payload }) === true) {
      this.counters.dropped++;
      return;
    }
    try {
      await this.t.publish(topic, payload);
    } catch (err) {
      this.report(err as Error);
    }
  }

  stats(): ShadowServiceStats {
    return { ...this.counters };
  }

  async idle(): Promise<void> {
    while (this.queues.size > 0 || this.throttles.size > 0) await Promise.all([...this.queues.values(), ...this.throttles]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const u of this.unlisten) u();
    await this.idle();
  }
}

function e_isServiceError(err: ShadowError): boolean {
  return err.status !== undefined && err.status < 500;
}

/**
 * Starts the reference shadow service on an MQTT connection: it subscribes to every shadow's
 * get/update/delete topics (classic and named), applies requests with AWS semantics (one at a
 * time per shadow), stores documents, and publishes accepted, rejected, delta and documents.
 * The stored document is durable (per the store) before `accepted` goes out.
 *
 * @throws TypeError for a wrong option.
 * @example
 * ```ts
 * import { startShadowService, openFileShadowStore, type MqttLike } from '@outpost/shadow';
 * async function serve(mqtt: MqttLike): Promise<void> {
 *   const store = await openFileShadowStore({ dir: '/var/lib/outpost/shadows' });
 *   const service = await startShadowService({ mqtt, store });
 *   process.once('SIGTERM', () => { void service.close().then(() => store.close()); });
 * }
 * ```
 */
export async function startShadowService(options: ShadowServiceOptions): Promise<ShadowService> {
  if (!isObject(options)) throw new TypeError(`startShadowService: options: expected an object, got ${describe(options)}`);
  const t = toTransport(options.mqtt, 'mqtt');
  const store = options.store ?? new MemoryShadowStore();
  if (!isObject(store) || typeof (store as ShadowStore).get !== 'function' || typeof (store as ShadowStore).put !== 'function') {
    throw new TypeError(`startShadowService: store: expected a ShadowStore, got ${describe(store)}`);
  }
  if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError(`startShadowService: now: expected a function, got ${describe(options.now)}`);
  const m = options.maxInFlightPerShadow;
  if (m !== undefined && (typeof m !== 'number' || !Number.isInteger(m) || m < 1)) throw new RangeError(`startShadowService: maxInFlightPerShadow: expected a positive integer, got ${describe(m)}`);
  const ttl = options.tombstoneTtlMs;
  if (ttl !== undefined && (typeof ttl !== 'number' || !(Number.isInteger(ttl) || ttl === Infinity) || ttl < 0)) throw new RangeError(`startShadowService: tombstoneTtlMs: expected a non-negative integer or Infinity, got ${describe(ttl)}`);
  const s = new Service(t, store, options);
  await s.start();
  return s;
}
