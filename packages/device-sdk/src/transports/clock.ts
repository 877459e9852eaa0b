/**
 * The one clock of the device side (DESIGN.md "One time and I/O model"): the MQTT-SN client,
 * every gateway session, the CoAP endpoint and the MQTT device client take time only from a
 * {@link Clock}, so tests and fuzzers drive them exactly. Its rule: a timer never fires early
 * (RFC 7252 §4.2: a retransmission is never early; MQTT-SN 1.2 §6.13 Tretry likewise).
 */

/**
 * Monotonic time and one-shot timers.
 *
 * @example
 * ```ts
 * import { connectCoap, type Clock } from '@outpost/device-sdk/coap';
 * const clock: Clock = { now: () => performance.now(), setTimer: (fn, ms) => setTimeout(fn, ms), clearTimer: (h) => clearTimeout(h as never) };
 * const c = await connectCoap(serverUrl, { insecure: true, clock });
 * (await c.get('/time')).code; // '2.05'
 * await c.close();
 * ```
 */
export interface Clock {
  /** Milliseconds on a monotonic timeline. */
  now(): number;
  /** Runs `fn` once, not before `ms` milliseconds have passed on {@link Clock.now}; returns a handle for {@link Clock.clearTimer}. */
  setTimer(fn: () => void, ms: number): unknown;
  /** Cancels a timer; unknown or fired handles are ignored. */
  clearTimer(handle: unknown): void;
}

/**
 * The real clock: `performance.now()` and Node timers (unref'd, so a pending protocol timer
 * does not keep the process alive on its own). Node schedules timers from the event loop's
 * cached whole-millisecond time, so a bare `setTimeout` can fire a little before its delay
 * has passed on `performance.now()`; this clock re-arms for the remainder, so a timer never
 * fires before its deadline.
 *
 * @example
 * ```ts
 * import { systemClock } from '@outpost/device-sdk/mqtt-sn';
 * const h = systemClock.setTimer(() => {}, 1000);
 * systemClock.clearTimer(h);
 * typeof systemClock.now(); // 'number'
 * ```
 */
export const systemClock: Clock = createSystemClock(false);

/**
 * The real clock with the same never-early rule, its timers kept `ref`'d (`keepAlive: true`) or
 * not. The device MQTT client uses a ref'd one: a reconnect backoff must keep a script alive.
 * @internal
 */
export function createSystemClock(keepAlive: boolean): Clock {
  return {
    now: () => performance.now(),
    setTimer: (fn, ms) => {
      const handle: { t: ReturnType<typeof setTimeout> | undefined } = { t: undefined };
      const due = performance.now() + ms;
      const arm = (delay: number): void => {
        handle.t = setTimeout(() => {
          const left = due - performance.now();
          if (left > 0) arm(left);
          else fn();
        }, delay);
        if (!keepAlive) handle.t.unref();
      };
      arm(ms);
      return handle;
    },
    clearTimer: (h) => {
      const t = (h as { t?: ReturnType<typeof setTimeout> } | undefined)?.t;
      if (t !== undefined) clearTimeout(t);
    },
  };
}
