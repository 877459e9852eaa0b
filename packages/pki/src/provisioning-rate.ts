// Token buckets on an injected clock: `ratePerSecond` tokens refill continuously up to `burst`.

/** A rate limit: sustained requests per second and the burst allowed above it. */
export interface RateLimit {
  readonly ratePerSecond: number;
  readonly burst: number;
}

export class TokenBucket {
  #tokens: number;
  #at: number;
  constructor(readonly limit: RateLimit, now: number) {
    this.#tokens = limit.burst;
    this.#at = now;
  }
  /** Takes one token at time `now` (ms); false when the bucket is empty. */
  take(now: number): boolean {
    const elapsed = Math.max(0, now - this.#at);
    this.#at = Math.max(this.#at, now);
    this.#tokens = Math.min(this.limit.burst, this.#tokens + (elapsed * this.limit.ratePerSecond) / 1000);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

export function checkRateLimit(fn: string, field: string, value: unknown, fallback: RateLimit): RateLimit {
  if (value === undefined) return fallback;
  if (typeof value !== 'object' || value === null) throw new TypeError(`${fn}: ${field}: expected { ratePerSecond, burst }`);
  const { ratePerSecond, burst } = value as Record<string, unknown>;
  if (typeof ratePerSecond !== 'number' || typeof burst !== 'number') throw new TypeError(`${fn}: ${field}: expected numbers ratePerSecond and burst`);
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond) || !Number.isInteger(burst) || burst < 1) {
    throw new RangeError(`${fn}: ${field}: expected ratePerSecond > 0 and an integer burst ≥ 1, got ${ratePerSecond} and ${burst}`);
  }
  return { ratePerSecond, burst };
}
