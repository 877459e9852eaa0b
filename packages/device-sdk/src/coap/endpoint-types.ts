/** The types at the edges of the CoAP message layer ({@link Endpoint}). */
import type { CoapClock } from './clock.js';
import type { CoapOption } from './codec.js';
import type { ResolvedTiming } from './timing.js';

/**
 * One datagram of a request leaving the client (first transmission or retransmission).
 *
 * @example
 * ```ts
 * import { connectCoap, type TransmitEvent } from '@outpost/device-sdk/coap';
 * const sent: TransmitEvent[] = [];
 * const c = await connectCoap(serverUrl, { insecure: true, onTransmit: (e) => sent.push(e) });
 * await c.get('/time');
 * sent[0]?.attempt; // 0
 * c.stats.retransmissions; // 0
 * await c.close();
 * ```
 */
export interface TransmitEvent {
  readonly messageId: number;
  readonly token: Uint8Array;
  readonly type: 'CON' | 'NON';
  /** 0 for the first transmission, n for the n-th retransmission. */
  readonly attempt: number;
  /** Clock time of this transmission. */
  readonly at: number;
  /** The retransmission timeout armed after this transmission (CON only; RFC 7252 §4.2). */
  readonly timeoutMs: number | undefined;
}

/** Counters of one endpoint. */
export interface EndpointStats {
  /** Request datagrams sent, retransmissions included. */
  sent: number;
  retransmissions: number;
  /** Datagrams received. */
  received: number;
  /** Duplicates dropped within the deduplication window (RFC 7252 §4.5). */
  duplicates: number;
  /** Datagrams that did not decode. */
  malformed: number;
}

/** What the endpoint needs from its owner. */
export interface EndpointOptions {
  readonly timing: ResolvedTiming;
  readonly clock: CoapClock;
  /** Uniform in [0, 1): the random part of the initial timeout, the first message id. */
  readonly random: () => number;
  /** Random bytes for tokens (RFC 7252 §5.3.1). */
  readonly randomBytes: (n: number) => Uint8Array;
  /** Hands a datagram to the transport. May throw; the request then fails with NETWORK_ERROR. */
  readonly send: (bytes: Uint8Array) => void;
  /** Time to wait for a separate or NON response once the request is acknowledged/sent. */
  readonly responseTimeout: number;
  readonly onTransmit?: ((e: TransmitEvent) => void) | undefined;
}

/** A request handed to the endpoint. */
export interface OutboundRequest {
  readonly confirmable: boolean;
  readonly code: number;
  readonly options: readonly CoapOption[];
  readonly payload: Uint8Array;
  /** Reuse a token (RFC 7641 §3.6 deregistration); a fresh random one otherwise. */
  readonly token?: Uint8Array | undefined;
  /** For error messages: "GET /time". */
  readonly label: string;
}
