/** Reconnect policy: exponential backoff with full jitter, bounded. */
export interface ReconnectPolicy {
  /** Cap of the first delay window, ms. Default 1,000. */
  readonly initialDelayMs: number;
  /** Upper bound of any delay, ms. Default 120,000 (as the AWS IoT device SDKs). */
  readonly maxDelayMs: number;
  /** A connection that stayed up this long resets the attempt count, ms. Default 30,000. */
  readonly resetAfterMs: number;
  /** Give up after this many failed attempts in a row. Default `Infinity`. */
  readonly maxAttempts: number;
}

/** The defaults of {@link ReconnectPolicy}. */
export const DEFAULT_RECONNECT_POLICY: ReconnectPolicy = Object.freeze({
  initialDelayMs: 1_000,
  maxDelayMs: 120_000,
  resetAfterMs: 30_000,
  maxAttempts: Number.POSITIVE_INFINITY,
});

/**
 * The delay before reconnect attempt `attempt` (0-based): uniform in
 * `[0, min(maxDelayMs, initialDelayMs · 2^attempt))` ("full jitter"). Spreading the
 * whole window, rather than adding a little noise to a fixed delay, is what keeps a
 * fleet from reconnecting in one burst after a broker restart.
 *
 * @param random - a source of uniform numbers in [0, 1); injectable for tests.
 * @example
 * ```ts
 * import { reconnectDelay, DEFAULT_RECONNECT_POLICY } from '@outpost/device-sdk';
 * const ms = reconnectDelay(3, DEFAULT_RECONNECT_POLICY, () => 0.5); // 4,000 ms: half of the 8 s window
 * ```
 */
export function reconnectDelay(attempt: number, policy: ReconnectPolicy, random: () => number = Math.random): number {
  if (!Number.isInteger(attempt) || attempt < 0) throw new RangeError(`attempt: expected a non-negative integer, got ${String(attempt)}`);
  // 2^attempt overflows to Infinity long before it matters; min() clamps it.
  const cap = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(attempt, 60));
  const r = random();
  return Math.floor(cap * (r >= 0 && r < 1 ? r : 0));
}
