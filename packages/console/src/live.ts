/**
 * The console's live state: a bounded ring of recent points per device and metric, the alert
 * feed, and the coalescing of updates into frames (one per `frameMs`, each device's new points
 * together) that go to every viewer with an id, kept in a bounded replay buffer so that a
 * reconnecting viewer resumes from its last event id. No I/O and no timers: the caller ticks
 * `frame()` and passes the time in.
 */
import type { AlertEvent, TelemetryPoint } from '@outpost/pipeline';
import { assertObject, intOption } from './options.js';

/**
 * Limits of {@link LiveState}; each bounds memory under any number of devices and rates.
 *
 * @example
 * ```ts
 * import type { LiveOptions } from '@outpost/console';
 * const small: LiveOptions = { pointsPerSeries: 120, maxDevices: 100 };
 * ```
 */
export interface LiveOptions {
  /** Points kept per (device, metric) for the charts. Default 600 (1 min at 10 msg/s). */
  readonly pointsPerSeries?: number;
  /** Devices tracked; points of further devices are counted and dropped. Default 10,000. */
  readonly maxDevices?: number;
  /** Metrics tracked per device; further metrics are counted and dropped. Default 16. */
  readonly maxMetricsPerDevice?: number;
  /** Alert events kept in the feed (and episodes kept open). Default 200 (1,000 open). */
  readonly maxAlerts?: number;
  /** Frames kept for viewers that reconnect (`Last-Event-ID`). Default 600 (1 min at 100 ms). */
  readonly replayFrames?: number;
  /** Points per series in a snapshot (a new viewer's first event). Default 120. */
  readonly snapshotPoints?: number;
  /** A device with no point for this long is `silent`. Default 30,000 ms. */
  readonly silentAfterMs?: number;
}

/**
 * A device's connection state as the console sees it: `live` (a point within `silentAfterMs`),
 * `silent` (none since), `online`/`offline` (from a `devices/{id}/status` message).
 *
 * @example
 * ```ts
 * import type { DeviceState } from '@outpost/console';
 * const needsLook = (s: DeviceState): boolean => s === 'silent' || s === 'offline';
 * ```
 */
export type DeviceState = 'live' | 'silent' | 'online' | 'offline';

/** Columns of one series: times (epoch ms) and values (`null` for a non-numeric point). */
export type SeriesColumns = [number[], (number | null)[]];

/**
 * What a viewer gets first: the recent state of every device, the alert feed and the open
 * alerts; frames with a larger `id` follow.
 *
 * @example
 * ```ts
 * import type { Snapshot } from '@outpost/console';
 * const devices = (s: Snapshot): string[] => s.devices.map((d) => d.id);
 * ```
 */
export interface Snapshot {
  /** The id of the last frame this snapshot includes. */
  readonly id: number;
  readonly at: number;
  readonly devices: ReadonlyArray<{ readonly id: string; readonly state: DeviceState; readonly lastSeen: number; readonly metrics: Record<string, SeriesColumns> }>;
  readonly alerts: readonly AlertEvent[];
  readonly active: readonly AlertEvent[];
}

/**
 * One coalesced update for every viewer, serialized once (`data` is the JSON of
 * `{ id, at, points: { device: { metric: [times, values] } }, alerts, states, shadows }`).
 *
 * @example
 * ```ts
 * import type { Frame } from '@outpost/console';
 * const sse = (f: Frame): string => `id: ${f.id}\nevent: frame\ndata: ${f.data}\n\n`;
 * ```
 */
export interface Frame {
  readonly id: number;
  readonly data: string;
}

/**
 * Counters of a {@link LiveState}: what it retains now (bounded by the options) and what it dropped.
 *
 * @example
 * ```ts
 * import type { LiveStats } from '@outpost/console';
 * const retained = (s: LiveStats): number => s.retainedPoints + s.pendingPoints;
 * ```
 */
export interface LiveStats {
  readonly devices: number;
  readonly series: number;
  /** Points in the rings now (≤ devices × metrics × pointsPerSeries). */
  readonly retainedPoints: number;
  /** Points waiting for the next frame (≤ series × pointsPerSeries). */
  readonly pendingPoints: number;
  readonly replayFrames: number;
  readonly alerts: number;
  readonly activeAlerts: number;
  /** Points received since creation. */
  readonly points: number;
  /** Points dropped: over `maxDevices` or `maxMetricsPerDevice`, or more in one frame than a ring holds. */
  readonly droppedPoints: number;
  /** Frames made since creation (the last frame's id). */
  readonly frames: number;
}

