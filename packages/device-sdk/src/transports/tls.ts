import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { ResolvedOptions } from '../options.js';

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
    sock = tlsConnect({
      host: o.host,
      port: o.port,
      servername: o.servername ?? (isIp(o.host) ? undefined : o.host),
      ca: o.ca,
      ...(o.cert !== undefined ? { cert: o.cert } : {}),
      ...(o.key !== undefined ? { key: o.key } : {}),
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      ...(o.alpnProtocols !== undefined ? { ALPNProtocols: o.alpnProtocols } : {}),
    });
  } else {
    sock = netConnect({ host: o.host, port: o.port });
  }
  sock.setNoDelay(true);
  probe.current = sock;
  sock.on('error', (err: Error) => {
    probe.lastError = err;
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

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}
