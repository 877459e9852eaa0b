/**
 * The promise-first CoAP client: one instance per server origin and device, with its own
 * transmission parameters, transport (UDP or DTLS-PSK) and message layer.
 */
import { randomBytes } from 'node:crypto';
import { szxOf, type BlockSize } from './block.js';
import { requestBlockwise, type BlockwiseConfig } from './blockwise.js';
import { systemClock, type CoapClock } from './clock.js';
import { CoapMethodCode, CoapOptionNumber, encodeUintOption, stringOption, type CoapMethod, type CoapOption } from './codec.js';
import { contentFormatNumber, encodeBody, type ContentFormatName } from './content-format.js';
import { Endpoint, type EndpointStats, type OutboundRequest, type TransmitEvent } from './endpoint.js';
import { CoapError } from './errors.js';
import { CoapObservation } from './observe.js';
import { CoapResponse } from './response.js';
import { resolveTiming, type ResolvedTiming, type TransmissionParameters } from './timing.js';
import { dtlsBinder, type PskCredentials } from './transports/dtls.js';
import { udpBinder } from './transports/udp.js';
import type { DatagramBinder, DatagramTransport } from '../transports/datagram.js';
import { describe } from '../describe.js';

/** Options of {@link connectCoap}. */
export interface CoapClientOptions {
  /** This device's own PSK identity and key; required for `coaps://`. */
  readonly psk?: PskCredentials;
  /** Must be `true` to use plain `coap://` (no security). Default false. */
  readonly insecure?: boolean;
  /** Transmission parameters of this client (RFC 7252 §4.8); defaults are the RFC's. */
  readonly timing?: Partial<TransmissionParameters>;
  /** Wait for a separate or NON response after the request was acknowledged/sent. Default MAX_TRANSMIT_WAIT. */
  readonly responseTimeout?: number;
  /** Block size for request bodies (Block1) and, when given, the Block2 size asked for. Default 1024. */
  readonly blockSize?: BlockSize;
  /** Largest reassembled body accepted. Default 1 MiB. */
  readonly maxBodySize?: number;
  /** Notifications buffered per observation before the oldest is dropped. Default 16. */
  readonly maxQueuedNotifications?: number;
  /** DTLS handshake timeout in ms, per attempt. Default 10000. */
  readonly handshakeTimeout?: number;
  /**
   * DTLS handshake attempts. node-dtls-client does not retransmit handshake flights, so on a
   * lossy link a handshake can time out; each further attempt starts afresh. A wrong key also
   * looks like a timeout, so every attempt is spent before `DTLS_HANDSHAKE_FAILED`. Default 1.
   */
  readonly handshakeAttempts?: number;
  /** Local address for the UDP socket. Default: loopback for a loopback server, else any. */
  readonly localAddress?: string;
  /** Clock and timers of the protocol logic. Default {@link systemClock}. */
  readonly clock?: CoapClock;
  /** Uniform random in [0, 1) for the initial retransmission timeout. Default Math.random. */
  readonly random?: () => number;
  /** Called for every request datagram sent (retransmissions included), e.g. to trace timing. */
  readonly onTransmit?: (event: TransmitEvent) => void;
  /** Open this datagram transport instead of a socket (tests, custom links); it is connected to the server (`to` is not given). */
  readonly transport?: DatagramBinder;
}

/** Per-request options. */
export interface CoapRequestOptions {
  /** Confirmable (default) or Non-confirmable (RFC 7252 §2.1). */
  readonly confirmable?: boolean;
  /** Content-Format of the body (name or number). */
  readonly format?: ContentFormatName | number;
  /** Accept option: the format wanted back. */
  readonly accept?: ContentFormatName | number;
  /** Uri-Query items (`k=v` strings or a record), in addition to a `?query` in the path. */
  readonly query?: Readonly<Record<string, string>> | readonly string[];
  /** Overrides the client's block size for this request. */
  readonly blockSize?: BlockSize;
  /**
   * Asks for this one Block2 block only (RFC 7959 §2.4: a client may ask for any block by
   * number) and returns it as it came, not reassembled: for resumable downloads that restart
   * from a block number. Read the response's Block2 and ETag options. 0..1048575.
   */
  readonly block2?: number;
  /** Extra options sent as they are. */
  readonly options?: readonly CoapOption[];
  readonly signal?: AbortSignal;
}

