// The one UDP adapter of the device side: a dgram socket, bound once (and connected for a
// client of one server), datagrams in and out as Uint8Array views. Thin on purpose: the
// protocol state machines above see only DatagramTransport.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import type { DatagramPeer, DatagramTransport } from './datagram.js';

/** How to open the socket. */
export interface UdpBindOptions {
  readonly host: string;
  readonly port: number;
  /** Connect to one peer (datagrams from anyone else are dropped by the OS). */
  readonly connect?: DatagramPeer;
  /** SO_RCVBUF in bytes (the kernel caps it at net.core.rmem_max). */
  readonly recvBufferSize?: number;
  readonly sendBufferSize?: number;
  /** The error type of the protocol above (MqttSnError, CoapError): what a failed send or bind throws. */
  readonly wrapError: (message: string, cause: Error) => Error;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * dgram resolves the destination of every send, an IP literal included, through dns.lookup,
 * which answers on the next tick. Peers here are IP literals (a datagram's source address), so
 * answer those at once and leave names to dns.lookup: one tick and one lookup less per datagram.
 */
function lookup(address: string, options: LookupOneOptions, cb: LookupCallback): void {
  const family = isIP(address);
  if (family !== 0) cb(null, address, family);
  else dnsLookup(address, options, cb);
}

export class UdpEndpoint implements DatagramTransport {
  private closed = false;
  private constructor(private readonly socket: Socket, private readonly connected: boolean, private readonly wrapError: UdpBindOptions['wrapError']) {}

  static async bind(o: UdpBindOptions, onDatagram: (data: Uint8Array, from: DatagramPeer) => void, onError: (e: Error) => void): Promise<UdpEndpoint> {
    const type = (o.connect?.address ?? o.host).includes(':') ? 'udp6' : 'udp4';
    const socket = createSocket({ type, reuseAddr: false, lookup: lookup as never, ...(o.recvBufferSize !== undefined ? { recvBufferSize: o.recvBufferSize } : {}), ...(o.sendBufferSize !== undefined ? { sendBufferSize: o.sendBufferSize } : {}) });
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error): void => {
        try { socket.close(); } catch { /* never bound */ }
        reject(o.wrapError(`UDP socket ${o.host}:${o.port}: ${err.message}`, err));
      };
      socket.once('error', fail);
      socket.bind(o.port, o.host, () => {
        const done = (): void => { socket.off('error', fail); resolve(); };
        if (o.connect === undefined) done();
        else socket.connect(o.connect.port, o.connect.address, done);
      });
    });
    socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
      // rinfo is a DatagramPeer already (address, port; family and size besides): no copy per datagram.
      onDatagram(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), rinfo);
    });
    socket.on('error', (err) => {
      // ICMP port unreachable surfaces as ECONNREFUSED on a connected socket: the peer is not
      // there (yet). Like a lost datagram, retransmission (or its timeout) deals with it.
      if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') return;
      onError(o.wrapError(`UDP socket: ${err.message}`, err));
    });
    return new UdpEndpoint(socket, o.connect !== undefined, o.wrapError);
  }

  send(bytes: Uint8Array | readonly Uint8Array[], to?: DatagramPeer): void {
    if (this.closed) throw this.wrapError('UDP send: socket closed', new Error('closed'));
    try {
      // dgram sends an array as one datagram (sendmsg with an iovec): the payload is not copied.
      if (this.connected) this.socket.send(bytes as Uint8Array | Uint8Array[]);
      else if (to !== undefined) this.socket.send(bytes as Uint8Array | Uint8Array[], to.port, to.address);
      else throw new Error('no destination on an unconnected socket');
    } catch (e) {
      throw this.wrapError(`UDP send to ${to === undefined ? 'peer' : `${to.address}:${to.port}`} failed: ${(e as Error).message}`, e as Error);
    }
  }

  /** The receive buffer the kernel granted (bytes; Linux reports twice the request). */
  recvBufferSize(): number {
    return this.socket.getRecvBufferSize();
  }

  setBroadcast(on: boolean): void {
    this.socket.setBroadcast(on);
  }

  address(): DatagramPeer {
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
