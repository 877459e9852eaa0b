// Retransmission parameters of the MQTT-SN side (MQTT-SN 1.2 §6.13, §7.2). Time itself comes
// from the package's one Clock (transports/clock.ts).

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
  /**
   * Each wait is stretched by a random 0…jitter fraction (default 0.25: Tretry … 1.25 × Tretry),
   * never shortened, so a fleet that lost the same datagrams does not retry in lockstep.
   */
  readonly jitter: number;
  /**
   * Each retransmission waits `backoff` times longer than the one before (default 1: the fixed
   * Tretry of MQTT-SN 1.2 §6.13; 2 doubles, up to 16 × Tretry).
   */
  readonly backoff: number;
}

/**
 * The defaults: Tretry 10 s and Nretry 3, the low end of the ranges MQTT-SN 1.2 §7.2
 * recommends (the values Eclipse Paho's tester uses too), with 25 % jitter and no backoff.
 *
 * @example
 * ```ts
 * import { DEFAULT_RETRY } from '@outpost/device-sdk/mqtt-sn';
 * DEFAULT_RETRY; // { tRetryMs: 10000, nRetry: 3, jitter: 0.25, backoff: 1 }
 * ```
 */
export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ tRetryMs: 10_000, nRetry: 3, jitter: 0.25, backoff: 1 });

/** The wait before retransmission number `attempt + 1` (attempt 0 follows the first send): never below Tretry. */
export function retryDelay(p: RetryPolicy, attempt: number, random: () => number): number {
  const base = p.tRetryMs * Math.min(16, p.backoff ** attempt);
  return base * (1 + p.jitter * random());
}

export function resolveRetry(fn: string, r: unknown): RetryPolicy {
  if (r === undefined) return DEFAULT_RETRY;
  if (r === null || typeof r !== 'object') throw new TypeError(`${fn}: retry: expected an object, got ${r === null ? 'null' : typeof r}`);
  const o = r as Partial<RetryPolicy>;
  const tRetryMs = o.tRetryMs ?? DEFAULT_RETRY.tRetryMs;
  const nRetry = o.nRetry ?? DEFAULT_RETRY.nRetry;
  const jitter = o.jitter ?? DEFAULT_RETRY.jitter;
  const backoff = o.backoff ?? DEFAULT_RETRY.backoff;
  if (typeof tRetryMs !== 'number' || typeof nRetry !== 'number' || typeof jitter !== 'number' || typeof backoff !== 'number') throw new TypeError(`${fn}: retry.tRetryMs, retry.nRetry, retry.jitter and retry.backoff must be numbers`);
  if (!(jitter >= 0 && jitter <= 1)) throw new RangeError(`${fn}: retry.jitter: expected 0…1, got ${jitter}`);
  if (!(backoff >= 1 && backoff <= 4)) throw new RangeError(`${fn}: retry.backoff: expected 1…4, got ${backoff}`);
  if (!(tRetryMs > 0) || !Number.isFinite(tRetryMs)) throw new RangeError(`${fn}: retry.tRetryMs: expected a positive number of ms, got ${tRetryMs}`);
  if (!Number.isInteger(nRetry) || nRetry < 0 || nRetry > 100) throw new RangeError(`${fn}: retry.nRetry: expected an integer 0…100, got ${nRetry}`);
  return { tRetryMs, nRetry, jitter, backoff };
}
