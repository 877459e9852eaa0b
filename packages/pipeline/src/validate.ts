// Argument checks shared by the public functions: TypeError for a wrong type, RangeError for a
// bad value; the message names the field, what was expected and what was found. Internal.

/** A short name for the type of a value, for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') {
    // The prototype's constructor, never the value's own `constructor` key: a decoded payload
    // can carry `{"constructor": {"name": {...}}}`, and describing it must not run its data.
    const name = (Object.getPrototypeOf(v) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    return typeof name === 'string' && name !== '' ? name : 'object';
  }
  if (typeof v === 'number' && Number.isNaN(v)) return 'NaN';
  return typeof v;
}

export function assertObject(name: string, v: unknown): asserts v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) {
    throw new TypeError(`${name}: expected an object, got ${describe(v)}`);
  }
}

export function assertString(name: string, v: unknown): asserts v is string {
  if (typeof v !== 'string') throw new TypeError(`${name}: expected a string, got ${describe(v)}`);
}

export function assertFunction(name: string, v: unknown): asserts v is (...a: never[]) => unknown {
  if (typeof v !== 'function') throw new TypeError(`${name}: expected a function, got ${describe(v)}`);
}

/** A plain object (`{}` or `Object.create(null)`): not an array, a typed array, a Date, a class instance. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A required integer in [min, max]. */
export function intArg(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number') throw new TypeError(`${name}: expected an integer, got ${describe(v)}`);
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${name}: expected an integer in [${min}, ${max}], got ${v}`);
  return v;
}

/** Optional integer option: undefined gives the default. */
export function intOption(name: string, v: unknown, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  return v === undefined ? dflt : intArg(name, v, min, max);
}

/** Optional string option: undefined stays undefined. */
export function optString(name: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new TypeError(`${name}: expected a string, got ${describe(v)}`);
  return v;
}
