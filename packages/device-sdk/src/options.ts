import { DEFAULT_RECONNECT_POLICY, type ReconnectPolicy } from './backoff.js';
import type { EdgeBuffer } from '@outpost/edge-buffer';
import { isEdgeBuffer } from './buffered.js';
import { createSystemClock, type CoapClock } from './coap/clock.js';
import { describe } from './describe.js';
import { DeviceError } from './errors.js';

/** PEM text, or its bytes. */
export type Pem = string | Uint8Array;

/**
 * A private key held in a hardware token (PKCS#11, TPM) and used through an OpenSSL engine; the
 * key never enters this process. Node's `tls.connect` takes it as `privateKeyEngine` /
 * `privateKeyIdentifier`.
 */
export interface TokenKey {
  /**
   * The OpenSSL engine: with Node's bundled OpenSSL, the engine's **full path** (e.g. Debian's
   * `/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so`); an engine id such as `'pkcs11'` is looked
   * up in Node's own build-time engines directory and fails to load.
   */
  readonly engine: string;
  /** The key's identifier for that engine, e.g. a PKCS#11 URI `pkcs11:token=…;object=…;type=private`. */
  readonly id: string;
}

/** A last-will message the broker publishes if the device vanishes (MQTT 3.1.1 §3.1.2.5). */
export interface WillMessage {
  readonly topic: string;
  readonly payload: Uint8Array | string;
  readonly qos?: 0 | 1 | 2;
  readonly retain?: boolean;
}

/** Options of {@link connectDevice}. */
export interface ConnectDeviceOptions {
  /**
   * Broker URL: `mqtts://host:port` (default port 8883), or MQTT over WebSockets
   * `wss://host:port/path` (default port 443, path `/mqtt`) for networks that pass only HTTPS —
   * the device certificate is still required and presented in the TLS handshake. `mqtt://` and
   * `ws://` only with `insecure: true`.
   */
  readonly url: string;
  /** This device's own certificate (PEM). Required unless `insecure: true`. */
  readonly cert?: Pem;
  /**
   * The private key of `cert` (PEM), or a key in a token (`{ engine, id }`: then the credential
   * checks run on the certificate alone, and the TLS handshake proves the key). Required unless
   * `insecure: true`.
   */
  readonly key?: Pem | TokenKey;
  /** CA certificate(s) the broker's certificate must chain to (PEM). Required for `mqtts://`. */
  readonly ca?: Pem | readonly Pem[];
  /** MQTT client id. Defaults to the certificate's CN; if given, it must equal it. */
  readonly clientId?: string;
  /**
   * Allows connecting without a per-device certificate and over plain `mqtt://`.
   * For development brokers only; never in a fleet.
   */
  readonly insecure?: boolean;
  /** 4 = MQTT 3.1.1, 5 = MQTT 5 (default; reason codes tell a denied publish apart). */
  readonly protocolVersion?: 4 | 5;
  /** Keep-alive interval in seconds (default 60; see `planKeepAlive`). 0 disables it. */
  readonly keepAliveS?: number;
  /** Start a clean session (default true). */
  readonly cleanSession?: boolean;
  /** MQTT 5 session expiry interval in seconds (default 0). */
  readonly sessionExpiryIntervalS?: number;
  /** Time allowed for TCP + TLS + CONNACK, ms (default 10,000). */
  readonly connectTimeoutMs?: number;
  /** Publishes handed to the socket and not yet complete, at most (default 100). */
  readonly maxInFlight?: number;
  /** Publishes waiting for an in-flight slot, at most; more fail with `QUEUE_FULL` (default 10,000). */
  readonly maxPending?: number;
  /** Reconnect policy (exponential backoff with full jitter), or `false` to stay down. */
  readonly reconnect?: Partial<ReconnectPolicy> | false;
  /** TLS server name (SNI and certificate check); defaults to the URL host. */
  readonly servername?: string;
  /** ALPN protocols, e.g. `['x-amzn-mqtt-ca']` for AWS IoT Core on port 443. */
  readonly alpnProtocols?: readonly string[];
  /** Last will. */
  readonly will?: WillMessage;
  /**
   * Store-and-forward: QoS 1/2 publishes are appended to this durable buffer and `publish`
   * resolves once the message is on disk; a drain loop sends the backlog in FIFO order and
   * removes each message only after the broker acknowledged it. The app owns the buffer
   * (open it with `openBuffer` from `@outpost/edge-buffer`, close it after the client).
   */
  readonly buffer?: EdgeBuffer;
  /** Aborts the initial connect. */
  readonly signal?: AbortSignal;
  /** Uniform random numbers in [0, 1) for backoff jitter (injectable for tests). */
  readonly random?: () => number;
  /** Clock in ms since the epoch, for certificate validity checks (injectable for tests). */
  readonly now?: () => number;
  /**
   * Monotonic time and timers of the client's own logic: reconnect backoff, `ping()` timeout,
   * the store-and-forward retry pause. Default: the system clock (ref'd timers that never fire
   * early), the same model as the CoAP client's. MQTT.js's keep-alive keeps its own timers.
   */
  readonly clock?: CoapClock;
}

