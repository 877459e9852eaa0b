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

// --- timing ---
export { systemTimers, DEFAULT_RETRY } from './timers.js';
export type { MqttSnTimers, RetryPolicy } from './timers.js';

// --- client ---
export { connectMqttSn, publishQoSMinus1, MqttSnClient } from './client.js';
export type { MqttSnClientOptions, MqttSnClientEvents, MqttSnClientState, MqttSnInbound, MqttSnPublishOptions, MqttSnWill } from './client.js';
export { searchGateway } from './discovery.js';
export type { DiscoveredGateway, SearchGatewayOptions } from './discovery.js';

// --- gateway ---
export { MqttSnGateway } from './gateway.js';
export { DEFAULT_GATEWAY_LIMITS } from './gateway-options.js';
export type { MqttSnGatewayOptions, MqttSnGatewayLimits, MqttSnGatewayStats, MqttSnGatewayEvents } from './gateway-options.js';
export type { BrokerConnectRequest, BrokerCredentials, BrokerLink, BrokerLinkHandlers, CredentialSource, GatewayBrokerOptions } from './gateway-broker.js';

// --- transport ---
export type { DatagramBinder, DatagramTransport, UdpPeer } from './udp.js';
