// The InfluxDB sink's write path (database creation, requests, the halving of refused batches,
// the duplicate-policy bookkeeping) and its InfluxQL read. Internal.
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import type { Batch, BatchCommit } from './batcher.js';
import { reportReplaced } from './dedupe.js';
import { PipelineError } from './errors.js';
import { classify, influxMessage, influxRequest, InfluxTransientError, quoteIdent, quoteString, type InfluxTarget } from './influx-http.js';
import { measurementLine, pointLine, type ResolvedLineOptions } from './line-protocol.js';
import type { RecentValues } from './recent.js';
import type { LastValue, Replacement, TelemetryPoint } from './types.js';

const gzip = promisify(gzipCb);

/** The checked options of a sink. */
export interface InfluxConfig {
  readonly name: string;
  readonly target: InfluxTarget;
  readonly database: string;
  readonly rp: string | undefined;
  readonly createDb: boolean;
  readonly useGzip: boolean;
  readonly retries: number;
  readonly lineOpts: ResolvedLineOptions;
  readonly recent: RecentValues;
  readonly onReplaced: ((r: Replacement) => void) | undefined;
}

/** Counters the writer keeps. */
export interface InfluxCounts {
  replaced: number;
  requests: number;
}

/** Makes the batches' commits of one sink. */
export class InfluxWriter {
  readonly #c: InfluxConfig;
  readonly #counts: InfluxCounts;
  readonly #writeParams: Record<string, string>;
  /** measurementLine builds the sink's layout directly when no extra key is a tag. */
  readonly #fast: boolean;
  #dbReady: boolean;

  constructor(config: InfluxConfig, counts: InfluxCounts) {
    this.#c = config;
    this.#counts = counts;
    this.#writeParams = { db: config.database, precision: 'ms', ...(config.rp !== undefined ? { rp: config.rp } : {}) };
    this.#fast = config.lineOpts.tagKeys.length === 0;
    this.#dbReady = !config.createDb;
  }

  /** `CREATE DATABASE` once (again after a 404). */
  async ensureDatabase(): Promise<void> {
    if (this.#dbReady) return;
    const res = await influxRequest(this.#c.target, 'POST', 'query', {}, Buffer.from(new URLSearchParams({ q: `CREATE DATABASE ${quoteIdent(this.#c.database)}` }).toString()), {
      'content-type': 'application/x-www-form-urlencoded',
    });
    if (classify(res.status) !== 'ok') throw new InfluxTransientError(`${this.#c.name}: CREATE DATABASE answered ${res.status}: ${influxMessage(res.body)}`, res.status);
    this.#dbReady = true;
  }

  /** The request body: gzipped (on the thread pool) unless `gzip` is off. */
  encodeBody(text: string): Promise<Buffer> {
    const raw = Buffer.from(text);
    return this.#c.useGzip ? gzip(raw) : Promise.resolve(raw);
  }

  /** One request to /write. */
  async post(body: Promise<Buffer>): Promise<{ status: number; message: string }> {
    const payload = await body;
    this.#counts.requests++;
    const res = await influxRequest(this.#c.target, 'POST', 'write', this.#writeParams, payload, {
      'content-type': 'text/plain; charset=utf-8',
      ...(this.#c.useGzip ? { 'content-encoding': 'gzip' } : {}),
    });
    return { status: res.status, message: res.status === 204 ? '' : influxMessage(res.body) };
  }

