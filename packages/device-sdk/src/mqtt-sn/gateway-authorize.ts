// The aggregating gateway's own authorisation (MQTT-SN 1.2 §4: "all messages between MQTT-SN
// clients and an aggregating GW end at the GW … the GW decides which information will be given
// further to the server"). The broker sees one identity, so the gateway confines each client
// itself: topic namespaces with `%c` (the client id), matched like the fleet broker's
// `pattern readwrite devices/%u/#` (@outpost/pki broker-config), and admission of known client
// ids only. Internal.
import { DEVICE_ID_PATTERN } from '../identity/args.js';
import { describe } from './bytes.js';
import { lookupCredentials, type CredentialSource } from './gateway-broker.js';

/**
 * What a client asks to do with a topic (or, for `subscribe`, a topic filter): `publish` covers
 * PUBLISH, REGISTER and the will.
 *
 * @example
 * ```ts
 * import type { AuthorizeAction } from '@outpost/device-sdk/mqtt-sn';
 * const a: AuthorizeAction = 'subscribe';
 * a; // 'subscribe'
 * ```
 */
export type AuthorizeAction = 'publish' | 'subscribe';

/**
 * The aggregating gateway's per-client authorisation (option `authorize`): `true` allows.
 *
 * @example
 * ```ts
 * import type { Authorize } from '@outpost/device-sdk/mqtt-sn';
 * const own: Authorize = (clientId, _action, topic) => topic.startsWith(`devices/${clientId}/`);
 * own('s1', 'publish', 'devices/s1/temp'); // true
 * own('s1', 'publish', 'devices/s2/temp'); // false
 * ```
 */
export type Authorize = (clientId: string, action: AuthorizeAction, topic: string) => boolean;

/**
 * Which client ids the aggregating gateway admits (option `admit`): a list, a set, or a function
 * (sync or async).
 *
 * @example
 * ```ts
 * import type { AdmitSource } from '@outpost/device-sdk/mqtt-sn';
 * const fleet: AdmitSource = new Set(['pump-1', 'pump-2']);
 * fleet instanceof Set; // true
 * ```
 */
export type AdmitSource = readonly string[] | ReadonlySet<string> | ((clientId: string) => boolean | Promise<boolean>);

/**
 * The aggregating gateway's default `namespace`: the fleet broker ACL's device pattern
 * (`pattern readwrite devices/%u/#` in `@outpost/pki`'s broker config), `%c` the client id.
 *
 * @example
 * ```ts
 * import { DEFAULT_NAMESPACE } from '@outpost/device-sdk/mqtt-sn';
 * DEFAULT_NAMESPACE; // ['devices/%c/#']
 * ```
 */
export const DEFAULT_NAMESPACE: readonly string[] = Object.freeze(['devices/%c/#']);

/**
 * Whether every topic `filter` can match is inside `pattern` (both MQTT filters, levels split on
 * `/`; MQTT 3.1.1 §4.7). A literal level of the pattern needs the same literal; `+` takes one
 * level (a literal or `+`), `#` the rest. A topic (no wildcards) is the special case.
 */
export function filterWithin(pattern: readonly string[], filter: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] as string;
    if (p === '#') return true; // §4.7.1.2: '#' also matches the parent level itself
    if (i >= filter.length) return false;
    const f = filter[i] as string;
    if (f === '#') return false; // more than the pattern allows below this level
    if (p === '+') continue;
    if (f !== p) return false; // a literal needs the same literal ('+' in the filter is wider)
  }
  return filter.length === pattern.length;
}

/** An `authorize` function from namespace patterns (`%c` → the client id), compiled once per client id. */
export function namespaceAuthorizer(patterns: readonly string[], cacheMax: number): Authorize {
  const compiled = new Map<string, ReadonlyArray<readonly string[]>>();
  return (clientId, _action, topic) => {
    let levels = compiled.get(clientId);
    if (levels === undefined) {
      if (compiled.size >= cacheMax) compiled.clear();
      levels = patterns.map((p) => p.replaceAll('%c', clientId).split('/'));
      compiled.set(clientId, levels);
    }
    const t = topic.split('/');
    for (const l of levels) if (filterWithin(l, t)) return true;
    return false;
  };
}

/**
 * Whether a client id may connect to the aggregating gateway: a device id
 * (`[A-Za-z0-9._-]{1,64}`, so `%c` is one topic level and never a wildcard), and known — in
 * `admit` when given, else having an entry in `credentials`.
 */
export async function admitted(admit: AdmitSource | undefined, credentials: CredentialSource | undefined, clientId: string): Promise<boolean> {
  if (!DEVICE_ID_PATTERN.test(clientId)) return false;
  if (admit === undefined) return (await lookupCredentials(credentials, clientId)) !== undefined;
  if (typeof admit === 'function') return (await admit(clientId)) === true;
  if (admit instanceof Set) return admit.has(clientId);
  return (admit as readonly string[]).includes(clientId);
}

