// The application side (a cloud service, a dashboard): read a shadow, write desired state
// (optionally versioned, with an optimistic-concurrency helper), delete, watch documents.

import type { DeleteAccepted, DocumentsMessage, ShadowDocument, UpdateAccepted } from './document-types.js';
import { validateUpdateRequest } from './document.js';
import { ShadowError } from './errors.js';
import { describe, isObject, type JsonObject } from './json.js';
import { Requester } from './request.js';
import { parseShadowTopic, shadowTopicPrefix } from './topics.js';
import { toTransport, type MqttLike, type Transport } from './transport.js';

/**
 * Options of {@link createShadowAppClient}.
 *
 * @example
 * ```ts
 * import type { ShadowAppClientOptions, MqttLike } from '@outpost/shadow';
 * const options = (mqtt: MqttLike): ShadowAppClientOptions => ({ mqtt, requestTimeoutMs: 2_000 });
 * ```
 */
export interface ShadowAppClientOptions {
  /** An MQTT.js client or an `@outpost/device-sdk` DeviceClient allowed to use the shadows' topics. */
  readonly mqtt: MqttLike;
  /** Wait for a reply before a retry. Default 5000. */
  readonly requestTimeoutMs?: number;
  /** Retries before a request fails with `TIMEOUT`. Default 2. */
  readonly maxRetries?: number;
}

/**
 * Per-call options: the shadow (classic when `shadowName` is absent) and an `AbortSignal`.
 *
 * @example
 * ```ts
 * import type { ShadowCallOptions } from '@outpost/shadow';
 * const o: ShadowCallOptions = { shadowName: 'config', signal: AbortSignal.timeout(10_000) };
 * ```
 */
export interface ShadowCallOptions {
  readonly shadowName?: string;
  readonly signal?: AbortSignal;
}

/**
 * The result of {@link ShadowAppClient.modifyDesired}.
 *
 * @example
 * ```ts
 * import type { ModifyResult } from '@outpost/shadow';
 * const retried = (r: ModifyResult): boolean => r.conflicts > 0;
 * ```
 */
export interface ModifyResult {
  readonly accepted: UpdateAccepted;
  /** Attempts made (1 when no other writer came in between). */
  readonly attempts: number;
  /** 409s met on the way. */
  readonly conflicts: number;
}

/**
 * An application's handle on many shadows, from {@link createShadowAppClient}.
 *
 * @example
 * ```ts
 * import type { ShadowAppClient } from '@outpost/shadow';
 * const setInterval = (app: ShadowAppClient, id: string, s: number) => app.updateDesired(id, { intervalS: s });
 * ```
 */
export interface ShadowAppClient {
  /** The full document. @throws {ShadowError} `NOT_FOUND` (404), `TIMEOUT`. */
  get(thingName: string, options?: ShadowCallOptions): Promise<ShadowDocument>;
  /** Any update request (`state.desired` and/or `state.reported`, optional `version`). @throws {ShadowError} `VERSION_CONFLICT`, `BAD_REQUEST`, `PAYLOAD_TOO_LARGE`, `TIMEOUT`. */
  update(thingName: string, request: { state: { desired?: JsonObject | null; reported?: JsonObject | null }; version?: number }, options?: ShadowCallOptions): Promise<UpdateAccepted>;
  /** Writes desired state; with `version`, only if the shadow is still at that version (else 409). */
  updateDesired(thingName: string, desired: JsonObject | null, options?: ShadowCallOptions & { version?: number }): Promise<UpdateAccepted>;
  /**
   * Read-modify-write of desired state with optimistic concurrency: GET, `change(doc)` gives
   * the desired patch, update with the document's version; on 409 read again and repeat.
   */
  modifyDesired(thingName: string, change: (doc: ShadowDocument | undefined) => JsonObject, options?: ShadowCallOptions & { maxAttempts?: number }): Promise<ModifyResult>;
  /** Deletes the shadow (its version goes on with the next update). @throws {ShadowError} `NOT_FOUND`, `VERSION_CONFLICT`. */
  delete(thingName: string, options?: ShadowCallOptions & { version?: number }): Promise<DeleteAccepted>;
  /** Calls `handler` with every `update/documents` message (previous and current document) of the shadow. */
  watch(thingName: string, handler: (documents: DocumentsMessage) => void, options?: { shadowName?: string }): Promise<() => void>;
  /** Subscriptions held now (released when the last request or watcher of a shadow is done). */
  stats(): ShadowAppClientStats;
  /** Fails waiting requests with `CLOSED` and stops listening; the MQTT client stays open. */
  close(): Promise<void>;
}

/**
 * Counters of a {@link ShadowAppClient}: what it holds on the broker now.
 *
 * @example
 * ```ts
 * import type { ShadowAppClientStats } from '@outpost/shadow';
 * const idle = (s: ShadowAppClientStats): boolean => s.subscriptions === 0;
 * ```
 */
