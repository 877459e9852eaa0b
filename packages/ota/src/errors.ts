/**
 * Stable error and refusal codes of `@outpost/ota`. Match on `code`, never on `message`.
 *
 * Manifest refusals (returned by `verifyManifest`, thrown by `SlotManager.install`):
 * `SIGNATURE_INVALID`, `UNKNOWN_KEY`, `REVOKED_KEY`, `UNSUPPORTED_ALGORITHM`, `UNKNOWN_CRITICAL`,
 * `MALFORMED` (not CBOR, not deterministic CBOR, duplicate keys, wrong field types),
 * `MANIFEST_TOO_LARGE`, `WRONG_VENDOR`, `WRONG_DEVICE_CLASS`, `WRONG_HW_REVISION`, `DOWNGRADE`,
 * `REPLAY`, `EXPIRED`, `IMAGE_TOO_LARGE`, `KNOWN_BAD` (a version that was rolled back before).
 * Image transfer: `DIGEST_MISMATCH`, `IMAGE_TRUNCATED`, `IMAGE_TOO_LONG`, `STALLED` (below the minimum
 * rate), `DEADLINE`, `ABORTED`. Key sets: `KEYSET_ROLLBACK`. TUF roles: `THRESHOLD_NOT_MET` (fewer valid
 * signatures by distinct keys of the role than its threshold), `ROLE_ROLLBACK` (a root or
 * timestamp version below the trusted one), `ROOT_VERSION_SKIP` (root N+2 before N+1),
 * `TIMESTAMP_REQUIRED`, `NOT_CURRENT` (a manifest the timestamp does not list),
 * `METADATA_TOO_LARGE`. Agent: `AGENT_STATE`, `DOWNLOAD_FAILED` (the image source refused the
 * download: no such stream, an HTTP 4xx, no downloader for its kind). Slots and boot: `NO_VALID_SLOT`,
 * `BAD_STATE` (an operation that does not fit the boot state), `SECURITY_COUNTER` (below the stored
 * counter), `IO_ERROR`. Rollouts: `ROLLOUT_STATE`.
 *
 * @example
 * ```ts
 * import { OtaError, type OtaErrorCode } from '@outpost/ota';
 * const code: OtaErrorCode = 'DOWNGRADE';
 * new OtaError(code, 'version 1.0.0 is below the installed 1.2.0').code; // 'DOWNGRADE'
 * ```
 */
export type OtaErrorCode =
  | 'SIGNATURE_INVALID'
  | 'UNKNOWN_KEY'
  | 'REVOKED_KEY'
  | 'UNSUPPORTED_ALGORITHM'
  | 'UNKNOWN_CRITICAL'
  | 'MALFORMED'
  | 'MANIFEST_TOO_LARGE'
  | 'WRONG_VENDOR'
  | 'WRONG_DEVICE_CLASS'
  | 'WRONG_HW_REVISION'
  | 'DOWNGRADE'
  | 'REPLAY'
  | 'EXPIRED'
  | 'IMAGE_TOO_LARGE'
  | 'KNOWN_BAD'
  | 'DIGEST_MISMATCH'
  | 'IMAGE_TRUNCATED'
  | 'IMAGE_TOO_LONG'
  | 'STALLED'
  | 'DEADLINE'
  | 'ABORTED'
  | 'KEYSET_ROLLBACK'
  | 'NO_VALID_SLOT'
  | 'BAD_STATE'
  | 'SECURITY_COUNTER'
  | 'IO_ERROR'
  | 'ROLLOUT_STATE'
  | 'THRESHOLD_NOT_MET'
  | 'ROLE_ROLLBACK'
  | 'ROOT_VERSION_SKIP'
  | 'TIMESTAMP_REQUIRED'
  | 'NOT_CURRENT'
  | 'METADATA_TOO_LARGE'
  | 'AGENT_STATE'
  | 'DOWNLOAD_FAILED';

/**
 * The one error class of `@outpost/ota`. Wrong argument types raise `TypeError`, out-of-range
 * values `RangeError`; everything else is an `OtaError` with a stable {@link OtaErrorCode}.
 * Messages never contain key material.
 *
 * @example
 * ```ts
 * import { OtaError } from '@outpost/ota';
 * const err = new OtaError('DIGEST_MISMATCH', 'image digest does not match the manifest');
 * err instanceof Error; // true
 * ```
 */
export class OtaError extends Error {
  /** Stable machine-readable code. */
  readonly code: OtaErrorCode;

  constructor(code: OtaErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OtaError';
    this.code = code;
  }
}