/** Options of {@link CoapClient.observe}. */
export interface CoapObserveOptions extends Omit<CoapRequestOptions, 'format' | 'confirmable'> {
  /** Registration as CON (default) or NON. */
  readonly confirmable?: boolean;
}

/** A request body: text, bytes, or a value serialized by `format` (JSON, CBOR, SenML). */
export type CoapBody = string | Uint8Array | unknown;

const METHODS = Object.keys(CoapMethodCode) as CoapMethod[];

function fnOpt<T>(name: string, v: T | undefined): T | undefined {
  if (v !== undefined && typeof v !== 'function') throw new TypeError(`${name}: expected a function, got ${describe(v)}`);
  return v;
}

function posOpt(name: string, v: unknown, integer = false): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number') throw new TypeError(`${name}: expected a number, got ${describe(v)}`);
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) throw new RangeError(`${name}: expected a positive ${integer ? 'integer' : 'number'}, got ${v}`);
  return v;
}

function checkPsk(psk: unknown): PskCredentials {
  if (typeof psk !== 'object' || psk === null) throw new TypeError(`psk: expected { identity, key }, got ${psk === null ? 'null' : typeof psk} (the value is not shown: it may be a key)`);
  const { identity, key } = psk as Record<string, unknown>;
  if (typeof identity !== 'string') throw new TypeError(`psk.identity: expected a string, got ${typeof identity}`);
  if (identity.length === 0 || Buffer.byteLength(identity) > 128) throw new RangeError(`psk.identity: expected 1..128 bytes, got ${Buffer.byteLength(identity)}`);
  if (typeof key !== 'string' && !(key instanceof Uint8Array)) throw new TypeError(`psk.key: expected a string or Uint8Array, got ${describe(key)}`);
  if (key.length === 0) throw new RangeError('psk.key: must not be empty');
  return { identity, key };
}

/**
 * Connects a CoAP client to one server: `coap://host[:5683]` (only with `insecure: true`)
 * or `coaps://host[:5684]` with this device's own PSK (DTLS 1.2, node-dtls-client 1.x).
 *
 * @throws TypeError / RangeError for bad arguments; CoapError `PSK_REQUIRED`,
 * `DTLS_HANDSHAKE_FAILED` (wrong identity or key), `DTLS_UNSUPPORTED`, `NETWORK_ERROR`.
 * @example
 * ```ts
 * import { connectCoap } from '@outpost/device-sdk/coap';
 * // secureUrl: coaps://127.0.0.1:PORT of a server that knows this device's key (libcoap: -k)
 * const device = await connectCoap(secureUrl, { psk: { identity: 'sensor-17', key: deviceKey } });
 * const res = await device.get('/time');
 * res.code; // '2.05'
 * await device.close();
 * ```
 */
export async function connectCoap(url: string | URL, options: CoapClientOptions = {}): Promise<CoapClient> {
  if (typeof url !== 'string' && !(url instanceof URL)) throw new TypeError(`url: expected a string or URL, got ${describe(url)}`);
  if (typeof options !== 'object' || options === null) throw new TypeError(`options: expected an object, got ${describe(options)}`);
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    throw new RangeError(`url: not a URL: ${String(url)}`);
  }
  if (u.protocol !== 'coap:' && u.protocol !== 'coaps:') throw new RangeError(`url: expected coap:// or coaps://, got ${u.protocol}//`);
  if (u.pathname !== '' && u.pathname !== '/') throw new RangeError(`url: expected an origin without a path (paths go to get/put/...), got ${u.pathname}`);
  const secure = u.protocol === 'coaps:';
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = u.port === '' ? (secure ? 5684 : 5683) : Number(u.port);
  if (options.insecure !== undefined && typeof options.insecure !== 'boolean') throw new TypeError(`insecure: expected a boolean, got ${typeof options.insecure}`);
  const psk = options.psk === undefined ? undefined : checkPsk(options.psk);
  const timing = resolveTiming(options.timing === undefined ? {} : options.timing);
  const responseTimeout = posOpt('responseTimeout', options.responseTimeout) ?? timing.maxTransmitWait;
  const szx = options.blockSize === undefined ? 6 : szxOf(options.blockSize);
  const maxBodySize = posOpt('maxBodySize', options.maxBodySize, true) ?? 1 << 20;
  const maxQueue = posOpt('maxQueuedNotifications', options.maxQueuedNotifications, true) ?? 16;
  const handshakeTimeout = posOpt('handshakeTimeout', options.handshakeTimeout) ?? 10_000;
  const handshakeAttempts = posOpt('handshakeAttempts', options.handshakeAttempts, true) ?? 1;
  if (options.localAddress !== undefined && typeof options.localAddress !== 'string') throw new TypeError(`localAddress: expected a string, got ${typeof options.localAddress}`);
  const clock = options.clock === undefined ? systemClock : options.clock;
  if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function' || typeof clock.setTimer !== 'function' || typeof clock.clearTimer !== 'function') {
    throw new TypeError('clock: expected { now, setTimer, clearTimer }');
  }
  const random = fnOpt('random', options.random) ?? Math.random;
  const onTransmit = fnOpt('onTransmit', options.onTransmit);
  if (options.transport !== undefined && typeof options.transport !== 'function') {
    throw new TypeError('transport: expected a DatagramBinder (a function opening the transport)');
  }
  if (secure && psk === undefined && options.transport === undefined) {
    throw new CoapError('PSK_REQUIRED', `connectCoap: ${u.origin} needs this device's own psk: { identity, key }`);
  }
  if (!secure && options.insecure !== true) {
    throw new CoapError('PSK_REQUIRED', `connectCoap: coap:// is unencrypted and unauthenticated; use coaps:// with a per-device psk, or pass insecure: true`);
  }
  const bind = options.transport ?? (secure ? dtlsBinder(host, port, psk!, handshakeTimeout) : udpBinder(host, port, options.localAddress));
  const sink: TransportSink = { datagram: () => {}, error: () => {} };
  const transport = await handshake(bind, sink, secure ? handshakeAttempts : 1);
  return new CoapClient({ transport, sink, timing, clock, random, onTransmit, responseTimeout, szx, early2: options.blockSize !== undefined, maxBodySize, maxQueue, origin: `${u.protocol}//${u.host}` });
}

