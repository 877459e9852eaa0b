/**
 * The hot path: alert rules evaluated synchronously on every telemetry point. Each (rule,
 * device) pair has an episode state; an alert `fired` event is emitted once when an episode
 * starts and one `resolved` event ends it, so a condition that persists never becomes an alert
 * storm. Rules come from a JSON rules file (`rules-parse.ts`: {@link parseRules},
 * {@link loadRulesFile}); their shapes are in `rules-types.ts`.
 */
import { checkRules, describe, isRecord } from './rules-parse.js';
import { COMBINATION, EMPTY, HEARTBEAT, matcher, message, NodeState, RATE, THRESHOLD, type DeviceState, type Node } from './rules-nodes.js';
import type { AlertEvent, Rule, RuleEngineOptions } from './rules-types.js';
import type { TelemetryPoint } from './types.js';

/**
 * Evaluates alert rules on each telemetry point, synchronously and cheaply: rules are indexed
 * by metric, and a point allocates nothing but the events it returns.
 *
 * Semantics worth knowing:
 * - Per (rule, device), a point whose event time is not newer than the last point evaluated
 *   for it is ignored: a redelivered point (MQTT at-least-once) never fires or resolves twice,
 *   and an out-of-order older point does not move the state backwards.
 * - Points with a `null` or non-finite value count for heartbeats only.
 * - Heartbeats compare the clock with the newest *event time* of the device, so device clocks
 *   should be synchronized; they fire from {@link RuleEngine.tick}, which the pipeline calls from a timer.
 * - State is bounded: a device silent for `forgetAfterMs` (default 24 h) is dropped at `tick()`,
 *   and its open episodes are resolved with `expired: true`.
 *
 * @throws PipelineError `RULES_INVALID` for an invalid rule; TypeError/RangeError for wrong options.
 * @example
 * ```ts
 * import { RuleEngine } from '@outpost/pipeline';
 * const engine = new RuleEngine(
 *   [{ id: 'hot', kind: 'threshold', metric: 'temp', above: 80, clearAt: 75, severity: 'critical' }],
 *   { now: () => 0 },
 * );
 * engine.evaluate({ device: 'pump-1', time: 1000, metric: 'temp', value: 85 })[0]?.kind; // 'fired'
 * engine.evaluate({ device: 'pump-1', time: 2000, metric: 'temp', value: 79 }).length; // 0
 * engine.evaluate({ device: 'pump-1', time: 2000, metric: 'temp', value: 70 }).length; // 0
 * const [resolved] = engine.evaluate({ device: 'pump-1', time: 3000, metric: 'temp', value: 70 });
 * resolved?.kind; // 'resolved'
 * resolved?.episodeId; // 'hot/pump-1/1000'
 * ```
 */
export class RuleEngine {
  readonly #nodes: Node[] = [];
  readonly #byMetric = new Map<string, Node[]>();
  readonly #heartbeats: Node[] = [];
  readonly #combos: Node[] = [];
  readonly #devices = new Map<string, DeviceState>();
  readonly #now: () => number;
  readonly #forgetAfterMs: number;
  /** The validated rules, in the order given. */
  readonly rules: readonly Rule[];

  constructor(rules: readonly Rule[], options: RuleEngineOptions = {}) {
    if (!Array.isArray(rules)) throw new TypeError(`rules: expected an array of rules, got ${describe(rules)}`);
    if (!isRecord(options) || ArrayBuffer.isView(options)) throw new TypeError(`options: expected an object, got ${describe(options)}`);
    const now: unknown = options.now === undefined ? Date.now : options.now;
    if (typeof now !== 'function') throw new TypeError(`options.now: expected a function, got ${describe(now)}`);
    this.#now = now as () => number;
    const forget: unknown = options.forgetAfterMs === undefined ? 86_400_000 : options.forgetAfterMs;
    if (typeof forget !== 'number') throw new TypeError(`options.forgetAfterMs: expected a number, got ${describe(forget)}`);
    if (!(forget > 0)) throw new RangeError(`options.forgetAfterMs: expected a number > 0, got ${forget}`);
    this.#forgetAfterMs = forget;
    this.rules = Object.freeze(checkRules(rules, 'rules'));
    this.#compile();
    const start = this.#now();
    for (const n of this.#heartbeats) {
      for (const d of n.expected ?? []) this.#device(d, start, true);
    }
  }

