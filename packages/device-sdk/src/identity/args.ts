// Argument checks of the device-side identity checks: TypeError for a wrong type, RangeError for
// a bad value. Internal, except the device id rule (deviceIdProblem), which the package exports:
// @outpost/pki checks ids with it, so a CA and a device agree on what an id is.

import { describe } from '../describe.js';

/** Throws a TypeError unless `value` is a plain object (the options bag). */
export function assertOptions(fn: string, value: unknown): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${fn}: options: expected an object, got ${describe(value)}`);
  }
}

export { describe };

export function optionalString(fn: string, field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new TypeError(`${fn}: ${field}: expected a string, got ${describe(value)}`);
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

/** Longest device id: X.520 ub-common-name (RFC 5280 Appendix A), since the id is the certificate's CN. */
export const MAX_DEVICE_ID_LENGTH = 64;

/** The device id charset: ASCII letters, digits, `.`, `_` and `-`, 1 to 64 of them. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Why `value` is not a device id, or `undefined` when it is one: the one device id rule, which
 * `@outpost/pki` applies when it issues a certificate. A device id becomes the
 * certificate CN, the Mosquitto username and client id (`use_identity_as_username`,
 * `use_username_as_clientid`) and one MQTT topic level (`devices/<id>/...`): a `/` would add
 * levels (Mosquitto expands `devices/%u/#` for CN `dev-a/x` to `devices/dev-a/x/#`, inside
 * dev-a's tree), `+` `#` are wildcards (MQTT 3.1.1 §4.7.1), `*` `$` `%` are special to brokers
 * and ACL patterns, and non-ASCII text has several encodings. So: `[A-Za-z0-9._-]{1,64}`.
 *
 * @example
 * ```ts
 * import { deviceIdProblem } from '@outpost/device-sdk';
 * deviceIdProblem('pump-7'); // undefined
 * deviceIdProblem('pump/7'); // '"/" at offset 4 is not allowed in a device id (allowed: A-Z a-z 0-9 . _ -)'
 * ```
 */
export function deviceIdProblem(value: string): string | undefined {
  if (typeof value !== 'string') throw new TypeError(`deviceIdProblem: value: expected a string, got ${describe(value)}`);
  if (DEVICE_ID_PATTERN.test(value)) return undefined;
  if (value.length === 0) return 'expected a non-empty device id';
  const chars = [...value];
  if (chars.length > MAX_DEVICE_ID_LENGTH) return `expected at most ${MAX_DEVICE_ID_LENGTH} characters, got ${chars.length}`;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (!/[A-Za-z0-9._-]/.test(ch)) {
      const c = value.charCodeAt(i);
      const shown = c < 0x20 || c >= 0x7f ? `U+${c.toString(16).padStart(4, '0')}` : `"${ch}"`;
      return `${shown} at offset ${i} is not allowed in a device id (allowed: A-Z a-z 0-9 . _ -)`;
    }
  }
  return 'not a device id';
}


