/**
 * Time for the pipeline's protocol and delivery logic: the current time and one-shot timers.
 * Tests inject a manual clock; {@link systemClock} (`Date.now` and the global timers) is the
 * default. It has the shape of the batcher's clock, so one clock can drive every part.
 */

/** Milliseconds and one-shot timers. */
export interface PipelineClock {
  /** Epoch milliseconds. */
  now(): number;
  /** Calls `fn` once after `ms`; returns a handle for {@link PipelineClock.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * `Date.now()` and the global timers (not unref'd: a held message keeps the process alive).
 *
 * @example
 * ```ts
 * import { systemPipelineClock } from '@outpost/pipeline';
 * systemPipelineClock.now() > 1_600_000_000_000; // true
 * ```
 */
export const systemPipelineClock: PipelineClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Checks that `c` has the {@link PipelineClock} shape. */
export function assertClock(name: string, c: unknown): asserts c is PipelineClock {
  const o = c as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null || typeof o['now'] !== 'function' || typeof o['setTimeout'] !== 'function' || typeof o['clearTimeout'] !== 'function') {
    throw new TypeError(`${name}: expected a clock { now, setTimeout, clearTimeout }`);
  }
}
