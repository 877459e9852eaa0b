// The console's routes. Only the login (its page, its stylesheet, its POST) answers without a
// session; every other route needs the session cookie, and every write also the session's
// CSRF token in `X-CSRF-Token` and a same-origin `Origin`. Internal.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TimeSeriesQueries } from '@outpost/pipeline';
import { checkThingName, ShadowError, type JsonObject, type ShadowAppClient } from '@outpost/shadow';
import type { Asset } from './assets.js';
import { SESSION_COOKIE, sameSecret, type Sessions } from './auth.js';
import { ConsoleError } from './errors.js';
import { intParam, parseJson, readBody, sendError, sendJson, stringParam } from './http.js';
import type { LiveState } from './live.js';

export interface RouteContext {
  readonly sessions: Sessions;
  readonly assets: Map<string, Asset>;
  readonly tls: boolean;
  /** `Host` values this console answers to (a rebinding defence). */
  readonly hosts: ReadonlySet<string>;
  readonly live: LiveState;
  readonly now: () => number;
  readonly store: Pick<TimeSeriesQueries, 'downsample' | 'lastValues'> | undefined;
  readonly shadow: ShadowAppClient | undefined;
  readonly watchShadow: (thing: string) => void;
  readonly addViewer: (req: IncomingMessage, res: ServerResponse, lastEventId: number | undefined, session: string) => void;
  /** Ends the event streams opened with a session. */
  readonly endSession: (session: string) => void;
  readonly maxBodyBytes: number;
  readonly maxHistoryPoints: number;
  readonly sessionTtlMs: number;
}

type Session = NonNullable<ReturnType<Sessions['get']>>;

function sendAsset(res: ServerResponse, a: Asset | undefined): void {
  if (a === undefined) throw new ConsoleError('NOT_FOUND', 'no such file');
  res.writeHead(200, { 'Content-Type': a.type, 'Content-Length': a.body.length, 'Cache-Control': 'no-cache' });
  res.end(a.body);
}

function loginPage(ctx: RouteContext, res: ServerResponse, status: number, message: string): void {
  const page = ctx.assets.get('login.html');
  if (page === undefined) throw new ConsoleError('NOT_FOUND', 'no login page');
  const body = Buffer.from(page.body.toString('utf8').replace('<!--message-->', message));
  res.writeHead(status, { 'Content-Type': page.type, 'Content-Length': body.length, 'Cache-Control': 'no-store' });
  res.end(body);
}

async function login(ctx: RouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  checkOrigin(ctx, req);
  const body = await readBody(req, ctx.maxBodyBytes);
  const json = (req.headers['content-type'] ?? '').startsWith('application/json');
  const token = json ? (parseJson(body) as { token?: unknown })?.token : new URLSearchParams(body).get('token');
  const s = typeof token === 'string' ? ctx.sessions.login(token) : undefined;
  if (s === undefined) {
    if (json) throw new ConsoleError('UNAUTHORIZED', 'wrong token');
    loginPage(ctx, res, 401, '<p class="error" role="alert">Wrong token.</p>');
    return;
  }
  // RFC 6265bis §5.5.7: SameSite=Strict keeps the cookie off every cross-site request.
  const cookieAttrs = `HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor(ctx.sessionTtlMs / 1000)}${ctx.tls ? '; Secure' : ''}`;
  res.setHeader('Set-Cookie', `${SESSION_COOKIE}=${s.id}; ${cookieAttrs}`);
  if (json) sendJson(res, 200, { csrf: s.csrf });
  else {
    res.writeHead(303, { Location: '/', 'Content-Length': 0 });
    res.end();
  }
}

/** A write's `Origin` (sent by every browser on a POST) must be this console's. */
function checkOrigin(ctx: RouteContext, req: IncomingMessage): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    throw new ConsoleError('CSRF', 'Origin: not a URL');
  }
  if (!ctx.hosts.has(host)) throw new ConsoleError('CSRF', `Origin ${origin.slice(0, 80)} is not this console`);
}

