// HTTP plumbing of the console: security headers on every answer, JSON and error answers,
// bounded bodies. Internal.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConsoleError } from './errors.js';

/**
 * The Content-Security-Policy of every answer: scripts, styles and connections only from the
 * console itself, no inline script or style, no framing (CSP Level 3).
 */
export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export function securityHeaders(res: ServerResponse, tls: boolean): void {
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  // same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on a form POST.
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  if (tls) res.setHeader('Strict-Transport-Security', 'max-age=31536000');
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(data) });
  res.end(data);
}

export function sendError(res: ServerResponse, err: unknown): void {
  const e = err instanceof ConsoleError ? err : new ConsoleError('UPSTREAM', (err as Error)?.message ?? String(err), { cause: err });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, e.status, { error: { code: e.code, message: e.message } });
}

/** The body, refused with `PAYLOAD_TOO_LARGE` past `max` bytes. */
export function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new ConsoleError('PAYLOAD_TOO_LARGE', `request body over ${max} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new ConsoleError('BAD_REQUEST', 'body: expected JSON');
  }
}

/** An integer query parameter (epoch ms, a count); absent → `dflt`. */
export function intParam(q: URLSearchParams, name: string, dflt?: number): number {
  const raw = q.get(name);
  if (raw === null || raw === '') {
    if (dflt === undefined) throw new ConsoleError('BAD_REQUEST', `${name}: required`);
    return dflt;
  }
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new ConsoleError('BAD_REQUEST', `${name}: expected an integer, got "${raw.slice(0, 40)}"`);
  return n;
}

export function stringParam(q: URLSearchParams, name: string): string {
  const v = q.get(name);
  if (v === null || v === '') throw new ConsoleError('BAD_REQUEST', `${name}: required`);
  return v;
}
