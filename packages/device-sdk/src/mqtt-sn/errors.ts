/**
 * Stable error codes raised by `@outpost/device-sdk/mqtt-sn`.
 *
 * Codes never change meaning between releases; match on `code`, not on `message`.
 */
export type MqttSnErrorCode =
  // codec
  | 'INCOMPLETE'
  | 'MALFORMED'
  | 'UNKNOWN_TYPE'
  | 'TOO_LARGE'
  // protocol
  | 'REJECTED'
  | 'TIMEOUT'
  | 'NOT_CONNECTED'
  | 'INVALID_TOPIC'
  | 'CLOSED'
  | 'ABORTED'
  | 'NETWORK_ERROR';

/**
 * The one domain error class of the MQTT-SN stack. Wrong argument types raise a plain
 * `TypeError` and out-of-range values a `RangeError`; everything else is an `MqttSnError`
 * with a stable {@link MqttSnErrorCode}, the byte `offset` for decoder errors, and the
 * MQTT-SN `returnCode` (MQTT-SN 1.2 §5.3.10) when a gateway rejected a request.
 *
 * @example
 * ```ts
 * import { MqttSnError } from '@outpost/device-sdk/mqtt-sn';
 * const err = new MqttSnError('INCOMPLETE', 'PUBLISH: need 9 bytes, got 5', { offset: 5, needed: 4 });
 * err.code;   // 'INCOMPLETE'
 * err.offset; // 5
 * err.needed; // 4
 * ```
 */
export class MqttSnError extends Error {
  /** Stable machine-readable code. */
  readonly code: MqttSnErrorCode;
  /** Byte offset in the input where decoding failed (decoder errors only). */
  readonly offset: number | undefined;
  /** For `INCOMPLETE`: how many more bytes the message needs. */
  readonly needed: number | undefined;
  /** MQTT-SN ReturnCode (1 congestion, 2 invalid topic id, 3 not supported) for `REJECTED`. */
  readonly returnCode: number | undefined;

  constructor(
    code: MqttSnErrorCode,
    message: string,
    options?: { offset?: number; needed?: number; returnCode?: number; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MqttSnError';
    this.code = code;
    this.offset = options?.offset;
    this.needed = options?.needed;
    this.returnCode = options?.returnCode;
  }
}
