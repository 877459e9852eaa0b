// Staged rollout plans: a device's wave follows from a hash of the rollout seed and its id, so
// adding devices never moves the others (AWS IoT Jobs / hawkBit-style waves with abort criteria).
import { createHash } from 'node:crypto';
import { finiteIn, intAtLeast } from './check.js';

/** A wave: the named canary group, or a cumulative fraction of the fleet (0 < f ≤ 1). */
export type WaveSpec = 'canary' | number;

/** Thresholds of a wave. */
export interface WavePolicy {
  /** Fraction of the wave's devices that must confirm before the next wave starts. Default 0.95. */
  readonly successThreshold: number;
  /** Abort when failures / finished exceeds this… Default 0.1. */
  readonly abortFailureRate: number;
  /** …once at least this many devices of the wave finished. Default 5 (canary: 1). */
  readonly abortMinFinished: number;
  /** At most this many devices notified per minute. Default unlimited. */
  readonly maxPerMinute: number;
}

/** One wave of a plan. */
export interface Wave {
  readonly index: number;
  readonly name: string;
  readonly devices: readonly string[];
  readonly policy: WavePolicy;
}

/** A rollout plan: waves of device ids. */
export interface RolloutPlan {
  readonly seed: string;
  readonly waves: readonly Wave[];
}

/** Options of {@link planRollout}. */
export interface PlanOptions {
  readonly devices: readonly string[];
  /** Default `['canary', 0.01, 0.1, 1]`. Fractions are cumulative and increasing; the last is 1. */
  readonly waves?: readonly WaveSpec[];
  /** The rollout id: the hash input beside the device id. */
  readonly seed: string;
  /** Devices of the `'canary'` wave (they must be in `devices`). */
  readonly canary?: readonly string[];
  /** Policy for every wave, overridable per wave index. */
  readonly policy?: Partial<WavePolicy>;
  readonly wavePolicies?: Readonly<Record<number, Partial<WavePolicy>>>;
}

/**
 * A device's position in [0, 1) for a seed: the first 48 bits of SHA-256(seed ‖ 0x00 ‖ id).
 * A device is in the first wave whose cumulative fraction is above its position.
 *
 * @example
 * ```ts
 * import { rolloutPosition } from '@outpost/ota';
 * rolloutPosition('fw-2.0.0', 'dev-7') === rolloutPosition('fw-2.0.0', 'dev-7'); // true: stable
 * ```
 */
export function rolloutPosition(seed: string, deviceId: string): number {
  const h = createHash('sha256').update(seed).update('\0').update(deviceId).digest();
  return h.readUIntBE(0, 6) / 2 ** 48;
}

/**
 * Splits a fleet into waves deterministically.
 *
 * @throws {TypeError} on wrong types; `RangeError` on bad fractions, duplicate devices, or policy
 * numbers out of range (thresholds outside [0, 1], NaN, negative or fractional counts).
 * @example
 * ```ts
 * import { planRollout, type PlanOptions, type RolloutPlan, type Wave, type WavePolicy, type WaveSpec } from '@outpost/ota';
 * const devices = Array.from({ length: 1000 }, (_, i) => `dev-${i}`);
 * const waves: WaveSpec[] = ['canary', 0.01, 0.1, 1];
 * const policy: Partial<WavePolicy> = { successThreshold: 0.98, abortFailureRate: 0.05, abortMinFinished: 10, maxPerMinute: 100 };
 * const options: PlanOptions = { devices, waves, seed: 'fw-2.0.0', canary: ['dev-0', 'dev-1'], policy };
 * const plan: RolloutPlan = planRollout(options);
 * const first: Wave | undefined = plan.waves[0];
 * plan.waves.map((w) => w.name); // ['canary', '1%', '10%', '100%']
 * first?.devices; // ['dev-0', 'dev-1']
 * ```
 */
export function planRollout(options: PlanOptions): RolloutPlan {
  if (typeof options !== 'object' || options === null) throw new TypeError('options: expected an object');
  if (!Array.isArray(options.devices) || options.devices.some((d) => typeof d !== 'string')) throw new TypeError('devices: expected an array of strings');
  if (typeof options.seed !== 'string' || options.seed.length === 0) throw new TypeError('seed: expected a non-empty string');
  const specs = options.waves ?? ['canary', 0.01, 0.1, 1];
  let prev = 0;
  for (const [i, s] of specs.entries()) {
    if (s === 'canary') {
      if (i !== 0) throw new RangeError("waves: 'canary' must be the first wave");
      continue;
    }
    if (typeof s !== 'number' || !(s > prev && s <= 1)) throw new RangeError(`waves[${i}]: expected a fraction above ${prev} and at most 1, got ${String(s)}`);
    prev = s;
  }
  if (prev !== 1) throw new RangeError('waves: the last wave must be 1 (the whole fleet)');
  const seen = new Set<string>();
  for (const d of options.devices) {
    if (seen.has(d)) throw new RangeError(`devices: duplicate id "${d}"`);
    seen.add(d);
  }
  const canary = new Set(options.canary ?? []);
  for (const c of canary) if (!seen.has(c)) throw new RangeError(`canary: "${c}" is not in devices`);
  const buckets: string[][] = specs.map(() => []);
  const fractions = specs.map((s) => (s === 'canary' ? 0 : s));
  for (const d of options.devices) {
    if (specs[0] === 'canary' && canary.has(d)) {
      (buckets[0] as string[]).push(d);
      continue;
    }
    const u = rolloutPosition(options.seed, d);
    const i = fractions.findIndex((f, idx) => specs[idx] !== 'canary' && u < f);
    (buckets[i] as string[]).push(d);
  }
  const base: WavePolicy = { successThreshold: 0.95, abortFailureRate: 0.1, abortMinFinished: 5, maxPerMinute: Infinity, ...options.policy };
  return {
    seed: options.seed,
    waves: specs.map((s, i) => ({
      index: i,
      name: s === 'canary' ? 'canary' : `${+(s * 100).toFixed(3)}%`,
      devices: buckets[i] as string[],
      policy: checkPolicy({ ...base, ...(s === 'canary' ? { abortMinFinished: 1 } : {}), ...options.wavePolicies?.[i] }, i),
    })),
  };
}

/** Checks a wave's policy numbers (also for a plan built by hand): a NaN threshold or rate compares false, so the wave would never advance, or never abort. */
export function checkPolicy(p: WavePolicy, wave: number): WavePolicy {
  const at = `wave ${wave} policy`;
  finiteIn(p.successThreshold, `${at}.successThreshold`, 0, 1);
  finiteIn(p.abortFailureRate, `${at}.abortFailureRate`, 0, 1);
  intAtLeast(p.abortMinFinished, `${at}.abortMinFinished`, 1);
  if (p.maxPerMinute !== Infinity) intAtLeast(p.maxPerMinute, `${at}.maxPerMinute`, 1);
  return p;
}
