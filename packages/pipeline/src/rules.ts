/**
 * The hot path: alert rules evaluated synchronously on every telemetry point. Each (rule,
 * device) pair has an episode state; an alert `fired` event is emitted once when an episode
 * starts and one `resolved` event ends it, so a condition that persists never becomes an alert
 * storm. Rules come from a JSON rules file ({@link parseRules}, {@link loadRulesFile}).
 */
import { readFile } from 'node:fs/promises';
import { PipelineError } from './errors.js';
import type { TelemetryPoint } from './types.js';

/** How urgent an alert is. Default `warning`. */
export type AlertSeverity = 'info' | 'warning' | 'critical';

/**
 * Which devices a rule applies to: one glob (`pump-*`, `?` for one character) or a list of
 * globs and names. Absent: every device.
 */
export type DeviceFilter = string | readonly string[];

/** Fields every rule has. */
export interface RuleCommon {
  /** Unique id: letters, digits, `_`, `-`, `.`, `:`. Appears in alert events and episode ids. */
  readonly id: string;
  /** Default `warning`. */
  readonly severity?: AlertSeverity;
  /** Default: every device. On a heartbeat rule, `'seen'` (the default) watches every device that sent a point. */
  readonly devices?: DeviceFilter;
  /**
   * Message template. Placeholders: `{ruleId}`, `{device}`, `{metric}`, `{value}`,
   * `{severity}`, `{event}` (`fired` or `resolved`). Default: `{ruleId} {event} on {device}`
   * followed by ` ({metric} = {value})` for metric rules.
   */
  readonly message?: string;
}

/**
 * A level alarm with hysteresis. The point is *beyond* when `value > above` or
 * `value < below`; the episode fires after `forCount` consecutive beyond points and resolves at
 * the first point back at `clearAt` (`value <= clearAt` for `above`, `value >= clearAt` for
 * `below`; default the trigger level). `clearAt` needs exactly one of `above`/`below`.
 */
export interface ThresholdRule extends RuleCommon {
  readonly kind: 'threshold';
  readonly metric: string;
  readonly above?: number;
  readonly below?: number;
  readonly clearAt?: number;
  /** Consecutive beyond points before firing. Default 1. */
  readonly forCount?: number;
}

/**
 * A rate-of-change alarm: the rate is `(value - previous value) / seconds between them`,
 * computed from the previous point of the same device and metric by event time. Fires after
 * `forCount` consecutive rates beyond a limit, resolves at the first rate within the limits.
 * A point not newer than the previous one (a redelivery or an out-of-order point) is ignored.
 */
export interface RateRule extends RuleCommon {
  readonly kind: 'rate';
  readonly metric: string;
  /** Units per second; fires when the rate is above it. */
  readonly maxRisePerSecond?: number;
  /** Units per second, positive; fires when the rate is below `-maxFallPerSecond`. */
  readonly maxFallPerSecond?: number;
  /** Default 1. */
  readonly forCount?: number;
}

/**
 * A missing-heartbeat detector: a device silent for longer than `missed × intervalMs` since
 * the event time of its newest point (any metric) fires at the next {@link RuleEngine.tick};
 * its next newer point resolves. With `devices` an explicit list of names (no wildcards),
 * those devices are watched from the engine's start even if they never send anything.
 */
export interface HeartbeatRule extends RuleCommon {
  readonly kind: 'heartbeat';
  readonly intervalMs: number;
  readonly missed: number;
}

/**
 * A combination: `all` holds while every condition's episode is open for the device, `any`
 * while at least one is. Conditions are ids of other rules (which still raise their own
 * alerts) or inline rules (which raise none; `id` optional).
 */
export interface CombinationRule extends RuleCommon {
  readonly kind: 'all' | 'any';
  readonly of: ReadonlyArray<string | InlineRule>;
}

type Inline<R> = Omit<R, 'id'> & { readonly id?: string };
/** A rule written inside a combination's `of`; its `id` is optional. */
export type InlineRule = Inline<ThresholdRule> | Inline<RateRule> | Inline<HeartbeatRule> | Inline<CombinationRule>;

/** Any rule. */
export type Rule = ThresholdRule | RateRule | HeartbeatRule | CombinationRule;

