/**
 * InfluxDB 1.x as a time-series store: a {@link TelemetrySink} that batches points on the shared
 * batcher and writes them as line protocol to `/write?precision=ms` (gzip), plus `lastValues`
 * over InfluxQL `/query`.
 */
import { createBatcher, systemClock, type BatcherOptions } from './batcher.js';
import { replacedOption } from './dedupe.js';
import { PipelineError } from './errors.js';
import { influxAgent } from './influx-http.js';
import { influxLastValues, InfluxWriter, type InfluxConfig, type InfluxCounts } from './influx-write.js';
import type { LakeClock } from './lake.js';
import { resolveLineOptions } from './line-protocol.js';
import { recentValues } from './recent.js';
import type { LastValue, Replacement, TelemetryPoint, TelemetrySink } from './types.js';
import { describe, intOption, isPlainObject, optString } from './validate.js';

/** Options of {@link createInfluxSink}. */
export interface InfluxSinkOptions {
  /** Base URL of the InfluxDB 1.x HTTP API, e.g. `http://127.0.0.1:8086`. */
  readonly url: string;
  /** Database. Default `telemetry`. */
  readonly database?: string;
  /** Retention policy (`rp`); the database's default when absent. */
  readonly retentionPolicy?: string;
  /** `CREATE DATABASE` (idempotent) before the first write. Default true. */
  readonly createDatabase?: boolean;
  /** Basic authentication (InfluxDB 1.x users); give both or neither. */
  readonly username?: string;
  readonly password?: string;
  /** `Authorization: Token …` (InfluxDB 1.8+ and 2.x compatibility API) instead of a user. */
  readonly token?: string;
  /** Keys of `extra` written as tags (besides `device`); the rest become fields. */
  readonly tags?: readonly string[];
  /** Points per request. Default 5,000. */
  readonly maxRows?: number;
  /** Longest time a point waits before its batch is sent (also the acknowledgement latency under light load). Default 1,000 ms. */
  readonly maxAgeMs?: number;
  /** Attempts after the first when a request fails transiently. Default 3. */
  readonly retries?: number;
  /** Delay before the first retry, doubled for each further one. Default 200 ms. */
  readonly retryDelayMs?: number;
  /** A request without an answer after this long fails transiently (a stopped server). Default 10,000 ms. */
  readonly timeoutMs?: number;
  /** Gzip request bodies. Default true. */
  readonly gzip?: boolean;
  /**
   * Times per series (device, metric) whose last written value the sink remembers to see
   * replacements: InfluxDB overwrites a point of the same series and time without telling.
   * Default 16 (a redelivery of one of the last 16 points of its series is seen); 0 turns
   * counting off. Replacing an older point still works (last writer wins), uncounted.
   */
  readonly trackPerSeries?: number;
  /** Called after a commit for every remembered value it replaced with a different one. */
  readonly onReplaced?: (r: Replacement) => void;
  /** Timers for the age bound, retries and request timeouts; the global timers by default. */
  readonly clock?: LakeClock;
  /** Sink name in stats, errors and replacements. Default `influx`. */
  readonly name?: string;
}

/** Counters of an {@link InfluxSink}. */
export interface InfluxSinkStats {
  /** Points in committed batches (refused and skipped ones included). */
  readonly rows: number;
  readonly batches: number;
  /** Batches that still failed transiently after the retries (their writes rejected with `SINK_FAILED`). */
  readonly batchesFailed: number;
  readonly pendingRows: number;
  /** Points InfluxDB refused for good (their writes rejected with `SINK_REJECTED`). */
  readonly rowsRejected: number;
  /** Remembered values replaced by a later arrival with a different value or extra. */
  readonly replaced: number;
  /** HTTP requests to `/write`. */
  readonly requests: number;
}

/** The InfluxDB sink returned by {@link createInfluxSink}. */
export interface InfluxSink extends TelemetrySink {
  /** The latest value of each (device, metric), sorted by device then metric (byte order). */
  lastValues(filter?: { readonly metric?: string; readonly device?: string }): Promise<LastValue[]>;
  /** Counters since creation. */
  stats(): InfluxSinkStats;
}

function boolOption(name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new TypeError(`${name}: expected a boolean, got ${describe(v)}`);
  return v;
}

function authHeaders(o: InfluxSinkOptions): Record<string, string> {
  const username = optString('options.username', o.username);
  const password = optString('options.password', o.password);
  const token = optString('options.token', o.token);
  if ((username === undefined) !== (password === undefined)) throw new TypeError('options: give username and password together');
  if (token !== undefined && username !== undefined) throw new TypeError('options: give a token or a username, not both');
  if (token !== undefined) return { authorization: `Token ${token}` };
  if (username !== undefined) return { authorization: `Basic ${Buffer.from(`${username}:${password as string}`).toString('base64')}` };
  return {};
}