function checkCsrf(ctx: RouteContext, req: IncomingMessage, s: Session): void {
  checkOrigin(ctx, req);
  const t = req.headers['x-csrf-token'];
  if (typeof t !== 'string' || !sameSecret(t, s.csrf)) throw new ConsoleError('CSRF', 'missing or wrong X-CSRF-Token');
}

function thingParam(raw: string): string {
  let thing: string;
  try {
    thing = decodeURIComponent(raw);
    checkThingName(thing);
  } catch {
    throw new ConsoleError('BAD_REQUEST', `not a thing name: "${raw.slice(0, 64)}"`);
  }
  return thing;
}

function shadowOf(ctx: RouteContext): ShadowAppClient {
  if (ctx.shadow === undefined) throw new ConsoleError('NO_SHADOW', 'this console was started without shadows');
  return ctx.shadow;
}

function upstream(err: unknown): never {
  if (err instanceof ShadowError) {
    if (err.code === 'NOT_FOUND') throw new ConsoleError('NOT_FOUND', err.message);
    if (err.code === 'BAD_REQUEST' || err.code === 'PAYLOAD_TOO_LARGE' || err.code === 'VERSION_CONFLICT') throw new ConsoleError('BAD_REQUEST', `${err.code}: ${err.message}`);
  }
  throw new ConsoleError('UPSTREAM', (err as Error).message, { cause: err });
}

async function shadowRoute(ctx: RouteContext, req: IncomingMessage, res: ServerResponse, s: Session, thing: string, write: boolean): Promise<void> {
  const app = shadowOf(ctx);
  if (!write) {
    ctx.watchShadow(thing);
    const doc = await app.get(thing).catch((e: unknown) => (e instanceof ShadowError && e.code === 'NOT_FOUND' ? null : upstream(e)));
    sendJson(res, 200, { thing, document: doc });
    return;
  }
  checkCsrf(ctx, req, s);
  const body = parseJson(await readBody(req, ctx.maxBodyBytes)) as { desired?: unknown; version?: unknown };
  if (typeof body !== 'object' || body === null) throw new ConsoleError('BAD_REQUEST', 'body: expected { desired, version? }');
  const desired = body.desired;
  if (desired !== null && (typeof desired !== 'object' || Array.isArray(desired))) throw new ConsoleError('BAD_REQUEST', 'desired: expected an object or null');
  if (body.version !== undefined && !Number.isSafeInteger(body.version)) throw new ConsoleError('BAD_REQUEST', 'version: expected an integer');
  ctx.watchShadow(thing);
  const opts = body.version !== undefined ? { version: body.version as number } : {};
  const accepted = await app.updateDesired(thing, desired as JsonObject | null, opts).catch(upstream);
  sendJson(res, 200, { thing, accepted });
}

async function history(ctx: RouteContext, q: URLSearchParams, res: ServerResponse): Promise<void> {
  if (ctx.store === undefined) throw new ConsoleError('NO_STORE', 'this console was started without a store (--duckdb or --pg)');
  const device = stringParam(q, 'device');
  const metric = stringParam(q, 'metric');
  const to = intParam(q, 'to', ctx.now());
  const from = intParam(q, 'from', to - 3_600_000);
  if (!(from < to)) throw new ConsoleError('BAD_REQUEST', `from: expected before to, got from=${from} to=${to}`);
  const points = intParam(q, 'points', 300);
  if (points < 1 || points > ctx.maxHistoryPoints) throw new ConsoleError('BAD_REQUEST', `points: expected 1..${ctx.maxHistoryPoints}, got ${points}`);
  // Downsampled in the store (date_bin / time_bucket): at most `points` buckets come back.
  const bucketMs = Math.max(1, Math.ceil((to - from) / points));
  const buckets = await ctx.store.downsample({ device, metric, from, to, bucketMs }).catch(upstream);
  sendJson(res, 200, { device, metric, from, to, bucketMs, buckets });
}