/** What the rule engine emits; the alert sinks deliver it. */
export interface AlertEvent {
  /** `fired` when an episode starts, `resolved` when it ends. */
  readonly kind: 'fired' | 'resolved';
  readonly ruleId: string;
  readonly device: string;
  readonly severity: AlertSeverity;
  /** Epoch ms: the event time of the point that caused it, or the clock at `tick()`. */
  readonly at: number;
  /** The metric of a threshold or rate rule, else `null`. */
  readonly metric: string | null;
  /** The point's value (the rate, for a rate rule; the silence in ms for a firing heartbeat), or `null`. */
  readonly value: number | null;
  /** `${ruleId}/${device}/${start}`: the same for the `fired` and `resolved` of one episode. */
  readonly episodeId: string;
  readonly message: string;
  /** Set on a `resolved` emitted because the device's state was dropped (see `forgetAfterMs`). */
  readonly expired?: true;
}

/** Options of {@link RuleEngine}. */
export interface RuleEngineOptions {
  /** Clock for heartbeats and state expiry, epoch ms. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * A device whose newest point is older than this (by the clock, at `tick()`) has its state
   * dropped; its open episodes are resolved with `expired: true`. Default 24 h; `Infinity`
   * keeps every device forever. Devices named in a heartbeat rule's list are never dropped.
   */
  readonly forgetAfterMs?: number;
}

// ---------------------------------------------------------------------------------------------
// validation

const ID_RE = /^[A-Za-z0-9_.:-]+$/;
/** Combinations within combinations, inline or by reference: deeper is a mistake, and bounds the recursion. */
const MAX_DEPTH = 32;
const KINDS = ['threshold', 'rate', 'heartbeat', 'all', 'any'] as const;
const SEVERITIES = ['info', 'warning', 'critical'] as const;
const PLACEHOLDERS = new Set(['ruleId', 'device', 'metric', 'value', 'severity', 'event']);
const COMMON_KEYS = ['kind', 'id', 'severity', 'devices', 'message'];
const KEYS: Record<string, readonly string[]> = {
  threshold: [...COMMON_KEYS, 'metric', 'above', 'below', 'clearAt', 'forCount'],
  rate: [...COMMON_KEYS, 'metric', 'maxRisePerSecond', 'maxFallPerSecond', 'forCount'],
  heartbeat: [...COMMON_KEYS, 'intervalMs', 'missed'],
  all: [...COMMON_KEYS, 'of'],
  any: [...COMMON_KEYS, 'of'],
};

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') {
    const proto: unknown = Object.getPrototypeOf(v);
    return proto === Object.prototype || proto === null ? 'object' : ((v as object).constructor?.name ?? 'object');
  }
  return typeof v;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return describe(v);
}