  #compile(): void {
    const byId = new Map<string, Rule>(this.rules.map((r) => [r.id, r]));
    const indexOf = new Map<string, number>();
    const add = (rule: Rule, emit: boolean): number => {
      const known = indexOf.get(rule.id);
      if (known !== undefined) return known;
      let children: number[] = [];
      if (rule.kind === 'all' || rule.kind === 'any') {
        children = rule.of.map((c) => (typeof c === 'string' ? add(byId.get(c) as Rule, true) : add(c as Rule, false)));
      }
      // a referenced top-level rule may have been reached through a combination first
      const again = indexOf.get(rule.id);
      if (again !== undefined) return again;
      const t = rule.kind === 'threshold' ? THRESHOLD : rule.kind === 'rate' ? RATE : rule.kind === 'heartbeat' ? HEARTBEAT : COMBINATION;
      const th = rule.kind === 'threshold' ? rule : undefined;
      const rate = rule.kind === 'rate' ? rule : undefined;
      const above = th?.above ?? rate?.maxRisePerSecond ?? Infinity;
      const below = th?.below ?? (rate?.maxFallPerSecond === undefined ? -Infinity : -rate.maxFallPerSecond);
      const list = rule.devices;
      const node: Node = {
        index: this.#nodes.length,
        id: rule.id,
        type: t,
        emit,
        severity: rule.severity ?? 'warning',
        metric: th?.metric ?? rate?.metric ?? null,
        above,
        below,
        clearHigh: th?.above !== undefined && th.clearAt !== undefined ? th.clearAt : above,
        clearLow: th?.below !== undefined && th.clearAt !== undefined ? th.clearAt : below,
        forCount: th?.forCount ?? rate?.forCount ?? 1,
        silenceMs: rule.kind === 'heartbeat' ? rule.intervalMs * rule.missed : 0,
        children,
        all: rule.kind === 'all',
        hasParents: false,
        match: matcher(list, t === HEARTBEAT),
        expected: t === HEARTBEAT && list !== undefined && list !== 'seen' && (typeof list === 'string' ? [list] : list).every((g) => !/[*?]/.test(g)) ? (typeof list === 'string' ? [list] : list) : null,
        template: rule.message,
      };
      for (const c of children) (this.#nodes[c] as Node).hasParents = true;
      this.#nodes.push(node);
      indexOf.set(rule.id, node.index);
      if (node.metric !== null) {
        const l = this.#byMetric.get(node.metric) ?? [];
        l.push(node);
        this.#byMetric.set(node.metric, l);
      } else if (t === HEARTBEAT) this.#heartbeats.push(node);
      else this.#combos.push(node); // children precede parents: evaluation order is topological
      return node.index;
    };
    for (const r of this.rules) add(r, true);
  }

