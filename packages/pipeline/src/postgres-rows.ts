// PostgreSQL sink internals: the row text a point becomes, COPY escaping, which errors are
// transient, identifiers and time literals, and the retry loop of schema work and queries.
import type pg from 'pg';
import { PipelineError } from './errors.js';
import type { LakeClock } from './lake.js';
import { describe } from './validate.js';

/**
 * Earliest point time the PostgreSQL sink stores, in epoch ms: 0001-01-01T00:00:00.000Z. Points
 * outside years 0001–9999 are rejected by `write` (RangeError) rather than failing a batch.
 *
 * @example
 * ```ts
 * import { PG_MIN_TIME } from '@outpost/pipeline';
 * new Date(PG_MIN_TIME).toISOString(); // '0001-01-01T00:00:00.000Z'
 * ```
 */
export const PG_MIN_TIME = -62_135_596_800_000;
/**
 * Latest point time the PostgreSQL sink stores, in epoch ms: 9999-12-31T23:59:59.999Z.
 *
 * @example
 * ```ts
 * import { PG_MAX_TIME } from '@outpost/pipeline';
 * new Date(PG_MAX_TIME).toISOString(); // '9999-12-31T23:59:59.999Z'
 * ```
 */
export const PG_MAX_TIME = 253_402_300_799_999;

export const DAY_MS = 86_400_000;

/** One point as the database receives it. */
export interface Row {
  readonly device: string;
  readonly time: string;
  readonly metric: string;
  readonly value: number | null;
  readonly extra: string | null;
  readonly ms: number;
}

export function enumOption<T extends string>(name: string, v: unknown, allowed: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (typeof v !== 'string') throw new TypeError(`${name}: expected one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(v)}`);
  if (!(allowed as readonly string[]).includes(v)) throw new RangeError(`${name}: expected one of ${allowed.map((a) => `'${a}'`).join(', ')}, got '${v}'`);
  return v as T;
}

export function assertMs(name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number') throw new TypeError(`${name}: expected epoch milliseconds (an integer), got ${describe(v)}`);
  if (!Number.isSafeInteger(v)) throw new RangeError(`${name}: expected epoch milliseconds (a safe integer), got ${v}`);
}

export function optionalString(name: string, v: unknown): string | null {
  if (v === undefined) return null;
  if (typeof v !== 'string') throw new TypeError(`${name}: expected a string, got ${describe(v)}`);
  return v;
}

let hourOf = NaN;
let hourPrefix = '';
const two = (n: number): string => (n < 10 ? `0${n}` : String(n));

/**
 * `new Date(ms).toISOString()` for the sink's rows, formatted from a remembered hour prefix
 * (`YYYY-MM-DDTHH:`): formatting every point's time was the sink's largest cost per point.
 * Years outside 0000–9999 take the slow path (the schema stops at 2262 anyway).
 */
export function isoTime(ms: number): string {
  if (ms < 0 || ms > PG_MAX_TIME) return new Date(ms).toISOString();
  const hour = Math.floor(ms / 3_600_000);
  if (hour !== hourOf) {
    hourPrefix = new Date(hour * 3_600_000).toISOString().slice(0, 14);
    hourOf = hour;
  }
  const r = ms - hour * 3_600_000;
  const milli = r % 1000;
  return `${hourPrefix}${two(Math.floor(r / 60_000))}:${two(Math.floor((r % 60_000) / 1000))}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

/** COPY text format: backslash, tab, newline and carriage return are escaped; `\N` is NULL. */
const COPY_SPECIAL = /[\\\t\n\r]/g;
const HAS_COPY_SPECIAL = /[\\\t\n\r]/;
function copyEscape(s: string): string {
  if (!HAS_COPY_SPECIAL.test(s)) return s;
  return s.replace(COPY_SPECIAL, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

export function* copyChunks(rows: readonly Row[]): Generator<string> {
  let chunk = '';
  for (const r of rows) {
    chunk += `${copyEscape(r.device)}\t${r.time}\t${copyEscape(r.metric)}\t${r.value === null ? '\\N' : String(r.value)}\t${r.extra === null ? '\\N' : copyEscape(r.extra)}\n`;
    if (chunk.length >= 65_536) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}

const TRANSIENT_SQLSTATE = new Set(['57P01', '57P02', '57P03', '40001', '40P01', '53300', '55P03']);
const TRANSIENT_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** Transient: worth retrying the whole batch (it is idempotent, so even an unknown COMMIT outcome is safe to repeat). */
export function isTransient(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (TRANSIENT_SQLSTATE.has(code) || TRANSIENT_ERRNO.has(code) || code.startsWith('08')) return true;
  const msg = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|connection error|not queryable|timeout exceeded when trying to connect|Client was closed/i.test(msg);
}

export function sqlstate(err: unknown): string {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : '';
}

export function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

export function partitionName(table: string, start: number, intervalMs: number): string {
  const iso = new Date(start).toISOString(); // YYYY-MM-DDTHH:MM
  const day = iso.slice(0, 10).replace(/-/g, '');
  return intervalMs % DAY_MS === 0 ? `${table}_p${day}` : `${table}_p${day}_${iso.slice(11, 13)}${iso.slice(14, 16)}`;
}

/** A timestamptz literal for a query bound: ±infinity outside the storable range. */
export function boundLiteral(ms: number): string {
  if (ms < PG_MIN_TIME) return '-infinity';
  if (ms > PG_MAX_TIME) return 'infinity';
  return new Date(ms).toISOString();
}

export const MS = (col: string): string => `(extract(epoch from ${col}) * 1000)::float8`;

/** The retry policy of schema work and queries (batches retry on the shared batcher). */
export interface RetryPolicy {
  /** Attempts in all, first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly clock: LakeClock;
  /** Counts every retry. */
  onRetry(): void;
}

/** Runs `fn`, retrying transient failures with a doubling delay (capped); other errors at once. */
export async function withRetry<T>(fn: () => Promise<T>, r: RetryPolicy): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof PipelineError) throw err;
      if (!isTransient(err) || attempt >= r.attempts) throw err;
      r.onRetry();
      const ms = Math.min(r.maxDelayMs, r.baseDelayMs * 2 ** (attempt - 1));
      await new Promise<void>((resolve) => r.clock.setTimeout(resolve, ms));
    }
  }
}

/**
 * Runs `fn` on a pooled connection. A checked-out client whose server dies between two queries
 * emits 'error' (unhandled, it would crash the process): it is caught, and the next query fails
 * instead. A connection that broke (or failed transiently) is discarded, not returned to the pool.
 */
export async function withClient<T>(pool: pg.Pool, fn: (client: pg.PoolClient, broke: (e: Error) => void) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const broke = (e: Error): void => {
    broken = e;
  };
  client.on('error', broke);
  try {
    return await fn(client, broke);
  } catch (err) {
    if (isTransient(err)) broken = err as Error;
    throw err;
  } finally {
    client.off('error', broke);
    client.release(broken);
  }
}
