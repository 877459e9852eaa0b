// The device side: keeps one shadow in sync over an MQTT client, never missing a change.
// Recipe (AWS IoT Developer Guide, "Using shadows in devices", and SDK issues with lost
// replies and accepted/delta races): on every (re)connect subscribe first, then GET; ignore
// notifications at or below the version fetched; every request has a clientToken, a timeout
// and retries; a version learned from our own accepted reply never hides a delta.

import { decodeJson as cborDecode, encodeJson as cborEncode } from './cbor.js';
import type { EdgeBuffer } from '@outpost/edge-buffer';
import { computeDelta, validateUpdateRequest } from './document.js';
import type { ShadowDocument } from './document-types.js';
import { ShadowError } from './errors.js';
import { clone, describe, isObject, type JsonObject } from './json.js';
import { addPending, pendingView, type PendingGroup } from './patch.js';
import { Requester } from './request.js';
import { checkShadowName, checkThingName, parseShadowTopic, shadowTopicPrefix } from './topics.js';
import { toTransport, type Transport } from './transport.js';
import type { DeltaInfo, ShadowClient, ShadowClientOptions, ShadowClientStats } from './shadow-client-types.js';

function positiveInt(field: string, v: unknown, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${field}: expected an integer, got ${describe(v)}`);
  if (v < min) throw new RangeError(`${field}: expected at least ${min}, got ${v}`);
  return v;
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

class DeviceShadow implements ShadowClient {
  readonly thingName: string;
  readonly shadowName: string | undefined;
  document: ShadowDocument | undefined;
  private readonly prefix: string;
  private readonly t: Transport;
  private readonly req: Requester;
  private readonly buffer: EdgeBuffer | undefined;
  private readonly retryDelayMs: number;
  private readonly useVersion: boolean;
  private readonly deltaHandlers = new Set<(delta: JsonObject, info: DeltaInfo) => void | Promise<void>>();
  private readonly errorHandlers = new Set<(err: Error) => void>();
  private readonly unlisten: Array<() => void> = [];
  private readonly pendingList: PendingGroup[] = [];
  private readonly flushWaiters = new Set<Waiter>();
  private readonly syncWaiters = new Set<Waiter>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Highest version seen in any reply or notification: what an update's `version` says. */
  private version: number | undefined;
  /** Version of the desired state last handed over (GET or delta): notifications at or below are old. */
  private deltaVersion = -1;
  private syncGen = 0;
  private syncing = false;
  private heldDelta: { state: JsonObject; version: number } | undefined;
  private unclaimed: { delta: JsonObject; info: DeltaInfo } | undefined;
  private flushing = false;
  private closed = false;
  private reportChain: Promise<unknown> = Promise.resolve();
  private deliverChain: Promise<unknown> = Promise.resolve();
  private lastReadSeq: number | undefined;
  private counters = { syncs: 0, deltas: 0, staleIgnored: 0, reportsAccepted: 0, conflicts: 0 };

  constructor(o: ShadowClientOptions, t: Transport) {
    this.thingName = checkThingName(o.thingName, 'thingName');
    this.shadowName = o.shadowName === undefined ? undefined : checkShadowName(o.shadowName, 'shadowName');
    this.prefix = shadowTopicPrefix(this.thingName, this.shadowName);
    this.t = t;
    this.buffer = o.buffer;
    this.retryDelayMs = positiveInt('retryDelayMs', o.retryDelayMs, 1000, 0);
    this.useVersion = o.useVersion ?? true;
    this.req = new Requester(t, { timeoutMs: positiveInt('requestTimeoutMs', o.requestTimeoutMs, 5000), retries: positiveInt('maxRetries', o.maxRetries, 3, 0) });
  }

  async start(): Promise<void> {
    if (this.buffer !== undefined) await this.loadBuffer();
    this.unlisten.push(this.t.onMessage((topic, payload) => this.onMessage(topic, payload)));
    this.unlisten.push(this.t.onConnect(() => { void this.sync(); }));
    if (this.t.connected) void this.sync();
  }

  /** Unacknowledged patches from a previous run become the pending list again. */
  private async loadBuffer(): Promise<void> {
    const b = this.buffer!;
    for (;;) {
      const rec = await b.tryRead();
      if (rec === undefined) break;
      this.lastReadSeq = rec.seq;
      let patch: unknown;
      try {
        patch = cborDecode(rec.payload);
      } catch (err) {
        this.fail(new ShadowError('BAD_REQUEST', `buffered report #${rec.seq} does not decode; skipped`, { cause: err }));
        continue;
      }
      if (isObject(patch)) addPending(this.pendingList, patch as JsonObject, rec.seq);
    }
  }

  private fail(err: Error): void {
    if (this.errorHandlers.size === 0) return;
    for (const h of this.errorHandlers) {
      try { h(err); } catch { /* an error handler that throws has nowhere to report to */ }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.timers.delete(t); resolve(); }, ms);
      this.timers.add(t);
    });
  }

  private onMessage(topic: string, payload: Uint8Array): void {
    if (this.closed || !topic.startsWith(this.prefix + '/')) return;
    const t = parseShadowTopic(topic);
    if (t === undefined || t.thingName !== this.thingName || t.shadowName !== this.shadowName || t.suffix === undefined) return;
    if (t.suffix === 'accepted' || t.suffix === 'rejected') {
      const answered = this.req.handle(this.prefix, t.operation, t.suffix, payload);
      // Anyone's accepted update tells the current version (fewer 409s on our next report).
      if (!answered && t.operation === 'update' && t.suffix === 'accepted') this.noteVersion(this.versionOf(payload));
      return;
    }
    if (t.suffix !== 'delta') return;
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(payload));
    } catch {
      return;
    }
    if (!isObject(body) || typeof body['version'] !== 'number' || !isObject(body['state'])) return;
    const delta = { state: body['state'] as JsonObject, version: body['version'] };
    this.noteVersion(delta.version);
    if (this.syncing) {
      // Held until the GET answers; only the newest matters (a delta carries every difference).
      if (this.heldDelta === undefined || delta.version > this.heldDelta.version) this.heldDelta = delta;
      return;
    }
    this.offerDelta(delta.state, delta.version, 'delta');
  }

  private versionOf(payload: Uint8Array): number | undefined {
    try {
      const v = (JSON.parse(new TextDecoder().decode(payload)) as { version?: unknown }).version;
      return typeof v === 'number' ? v : undefined;
    } catch {
      return undefined;
    }
  }

  private noteVersion(v: number | undefined): void {
    if (v !== undefined && (this.version === undefined || v > this.version)) this.version = v;
  }

  /** Hands a delta over if it is newer than what was handed over last. */
  private offerDelta(state: JsonObject | undefined, version: number, source: 'get' | 'delta'): void {
    if (version <= this.deltaVersion) {
      this.counters.staleIgnored++;
      return;
    }
    this.deltaVersion = version;
    if (state === undefined) return;
    // Leave out what the device already reported but the shadow has not accepted yet.
    const view = pendingView(this.pendingList);
    const delta = view === undefined ? state : computeDelta(state, view);
    if (delta === undefined) return;
    const info: DeltaInfo = { version, source };
    if (this.deltaHandlers.size === 0) {
      // Nobody listens yet (onDelta is registered after createShadowClient resolved): keep the
      // newest for the first handler instead of losing it.
      this.unclaimed = { delta, info };
      return;
    }
    this.unclaimed = undefined;
    this.deliver(delta, info, [...this.deltaHandlers]);
  }

  private deliver(delta: JsonObject, info: DeltaInfo, handlers: Array<(delta: JsonObject, info: DeltaInfo) => void | Promise<void>>): void {
    this.counters.deltas++;
    this.deliverChain = this.deliverChain.then(async () => {
      for (const h of handlers) {
        if (this.closed) return;
        try {
          await h(clone(delta), info);
        } catch (err) {
          this.fail(err instanceof Error ? err : new Error(String(err)));
        }
      }
    });
  }

  /** Subscribe, then GET; repeated until it succeeds or a newer connect takes over. */
  private async sync(): Promise<void> {
    const gen = ++this.syncGen;
    this.syncing = true;
    this.heldDelta = undefined;
    const filters = [`${this.prefix}/get/accepted`, `${this.prefix}/get/rejected`, `${this.prefix}/update/accepted`, `${this.prefix}/update/rejected`, `${this.prefix}/update/delta`];
    while (!this.closed && gen === this.syncGen) {
      try {
        await this.t.subscribe(filters);
        const doc = await this.refresh(false);
        if (gen !== this.syncGen || this.closed) return;
        this.syncing = false;
        const held = this.heldDelta as { state: JsonObject; version: number } | undefined;
        this.heldDelta = undefined;
        // One hand-over per sync: the newer of the GET and the deltas that raced it (a delta
        // carries every difference, so the newest one alone is the final result).
        if (held !== undefined && (doc === undefined || held.version > doc.version)) this.offerDelta(held.state, held.version, 'delta');
        else if (doc !== undefined) this.offerDelta(doc.state.delta, doc.version, 'get');
        this.counters.syncs++;
        for (const w of [...this.syncWaiters]) w.resolve();
        this.syncWaiters.clear();
        void this.flushLoop();
        return;
      } catch (err) {
        if (this.closed || gen !== this.syncGen) return;
        this.fail(err instanceof Error ? err : new Error(String(err)));
        // Offline: stop here; the next connect starts a new sync (no stale GETs queue up).
        if (!this.t.connected) return;
        await this.sleep(this.retryDelayMs);
      }
    }
  }

  /** GETs the document (and offers its delta when `offer`). A 404 means no shadow yet: nothing to apply. */
  private async refresh(offer: boolean): Promise<ShadowDocument | undefined> {
    let doc: ShadowDocument | undefined;
    try {
      doc = (await this.req.request(this.prefix, 'get', {})) as unknown as ShadowDocument;
    } catch (err) {
      if (!(err instanceof ShadowError && err.code === 'NOT_FOUND')) throw err;
    }
    this.document = doc;
    if (doc === undefined) {
      // A deleted shadow keeps its version but a 404 does not say it: report without one.
      this.version = undefined;
      return undefined;
    }
    this.noteVersion(doc.version);
    if (offer) this.offerDelta(doc.state.delta, doc.version, 'get');
    return doc;
  }

  private async flushLoop(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (!this.closed && !this.syncing && this.pendingList.length > 0) {
        const group = this.pendingList[0]!;
        group.inFlight = true;
        const body: Record<string, unknown> = { state: { reported: group.patch } };
        if (this.useVersion && this.version !== undefined) body['version'] = this.version;
        try {
          const acc = await this.req.request(this.prefix, 'update', body);
          this.noteVersion(typeof acc['version'] === 'number' ? acc['version'] : undefined);
          await this.settle(group);
        } catch (err) {
          group.inFlight = false;
          if (this.closed) return;
          if (err instanceof ShadowError && err.code === 'VERSION_CONFLICT') {
            // The device missed a change: re-read (the delta, if any, is offered), then send the patch again.
            this.counters.conflicts++;
            try {
              await this.refresh(true);
            } catch (e) {
              this.fail(e as Error);
              await this.sleep(this.retryDelayMs);
            }
            continue;
          }
          if (err instanceof ShadowError && (err.code === 'BAD_REQUEST' || err.code === 'PAYLOAD_TOO_LARGE')) {
            // Refused for good: keeping it would block every later report.
            this.fail(new ShadowError(err.code, `report refused and dropped: ${err.message}`, { cause: err }));
            await this.settle(group);
            continue;
          }
          this.fail(err as Error);
          await this.sleep(this.retryDelayMs);
          if (!this.t.connected) return; // the next connect syncs and flushes again
        }
      }
    } finally {
      this.flushing = false;
      if (this.pendingList.length === 0) {
        for (const w of [...this.flushWaiters]) w.resolve();
        this.flushWaiters.clear();
      }
    }
  }

  /** Removes an accepted (or dropped) group and acknowledges its records in the buffer. */
  private async settle(group: PendingGroup): Promise<void> {
    const i = this.pendingList.indexOf(group);
    if (i >= 0) this.pendingList.splice(i, 1);
    this.counters.reportsAccepted++;
    const b = this.buffer;
    if (b === undefined) return;
    const seq = this.pendingList.length === 0 ? (this.lastReadSeq ?? group.seq) : group.seq;
    if (seq !== undefined && seq > b.stats().ackedSeq) {
      try {
        await b.ack(seq);
      } catch (err) {
        this.fail(err as Error);
      }
    }
  }

  onDelta(handler: (delta: JsonObject, info: DeltaInfo) => void | Promise<void>): () => void {
    if (typeof handler !== 'function') throw new TypeError(`onDelta: handler: expected a function, got ${describe(handler)}`);
    this.deltaHandlers.add(handler);
    const waiting = this.unclaimed;
    this.unclaimed = undefined;
    if (waiting !== undefined) this.deliver(waiting.delta, waiting.info, [handler]);
    return () => { this.deltaHandlers.delete(handler); };
  }

  onError(handler: (err: Error) => void): () => void {
    if (typeof handler !== 'function') throw new TypeError(`onError: handler: expected a function, got ${describe(handler)}`);
    this.errorHandlers.add(handler);
    return () => { this.errorHandlers.delete(handler); };
  }

  async report(patch: JsonObject): Promise<void> {
    if (!isObject(patch)) throw new TypeError(`report: patch: expected an object, got ${describe(patch)}`);
    if (this.closed) throw new ShadowError('CLOSED', 'report: the client is closed');
    validateUpdateRequest({ state: { reported: patch } });
    const copy = clone(patch);
    const step = this.reportChain.then(async () => {
      let seq: number | undefined;
      const b = this.buffer;
      if (b !== undefined) {
        seq = await b.append(cborEncode(copy));
        // Move the buffer's read cursor over our own record, so it can be acknowledged later.
        for (;;) {
          const rec = await b.tryRead();
          if (rec === undefined) break;
          this.lastReadSeq = rec.seq;
          if (rec.seq >= seq) break;
        }
      }
      addPending(this.pendingList, copy, seq);
    });
    this.reportChain = step.catch(() => undefined);
    await step;
    if (!this.syncing && this.t.connected) void this.flushLoop();
  }

  flush(options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.waitFor(this.flushWaiters, 'flush', options.signal, () => this.pendingList.length === 0 && !this.flushing);
  }

  synced(options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.waitFor(this.syncWaiters, 'synced', options.signal, () => false);
  }

  private waitFor(set: Set<Waiter>, what: string, signal: AbortSignal | undefined, already: () => boolean): Promise<void> {
    if (this.closed) return Promise.reject(new ShadowError('CLOSED', `${what}: the client is closed`));
    if (already()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => { set.delete(w); reject(new ShadowError('ABORTED', `${what}: aborted`)); };
      const w: Waiter = {
        resolve: () => { signal?.removeEventListener('abort', onAbort); resolve(); },
        reject: (e) => { signal?.removeEventListener('abort', onAbort); reject(e); },
      };
      if (signal?.aborted === true) { onAbort(); return; }
      signal?.addEventListener('abort', onAbort, { once: true });
      set.add(w);
    });
  }

  pending(): JsonObject[] {
    return this.pendingList.map((g) => clone(g.patch));
  }

  stats(): ShadowClientStats {
    return { ...this.counters, timeouts: this.req.timeouts, version: this.version };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const u of this.unlisten) u();
    for (const t of this.timers) clearTimeout(t);
    this.req.close();
    const err = new ShadowError('CLOSED', 'the shadow client was closed');
    for (const w of [...this.flushWaiters, ...this.syncWaiters]) w.reject(err);
    this.flushWaiters.clear();
    this.syncWaiters.clear();
    await this.reportChain;
  }
}