class Ring {
  readonly t: Float64Array;
  readonly v: Float64Array;
  start = 0;
  len = 0;
  pendT: number[] = [];
  pendV: (number | null)[] = [];
  constructor(readonly cap: number) {
    this.t = new Float64Array(cap);
    this.v = new Float64Array(cap);
  }
  push(t: number, v: number | null): void {
    const i = (this.start + this.len) % this.cap;
    this.t[i] = t;
    this.v[i] = v === null ? NaN : v;
    if (this.len < this.cap) this.len++;
    else this.start = (this.start + 1) % this.cap;
  }
  last(n: number): SeriesColumns {
    const k = Math.min(n, this.len);
    const ts: number[] = new Array<number>(k);
    const vs: (number | null)[] = new Array<number | null>(k);
    for (let j = 0; j < k; j++) {
      const i = (this.start + this.len - k + j) % this.cap;
      ts[j] = this.t[i] as number;
      const v = this.v[i] as number;
      vs[j] = Number.isNaN(v) ? null : v;
    }
    return [ts, vs];
  }
}

interface Device {
  readonly id: string;
  lastSeen: number;
  state: DeviceState;
  /** The state last sent to viewers. */
  sent: DeviceState | undefined;
  readonly metrics: Map<string, Ring>;
}

/**
 * The console's live state (see the module comment). Memory is bounded by the options, whatever
 * the devices send: `stats()` counts what is retained.
 *
 * @example
 * ```ts
 * import { LiveState } from '@outpost/console';
 * const live = new LiveState({ pointsPerSeries: 3 });
 * for (let i = 0; i < 5; i++) live.telemetry([{ device: 'pump-1', metric: 'temp', time: 1000 + i, value: 20 + i }], 2000);
 * const f = live.frame(2000)!;
 * JSON.parse(f.data).points; // { 'pump-1': { temp: [[1002, 1003, 1004], [22, 23, 24]] } }
 * live.stats().retainedPoints; // 3
 * live.frame(2100); // undefined
 * ```
 */
export class LiveState {
  readonly #cap: number;
  readonly #maxDevices: number;
  readonly #maxMetrics: number;
  readonly #maxAlerts: number;
  readonly #replayCap: number;
  readonly #snapshotPoints: number;
  readonly #silentAfterMs: number;
  readonly #devices = new Map<string, Device>();
  readonly #dirty = new Set<Device>();
  #alerts: AlertEvent[] = [];
  readonly #active = new Map<string, AlertEvent>();
  #pendingAlerts: AlertEvent[] = [];
  readonly #pendingShadows = new Map<string, unknown>();
  readonly #replay: Frame[] = [];
  #seq = 0;
  #points = 0;
  #dropped = 0;
  #pending = 0;
  #series = 0;

  constructor(options: LiveOptions = {}) {
    assertObject('LiveState: options', options);
    this.#cap = intOption('LiveState: pointsPerSeries', options.pointsPerSeries, 600, 1);
    this.#maxDevices = intOption('LiveState: maxDevices', options.maxDevices, 10_000, 1);
    this.#maxMetrics = intOption('LiveState: maxMetricsPerDevice', options.maxMetricsPerDevice, 16, 1);
    this.#maxAlerts = intOption('LiveState: maxAlerts', options.maxAlerts, 200, 1);
    this.#replayCap = intOption('LiveState: replayFrames', options.replayFrames, 600, 0);
    this.#snapshotPoints = intOption('LiveState: snapshotPoints', options.snapshotPoints, 120, 0);
    this.#silentAfterMs = intOption('LiveState: silentAfterMs', options.silentAfterMs, 30_000, 1);
  }

  #device(id: string, now: number): Device | undefined {
    let d = this.#devices.get(id);
    if (d === undefined) {
      if (this.#devices.size >= this.#maxDevices) return undefined;
      d = { id, lastSeen: now, state: 'live', sent: undefined, metrics: new Map() };
      this.#devices.set(id, d);
    }
    return d;
  }