function parseBase(v: unknown): URL {
  if (typeof v !== 'string') throw new TypeError(`options.url: expected a string, got ${describe(v)}`);
  let base: URL;
  try {
    base = new URL(v.endsWith('/') ? v : `${v}/`);
  } catch {
    throw new RangeError(`options.url: expected an http:// or https:// URL, got '${v}'`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new RangeError(`options.url: expected an http:// or https:// URL, got '${v}'`);
  return base;
}

/**
 * Creates an InfluxDB 1.x sink. Layout: one measurement per metric, the device as tag `device`,
 * the value as field `value`, the keys of `extra` as fields (or tags, see `tags`), time in ms.
 *
 * Outcomes, per the sink contract: `write` resolves once InfluxDB answered 204 for every request
 * holding its points (InfluxDB 1.x fsyncs its WAL before answering). A point InfluxDB refuses
 * (400: field type conflict, a line it cannot parse; 413) or that line protocol cannot carry
 * rejects its write with `SINK_REJECTED`: a batch answered 400 is split in halves until the
 * refused lines are alone, so every other point of it is stored. Connection errors, timeouts,
 * 5xx and the other 4xx (credentials, missing database, 429) are transient: retried
 * `retries` times with a doubling delay, then the writes reject with `SINK_FAILED` and may be
 * written again later (a point of the same series and time overwrites, so that is safe).
 *
 * Duplicates: InfluxDB keeps the last write of a (device, metric, time) key (its fields merged),
 * as every store of the pipeline does; a replacement is counted and reported when the sink still
 * remembers the key (`trackPerSeries`).
 *
 * @throws TypeError / RangeError for bad options.
 * @example
 * ```ts
 * // Writing needs an InfluxDB server (the sink's tests start one); creating the sink does not.
 * import { createInfluxSink } from '@outpost/pipeline';
 * const sink = createInfluxSink({ url: 'http://127.0.0.1:8086', database: 'fleet' });
 * sink.name; // 'influx'
 * sink.stats().requests; // 0
 * await sink.close();
 * ```
 */
export function createInfluxSink(options: InfluxSinkOptions): InfluxSink {
  const { config, batching } = parseOptions(options);
  const { name } = config;
  const counts: InfluxCounts = { replaced: 0, requests: 0 };
  const writer = new InfluxWriter(config, counts);
  const batcher = createBatcher({ ...batching, commit: (batch) => writer.commit(batch) });
  let closed = false;
  return {
    name,
    async write(points) {
      if (closed) throw new PipelineError('CLOSED', `${name}: write after close()`);
      if (!Array.isArray(points)) throw new TypeError(`points: expected an array of telemetry points, got ${describe(points)}`);
      // Decoded points are checked once by the schema; extras as JSON text for the duplicate policy.
      await batcher.write(points, points.map((p: TelemetryPoint) => (p.extra === undefined ? null : JSON.stringify(p.extra))));
    },
    flush: () => batcher.flush(),
    async close() {
      if (closed) return;
      closed = true;
      try {
        await batcher.flush();
      } finally {
        config.target.agent.destroy();
      }
    },
    async lastValues(filter = {}) {
      if (closed) throw new PipelineError('CLOSED', `${name}: lastValues after close()`);
      if (!isPlainObject(filter)) throw new TypeError(`filter: expected an object, got ${describe(filter)}`);
      return influxLastValues(config, optString('filter.metric', filter['metric']), optString('filter.device', filter['device']));
    },
    stats: () => ({ ...batcher.stats(), ...counts }),
  };
}

/** Checks the options: the writer's configuration and the batcher's bounds. */
function parseOptions(options: InfluxSinkOptions): { config: InfluxConfig; batching: Omit<BatcherOptions, 'commit'> } {
  if (!isPlainObject(options)) throw new TypeError(`options: expected an object, got ${describe(options)}`);
  const o = options as unknown as InfluxSinkOptions;
  const base = parseBase(o.url);
  const database = optString('options.database', o.database) ?? 'telemetry';
  if (database.length === 0) throw new RangeError(`options.database: expected a non-empty name, got ''`);
  const clock = o.clock ?? systemClock;
  if (typeof clock !== 'object' || (clock as unknown) === null) throw new TypeError(`options.clock: expected an object, got ${describe(clock)}`);
  const retries = intOption('options.retries', o.retries, 3, 0, 100);
  const config: InfluxConfig = {
    name: optString('options.name', o.name) ?? 'influx',
    database,
    rp: optString('options.retentionPolicy', o.retentionPolicy),
    createDb: boolOption('options.createDatabase', o.createDatabase, true),
    useGzip: boolOption('options.gzip', o.gzip, true),
    retries,
    recent: recentValues(intOption('options.trackPerSeries', o.trackPerSeries, 16, 0, 4_096)),
    onReplaced: replacedOption('options.onReplaced', o.onReplaced),
    lineOpts: resolveLineOptions({ metricAs: 'measurement', valueField: 'value', deviceTag: 'device', precision: 'ms', ...(o.tags !== undefined ? { tags: o.tags } : {}) }),
    target: { base, agent: influxAgent(base), headers: authHeaders(o), timeoutMs: intOption('options.timeoutMs', o.timeoutMs, 10_000, 1, 2_147_483_647), clock },
  };
  const batching = {
    maxRows: intOption('options.maxRows', o.maxRows, 5_000, 1, 1_000_000),
    maxAgeMs: intOption('options.maxAgeMs', o.maxAgeMs, 1_000, 0, 2_147_483_647),
    retries,
    retryDelayMs: intOption('options.retryDelayMs', o.retryDelayMs, 200, 0, 600_000),
    clock,
  };
  return { config, batching };
}
