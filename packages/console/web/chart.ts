// uPlot charts: one per shown device (the live window) and the history chart. Redraws happen
// in requestAnimationFrame, at most once per frame per chart, off Preact's render path.
import { h } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import htm from 'htm';
import uPlot from 'uplot';
import type { Store } from './store.js';

const html = htm.bind(h);

function options(width: number, series: uPlot.Series[]): uPlot.Options {
  return {
    width, height: 160, ms: 1, legend: { show: false }, cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true } },
    axes: [{ size: 30 }, { size: 44 }],
    series: [{ label: 'time' }, ...series],
  };
}

/** A live chart of `metric` of `device`, redrawn when its points arrive. */
export function LiveChart({ store, device, metric }: { store: Store; device: string; metric: string }) {
  const box = useRef<HTMLDivElement>(null);
  const caption = useRef<HTMLElement>(null);
  useEffect(() => {
    const el = box.current;
    if (el === null) return undefined;
    const data = (): uPlot.AlignedData => {
      const s = store.devices.get(device)?.series.get(metric);
      return s === undefined ? [[], []] : [s[0].slice(-600), s[1].slice(-600)];
    };
    const u = new uPlot(options(el.clientWidth || 320, [{ label: metric, stroke: '#1d5fa8', width: 1.5 }]), data(), el);
    let queued: number[] | undefined;
    const draw = (): void => {
      const times = queued ?? [];
      queued = undefined;
      const d = data();
      u.setData(d);
      const last = (d[1] as (number | null)[]).at(-1);
      if (caption.current !== null) {
        caption.current.textContent = last === undefined || last === null ? 'no value yet' : `last ${metric}: ${last} (${d[0].length} points)`;
        caption.current.dataset['last'] = String(last ?? '');
        caption.current.dataset['points'] = String(d[0].length);
      }
      // Stamped after the frame was drawn (the task after the animation frame's paint).
      setTimeout(() => store.stamp(times, Date.now()), 0);
    };
    draw();
    const off = store.onPoints(device, (times) => {
      if (queued === undefined) {
        queued = [];
        requestAnimationFrame(draw);
      }
      queued.push(...times);
    });
    return () => { off(); u.destroy(); };
  }, [device, metric]);
  return html`<figure data-device=${device}>
    <div ref=${box} role="img" aria-label=${`${metric} of ${device}, the last minute`}></div>
    <figcaption ref=${caption} aria-live="off"></figcaption>
  </figure>`;
}

/** Buckets from the store: average, min and max. */
export function HistoryChart({ buckets }: { buckets: Array<{ bucket: number; avg: number | null; min: number | null; max: number | null }> }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (el === null) return undefined;
    const u = new uPlot(
      { ...options(el.clientWidth || 600, [
        { label: 'avg', stroke: '#1d5fa8', width: 1.5 },
        { label: 'min', stroke: '#8fb3da', width: 1 },
        { label: 'max', stroke: '#d9534f', width: 1 },
      ]), height: 300, legend: { show: true } },
      [buckets.map((b) => b.bucket), buckets.map((b) => b.avg), buckets.map((b) => b.min), buckets.map((b) => b.max)],
      el,
    );
    return () => u.destroy();
  }, [buckets]);
  return html`<div ref=${box} role="img" aria-label="history: average, minimum and maximum per bucket"></div>`;
}
