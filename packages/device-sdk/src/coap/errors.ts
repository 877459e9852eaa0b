/**
 * Stable error codes of `@outpost/device-sdk/coap`. Codes never change meaning between
 * releases; match on `code`, not on `message`.
 *
 * - `TIMEOUT`: a request exhausted its retransmissions (RFC 7252 §4.2) or its response
 *   did not arrive in time; the message says how long the client waited.
 * - `RESPONSE_ERROR`: the server answered with a 4.xx or 5.xx code (in `responseCode`).
 * - `RESET`: the server answered with a Reset message (RFC 7252 §4.2).
 * - `MALFORMED` / `TRUNCATED`: bytes that are not a CoAP message / end too early (with `offset`).
 * - `BLOCK_MISMATCH`: a block-wise transfer (RFC 7959) changed under the client (ETag or
 *   block numbers out of order).
 * - `BODY_TOO_LARGE`: a reassembled body would exceed `maxBodySize`.
 * - `UNSUPPORTED_FORMAT`: a payload cannot be encoded or decoded in the content format asked for.
 * - `DTLS_HANDSHAKE_FAILED`: the DTLS handshake did not complete (a wrong PSK looks like
 *   this: the server stays silent).
 * - `DTLS_UNSUPPORTED`: the server sent a DTLS message node-dtls-client cannot handle
 *   (e.g. a PSK identity hint; start libcoap with `-h ""`).
 * - `NETWORK_ERROR`: the socket failed.
 * - `PSK_REQUIRED`: `coaps://` without this device's PSK, or `coap://` without `insecure: true`.
 * - `CLOSED`: the client was closed while the request was pending.
 * - `ABORTED`: the caller's `AbortSignal` fired.
 */
export type CoapErrorCode =
  | 'TIMEOUT'
  | 'RESPONSE_ERROR'
  | 'RESET'
  | 'MALFORMED'
  | 'TRUNCATED'
  | 'BLOCK_MISMATCH'
  | 'BODY_TOO_LARGE'
  | 'UNSUPPORTED_FORMAT'
  | 'DTLS_HANDSHAKE_FAILED'
  | 'DTLS_UNSUPPORTED'
  | 'NETWORK_ERROR'
  | 'PSK_REQUIRED'
  | 'CLOSED'
  | 'ABORTED';

/** Optional details of a {@link CoapError}. */
export interface CoapErrorDetails {
  /** The underlying error. */
  readonly cause?: unknown;
  /** CoAP response code as `c.dd` (e.g. `'4.04'`) where the server gave one. */
  readonly responseCode?: string;
  /** Byte offset of a codec error. */
  readonly offset?: number;
  /** Milliseconds waited, for `TIMEOUT`. */
  readonly waitedMs?: number;
}

/**
 * The one domain error class of `@outpost/device-sdk/coap`. Wrong argument types raise a
 * plain `TypeError`, out-of-range values a `RangeError`; everything else is a `CoapError`.
 * It is separate from the MQTT client's `DeviceError` because the CoAP subpath stands
 * alone and carries CoAP response codes, not MQTT reason codes.
 *
 * @example
 * ```ts
 * import { CoapError } from '@outpost/device-sdk/coap';
 * const err = new CoapError('RESPONSE_ERROR', 'GET /nope: 4.04 Not Found', { responseCode: '4.04' });
 * err.code; // 'RESPONSE_ERROR'
 * err.responseCode; // '4.04'
 * ```
 */
export class CoapError extends Error {
  /** Stable machine-readable code. */
  readonly code: CoapErrorCode;
  /** CoAP response code (`'4.04'`) where the server gave one. */
  readonly responseCode: string | undefined;
  /** Byte offset for codec errors. */
  readonly offset: number | undefined;
  /** Milliseconds waited, for `TIMEOUT`. */
  readonly waitedMs: number | undefined;

  constructor(code: CoapErrorCode, message: string, details: CoapErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'CoapError';
    this.code = code;
    this.responseCode = details.responseCode;
    this.offset = details.offset;
    this.waitedMs = details.waitedMs;
  }
}
