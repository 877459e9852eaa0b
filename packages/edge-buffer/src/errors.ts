/**
 * Stable error codes raised by `@outpost/edge-buffer`.
 *
 * Codes never change meaning between releases; match on `code`, not on `message`.
 *
 * - `BUFFER_FULL`: `append` refused because the buffer is at `maxBytes`/`maxRecords` and the
 *   overflow policy is `'reject'`. Nothing was written; retry after the consumer acknowledges.
 * - `RECORD_TOO_LARGE`: the payload is longer than `maxRecordBytes`.
 * - `CLOSED`: the buffer was closed before or while the operation ran.
 * - `IO_ERROR`: the file system failed (ENOSPC, EIO, a failed fsync…). The append that hit it
 *   was not stored; the buffer stays readable and later appends try again.
 * - `CORRUPT`: stored bytes failed validation (bad magic, CRC mismatch, broken sequence).
 * - `ABORTED`: the caller's `AbortSignal` fired.
 * - `BUSY`: a second `drain` was started while one is running.
 *
 * @example
 * ```ts
 * import { BufferError, type BufferErrorCode } from '@outpost/edge-buffer';
 * const retryable = (err: unknown): boolean => err instanceof BufferError && (['BUFFER_FULL', 'IO_ERROR'] as BufferErrorCode[]).includes(err.code);
 * retryable(new BufferError('BUFFER_FULL', 'full')); // true
 * ```
 */
export type BufferErrorCode =
  | 'BUFFER_FULL'
  | 'RECORD_TOO_LARGE'
  | 'CLOSED'
  | 'IO_ERROR'
  | 'CORRUPT'
  | 'ABORTED'
  | 'BUSY';

/**
 * The one error class of `@outpost/edge-buffer`. Wrong argument types raise a plain
 * `TypeError` and out-of-range values a `RangeError`; everything else is a `BufferError`.
 *
 * @example
 * ```ts
 * import { BufferError } from '@outpost/edge-buffer';
 * const err = new BufferError('BUFFER_FULL', 'append: buffer is full (maxBytes 1048576)');
 * err.code; // 'BUFFER_FULL'
 * err instanceof Error; // true
 * ```
 */
export class BufferError extends Error {
  /** Stable machine-readable code. */
  readonly code: BufferErrorCode;

  constructor(code: BufferErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BufferError';
    this.code = code;
  }
}

/** Wraps a file-system failure in an `IO_ERROR`, keeping the errno code in the message. */
export function ioError(what: string, cause: unknown): BufferError {
  const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String((cause as { code: unknown }).code) : 'unknown';
  return new BufferError('IO_ERROR', `${what} failed (${code}); the operation was not stored`, { cause });
}
