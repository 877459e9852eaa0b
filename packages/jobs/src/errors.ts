import type { DeliveryErrorCode } from './delivery/codes.js';

/**
 * Stable error codes of `@outpost/jobs`.
 *
 * - `BAD_NAME`: a thing name, job id or stream id outside its charset or length.
 * - file delivery (MQTT streams, HTTP ranges, CoAP blocks): see {@link DeliveryErrorCode}.
 *
 * The jobs protocol's own error codes (InvalidRequest, VersionMismatch, TerminalStateReached, …)
 * travel in `/rejected` documents and are added beside these as the protocol lands.
 *
 * @example
 * ```ts
 * import { JobsError, type JobsErrorCode } from '@outpost/jobs';
 * const code: JobsErrorCode = new JobsError('BAD_NAME', 'bad').code;
 * code; // 'BAD_NAME'
 * ```
 */
export type JobsErrorCode = 'BAD_NAME' | DeliveryErrorCode;

/**
 * The error class of `@outpost/jobs`: a stable `code` and a message that says what to do.
 *
 * @example
 * ```ts
 * import { JobsError } from '@outpost/jobs';
 * const e = new JobsError('BAD_NAME', 'job id too long');
 * e instanceof Error; // true
 * ```
 */
export class JobsError extends Error {
  override readonly name = 'JobsError';
  constructor(
    readonly code: JobsErrorCode,
    message: string,
    readonly value?: unknown,
  ) {
    super(message);
  }
}
