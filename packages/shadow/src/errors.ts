/**
 * Stable error codes of `@outpost/shadow`. The first group mirrors the HTTP-style codes the
 * AWS IoT Device Shadow service puts in its error documents (`status`); the rest are raised by
 * the clients.
 *
 * - `BAD_REQUEST` (400): invalid JSON, no `state`, a section that is not an object, nesting
 *   deeper than 6, a `clientToken` over 64 bytes, `null` inside an array, a bad `version`.
 * - `UNAUTHORIZED` (401), `FORBIDDEN` (403): reported by AWS IoT Core; never raised by the reference service.
 * - `NOT_FOUND` (404): GET or DELETE of a shadow that does not exist.
 * - `VERSION_CONFLICT` (409): the request's `version` is not the shadow's current version.
 * - `PAYLOAD_TOO_LARGE` (413): desired + reported over 8 KB (metadata excluded), or a request over 128 KB.
 * - `UNSUPPORTED_ENCODING` (415): the payload is not UTF-8.
 * - `TOO_MANY_REQUESTS` (429): throttled (AWS: more than 10 requests in flight on one connection).
 * - `INTERNAL` (500): the service failed (e.g. its store could not write).
 * - `TIMEOUT`: no accepted/rejected reply after every retry.
 * - `CLOSED`: the client was closed. `ABORTED`: the caller's `AbortSignal` fired.
 * - `STORE_CORRUPT`: a stored shadow document does not decode.
 *
 * @example
 * ```ts
 * import { ShadowError, type ShadowErrorCode } from '@outpost/shadow';
 * const code: ShadowErrorCode = new ShadowError('VERSION_CONFLICT', 'Version conflict').code;
 * code; // 'VERSION_CONFLICT'
 * ```
 */
export type ShadowErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'VERSION_CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_ENCODING'
  | 'TOO_MANY_REQUESTS'
  | 'INTERNAL'
  | 'TIMEOUT'
  | 'CLOSED'
  | 'ABORTED'
  | 'STORE_CORRUPT';

const STATUS_OF: Partial<Record<ShadowErrorCode, number>> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  VERSION_CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_ENCODING: 415,
  TOO_MANY_REQUESTS: 429,
  INTERNAL: 500,
};

const CODE_OF = new Map<number, ShadowErrorCode>(Object.entries(STATUS_OF).map(([c, s]) => [s, c as ShadowErrorCode]));

/**
 * An AWS shadow error document, as published on `…/rejected` topics:
 * `{ code, message, timestamp, clientToken }` (`code` is the HTTP-style status).
 *
 * @example
 * ```ts
 * import type { ErrorDocument } from '@outpost/shadow';
 * const doc: ErrorDocument = { code: 409, message: 'Version conflict', timestamp: 1700000000 };
 * doc.code; // 409
 * ```
 */
export interface ErrorDocument {
  code: number;
  message: string;
  timestamp: number;
  clientToken?: string;
}

/**
 * The one error class of `@outpost/shadow`, with a stable `code` and, for errors the shadow
 * service returns, the AWS status (`400`, `404`, `409`, `413`, …). Wrong argument types raise
 * a plain `TypeError`.
 *
 * @example
 * ```ts
 * import { ShadowError } from '@outpost/shadow';
 * const err = ShadowError.fromErrorDocument({ code: 404, message: "No shadow exists with name: 'lamp'", timestamp: 1 });
 * err.code; // 'NOT_FOUND'
 * err.status; // 404
 * ```
 */
export class ShadowError extends Error {
  /** Stable machine-readable code. */
  readonly code: ShadowErrorCode;
  /** The AWS status code (HTTP-style), for service errors. */
  readonly status: number | undefined;
  /** The request's client token, when the error answers a request. */
  readonly clientToken: string | undefined;

  constructor(code: ShadowErrorCode, message: string, options: { status?: number; clientToken?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ShadowError';
    this.code = code;
    this.status = options.status ?? STATUS_OF[code];
    this.clientToken = options.clientToken;
  }

  /** The error a `…/rejected` error document stands for. */
  static fromErrorDocument(doc: ErrorDocument): ShadowError {
    const code = CODE_OF.get(doc.code) ?? (doc.code >= 500 ? 'INTERNAL' : 'BAD_REQUEST');
    return new ShadowError(code, doc.message, { status: doc.code, ...(doc.clientToken !== undefined ? { clientToken: doc.clientToken } : {}) });
  }

  /** This error as an AWS error document (`timestamp` in epoch seconds). */
  toErrorDocument(timestamp: number, clientToken?: string): ErrorDocument {
    const token = clientToken ?? this.clientToken;
    return { code: this.status ?? 500, message: this.message, timestamp, ...(token !== undefined ? { clientToken: token } : {}) };
  }
}
