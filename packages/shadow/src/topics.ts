// AWS IoT reserved shadow topics. AWS IoT Core Developer Guide, "Reserved topics" → "Shadow topics":
// $aws/things/{thing}/shadow[/name/{shadow}]/{get,update,delete}[/accepted|/rejected],
// $aws/things/{thing}/shadow[/name/{shadow}]/update/{delta,documents}.

import { describe } from './json.js';

/**
 * A shadow operation.
 *
 * @example
 * ```ts
 * import type { ShadowOperation } from '@outpost/shadow';
 * const op: ShadowOperation = 'update';
 * ```
 */
export type ShadowOperation = 'get' | 'update' | 'delete';

/**
 * What follows the operation in a topic: nothing for the request itself, or one of the
 * response topics (`delta` and `documents` exist for `update` only).
 *
 * @example
 * ```ts
 * import type { ShadowTopicSuffix } from '@outpost/shadow';
 * const s: ShadowTopicSuffix = 'accepted';
 * ```
 */
export type ShadowTopicSuffix = 'accepted' | 'rejected' | 'delta' | 'documents';

/**
 * A parsed shadow topic.
 *
 * @example
 * ```ts
 * import type { ShadowTopic } from '@outpost/shadow';
 * const t: ShadowTopic = { thingName: 'lamp', operation: 'update', suffix: 'delta' };
 * ```
 */
export interface ShadowTopic {
  thingName: string;
  /** Absent for the classic (unnamed) shadow. */
  shadowName?: string;
  operation: ShadowOperation;
  /** Absent for a request topic. */
  suffix?: ShadowTopicSuffix;
}

// AWS: thing names [a-zA-Z0-9:_-]{1,128}; shadow names [a-zA-Z0-9:_-]{1,64}.
const THING_RE = /^[a-zA-Z0-9:_-]{1,128}$/;
const SHADOW_RE = /^[a-zA-Z0-9:_-]{1,64}$/;

/**
 * Checks a thing name (AWS: 1–128 of `a-zA-Z0-9:_-`) and returns it.
 *
 * @throws TypeError when not a string; RangeError when it has other characters or lengths.
 * @example
 * ```ts
 * import { checkThingName } from '@outpost/shadow';
 * checkThingName('sensor-0001'); // 'sensor-0001'
 * ```
 */
export function checkThingName(name: unknown, field = 'thingName'): string {
  if (typeof name !== 'string') throw new TypeError(`${field}: expected a string, got ${describe(name)}`);
  if (!THING_RE.test(name)) throw new RangeError(`${field}: expected 1-128 characters of a-z A-Z 0-9 : _ -, got "${name.slice(0, 140)}"`);
  return name;
}

/**
 * Checks a shadow name (AWS: 1–64 of `a-zA-Z0-9:_-`) and returns it.
 *
 * @throws TypeError when not a string; RangeError when it has other characters or lengths.
 * @example
 * ```ts
 * import { checkShadowName } from '@outpost/shadow';
 * checkShadowName('config'); // 'config'
 * ```
 */
export function checkShadowName(name: unknown, field = 'shadowName'): string {
  if (typeof name !== 'string') throw new TypeError(`${field}: expected a string, got ${describe(name)}`);
  if (!SHADOW_RE.test(name)) throw new RangeError(`${field}: expected 1-64 characters of a-z A-Z 0-9 : _ -, got "${name.slice(0, 80)}"`);
  return name;
}

/**
 * The topic prefix of a shadow: `$aws/things/{thing}/shadow` (classic) or
 * `$aws/things/{thing}/shadow/name/{shadow}` (named).
 *
 * @example
 * ```ts
 * import { shadowTopicPrefix } from '@outpost/shadow';
 * shadowTopicPrefix('lamp'); // '$aws/things/lamp/shadow'
 * shadowTopicPrefix('lamp', 'config'); // '$aws/things/lamp/shadow/name/config'
 * ```
 */
export function shadowTopicPrefix(thingName: string, shadowName?: string): string {
  checkThingName(thingName);
  if (shadowName === undefined) return `$aws/things/${thingName}/shadow`;
  return `$aws/things/${thingName}/shadow/name/${checkShadowName(shadowName)}`;
}

