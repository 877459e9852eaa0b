// Argument checks shared by the console's modules. Internal.

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `"${v.slice(0, 40)}"`;
  return typeof v === 'object' || typeof v === 'function' ? `a ${typeof v}` : `${typeof v} ${String(v)}`;
}

/** An integer option `>= min`, or its default when absent. */
export function intOption(name: string, v: unknown, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number') throw new TypeError(`${name}: expected an integer, got ${describe(v)}`);
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${name}: expected an integer >= ${min}, got ${v}`);
  return v;
}

export function assertObject(name: string, v: unknown): void {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TypeError(`${name}: expected an object, got ${describe(v)}`);
}