  /** Adds decoded points (received at `now`, epoch ms) to the rings and the next frame. */
  telemetry(points: readonly TelemetryPoint[], now: number): void {
    for (const p of points) {
      this.#points++;
      const d = this.#device(p.device, now);
      if (d === undefined) { this.#dropped++; continue; }
      let r = d.metrics.get(p.metric);
      if (r === undefined) {
        if (d.metrics.size >= this.#maxMetrics) { this.#dropped++; continue; }
        d.metrics.set(p.metric, (r = new Ring(this.#cap)));
        this.#series++;
      }
      r.push(p.time, p.value);
      if (r.pendT.length >= this.#cap) {
        // More points in one frame than a chart holds: the oldest of them would scroll out anyway.
        r.pendT.shift();
        r.pendV.shift();
        this.#dropped++;
      } else this.#pending++;
      r.pendT.push(p.time);
      r.pendV.push(p.value);
      d.lastSeen = now;
      if (d.state === 'silent' || d.state === 'offline') d.state = 'live';
      this.#dirty.add(d);
    }
  }

  /** Records a `fired` or `resolved` alert for the feed and the next frame. */
  alert(event: AlertEvent): void {
    this.#alerts.push(event);
    if (this.#alerts.length > this.#maxAlerts) this.#alerts = this.#alerts.slice(-this.#maxAlerts);
    if (event.kind === 'fired') {
      this.#active.set(event.episodeId, event);
      if (this.#active.size > this.#maxAlerts * 5) this.#active.delete(this.#active.keys().next().value as string);
    } else this.#active.delete(event.episodeId);
    this.#pendingAlerts.push(event);
    if (this.#pendingAlerts.length > this.#maxAlerts) this.#pendingAlerts.shift();
  }

  /** A device's own statement of its connection (`devices/{id}/status`: online or offline). */
  status(device: string, state: 'online' | 'offline', now: number): void {
    const d = this.#device(device, now);
    if (d === undefined) return;
    d.state = state;
    if (state === 'online') d.lastSeen = now;
  }

  /** A shadow document (or `null` when deleted) to pass to viewers in the next frame. */
  shadow(device: string, document: unknown): void {
    this.#pendingShadows.set(device, document);
  }

  /** The next frame at `now`, or `undefined` when nothing changed since the last one. */
  frame(now: number): Frame | undefined {
    const states: Record<string, DeviceState> = {};
    let changed = false;
    for (const d of this.#devices.values()) {
      if (d.state === 'live' && now - d.lastSeen >= this.#silentAfterMs) d.state = 'silent';
      if (d.state !== d.sent) {
        states[d.id] = d.state;
        d.sent = d.state;
        changed = true;
      }
    }
    if (!changed && this.#dirty.size === 0 && this.#pendingAlerts.length === 0 && this.#pendingShadows.size === 0) return undefined;
    const points: Record<string, Record<string, SeriesColumns>> = {};
    for (const d of this.#dirty) {
      const m: Record<string, SeriesColumns> = {};
      for (const [name, r] of d.metrics) {
        if (r.pendT.length === 0) continue;
        m[name] = [r.pendT, r.pendV];
        r.pendT = [];
        r.pendV = [];
      }
      points[d.id] = m;
    }
    this.#dirty.clear();
    this.#pending = 0;
    const shadows = Object.fromEntries(this.#pendingShadows);
    this.#pendingShadows.clear();
    const id = ++this.#seq;
    const data = JSON.stringify({ id, at: now, points, alerts: this.#pendingAlerts, states, shadows });
    this.#pendingAlerts = [];
    const f: Frame = { id, data };
    if (this.#replayCap > 0) {
      this.#replay.push(f);
      if (this.#replay.length > this.#replayCap) this.#replay.shift();
    }
    return f;
  }

  /**
   * The frames after `lastId`, for a viewer that reconnects; `undefined` when some of them are
   * no longer kept (the viewer then needs a snapshot).
   */
  since(lastId: number): Frame[] | undefined {
    if (lastId === this.#seq) return [];
    if (lastId > this.#seq || lastId < 0) return undefined;
    const first = this.#replay[0];
    if (first === undefined || first.id > lastId + 1) return undefined;
    return this.#replay.slice(lastId + 1 - first.id);
  }

  /** The state now, for a viewer's first event (the last `snapshotPoints` of each series). */
  snapshot(now: number): Snapshot {
    const devices = [...this.#devices.values()].map((d) => ({
      id: d.id,
      state: d.state,
      lastSeen: d.lastSeen,
      metrics: Object.fromEntries([...d.metrics].map(([m, r]) => [m, r.last(this.#snapshotPoints)])),
    }));
    return { id: this.#seq, at: now, devices, alerts: [...this.#alerts], active: [...this.#active.values()] };
  }

  /** The devices known now, sorted by id. */
  devices(): string[] {
    return [...this.#devices.keys()].sort();
  }

  /** Whether `device` has been seen. */
  has(device: string): boolean {
    return this.#devices.has(device);
  }

  /** Counters (see {@link LiveStats}). */
  stats(): LiveStats {
    let retained = 0;
    for (const d of this.#devices.values()) for (const r of d.metrics.values()) retained += r.len;
    return {
      devices: this.#devices.size,
      series: this.#series,
      retainedPoints: retained,
      pendingPoints: this.#pending,
      replayFrames: this.#replay.length,
      alerts: this.#alerts.length,
      activeAlerts: this.#active.size,
      points: this.#points,
      droppedPoints: this.#dropped,
      frames: this.#seq,
    };
  }
}
