/** The public types of the MQTT device client ({@link DeviceClient}). */
import type { DeviceError } from './errors.js';

/** QoS levels a device publishes and subscribes with. */
export type QoS = 0 | 1 | 2;

/** A message received on a subscription. `payload` is a view, not a copy. */
export interface InboundMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: QoS;
  readonly retain: boolean;
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
