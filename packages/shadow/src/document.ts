// The AWS IoT Device Shadow document model: pure functions, no I/O, no clock of its own
// (every function that stamps metadata takes the timestamp as an argument).
// AWS IoT Core Developer Guide, "Device Shadow service documents" and "Interacting with shadows".

import { ShadowError } from './errors.js';
import { clone, deepEqual, describe, isObject, setKey, utf8Length, type JsonObject, type JsonValue } from './json.js';
import { DEFAULT_LIMITS, type ShadowLimits, type ShadowState, type ShadowMetadata, type ShadowRecord, type ShadowDocument, type UpdateRequest, type UpdateAccepted, type DeltaMessage, type DocumentSnapshot, type DocumentsMessage, type DeleteAccepted, type UpdateResult, type ApplyOptions } from './document-types.js';

const bad = (message: string, clientToken?: string): ShadowError =>
  new ShadowError('BAD_REQUEST', message, clientToken === undefined ? {} : { clientToken });

function checkOptions(fn: string, o: unknown): { timestamp: number; limits: ShadowLimits } {
  if (!isObject(o)) throw new TypeError(`${fn}: options: expected an object, got ${describe(o)}`);
  const ts = (o as { timestamp?: unknown }).timestamp;
  if (typeof ts !== 'number' || !Number.isInteger(ts) || ts < 0) throw new TypeError(`${fn}: options.timestamp: expected epoch seconds as a non-negative integer, got ${describe(ts)}`);
  const limits = (o as { limits?: unknown }).limits ?? DEFAULT_LIMITS;
  if (!isObject(limits)) throw new TypeError(`${fn}: options.limits: expected an object, got ${describe(limits)}`);
  return { timestamp: ts, limits: { ...DEFAULT_LIMITS, ...(limits as Partial<ShadowLimits>) } };
}

function checkRecord(fn: string, r: unknown): ShadowRecord | undefined {
  if (r === undefined) return undefined;
  if (!isObject(r) || typeof r['version'] !== 'number' || !isObject(r['state'])) throw new TypeError(`${fn}: current: expected a ShadowRecord or undefined, got ${describe(r)}`);
  return r as unknown as ShadowRecord;
}

/** Validates a state section's values: JSON only, no null in arrays, nesting within the limit. */
function checkSection(name: string, v: JsonValue, maxDepth: number, token: string | undefined): void {
  const walk = (x: unknown, path: string, depth: number, inArray: boolean): void => {
    if (x === null) {
      // AWS: "Arrays can't have null values."
      if (inArray) throw bad(`Invalid JSON: null is not allowed in an array (${path})`, token);
      return;
    }
    if (Array.isArray(x) || isObject(x)) {
      if (depth + 1 > maxDepth) throw bad(`JSON contains too many levels of nesting; maximum is ${maxDepth}`, token);
      if (Array.isArray(x)) x.forEach((e, i) => walk(e, `${path}[${i}]`, depth + 1, true));
      else for (const [k, e] of Object.entries(x)) walk(e, `${path}.${k}`, depth + 1, false);
      return;
    }
    if (typeof x === 'number') {
      if (!Number.isFinite(x)) throw bad(`Invalid JSON: ${path} is not a finite number`, token);
      return;
    }
    if (typeof x === 'string' || typeof x === 'boolean') return;
    throw bad(`Invalid JSON: ${path} is ${describe(x)}`, token);
  };
  walk(v, name, 0, false);
}

/**
 * Checks a decoded update request the way the shadow service does and returns it typed.
 *
 * @throws {ShadowError} `BAD_REQUEST` (400) for a missing `state`, a non-object `desired` or
 * `reported`, an unknown node in `state`, nesting deeper than the limit, `null` in an array,
 * a bad `version`, a `clientToken` that is not a string or is over 64 bytes.
 * @example
 * ```ts
 * import { validateUpdateRequest } from '@outpost/shadow';
 * validateUpdateRequest({ state: { reported: { on: true } } }).state.reported; // { on: true }
 * ```
 */
