/**
 * `@outpost/device-sdk/mqtt-sn`: an MQTT-SN v1.2 codec, client and transparent gateway.
 *
 * @packageDocumentation
 */

// --- errors ---
export { MqttSnError } from './errors.js';
export type { MqttSnErrorCode } from './errors.js';

// --- codec (pure) ---
export { MsgType, ReturnCode } from './messages.js';
export type { MqttSnMessage, MqttSnMessageType, MqttSnQoS, PublishTopic, SubscribeTopic } from './messages.js';
export { decodeMessage, decodeFrame, encodeMessage } from './codec.js';
export type { DecodeOptions, DecodedFrame } from './codec.js';
