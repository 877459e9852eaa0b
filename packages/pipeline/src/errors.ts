/**
 * Stable error codes raised by `@outpost/pipeline`.
 *
 * Codes never change meaning between releases; match on `code`, not on `message`.
 */
export type PipelineErrorCode =
  /** A payload could not be decoded as the configured format (CBOR, JSON or SenML). */
  | 'DECODE_FAILED'
  /** A payload decoded but does not have the telemetry shape (missing device, time, metric…). */
  | 'SCHEMA_INVALID'
  /** A payload is larger than the configured maximum. */
  | 'OVERSIZED'
  /** A sink failed for good (after its retries) to accept a batch. */
  | 'SINK_FAILED'
  /** the sink refused the points for good (e.g. HTTP 4xx); retrying cannot help */
  | 'SINK_REJECTED'
  /** A write or push after `close()`. */
  | 'CLOSED'
  /** A rules file or rule definition is invalid. */
  | 'RULES_INVALID'
  /** An alert could not be delivered (webhook, MQTT) after its retries. */
  | 'ALERT_DELIVERY_FAILED'
  /** A lake file operation failed (write, fsync, rename). */
  | 'LAKE_IO'
  /** A database (PostgreSQL or DuckDB) operation failed. */
  | 'DB_FAILED'
  /** An optional peer dependency (such as `@duckdb/node-api`) is not installed. */
  | 'PEER_MISSING'
  /** The broker refused the connection or the subscription. */
  | 'INGEST_FAILED';

/**
 * The one domain error class of `@outpost/pipeline`. Wrong argument types raise a plain
 * `TypeError` and out-of-range values a `RangeError`; everything else is a `PipelineError`
 * with a stable {@link PipelineErrorCode}.
 *
 * @example
 * ```ts
 * import { PipelineError } from '@outpost/pipeline';
 * const err = new PipelineError('OVERSIZED', 'payload of 70000 bytes exceeds maxPayloadBytes 65536');
 * err.code; // 'OVERSIZED'
 * err.name; // 'PipelineError'
 * ```
 */
export class PipelineError extends Error {
  /** Stable machine-readable code. */
  readonly code: PipelineErrorCode;

  constructor(code: PipelineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PipelineError';
    this.code = code;
  }
}
