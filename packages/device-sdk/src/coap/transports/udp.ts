/** Plain CoAP over UDP (RFC 7252 §6.1 `coap://`): the package's UDP adapter, connected to the server. */
import { isIPv6 } from 'node:net';
import { CoapError } from '../errors.js';
import { defaultLocalAddress } from './transport.js';
import type { DatagramBinder } from '../../transports/datagram.js';
import { UdpEndpoint } from '../../transports/udp.js';

/** A binder for a UDP socket connected to host:port (datagrams from anyone else are dropped by the OS). */
export function udpBinder(host: string, port: number, localAddress?: string): DatagramBinder {
  const where = `UDP socket to ${host}:${port}`;
  return (onDatagram, onError) =>
    UdpEndpoint.bind({ host: localAddress ?? defaultLocalAddress(host) ?? (isIPv6(host) ? '::' : '0.0.0.0'), port: 0, connect: { address: host, port }, wrapError: (msg, cause) => new CoapError('NETWORK_ERROR', `${where}: ${msg}`, { cause }) }, onDatagram, onError);
}