  #device(device: string, lastSeen: number, pinned: boolean): DeviceState {
    let ds = this.#devices.get(device);
    if (ds === undefined) {
      const n = this.#nodes.length;
      const match = new Uint8Array(n);
      const states: NodeState[] = new Array<NodeState>(n);
      for (let i = 0; i < n; i++) {
        const node = this.#nodes[i] as Node;
        match[i] = node.match === null || node.match(device) ? 1 : 0;
        states[i] = new NodeState();
      }
      ds = { device, lastSeen, match, states, pinned, seen: false };
      this.#devices.set(device, ds);
    }
    return ds;
  }

  /** Number of devices with state (for the state bound). */
  get deviceCount(): number {
    return this.#devices.size;
  }

  /**
   * Evaluates the rules whose metric is the point's, plus heartbeats and combinations.
   *
   * @param point - one decoded telemetry point.
   * @returns the `fired`/`resolved` events it caused (a shared empty array when none).
   * @throws TypeError if `point` is not a telemetry point.
   * @example
   * ```ts
   * import { RuleEngine } from '@outpost/pipeline';
   * const engine = new RuleEngine([{ id: 'low-batt', kind: 'threshold', metric: 'battery', below: 20, message: '{device}: battery {value} %' }]);
   * engine.evaluate({ device: 'meter-3', time: 5, metric: 'battery', value: 12 })[0]?.message; // 'meter-3: battery 12 %'
   * ```
   */
  evaluate(point: TelemetryPoint): readonly AlertEvent[] {
    if (typeof point !== 'object' || point === null) throw new TypeError(`point: expected a TelemetryPoint, got ${describe(point)}`);
    const { device, time: t, metric, value } = point;
    if (typeof device !== 'string') throw new TypeError(`point.device: expected a string, got ${describe(device)}`);
    if (typeof t !== 'number') throw new TypeError(`point.time: expected a number, got ${describe(t)}`);
    if (typeof metric !== 'string') throw new TypeError(`point.metric: expected a string, got ${describe(metric)}`);
    if (value !== null && typeof value !== 'number') throw new TypeError(`point.value: expected a number or null, got ${describe(value)}`);
    if (!Number.isFinite(t)) throw new RangeError(`point.time: expected a finite number, got ${t}`);

    const ds = this.#device(device, -Infinity, false);
    ds.seen = true;
    const states = ds.states;
    const match = ds.match;
    let out: AlertEvent[] | undefined;
    let changed = false;
    if (t > ds.lastSeen) {
      ds.lastSeen = t;
      const hbs = this.#heartbeats;
      for (let i = 0; i < hbs.length; i++) {
        const node = hbs[i] as Node;
        const st = states[node.index] as NodeState;
        if (st.active) {
          out = this.#transition(node, st, device, t, null, false, out);
          if (node.hasParents) changed = true;
        }
      }
    }
    const list = this.#byMetric.get(metric);
    if (list !== undefined && value !== null && Number.isFinite(value)) {
      for (let i = 0; i < list.length; i++) {
        const node = list[i] as Node;
        if (match[node.index] === 0) continue;
        const st = states[node.index] as NodeState;
        if (t <= st.lastT) continue; // redelivery or out of order
        let x = value;
        if (node.type === RATE) {
          const first = st.lastT === -Infinity;
          const prevT = st.lastT;
          const prevV = st.prevV;
          st.lastT = t;
          st.prevV = value;
          if (first) continue;
          x = ((value - prevV) * 1000) / (t - prevT);
        } else {
          st.lastT = t;
        }
        const beyond = x > node.above || x < node.below;
        if (!st.active) {
          if (!beyond) st.count = 0;
          else if (++st.count >= node.forCount) {
            st.count = 0;
            out = this.#transition(node, st, device, t, x, true, out);
            if (node.hasParents) changed = true;
          }
        } else if (x <= node.clearHigh && x >= node.clearLow) {
          out = this.#transition(node, st, device, t, x, false, out);
          if (node.hasParents) changed = true;
        }
      }
    }
    if (changed) out = this.#combine(ds, t, value, out);
    return out ?? EMPTY;
  }

  /**
   * Checks heartbeats against the clock and drops devices silent for `forgetAfterMs`. The
   * pipeline calls it from a timer (every second is plenty).
   *
   * @param now - epoch ms; default the engine's clock.
   * @returns the events it caused.
   * @example
   * ```ts
   * import { RuleEngine } from '@outpost/pipeline';
   * let clock = 0;
   * const engine = new RuleEngine([{ id: 'silent', kind: 'heartbeat', intervalMs: 1000, missed: 3 }], { now: () => clock });
   * engine.evaluate({ device: 'd1', time: 0, metric: 'temp', value: 20 });
   * clock = 3000;
   * engine.tick().length; // 0
   * clock = 3001;
   * engine.tick()[0]?.kind; // 'fired'
   * engine.tick().length; // 0
   * engine.evaluate({ device: 'd1', time: 3500, metric: 'temp', value: 21 })[0]?.kind; // 'resolved'
   * ```
   */
  tick(now?: number): readonly AlertEvent[] {
    if (now !== undefined && typeof now !== 'number') throw new TypeError(`now: expected a number, got ${describe(now)}`);
    const t = now ?? this.#now();
    if (!Number.isFinite(t)) throw new RangeError(`now: expected a finite number, got ${t}`);
    let out: AlertEvent[] | undefined;
    const hbs = this.#heartbeats;
    for (const ds of this.#devices.values()) {
      const silence = t - ds.lastSeen;
      if (!ds.pinned && silence > this.#forgetAfterMs) {
        for (let i = 0; i < this.#nodes.length; i++) {
          const st = ds.states[i] as NodeState;
          if (st.active) out = this.#transition(this.#nodes[i] as Node, st, ds.device, t, null, false, out, true);
        }
        this.#devices.delete(ds.device);
        continue;
      }
      let changed = false;
      for (let i = 0; i < hbs.length; i++) {
        const node = hbs[i] as Node;
        if (ds.match[node.index] === 0 || (!ds.seen && node.expected === null)) continue;
        const st = ds.states[node.index] as NodeState;
        if (!st.active && silence > node.silenceMs) {
          out = this.#transition(node, st, ds.device, t, silence, true, out);
          if (node.hasParents) changed = true;
        }
      }
      if (changed) out = this.#combine(ds, t, null, out);
    }
    return out ?? EMPTY;
  }

  /**
   * The open episodes, for a dashboard or a status endpoint.
   *
   * @example
   * ```ts
   * import { RuleEngine } from '@outpost/pipeline';
   * const engine = new RuleEngine([{ id: 'hot', kind: 'threshold', metric: 'temp', above: 80 }]);
   * engine.evaluate({ device: 'a', time: 1, metric: 'temp', value: 90 });
   * engine.openEpisodes(); // [{ ruleId: 'hot', device: 'a', episodeId: 'hot/a/1' }]
   * ```
   */
  openEpisodes(): Array<{ ruleId: string; device: string; episodeId: string }> {
    const out: Array<{ ruleId: string; device: string; episodeId: string }> = [];
    for (const ds of this.#devices.values()) {
      for (const node of this.#nodes) {
        const st = ds.states[node.index] as NodeState;
        if (node.emit && st.active) out.push({ ruleId: node.id, device: ds.device, episodeId: st.episodeId });
      }
    }
    return out;
  }

  #combine(ds: DeviceState, t: number, value: number | null, out: AlertEvent[] | undefined): AlertEvent[] | undefined {
    const combos = this.#combos;
    for (let i = 0; i < combos.length; i++) {
      const node = combos[i] as Node;
      if (ds.match[node.index] === 0) continue;
      const st = ds.states[node.index] as NodeState;
      let holds = node.all;
      for (const c of node.children) {
        const a = (ds.states[c] as NodeState).active;
        if (node.all ? !a : a) {
          holds = !node.all;
          break;
        }
      }
      if (holds !== st.active) out = this.#transition(node, st, ds.device, t, value, holds, out);
    }
    return out;
  }

  #transition(node: Node, st: NodeState, device: string, t: number, value: number | null, fire: boolean, out: AlertEvent[] | undefined, expired = false): AlertEvent[] | undefined {
    st.active = fire;
    if (fire) {
      // strictly increasing starts keep episode ids unique even if the clock steps back
      const start = t > st.lastStart ? t : st.lastStart + 1;
      st.lastStart = start;
      st.episodeId = `${node.id}/${device}/${start}`;
    }
    if (!node.emit) return out;
    const kind = fire ? 'fired' : 'resolved';
    const event: AlertEvent = {
      kind,
      ruleId: node.id,
      device,
      severity: node.severity,
      at: t,
      metric: node.metric,
      value,
      episodeId: st.episodeId,
      message: message(node, kind, device, value),
      ...(expired ? { expired: true as const } : {}),
    };
    (out ??= []).push(event);
    return out;
  }
}
