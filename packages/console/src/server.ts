/**
 * `startConsole`: the console's web server. It subscribes to the telemetry and alert topics
 * the pipeline's hot path uses, keeps the {@link LiveState}, sends one coalesced frame per
 * `frameMs` to every viewer over Server-Sent Events (resuming from `Last-Event-ID`), answers
 * history from the time-series store and shadow reads and edits through the shadow service.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import type { DecodeOptions, TimeSeriesQueries } from '@outpost/pipeline';
import { computeDelta, createShadowAppClient, type ShadowAppClient } from '@outpost/shadow';
import { loadAssets } from './assets.js';
import { randomToken, Sessions } from './auth.js';
import { ConsoleError } from './errors.js';
import { startFeed, type ConsoleTopics } from './feed.js';
import { securityHeaders } from './http.js';
import { LiveState, type Frame, type LiveOptions, type LiveStats } from './live.js';
import { assertObject, intOption } from './options.js';
import { route } from './routes.js';

/**
 * Options of {@link startConsole}. Give `mqtt` (a connected MQTT.js client allowed to read the
 * telemetry and alert topics and to use the shadow topics) or `brokerUrl` with credentials.
 *
 * @example
 * ```ts
 * import type { ConsoleOptions } from '@outpost/console';
 * const options = (ca: string, cert: string, key: string): ConsoleOptions => ({ brokerUrl: 'mqtts://broker:8883', ca, cert, key, port: 8080 });
 * ```
 */
