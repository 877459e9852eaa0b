/** The public types of the MQTT device client ({@link DeviceClient}). */
import type { DeviceError } from './errors.js';

/** QoS levels a device publishes and subscribes with. */
export type QoS = 0 | 1 | 2;

/**
 * MQTT 5 PUBLISH properties (MQTT 5 §3.3.2.3), as a device sends and receives them. Sending
 * them needs `protocolVersion: 5`.
 */
export interface PublishProperties {
  /** User properties (§3.3.2.3.7): names to one value or several, in order. */
  readonly userProperties?: Readonly<Record<string, string | readonly string[]>>;
  /** MIME type of the payload (§3.3.2.3.9), e.g. `application/cbor`. */
  readonly contentType?: string;
  /** True: the payload is UTF-8 text (Payload Format Indicator 1, §3.3.2.3.2). */
  readonly payloadFormatIndicator?: boolean;
  /** Seconds after which the broker discards the message if undelivered (§3.3.2.3.3). */
  readonly messageExpiryInterval?: number;
  /** Topic the receiver should answer on (§3.3.2.3.5); no wildcards. */
  readonly responseTopic?: string;
  /** Bytes that tie an answer to its request (§3.3.2.3.6), at most 65,535. */
  readonly correlationData?: Uint8Array;
}

/** A message received on a subscription. `payload` is a view, not a copy. */
export interface InboundMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: QoS;
  readonly retain: boolean;
  /** MQTT 5 PUBLISH properties, when the connection is MQTT 5 and the message carries any. */
  readonly properties?: PublishProperties;
  readonly dup: boolean;
}

/** Options of {@link DeviceClient.publish}. */
export interface PublishOptions {
  /** Default 1. */
  readonly qos?: QoS;
  /** Default false. */
  readonly retain?: boolean;
  /** Aborts while waiting for a slot or for the acknowledgement. */
  readonly signal?: AbortSignal;
  /** MQTT 5 properties (needs `protocolVersion: 5`; not kept by the edge buffer: QoS 0 or no buffer). */
  readonly properties?: PublishProperties;
}

/** Options of {@link DeviceClient.request}. */
export interface RequestOptions {
  /** Topic the answer comes on; the client subscribes to it for the request. */
  readonly responseTopic: string;
  /** Default 10,000 ms; then `REQUEST_TIMEOUT`. */
  readonly timeoutMs?: number;
  /** Default 1. */
  readonly qos?: QoS;
  /** Other properties to send with the request (not `responseTopic` / `correlationData`). */
  readonly properties?: Omit<PublishProperties, 'responseTopic' | 'correlationData'>;
  readonly signal?: AbortSignal;
}

/** Options of {@link DeviceClient.subscribe}. */
export interface SubscribeOptions {
  /** Maximum QoS requested. Default 1. */
  readonly qos?: QoS;
  readonly signal?: AbortSignal;
}

/** What the broker granted for one filter. */
export interface Granted {
  readonly filter: string;
  readonly qos: QoS;
}

/** Per-connection statistics. Counters cover the client's lifetime across reconnects. */
export interface ConnectionStats {
  readonly connected: boolean;
  readonly messagesIn: number;
  readonly messagesOut: number;
  /** Bytes received through the socket, all connections. */
  readonly bytesIn: number;
  /** Bytes sent through the socket, all connections. */
  readonly bytesOut: number;
  readonly reconnects: number;
  /** Round trip of the last PINGREQ/PINGRESP, ms; undefined before the first. */
  readonly lastPingRttMs: number | undefined;
  readonly inFlight: number;
  readonly pending: number;
  readonly lastError: DeviceError | undefined;
  /** Messages in the store-and-forward buffer not yet acknowledged by the broker (0 without a buffer). */
  readonly buffered: number;
  /** Buffered messages the broker refused for good (e.g. not authorized) and that were dropped from the buffer. */
  readonly bufferRejected: number;
}

/** The events of a {@link DeviceClient}. */
export interface DeviceClientEvents {
  /** Connected (first time, or again after an outage). */
  connect: [info: { readonly sessionPresent: boolean; readonly reconnect: boolean }];
  /** The connection dropped; a reconnect is scheduled unless reconnect is off. */
  offline: [];
  /** A reconnect attempt starts now, after `delayMs` of backoff. */
  reconnect: [info: { readonly attempt: number; readonly delayMs: number }];
  message: [message: InboundMessage];
  /** A connection-level error; the client keeps reconnecting where it can. */
  error: [error: DeviceError];
  /** Closed for good (by `close()`, or reconnects exhausted). */
  close: [];
}
