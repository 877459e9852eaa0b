// parseRules / loadRulesFile: every error path names where the problem is; a seeded fuzz of
// random JSON (and of mutated valid files) never throws anything but PipelineError/TypeError.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mulberry32, tempDir } from '@outpost/test-peers';
import { PipelineError } from '../src/errors.js';
import { RuleEngine } from '../src/rules.js';
import { loadRulesFile, parseRules } from '../src/rules-parse.js';

function rulesError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PipelineError);
    expect((e as PipelineError).code).toBe('RULES_INVALID');
    return (e as Error).message;
  }
  throw new Error('expected RULES_INVALID');
}

const hot = { id: 'hot', kind: 'threshold', metric: 'temp', above: 80 };
const bad = (...rules: unknown[]): string => rulesError(() => parseRules({ rules }));

describe('parseRules', () => {
  it('accepts the documented example file, as an object or as text', () => {
    const file = {
      rules: [
        { id: 'overheat', kind: 'threshold', metric: 'temperature', above: 80, clearAt: 75, forCount: 2, severity: 'critical', devices: 'pump-*', message: '{device} overheating: {value} °C' },
        { id: 'fast-rise', kind: 'rate', metric: 'temperature', maxRisePerSecond: 2 },
        { id: 'silent', kind: 'heartbeat', intervalMs: 60000, missed: 3 },
        { id: 'runaway', kind: 'all', of: ['overheat', 'fast-rise'], severity: 'critical' },
      ],
    };
    const rules = parseRules(file);
    expect(rules.map((r) => r.id)).toEqual(['overheat', 'fast-rise', 'silent', 'runaway']);
    expect(parseRules(JSON.stringify(file))).toEqual(rules);
    expect(Object.isFrozen(rules[0])).toBe(true);
    // the validated rules feed an engine, inline conditions included (their generated ids revalidate)
    const withInline = parseRules({ rules: [hot, { id: 'c', kind: 'any', of: ['hot', { kind: 'rate', metric: 'temp', maxFallPerSecond: 1 }] }] });
    expect((withInline[1] as unknown as { of: Array<{ id: string }> }).of[1]?.id).toBe('c.of[1]');
    expect(new RuleEngine(withInline).rules).toEqual(withInline);
  });

  it.each([
    [[{ ...hot, above: '80' }], 'rules[0].above: expected a number, got string'],
    [[hot, hot, { ...hot, id: 'x', above: null }], 'rules[1].id: duplicate id "hot" (first at rules[0])'],
    [[hot, { ...hot, id: 'x', above: Infinity }], 'rules[1].above: expected a finite number, got Infinity'],
    [[{ ...hot, kind: 'median' }], 'rules[0].kind: expected one of threshold, rate, heartbeat, all, any, got "median"'],
    [[{ ...hot, kind: 'toString' }], 'rules[0].kind: expected one of threshold, rate, heartbeat, all, any, got "toString"'],
    [[{ id: 'a' }], 'rules[0].kind: missing; expected one of threshold, rate, heartbeat, all, any'],
    [[{ ...hot, id: undefined }], 'rules[0].id: missing; every rule needs a unique id'],
    [[{ ...hot, id: 'a b' }], `rules[0].id: expected letters, digits, '_', '-', '.', ':', got "a b"`],
    [[{ ...hot, abvoe: 1 }], 'rules[0].abvoe: unknown property for a threshold rule'],
    [[{ ...hot, severity: 'fatal' }], 'rules[0].severity: expected one of info, warning, critical, got "fatal"'],
    [[{ ...hot, devices: [] }], 'rules[0].devices: expected a non-empty list of device names or globs, got []'],
    [[{ ...hot, devices: ['a', 3] }], 'rules[0].devices[1]: expected a string, got number'],
    [[{ ...hot, devices: 3 }], 'rules[0].devices: expected a glob string or a list of them, got number'],
    [[{ ...hot, message: 'x {valeu}' }], 'rules[0].message: unknown placeholder {valeu}; expected one of {ruleId}, {device}, {metric}, {value}, {severity}, {event}'],
    [[{ ...hot, metric: '' }], 'rules[0].metric: expected a non-empty string, got ""'],
    [[{ id: 'h', kind: 'threshold', metric: 'x' }], 'rules[0]: a threshold rule needs above, below or both'],
    [[{ ...hot, below: 90 }], 'rules[0].below: expected less than above (80), got 90'],
    [[{ ...hot, clearAt: 85 }], 'rules[0].clearAt: expected at most above (80), got 85'],
    [[{ id: 'l', kind: 'threshold', metric: 'x', below: 10, clearAt: 5 }], 'rules[0].clearAt: expected at least below (10), got 5'],
    [[{ ...hot, below: 10, clearAt: 50 }], 'rules[0].clearAt: needs exactly one of above or below, got both'],
    [[{ ...hot, forCount: 0 }], 'rules[0].forCount: expected an integer >= 1, got 0'],
    [[{ ...hot, forCount: 1.5 }], 'rules[0].forCount: expected an integer >= 1, got 1.5'],
    [[{ id: 'r', kind: 'rate', metric: 'x' }], 'rules[0]: a rate rule needs maxRisePerSecond, maxFallPerSecond or both'],
    [[{ id: 'r', kind: 'rate', metric: 'x', maxFallPerSecond: -1 }], 'rules[0].maxFallPerSecond: expected a number > 0, got -1'],
    [[{ id: 'h', kind: 'heartbeat', intervalMs: 0, missed: 1 }], 'rules[0].intervalMs: expected a number > 0, got 0'],
    [[{ id: 'h', kind: 'heartbeat', intervalMs: 10, missed: '3' }], 'rules[0].missed: expected a number, got string'],
    [[{ id: 'h', kind: 'heartbeat', intervalMs: 10 }], 'rules[0].missed: expected a number, got undefined'],
    [[{ id: 'c', kind: 'all', of: [] }], 'rules[0].of: expected at least one condition, got []'],
    [[{ id: 'c', kind: 'any', of: 'hot' }], 'rules[0].of: expected a list of rule ids or rules, got string'],
    [[hot, { id: 'c', kind: 'any', of: ['hot', 'cold'] }], 'rules[1].of[1]: unknown rule id "cold"'],
    [[hot, { id: 'c', kind: 'any', of: ['hot', 7] }], 'rules[1].of[1]: expected a rule id or a rule, got number'],
    [[hot, { id: 'c', kind: 'any', of: [{ kind: 'threshold', metric: 'x', above: 'no' }] }], 'rules[1].of[0].above: expected a number, got string'],
    [[{ id: 'c', kind: 'any', of: [{ id: 'inner', kind: 'threshold', metric: 'x', above: 1 }] }, { id: 'd', kind: 'any', of: ['inner'] }], 'rules[1].of[0]: unknown rule id "inner" (inline rules cannot be referenced)'],
    [[{ id: 'a', kind: 'all', of: ['a'] }], 'rules[0].of[0]: cycle a → a'],
    [[hot, { id: 'a', kind: 'all', of: ['hot', 'b'] }, { id: 'b', kind: 'any', of: [{ kind: 'all', of: ['a'] }] }], 'rules[2].of[0].of[0]: cycle a → b → b.of[0] → a'],
    [['hot'], 'rules[0]: expected a rule object, got string'],
  ])('%j → %s', (rules, message) => {
    expect(bad(...rules)).toBe(message);
  });

  it('rejects a file that is not { rules: [...] }', () => {
    expect(rulesError(() => parseRules('{"rules": ['))).toMatch(/^rules file: not valid JSON/);
    expect(rulesError(() => parseRules([]))).toBe('rules file: expected an object { "rules": [...] }, got array');
    expect(rulesError(() => parseRules({}))).toBe('rules: missing');
    expect(rulesError(() => parseRules({ rules: {} }))).toBe('rules: expected a list of rules, got object');
    expect(rulesError(() => parseRules({ rules: [], extra: 1 }))).toBe('extra: unknown property of a rules file');
    expect(parseRules({ rules: [], description: 'none yet' })).toEqual([]);
  });

  it('bounds nesting: deep inline nesting and long reference chains are file errors, not stack overflows', () => {
    let deep: unknown = { kind: 'threshold', metric: 'x', above: 1 };
    for (let i = 0; i < 5000; i++) deep = { kind: 'all', of: [deep] };
    expect(rulesError(() => parseRules({ rules: [{ id: 'deep', ...(deep as object) }] }))).toMatch(/^rules\[0\](\.of\[0\]){33}: combinations nested deeper than 32$/);
    const chain = Array.from({ length: 5000 }, (_, i) => (i === 4999 ? hot : { id: `c${i}`, kind: 'any', of: [i === 4998 ? 'hot' : `c${i + 1}`] }));
    expect(rulesError(() => parseRules({ rules: chain }))).toMatch(/combinations nested deeper than 32$/);
    const ok = Array.from({ length: 32 }, (_, i) => ({ id: `c${i}`, kind: 'any', of: [i === 31 ? 'hot' : `c${i + 1}`] }));
    expect(parseRules({ rules: [...ok, hot] }).length).toBe(33);
  });

  it('the engine validates rules it is given the same way', () => {
    expect(rulesError(() => new RuleEngine([{ ...hot, above: 'x' } as never]))).toBe('rules[0].above: expected a number, got string');
  });
});

