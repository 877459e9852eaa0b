/**
 * Error codes of file delivery (MQTT streams, HTTP ranges, CoAP blocks), carried by `JobsError`.
 *
 * - `BAD_MESSAGE`: a stream message that does not decode or breaks a field rule (the offending
 *   field is named in the message).
 * - `STREAM_REJECTED`: the stream server answered on `/rejected` (`value` is the document).
 * - `DIGEST_MISMATCH`: the finished file's SHA-256 differs from the expected digest; the partial
 *   file and its journal are removed, so a new attempt starts at byte 0.
 * - `SOURCE_CHANGED`: the file changed on the server during a download (HTTP `ETag`, CoAP `ETag`,
 *   stream version or size); the partial file is discarded.
 * - `TIMEOUT`: no progress within the retry budget.
 * - `BAD_RESPONSE`: an HTTP or CoAP answer that breaks the protocol (wrong `Content-Range`, a
 *   block of the wrong size, an unexpected status).
 * - `ABORTED`: the caller's `AbortSignal` fired.
 *
 * @example
 * ```ts
 * import type { DeliveryErrorCode } from '@outpost/jobs';
 * const code: DeliveryErrorCode = 'DIGEST_MISMATCH';
 * code; // 'DIGEST_MISMATCH'
 * ```
 */
export type DeliveryErrorCode = 'BAD_MESSAGE' | 'STREAM_REJECTED' | 'DIGEST_MISMATCH' | 'SOURCE_CHANGED' | 'TIMEOUT' | 'BAD_RESPONSE' | 'ABORTED';
