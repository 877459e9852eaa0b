/**
 * The one way the package names a wrong value in an argument error: "expected a number, got
 * string '300'". Internal (not exported from the package); identity/args.ts re-exports it.
 */

/** Short description of a value for error messages: kind and, for numbers and short strings, the value. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'Uint8Array';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : `number ${value}`;
  if (typeof value === 'string') return `string '${value.length > 20 ? `${value.slice(0, 20)}…` : value}'`;
  return typeof value;
}
