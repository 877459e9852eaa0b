// The HTTP side of the reference service: serves the files of one directory with strong ETags,
// single byte ranges and If-Range (RFC 9110 §13.1.5, §14), over HTTP or HTTPS.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { resolve, sep } from 'node:path';

/** Options of {@link startFileServer}. */
export interface FileServerOptions {
  /**
   * Directory whose files are served (`GET /name`); nothing outside it is reachable, by name or
   * through a symlink (links that stay inside it are followed).
   */
  readonly root: string;
  /** Default `127.0.0.1`. */
  readonly host?: string;
  /** Default 0 (a free port). */
  readonly port?: number;
  /** PEM certificate and key: serve HTTPS. */
  readonly tls?: { readonly cert: string; readonly key: string };
}

/** Counters of a running file server. */
export interface FileServerStats {
  readonly requests: number;
  readonly partial: number;
  readonly bytesSent: number;
}

/** A running file server. */
export interface FileServer {
  /** `http://host:port` or `https://host:port`. */
  readonly url: string;
  readonly port: number;
  stats(): FileServerStats;
  /** Stops listening and drops open connections. */
  stop(): Promise<void>;
}

/** A strong validator from size, modification time and inode: any rewrite changes it. */
function etagOf(size: number, mtimeMs: number, ino: number): string {
  return `"${size.toString(16)}-${Math.floor(mtimeMs * 1000).toString(16)}-${ino.toString(16)}"`;
}

/** RFC 9110 §14.1.2: one `bytes=a-b`, `bytes=a-` or `bytes=-n`; undefined for anything else (served whole). */
function parseRange(header: string, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (m === null || (m[1] === '' && m[2] === '')) return undefined; // several ranges or junk: ignore (§14.2 allows it)
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (!Number.isSafeInteger(start) || start >= size) return 'unsatisfiable';
  if (end < start) return undefined;
  return { start, end };
}

async function serve(root: string, req: IncomingMessage, res: ServerResponse, stats: { requests: number; partial: number; bytesSent: number }): Promise<void> {
  stats.requests++;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  let name: string;
  try {
    name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  } catch {
    res.writeHead(400).end();
    return;
  }
  // Inside the root by name, and by where its links lead: a symlink in the root that points out of
  // it (a file or a directory on the way) is not served.
  const named = resolve(root, `.${name}`);
  const path = named.startsWith(root + sep) && !name.includes('\0') ? await realpath(named).catch(() => undefined) : undefined;
  const st = path !== undefined && path.startsWith(root + sep) ? await stat(path).catch(() => undefined) : undefined;
  if (path === undefined || st === undefined || !st.isFile()) {
    res.writeHead(404).end();
    return;
  }
  const etag = etagOf(st.size, st.mtimeMs, st.ino);
  const headers: Record<string, string | number> = { etag, 'accept-ranges': 'bytes', 'last-modified': st.mtime.toUTCString(), 'content-type': 'application/octet-stream' };
  const rangeHeader = req.headers.range;
  const ifRange = req.headers['if-range'];
  // RFC 9110 §13.1.5: a Range with If-Range is honoured only when the strong validator matches.
  // An empty file has no byte a Content-Range could name: the Range is ignored (§14.2 allows it).
  let range = typeof rangeHeader === 'string' && st.size > 0 && (ifRange === undefined || ifRange === etag) ? parseRange(rangeHeader, st.size) : undefined;
  if (range === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'content-range': `bytes */${st.size}` }).end();
    return;
  }
  if (range !== undefined) {
    stats.partial++;
    res.writeHead(206, { ...headers, 'content-range': `bytes ${range.start}-${range.end}/${st.size}`, 'content-length': range.end - range.start + 1 });
  } else {
    range = { start: 0, end: st.size - 1 };
    res.writeHead(200, { ...headers, 'content-length': st.size });
  }
  if (req.method === 'HEAD' || st.size === 0) {
    res.end();
    return;
  }
  const body = createReadStream(path, { start: range.start, end: range.end, highWaterMark: 256 * 1024 });
  body.on('data', (c) => { stats.bytesSent += c.length; });
  body.on('error', () => res.destroy());
  body.pipe(res);
}

/**
 * Starts an HTTP(S) server for the files of a directory with `ETag`, `Range` and `If-Range`:
 * the server side of resumable HTTP delivery in the reference service.
 *
 * @example
 * ```ts
 * import { startFileServer } from '@outpost/jobs';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * const server = await startFileServer({ root: mkdtempSync(tmpdir() + '/files-') });
 * server.url.startsWith('http://127.0.0.1:'); // true
 * await server.stop();
 * ```
 */
export async function startFileServer(options: FileServerOptions): Promise<FileServer> {
  if (typeof options !== 'object' || options === null || typeof options.root !== 'string') throw new TypeError('options.root: expected a directory path');
  const given = resolve(options.root);
  if (!(await stat(given).catch(() => undefined))?.isDirectory()) throw new RangeError(`root: ${given} is not a directory`);
  const root = await realpath(given); // requests are checked against where the root really is
  const stats = { requests: 0, partial: 0, bytesSent: 0 };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    serve(root, req, res, stats).catch(() => res.destroy());
  };
  const server: Server = options.tls !== undefined ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler) : createHttpServer(handler);
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, host, () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${options.tls !== undefined ? 'https' : 'http'}://${host}:${port}`,
    port,
    stats: () => ({ ...stats }),
    stop: () => new Promise<void>((ok) => {
      for (const s of sockets) s.destroy();
      server.close(() => ok());
    }),
  };
}