/** Where the open transport delivers: set by the client once it exists. */
interface TransportSink {
  datagram: (b: Uint8Array) => void;
  error: (e: CoapError) => void;
}

async function handshake(bind: DatagramBinder, sink: TransportSink, attempts: number): Promise<DatagramTransport> {
  for (let i = 1; ; i++) {
    try {
      return await bind((b) => sink.datagram(b), (e) => sink.error(e instanceof CoapError ? e : new CoapError('NETWORK_ERROR', e.message, { cause: e })));
    } catch (err) {
      // only a silent handshake is worth repeating; DTLS_UNSUPPORTED or an alert will not change
      if (i >= attempts || !(err instanceof CoapError) || err.code !== 'DTLS_HANDSHAKE_FAILED' || !/timed out/.test(err.message)) throw err;
    }
  }
}

interface ClientInit {
  readonly transport: DatagramTransport;
  readonly sink: TransportSink;
  readonly timing: ResolvedTiming;
  readonly clock: CoapClock;
  readonly random: () => number;
  readonly onTransmit: ((e: TransmitEvent) => void) | undefined;
  readonly responseTimeout: number;
  readonly szx: number;
  readonly early2: boolean;
  readonly maxBodySize: number;
  readonly maxQueue: number;
  readonly origin: string;
}

/**
 * A CoAP client bound to one server. Made by {@link connectCoap}.
 *
 * Convenience methods (`get`, `put`, …) reject with `RESPONSE_ERROR` for 4.xx/5.xx;
 * {@link CoapClient.request} resolves with any response code.
 *
 * @example
 * ```ts
 * import { connectCoap } from '@outpost/device-sdk/coap';
 * const c = await connectCoap(serverUrl, { insecure: true, timing: { ackTimeout: 1000 }, blockSize: 64 });
 * c.timing.maxTransmitWait; // 46500
 * const res = await c.put('/example_data', { t: 21.5 }, { format: 'application/cbor' });
 * res.value(); // { t: 21.5 }
 * await c.close();
 * ```
 */
export class CoapClient {
  /** `coap://host:port` or `coaps://host:port`. */
  readonly origin: string;
  /** This client's transmission parameters and derived times (RFC 7252 §4.8). */
  readonly timing: ResolvedTiming;
  private readonly init: ClientInit;
  private readonly endpoint: Endpoint;
  private closing: Promise<void> | undefined;

  /** @internal */
  constructor(init: ClientInit) {
    this.init = init;
    this.origin = init.origin;
    this.timing = init.timing;
    this.endpoint = new Endpoint({
      timing: init.timing,
      clock: init.clock,
      random: init.random,
      randomBytes: (n) => new Uint8Array(randomBytes(n)),
      send: (b) => init.transport.send(b),
      responseTimeout: init.responseTimeout,
      onTransmit: init.onTransmit,
    });
    init.sink.datagram = (b) => this.endpoint.receive(b);
    init.sink.error = (e) => this.endpoint.close(e);
  }

