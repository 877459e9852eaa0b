/**
 * Stable error codes raised by `@outpost/device-sdk`.
 *
 * Codes never change meaning between releases; match on `code`, not on `message`.
 */
export type DeviceErrorCode =
  // identity and certificates
  | 'CERT_REQUIRED'
  | 'CERT_INVALID'
  | 'CERT_IDENTITY_MISMATCH'
  | 'CERT_KEY_MISMATCH'
  | 'CERT_EXPIRED'
  | 'CERT_NOT_YET_VALID'
  | 'CERT_UNTRUSTED'
  | 'WEAK_SIGNATURE'
  | 'WEAK_KEY'
  | 'UNSUPPORTED_CURVE'
  | 'SHARED_CREDENTIAL'
  | 'KEY_ALREADY_REGISTERED'
  | 'DEVICE_ALREADY_REGISTERED'
  | 'CA_NOT_FOUND'
  | 'CA_EXISTS'
  /** The fleet provisioning service answered `/rejected` to provisionByClaim or rotateCertificate (its statusCode is the `reasonCode`). */
  | 'PROVISIONING_REJECTED'
  // connection
  | 'TLS_HANDSHAKE_FAILED'
  | 'SERVER_CERT_UNTRUSTED'
  | 'CONNECTION_REFUSED'
  | 'NOT_AUTHORIZED'
  | 'CONNECT_TIMEOUT'
  /** No PINGRESP in time: `ping()`'s timeout, or 1.5 × Keep Alive without one (MQTT 3.1.1 §3.1.2.10). */
  | 'PING_TIMEOUT'
  | 'NETWORK_ERROR'
  /** The broker accepted TCP and dropped it before its TLS handshake: out of descriptors or at max_connections. */
  | 'BROKER_UNAVAILABLE'
  | 'NOT_CONNECTED'
  | 'CLOSED'
  | 'ABORTED'
  // operations
  | 'PUBLISH_FAILED'
  | 'SUBSCRIBE_FAILED'
  | 'UNSUBSCRIBE_FAILED'
  /** `request()` got no answer with its correlation data in time. */
  | 'REQUEST_TIMEOUT'
  | 'QUEUE_FULL'
  | 'MALFORMED_RECORD'
  | 'RECONNECT_EXHAUSTED'
  | 'INVALID_TOPIC'
  | 'INVALID_OPTION';

/**
 * The one error class of `@outpost/device-sdk`. Wrong argument types raise a plain
 * `TypeError` and out-of-range values a `RangeError`; everything else is a `DeviceError`.
 *
 * @example
 * ```ts
 * import { DeviceError } from '@outpost/device-sdk';
 * const err = new DeviceError('CERT_REQUIRED', 'connectDevice: cert, key and ca are required');
 * err.code; // 'CERT_REQUIRED'
 * ```
 */
export class DeviceError extends Error {
  /** Stable machine-readable code. */
  readonly code: DeviceErrorCode;
  /** MQTT reason code (MQTT 5) or CONNACK return code (3.1.1) where the broker gave one. */
  readonly reasonCode: number | undefined;

  constructor(code: DeviceErrorCode, message: string, options?: { cause?: unknown; reasonCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DeviceError';
    this.code = code;
    this.reasonCode = options?.reasonCode;
  }
}
