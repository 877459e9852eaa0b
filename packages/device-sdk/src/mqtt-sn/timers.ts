// The clock and timers the protocol logic runs on; injectable so state machines are testable
// without waiting (DESIGN.md: codec, state machine, I/O).

/**
 * A clock and one-shot timers. The default uses the process timers; tests inject a manual one.
 *
 * @example
 * ```ts
 * import { systemTimers, type MqttSnTimers } from '@outpost/device-sdk/mqtt-sn';
 * const t: MqttSnTimers = systemTimers;
 * typeof t.now(); // 'number'
 * ```
 */
export interface MqttSnTimers {
  /** Milliseconds on a monotonic-enough clock. */
  now(): number;
  /** Calls `fn` once after `ms`; returns a handle for {@link MqttSnTimers.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * The process clock and timers (timers are unref'd so they never keep the process alive).
 *
 * @example
 * ```ts
 * import { systemTimers } from '@outpost/device-sdk/mqtt-sn';
 * const h = systemTimers.setTimeout(() => {}, 10);
 * systemTimers.clearTimeout(h);
 * ```
 */
export const systemTimers: MqttSnTimers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const h = setTimeout(fn, ms);
    h.unref();
    return h;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/**
 * Retransmission parameters (MQTT-SN 1.2 §6.13 retransmission procedure; §7.2 "Timer and
 * counter values" recommends Tretry 10–15 s and Nretry 3–5).
 *
 * @example
 * ```ts
 * import { DEFAULT_RETRY } from '@outpost/device-sdk/mqtt-sn';
 * DEFAULT_RETRY.tRetryMs; // 10000
 * DEFAULT_RETRY.nRetry;   // 3
 * ```
 */
export interface RetryPolicy {
  /** Tretry: how long to wait for the reply before retransmitting (ms). */
  readonly tRetryMs: number;
  /** Nretry: retransmissions after the first send before giving up. */
  readonly nRetry: number;
}

/**
 * The defaults: Tretry 10 s and Nretry 3, the low end of the ranges MQTT-SN 1.2 §7.2
 * recommends (the values Eclipse Paho's tester uses too).
 *
 * @example
 * ```ts
 * import { DEFAULT_RETRY } from '@outpost/device-sdk/mqtt-sn';
 * DEFAULT_RETRY; // { tRetryMs: 10000, nRetry: 3 }
 * ```
 */
export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ tRetryMs: 10_000, nRetry: 3 });

export function resolveRetry(fn: string, r: unknown): RetryPolicy {
  if (r === undefined) return DEFAULT_RETRY;
  if (r === null || typeof r !== 'object') throw new TypeError(`${fn}: retry: expected an object, got ${r === null ? 'null' : typeof r}`);
  const o = r as Partial<RetryPolicy>;
  const tRetryMs = o.tRetryMs ?? DEFAULT_RETRY.tRetryMs;
  const nRetry = o.nRetry ?? DEFAULT_RETRY.nRetry;
  if (typeof tRetryMs !== 'number' || typeof nRetry !== 'number') throw new TypeError(`${fn}: retry.tRetryMs and retry.nRetry must be numbers`);
  if (!(tRetryMs > 0) || !Number.isFinite(tRetryMs)) throw new RangeError(`${fn}: retry.tRetryMs: expected a positive number of ms, got ${tRetryMs}`);
  if (!Number.isInteger(nRetry) || nRetry < 0 || nRetry > 100) throw new RangeError(`${fn}: retry.nRetry: expected an integer 0…100, got ${nRetry}`);
  return { tRetryMs, nRetry };
}
