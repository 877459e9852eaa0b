/** Plain CoAP over UDP (RFC 7252 §6.1 `coap://`): a connected dgram socket. */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { CoapError } from '../errors.js';
import { defaultLocalAddress, type CoapTransport } from './transport.js';

/** Opens a UDP socket connected to host:port (datagrams from anyone else are dropped by the OS). */
export async function openUdpTransport(host: string, port: number, localAddress?: string): Promise<CoapTransport> {
  const sock: Socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
  let onMessage: (b: Uint8Array) => void = () => {};
  let onError: (e: CoapError) => void = () => {};
  let closed = false;
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error): void => {
      sock.close();
      reject(new CoapError('NETWORK_ERROR', `UDP socket to ${host}:${port}: ${err.message}`, { cause: err }));
    };
    sock.once('error', fail);
    sock.bind({ port: 0, address: localAddress ?? defaultLocalAddress(host) }, () => {
      sock.connect(port, host, () => {
        sock.off('error', fail);
        resolve();
      });
    });
  });
  sock.on('message', (msg) => onMessage(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength)));
  sock.on('error', (err) => {
    // ICMP port unreachable surfaces as ECONNREFUSED on a connected socket: the server is
    // not there (yet). Like a lost datagram, retransmission (or its timeout) deals with it.
    if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') return;
    onError(new CoapError('NETWORK_ERROR', `UDP socket to ${host}:${port}: ${err.message}`, { cause: err }));
  });
  return {
    send(bytes) {
      if (closed) throw new Error('socket closed');
      sock.send(bytes);
    },
    onMessage(fn) { onMessage = fn; },
    onError(fn) { onError = fn; },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      return new Promise<void>((resolve) => sock.close(() => resolve()));
    },
  };
}
