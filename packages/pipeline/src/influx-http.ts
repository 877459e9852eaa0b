// HTTP to InfluxDB 1.x for the InfluxDB sink: one request with a timeout on the injected clock,
// and how a response is classified. Internal.
import http from 'node:http';
import https from 'node:https';
import type { LakeClock } from './lake.js';

/** A finished HTTP exchange. */
export interface InfluxResponse {
  readonly status: number;
  readonly body: string;
}

/** Where and how requests go. */
export interface InfluxTarget {
  readonly base: URL;
  readonly agent: http.Agent;
  /** Authorization and other fixed headers. */
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly clock: LakeClock;
}

/** A connection error, a timeout or an HTTP status the sink treats as transient. */
export class InfluxTransientError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'InfluxTransientError';
  }
}

/** Creates the keep-alive agent for a base URL (http: or https:). */
export function influxAgent(base: URL): http.Agent {
  return base.protocol === 'https:' ? new https.Agent({ keepAlive: true, maxSockets: 4 }) : new http.Agent({ keepAlive: true, maxSockets: 4 });
}

/**
 * One request. Resolves with any HTTP status; rejects with {@link InfluxTransientError} when no
 * response came (connection refused or reset, timeout: a stopped server keeps the socket open).
 */
export function influxRequest(
  t: InfluxTarget,
  method: 'GET' | 'POST',
  path: string,
  params: Record<string, string>,
  body: Buffer | undefined,
  headers: Record<string, string> = {},
): Promise<InfluxResponse> {
  const url = new URL(path, t.base);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err: Error | undefined, res?: InfluxResponse): void => {
      if (done) return;
      done = true;
      t.clock.clearTimeout(timer);
      if (err !== undefined) reject(err);
      else resolve(res as InfluxResponse);
    };
    const req = mod.request(
      url,
      { method, agent: t.agent, headers: { ...t.headers, ...headers, ...(body !== undefined ? { 'content-length': String(body.length) } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e) => finish(new InfluxTransientError(`influx: response interrupted: ${e.message}`, undefined, { cause: e })));
      },
    );
    const timer = t.clock.setTimeout(() => {
      req.destroy();
      finish(new InfluxTransientError(`influx: no response within ${t.timeoutMs} ms`));
    }, t.timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => finish(new InfluxTransientError(`influx: ${e.code ?? e.message}`, undefined, { cause: e })));
    req.end(body);
  });
}

/** The `error` of an InfluxDB JSON error body, or the body itself. */
export function influxMessage(body: string): string {
  try {
    const j = JSON.parse(body) as { error?: unknown };
    if (typeof j.error === 'string') return j.error;
  } catch {
    // not JSON
  }
  return body.slice(0, 200);
}

/**
 * What a status means for the points of a write. 400 (bad line, field type conflict — InfluxDB
 * 1.x then writes the good lines of the batch and answers `partial write: … dropped=N`) and 413
 * (request too large) are about the points: `refused`. Other 4xx (401/403 credentials, 404
 * database not found, 429) are about the sink's configuration or load, not the points: holding
 * the stream until it is fixed beats dead-lettering a fleet's data, so they are `transient`, as
 * are 5xx.
 */
export function classify(status: number): 'ok' | 'refused' | 'transient' {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 400 || status === 413) return 'refused';
  return 'transient';
}

/** InfluxQL identifier: double-quoted, `\` and `"` escaped. */
export function quoteIdent(s: string): string {
  return `"${s.replace(/[\\"]/g, '\\$&')}"`;
}

/** InfluxQL string literal: single-quoted, `\` and `'` escaped. */
export function quoteString(s: string): string {
  return `'${s.replace(/[\\']/g, '\\$&')}'`;
}