export interface ShadowAppClientStats {
  /** Topic filters subscribed now: 2 per shadow with a request waiting, 1 per watched shadow. */
  readonly subscriptions: number;
  /** Shadows (and watched shadows) holding a subscription now. */
  readonly shadows: number;
  /** UNSUBSCRIBEs sent since creation. */
  readonly unsubscribes: number;
  /** Requests sent since creation. */
  readonly requests: number;
}

interface Sub {
  refs: number;
  readonly filters: string[];
  readonly ready: Promise<void>;
}

const decoder = new TextDecoder();

class AppClient implements ShadowAppClient {
  private readonly req: Requester;
  private readonly subs = new Map<string, Sub>();
  /** UNSUBSCRIBEs not yet acknowledged, per key: a new SUBSCRIBE of the same filters waits for them. */
  private readonly unsubscribing = new Map<string, Promise<void>>();
  private unsubscribes = 0;
  private readonly watchers = new Map<string, Set<(d: DocumentsMessage) => void>>();
  private readonly unlisten: () => void;
  private closed = false;

  constructor(private readonly t: Transport, o: ShadowAppClientOptions) {
    const timeoutMs = o.requestTimeoutMs ?? 5000;
    const retries = o.maxRetries ?? 2;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new RangeError(`requestTimeoutMs: expected a positive integer, got ${describe(timeoutMs)}`);
    if (!Number.isInteger(retries) || retries < 0) throw new RangeError(`maxRetries: expected a non-negative integer, got ${describe(retries)}`);
    this.req = new Requester(t, { timeoutMs, retries });
    this.unlisten = t.onMessage((topic, payload) => this.onMessage(topic, payload));
  }

  private onMessage(topic: string, payload: Uint8Array): void {
    const t = parseShadowTopic(topic);
    if (t === undefined || t.suffix === undefined) return;
    const prefix = shadowTopicPrefix(t.thingName, t.shadowName);
    if (t.suffix === 'accepted' || t.suffix === 'rejected') {
      this.req.handle(prefix, t.operation, t.suffix, payload);
      return;
    }
    if (t.suffix !== 'documents') return;
    const set = this.watchers.get(prefix);
    if (set === undefined || set.size === 0) return;
    let body: unknown;
    try {
      body = JSON.parse(decoder.decode(payload));
    } catch {
      return;
    }
    if (!isObject(body)) return;
    for (const h of [...set]) {
      try { h(body as unknown as DocumentsMessage); } catch { /* a watcher's failure is its own */ }
    }
  }

  /**
   * Takes a reference on `key`'s subscription, subscribing on the first. Every acquire that
   * resolves is paired with one {@link release}; the last release unsubscribes.
   */
  private async acquire(key: string, filters: string[]): Promise<Sub> {
    let s = this.subs.get(key);
    if (s === undefined) {
      // Wait for an UNSUBACK of the same filters first: a broker may complete an UNSUBSCRIBE
      // after a later SUBSCRIBE of the same filter (Aedes does), which would leave us unsubscribed.
      const pending = this.unsubscribing.get(key);
      const ready = pending === undefined ? this.t.subscribe(filters) : pending.then(() => this.t.subscribe(filters));
      const sub: Sub = { refs: 0, filters, ready };
      s = sub;
      this.subs.set(key, sub);
      sub.ready.catch(() => { if (this.subs.get(key) === sub) this.subs.delete(key); });
    }
    s.refs++;
    try {
      await s.ready;
    } catch (err) {
      s.refs--;
      throw err;
    }
    return s;
  }

  private release(key: string, s: Sub): void {
    if (--s.refs > 0 || this.subs.get(key) !== s) return;
    this.subs.delete(key);
    this.unsubscribes++;
    const done: Promise<void> = this.t.unsubscribe(s.filters).catch(() => undefined).then(() => {
      if (this.unsubscribing.get(key) === done) this.unsubscribing.delete(key);
    });
    this.unsubscribing.set(key, done);
  }

  private async call(thingName: string, op: 'get' | 'update' | 'delete', body: Record<string, unknown>, o: ShadowCallOptions): Promise<Record<string, unknown>> {
    if (this.closed) throw new ShadowError('CLOSED', `${op}: the client is closed`);
    if (o === null || typeof o !== 'object') throw new TypeError(`${op}: options: expected an object, got ${describe(o)}`);
    const prefix = shadowTopicPrefix(thingName, o.shadowName);
    // Two filters per shadow (`+` is the operation), held only while a request of it is waiting.
    const s = await this.acquire(prefix, [`${prefix}/+/accepted`, `${prefix}/+/rejected`]);
    try {
      return await this.req.request(prefix, op, body, o.signal);
    } finally {
      this.release(prefix, s);
    }
  }

