// JSON value helpers shared by the document model and the clients. Internal: not exported
// from the package entry point except for the types.

/**
 * A JSON value as a shadow stores it.
 *
 * @example
 * ```ts
 * import type { JsonValue } from '@outpost/shadow';
 * const v: JsonValue = { interval: 60, tags: ['a', 'b'] };
 * ```
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

/**
 * A JSON object (a shadow section, a patch, a delta).
 *
 * @example
 * ```ts
 * import type { JsonObject } from '@outpost/shadow';
 * const desired: JsonObject = { led: { color: 'red' } };
 * ```
 */
export interface JsonObject {
  [key: string]: JsonValue;
}

export function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

/** Sets an own property, also for the key "__proto__" (which `o[k] = v` would turn into a prototype change). */
export function setKey<T>(o: Record<string, T>, k: string, v: T): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

export function clone<T extends JsonValue>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => clone(x)) as T;
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) setKey(out, k, clone(x));
    return out as T;
  }
  return v;
}

export function deepEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    for (const k of ka) if (!Object.hasOwn(b, k) || !deepEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}

export function utf8Length(s: string): number {
  // Counts without encoding into a new buffer (the 8 KB check runs on every update).
  return Buffer.byteLength(s, 'utf8');
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return 'a Uint8Array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${typeof v === 'string' ? JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v) : String(v)}`;
}
