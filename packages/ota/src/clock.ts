/**
 * Time for transfers and rollouts: milliseconds, and a cancellable wait. Tests inject a manual
 * clock; {@link systemClock} is the default.
 *
 * @example
 * ```ts
 * import { systemClock, type Clock } from '@outpost/ota';
 * const clock: Clock = systemClock;
 * clock.now() > 0; // true
 * ```
 */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or never once `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/**
 * `Date.now()` and `setTimeout`.
 *
 * @example
 * ```ts
 * import { systemClock } from '@outpost/ota';
 * await systemClock.sleep(1, new AbortController().signal);
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => clearTimeout(t), { once: true });
    }),
};
