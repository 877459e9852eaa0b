import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { ResolvedOptions } from '../options.js';

/** Byte counters and the last socket error of the current transport. */
export interface TransportProbe {
  bytesIn: number;
  bytesOut: number;
  lastError: Error | undefined;
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
  sock.on('error', (err: Error) => {
    probe.lastError = err;
  });
  sock.on('data', (chunk: Uint8Array) => {
    probe.bytesIn += chunk.length;
  });
  const write = sock.write.bind(sock) as (...args: unknown[]) => boolean;
  (sock as { write: (...args: unknown[]) => boolean }).write = (chunk: unknown, ...rest: unknown[]): boolean => {
    if (chunk instanceof Uint8Array) probe.bytesOut += chunk.length;
    else if (typeof chunk === 'string') probe.bytesOut += Buffer.byteLength(chunk);
    return write(chunk, ...rest);
  };
  return sock;
}

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}