  async get(thingName: string, options: ShadowCallOptions = {}): Promise<ShadowDocument> {
    return (await this.call(thingName, 'get', {}, options)) as unknown as ShadowDocument;
  }

  async update(thingName: string, request: { state: { desired?: JsonObject | null; reported?: JsonObject | null }; version?: number }, options: ShadowCallOptions = {}): Promise<UpdateAccepted> {
    if (!isObject(request)) throw new TypeError(`update: request: expected an object, got ${describe(request)}`);
    const r = validateUpdateRequest(request);
    return (await this.call(thingName, 'update', r as unknown as Record<string, unknown>, options)) as unknown as UpdateAccepted;
  }

  async updateDesired(thingName: string, desired: JsonObject | null, options: ShadowCallOptions & { version?: number } = {}): Promise<UpdateAccepted> {
    if (desired !== null && !isObject(desired)) throw new TypeError(`updateDesired: desired: expected an object or null, got ${describe(desired)}`);
    return this.update(thingName, { state: { desired }, ...(options.version !== undefined ? { version: options.version } : {}) }, options);
  }

  async modifyDesired(thingName: string, change: (doc: ShadowDocument | undefined) => JsonObject, options: ShadowCallOptions & { maxAttempts?: number } = {}): Promise<ModifyResult> {
    if (typeof change !== 'function') throw new TypeError(`modifyDesired: change: expected a function, got ${describe(change)}`);
    const maxAttempts = options.maxAttempts ?? 5;
    let conflicts = 0;
    for (let attempt = 1; ; attempt++) {
      let doc: ShadowDocument | undefined;
      try {
        doc = await this.get(thingName, options);
      } catch (err) {
        if (!(err instanceof ShadowError && err.code === 'NOT_FOUND')) throw err;
      }
      try {
        // A shadow never created is at version 0 (the reference service and AWS agree for new shadows).
        const accepted = await this.updateDesired(thingName, change(doc), { ...options, version: doc?.version ?? 0 });
        return { accepted, attempts: attempt, conflicts };
      } catch (err) {
        if (!(err instanceof ShadowError && err.code === 'VERSION_CONFLICT') || attempt >= maxAttempts) throw err;
        conflicts++;
      }
    }
  }

  async delete(thingName: string, options: ShadowCallOptions & { version?: number } = {}): Promise<DeleteAccepted> {
    return (await this.call(thingName, 'delete', options.version !== undefined ? { version: options.version } : {}, options)) as unknown as DeleteAccepted;
  }

  async watch(thingName: string, handler: (documents: DocumentsMessage) => void, options: { shadowName?: string } = {}): Promise<() => void> {
    if (typeof handler !== 'function') throw new TypeError(`watch: handler: expected a function, got ${describe(handler)}`);
    if (this.closed) throw new ShadowError('CLOSED', 'watch: the client is closed');
    const prefix = shadowTopicPrefix(thingName, options.shadowName);
    let set = this.watchers.get(prefix);
    if (set === undefined) this.watchers.set(prefix, (set = new Set()));
    set.add(handler);
    const key = `${prefix} documents`;
    let s: Sub;
    try {
      s = await this.acquire(key, [`${prefix}/update/documents`]);
    } catch (err) {
      set.delete(handler);
      throw err;
    }
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      set.delete(handler);
      if (set.size === 0 && this.watchers.get(prefix) === set) this.watchers.delete(prefix);
      this.release(key, s);
    };
  }

  stats(): ShadowAppClientStats {
    let filters = 0;
    for (const s of this.subs.values()) filters += s.filters.length;
    return { subscriptions: filters, shadows: this.subs.size, unsubscribes: this.unsubscribes, requests: this.req.requests };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unlisten();
    this.req.close();
    this.watchers.clear();
    // Requests failed with CLOSED release theirs in their `finally`; watchers' are released here.
    for (const [key, s] of [...this.subs]) { s.refs = 1; this.release(key, s); }
  }
}

/**
 * A client for applications: read shadows, write desired state (with versions for optimistic
 * concurrency), delete, and watch documents, over an MQTT connection whose identity may use
 * the shadows' topics.
 *
 * @throws TypeError for a client without publish/subscribe/on.
 * @example
 * ```ts
 * import { createShadowAppClient, type MqttLike } from '@outpost/shadow';
 * async function setInterval(mqtt: MqttLike): Promise<void> {
 *   const app = createShadowAppClient({ mqtt });
 *   const r = await app.modifyDesired('sensor-0001', () => ({ reportIntervalS: 30 }));
 *   console.log('desired written at version', r.accepted.version);
 * }
 * ```
 */
export function createShadowAppClient(options: ShadowAppClientOptions): ShadowAppClient {
  if (!isObject(options)) throw new TypeError(`createShadowAppClient: options: expected an object, got ${describe(options)}`);
  return new AppClient(toTransport(options.mqtt, 'mqtt'), options);
}
