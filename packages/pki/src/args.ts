// Internal argument checks of the fleet-side PKI: TypeError for a wrong type, RangeError for a
// bad value. Not exported from the package. The device id rule is device-sdk's (a device checks
// its own certificate against it), imported from its public entry so there is one rule.

import { deviceIdProblem } from '@outpost/device-sdk';

/** Short description of a value for error messages: kind and, for numbers and short strings, the value. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'Uint8Array';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : `number ${value}`;
  if (typeof value === 'string') return `string '${value.length > 20 ? `${value.slice(0, 20)}…` : value}'`;
  return typeof value;
}

/** Throws a TypeError unless `value` is a plain object (the options bag). */
export function assertOptions(fn: string, value: unknown): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${fn}: options: expected an object, got ${describe(value)}`);
  }
}

export function optionalString(fn: string, field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new TypeError(`${fn}: ${field}: expected a string, got ${describe(value)}`);
  return value;
}

export function requiredString(fn: string, field: string, value: unknown): string {
  if (typeof value !== 'string') throw new TypeError(`${fn}: ${field}: expected a string, got ${describe(value)}`);
  if (value.length === 0) throw new RangeError(`${fn}: ${field}: expected a non-empty string`);
  return value;
}

export function optionalBoolean(fn: string, field: string, value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new TypeError(`${fn}: ${field}: expected a boolean, got ${describe(value)}`);
  return value;
}

export function optionalInt(fn: string, field: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw new TypeError(`${fn}: ${field}: expected a number, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${fn}: ${field}: expected an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

export function optionalDate(fn: string, field: string, value: unknown): Date | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Date)) throw new TypeError(`${fn}: ${field}: expected a Date, got ${describe(value)}`);
  if (Number.isNaN(value.getTime())) throw new RangeError(`${fn}: ${field}: invalid Date`);
  return value;
}

/** PEM input: a string, or the bytes of PEM text (e.g. a file read without an encoding). */
export function pemText(fn: string, field: string, value: unknown): string {
  if (typeof value === 'string') {
    if (value.length === 0) throw new RangeError(`${fn}: ${field}: expected PEM text, got an empty string`);
    return value;
  }
  if (value instanceof Uint8Array) {
    if (value.byteLength === 0) throw new RangeError(`${fn}: ${field}: expected PEM text, got 0 bytes`);
    return new TextDecoder().decode(value);
  }
  throw new TypeError(`${fn}: ${field}: expected PEM text (string or Uint8Array), got ${describe(value)}`);
}

/** Throws a TypeError for a non-string and a RangeError for a string that is not a device id (device-sdk's rule). */
export function checkDeviceId(fn: string, value: unknown, field = 'deviceId'): string {
  if (typeof value !== 'string') throw new TypeError(`${fn}: ${field}: expected a string, got ${describe(value)}`);
  const problem = deviceIdProblem(value);
  if (problem !== undefined) throw new RangeError(`${fn}: ${field}: ${problem}`);
  return value;
}
