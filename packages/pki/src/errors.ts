/**
 * Stable error codes raised by `@outpost/pki`. The identity codes keep the names and meanings
 * they had when these functions lived in `@outpost/device-sdk` (where `DeviceError` carries the
 * same codes for the device-side checks).
 *
 * Codes never change meaning between releases; match on `code`, not on `message`.
 */
export type PkiErrorCode =
  | 'CERT_INVALID'
  | 'CERT_KEY_MISMATCH'
  | 'CERT_UNTRUSTED'
  | 'SHARED_CREDENTIAL'
  | 'KEY_ALREADY_REGISTERED'
  | 'DEVICE_ALREADY_REGISTERED'
  | 'CA_NOT_FOUND'
  | 'CA_EXISTS'
  | 'REGISTRY_CORRUPT'
  | 'INVALID_OPTION';

/**
 * The one error class of `@outpost/pki`. Wrong argument types raise a plain `TypeError` and
 * out-of-range values a `RangeError`; everything else is a `PkiError`.
 *
 * @example
 * ```ts
 * import { PkiError } from '@outpost/pki';
 * const err = new PkiError('CA_EXISTS', 'initCaDir: /etc/outpost/ca already holds a CA');
 * err.code; // 'CA_EXISTS'
 * err.name; // 'PkiError'
 * ```
 */
export class PkiError extends Error {
  /** Stable machine-readable code. */
  readonly code: PkiErrorCode;

  constructor(code: PkiErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PkiError';
    this.code = code;
  }
}
