/**
 * Transmission parameters (RFC 7252 §4.8) and the values derived from them (§4.8.2).
 * They belong to one client instance: two clients in one process can run different timing.
 */
import { describe } from '../describe.js';

/**
 * Transmission parameters of one client (RFC 7252 §4.8). Times in milliseconds.
 *
 * @example
 * ```ts
 * import { resolveTiming, type TransmissionParameters } from '@outpost/device-sdk/coap';
 * const lossyRadio: Partial<TransmissionParameters> = { ackTimeout: 4000, maxRetransmit: 6 };
 * resolveTiming(lossyRadio).maxTransmitSpan; // 378000
 * ```
 */
export interface TransmissionParameters {
  /** ACK_TIMEOUT: initial retransmission timeout. Default 2000. */
  readonly ackTimeout: number;
  /** ACK_RANDOM_FACTOR: the initial timeout is random in [ackTimeout, ackTimeout·factor]. Default 1.5, ≥ 1. */
  readonly ackRandomFactor: number;
  /** MAX_RETRANSMIT: retransmissions of a Confirmable message before giving up. Default 4. */
  readonly maxRetransmit: number;
  /** NSTART: outstanding interactions with the server at a time (RFC 7252 §4.7). Default 1. */
  readonly nstart: number;
  /** MAX_LATENCY: assumed maximum datagram transit time. Default 100000. */
  readonly maxLatency: number;
}

/** Parameters plus the derived times (RFC 7252 §4.8.2), all in milliseconds. */
export interface ResolvedTiming extends TransmissionParameters {
  /** MAX_TRANSMIT_SPAN = ACK_TIMEOUT · (2^MAX_RETRANSMIT − 1) · ACK_RANDOM_FACTOR (45 s by default). */
  readonly maxTransmitSpan: number;
  /** MAX_TRANSMIT_WAIT = ACK_TIMEOUT · (2^(MAX_RETRANSMIT+1) − 1) · ACK_RANDOM_FACTOR (93 s by default). */
  readonly maxTransmitWait: number;
  /** EXCHANGE_LIFETIME = MAX_TRANSMIT_SPAN + 2·MAX_LATENCY + PROCESSING_DELAY (247 s by default). */
  readonly exchangeLifetime: number;
  /** NON_LIFETIME = MAX_TRANSMIT_SPAN + MAX_LATENCY (145 s by default). */
  readonly nonLifetime: number;
}

/**
 * The RFC 7252 §4.8 defaults.
 *
 * @example
 * ```ts
 * import { DEFAULT_TRANSMISSION_PARAMETERS } from '@outpost/device-sdk/coap';
 * DEFAULT_TRANSMISSION_PARAMETERS.ackTimeout; // 2000
 * ```
 */
export const DEFAULT_TRANSMISSION_PARAMETERS: TransmissionParameters = Object.freeze({
  ackTimeout: 2000,
  ackRandomFactor: 1.5,
  maxRetransmit: 4,
  nstart: 1,
  maxLatency: 100_000,
});

function num(name: string, v: unknown, min: number, max: number, integer: boolean): number {
  if (typeof v !== 'number') throw new TypeError(`timing.${name}: expected a number, got ${describe(v)}`);
  if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    throw new RangeError(`timing.${name}: expected ${integer ? 'an integer' : 'a number'} in ${min}..${max}, got ${v}`);
  }
  return v;
}

/**
 * Fills in defaults, validates and derives MAX_TRANSMIT_SPAN, MAX_TRANSMIT_WAIT,
 * EXCHANGE_LIFETIME and NON_LIFETIME (PROCESSING_DELAY = ACK_TIMEOUT, RFC 7252 §4.8.2).
 *
 * @throws TypeError for non-numbers, RangeError for out-of-range values (ackRandomFactor
 * below 1 is forbidden by RFC 7252 §4.8).
 * @example
 * ```ts
 * import { resolveTiming } from '@outpost/device-sdk/coap';
 * resolveTiming({}).maxTransmitWait; // 93000
 * resolveTiming({ ackTimeout: 50 }).maxTransmitWait; // 2325
 * ```
 */
export function resolveTiming(partial: Partial<TransmissionParameters> = {}): ResolvedTiming {
  if (typeof partial !== 'object' || partial === null) throw new TypeError(`timing: expected an object, got ${describe(partial)}`);
  const d = DEFAULT_TRANSMISSION_PARAMETERS;
  const ackTimeout = num('ackTimeout', partial.ackTimeout ?? d.ackTimeout, 1, 3_600_000, false);
  const ackRandomFactor = num('ackRandomFactor', partial.ackRandomFactor ?? d.ackRandomFactor, 1, 16, false);
  const maxRetransmit = num('maxRetransmit', partial.maxRetransmit ?? d.maxRetransmit, 0, 20, true);
  const nstart = num('nstart', partial.nstart ?? d.nstart, 1, 1024, true);
  const maxLatency = num('maxLatency', partial.maxLatency ?? d.maxLatency, 0, 3_600_000, false);
  const maxTransmitSpan = ackTimeout * (2 ** maxRetransmit - 1) * ackRandomFactor;
  const maxTransmitWait = ackTimeout * (2 ** (maxRetransmit + 1) - 1) * ackRandomFactor;
  return {
    ackTimeout,
    ackRandomFactor,
    maxRetransmit,
    nstart,
    maxLatency,
    maxTransmitSpan,
    maxTransmitWait,
    exchangeLifetime: maxTransmitSpan + 2 * maxLatency + ackTimeout,
    nonLifetime: maxTransmitSpan + maxLatency,
  };
}
