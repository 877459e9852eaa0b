// The page's copy of the live state, fed by the event stream: rings per device and metric,
// the alert feed, shadows; the charts that show a device are told which points arrived, and
// redraw once per animation frame.
export interface AlertEvent {
  kind: 'fired' | 'resolved'; ruleId: string; device: string; severity: string; at: number;
  metric: string | null; value: number | null; episodeId: string; message: string;
}
export interface ShadowView { state: { desired?: object; reported?: object; delta?: object }; version: number }
export interface DeviceView { id: string; state: string; lastSeen: number; series: Map<string, [number[], (number | null)[]]> }
type Columns = [number[], (number | null)[]];
interface FrameData { id: number; at: number; points: Record<string, Record<string, Columns>>; alerts: AlertEvent[]; states: Record<string, string>; shadows: Record<string, ShadowView | null> }
interface SnapshotData { id: number; at: number; devices: Array<{ id: string; state: string; lastSeen: number; metrics: Record<string, Columns> }>; alerts: AlertEvent[]; active: AlertEvent[] }

const CAP = 600;
const LAGS = 5000;

export class Store {
  devices = new Map<string, DeviceView>();
  alerts: AlertEvent[] = [];
  active = new Map<string, AlertEvent>();
  shadows = new Map<string, ShadowView | null>();
  metrics = new Set<string>();
  connected = false;
  lastEventId = 0;
  /** Frames whose id did not follow the last one (a resume that failed). */
  gaps = 0;
  frames = 0;
  /** Publish → paint delays (ms) of points drawn, for tests and benchmarks. */
  lags: number[] = [];
  readonly #listeners = new Set<() => void>();
  readonly #chartListeners = new Map<string, Set<(newest: number[]) => void>>();
  #renderQueued = false;

  onChange(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** A chart of `device` hears the event times of new points, to redraw and stamp them. */
  onPoints(device: string, fn: (times: number[]) => void): () => void {
    let s = this.#chartListeners.get(device);
    if (s === undefined) this.#chartListeners.set(device, (s = new Set()));
    s.add(fn);
    return () => s.delete(fn);
  }

  #changed(): void {
    // The lists re-render at most 4 times a second; the charts on every frame.
    if (this.#renderQueued) return;
    this.#renderQueued = true;
    setTimeout(() => {
      this.#renderQueued = false;
      for (const fn of this.#listeners) fn();
    }, 250);
  }

  #append(d: DeviceView, metric: string, [t, v]: Columns): void {
    this.metrics.add(metric);
    let s = d.series.get(metric);
    if (s === undefined) d.series.set(metric, (s = [[], []]));
    for (let i = 0; i < t.length; i++) {
      s[0].push(t[i] as number);
      s[1].push(v[i] ?? null);
    }
    if (s[0].length > CAP * 1.5) {
      s[0].splice(0, s[0].length - CAP);
      s[1].splice(0, s[1].length - CAP);
    }
  }

  snapshot(s: SnapshotData): void {
    this.devices.clear();
    for (const d of s.devices) {
      const view: DeviceView = { id: d.id, state: d.state, lastSeen: d.lastSeen, series: new Map() };
      for (const [m, cols] of Object.entries(d.metrics)) this.#append(view, m, cols);
      this.devices.set(d.id, view);
    }
    this.alerts = s.alerts.slice(-200);
    this.active = new Map(s.active.map((a) => [a.episodeId, a]));
    this.lastEventId = s.id;
    this.#changed();
    for (const set of this.#chartListeners.values()) for (const fn of set) fn([]);
  }

  frame(f: FrameData): void {
    if (f.id !== this.lastEventId + 1) this.gaps++;
    this.lastEventId = f.id;
    this.frames++;
    for (const [id, metrics] of Object.entries(f.points)) {
      let d = this.devices.get(id);
      if (d === undefined) this.devices.set(id, (d = { id, state: 'live', lastSeen: f.at, series: new Map() }));
      d.lastSeen = f.at;
      const times: number[] = [];
      for (const [m, cols] of Object.entries(metrics)) {
        this.#append(d, m, cols);
        times.push(...cols[0]);
      }
      const ls = this.#chartListeners.get(id);
      if (ls !== undefined) for (const fn of ls) fn(times);
    }
    for (const [id, st] of Object.entries(f.states)) {
      const d = this.devices.get(id);
      if (d !== undefined) d.state = st;
    }
    for (const a of f.alerts) {
      this.alerts.push(a);
      if (a.kind === 'fired') this.active.set(a.episodeId, a);
      else this.active.delete(a.episodeId);
    }
    if (this.alerts.length > 200) this.alerts = this.alerts.slice(-200);
    for (const [id, doc] of Object.entries(f.shadows)) this.shadows.set(id, doc);
    this.#changed();
  }

  stamp(times: readonly number[], paintedAt: number): void {
    for (const t of times) {
      this.lags.push(paintedAt - t);
      if (this.lags.length > LAGS) this.lags.shift();
    }
  }

  connect(): void {
    const es = new EventSource('/api/events');
    es.addEventListener('open', () => { this.connected = true; this.#changed(); });
    es.addEventListener('error', () => { this.connected = false; this.#changed(); });
    es.addEventListener('snapshot', (e) => this.snapshot(JSON.parse((e as MessageEvent<string>).data) as SnapshotData));
    es.addEventListener('frame', (e) => this.frame(JSON.parse((e as MessageEvent<string>).data) as FrameData));
  }
}
