/**
 * Rules files: JSON checked into {@link Rule}s ({@link parseRules}, {@link loadRulesFile}) before
 * the engine (`rules.ts`) compiles them. Every mistake is a `RULES_INVALID` error naming its path.
 */
import { readFile } from 'node:fs/promises';
import { PipelineError } from './errors.js';
import type { Rule } from './rules-types.js';

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

/** Internal: a value's type for messages ('object' for plain objects, the class name otherwise). */
export function describe(v: unknown): string {
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

/** Internal: a non-null, non-array object. */
export function isRecord(v: unknown): v is Record<string, unknown> {
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

/** The id of a rule: given (unique, checked), or for an inline condition its generated one. */
function ruleId(v: Record<string, unknown>, path: string, inline: boolean, parentId: string, c: Checked): string {
  if (v.id === undefined || (inline && v.id === parentId)) {
    if (!inline) invalid(`${path}.id`, 'missing; every rule needs a unique id');
    return parentId;
  }
  const id = str(`${path}.id`, v.id);
  if (!ID_RE.test(id)) invalid(`${path}.id`, `expected letters, digits, '_', '-', '.', ':', got ${show(id)}`);
  const first = c.ids.get(id);
  if (first !== undefined) invalid(`${path}.id`, `duplicate id ${show(id)} (first at ${first})`);
  c.ids.set(id, path);
  return id;
}

/** severity, devices and message: the fields every kind shares. */
function commonFields(v: Record<string, unknown>, path: string, out: Record<string, unknown>): void {
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
}

function thresholdFields(v: Record<string, unknown>, path: string, out: Record<string, unknown>): void {
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
}

function rateFields(v: Record<string, unknown>, path: string, out: Record<string, unknown>): void {
  out.metric = str(`${path}.metric`, v.metric);
  if (v.maxRisePerSecond !== undefined) out.maxRisePerSecond = positive(`${path}.maxRisePerSecond`, v.maxRisePerSecond);
  if (v.maxFallPerSecond !== undefined) out.maxFallPerSecond = positive(`${path}.maxFallPerSecond`, v.maxFallPerSecond);
  if (out.maxRisePerSecond === undefined && out.maxFallPerSecond === undefined) invalid(path, 'a rate rule needs maxRisePerSecond, maxFallPerSecond or both');
  if (v.forCount !== undefined) out.forCount = count(`${path}.forCount`, v.forCount);
}

/** `all`/`any`: conditions by id (checked later, in checkRules) or inline rules (checked here). */
function combinationFields(v: Record<string, unknown>, path: string, id: string, c: Checked, depth: number, out: Record<string, unknown>): void {
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

function checkRule(v: unknown, path: string, inline: boolean, parentId: string, c: Checked, depth = 0): Rule {
  if (!isRecord(v)) invalid(path, `expected a rule object, got ${describe(v)}`);
  if (depth > MAX_DEPTH) invalid(path, `combinations nested deeper than ${MAX_DEPTH}`);
  if (v.kind === undefined) invalid(`${path}.kind`, `missing; expected one of ${KINDS.join(', ')}`);
  if (typeof v.kind !== 'string') invalid(`${path}.kind`, `expected a string, got ${describe(v.kind)}`);
  const kind = v.kind;
  const keys = KEYS[kind];
  if (keys === undefined || !Object.hasOwn(KEYS, kind)) invalid(`${path}.kind`, `expected one of ${KINDS.join(', ')}, got ${show(kind)}`);
  for (const k of Object.keys(v)) if (!keys.includes(k)) invalid(`${path}.${k}`, `unknown property for a ${kind} rule`);
  const id = ruleId(v, path, inline, parentId, c);
  const out: Record<string, unknown> = { kind, id };
  commonFields(v, path, out);
  if (kind === 'threshold') thresholdFields(v, path, out);
  else if (kind === 'rate') rateFields(v, path, out);
  else if (kind === 'heartbeat') {
    out.intervalMs = positive(`${path}.intervalMs`, v.intervalMs);
    out.missed = count(`${path}.missed`, v.missed);
  } else combinationFields(v, path, id, c, depth, out);
  return Object.freeze(out) as unknown as Rule;
}

/** Validates a list of rules; returns frozen copies (inline rules get their generated ids). */
export function checkRules(list: unknown, root: string): Rule[] {
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