function invalid(path: string, what: string): never {
  throw new PipelineError('RULES_INVALID', `${path}: ${what}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(path: string, v: unknown): number {
  if (typeof v !== 'number') invalid(path, `expected a number, got ${describe(v)}`);
  if (!Number.isFinite(v)) invalid(path, `expected a finite number, got ${v}`);
  return v;
}

function positive(path: string, v: unknown): number {
  const n = num(path, v);
  if (n <= 0) invalid(path, `expected a number > 0, got ${n}`);
  return n;
}

function count(path: string, v: unknown): number {
  const n = num(path, v);
  if (!Number.isInteger(n) || n < 1) invalid(path, `expected an integer >= 1, got ${n}`);
  return n;
}

function str(path: string, v: unknown): string {
  if (typeof v !== 'string') invalid(path, `expected a string, got ${describe(v)}`);
  if (v.length === 0) invalid(path, 'expected a non-empty string, got ""');
  return v;
}

interface Checked {
  /** Every id given explicitly, with its path. */
  readonly ids: Map<string, string>;
  /** Every reference: path, referenced id, id of the combination that holds it. */
  readonly refs: Array<{ path: string; id: string; from: string; inline: boolean }>;
}

function checkRule(v: unknown, path: string, inline: boolean, parentId: string, c: Checked, depth = 0): Rule {
  if (!isRecord(v)) invalid(path, `expected a rule object, got ${describe(v)}`);
  if (depth > MAX_DEPTH) invalid(path, `combinations nested deeper than ${MAX_DEPTH}`);
  if (v.kind === undefined) invalid(`${path}.kind`, `missing; expected one of ${KINDS.join(', ')}`);
  if (typeof v.kind !== 'string') invalid(`${path}.kind`, `expected a string, got ${describe(v.kind)}`);
  const kind = v.kind;
  const keys = KEYS[kind];
  if (keys === undefined || !Object.hasOwn(KEYS, kind)) invalid(`${path}.kind`, `expected one of ${KINDS.join(', ')}, got ${show(kind)}`);
  for (const k of Object.keys(v)) if (!keys.includes(k)) invalid(`${path}.${k}`, `unknown property for a ${kind} rule`);
  let id: string;
  if (v.id === undefined || (inline && v.id === parentId)) {
    if (!inline) invalid(`${path}.id`, 'missing; every rule needs a unique id');
    id = parentId;
  } else {
    id = str(`${path}.id`, v.id);
    if (!ID_RE.test(id)) invalid(`${path}.id`, `expected letters, digits, '_', '-', '.', ':', got ${show(id)}`);
    const first = c.ids.get(id);
    if (first !== undefined) invalid(`${path}.id`, `duplicate id ${show(id)} (first at ${first})`);
    c.ids.set(id, path);
  }
  const out: Record<string, unknown> = { kind, id };
  if (v.severity !== undefined) {
    if (!(SEVERITIES as readonly unknown[]).includes(v.severity)) invalid(`${path}.severity`, `expected one of ${SEVERITIES.join(', ')}, got ${show(v.severity)}`);
    out.severity = v.severity;
  }
  if (v.devices !== undefined) {
    const d = v.devices;
    if (Array.isArray(d)) {
      if (d.length === 0) invalid(`${path}.devices`, 'expected a non-empty list of device names or globs, got []');
      d.forEach((x, i) => str(`${path}.devices[${i}]`, x));
      out.devices = Object.freeze([...(d as string[])]);
    } else {
      if (typeof d !== 'string') invalid(`${path}.devices`, `expected a glob string or a list of them, got ${describe(d)}`);
      str(`${path}.devices`, d);
      out.devices = d;
    }
  }
  if (v.message !== undefined) {
    const m = str(`${path}.message`, v.message);
    for (const [, name] of m.matchAll(/\{([^{}]*)\}/g)) {
      if (!PLACEHOLDERS.has(name ?? '')) invalid(`${path}.message`, `unknown placeholder {${name}}; expected one of ${[...PLACEHOLDERS].map((p) => `{${p}}`).join(', ')}`);
    }
    out.message = m;
  }
  switch (kind) {
    case 'threshold': {
      out.metric = str(`${path}.metric`, v.metric);
      if (v.above !== undefined) out.above = num(`${path}.above`, v.above);
      if (v.below !== undefined) out.below = num(`${path}.below`, v.below);
      if (out.above === undefined && out.below === undefined) invalid(path, 'a threshold rule needs above, below or both');
      if (out.above !== undefined && out.below !== undefined && (out.below as number) >= (out.above as number)) {
        invalid(`${path}.below`, `expected less than above (${String(out.above)}), got ${String(out.below)}`);
      }
      if (v.clearAt !== undefined) {
        const clear = num(`${path}.clearAt`, v.clearAt);
        if (out.above !== undefined && out.below !== undefined) invalid(`${path}.clearAt`, 'needs exactly one of above or below, got both');
        if (out.above !== undefined && clear > (out.above as number)) invalid(`${path}.clearAt`, `expected at most above (${String(out.above)}), got ${clear}`);
        if (out.below !== undefined && clear < (out.below as number)) invalid(`${path}.clearAt`, `expected at least below (${String(out.below)}), got ${clear}`);
        out.clearAt = clear;
      }
      if (v.forCount !== undefined) out.forCount = count(`${path}.forCount`, v.forCount);
      break;
    }
    case 'rate': {
      out.metric = str(`${path}.metric`, v.metric);
      if (v.maxRisePerSecond !== undefined) out.maxRisePerSecond = positive(`${path}.maxRisePerSecond`, v.maxRisePerSecond);
      if (v.maxFallPerSecond !== undefined) out.maxFallPerSecond = positive(`${path}.maxFallPerSecond`, v.maxFallPerSecond);
      if (out.maxRisePerSecond === undefined && out.maxFallPerSecond === undefined) invalid(path, 'a rate rule needs maxRisePerSecond, maxFallPerSecond or both');
      if (v.forCount !== undefined) out.forCount = count(`${path}.forCount`, v.forCount);
      break;
    }
    case 'heartbeat': {
      out.intervalMs = positive(`${path}.intervalMs`, v.intervalMs);
      out.missed = count(`${path}.missed`, v.missed);
      break;
    }
    default: {
      const of = v.of;
      if (!Array.isArray(of)) invalid(`${path}.of`, `expected a list of rule ids or rules, got ${describe(of)}`);
      if (of.length === 0) invalid(`${path}.of`, 'expected at least one condition, got []');
      out.of = Object.freeze(
        of.map((x: unknown, i: number) => {
          const p = `${path}.of[${i}]`;
          if (typeof x === 'string') {
            c.refs.push({ path: p, id: x, from: id, inline: false });
            return x;
          }
          if (!isRecord(x)) invalid(p, `expected a rule id or a rule, got ${describe(x)}`);
          const child = checkRule(x, p, true, `${id}.of[${i}]`, c, depth + 1);
          c.refs.push({ path: p, id: child.id, from: id, inline: true });
          return child;
        }),
      );
    }
  }
  return Object.freeze(out) as unknown as Rule;
}

/** Validates a list of rules; returns frozen copies (inline rules get their generated ids). */
function checkRules(list: unknown, root: string): Rule[] {
  if (!Array.isArray(list)) invalid(root, `expected a list of rules, got ${describe(list)}`);
  const c: Checked = { ids: new Map(), refs: [] };
  const rules = list.map((r: unknown, i: number) => checkRule(r, `${root}[${i}]`, false, '', c));
  const top = new Set(rules.map((r) => r.id));
  const edges = new Map<string, string[]>();
  for (const r of c.refs) {
    // references name top-level rules; inline rules are reached through their parent only
    if (!r.inline && !top.has(r.id)) invalid(r.path, `unknown rule id ${show(r.id)}${c.ids.has(r.id) ? ' (inline rules cannot be referenced)' : ''}`);
    const next = edges.get(r.from) ?? [];
    next.push(r.id);
    edges.set(r.from, next);
  }
  // cycles: depth-first over the references
  const state = new Map<string, 1 | 2>();
  const refPath = new Map<string, string>(c.refs.map((r) => [`${r.from}\0${r.id}`, r.path]));
  const visit = (id: string, stack: string[]): void => {
    const s = state.get(id);
    if (s === 2) return;
    if (s === 1) {
      const cycle = [...stack.slice(stack.indexOf(id)), id];
      const at = refPath.get(`${stack[stack.length - 1] ?? ''}\0${id}`) ?? root;
      invalid(at, `cycle ${cycle.join(' → ')}`);
    }
    if (stack.length > MAX_DEPTH) invalid(refPath.get(`${stack[stack.length - 1] ?? ''}\0${id}`) ?? root, `combinations nested deeper than ${MAX_DEPTH}`);
    state.set(id, 1);
    for (const next of edges.get(id) ?? []) visit(next, [...stack, id]);
    state.set(id, 2);
  };
  for (const r of rules) visit(r.id, []);
  return rules;
}

/**
 * Validates a rules file: `{ "rules": [...] }` (already parsed, or the JSON text). Every
 * rule is checked, unknown properties included, then ids are checked for duplicates,
 * combinations for references to unknown ids and for cycles.
 *
 * A rules file:
 * ```json
 * { "rules": [
 *   { "id": "overheat", "kind": "threshold", "metric": "temperature", "above": 80, "clearAt": 75,
 *     "forCount": 2, "severity": "critical", "devices": "pump-*",
 *     "message": "{device} overheating: {value} °C" },
 *   { "id": "fast-rise", "kind": "rate", "metric": "temperature", "maxRisePerSecond": 2 },
 *   { "id": "silent", "kind": "heartbeat", "intervalMs": 60000, "missed": 3 },
 *   { "id": "runaway", "kind": "all", "of": ["overheat", "fast-rise"], "severity": "critical" }
 * ] }
 * ```
 *
 * @param json - the parsed file, or its text.
 * @returns the validated rules, frozen.
 * @throws PipelineError `RULES_INVALID` naming the path of the first problem (`rules[2].above: expected a number, got string`).
 * @example
 * ```ts
 * import { parseRules } from '@outpost/pipeline';
 * const rules = parseRules({ rules: [{ id: 'hot', kind: 'threshold', metric: 'temp', above: 80 }] });
 * rules.length; // 1
 * let message = '';
 * try { parseRules('{"rules":[{"id":"hot","kind":"threshold","metric":"temp","above":"80"}]}'); } catch (e) { message = (e as Error).message; }
 * message; // 'rules[0].above: expected a number, got string'
 * ```
 */
export function parseRules(json: unknown): Rule[] {
  let doc = json;
  if (typeof json === 'string') {
    try {
      doc = JSON.parse(json);
    } catch (err) {
      throw new PipelineError('RULES_INVALID', `rules file: not valid JSON (${(err as Error).message})`, { cause: err });
    }
  }
  if (!isRecord(doc)) invalid('rules file', `expected an object { "rules": [...] }, got ${describe(doc)}`);
  for (const k of Object.keys(doc)) if (k !== 'rules' && k !== '$schema' && k !== 'description') invalid(k, 'unknown property of a rules file');
  if (doc.rules === undefined) invalid('rules', 'missing');
  return checkRules(doc.rules, 'rules');
}

/**
 * Reads and validates a rules file (what `outpost pipeline --rules FILE` calls). The format is
 * the one of {@link parseRules}.
 *
 * @throws TypeError if `path` is not a string; PipelineError `RULES_INVALID` if the file cannot be read or is invalid.
 * @example
 * ```ts
 * import { loadRulesFile } from '@outpost/pipeline';
 * let code = '';
 * await loadRulesFile('/nonexistent/rules.json').catch((e: { code: string }) => { code = e.code; });
 * code; // 'RULES_INVALID'
 * ```
 */
export async function loadRulesFile(path: string): Promise<Rule[]> {
  if (typeof path !== 'string') throw new TypeError(`path: expected a string, got ${describe(path)}`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new PipelineError('RULES_INVALID', `rules file ${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
  try {
    return parseRules(text);
  } catch (err) {
    if (err instanceof PipelineError) throw new PipelineError('RULES_INVALID', `${path}: ${err.message}`, { cause: err });
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// engine

const THRESHOLD = 0;
const RATE = 1;
const HEARTBEAT = 2;
const COMBINATION = 3;

interface Node {
  readonly index: number;
  readonly id: string;
  readonly type: number;
  /** Top-level rules emit events; inline conditions only hold state. */
  readonly emit: boolean;
  readonly severity: AlertSeverity;
  readonly metric: string | null;
  readonly above: number;
  readonly below: number;
  readonly clearHigh: number;
  readonly clearLow: number;
  readonly forCount: number;
  readonly silenceMs: number;
  readonly children: readonly number[];
  readonly all: boolean;
  /** Has a combination above it: a state change re-evaluates the combinations. */
  hasParents: boolean;
  readonly match: ((device: string) => boolean) | null;
  /** Heartbeat with an explicit list of names: watched from the start. */
  readonly expected: readonly string[] | null;
  readonly template: string | undefined;
}

class NodeState {
  active = false;
  count = 0;
  /** Event time of the last point evaluated (dedup and ordering). */
  lastT = -Infinity;
  prevV = 0;
  lastStart = -Infinity;
  episodeId = '';
}

interface DeviceState {
  readonly device: string;
  /** Newest event time seen from the device, any metric. */
  lastSeen: number;
  readonly match: Uint8Array;
  readonly states: NodeState[];
  /** Named in a heartbeat rule's list: watched from the start, never dropped. */
  readonly pinned: boolean;
  /** Has sent a point: other heartbeat rules watch it only then. */
  seen: boolean;
}

function globRegExp(globs: readonly string[]): RegExp {
  const alt = globs.map((g) => g.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.'));
  return new RegExp(`^(?:${alt.join('|')})$`, 's');
}

function matcher(filter: DeviceFilter | undefined, heartbeat: boolean): ((d: string) => boolean) | null {
  if (filter === undefined || (heartbeat && filter === 'seen')) return null;
  const list = typeof filter === 'string' ? [filter] : filter;
  if (list.every((g) => !/[*?]/.test(g))) {
    const set = new Set(list);
    return (d) => set.has(d);
  }
  const re = globRegExp(list);
  return (d) => re.test(d);
}

const EMPTY: readonly AlertEvent[] = Object.freeze([]);

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

function message(node: Node, event: string, device: string, value: number | null): string {
  const tpl = node.template ?? (node.metric === null ? '{ruleId} {event} on {device}' : '{ruleId} {event} on {device} ({metric} = {value})');
  return tpl.replace(/\{(ruleId|device|metric|value|severity|event)\}/g, (_, k: string) => {
    switch (k) {
      case 'ruleId':
        return node.id;
      case 'device':
        return device;
      case 'metric':
        return node.metric ?? '';
      case 'value':
        return value === null ? '' : String(value);
      case 'severity':
        return node.severity;
      default:
        return event;
    }
  });
}
