// The last few values of each series (device, metric) a sink wrote, so that a sink whose
// database overwrites without telling (InfluxDB) can still count and report replacements under
// the duplicate policy. Lookups use the point's own strings (no key is built), and a point newer
// than everything remembered of its series (the common case) is a single comparison. Internal.
import { sameContent } from './dedupe.js';
import type { Replacement, TelemetryPoint } from './types.js';

interface Ring {
  readonly times: number[];
  readonly values: (number | null)[];
  readonly extras: (string | null)[];
  /** Slot the next new time goes to once the ring is full. */
  next: number;
  /** Latest time remembered. */
  max: number;
}

/** The remembered values of a sink's series. */
export interface RecentValues {
  /**
   * Records a durable point; returns the replacement when the series remembers a different
   * value or extra at the same time.
   */
  note(p: TelemetryPoint, extra: string | null): Omit<Replacement, 'sink'> | undefined;
}

/** Remembers the last `perSeries` times of every series (0: nothing, `note` always answers undefined). */
export function recentValues(perSeries: number): RecentValues {
  const series = new Map<string, Map<string, Ring>>();
  return {
    note(p, extra) {
      if (perSeries === 0) return undefined;
      let byMetric = series.get(p.device);
      if (byMetric === undefined) series.set(p.device, (byMetric = new Map()));
      let r = byMetric.get(p.metric);
      if (r === undefined) byMetric.set(p.metric, (r = { times: [], values: [], extras: [], next: 0, max: -Infinity }));
      if (p.time <= r.max) {
        const j = r.times.indexOf(p.time);
        if (j >= 0) {
          const previous = r.values[j] ?? null;
          const same = sameContent(previous, r.extras[j] ?? null, p.value, extra);
          r.values[j] = p.value;
          r.extras[j] = extra;
          return same ? undefined : { device: p.device, metric: p.metric, time: p.time, previous, value: p.value };
        }
      }
      if (r.times.length < perSeries) {
        r.times.push(p.time);
        r.values.push(p.value);
        r.extras.push(extra);
      } else {
        r.times[r.next] = p.time;
        r.values[r.next] = p.value;
        r.extras[r.next] = extra;
        r.next = (r.next + 1) % perSeries;
      }
      if (p.time > r.max) r.max = p.time;
      return undefined;
    },
  };
}
