/**
 * The one datagram-transport interface of the device side (DESIGN.md "One time and I/O
 * model"): the MQTT-SN client and gateway and the CoAP client all speak through it, over UDP
 * (transports/udp.ts), DTLS (coap/transports/dtls.ts) or a test's in-process link.
 */

/**
 * A datagram source or destination address.
 *
 * @example
 * ```ts
 * import type { DatagramPeer } from '@outpost/device-sdk/mqtt-sn';
 * const p: DatagramPeer = { address: '127.0.0.1', port: 10000 };
 * p.port; // 10000
 * ```
 */
export interface DatagramPeer {
  readonly address: string;
  readonly port: number;
}

/**
 * An open datagram transport: send (one datagram, possibly given as several parts that are sent
 * together without joining them first), its local address, close. A connected transport (DTLS,
 * a connected UDP socket) has one peer and ignores `to`.
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
  /** Sends one datagram; throws when the transport is closed or the send fails at once. */
  send(bytes: Uint8Array | readonly Uint8Array[], to?: DatagramPeer): void;
  address(): DatagramPeer;
  close(): Promise<void>;
}

/**
 * Opens a {@link DatagramTransport} and wires its inbound side: every datagram goes to
 * `onDatagram`, a failure of the transport for good to `onError`. The `transport` option of
 * `connectMqttSn`, `MqttSnGateway` and `connectCoap` takes one.
 *
 * @example
 * ```ts
 * import type { DatagramBinder } from '@outpost/device-sdk/mqtt-sn';
 * const bind: DatagramBinder = async (_onDatagram, _onError) => ({ send: () => {}, address: () => ({ address: '::1', port: 7 }), close: async () => {} });
 * (await bind(() => {}, () => {})).address().port; // 7
 * ```
 */
export type DatagramBinder = (onDatagram: (data: Uint8Array, from: DatagramPeer) => void, onError: (e: Error) => void) => Promise<DatagramTransport>;
