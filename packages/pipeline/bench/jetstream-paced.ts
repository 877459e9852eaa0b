// Part (p) of bench/jetstream-scale.ts: the paced publisher, and the figures' formatting shared by
// the parts.
import type { JetStreamClient } from '@nats-io/jetstream';
import { payload } from './ingest-data.js';

export const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
export const spread = (xs: readonly number[], digits = 0): string => `median ${fmt(median(xs), digits)} (${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)})`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What the paced publisher did: messages sent, publishes failed or dropped as duplicates, turns it was behind the rate. */
export interface PacedResult { sent: number; failed: number; duplicates: number; late: number }

/**
 * A token bucket publishing `rate` messages/s from now until stopped — each 2 ms turn publishes
 * what has come due since the start (no bursts beyond one turn's share), at most `window`
 * awaiting their publish ack — to `devices.meter-<d>.telemetry` for `devices` devices, with event
 * times from `t0` and message ids `<tag>-<n>`. `late` counts the turns that found it more than
 * 250 ms (at least 1,000 messages) behind the rate: the cluster took longer than the rate allows.
 */
export function pacedPublisher(js: JetStreamClient, o: { rate: number; devices: number; t0: number; tag: string; window: number }): { stop(): Promise<PacedResult> } {
  const inflight = new Set<Promise<unknown>>();
  const r: PacedResult = { sent: 0, failed: 0, duplicates: 0, late: 0 };
  let running = true;
  const behind = Math.max(1_000, o.rate / 4);
  const start = performance.now();
  const loop = (async () => {
    while (running) {
      const due = Math.floor(((performance.now() - start) * o.rate) / 1000);
      if (due - r.sent > behind) r.late++;
      while (r.sent < due && inflight.size < o.window) {
        const d = r.sent % o.devices;
        // A msgID seen within the stream's duplicate window is acked `duplicate` and dropped — a
        // purge does not forget it (nats-server 2.9) — so ids are new per drain, and any duplicate is counted.
        const p = js.publish(`devices.meter-${d}.telemetry`, payload(d, Math.floor(r.sent / o.devices), o.t0), { msgID: `${o.tag}-${r.sent}` }).then(
          (a) => void (a.duplicate && r.duplicates++),
          () => void r.failed++,
        );
        inflight.add(p);
        void p.then(() => inflight.delete(p));
        r.sent++;
      }
      await sleep(2);
    }
    await Promise.all(inflight);
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return r;
    },
  };
}
