/**
 * Stable error codes raised by `@outpost/edge-aggregate`.
 *
 * Codes never change meaning between releases; match on `code`, not on `message`.
 */
export type EdgeAggregateErrorCode =
  /** A feature state handed to `merge`/`fromState` is internally inconsistent. */
  | 'STATE_INVALID'
  /** A sample or chunk was pushed into a pipeline or window after `flush()` closed it. */
  | 'CLOSED'
  /** Two sketches with different relative accuracies cannot be merged. */
  | 'INCOMPATIBLE';

/**
 * The one domain error class of `@outpost/edge-aggregate`. Wrong argument types raise a
 * plain `TypeError` and out-of-range values a `RangeError`; everything else is an
 * `EdgeAggregateError` with a stable {@link EdgeAggregateErrorCode}.
 *
 * @example
 * ```ts
 * import { EdgeAggregateError } from '@outpost/edge-aggregate';
 * const err = new EdgeAggregateError('CLOSED', 'window: push after flush');
 * err.code; // 'CLOSED'
 * err.name; // 'EdgeAggregateError'
 * ```
 */
export class EdgeAggregateError extends Error {
  /** Stable machine-readable code. */
  readonly code: EdgeAggregateErrorCode;

  constructor(code: EdgeAggregateErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EdgeAggregateError';
    this.code = code;
  }
}