/**
 * Keeps a device's shadow in sync over its MQTT connection. On every (re)connect it subscribes,
 * then GETs the document and hands any delta to `onDelta`; later delta notifications are handed
 * over when newer. `report()` sends reported state; offline, patches merge and go out once on
 * reconnect (durably, with `buffer`). A 409 on the way is resolved by re-reading and sending again.
 *
 * @throws TypeError for a wrong option; RangeError for a bad thing or shadow name.
 * @example
 * ```ts
 * import { createShadowClient, type MqttLike } from '@outpost/shadow';
 * async function run(mqtt: MqttLike): Promise<void> {
 *   const shadow = await createShadowClient({ mqtt, thingName: 'sensor-0001' });
 *   shadow.onDelta(async (delta) => {
 *     // apply delta to the device, then:
 *     await shadow.report(delta);
 *   });
 * }
 * ```
 */
export async function createShadowClient(options: ShadowClientOptions): Promise<ShadowClient> {
  if (!isObject(options)) throw new TypeError(`createShadowClient: options: expected an object, got ${describe(options)}`);
  const t = toTransport(options.mqtt, 'mqtt');
  if (options.buffer !== undefined && (typeof options.buffer !== 'object' || typeof (options.buffer as EdgeBuffer).append !== 'function')) {
    throw new TypeError(`buffer: expected an EdgeBuffer from @outpost/edge-buffer, got ${describe(options.buffer)}`);
  }
  const c = new DeviceShadow(options, t);
  await c.start();
  return c;
}