export function validateUpdateRequest(value: unknown, limits: ShadowLimits = DEFAULT_LIMITS): UpdateRequest {
  if (!isObject(value)) throw bad('Invalid JSON: the request must be a JSON object');
  const tokenValue = value['clientToken'];
  let token: string | undefined;
  if (tokenValue !== undefined) {
    if (typeof tokenValue !== 'string') throw bad('Invalid clientToken: expected a string');
    if (utf8Length(tokenValue) > limits.maxClientTokenBytes) throw bad(`Invalid clientToken: at most ${limits.maxClientTokenBytes} bytes`);
    token = tokenValue;
  }
  const version = value['version'];
  if (version !== undefined && (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0)) throw bad('Invalid version', token);
  const state = value['state'];
  if (state === undefined) throw bad('Missing required node: state', token);
  if (!isObject(state)) throw bad('State node must be an object', token);
  for (const k of Object.keys(state)) {
    if (k !== 'desired' && k !== 'reported') throw bad(`State contains an invalid node: '${k}'`, token);
  }
  const out: UpdateRequest = { state: {} };
  for (const section of ['desired', 'reported'] as const) {
    if (!Object.hasOwn(state, section)) continue;
    const s = state[section];
    if (s !== null && !isObject(s)) throw bad(`${section === 'desired' ? 'Desired' : 'Reported'} node must be an object`, token);
    if (s !== null) checkSection(section, s as JsonValue, limits.maxDepth, token);
    out.state[section] = s as JsonObject | null;
  }
  if (token !== undefined) out.clientToken = token;
  if (version !== undefined) out.version = version as number;
  return out;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes a request payload (UTF-8 JSON) the way the shadow service does. Used for get and
 * delete requests too, whose payload may be empty or `{ clientToken, version }`.
 *
 * @throws {ShadowError} `UNSUPPORTED_ENCODING` (415) for bytes that are not UTF-8,
 * `PAYLOAD_TOO_LARGE` (413) over `maxRequestBytes`, `BAD_REQUEST` (400) for invalid JSON.
 * @example
 * ```ts
 * import { decodeRequest } from '@outpost/shadow';
 * decodeRequest('{"clientToken":"t1"}'); // { clientToken: 't1' }
 * decodeRequest(new Uint8Array(0)); // {}
 * ```
 */
export function decodeRequest(payload: Uint8Array | string, limits: ShadowLimits = DEFAULT_LIMITS): Record<string, unknown> {
  let text: string;
  if (typeof payload === 'string') text = payload;
  else if (payload instanceof Uint8Array) {
    if (payload.byteLength > limits.maxRequestBytes) throw new ShadowError('PAYLOAD_TOO_LARGE', 'The payload exceeds the maximum size allowed');
    try {
      text = decoder.decode(payload);
    } catch {
      throw new ShadowError('UNSUPPORTED_ENCODING', 'Unsupported documented encoding; supported encoding is UTF-8');
    }
  } else throw new TypeError(`decodeRequest: payload: expected a Uint8Array or a string, got ${describe(payload)}`);
  if (typeof payload === 'string' && utf8Length(text) > limits.maxRequestBytes) throw new ShadowError('PAYLOAD_TOO_LARGE', 'The payload exceeds the maximum size allowed');
  if (text.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw bad('Invalid JSON');
  }
  if (!isObject(v)) throw bad('Invalid JSON: the request must be a JSON object');
  return v;
}

/** Metadata for a value written at `timestamp`: `{ timestamp }` per leaf, arrays per element. */
function metaOf(v: JsonValue, timestamp: number): JsonValue {
  if (Array.isArray(v)) return v.map((e) => metaOf(e, timestamp));
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) setKey(out, k, metaOf(x, timestamp));
    return out;
  }
  return { timestamp };
}

/**
 * Merges `patch` into `target` in place, AWS style: objects merge recursively, `null` deletes
 * the key, arrays and scalars replace the old value whole. `meta` is kept in step.
 */
function mergeInto(target: JsonObject, meta: JsonObject, patch: JsonObject, timestamp: number): void {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) {
      delete target[k];
      delete meta[k];
    } else if (isObject(v)) {
      // Own properties only: a key "__proto__" must never reach Object.prototype.
      const existing = Object.hasOwn(target, k) ? target[k] : undefined;
      const existingMeta = Object.hasOwn(meta, k) ? meta[k] : undefined;
      // Copy on write: objects on the patch's paths are copied (spread defines own properties,
      // "__proto__" included); untouched subtrees are shared with the previous record.
      const t: JsonObject = isObject(existing) ? { ...existing } : {};
      // A leaf's metadata is `{timestamp}`: an object replacing a leaf starts fresh metadata.
      const m: JsonObject = isObject(existing) && isObject(existingMeta) && !isLeafMeta(existingMeta) ? { ...existingMeta } : {};
      setKey(target, k, t);
      setKey(meta, k, m);
      mergeInto(t, m, v, timestamp);
    } else {
      setKey(target, k, clone(v));
      setKey(meta, k, metaOf(v, timestamp));
    }
  }
}

function isLeafMeta(m: JsonObject): boolean {
  const keys = Object.keys(m);
  return keys.length === 1 && keys[0] === 'timestamp' && typeof m['timestamp'] === 'number';
}

/**
 * The delta: every leaf of `desired` that differs from `reported`, with its path from the
 * root. Keys only in reported are not in it; a differing array appears whole. Returns
 * `undefined` when there is no difference.
 *
 * @example
 * ```ts
 * import { computeDelta } from '@outpost/shadow';
 * computeDelta({ lights: { color: { r: 255, g: 255 } }, mode: 'auto' }, { lights: { color: { r: 255, g: 0 } }, extra: 1 }); // { lights: { color: { g: 255 } }, mode: 'auto' }
 * computeDelta({ a: 1 }, { a: 1, b: 2 }); // undefined
 * ```
 */