describe('loadRulesFile', () => {
  it('reads a file; names the file in errors', async () => {
    const dir = tempDir();
    try {
      const ok = join(dir.path, 'rules.json');
      writeFileSync(ok, JSON.stringify({ rules: [hot] }));
      expect((await loadRulesFile(ok)).map((r) => r.id)).toEqual(['hot']);
      const broken = join(dir.path, 'broken.json');
      writeFileSync(broken, JSON.stringify({ rules: [{ ...hot, above: '1' }] }));
      await expect(loadRulesFile(broken)).rejects.toThrow(`${broken}: rules[0].above: expected a number, got string`);
      await expect(loadRulesFile(join(dir.path, 'missing.json'))).rejects.toMatchObject({ code: 'RULES_INVALID', message: expect.stringContaining('ENOENT') });
    } finally {
      dir.cleanup();
    }
  });
});

describe('fuzz', () => {
  const leaves = [null, true, 0, -1, 1.5, 1e308, Number.NaN, '', 'hot', 'threshold', 'rate', 'heartbeat', 'all', 'any', 'temp', '{value}', '{x}', '__proto__', 'constructor'];
  const keys = ['id', 'kind', 'metric', 'above', 'below', 'clearAt', 'forCount', 'of', 'devices', 'severity', 'message', 'intervalMs', 'missed', 'maxRisePerSecond', 'maxFallPerSecond', 'rules', '__proto__', 'x'];
  function value(rnd: () => number, depth: number): unknown {
    const r = rnd();
    if (depth > 4 || r < 0.4) return leaves[Math.floor(rnd() * leaves.length)];
    if (r < 0.7) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(rnd, depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = Math.floor(rnd() * 6); i > 0; i--) o[keys[Math.floor(rnd() * keys.length)] as string] = value(rnd, depth + 1);
    return o;
  }
  const valid = {
    rules: [
      { id: 'hot', kind: 'threshold', metric: 'temp', above: 80, clearAt: 70 },
      { id: 'r', kind: 'rate', metric: 'temp', maxRisePerSecond: 1 },
      { id: 'hb', kind: 'heartbeat', intervalMs: 10, missed: 2 },
      { id: 'c', kind: 'all', of: ['hot', 'r', { kind: 'any', of: ['hb'] }] },
    ],
  };
  function mutate(rnd: () => number, v: unknown, depth = 0): unknown {
    if (rnd() < 0.08) return value(rnd, depth + 2);
    if (Array.isArray(v)) return v.map((x) => mutate(rnd, x, depth + 1));
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [rnd() < 0.03 ? keys[Math.floor(rnd() * keys.length)] : k, mutate(rnd, x, depth + 1)]));
    return v;
  }

  it('random and mutated rule files only raise PipelineError or TypeError; accepted ones run', () => {
    const rnd = mulberry32(9);
    let accepted = 0;
    let rejected = 0;
    for (let i = 0; i < 4000; i++) {
      const doc = i % 2 === 0 ? { rules: [value(rnd, 1), value(rnd, 1)] } : mutate(rnd, valid);
      const input = i % 7 === 0 ? JSON.stringify(doc) : doc;
      try {
        const rules = parseRules(input);
        accepted++;
        const e = new RuleEngine(rules, { now: () => 0 });
        e.evaluate({ device: 'd', time: 1, metric: 'temp', value: 90 });
        e.tick(1000);
      } catch (err) {
        if (!(err instanceof PipelineError) && !(err instanceof TypeError)) throw err;
        rejected++;
      }
    }
    expect(accepted).toBeGreaterThan(50);
    expect(rejected).toBeGreaterThan(1000);
    // the parser still works afterwards
    expect(parseRules(valid).length).toBe(4);
  });
});