export interface ConsoleOptions {
  /** A connected MQTT.js client; the console subscribes on it and leaves it open at close. */
  readonly mqtt?: MqttClient;
  /** Otherwise the broker to connect to (`mqtts://…`; `mqtt://` only with `insecure`). */
  readonly brokerUrl?: string;
  readonly ca?: string | Buffer;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  /** MQTT client id. Default `outpost-console-` + random. */
  readonly clientId?: string;
  /** MQTT version for `brokerUrl`. Default 5. */
  readonly protocolVersion?: 4 | 5;
  /** Allow `mqtt://` without a client certificate (development only). */
  readonly insecure?: boolean;
  /** The time-series store for History (a pipeline DuckDB store or PostgreSQL sink). */
  readonly store?: Pick<TimeSeriesQueries, 'downsample' | 'lastValues'>;
  /** Shadow reads and edits; default an app client over the console's MQTT connection; `false` for none. */
  readonly shadow?: ShadowAppClient | false;
  /** Default `127.0.0.1`. Anything but a loopback address needs `tls`. */
  readonly host?: string;
  /** Default 0 (a free port; see `Console.url`). */
  readonly port?: number;
  /** HTTPS with this certificate (PEM). */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** The access token; default 24 random bytes, base64url. */
  readonly token?: string;
  /** Extra `Host` values to answer to (behind a reverse proxy), e.g. `console.example:443`. */
  readonly allowedHosts?: readonly string[];
  readonly topics?: ConsoleTopics;
  /** The decoder's limits (the pipeline's `DecodeOptions`). */
  readonly decode?: DecodeOptions;
  readonly live?: LiveOptions;
  /** One coalesced frame per this many ms. Default 100. */
  readonly frameMs?: number;
  /** Viewers at once (further event streams get 503). Default 100. */
  readonly maxViewers?: number;
  /** A viewer with more unsent bytes is disconnected (it reconnects and resumes). Default 8 MiB. */
  readonly maxViewerBufferBytes?: number;
  /** Default 64 KiB. */
  readonly maxBodyBytes?: number;
  /** Buckets one history answer may have. Default 2,000. */
  readonly maxHistoryPoints?: number;
  /** Shadows watched for live updates at once (least recently asked released first). Default 64. */
  readonly maxWatchedShadows?: number;
  /** Default 12 h. */
  readonly sessionTtlMs?: number;
  /** Sessions at once (the oldest logged out first). Default 100. */
  readonly maxSessions?: number;
  /** The clock (epoch ms). Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * Counters of a running console.
 *
 * @example
 * ```ts
 * import type { ConsoleStats } from '@outpost/console';
 * const busy = (s: ConsoleStats): boolean => s.viewers > 0;
 * ```
 */
export interface ConsoleStats {
  readonly viewers: number;
  readonly sessions: number;
  /** MQTT messages received, and those that did not decode. */
  readonly messages: number;
  readonly rejected: number;
  /** Topic filters the broker refused (its ACL): the console runs without them. */
  readonly refusedSubscriptions: readonly string[];
  /** Viewers disconnected for not reading (they resume from their last event id). */
  readonly slowViewers: number;
  readonly watchedShadows: number;
  readonly live: LiveStats;
}

/**
 * A running console, from {@link startConsole}.
 *
 * @example
 * ```ts
 * import type { Console } from '@outpost/console';
 * const banner = (c: Console): string => `console at ${c.url}login (token ${c.token})`;
 * ```
 */
export interface Console {
  /** `http://127.0.0.1:PORT/` (https with `tls`). */
  readonly url: string;
  readonly port: number;
  /** The access token to log in with. */
  readonly token: string;
  readonly live: LiveState;
  stats(): ConsoleStats;
  /** Ends the event streams, stops listening, unsubscribes; closes the MQTT client it opened. */
  close(): Promise<void>;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

async function connectMqtt(o: ConsoleOptions): Promise<MqttClient> {
  if (typeof o.brokerUrl !== 'string') throw new TypeError('startConsole: expected options.mqtt (an MQTT.js client) or options.brokerUrl');
  const secure = o.brokerUrl.startsWith('mqtts://');
  if (!secure && o.insecure !== true) throw new RangeError(`startConsole: brokerUrl: expected mqtts:// (or insecure: true), got ${o.brokerUrl.slice(0, 60)}`);
  if (secure && (o.cert === undefined || o.key === undefined) && o.insecure !== true) throw new TypeError('startConsole: cert and key: expected the console identity\'s certificate and key');
  return mqtt.connectAsync(o.brokerUrl, {
    clientId: o.clientId ?? `outpost-console-${randomToken(6)}`,
    protocolVersion: o.protocolVersion ?? 5,
    reconnectPeriod: 1_000,
    connectTimeout: 20_000,
    ...(o.ca !== undefined ? { ca: o.ca } : {}),
    ...(o.cert !== undefined ? { cert: o.cert } : {}),
    ...(o.key !== undefined ? { key: o.key } : {}),
  });
}

interface Viewer {
  readonly res: ServerResponse;
  /** The session it was opened with: the stream ends when that session does. */
  readonly session: string;
}

const sse = (f: Frame): string => `id: ${f.id}\nevent: frame\ndata: ${f.data}\n\n`;

/**
 * Starts the console (see the module comment). Refuses a non-loopback `host` without `tls`.
 *
 * Not executed here (it needs a broker; see the README and test/browser.test.ts):
 * ```text
 * const c = await startConsole({ brokerUrl: 'mqtts://broker:8883', ca, cert, key, store });
 * console.log(`${c.url}login  token: ${c.token}`);
 * ```
 *
 * @throws {ConsoleError} `INSECURE_BIND`; TypeError/RangeError for wrong options.
 * @example
 * ```ts
 * import { startConsole } from '@outpost/console';
 * const error = await startConsole({ host: '0.0.0.0', mqtt: {} as never }).catch((e) => e.code);
 * error; // 'INSECURE_BIND'
 * ```
 */
export async function startConsole(options: ConsoleOptions): Promise<Console> {
  assertObject('startConsole: options', options);
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string') throw new TypeError('startConsole: host: expected a string');
  const tls = options.tls !== undefined;
  if (!isLoopback(host) && !tls) throw new ConsoleError('INSECURE_BIND', `startConsole: host ${host} is not a loopback address: give tls (the token and session would cross the network in clear)`);
  const now = options.now ?? Date.now;
  const frameMs = intOption('startConsole: frameMs', options.frameMs, 100, 10);
  const maxViewers = intOption('startConsole: maxViewers', options.maxViewers, 100, 1);
  const maxViewerBuffer = intOption('startConsole: maxViewerBufferBytes', options.maxViewerBufferBytes, 8 * 1024 * 1024, 1024);
  const maxWatched = intOption('startConsole: maxWatchedShadows', options.maxWatchedShadows, 64, 0);
  const sessionTtlMs = intOption('startConsole: sessionTtlMs', options.sessionTtlMs, 12 * 3_600_000, 1_000);
  const token = options.token ?? randomToken();
  if (typeof token !== 'string' || token.length < 16) throw new RangeError('startConsole: token: expected a string of at least 16 characters');
  const assets = await loadAssets();
  const live = new LiveState(options.live ?? {});
  const ownMqtt = options.mqtt === undefined;
  const client = options.mqtt ?? (await connectMqtt(options));
  const shadow = options.shadow === false ? undefined : (options.shadow ?? createShadowAppClient({ mqtt: client }));
  const ownShadow = options.shadow === undefined;
  let feed: Awaited<ReturnType<typeof startFeed>>;
  try {
    feed = await startFeed(client, live, options.topics ?? {}, options.decode ?? {}, now);
  } catch (err) {
    if (ownShadow) await shadow?.close();
    if (ownMqtt) await client.endAsync(true);
    throw err;
  }

  const watched = new Map<string, Promise<() => void>>();
  const watchShadow = (thing: string): void => {
    if (shadow === undefined || maxWatched === 0) return;
    const w = watched.get(thing);
    if (w !== undefined) {
      watched.delete(thing); // re-inserted: most recently asked last
      watched.set(thing, w);
      return;
    }
    const stop = shadow.watch(thing, (m) => {
      const st = m.current.state as { desired?: Record<string, never>; reported?: Record<string, never> };
      live.shadow(thing, { state: { ...st, ...{ delta: computeDelta(st.desired, st.reported) } }, version: m.current.version });
    });
    stop.catch(() => watched.delete(thing));
    watched.set(thing, stop);
    while (watched.size > maxWatched) {
      const [oldest, p] = watched.entries().next().value as [string, Promise<() => void>];
      watched.delete(oldest);
      void p.then((f) => f(), () => undefined);
    }
  };

  const viewers = new Set<Viewer>();
  let slowViewers = 0;
  const addViewer = (req: IncomingMessage, res: ServerResponse, lastId: number | undefined, session: string): void => {
    if (viewers.size >= maxViewers) throw new ConsoleError('CLOSED', `${maxViewers} viewers already`);
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.write('retry: 1000\n\n');
    // WHATWG HTML §9.2 (server-sent events): the browser sends Last-Event-ID when it reconnects.
    const missed = lastId === undefined ? undefined : live.since(lastId);
    if (missed !== undefined) for (const f of missed) res.write(sse(f));
    else {
      const snap = live.snapshot(now());
      res.write(`id: ${snap.id}\nevent: snapshot\ndata: ${JSON.stringify(snap)}\n\n`);
    }
    const v: Viewer = { res, session };
    viewers.add(v);
    req.socket.setNoDelay(true);
    res.on('close', () => viewers.delete(v));
  };

  const tick = setInterval(() => {
    const f = live.frame(now());
    if (f === undefined) return;
    const chunk = sse(f);
    for (const v of viewers) {
      if (v.res.writableLength > maxViewerBuffer) {
        slowViewers++;
        viewers.delete(v);
        v.res.destroy();
      } else v.res.write(chunk);
    }
  }, frameMs);
  // A stream outlives no session: ended at logout (endSession) or, at the next ping, at expiry.
  const endSession = (session: string): void => {
    for (const v of viewers) {
      if (v.session !== session) continue;
      viewers.delete(v);
      v.res.end();
    }
  };
  const ping = setInterval(() => {
    for (const v of viewers) {
      if (ctx?.sessions.has(v.session) === true) v.res.write(': ping\n\n');
      else endSession(v.session);
    }
  }, 15_000);

  let ctx: Parameters<typeof route>[0] | undefined;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    securityHeaders(res, tls);
    if (ctx === undefined) {
      res.writeHead(503).end();
      return;
    }
    void route(ctx, req, res);
  };
  const server: Server = tls ? createHttpsServer({ cert: options.tls?.cert, key: options.tls?.key }, handler) : createHttpServer(handler);
  const port = intOption('startConsole: port', options.port, 0, 0);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  } catch (err) {
    clearInterval(tick);
    clearInterval(ping);
    await feed.stop();
    if (ownMqtt) await client.endAsync(true);
    throw err;
  }
  const bound = (server.address() as AddressInfo).port;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const hosts = new Set([`${hostPart}:${bound}`, ...(options.allowedHosts ?? [])]);
  if (isLoopback(host)) for (const h of ['127.0.0.1', 'localhost', '[::1]']) hosts.add(`${h}:${bound}`);
  ctx = {
    sessions: new Sessions(token, sessionTtlMs, intOption('startConsole: maxSessions', options.maxSessions, 100, 1), now),
    assets, tls, hosts, live, now, store: options.store, shadow, watchShadow, addViewer, endSession,
    maxBodyBytes: intOption('startConsole: maxBodyBytes', options.maxBodyBytes, 64 * 1024, 1024),
    maxHistoryPoints: intOption('startConsole: maxHistoryPoints', options.maxHistoryPoints, 2_000, 1),
    sessionTtlMs,
  };
  const sessions = ctx.sessions as Sessions;
  let closed: Promise<void> | undefined;
  return {
    url: `${tls ? 'https' : 'http'}://${hostPart}:${bound}/`,
    port: bound,
    token,
    live,
    stats: () => ({
      viewers: viewers.size, sessions: sessions.size, messages: feed.stats.messages, rejected: feed.stats.rejected,
      refusedSubscriptions: [...feed.stats.refused], slowViewers, watchedShadows: watched.size, live: live.stats(),
    }),
    close() {
      closed ??= (async () => {
        clearInterval(tick);
        clearInterval(ping);
        for (const v of viewers) v.res.end();
        viewers.clear();
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
        for (const p of watched.values()) await p.then((f) => f(), () => undefined);
        await feed.stop();
        if (ownShadow) await shadow?.close();
        if (ownMqtt) await client.endAsync();
      })();
      return closed;
    },
  };
}