/** {@link ConnectDeviceOptions} after validation, with defaults applied. */
export interface ResolvedOptions {
  readonly url: URL;
  readonly tls: boolean;
  /** MQTT over WebSockets (`ws:`/`wss:`): the path of the upgrade request, e.g. `/mqtt`. */
  readonly wsPath: string | undefined;
  readonly host: string;
  readonly port: number;
  readonly cert: string | undefined;
  readonly key: string | TokenKey | undefined;
  readonly ca: string[] | undefined;
  readonly clientId: string | undefined;
  readonly insecure: boolean;
  readonly protocolVersion: 4 | 5;
  readonly keepAliveS: number;
  readonly cleanSession: boolean;
  readonly sessionExpiryIntervalS: number;
  readonly connectTimeoutMs: number;
  readonly maxInFlight: number;
  readonly maxPending: number;
  readonly reconnect: ReconnectPolicy | false;
  readonly servername: string | undefined;
  readonly alpnProtocols: string[] | undefined;
  readonly will: WillMessage | undefined;
  readonly buffer: EdgeBuffer | undefined;
  readonly signal: AbortSignal | undefined;
  readonly random: () => number;
  readonly now: () => number;
  readonly clock: CoapClock;
}

const decoder = new TextDecoder('utf-8', { fatal: false });

function isTokenKeyShape(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v);
}

function tokenKey(v: Record<string, unknown>): TokenKey {
  for (const f of ['engine', 'id'] as const) {
    if (typeof v[f] !== 'string') throw new TypeError(`connectDevice: key.${f}: expected a string, got ${describe(v[f])}`);
    if (v[f] === '') throw new RangeError(`connectDevice: key.${f}: must not be empty`);
  }
  return { engine: v['engine'] as string, id: v['id'] as string };
}

function pem(field: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return decoder.decode(v);
  throw new TypeError(`connectDevice: ${field}: expected PEM as a string or Uint8Array, got ${describe(v)}`);
}

function int(field: string, v: unknown, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  if (typeof v !== 'number') throw new TypeError(`connectDevice: ${field}: expected a number, got ${describe(v)}`);
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`connectDevice: ${field}: expected an integer in [${min}, ${max}], got ${v}`);
  return v;
}

function bool(field: string, v: unknown, def: boolean): boolean {
  if (v === undefined) return def;
  if (typeof v !== 'boolean') throw new TypeError(`connectDevice: ${field}: expected a boolean, got ${describe(v)}`);
  return v;
}

function fn<T>(field: string, v: unknown, def: T): T {
  if (v === undefined) return def;
  if (typeof v !== 'function') throw new TypeError(`connectDevice: ${field}: expected a function, got ${describe(v)}`);
  return v as T;
}