export function computeDelta(desired: JsonObject | undefined, reported: JsonObject | undefined): JsonObject | undefined {
  if (desired !== undefined && !isObject(desired)) throw new TypeError(`computeDelta: desired: expected an object, got ${describe(desired)}`);
  if (reported !== undefined && !isObject(reported)) throw new TypeError(`computeDelta: reported: expected an object, got ${describe(reported)}`);
  if (desired === undefined) return undefined;
  const walk = (d: JsonObject, r: JsonValue | undefined): JsonObject | undefined => {
    let out: JsonObject | undefined;
    for (const [k, dv] of Object.entries(d)) {
      const rv = isObject(r) ? (Object.hasOwn(r, k) ? r[k] : undefined) : undefined;
      let diff: JsonValue | undefined;
      if (isObject(dv)) diff = walk(dv, rv);
      else if (!deepEqual(dv, rv)) diff = clone(dv);
      if (diff !== undefined) setKey((out ??= {}), k, diff);
    }
    return out;
  };
  return walk(desired, reported);
}

/** The desired metadata at the delta's leaves. */
function deltaMetadata(delta: JsonObject, meta: JsonValue | undefined): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(delta)) {
    const m = isObject(meta) && Object.hasOwn(meta, k) ? meta[k] : undefined;
    if (isObject(v) && isObject(m) && !isLeafMeta(m)) setKey(out, k, deltaMetadata(v, m));
    else if (m !== undefined) setKey(out, k, clone(m));
  }
  return out;
}

function snapshot(r: ShadowRecord): DocumentSnapshot {
  return { state: r.state, metadata: r.metadata, version: r.version };
}

function stateBytes(state: ShadowState): number {
  // Serialized without whitespace; metadata excluded (AWS shadow document size limit).
  return (state.desired === undefined ? 0 : utf8Length(JSON.stringify(state.desired))) + (state.reported === undefined ? 0 : utf8Length(JSON.stringify(state.reported)));
}

/**
 * Applies an update request to a shadow exactly as AWS IoT does, and returns the new record
 * and the accepted, documents and delta messages. `current` is not modified; the results share
 * unchanged subtrees with it and with the request (copy on write), so treat records and
 * messages as read-only (the stores copy on `put` and `get`).
 *
 * - objects merge recursively; `null` deletes a key; `desired: null` clears the section;
 *   arrays are values, replaced whole;
 * - a `version` in the request must equal the current version (0 for a shadow never created),
 *   otherwise `VERSION_CONFLICT` (409); an accepted update raises the version by one, also after
 *   a delete (the tombstone keeps the version);
 * - desired + reported over `maxStateBytes` → `PAYLOAD_TOO_LARGE` (413);
 * - the delta message is produced when the request set desired state and the result's desired
 *   differs from reported, and carries every differing leaf, not only the changed ones.
 *
 * @param current The stored record, or `undefined` when the shadow was never created.
 * @param request The decoded request (checked here with {@link validateUpdateRequest}).
 * @throws {ShadowError} `BAD_REQUEST`, `VERSION_CONFLICT`, `PAYLOAD_TOO_LARGE`.
 * @throws TypeError for a wrong `current` or options.
 * @example
 * ```ts
 * import { applyUpdate } from '@outpost/shadow';
 * const a = applyUpdate(undefined, { state: { reported: { color: { r: 255, g: 255, b: 0 } } } }, { timestamp: 100 });
 * const b = applyUpdate(a.record, { state: { desired: { color: { r: 10 }, engine: 'ON' } } }, { timestamp: 101 });
 * b.record.version; // 2
 * b.delta?.state; // { color: { r: 10 }, engine: 'ON' }
 * ```
 */
