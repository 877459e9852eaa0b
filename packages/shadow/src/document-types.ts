// The AWS IoT Device Shadow document model's types and limits (AWS IoT Core Developer Guide,
// "Device Shadow service documents"); the pure functions over them are in document.ts.
import type { JsonObject, JsonValue } from './json.js';

/**
 * Limits a shadow service enforces; AWS IoT Core's values are the defaults ({@link DEFAULT_LIMITS}).
 *
 * @example
 * ```ts
 * import { DEFAULT_LIMITS, type ShadowLimits } from '@outpost/shadow';
 * const roomy: ShadowLimits = { ...DEFAULT_LIMITS, maxStateBytes: 16 * 1024 };
 * roomy.maxDepth; // 6
 * ```
 */
export interface ShadowLimits {
  /** desired + reported, serialized without whitespace, metadata excluded. AWS: 8 KB → 413. */
  readonly maxStateBytes: number;
  /** Nesting levels in `desired` or `reported` (objects and arrays). AWS: 6 → 400 beyond. */
  readonly maxDepth: number;
  /** UTF-8 bytes of `clientToken`. AWS: 64 → 400 beyond. */
  readonly maxClientTokenBytes: number;
  /** A whole request message. AWS (MQTT message size): 128 KB → 413 beyond. */
  readonly maxRequestBytes: number;
}

/**
 * AWS IoT Core's shadow limits: 8 KB state, depth 6, 64-byte client token, 128 KB request.
 *
 * @example
 * ```ts
 * import { DEFAULT_LIMITS } from '@outpost/shadow';
 * DEFAULT_LIMITS.maxStateBytes; // 8192
 * ```
 */
export const DEFAULT_LIMITS: ShadowLimits = Object.freeze({ maxStateBytes: 8 * 1024, maxDepth: 6, maxClientTokenBytes: 64, maxRequestBytes: 128 * 1024 });

/**
 * The `desired` and `reported` sections of a shadow.
 *
 * @example
 * ```ts
 * import type { ShadowState } from '@outpost/shadow';
 * const s: ShadowState = { desired: { interval: 60 }, reported: { interval: 30 } };
 * ```
 */
export interface ShadowState {
  desired?: JsonObject;
  reported?: JsonObject;
}

/**
 * Per-leaf metadata of each section: the same shape as the state with `{ timestamp }` (epoch
 * seconds of the last update) at every leaf; an array's metadata is an array, one entry per element.
 *
 * @example
 * ```ts
 * import type { ShadowMetadata } from '@outpost/shadow';
 * const m: ShadowMetadata = { desired: { interval: { timestamp: 1700000000 } } };
 * ```
 */
export interface ShadowMetadata {
  desired?: JsonObject;
  reported?: JsonObject;
}

/**
 * A shadow as a store keeps it. A deleted shadow is kept as a tombstone (`deleted: true`) so
 * that its version goes on from where it was (AWS: deleting a shadow does not reset its version).
 *
 * @example
 * ```ts
 * import type { ShadowRecord } from '@outpost/shadow';
 * const r: ShadowRecord = { state: { desired: { on: true } }, metadata: { desired: { on: { timestamp: 1 } } }, version: 1, timestamp: 1 };
 * ```
 */
export interface ShadowRecord {
  state: ShadowState;
  metadata: ShadowMetadata;
  /** Rises by one with every accepted update (and with a delete's successor). */
  version: number;
  /** Epoch seconds of the last change. */
  timestamp: number;
  deleted?: true;
}

/**
 * A full shadow document, as a GET returns it: state with the computed `delta`, metadata,
 * `version`, `timestamp` and the request's `clientToken`.
 *
 * @example
 * ```ts
 * import type { ShadowDocument } from '@outpost/shadow';
 * const d: ShadowDocument = { state: { desired: { a: 1 }, delta: { a: 1 } }, metadata: {}, version: 3, timestamp: 1 };
 * ```
 */
export interface ShadowDocument {
  state: { desired?: JsonObject; reported?: JsonObject; delta?: JsonObject };
  metadata: ShadowMetadata;
  version: number;
  timestamp: number;
  clientToken?: string;
}