  /** Sends lines; a refused request of several lines is split in halves until the refused lines are alone. */
  async send(lines: readonly string[], idx: readonly number[], refused: Map<number, Error>, body?: Promise<Buffer>): Promise<void> {
    const { status, message } = await this.post(body ?? this.encodeBody(idx.map((i) => lines[i]).join('')));
    const kind = classify(status);
    if (kind === 'ok') return;
    if (kind === 'transient') {
      if (status === 404 && this.#c.createDb) this.#dbReady = false; // the database was dropped: create it again
      throw new InfluxTransientError(`${this.#c.name}: /write answered ${status}: ${message}`, status);
    }
    if (idx.length === 1) {
      refused.set(idx[0] as number, new PipelineError('SINK_REJECTED', `${this.#c.name}: InfluxDB refused the point (HTTP ${status}): ${message}`));
      return;
    }
    // InfluxDB 1.x answers 400 `partial write` after storing the good lines; sending them again
    // in the same order is idempotent, and it is how the refused ones are found.
    const half = Math.ceil(idx.length / 2);
    await this.send(lines, idx.slice(0, half), refused);
    await this.send(lines, idx.slice(half), refused);
  }

  /** The duplicate policy's bookkeeping after a commit: compare with the remembered values. */
  remember(batch: Batch, refused: ReadonlyMap<number, Error>): void {
    const found: Omit<Replacement, 'sink'>[] = [];
    for (let i = 0; i < batch.points.length; i++) {
      if (refused.has(i)) continue;
      const r = this.#c.recent.note(batch.points[i] as TelemetryPoint, batch.extras[i] ?? null);
      if (r !== undefined) found.push(r);
    }
    reportReplaced(this.#c.name, found, this.#counts, this.#c.onReplaced);
  }

  /** The commit of one batch, encoded and compressed now. */
  commit(batch: Batch): BatchCommit {
    // Encoded once for every attempt; a point line protocol cannot carry is refused here.
    const encodeRefused = new Map<number, Error>();
    const lines: string[] = [];
    const idx: number[] = [];
    batch.points.forEach((p, i) => {
      try {
        const line = this.#fast ? measurementLine(p, i, this.#c.lineOpts) : pointLine(p, i, this.#c.lineOpts);
        lines.push(line);
        if (line !== '') idx.push(i); // nothing to store (null value, no extra): skipped
      } catch (err) {
        lines.push('');
        encodeRefused.set(i, new PipelineError('SINK_REJECTED', `${this.#c.name}: line protocol cannot carry the point: ${(err as Error).message}`));
      }
    });
    // Compressed now, while the batch before it may still be in flight; reused by every attempt.
    const body = idx.length > 0 ? this.encodeBody(idx.map((i) => lines[i]).join('')) : undefined;
    body?.catch(() => undefined); // awaited by the attempts
    return {
      attempt: async () => {
        await this.ensureDatabase();
        const refused = new Map(encodeRefused);
        if (idx.length > 0) await this.send(lines, idx, refused, body);
        this.remember(batch, refused);
        return refused;
      },
      fail: (lastErr) =>
        new PipelineError('SINK_FAILED', `${this.#c.name}: writing a batch of ${batch.points.length} points failed after ${this.#c.retries + 1} attempts: ${(lastErr as Error)?.message ?? String(lastErr)}`, {
          cause: lastErr,
        }),
    };
  }
}

/** `SELECT last("value")` per device and metric over /query, sorted by device then metric (byte order). */
export async function influxLastValues(c: InfluxConfig, metric: string | undefined, device: string | undefined): Promise<LastValue[]> {
  const { name, target, database, rp } = c;
  const q = `SELECT last("value") AS "value" FROM ${metric !== undefined ? quoteIdent(metric) : '/.*/'}${device !== undefined ? ` WHERE "device" = ${quoteString(device)}` : ''} GROUP BY "device"`;
  const body = Buffer.from(new URLSearchParams({ q, db: database, epoch: 'ms', ...(rp !== undefined ? { rp } : {}) }).toString());
  let res;
  try {
    res = await influxRequest(target, 'POST', 'query', {}, body, { 'content-type': 'application/x-www-form-urlencoded' });
  } catch (err) {
    throw new PipelineError('DB_FAILED', `${name}: query failed: ${(err as Error).message}`, { cause: err });
  }
  type Answer = { results?: { error?: string; series?: { name: string; tags?: { device?: string }; values: [number, number | null][] }[] }[]; error?: string };
  let json: Answer;
  try {
    json = JSON.parse(res.body) as Answer;
  } catch {
    throw new PipelineError('DB_FAILED', `${name}: query failed (HTTP ${res.status}): ${res.body.slice(0, 200)}`);
  }
  const r0 = json.results?.[0];
  if (res.status !== 200 || json.error !== undefined || (r0?.error !== undefined && !/database not found/.test(r0.error))) {
    throw new PipelineError('DB_FAILED', `${name}: query failed (HTTP ${res.status}): ${json.error ?? r0?.error ?? ''}`);
  }
  const out: LastValue[] = (r0?.series ?? []).map((s) => ({ device: s.tags?.device ?? '', metric: s.name, time: s.values[0]?.[0] as number, value: s.values[0]?.[1] ?? null }));
  const cmp = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
  return out.sort((a, b) => cmp(a.device, b.device) || cmp(a.metric, b.metric));
}