export function applyUpdate(current: ShadowRecord | undefined, request: unknown, options: ApplyOptions): UpdateResult {
  const { timestamp, limits } = checkOptions('applyUpdate', options);
  const cur = checkRecord('applyUpdate', current);
  const req = validateUpdateRequest(request, limits);
  const token = req.clientToken;
  const live = cur !== undefined && cur.deleted !== true ? cur : undefined;
  const currentVersion = cur?.version ?? 0;
  if (req.version !== undefined && req.version !== currentVersion) {
    throw new ShadowError('VERSION_CONFLICT', 'Version conflict', token === undefined ? {} : { clientToken: token });
  }
  const state: ShadowState = live === undefined ? {} : { ...live.state };
  const metadata: ShadowMetadata = live === undefined ? {} : { ...live.metadata };
  const acceptedMeta: UpdateAccepted['metadata'] = {};
  for (const section of ['desired', 'reported'] as const) {
    if (!Object.hasOwn(req.state, section)) continue;
    const patch = req.state[section];
    if (patch === null || patch === undefined) {
      delete state[section];
      delete metadata[section];
      acceptedMeta[section] = { timestamp };
      continue;
    }
    const s: JsonObject = { ...state[section] };
    const m: JsonObject = { ...metadata[section] };
    mergeInto(s, m, patch, timestamp);
    state[section] = s;
    metadata[section] = m;
    acceptedMeta[section] = metaOf(patch, timestamp);
  }
  if (stateBytes(state) > limits.maxStateBytes) {
    throw new ShadowError('PAYLOAD_TOO_LARGE', 'The payload exceeds the maximum size allowed', token === undefined ? {} : { clientToken: token });
  }
  const version = currentVersion + 1;
  const record: ShadowRecord = { state, metadata, version, timestamp };
  const tok = token === undefined ? {} : { clientToken: token };
  const accepted: UpdateAccepted = { state: req.state, metadata: acceptedMeta, version, timestamp, ...tok };
  const documents: DocumentsMessage = { ...(live === undefined ? {} : { previous: snapshot(live) }), current: snapshot(record), timestamp, ...tok };
  let delta: DeltaMessage | undefined;
  if (isObject(req.state.desired)) {
    const d = computeDelta(state.desired, state.reported);
    if (d !== undefined) delta = { state: d, metadata: deltaMetadata(d, metadata.desired), version, timestamp, ...tok };
  }
  return { record, accepted, documents, delta };
}

/**
 * The full document a GET returns: state with the computed delta, metadata, version. It shares
 * structure with `record`: treat it as read-only.
 *
 * @throws {ShadowError} `NOT_FOUND` (404) when the shadow does not exist or was deleted.
 * @example
 * ```ts
 * import { applyUpdate, getDocument } from '@outpost/shadow';
 * const { record } = applyUpdate(undefined, { state: { desired: { on: true } } }, { timestamp: 7 });
 * getDocument(record, { thingName: 'lamp' }).state.delta; // { on: true }
 * ```
 */
export function getDocument(record: ShadowRecord | undefined, options: { thingName: string; shadowName?: string; clientToken?: string }): ShadowDocument {
  const r = checkRecord('getDocument', record);
  const tok = options.clientToken === undefined ? {} : { clientToken: options.clientToken };
  if (r === undefined || r.deleted === true) throw notFound(options.thingName, options.shadowName, options.clientToken);
  const doc: ShadowDocument = { state: { ...r.state }, metadata: r.metadata, version: r.version, timestamp: r.timestamp, ...tok };
  const delta = computeDelta(r.state.desired, r.state.reported);
  if (delta !== undefined) doc.state.delta = delta;
  return doc;
}

function notFound(thingName: string, shadowName: string | undefined, clientToken: string | undefined): ShadowError {
  return new ShadowError('NOT_FOUND', `No shadow exists with name: '${shadowName === undefined ? thingName : `${thingName}~${shadowName}`}'`, clientToken === undefined ? {} : { clientToken });
}

/**
 * Deletes a shadow: returns the tombstone to store (it keeps the version, so the next update
 * goes on from it) and the delete/accepted message.
 *
 * @throws {ShadowError} `NOT_FOUND` (404) when there is no shadow; `VERSION_CONFLICT` (409)
 * when `version` is given and is not the current one.
 * @example
 * ```ts
 * import { applyUpdate, deleteShadow } from '@outpost/shadow';
 * const { record } = applyUpdate(undefined, { state: { desired: { on: true } } }, { timestamp: 7 });
 * const del = deleteShadow(record, { thingName: 'lamp', timestamp: 8 });
 * del.accepted; // { version: 1, timestamp: 8 }
 * applyUpdate(del.record, { state: { desired: { on: false } } }, { timestamp: 9 }).record.version; // 2
 * ```
 */
export function deleteShadow(
  record: ShadowRecord | undefined,
  options: { thingName: string; shadowName?: string; timestamp: number; clientToken?: string; version?: number },
): { record: ShadowRecord; accepted: DeleteAccepted } {
  const { timestamp } = checkOptions('deleteShadow', options);
  const r = checkRecord('deleteShadow', record);
  const token = options.clientToken;
  if (r === undefined || r.deleted === true) throw notFound(options.thingName, options.shadowName, token);
  if (options.version !== undefined && options.version !== r.version) throw new ShadowError('VERSION_CONFLICT', 'Version conflict', token === undefined ? {} : { clientToken: token });
  return {
    record: { state: {}, metadata: {}, version: r.version, timestamp, deleted: true },
    accepted: { version: r.version, timestamp, ...(token === undefined ? {} : { clientToken: token }) },
  };
}
