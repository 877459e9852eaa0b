// The datagram side of MQTT-SN: the package's one transport interface and UDP adapter
// (transports/), under the names this subpath has always exported. Internal.
import type { DatagramPeer } from '../transports/datagram.js';

export type { DatagramBinder, DatagramTransport } from '../transports/datagram.js';
export { UdpEndpoint } from '../transports/udp.js';

/**
 * A datagram source address: the package's {@link DatagramPeer}.
 *
 * @example
 * ```ts
 * import type { UdpPeer } from '@outpost/device-sdk/mqtt-sn';
 * const p: UdpPeer = { address: '127.0.0.1', port: 10000 };
 * p.port; // 10000
 * ```
 */
export type UdpPeer = DatagramPeer;
