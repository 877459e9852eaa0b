// PostgreSQL sink internals: the TimeSeriesQueries (last values, downsampled series, gaps).
import type pg from 'pg';
import { assertMs, boundLiteral, MS, optionalString } from './postgres-rows.js';
import type { SchemaInfo } from './postgres-schema.js';
import type { Gap, LastValue, SeriesBucket, TimeSeriesQueries } from './types.js';
import { describe, intOption } from './validate.js';

/** What the queries need from the sink. */
export interface QueryContext {
  /** Quoted table name. */
  readonly table: string;
  /** Runs a query after the schema exists (CLOSED, retries and DB_FAILED are the sink's). */
  query<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<R[]>;
  /** Ensures the schema; its kind picks `time_bucket` or `date_bin`. */
  ensureSchema(): Promise<SchemaInfo>;
}

function assertRange(q: Record<string, unknown>, name: string): void {
  assertMs(`${name}.from`, q['from']);
  assertMs(`${name}.to`, q['to']);
  if ((q['from'] as number) > (q['to'] as number)) throw new RangeError(`${name}: expected from <= to, got from ${String(q['from'])} > to ${String(q['to'])}`);
}

/** The queries over one sink's table. */
export function postgresQueries(ctx: QueryContext): TimeSeriesQueries {
  const { table, query } = ctx;
  async function lastValues(filter?: { readonly metric?: string; readonly device?: string }): Promise<LastValue[]> {
    if (filter !== undefined && (typeof filter !== 'object' || filter === null)) throw new TypeError(`filter: expected an object, got ${describe(filter)}`);
    const metric = optionalString('filter.metric', filter?.metric);
    const device = optionalString('filter.device', filter?.device);
    // DISTINCT ON walks the (device, metric, time DESC) index; the outer sort uses byte order
    // ("C") so the result is ordered the same as in the DuckDB store, whatever the DB collation.
    const rows = await query<{ device: string; metric: string; time: number; value: number | null }>(
      `SELECT device, metric, time, value FROM (
         SELECT DISTINCT ON (device, metric) device, metric, ${MS('time')} AS time, value
         FROM ${table}
         WHERE ($1::text IS NULL OR metric = $1) AND ($2::text IS NULL OR device = $2)
         ORDER BY device, metric, time DESC) AS last
       ORDER BY device COLLATE "C", metric COLLATE "C"`,
      [metric, device],
    );
    return rows.map((r) => ({ device: r.device, metric: r.metric, time: r.time, value: r.value }));
  }

  async function downsample(q: { readonly device: string; readonly metric: string; readonly from: number; readonly to: number; readonly bucketMs: number }): Promise<SeriesBucket[]> {
    if (typeof q !== 'object' || q === null) throw new TypeError(`query: expected an object, got ${describe(q)}`);
    if (typeof q.device !== 'string') throw new TypeError(`query.device: expected a string, got ${describe(q.device)}`);
    if (typeof q.metric !== 'string') throw new TypeError(`query.metric: expected a string, got ${describe(q.metric)}`);
    assertRange(q as unknown as Record<string, unknown>, 'query');
    intOption('query.bucketMs', q.bucketMs, 0, 1);
    if (q.from === q.to) return [];
    const { kind } = await ctx.ensureSchema();
    // Buckets aligned to the Unix epoch: time_bucket's default origin (2000-01-03) is overridden.
    const bin =
      kind === 'hypertable'
        ? `time_bucket($5::interval, time, origin => TIMESTAMPTZ '1970-01-01 00:00:00+00')`
        : `date_bin($5::interval, time, TIMESTAMPTZ '1970-01-01 00:00:00+00')`;
    const rows = await query<{ bucket: number; count: number; min: number | null; max: number | null; avg: number | null }>(
      `SELECT ${MS('b')} AS bucket, count(*)::float8 AS count, min(value) AS min, max(value) AS max, avg(value) AS avg
       FROM (SELECT ${bin} AS b, value FROM ${table}
             WHERE device = $1 AND metric = $2 AND time >= $3::timestamptz AND time < $4::timestamptz) AS s
       GROUP BY b ORDER BY b`,
      [q.device, q.metric, boundLiteral(q.from), boundLiteral(q.to), `${q.bucketMs} milliseconds`],
    );
    return rows.map((r) => ({ bucket: r.bucket, count: r.count, min: r.min, max: r.max, avg: r.avg }));
  }

  async function gaps(q: { readonly from: number; readonly to: number; readonly minGapMs: number; readonly device?: string }): Promise<Gap[]> {
    if (typeof q !== 'object' || q === null) throw new TypeError(`query: expected an object, got ${describe(q)}`);
    assertRange(q as unknown as Record<string, unknown>, 'query');
    intOption('query.minGapMs', q.minGapMs, 0, 0);
    const device = optionalString('query.device', q.device);
    if (q.from === q.to) return [];
    const rows = await query<{ device: string; from: number; to: number }>(
      `SELECT device, prev AS from, t AS to FROM (
         SELECT device, ${MS('time')} AS t, ${MS('lag(time) OVER (PARTITION BY device ORDER BY time)')} AS prev
         FROM ${table}
         WHERE time >= $1::timestamptz AND time < $2::timestamptz AND ($4::text IS NULL OR device = $4)) AS s
       WHERE prev IS NOT NULL AND t - prev > $3::float8
       ORDER BY device COLLATE "C", prev`,
      [boundLiteral(q.from), boundLiteral(q.to), q.minGapMs, device],
    );
    return rows.map((r) => ({ device: r.device, from: r.from, to: r.to, durationMs: r.to - r.from }));
  }

  return { lastValues, downsample, gaps };
}
