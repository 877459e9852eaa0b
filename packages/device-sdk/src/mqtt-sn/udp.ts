// The UDP edge: a dgram socket bound once, datagrams in and out as Uint8Array. Internal.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { MqttSnError } from './errors.js';

export interface UdpPeer {
  readonly address: string;
  readonly port: number;
}

export class UdpEndpoint {
  private constructor(private readonly socket: Socket) {}

  static async bind(host: string, port: number, onDatagram: (data: Uint8Array, from: UdpPeer) => void, onError: (e: Error) => void): Promise<UdpEndpoint> {
    const type = host.includes(':') ? 'udp6' : 'udp4';
    const socket = createSocket({ type, reuseAddr: false });
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

  send(bytes: Uint8Array, to: UdpPeer): void {
    try {
      this.socket.send(bytes, to.port, to.address);
    } catch (e) {
      throw new MqttSnError('NETWORK_ERROR', `UDP send to ${to.address}:${to.port} failed: ${(e as Error).message}`, { cause: e });
    }
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
