import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { DeviceError } from '../errors.js';
import type { ResolvedOptions, TokenKey } from '../options.js';

/**
 * TLS contexts of token keys, one per (engine, key, certificate, CA), kept for the process: with
 * Node 20's bundled OpenSSL and libp11 (the pkcs11 engine), a second context that loads the same
 * engine fails with `engine routines::init failed`, so every connection and reconnect reuses it.
 */
const engineContexts = new Map<string, SecureContext>();

/** The TLS context of a token key (created once; DeviceError `CERT_INVALID` when the engine cannot load the key). */
export function tokenKeyContext(key: TokenKey, cert: string | undefined, ca: readonly string[] | undefined): SecureContext {
  const k = JSON.stringify([key.engine, key.id, cert ?? '', ca ?? []]);
  let ctx = engineContexts.get(k);
  if (ctx === undefined) {
    try {
      ctx = createSecureContext({ ...(cert === undefined ? {} : { cert }), ...(ca === undefined ? {} : { ca: [...ca] }), privateKeyEngine: key.engine, privateKeyIdentifier: key.id, minVersion: 'TLSv1.2' });
    } catch (err) {
      throw new DeviceError('CERT_INVALID', `connectDevice: key: the engine ${key.engine} could not load ${key.id.replace(/pin-value=[^;]*/, 'pin-value=…')}: ${(err as Error).message} (Node loads an engine only by its full path, and libp11 only once per process: one token key context per process)`, { cause: err });
    }
    engineContexts.set(k, ctx);
  }
  return ctx;
}

/** Byte counters and the last socket error, across the sockets of one client. */
export interface TransportProbe {
  /** Bytes of sockets already closed. */
  closedIn: number;
  closedOut: number;
  current: Socket | undefined;
  lastError: Error | undefined;
}

/** Bytes read and written so far, all sockets of the client. */
export function probeBytes(p: TransportProbe): { bytesIn: number; bytesOut: number } {
  return { bytesIn: p.closedIn + (p.current?.bytesRead ?? 0), bytesOut: p.closedOut + (p.current?.bytesWritten ?? 0) };
}

/**
 * Builds the TCP or TLS stream MQTT.js speaks over. TLS verification is always on
 * (`rejectUnauthorized: true`); TLS 1.2 is the floor. Nagle is off: small MQTT
 * packets must not wait for an ACK (this matters on high-latency links).
 */
export function openStream(o: ResolvedOptions, probe: TransportProbe): Socket | TLSSocket {
  let sock: Socket | TLSSocket;
  if (o.tls) {
    const tokenKey = o.key !== undefined && typeof o.key !== 'string' ? o.key : undefined;
    sock = tlsConnect({
      host: o.host,
      port: o.port,
      servername: o.servername ?? (isIp(o.host) ? undefined : o.host),
      // A token key: the engine does the private-key operation in a context made once (the key never enters Node).
      ...(tokenKey !== undefined
        ? { secureContext: tokenKeyContext(tokenKey, o.cert, o.ca) }
        : { ca: o.ca, ...(o.cert !== undefined ? { cert: o.cert } : {}), ...(typeof o.key === 'string' ? { key: o.key } : {}) }),
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      ...(o.alpnProtocols !== undefined ? { ALPNProtocols: o.alpnProtocols } : {}),
    });
  } else {
    sock = netConnect({ host: o.host, port: o.port });
  }
  sock.setNoDelay(true);
  probe.current = sock;
  // Whether the broker dropped us after TCP and before any TLS handshake message: TCP came up
  // and no key material was ever derived ('keylog' fires once the ServerHello is processed).
  let tcpUp = false;
  let serverSpoke = !o.tls;
  sock.once('connect', () => { tcpUp = true; });
  if (o.tls) sock.once('keylog', () => { serverSpoke = true; });
  sock.on('error', (err: Error) => {
    probe.lastError = tcpUp && !serverSpoke && !isTlsAlert(err) ? droppedBeforeTls(err) : err;
  });
  // Byte counts are read from the socket, not counted per write: MQTT.js writes each
  // packet in several pieces, and a wrapper on every write showed in the throughput bench.
  sock.once('close', () => {
    probe.closedIn += sock.bytesRead;
    probe.closedOut += sock.bytesWritten;
    if (probe.current === sock) probe.current = undefined;
  });
  return sock;
}

/** What the socket made of `err` (e.g. BROKER_UNAVAILABLE), for an error MQTT.js re-emits. */
export function classified(probe: TransportProbe, err: Error): Error {
  const last = probe.lastError;
  return last !== undefined && (last === err || last.cause === err) ? last : err;
}

/**
 * The broker accepted TCP and dropped the connection before sending a single byte of its TLS
 * handshake. Mosquitto does this when it is out of file descriptors (its accept path cannot
 * open what it needs and closes the socket) or at `max_connections`: a broker-side capacity
 * problem, not a network one.
 */
function droppedBeforeTls(err: Error): DeviceError {
  return new DeviceError(
    'BROKER_UNAVAILABLE',
    `the broker accepted the TCP connection and closed it before answering the TLS handshake (0 bytes received): it is likely out of file descriptors or at max_connections (${(err as { code?: string }).code ?? err.message})`,
    { cause: err },
  );
}

function isTlsAlert(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS'));
}

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}