  /** Message-layer counters: sent, retransmissions, received, duplicates, malformed. */
  get stats(): Readonly<EndpointStats> {
    return { ...this.endpoint.stats };
  }

  /**
   * Sends a request with any method; resolves with the response whatever its code.
   *
   * @throws TypeError / RangeError for bad arguments; CoapError `TIMEOUT`, `RESET`,
   * `BLOCK_MISMATCH`, `BODY_TOO_LARGE`, `UNSUPPORTED_FORMAT`, `CLOSED`, `ABORTED`.
   * @example
   * ```ts
   * const res = await client.request('FETCH', '/example_data', 'q');
   * res.code; // '4.05'
   * ```
   */
  async request(method: CoapMethod, path: string, body?: CoapBody, options: CoapRequestOptions = {}): Promise<CoapResponse> {
    const { req, block } = this.build(method, path, body, options, false);
    const r = await requestBlockwise((m) => this.endpoint.request(m, options.signal), req, block, () => this.endpoint.newToken());
    return new CoapResponse(r.last, r.payload);
  }

  /** GET (RFC 7252 §5.8.1). @throws CoapError `RESPONSE_ERROR` for 4.xx/5.xx. @example `const t = (await client.get('/time')).text();` */
  async get(path: string, options?: CoapRequestOptions): Promise<CoapResponse> {
    return ok(await this.request('GET', path, undefined, options), 'GET', path);
  }

  /** PUT (RFC 7252 §5.8.3); bodies over the block size go block-wise (RFC 7959 Block1). @example `await client.put('/example_data', 'hello');` */
  async put(path: string, body: CoapBody, options?: CoapRequestOptions): Promise<CoapResponse> {
    return ok(await this.request('PUT', path, body, options), 'PUT', path);
  }

  /** POST (RFC 7252 §5.8.2). @example `await client.post('/readings', [{ n: 'temp', v: 21.5 }], { format: 'application/senml+cbor' });` */
  async post(path: string, body: CoapBody, options?: CoapRequestOptions): Promise<CoapResponse> {
    return ok(await this.request('POST', path, body, options), 'POST', path);
  }

  /** DELETE (RFC 7252 §5.8.4). @example `await client.delete('/readings/1');` */
  async delete(path: string, options?: CoapRequestOptions): Promise<CoapResponse> {
    return ok(await this.request('DELETE', path, undefined, options), 'DELETE', path);
  }

  /** FETCH (RFC 8132 §2), where the server supports it (else `RESPONSE_ERROR` 4.05). @example `await client.fetch('/data', { ids: [1, 2] }, { format: 'application/cbor' });` */
  async fetch(path: string, body: CoapBody, options?: CoapRequestOptions): Promise<CoapResponse> {
    return ok(await this.request('FETCH', path, body, options), 'FETCH', path);
  }

  /** PATCH (RFC 8132 §3), where the server supports it (else `RESPONSE_ERROR` 4.05). @example `await client.patch('/config', { rate: 10 }, { format: 'application/cbor' });` */
  async patch(path: string, body: CoapBody, options?: CoapRequestOptions): Promise<CoapResponse> {
    return ok(await this.request('PATCH', path, body, options), 'PATCH', path);
  }

  /**
   * Observes a resource (RFC 7641). The first value is the current state; then one per
   * notification, stale ones dropped (§3.4). Breaking out of the loop, `return()` or the
   * signal deregister from the server (§3.6) and end the iteration without an error; a 4.xx/
   * 5.xx notification ends it with `RESPONSE_ERROR`; a response without Observe ends it
   * after that value.
   *
   * @example
   * ```ts
   * const ac = new AbortController();
   * let seen = 0;
   * for await (const n of client.observe('/example_data', { signal: ac.signal })) {
   *   if (++seen === 2) ac.abort(); // deregisters, then the loop ends
   *   else await client.put('/example_data', 'changed');
   * }
   * seen; // 2
   * ```
   */
  observe(path: string, options: CoapObserveOptions = {}): CoapObservation {
    const { req, block } = this.build('GET', path, undefined, options, true);
    return new CoapObservation({ endpoint: this.endpoint, clock: this.init.clock, request: req, block, maxQueue: this.init.maxQueue, signal: options.signal });
  }

