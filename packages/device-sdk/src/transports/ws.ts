// MQTT over WebSockets (MQTT 5.0 §6, MQTT 3.1.1 §6): MQTT packets in binary WebSocket frames,
// subprotocol "mqtt". The TLS socket under the HTTP upgrade is the one openStream() builds, so
// certificate checks, the device certificate, TCP_NODELAY, byte counts and the classification of
// a broker that drops the connection are the same as for mqtts://.
import type { Duplex } from 'node:stream';
import WebSocket, { createWebSocketStream } from 'ws';
import type { ResolvedOptions } from '../options.js';
import { openStream, type TransportProbe } from './tls.js';

/**
 * Opens an MQTT-over-WebSockets stream to `o.url` (`wss:` or, with `insecure`, `ws:`). Messages
 * are not compressed (`permessage-deflate` off: MQTT payloads from devices are small and often
 * already encoded, and compression costs the device CPU and memory).
 */
export function openWebSocketStream(o: ResolvedOptions, probe: TransportProbe): Duplex {
  const scheme = o.tls ? 'wss' : 'ws';
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  const socket = new WebSocket(`${scheme}://${host}:${o.port}${o.wsPath ?? '/mqtt'}`, 'mqtt', {
    createConnection: () => openStream(o, probe),
    perMessageDeflate: false,
    // MQTT's own largest packet (256 MiB, the Remaining Length limit); the broker's limits apply first.
    maxPayload: 268_435_460,
    handshakeTimeout: o.connectTimeoutMs,
    followRedirects: false,
  });
  const stream = createWebSocketStream(socket);
  // A refused upgrade (e.g. HTTP 404 for a wrong path) surfaces as a stream error, which MQTT.js
  // reports as a connection error.
  socket.on('unexpected-response', (_req, res) => {
    stream.destroy(new Error(`the broker answered the WebSocket upgrade with HTTP ${res.statusCode} ${res.statusMessage ?? ''} (check the URL path, e.g. /mqtt)`.trim()));
  });
  return stream;
}
