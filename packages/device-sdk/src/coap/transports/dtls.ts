/**
 * CoAP over DTLS 1.2 with a pre-shared key (RFC 7252 §9.1 `coaps://`), on node-dtls-client 1.x
 * (pure TypeScript, Node ≥ 12; its 2.x needs Node 22).
 */
import type { Socket as UdpSocket } from 'node:dgram';
import { dtls } from 'node-dtls-client';
import { CoapError } from '../errors.js';
import type { DatagramBinder, DatagramPeer, DatagramTransport } from '../../transports/datagram.js';

/**
 * A device's own PSK identity and key. One per device, never one for the fleet: a PSK is a
 * symmetric secret, so whoever holds it can impersonate that device and (with the server)
 * read its traffic; a shared key turns one extracted device into the whole fleet.
 *
 * @example
 * ```ts
 * import type { PskCredentials } from '@outpost/device-sdk/coap';
 * const psk: PskCredentials = { identity: 'sensor-17', key: new TextEncoder().encode(deviceKey) };
 * psk.identity; // 'sensor-17'
 * ```
 */
export interface PskCredentials {
  /** PSK identity (RFC 4279 §5.1), sent in clear during the handshake. */
  readonly identity: string;
  /** The key: bytes, or a string whose UTF-8 bytes are the key (libcoap's `-k KEY`). */
  readonly key: Uint8Array | string;
}

const utf8 = new TextEncoder();

function classify(err: Error, connected: boolean, where: string): CoapError {
  const msg = err.message;
  if (/unsupported message type 12\b/.test(msg)) {
    // node-dtls-client 1.1.1 cannot parse a PSK ServerKeyExchange (an identity hint).
    return new CoapError('DTLS_UNSUPPORTED', `${where}: the server sent a PSK identity hint (ServerKeyExchange), which node-dtls-client 1.x cannot handle; configure the server without a hint (libcoap: -h "")`, { cause: err });
  }
  if (!connected) {
    return new CoapError('DTLS_HANDSHAKE_FAILED', `${where}: DTLS handshake failed (${msg}); check the PSK identity and key`, { cause: err });
  }
  return new CoapError('NETWORK_ERROR', `${where}: DTLS connection failed: ${msg}`, { cause: err });
}

/** A binder that performs a DTLS-PSK handshake with host:port and returns the secured (connected) transport. */
export function dtlsBinder(host: string, port: number, psk: PskCredentials, handshakeTimeout: number): DatagramBinder {
  return (onDatagram, onError) => openDtls(host, port, psk, handshakeTimeout, onDatagram, onError);
}

async function openDtls(host: string, port: number, psk: PskCredentials, handshakeTimeout: number, onMessage: (b: Uint8Array, from: DatagramPeer) => void, onError: (e: Error) => void): Promise<DatagramTransport> {
  const where = `coaps://${host}:${port}`;
  // node-dtls-client takes the key as a string and reads it with Buffer.from(key, 'ascii'),
  // i.e. one byte per char code: a latin1 string carries arbitrary key bytes through.
  const keyBytes = typeof psk.key === 'string' ? utf8.encode(psk.key) : psk.key;
  const key = String.fromCharCode(...keyBytes);
  const sock = dtls.createSocket({
    type: host.includes(':') ? 'udp6' : 'udp4',
    address: host,
    port,
    psk: { [psk.identity]: key },
    timeout: handshakeTimeout,
  });
  // node-dtls-client parses handshake records inside its dgram 'message' listener and throws
  // on what it cannot parse: that would be an uncaught exception. Wrap its listener so the
  // throw ends this connection with a typed error instead.
  const internals = sock as unknown as { udp: UdpSocket; killConnection(err: Error): void };
  const udp = internals.udp;
  const original = udp.listeners('message') as ((m: Buffer, r: unknown) => void)[];
  udp.removeAllListeners('message');
  udp.on('message', (m: Buffer, r: unknown) => {
    for (const l of original) {
      try {
        l.call(udp, m, r);
      } catch (err) {
        internals.killConnection(err as Error);
      }
    }
  });
  let connected = false;
  let closed = false;
  const peer: DatagramPeer = { address: host, port };
  await new Promise<void>((resolve, reject) => {
    sock.once('connected', () => {
      connected = true;
      resolve();
    });
    sock.on('error', (err: Error) => {
      closed = true;
      const e = classify(err, connected, where);
      if (!connected) reject(e);
      else onError(e);
    });
  });
  sock.on('message', (msg: Buffer) => onMessage(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), peer));
  sock.on('close', () => {
    if (!closed) {
      closed = true;
      onError(new CoapError('NETWORK_ERROR', `${where}: the server closed the DTLS session`));
    }
  });
  return {
    send(bytes) {
      if (closed) throw new CoapError('NETWORK_ERROR', `${where}: DTLS session closed`);
      const b = bytes instanceof Uint8Array ? bytes : Buffer.concat(bytes as Uint8Array[]);
      sock.send(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    },
    address() {
      const a = internals.udp.address();
      return { address: a.address, port: a.port };
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      return new Promise<void>((resolve) => {
        // close_notify may never be confirmed when the socket is already gone
        const t = setTimeout(resolve, 500);
        t.unref();
        try {
          sock.close(() => { clearTimeout(t); resolve(); });
        } catch {
          clearTimeout(t);
          resolve();
        }
      });
    },
  };
}
