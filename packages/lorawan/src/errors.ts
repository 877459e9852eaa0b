/**
 * Stable error codes raised by `@outpost/lorawan`.
 *
 * Codes never change meaning between releases; match on `code`, not on `message`.
 * A bad MIC is not an error: {@link decodeFrame} reports it as `mic: 'invalid'`.
 */
export type LoRaWANErrorCode =
  // codec
  | 'TRUNCATED'
  | 'MALFORMED'
  | 'UNKNOWN_CID'
  | 'MIC_INVALID'
  | 'MISSING_KEY'
  // frame counters
  | 'REPLAY'
  | 'FCNT_EXHAUSTED'
  // regulatory
  | 'DUTY_CYCLE_EXCEEDED'
  | 'DWELL_TIME_EXCEEDED'
  | 'PAYLOAD_TOO_LARGE'
  | 'NO_CHANNEL'
  | 'BUDGET_EXCEEDED'
  // payload codecs (TS013)
  | 'CODEC_INVALID';

/**
 * The one domain error class of `@outpost/lorawan`. Wrong argument types raise a plain
 * `TypeError` and out-of-range values a `RangeError`; protocol and regulatory failures
 * are a `LoRaWANError` with a stable {@link LoRaWANErrorCode}.
 *
 * @example
 * ```ts
 * import { LoRaWANError } from '@outpost/lorawan';
 * const err = new LoRaWANError('REPLAY', 'fCnt 7 is not above the last accepted 9', { offset: 6 });
 * err.code;   // 'REPLAY'
 * err.offset; // 6
 * ```
 */
export class LoRaWANError extends Error {
  /** Stable machine-readable code. */
  readonly code: LoRaWANErrorCode;
  /** Byte offset in the input where decoding failed, when the error comes from a decoder. */
  readonly offset: number | undefined;
  /** Earliest time (ms, same clock as the input) at which retrying can succeed, for budget errors. */
  readonly retryAt: number | undefined;
  /** What was decoded before the failure (MAC commands before an unknown CID). */
  readonly partial: unknown;

  constructor(
    code: LoRaWANErrorCode,
    message: string,
    options?: { offset?: number; retryAt?: number; partial?: unknown; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LoRaWANError';
    this.code = code;
    this.offset = options?.offset;
    this.retryAt = options?.retryAt;
    this.partial = options?.partial;
  }
}
