// The UDP edge: a dgram socket bound once, datagrams in and out as Uint8Array. The state
// machines above see only the DatagramTransport interface, so tests drive them without sockets.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { MqttSnError } from './errors.js';

/**
 * A datagram source address.
 *
 * @example
 * ```ts
 * import type { UdpPeer } from '@outpost/device-sdk/mqtt-sn';
 * const p: UdpPeer = { address: '127.0.0.1', port: 10000 };
 * p.port; // 10000
 * ```
 */
export interface UdpPeer {
  readonly address: string;
  readonly port: number;
}

/**
 * What the gateway needs from its datagram socket: send (one datagram, possibly given as
 * several parts that are sent together without joining them first), its address, close.
 * The default is UDP; a test or another datagram transport implements it.
 *
 * @example
 * ```ts
 * import type { DatagramTransport } from '@outpost/device-sdk/mqtt-sn';
 * const sent: Uint8Array[] = [];
 * const t: DatagramTransport = { send: (b) => { sent.push(...(Array.isArray(b) ? b : [b])); }, address: () => ({ address: '127.0.0.1', port: 1 }), close: async () => {} };
 * t.send(new Uint8Array([2, 0x16]), { address: '127.0.0.1', port: 2 });
 * sent.length; // 1
 * ```
 */
export interface DatagramTransport {
  send(bytes: Uint8Array | readonly Uint8Array[], to: UdpPeer): void;
  address(): UdpPeer;
  close(): Promise<void>;
}

/**
 * Opens a {@link DatagramTransport}: called by the gateway's `start()` with the inbound
 * datagram and error callbacks.
 *
 * @example
 * ```ts
 * import type { DatagramBinder } from '@outpost/device-sdk/mqtt-sn';
 * const bind: DatagramBinder = async (_onDatagram, _onError) => ({ send: () => {}, address: () => ({ address: '::1', port: 7 }), close: async () => {} });
 * (await bind(() => {}, () => {})).address().port; // 7
 * ```
 */
export type DatagramBinder = (onDatagram: (data: Uint8Array, from: UdpPeer) => void, onError: (e: Error) => void) => Promise<DatagramTransport>;

export interface UdpBindOptions {
  /** SO_RCVBUF in bytes (the kernel caps it at net.core.rmem_max). */
  readonly recvBufferSize?: number;
  readonly sendBufferSize?: number;
}

export class UdpEndpoint implements DatagramTransport {
  private constructor(private readonly socket: Socket) {}

  static async bind(host: string, port: number, onDatagram: (data: Uint8Array, from: UdpPeer) => void, onError: (e: Error) => void, o: UdpBindOptions = {}): Promise<UdpEndpoint> {
    const type = host.includes(':') ? 'udp6' : 'udp4';
    const socket = createSocket({ type, reuseAddr: false, ...(o.recvBufferSize !== undefined ? { recvBufferSize: o.recvBufferSize } : {}), ...(o.sendBufferSize !== undefined ? { sendBufferSize: o.sendBufferSize } : {}) });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
      onDatagram(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), { address: rinfo.address, port: rinfo.port });
    });
    socket.on('error', onError);
    return new UdpEndpoint(socket);
  }

  send(bytes: Uint8Array | readonly Uint8Array[], to: UdpPeer): void {
    try {
      // dgram sends an array as one datagram (sendmsg with an iovec): the payload is not copied.
      this.socket.send(bytes as Uint8Array | Uint8Array[], to.port, to.address);
    } catch (e) {
      throw new MqttSnError('NETWORK_ERROR', `UDP send to ${to.address}:${to.port} failed: ${(e as Error).message}`, { cause: e });
    }
  }

  /** The receive buffer the kernel granted (bytes; Linux reports twice the request). */
  recvBufferSize(): number {
    return this.socket.getRecvBufferSize();
  }

  setBroadcast(on: boolean): void {
    this.socket.setBroadcast(on);
  }

  address(): UdpPeer {
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
