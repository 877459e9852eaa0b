import type { Durability, OverflowPolicy } from './options.js';

/**
 * A snapshot of counters, from `stats()`.
 *
 * @example
 * ```ts
 * import type { BufferStats } from '@outpost/edge-buffer';
 * const usage = (s: BufferStats): string => `${s.records} records, ${s.bytes} bytes, ${s.dropped} dropped`;
 * ```
 */
export interface BufferStats {
  /** Unacknowledged records, appends still being written included. */
  records: number;
  /** Bytes of segments holding an unacknowledged record (what `maxBytes` bounds). */
  bytes: number;
  /** Segment files in use. */
  segments: number;
  /** Seq the next append gets. */
  nextSeq: number;
  /** All seqs at or below are acknowledged (or dropped). */
  ackedSeq: number;
  /** All seqs at or below are covered by a durable checkpoint. */
  durableAckedSeq: number;
  /** Seq of the next record `read` delivers (or a later one). */
  readSeq: number;
  /** Appends that resolved since open. */
  appended: number;
  /** Records discarded by `'drop-oldest'` since open. */
  dropped: number;
  /** Segment files set aside (renamed `*.quarantine`) by recovery at this open. */
  quarantined: number;
  /** Unacknowledged records found unrecoverable since open (at recovery or on read), each also reported by a `lost` event. */
  lostRecords: number;
  /** Bytes cut from a torn tail during recovery. */
  truncatedBytes: number;
  /** Failed appends (write or fsync errors) since open. */
  ioErrors: number;
  durability: Durability;
  overflow: OverflowPolicy;
  closed: boolean;
}