function devices(ctx: RouteContext, res: ServerResponse): void {
  const snap = ctx.live.snapshot(ctx.now());
  sendJson(res, 200, {
    devices: snap.devices.map((d) => ({
      id: d.id, state: d.state, lastSeen: d.lastSeen,
      last: Object.fromEntries(Object.entries(d.metrics).map(([m, [t, v]]) => [m, { time: t.at(-1) ?? null, value: v.at(-1) ?? null }])),
    })),
    active: snap.active,
  });
}

async function authed(ctx: RouteContext, req: IncomingMessage, res: ServerResponse, url: URL, s: Session): Promise<void> {
  const path = url.pathname;
  const get = req.method === 'GET' || req.method === 'HEAD';
  if (get && (path === '/' || path === '/index.html')) return sendAsset(res, ctx.assets.get('index.html'));
  if (get && path.startsWith('/assets/')) return sendAsset(res, ctx.assets.get(path.slice('/assets/'.length)));
  if (get && path === '/api/session') return sendJson(res, 200, { csrf: s.csrf, store: ctx.store !== undefined, shadow: ctx.shadow !== undefined, rollouts: false });
  if (get && path === '/api/events') {
    const header = req.headers['last-event-id'] ?? url.searchParams.get('lastEventId') ?? undefined;
    const n = header === undefined ? NaN : Number(header);
    return ctx.addViewer(req, res, Number.isSafeInteger(n) ? n : undefined, s.id);
  }
  if (get && path === '/api/devices') return devices(ctx, res);
  if (get && path === '/api/history') return history(ctx, url.searchParams, res);
  if (get && path === '/api/history/metrics') {
    if (ctx.store === undefined) throw new ConsoleError('NO_STORE', 'this console was started without a store');
    const last = await ctx.store.lastValues({ device: stringParam(url.searchParams, 'device') }).catch(upstream);
    return sendJson(res, 200, { metrics: last.map((l) => l.metric).sort() });
  }
  const m = /^\/api\/shadow\/([^/]+)(\/desired)?$/.exec(path);
  if (m !== null && ((get && m[2] === undefined) || (req.method === 'POST' && m[2] !== undefined))) {
    return shadowRoute(ctx, req, res, s, thingParam(m[1] as string), !get);
  }
  if (req.method === 'POST' && path === '/logout') {
    checkCsrf(ctx, req, s);
    ctx.sessions.logout(s.id);
    ctx.endSession(s.id);
    res.setHeader('Set-Cookie', `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
    return sendJson(res, 200, {});
  }
  throw new ConsoleError('NOT_FOUND', `no route ${req.method ?? ''} ${path.slice(0, 80)}`);
}

/** Answers one request (see the module comment for who may ask what). */
export async function route(ctx: RouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    // A Host the console does not answer to is refused before anything else (DNS rebinding).
    if (!ctx.hosts.has(req.headers.host ?? '')) throw new ConsoleError('CSRF', `Host ${String(req.headers.host).slice(0, 80)} is not this console`);
    const url = new URL(req.url ?? '/', 'http://console');
    if (url.pathname === '/login' && req.method === 'GET') return loginPage(ctx, res, 200, '');
    if (url.pathname === '/login.css' && req.method === 'GET') return sendAsset(res, ctx.assets.get('login.css'));
    if (url.pathname === '/login' && req.method === 'POST') return await login(ctx, req, res);
    const s = ctx.sessions.get(req.headers.cookie);
    if (s === undefined) {
      if (req.method === 'GET' && !url.pathname.startsWith('/api/') && !url.pathname.startsWith('/assets/')) {
        res.writeHead(303, { Location: '/login', 'Content-Length': 0 });
        res.end();
        return;
      }
      throw new ConsoleError('UNAUTHORIZED', 'log in first (POST /login with the token)');
    }
    await authed(ctx, req, res, url, s);
  } catch (err) {
    sendError(res, err);
  }
}