/**
 * An update request (`…/update`): `null` deletes a key, `desired: null` or `reported: null`
 * clears the section; `version`, when given, must equal the shadow's current version.
 *
 * @example
 * ```ts
 * import type { UpdateRequest } from '@outpost/shadow';
 * const req: UpdateRequest = { state: { desired: { interval: 30, debug: null } }, clientToken: 'op-1', version: 7 };
 * ```
 */
export interface UpdateRequest {
  state: { desired?: JsonObject | null; reported?: JsonObject | null };
  clientToken?: string;
  version?: number;
}

/**
 * The `…/update/accepted` message: the request's sections, metadata for what it touched, the
 * new version.
 *
 * @example
 * ```ts
 * import type { UpdateAccepted } from '@outpost/shadow';
 * const a: UpdateAccepted = { state: { reported: { on: true } }, metadata: { reported: { on: { timestamp: 5 } } }, version: 2, timestamp: 5 };
 * ```
 */
export interface UpdateAccepted {
  state: { desired?: JsonObject | null; reported?: JsonObject | null };
  metadata: { desired?: JsonValue; reported?: JsonValue };
  version: number;
  timestamp: number;
  clientToken?: string;
}

/**
 * The `…/update/delta` message: every desired leaf that differs from reported, with its path
 * from the root, and the metadata of those leaves.
 *
 * @example
 * ```ts
 * import type { DeltaMessage } from '@outpost/shadow';
 * const d: DeltaMessage = { state: { interval: 30 }, metadata: { interval: { timestamp: 5 } }, version: 4, timestamp: 5 };
 * ```
 */
export interface DeltaMessage {
  state: JsonObject;
  metadata: JsonObject;
  version: number;
  timestamp: number;
  clientToken?: string;
}

/**
 * One side of an `…/update/documents` message.
 *
 * @example
 * ```ts
 * import type { DocumentSnapshot } from '@outpost/shadow';
 * const s: DocumentSnapshot = { state: { reported: { on: true } }, metadata: { reported: { on: { timestamp: 5 } } }, version: 2 };
 * ```
 */
export interface DocumentSnapshot {
  state: ShadowState;
  metadata: ShadowMetadata;
  version: number;
}

/**
 * The `…/update/documents` message: the shadow before and after an accepted update
 * (`previous` is absent when the update created the shadow).
 *
 * @example
 * ```ts
 * import type { DocumentsMessage } from '@outpost/shadow';
 * const m: DocumentsMessage = { current: { state: { desired: { a: 1 } }, metadata: {}, version: 1 }, timestamp: 5 };
 * ```
 */
export interface DocumentsMessage {
  previous?: DocumentSnapshot;
  current: DocumentSnapshot;
  timestamp: number;
  clientToken?: string;
}

/**
 * The `…/delete/accepted` message.
 *
 * @example
 * ```ts
 * import type { DeleteAccepted } from '@outpost/shadow';
 * const d: DeleteAccepted = { version: 9, timestamp: 5 };
 * ```
 */
export interface DeleteAccepted {
  version: number;
  timestamp: number;
  clientToken?: string;
}

/**
 * What {@link applyUpdate} returns: the new record and the three messages the service publishes
 * (`delta` only when the request set desired state and desired still differs from reported).
 *
 * @example
 * ```ts
 * import { applyUpdate, type UpdateResult } from '@outpost/shadow';
 * const r: UpdateResult = applyUpdate(undefined, { state: { desired: { a: 1 } } }, { timestamp: 5 });
 * r.record.version; // 1
 * ```
 */
export interface UpdateResult {
  record: ShadowRecord;
  accepted: UpdateAccepted;
  documents: DocumentsMessage;
  delta: DeltaMessage | undefined;
}

/**
 * Options of the functions that change a shadow.
 *
 * @example
 * ```ts
 * import type { ApplyOptions } from '@outpost/shadow';
 * const o: ApplyOptions = { timestamp: Math.floor(Date.now() / 1000) };
 * ```
 */
export interface ApplyOptions {
  /** Epoch seconds stamped into metadata and messages. */
  readonly timestamp: number;
  /** Default {@link DEFAULT_LIMITS}. */
  readonly limits?: ShadowLimits;
}