/** The authorisation as the gateway applies it; `s` the client's session (its last allowed PUBLISH topic). */
export type GatewayAuthorize = (clientId: string, action: AuthorizeAction, topic: string, s?: { allowedTopic: string | undefined }) => boolean;

/**
 * The authorisation as the gateway applies it: a refusal (or a throwing `authorize`, which
 * refuses) is reported through `refused`; a session remembers the last PUBLISH topic allowed, so
 * a client publishing on one topic is checked once per topic change.
 */
export function countedAuthorize(f: Authorize, refused: (clientId: string, action: AuthorizeAction, topic: string, error?: Error) => void): GatewayAuthorize {
  return (clientId, action, topic, s) => {
    if (action === 'publish' && s !== undefined && s.allowedTopic === topic) return true;
    let ok = false;
    let error: Error | undefined;
    try {
      ok = f(clientId, action, topic) === true;
    } catch (e) {
      error = e as Error;
    }
    if (ok && action === 'publish' && s !== undefined) s.allowedTopic = topic;
    if (!ok) refused(clientId, action, topic, error);
    return ok;
  };
}

/** Checks the aggregating mode's options (TypeError for types, RangeError for values). */
export function checkAggregateOptions(fn: string, o: { readonly mode?: unknown; readonly namespace?: unknown; readonly authorize?: unknown; readonly admit?: unknown; readonly identity?: unknown; readonly credentials?: unknown; readonly maxLinkInflight?: unknown; readonly linkBackoffMs?: unknown }): void {
  // maxLinkInflight's type and range: intOption in resolveGatewayOptions; here only whether it applies.
  const mode = o.mode ?? 'transparent';
  if (typeof mode !== 'string') throw new TypeError(`${fn}: mode: expected 'transparent' or 'aggregating', got ${describe(mode)}`);
  if (mode !== 'transparent' && mode !== 'aggregating') throw new RangeError(`${fn}: mode: expected 'transparent' or 'aggregating', got ${JSON.stringify(mode)}`);
  if (o.namespace !== undefined) {
    if (!Array.isArray(o.namespace)) throw new TypeError(`${fn}: namespace: expected an array of topic patterns, got ${describe(o.namespace)}`);
    for (const [i, p] of (o.namespace as unknown[]).entries()) {
      if (typeof p !== 'string') throw new TypeError(`${fn}: namespace[${i}]: expected a string, got ${describe(p)}`);
      const levels = p.split('/');
      const bad = p.length === 0 || levels.some((l, k) => (l.includes('#') && (l !== '#' || k !== levels.length - 1)) || (l.includes('+') && l !== '+'));
      if (bad) throw new RangeError(`${fn}: namespace[${i}]: not a topic pattern (MQTT 3.1.1 §4.7: '+' a whole level, '#' only last): ${JSON.stringify(p)}`);
    }
  }
  if (o.authorize !== undefined && typeof o.authorize !== 'function') throw new TypeError(`${fn}: authorize: expected a function, got ${describe(o.authorize)}`);
  const a = o.admit;
  if (a !== undefined && typeof a !== 'function' && !(a instanceof Set) && !(Array.isArray(a) && a.every((x) => typeof x === 'string'))) throw new TypeError(`${fn}: admit: expected an array or Set of client ids, or a function, got ${describe(a)}`);
  const b = o.linkBackoffMs as { min?: unknown; max?: unknown } | undefined;
  if (b !== undefined) {
    if (b === null || typeof b !== 'object') throw new TypeError(`${fn}: linkBackoffMs: expected { min, max }, got ${describe(b)}`);
    if (typeof b.min !== 'number' || typeof b.max !== 'number') throw new TypeError(`${fn}: linkBackoffMs: expected numbers { min, max }`);
    if (!(b.min >= 1 && b.max >= b.min && b.max <= 3_600_000)) throw new RangeError(`${fn}: linkBackoffMs: expected 1 ≤ min ≤ max ≤ 3 600 000, got ${b.min}…${b.max}`);
  }
  if (mode !== 'aggregating') {
    for (const k of ['namespace', 'authorize', 'admit', 'maxLinkInflight', 'linkBackoffMs'] as const) if (o[k] !== undefined) throw new RangeError(`${fn}: ${k} applies to mode 'aggregating' only (the broker authorises each client in transparent mode)`);
    return;
  }
  if (o.identity === undefined) throw new RangeError(`${fn}: mode 'aggregating' needs identity { clientId, cert, key }: the gateway's one broker connection`);
  if (o.admit === undefined && o.credentials === undefined) throw new RangeError(`${fn}: mode 'aggregating' needs admit (the client ids it serves) or credentials (a client id with an entry is known)`);
}
