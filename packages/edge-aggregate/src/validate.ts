// Argument checks shared by the public functions: TypeError for a wrong type, RangeError for a
// bad value, and the message names the field, what was expected and what was found.

/** Sample buffers accepted everywhere. */
export type Samples = Float32Array | Float64Array;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

export function assertSamples(name: string, v: unknown): asserts v is Samples {
  if (!(v instanceof Float32Array) && !(v instanceof Float64Array)) {
    throw new TypeError(`${name}: expected Float32Array or Float64Array, got ${describe(v)}`);
  }
}

export function assertObject(name: string, v: unknown): asserts v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) {
    throw new TypeError(`${name}: expected an object, got ${describe(v)}`);
  }
}

export function assertFunction(name: string, v: unknown): asserts v is (...a: never[]) => unknown {
  if (typeof v !== 'function') throw new TypeError(`${name}: expected a function, got ${describe(v)}`);
}

export function assertNumber(name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number') throw new TypeError(`${name}: expected a number, got ${describe(v)}`);
  if (Number.isNaN(v)) throw new RangeError(`${name}: expected a number, got NaN`);
}

export function assertInt(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): asserts v is number {
  if (typeof v !== 'number') throw new TypeError(`${name}: expected an integer, got ${describe(v)}`);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${name}: expected an integer in [${min}, ${max}], got ${v}`);
  }
}

/** Optional integer option: undefined gives the default. */
export function intOption(name: string, v: unknown, dflt: number, min: number, max?: number): number {
  if (v === undefined) return dflt;
  assertInt(name, v, min, max);
  return v;
}
