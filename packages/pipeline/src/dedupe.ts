// The one duplicate-key policy, shared by the stores: for one (device, metric, time) key the
// last writer by arrival order wins; a replaced value that differs (value or extra) is a
// replacement, an identical redelivery is not. Internal.
import type { Replacement, TelemetryPoint } from './types.js';
import { describe } from './validate.js';

/** Part of a batch in which each key occurs at most once. */
export interface Generation {
  readonly points: TelemetryPoint[];
  readonly extras: (string | null)[];
}

/** The map key of a point: device and metric cannot hold NUL (schema charset), so NUL separates. */
export function pointKey(device: string, metric: string, time: number): string {
  return `${device}\0${metric}\0${time}`;
}

/** Same value and extra text: an identical redelivery. */
export function sameContent(a: number | null, aExtra: string | null, b: number | null, bExtra: string | null): boolean {
  return a === b && aExtra === bExtra;
}

/**
 * Splits a batch into generations applied one after another: the first arrival of every key,
 * then the second arrival of the keys that came twice, and so on, each generation in arrival
 * order. An arrival identical to the one before it for its key changes nothing and is dropped.
 * Statements such as `INSERT … ON CONFLICT DO UPDATE` refuse to touch one row twice, and
 * applying the generations in order makes the last arrival win, with every replacement seen by
 * the database. Almost every batch is one generation.
 */
export function generations(points: readonly TelemetryPoint[], extras: readonly (string | null)[]): Generation[] {
  // key → index of its latest arrival kept, as device → metric → time: lookups by the points'
  // own strings and numbers, no key string built per point.
  const seen = new Map<string, Map<string, Map<number, number>>>();
  const genOf = new Int32Array(points.length); // index of a kept arrival → its generation
  const first: Generation = { points: [], extras: [] };
  const out: Generation[] = [first];
  for (let i = 0; i < points.length; i++) {
    const p = points[i] as TelemetryPoint;
    const extra = extras[i] ?? null;
    let byMetric = seen.get(p.device);
    if (byMetric === undefined) seen.set(p.device, (byMetric = new Map()));
    let byTime = byMetric.get(p.metric);
    if (byTime === undefined) byMetric.set(p.metric, (byTime = new Map()));
    const j = byTime.get(p.time);
    if (j === undefined) {
      byTime.set(p.time, i);
      first.points.push(p);
      first.extras.push(extra);
      continue;
    }
    const prev = points[j] as TelemetryPoint;
    if (sameContent(prev.value, extras[j] ?? null, p.value, extra)) continue;
    byTime.set(p.time, i);
    const g = (genOf[j] as number) + 1;
    genOf[i] = g;
    const target = out[g] ?? (out[g] = { points: [], extras: [] });
    target.points.push(p);
    target.extras.push(extra);
  }
  return first.points.length === 0 ? [] : out;
}

/** Checks an `onReplaced` option. */
export function replacedOption(name: string, v: unknown): ((r: Replacement) => void) | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'function') throw new TypeError(`${name}: expected a function, got ${describe(v)}`);
  return v as (r: Replacement) => void;
}

/** Counts and reports replacements; a throwing callback does not fail the batch that is already durable. */
export function reportReplaced(sink: string, list: readonly Omit<Replacement, 'sink'>[], counter: { replaced: number }, cb: ((r: Replacement) => void) | undefined): void {
  counter.replaced += list.length;
  if (cb === undefined) return;
  for (const r of list) {
    try {
      cb({ sink, ...r });
    } catch {
      // the caller's bug; the points are durable either way
    }
  }
}
