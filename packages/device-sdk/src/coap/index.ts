/**
 * `@outpost/device-sdk/coap`: a promise-first CoAP client (RFC 7252) with observe
 * (RFC 7641), block-wise transfers (RFC 7959), per-client transmission parameters, and
 * `coaps://` with DTLS 1.2 PSK per device.
 *
 * @packageDocumentation
 * @module @outpost/device-sdk/coap
 */

// --- client ---
export { connectCoap, CoapClient } from './client.js';
export type { CoapClientOptions, CoapRequestOptions, CoapObserveOptions, CoapBody } from './client.js';
export { CoapResponse } from './response.js';
export { CoapObservation } from './observe.js';
export type { PskCredentials } from './transports/dtls.js';

// --- errors ---
export { CoapError } from './errors.js';
export type { CoapErrorCode, CoapErrorDetails } from './errors.js';

// --- timing and clock (RFC 7252 §4.8) ---
export { DEFAULT_TRANSMISSION_PARAMETERS, resolveTiming } from './timing.js';
export type { TransmissionParameters, ResolvedTiming } from './timing.js';
export { systemClock } from './clock.js';
export type { CoapClock } from './clock.js';
export type { TransmitEvent, EndpointStats, OutboundRequest } from './endpoint.js';

// --- the sans-I/O message layer (the package's one machine shape) ---
export { CoapEndpointMachine } from './endpoint-machine.js';
export type { CoapEndpointEvent, EndpointMachineOptions } from './endpoint-machine.js';
export type { Clock } from '../transports/clock.js';
export type { DatagramBinder, DatagramPeer, DatagramTransport } from '../transports/datagram.js';
export type { OutDatagram, SansIoMachine } from '../transports/sansio.js';

// --- codec (RFC 7252 §3) and content formats ---
export { encodeMessage, decodeMessage, formatCode, parseCode, CoapOptionNumber, CoapMethodCode } from './codec.js';
export type { CoapMessage, CoapOption, CoapType, CoapMethod } from './codec.js';
export { ContentFormat } from './content-format.js';
export type { ContentFormatName, SenmlRecord } from './content-format.js';
export type { BlockSize } from './block.js';
