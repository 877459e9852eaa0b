// The device shadow client's options, events and interface; the client is in shadow-client.ts.
import type { EdgeBuffer } from '@outpost/edge-buffer';
import type { ShadowDocument } from './document-types.js';
import type { ShadowError } from './errors.js';
import type { JsonObject } from './json.js';
import type { MqttLike } from './transport.js';

/**
 * Options of {@link createShadowClient}.
 *
 * @example
 * ```ts
 * import type { ShadowClientOptions, MqttLike } from '@outpost/shadow';
 * const options = (mqtt: MqttLike): ShadowClientOptions => ({ mqtt, thingName: 'sensor-0001', requestTimeoutMs: 3_000 });
 * ```
 */
export interface ShadowClientOptions {
  /** An MQTT.js client or an `@outpost/device-sdk` DeviceClient (see {@link MqttLike}). */
  readonly mqtt: MqttLike;
  readonly thingName: string;
  /** A named shadow; absent for the classic shadow. */
  readonly shadowName?: string;
  /**
   * Makes pending reported patches durable: each `report` is appended before it resolves and
   * acknowledged once the shadow accepted it; after a restart unacknowledged patches are sent
   * again. Use a buffer of its own (not the one the MQTT client drains).
   */
  readonly buffer?: EdgeBuffer;
  /** Wait for a reply before a retry. Default 5000. */
  readonly requestTimeoutMs?: number;
  /** Retries of one request before it counts as failed (the sync goes on trying). Default 3. */
  readonly maxRetries?: number;
  /** Pause after a failed sync or report before the next try. Default 1000. */
  readonly retryDelayMs?: number;
  /**
   * Send reports with the last known `version` (a 409 then means the device missed a change:
   * it re-reads and re-applies). Default true.
   */
  readonly useVersion?: boolean;
}

/**
 * What a delta handler gets besides the delta.
 *
 * @example
 * ```ts
 * import type { DeltaInfo } from '@outpost/shadow';
 * const log = (i: DeltaInfo): string => `v${i.version} (${i.source})`;
 * ```
 */
export interface DeltaInfo {
  /** The shadow version the delta belongs to. */
  readonly version: number;
  /** `get`: found by the GET after a (re)connect; `delta`: an update/delta notification. */
  readonly source: 'get' | 'delta';
}

/**
 * Counters of a {@link ShadowClient}.
 *
 * @example
 * ```ts
 * import type { ShadowClientStats } from '@outpost/shadow';
 * const line = (s: ShadowClientStats): string => `${s.syncs} syncs, ${s.conflicts} conflicts`;
 * ```
 */
export interface ShadowClientStats {
  /** Completed syncs (subscribe + GET). */
  readonly syncs: number;
  /** Deltas handed to the handlers. */
  readonly deltas: number;
  /** Notifications ignored because their version was not newer. */
  readonly staleIgnored: number;
  /** Reported updates accepted. */
  readonly reportsAccepted: number;
  /** 409s met while reporting (each resolved by re-reading). */
  readonly conflicts: number;
  /** Request attempts that timed out. */
  readonly timeouts: number;
  /** The last version seen. */
  readonly version: number | undefined;
}

/**
 * A device's view of one shadow, from {@link createShadowClient}.
 *
 * @example
 * ```ts
 * import type { ShadowClient } from '@outpost/shadow';
 * const apply = (c: ShadowClient): (() => void) => c.onDelta(async (delta) => { await c.report(delta); });
 * ```
 */
export interface ShadowClient {
  readonly thingName: string;
  readonly shadowName: string | undefined;
  /**
   * Calls `handler` with the desired changes to apply: once after every (re)connect when the
   * shadow has a delta, and for each newer delta notification. Changes the device already
   * reported (pending included) are left out. Calls never overlap.
   */
  onDelta(handler: (delta: JsonObject, info: DeltaInfo) => void | Promise<void>): () => void;
  /** Errors the client met and keeps going after (a handler that threw, a refused report). */
  onError(handler: (err: Error) => void): () => void;
  /**
   * Queues a reported-state patch (`null` deletes a key) and resolves once it is queued (with a
   * buffer: durable on disk). It is sent at once when online; while offline patches merge into
   * one, sent once on reconnect. Use `flush()` to wait until the shadow accepted it.
   * @throws {ShadowError} `BAD_REQUEST` for a patch the shadow would refuse; `CLOSED`.
   */
  report(patch: JsonObject): Promise<void>;
  /** Resolves when every queued patch was accepted by the shadow. @throws {ShadowError} `CLOSED`, `ABORTED`. */
  flush(options?: { signal?: AbortSignal }): Promise<void>;
  /** Patches not yet accepted, in order (usually one: they merge). */
  pending(): JsonObject[];
  /** The document of the last GET, if any. */
  readonly document: ShadowDocument | undefined;
  /** Resolves after the next completed sync (subscribe + GET). */
  synced(options?: { signal?: AbortSignal }): Promise<void>;
  stats(): ShadowClientStats;
  /** Stops listening and fails waiting calls with `CLOSED`; the MQTT client and buffer stay open. */
  close(): Promise<void>;
}
