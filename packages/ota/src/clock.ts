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
  /**
   * Resolves after `ms`, or at once (early) when `signal` aborts; never rejects. Holds at most
   * one listener on `signal` while it waits and none once settled, so a long rollout may sleep
   * any number of times on one signal. (Callers in this package also race it with the signal,
   * so a custom clock that never settles on abort still works.)
   */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/**
 * `Date.now()` and `setTimeout`. `sleep` resolves when its timer fires or its signal aborts
 * (an already-aborted signal: at once, with no timer and no listener), and removes its abort
 * listener either way.
 *
 * @example
 * ```ts
 * import { systemClock } from '@outpost/ota';
 * await systemClock.sleep(1, new AbortController().signal);
 * const ac = new AbortController();
 * const sleeping = systemClock.sleep(60_000, ac.signal).then(() => 'woke early');
 * ac.abort();
 * await sleeping; // 'woke early'
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const onAbort = (): void => {
        clearTimeout(t);
        resolve();
      };
      const t = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    }),
};

/**
 * Sleeps `ms` on `clock`, ending early when `signal` aborts whatever the clock does on an abort
 * (a custom clock may never settle), and leaves no listener on `signal` once it returns: the
 * loops that wait on a caller's signal many times (rollout rounds, agent retries) use it.
 * @internal
 */
export async function sleepUnlessAborted(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted === true) return;
  const wait = new AbortController();
  const onStop = (): void => wait.abort();
  signal?.addEventListener('abort', onStop, { once: true });
  try {
    await Promise.race([clock.sleep(ms, wait.signal), new Promise<void>((r) => wait.signal.addEventListener('abort', () => r(), { once: true }))]);
  } finally {
    signal?.removeEventListener('abort', onStop);
    wait.abort();
  }
}
