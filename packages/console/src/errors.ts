/**
 * Stable error codes of `@outpost/console`.
 *
 * - `INSECURE_BIND`: a non-loopback `host` without `tls` (the token would cross the network in clear).
 * - `BAD_REQUEST` (400): a malformed query or body (the HTTP answer carries the message).
 * - `UNAUTHORIZED` (401): no session, or a wrong token at the login.
 * - `CSRF` (403): a write without the session's CSRF token, or from another origin.
 * - `NOT_FOUND` (404): no such route, device or shadow.
 * - `PAYLOAD_TOO_LARGE` (413): a request body over `maxBodyBytes`.
 * - `NO_STORE` (501) / `NO_SHADOW` (501): history or shadows asked of a console started without them.
 * - `UPSTREAM` (502): the store or the shadow service failed.
 * - `CLOSED`: the console was closed.
 *
 * @example
 * ```ts
 * import { ConsoleError, type ConsoleErrorCode } from '@outpost/console';
 * const code: ConsoleErrorCode = new ConsoleError('CSRF', 'missing X-CSRF-Token').code;
 * code; // 'CSRF'
 * ```
 */
export type ConsoleErrorCode =
  | 'INSECURE_BIND'
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'CSRF'
  | 'NOT_FOUND'
  | 'PAYLOAD_TOO_LARGE'
  | 'NO_STORE'
  | 'NO_SHADOW'
  | 'UPSTREAM'
  | 'CLOSED';

const STATUS: Record<ConsoleErrorCode, number> = {
  INSECURE_BIND: 500,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  CSRF: 403,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  NO_STORE: 501,
  NO_SHADOW: 501,
  UPSTREAM: 502,
  CLOSED: 503,
};

/**
 * Every failure of the console, with a stable `code` and the HTTP status it is answered with.
 *
 * @example
 * ```ts
 * import { ConsoleError } from '@outpost/console';
 * const e = new ConsoleError('NOT_FOUND', 'no device "pump-9"');
 * e.status; // 404
 * e instanceof Error; // true
 * ```
 */
export class ConsoleError extends Error {
  /** The stable code. */
  readonly code: ConsoleErrorCode;
  /** The HTTP status a request failing with this error is answered with. */
  readonly status: number;
  constructor(code: ConsoleErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConsoleError';
    this.code = code;
    this.status = STATUS[code];
  }
}