/**
 * Builds a shadow topic.
 *
 * @throws RangeError for `delta`/`documents` with an operation other than `update`, or a bad name.
 * @example
 * ```ts
 * import { shadowTopic } from '@outpost/shadow';
 * shadowTopic('lamp', 'update'); // '$aws/things/lamp/shadow/update'
 * shadowTopic('lamp', 'update', 'delta'); // '$aws/things/lamp/shadow/update/delta'
 * shadowTopic('lamp', 'get', 'accepted', 'config'); // '$aws/things/lamp/shadow/name/config/get/accepted'
 * ```
 */
export function shadowTopic(thingName: string, operation: ShadowOperation, suffix?: ShadowTopicSuffix, shadowName?: string): string {
  if (operation !== 'get' && operation !== 'update' && operation !== 'delete') throw new RangeError(`operation: expected "get", "update" or "delete", got ${describe(operation)}`);
  if (suffix !== undefined && suffix !== 'accepted' && suffix !== 'rejected' && suffix !== 'delta' && suffix !== 'documents') {
    throw new RangeError(`suffix: expected "accepted", "rejected", "delta" or "documents", got ${describe(suffix)}`);
  }
  if ((suffix === 'delta' || suffix === 'documents') && operation !== 'update') throw new RangeError(`suffix: "${suffix}" exists for "update" only, got "${operation}"`);
  return `${shadowTopicPrefix(thingName, shadowName)}/${operation}${suffix === undefined ? '' : '/' + suffix}`;
}

/**
 * The eight topics a device subscribes to for one shadow (responses and notifications, never
 * `shadow/#`, which would also receive its own requests).
 *
 * @example
 * ```ts
 * import { shadowResponseTopics } from '@outpost/shadow';
 * shadowResponseTopics('lamp').length; // 8
 * ```
 */
export function shadowResponseTopics(thingName: string, shadowName?: string): string[] {
  const p = shadowTopicPrefix(thingName, shadowName);
  return [
    `${p}/get/accepted`, `${p}/get/rejected`,
    `${p}/update/accepted`, `${p}/update/rejected`, `${p}/update/delta`, `${p}/update/documents`,
    `${p}/delete/accepted`, `${p}/delete/rejected`,
  ];
}

/**
 * Parses a shadow topic; `undefined` when the topic is not one.
 *
 * @example
 * ```ts
 * import { parseShadowTopic } from '@outpost/shadow';
 * parseShadowTopic('$aws/things/lamp/shadow/name/config/update/delta'); // { thingName: 'lamp', shadowName: 'config', operation: 'update', suffix: 'delta' }
 * parseShadowTopic('devices/lamp/telemetry'); // undefined
 * ```
 */
export function parseShadowTopic(topic: string): ShadowTopic | undefined {
  if (typeof topic !== 'string') throw new TypeError(`parseShadowTopic: topic: expected a string, got ${describe(topic)}`);
  const parts = topic.split('/');
  if (parts[0] !== '$aws' || parts[1] !== 'things' || parts[3] !== 'shadow') return undefined;
  const thingName = parts[2] ?? '';
  if (!THING_RE.test(thingName)) return undefined;
  let i = 4;
  let shadowName: string | undefined;
  if (parts[4] === 'name') {
    shadowName = parts[5] ?? '';
    if (!SHADOW_RE.test(shadowName)) return undefined;
    i = 6;
  }
  const operation = parts[i];
  if (operation !== 'get' && operation !== 'update' && operation !== 'delete') return undefined;
  const rest = parts.slice(i + 1);
  if (rest.length > 1) return undefined;
  const suffix = rest[0];
  const out: ShadowTopic = { thingName, operation };
  if (shadowName !== undefined) out.shadowName = shadowName;
  if (suffix === undefined) return out;
  if (suffix === 'accepted' || suffix === 'rejected') return { ...out, suffix };
  if ((suffix === 'delta' || suffix === 'documents') && operation === 'update') return { ...out, suffix };
  return undefined;
}