/** Validates `connectDevice` options: `TypeError` for a wrong type, `RangeError` for a bad value. */
export function resolveOptions(o: unknown): ResolvedOptions {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    throw new TypeError(`connectDevice: options: expected an object, got ${describe(o)}`);
  }
  const opts = o as Record<string, unknown>;
  if (typeof opts['url'] !== 'string') throw new TypeError(`connectDevice: url: expected a string, got ${describe(opts['url'])}`);
  let url: URL;
  try {
    url = new URL(opts['url']);
  } catch {
    throw new RangeError(`connectDevice: url: expected an mqtts:// or wss:// URL, got "${opts['url']}"`);
  }
  const insecure = bool('insecure', opts['insecure'], false);
  const ws = url.protocol === 'wss:' || url.protocol === 'ws:';
  const tls = url.protocol === 'mqtts:' || url.protocol === 'ssl:' || url.protocol === 'tls:' || url.protocol === 'wss:';
  const plain = url.protocol === 'mqtt:' || url.protocol === 'tcp:' || url.protocol === 'ws:';
  if (!tls && !plain) throw new RangeError(`connectDevice: url: unsupported protocol "${url.protocol}" (use mqtts:// or wss://)`);
  if (plain && !insecure) {
    throw new DeviceError('CERT_REQUIRED', `connectDevice: "${url.protocol}//" sends credentials and data in clear text; use ${ws ? 'wss' : 'mqtts'}:// with a device certificate, or pass insecure: true for a development broker`);
  }
  if (!ws && (url.pathname.length > 1 || url.search !== '')) throw new RangeError(`connectDevice: url: a path or query has no meaning for ${url.protocol}// (did you mean wss://?), got "${opts['url']}"`);
  const port = url.port === '' ? (ws ? (tls ? 443 : 80) : tls ? 8883 : 1883) : Number(url.port);
  const wsPath = ws ? (url.pathname === '/' && !opts['url'].replace(/^[a-z]+:\/\/[^/]*/i, '').startsWith('/') ? '/mqtt' : url.pathname) + url.search : undefined;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new RangeError(`connectDevice: url: no host in "${opts['url']}"`);

  const cert = pem('cert', opts['cert']);
  const key = isTokenKeyShape(opts['key']) ? tokenKey(opts['key']) : pem('key', opts['key']);
  let ca: string[] | undefined;
  const caIn = opts['ca'];
  if (Array.isArray(caIn)) ca = caIn.map((c, i) => pem(`ca[${i}]`, c) as string);
  else ca = caIn === undefined ? undefined : [pem('ca', caIn) as string];

  if (!insecure) {
    const missing = [cert === undefined ? 'cert' : '', key === undefined ? 'key' : '', ca === undefined ? 'ca' : ''].filter(Boolean);
    if (missing.length > 0) {
      throw new DeviceError('CERT_REQUIRED', `connectDevice: a per-device certificate is required: missing ${missing.join(', ')} (pass insecure: true only for a development broker)`);
    }
  } else if ((cert === undefined) !== (key === undefined)) {
    throw new DeviceError('CERT_REQUIRED', 'connectDevice: cert and key go together: pass both or neither');
  }
  if (tls && ca === undefined) {
    throw new DeviceError('CERT_REQUIRED', 'connectDevice: ca is required to verify the broker (the fleet or broker CA certificate)');
  }

  const clientId = opts['clientId'];
  if (clientId !== undefined && typeof clientId !== 'string') throw new TypeError(`connectDevice: clientId: expected a string, got ${describe(clientId)}`);
  if (clientId === '' ) throw new RangeError('connectDevice: clientId: must not be empty');
  if (clientId === undefined && cert === undefined) throw new DeviceError('INVALID_OPTION', 'connectDevice: clientId is required when no certificate is given');

  const protocolVersion = opts['protocolVersion'] === undefined ? 5 : opts['protocolVersion'];
  if (typeof protocolVersion !== 'number') throw new TypeError(`connectDevice: protocolVersion: expected 4 or 5, got ${describe(protocolVersion)}`);
  if (protocolVersion !== 4 && protocolVersion !== 5) throw new RangeError(`connectDevice: protocolVersion: expected 4 (MQTT 3.1.1) or 5, got ${protocolVersion}`);

  let reconnect: ReconnectPolicy | false;
  const r = opts['reconnect'];
  if (r === false) reconnect = false;
  else if (r === undefined) reconnect = DEFAULT_RECONNECT_POLICY;
  else if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new TypeError(`connectDevice: reconnect: expected an object or false, got ${describe(r)}`);
  else {
    const rr = r as Record<string, unknown>;
    const num = (f: keyof ReconnectPolicy, min: number): number => {
      const v = rr[f];
      if (v === undefined) return DEFAULT_RECONNECT_POLICY[f];
      if (typeof v !== 'number') throw new TypeError(`connectDevice: reconnect.${f}: expected a number, got ${describe(v)}`);
      if (Number.isNaN(v) || v < min) throw new RangeError(`connectDevice: reconnect.${f}: expected ≥ ${min}, got ${v}`);
      return v;
    };
    reconnect = { initialDelayMs: num('initialDelayMs', 0), maxDelayMs: num('maxDelayMs', 0), resetAfterMs: num('resetAfterMs', 0), maxAttempts: num('maxAttempts', 0) };
    if (reconnect.maxDelayMs < reconnect.initialDelayMs) throw new RangeError(`connectDevice: reconnect.maxDelayMs (${reconnect.maxDelayMs}) is below initialDelayMs (${reconnect.initialDelayMs})`);
  }

  const servername = opts['servername'];
  if (servername !== undefined && typeof servername !== 'string') throw new TypeError(`connectDevice: servername: expected a string, got ${describe(servername)}`);
  const alpn = opts['alpnProtocols'];
  if (alpn !== undefined && (!Array.isArray(alpn) || !alpn.every((a) => typeof a === 'string'))) throw new TypeError(`connectDevice: alpnProtocols: expected an array of strings, got ${describe(alpn)}`);
  const will = opts['will'];
  if (will !== undefined) {
    if (typeof will !== 'object' || will === null) throw new TypeError(`connectDevice: will: expected an object, got ${describe(will)}`);
    const w = will as Record<string, unknown>;
    if (typeof w['topic'] !== 'string') throw new TypeError(`connectDevice: will.topic: expected a string, got ${describe(w['topic'])}`);
    if (typeof w['payload'] !== 'string' && !(w['payload'] instanceof Uint8Array)) throw new TypeError(`connectDevice: will.payload: expected a string or Uint8Array, got ${describe(w['payload'])}`);
  }
  const buffer = opts['buffer'];
  if (buffer !== undefined && !isEdgeBuffer(buffer)) throw new TypeError(`connectDevice: buffer: expected an EdgeBuffer from @outpost/edge-buffer's openBuffer(), got ${describe(buffer)}`);
  const signal = opts['signal'];
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError(`connectDevice: signal: expected an AbortSignal, got ${describe(signal)}`);

  return {
    url,
    tls,
    wsPath,
    host,
    port,
    cert,
    key,
    ca,
    clientId: clientId as string | undefined,
    insecure,
    protocolVersion,
    keepAliveS: int('keepAliveS', opts['keepAliveS'], 60, 0, 65_535),
    cleanSession: bool('cleanSession', opts['cleanSession'], true),
    sessionExpiryIntervalS: int('sessionExpiryIntervalS', opts['sessionExpiryIntervalS'], 0, 0, 0xffff_ffff),
    connectTimeoutMs: int('connectTimeoutMs', opts['connectTimeoutMs'], 10_000, 1, 600_000),
    maxInFlight: int('maxInFlight', opts['maxInFlight'], 100, 1, 65_535),
    maxPending: int('maxPending', opts['maxPending'], 10_000, 0, 10_000_000),
    reconnect,
    servername: servername as string | undefined,
    alpnProtocols: alpn as string[] | undefined,
    will: will as WillMessage | undefined,
    buffer: buffer as EdgeBuffer | undefined,
    signal: signal as AbortSignal | undefined,
    random: fn('random', opts['random'], Math.random),
    now: fn('now', opts['now'], Date.now),
    clock: clockOption(opts['clock']),
  };
}

const deviceClock = createSystemClock(true);

function clockOption(c: unknown): CoapClock {
  if (c === undefined) return deviceClock;
  const k = c as Partial<CoapClock> | null;
  if (typeof c !== 'object' || k === null || typeof k.now !== 'function' || typeof k.setTimer !== 'function' || typeof k.clearTimer !== 'function') {
    throw new TypeError(`connectDevice: clock: expected { now, setTimer, clearTimer }, got ${describe(c)}`);
  }
  return c as CoapClock;
}
