/**
 * `@outpost/device-sdk/mqtt-sn`: an MQTT-SN v1.2 codec, client and transparent gateway.
 *
 * @packageDocumentation
 * @module @outpost/device-sdk/mqtt-sn
 */

// --- errors ---
export { MqttSnError } from './errors.js';
export type { MqttSnErrorCode } from './errors.js';

// --- codec (pure) ---
export { MsgType, ReturnCode } from './messages.js';
export type { MqttSnMessage, MqttSnMessageType, MqttSnQoS, PublishTopic, SubscribeTopic } from './messages.js';
export { decodeMessage, decodeFrame, encodeMessage } from './codec.js';
export type { DecodeOptions, DecodedFrame } from './codec.js';

// --- time (the package's one Clock) and retransmission ---
export { DEFAULT_RETRY } from './timers.js';
export type { RetryPolicy } from './timers.js';
export { systemClock } from '../transports/clock.js';
export type { Clock } from '../transports/clock.js';

// --- client ---
export { connectMqttSn, publishQoSMinus1, MqttSnClient } from './client.js';
export { MqttSnClientMachine } from './client-machine.js';
export type { MqttSnClientMachineEvent, MqttSnClientMachineOptions, MqttSnClientOptions, MqttSnClientEvents, MqttSnClientState, MqttSnInbound, MqttSnPublishOptions, MqttSnWill } from './client.js';
export { searchGateway } from './discovery.js';
export type { DiscoveredGateway, SearchGatewayOptions } from './discovery.js';

// --- gateway ---
export { MqttSnGateway } from './gateway.js';
export { DEFAULT_GATEWAY_LIMITS } from './gateway-options.js';
export type { MqttSnGatewayOptions, MqttSnGatewayLimits, MqttSnGatewayStats, MqttSnGatewayEvents } from './gateway-options.js';
export { DEFAULT_NAMESPACE } from './gateway-authorize.js';
export type { AdmitSource, Authorize, AuthorizeAction } from './gateway-authorize.js';
export type { BrokerConnectRequest, BrokerCredentials, BrokerLink, BrokerLinkHandlers, CredentialSource, GatewayBrokerOptions } from './gateway-broker.js';

// --- transport and the sans-I/O shape (one for the whole package) ---
export type { DatagramBinder, DatagramPeer, DatagramTransport } from '../transports/datagram.js';
export type { UdpPeer } from './udp.js';
export type { OutDatagram, SansIoMachine } from '../transports/sansio.js';
