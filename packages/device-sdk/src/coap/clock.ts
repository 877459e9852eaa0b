/**
 * The clock the CoAP logic runs on: the package's one {@link Clock} (transports/clock.ts).
 * Retransmission, response timeouts and the deduplication window take time only from it.
 */
import type { Clock } from '../transports/clock.js';

export { createSystemClock, systemClock } from '../transports/clock.js';

/**
 * The CoAP name of the package's one {@link Clock} (the same interface as the MQTT-SN side's).
 *
 * @example
 * ```ts
 * import { systemClock, type CoapClock } from '@outpost/device-sdk/coap';
 * const clock: CoapClock = systemClock;
 * typeof clock.now(); // 'number'
 * ```
 */
export type CoapClock = Clock;
