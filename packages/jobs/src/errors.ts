import type { DeliveryErrorCode } from './delivery/codes.js';

/**
 * Stable error codes of `@outpost/jobs`.
 *
 * - `BAD_NAME`: a thing name, job id or stream id outside its charset or length.
 * - {@link JobsRejectCode}s (`InvalidRequest`, `VersionMismatch`, `TerminalStateReached`, …): the
 *   jobs protocol's own codes, as a `/rejected` document carries them.
 * - `ResourceAlreadyExists`: `createJob` with a job id in use (AWS CreateJob's ResourceAlreadyExistsException).
 * - `TIMEOUT`: a jobs request got no answer within the client's retries (on MQTT 3.1.1 also what a
 *   request the broker's ACL denies ends in: the broker acknowledges it silently).
 * - `NOT_AUTHORIZED`: the broker refused a jobs request's PUBLISH as not authorized (MQTT 5 PUBACK
 *   reason code 0x87: this identity's ACL does not allow the topic); failed at once, not retried.
 *   `value` is `{ reasonCode: 0x87, topic }`. A stream download ends with it too when the broker
 *   refuses its SUBSCRIBE (SUBACK ≥ 0x80) or a DescribeStream/GetStream PUBLISH.
 * - `CLOSED`: the client, service or store was closed.
 * - `STORE_CORRUPT`: a job store file holds something other than a torn last write.
 * - file delivery (MQTT streams, HTTP ranges, CoAP blocks): see {@link DeliveryErrorCode}.
 *
 * @example
 * ```ts
 * import { JobsError, type JobsErrorCode } from '@outpost/jobs';
 * const code: JobsErrorCode = new JobsError('BAD_NAME', 'bad').code;
 * code; // 'BAD_NAME'
 * ```
 */
export type JobsErrorCode =
  | 'BAD_NAME'
  // jobs channel: AWS IoT Jobs ErrorResponse codes, then Outpost's own
  | JobsRejectCode
  | 'ResourceAlreadyExists'
  | 'TIMEOUT'
  | 'NOT_AUTHORIZED'
  | 'CLOSED'
  | 'STORE_CORRUPT'
  // file delivery (MQTT streams, HTTP ranges, CoAP blocks)
  | DeliveryErrorCode;

/**
 * The `code` of an AWS IoT Jobs `ErrorResponse` (AWS IoT Core Developer Guide, "Jobs device MQTT
 * API", ErrorResponse): what a `/rejected` document carries.
 *
 * @example
 * ```ts
 * import type { JobsRejectCode } from '@outpost/jobs';
 * const code: JobsRejectCode = 'VersionMismatch';
 * code; // 'VersionMismatch'
 * ```
 */
export type JobsRejectCode =
  | 'InvalidTopic'
  | 'InvalidJson'
  | 'InvalidRequest'
  | 'InvalidStateTransition'
  | 'ResourceNotFound'
  | 'VersionMismatch'
  | 'InternalError'
  | 'RequestThrottled'
  | 'TerminalStateReached';

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