  /** Fails pending requests with `CLOSED`, ends observations, closes the socket (DTLS: close_notify). @example `await client.close();` */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.endpoint.close();
      await this.init.transport.close();
    })();
    return this.closing;
  }

  private build(method: CoapMethod, path: string, body: CoapBody, o: CoapRequestOptions, observe: boolean): { req: OutboundRequest; block: BlockwiseConfig } {
    if (typeof method !== 'string') throw new TypeError(`method: expected a string, got ${typeof method}`);
    if (!METHODS.includes(method)) throw new RangeError(`method: expected one of ${METHODS.join(', ')}, got ${method}`);
    if (typeof path !== 'string') throw new TypeError(`path: expected a string, got ${describe(path)}`);
    if (typeof o !== 'object' || o === null) throw new TypeError(`options: expected an object, got ${describe(o)}`);
    if (o.confirmable !== undefined && typeof o.confirmable !== 'boolean') throw new TypeError(`confirmable: expected a boolean, got ${typeof o.confirmable}`);
    if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new TypeError('signal: expected an AbortSignal');
    const options: CoapOption[] = [];
    const q = path.indexOf('?');
    const pathPart = q < 0 ? path : path.slice(0, q);
    // RFC 7252 §6.4: one Uri-Path option per segment, percent-decoded.
    for (const seg of pathPart.split('/')) {
      if (seg === '') continue;
      if (seg.length > 255) throw new RangeError(`path: segment over 255 bytes`);
      options.push(stringOption(CoapOptionNumber.UriPath, decodeURIComponent(seg)));
    }
    const queries: string[] = q < 0 ? [] : path.slice(q + 1).split('&').filter((s) => s !== '').map((s) => decodeURIComponent(s));
    if (o.query !== undefined) {
      if (Array.isArray(o.query)) {
        for (const s of o.query as readonly unknown[]) {
          if (typeof s !== 'string') throw new TypeError(`query: expected strings, got ${typeof s}`);
          queries.push(s);
        }
      } else if (typeof o.query === 'object' && o.query !== null) {
        for (const [k, v] of Object.entries(o.query)) {
          if (typeof v !== 'string') throw new TypeError(`query.${k}: expected a string, got ${typeof v}`);
          queries.push(`${k}=${v}`);
        }
      } else throw new TypeError(`query: expected an array or a record, got ${typeof o.query}`);
    }
    for (const s of queries) options.push(stringOption(CoapOptionNumber.UriQuery, s));
    if (observe) options.push({ number: CoapOptionNumber.Observe, value: encodeUintOption(0) });
    const fmt = o.format === undefined ? undefined : contentFormatNumber(o.format, 'format');
    const { payload, format } = encodeBody(body, fmt);
    if (format !== undefined && (payload.length > 0 || fmt !== undefined)) options.push({ number: CoapOptionNumber.ContentFormat, value: encodeUintOption(format) });
    if (o.accept !== undefined) options.push({ number: CoapOptionNumber.Accept, value: encodeUintOption(contentFormatNumber(o.accept, 'accept')) });
    if (o.options !== undefined) {
      if (!Array.isArray(o.options)) throw new TypeError('options.options: expected an array of { number, value }');
      options.push(...(o.options as readonly CoapOption[]));
    }
    const szx = o.blockSize === undefined ? this.init.szx : szxOf(o.blockSize);
    return {
      req: { confirmable: o.confirmable ?? true, code: CoapMethodCode[method], options, payload, label: `${method} ${pathPart === '' ? '/' : pathPart}` },
      block: { szx, early2: o.blockSize !== undefined || this.init.early2, maxBodySize: this.init.maxBodySize, ...(o.block2 !== undefined ? { single: checkBlockNum(o.block2) } : {}) },
    };
  }
}

function checkBlockNum(n: unknown): number {
  if (typeof n !== 'number') throw new TypeError(`block2: expected a number, got ${typeof n}`);
  if (!Number.isInteger(n) || n < 0 || n >= 1 << 20) throw new RangeError(`block2: expected 0..1048575, got ${n}`);
  return n;
}

function ok(res: CoapResponse, method: string, path: string): CoapResponse {
  if (res.ok) return res;
  const diag = res.payload.length > 0 && res.payload.length < 200 ? `: ${res.text()}` : '';
  throw new CoapError('RESPONSE_ERROR', `${method} ${path}: ${res.code}${diag}`, { responseCode: res.code });
}
