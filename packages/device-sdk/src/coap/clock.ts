/**
 * The clock the protocol logic runs on. Retransmission, response timeouts and the
 * deduplication window take time only from here, so tests can drive them exactly.
 */

/**
 * Time and timers for the CoAP state machine.
 *
 * @example
 * ```ts
 * import { connectCoap, type CoapClock } from '@outpost/device-sdk/coap';
 * const clock: CoapClock = { now: () => performance.now(), setTimer: (fn, ms) => setTimeout(fn, ms), clearTimer: (h) => clearTimeout(h as never) };
 * const c = await connectCoap(serverUrl, { insecure: true, clock });
 * (await c.get('/time')).code; // '2.05'
 * await c.close();
 * ```
 */
export interface CoapClock {
  /** Milliseconds on a monotonic timeline. */
  now(): number;
  /** Runs `fn` after `ms` milliseconds; returns a handle for {@link CoapClock.clearTimer}. */
  setTimer(fn: () => void, ms: number): unknown;
  /** Cancels a timer; unknown or fired handles are ignored. */
  clearTimer(handle: unknown): void;
}

/**
 * The real clock: `performance.now()` and Node timers (unref'd, so a pending CoAP timer
 * does not keep the process alive on its own).
 *
 * @example
 * ```ts
 * import { systemClock } from '@outpost/device-sdk/coap';
 * const t0 = systemClock.now();
 * ```
 */
export const systemClock: CoapClock = {
  now: () => performance.now(),
  setTimer: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};
