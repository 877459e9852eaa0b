/**
 * InfluxDB 1.x as a time-series store: a {@link TelemetrySink} that batches points on the shared
 * batcher and writes them as line protocol to `/write?precision=ms` (gzip), plus `lastValues`
 * over InfluxQL `/query`.
 */
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { createBatcher, systemClock, type Batch, type BatchCommit } from './batcher.js';
import { replacedOption, reportReplaced } from './dedupe.js';
import { recentValues } from './recent.js';
import { PipelineError } from './errors.js';
import { classify, influxAgent, influxMessage, influxRequest, InfluxTransientError, quoteIdent, quoteString, type InfluxTarget } from './influx-http.js';
import type { LakeClock } from './lake.js';
import { measurementLine, pointLine, resolveLineOptions } from './line-protocol.js';
import type { LastValue, Replacement, TelemetryPoint, TelemetrySink } from './types.js';
import { describe, intOption, isPlainObject, optString } from './validate.js';

const gzip = promisify(gzipCb);

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
  if (!isPlainObject(options)) throw new TypeError(`options: expected an object, got ${describe(options)}`);
  const o = options as unknown as InfluxSinkOptions;
  const base = parseBase(o.url);
  const database = optString('options.database', o.database) ?? 'telemetry';
  if (database.length === 0) throw new RangeError(`options.database: expected a non-empty name, got ''`);
  const rp = optString('options.retentionPolicy', o.retentionPolicy);
  const createDb = boolOption('options.createDatabase', o.createDatabase, true);
  const useGzip = boolOption('options.gzip', o.gzip, true);
  const name = optString('options.name', o.name) ?? 'influx';
  const maxRows = intOption('options.maxRows', o.maxRows, 5_000, 1, 1_000_000);
  const maxAgeMs = intOption('options.maxAgeMs', o.maxAgeMs, 1_000, 0, 2_147_483_647);
  const retries = intOption('options.retries', o.retries, 3, 0, 100);
  const retryDelayMs = intOption('options.retryDelayMs', o.retryDelayMs, 200, 0, 600_000);
  const timeoutMs = intOption('options.timeoutMs', o.timeoutMs, 10_000, 1, 2_147_483_647);
  const recent = recentValues(intOption('options.trackPerSeries', o.trackPerSeries, 16, 0, 4_096));
  const onReplaced = replacedOption('options.onReplaced', o.onReplaced);
  const clock = o.clock ?? systemClock;
  if (typeof clock !== 'object' || (clock as unknown) === null) throw new TypeError(`options.clock: expected an object, got ${describe(clock)}`);
  const lineOpts = resolveLineOptions({ metricAs: 'measurement', valueField: 'value', deviceTag: 'device', precision: 'ms', ...(o.tags !== undefined ? { tags: o.tags } : {}) });
  const fast = lineOpts.tagKeys.length === 0; // the layout measurementLine builds directly
  const target: InfluxTarget = { base, agent: influxAgent(base), headers: authHeaders(o), timeoutMs, clock };
  const writeParams: Record<string, string> = { db: database, precision: 'ms', ...(rp !== undefined ? { rp } : {}) };

  const counts = { replaced: 0, requests: 0 };
  let dbReady = !createDb;
  let closed = false;

  async function ensureDatabase(): Promise<void> {
    if (dbReady) return;
    const res = await influxRequest(target, 'POST', 'query', {}, Buffer.from(new URLSearchParams({ q: `CREATE DATABASE ${quoteIdent(database)}` }).toString()), {
      'content-type': 'application/x-www-form-urlencoded',
    });
    if (classify(res.status) !== 'ok') throw new InfluxTransientError(`${name}: CREATE DATABASE answered ${res.status}: ${influxMessage(res.body)}`, res.status);
    dbReady = true;
  }

  /** The request body: gzipped (on the thread pool) unless `gzip` is off. */
  function encodeBody(text: string): Promise<Buffer> {
    const raw = Buffer.from(text);
    return useGzip ? gzip(raw) : Promise.resolve(raw);
  }

  async function post(body: Promise<Buffer>): Promise<{ status: number; message: string }> {
    const payload = await body;
    counts.requests++;
    const res = await influxRequest(target, 'POST', 'write', writeParams, payload, {
      'content-type': 'text/plain; charset=utf-8',
      ...(useGzip ? { 'content-encoding': 'gzip' } : {}),
    });
    return { status: res.status, message: res.status === 204 ? '' : influxMessage(res.body) };
  }

  /** Sends lines; a refused request of several lines is split in halves until the refused lines are alone. */
  async function send(lines: readonly string[], idx: readonly number[], refused: Map<number, Error>, body?: Promise<Buffer>): Promise<void> {
    const { status, message } = await post(body ?? encodeBody(idx.map((i) => lines[i]).join('')));
    const kind = classify(status);
    if (kind === 'ok') return;
    if (kind === 'transient') {
      if (status === 404 && createDb) dbReady = false; // the database was dropped: create it again
      throw new InfluxTransientError(`${name}: /write answered ${status}: ${message}`, status);
    }
    if (idx.length === 1) {
      refused.set(idx[0] as number, new PipelineError('SINK_REJECTED', `${name}: InfluxDB refused the point (HTTP ${status}): ${message}`));
      return;
    }
    // InfluxDB 1.x answers 400 `partial write` after storing the good lines; sending them again
    // in the same order is idempotent, and it is how the refused ones are found.
    const half = Math.ceil(idx.length / 2);
    await send(lines, idx.slice(0, half), refused);
    await send(lines, idx.slice(half), refused);
  }

  /** The duplicate policy's bookkeeping after a commit: compare with the remembered values. */
  function remember(batch: Batch, refused: ReadonlyMap<number, Error>): void {
    const found: Omit<Replacement, 'sink'>[] = [];
    for (let i = 0; i < batch.points.length; i++) {
      if (refused.has(i)) continue;
      const r = recent.note(batch.points[i] as TelemetryPoint, batch.extras[i] ?? null);
      if (r !== undefined) found.push(r);
    }
    reportReplaced(name, found, counts, onReplaced);
  }

  function commit(batch: Batch): BatchCommit {
    // Encoded once for every attempt; a point line protocol cannot carry is refused here.
    const encodeRefused = new Map<number, Error>();
    const lines: string[] = [];
    const idx: number[] = [];
    batch.points.forEach((p, i) => {
      try {
        const line = fast ? measurementLine(p, i, lineOpts) : pointLine(p, i, lineOpts);
        lines.push(line);
        if (line !== '') idx.push(i); // nothing to store (null value, no extra): skipped
      } catch (err) {
        lines.push('');
        encodeRefused.set(i, new PipelineError('SINK_REJECTED', `${name}: line protocol cannot carry the point: ${(err as Error).message}`));
      }
    });
    // Compressed now, while the batch before it may still be in flight; reused by every attempt.
    const body = idx.length > 0 ? encodeBody(idx.map((i) => lines[i]).join('')) : undefined;
    body?.catch(() => undefined); // awaited by the attempts
    return {
      async attempt() {
        await ensureDatabase();
        const refused = new Map(encodeRefused);
        if (idx.length > 0) await send(lines, idx, refused, body);
        remember(batch, refused);
        return refused;
      },
      fail: (lastErr) =>
        new PipelineError('SINK_FAILED', `${name}: writing a batch of ${batch.points.length} points failed after ${retries + 1} attempts: ${(lastErr as Error)?.message ?? String(lastErr)}`, {
          cause: lastErr,
        }),
    };
  }

  const batcher = createBatcher({ maxRows, maxAgeMs, retries, retryDelayMs, clock, commit });

  async function lastValues(filter: { readonly metric?: string; readonly device?: string } = {}): Promise<LastValue[]> {
    if (closed) throw new PipelineError('CLOSED', `${name}: lastValues after close()`);
    if (!isPlainObject(filter)) throw new TypeError(`filter: expected an object, got ${describe(filter)}`);
    const metric = optString('filter.metric', filter['metric']);
    const device = optString('filter.device', filter['device']);
    const q = `SELECT last("value") AS "value" FROM ${metric !== undefined ? quoteIdent(metric) : '/.*/'}${device !== undefined ? ` WHERE "device" = ${quoteString(device)}` : ''} GROUP BY "device"`;
    const body = Buffer.from(new URLSearchParams({ q, db: database, epoch: 'ms', ...(rp !== undefined ? { rp } : {}) }).toString());
    let res;
    try {
      res = await influxRequest(target, 'POST', 'query', {}, body, { 'content-type': 'application/x-www-form-urlencoded' });
    } catch (err) {
      throw new PipelineError('DB_FAILED', `${name}: query failed: ${(err as Error).message}`, { cause: err });
    }
    const json = JSON.parse(res.body) as { results?: { error?: string; series?: { name: string; tags?: { device?: string }; values: [number, number | null][] }[] }[]; error?: string };
    const r0 = json.results?.[0];
    if (res.status !== 200 || json.error !== undefined || (r0?.error !== undefined && !/database not found/.test(r0.error))) {
      throw new PipelineError('DB_FAILED', `${name}: query failed (HTTP ${res.status}): ${json.error ?? r0?.error ?? ''}`);
    }
    const out: LastValue[] = (r0?.series ?? []).map((s) => ({ device: s.tags?.device ?? '', metric: s.name, time: s.values[0]?.[0] as number, value: s.values[0]?.[1] ?? null }));
    const cmp = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
    return out.sort((a, b) => cmp(a.device, b.device) || cmp(a.metric, b.metric));
  }

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
        target.agent.destroy();
      }
    },
    lastValues,
    stats: () => ({ ...batcher.stats(), ...counts }),
  };
}
