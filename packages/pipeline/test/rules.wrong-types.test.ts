// Wrong-type matrix for the rule engine: each argument (and each option, each point field)
// replaced by values of the wrong type raises a TypeError or RangeError, synchronously or as a
// rejection. parseRules takes untrusted file content, so for it every wrong value is a
// PipelineError RULES_INVALID instead (checked too).
import { describe, expect, it } from 'vitest';
import { WRONG, wrongTypeMatrix, type Case } from './fixtures/wrong-types.js';
import { PipelineError } from '../src/errors.js';
import { RuleEngine } from '../src/rules.js';
import { loadRulesFile, parseRules } from '../src/rules-parse.js';
import type { Rule } from '../src/rules-types.js';
import type { TelemetryPoint } from '../src/types.js';


const rules: Rule[] = [{ id: 'hot', kind: 'threshold', metric: 't', above: 1 }];
const engine = new RuleEngine(rules, { now: () => 0 });
const point = (device: unknown, time: unknown, metric: unknown, value: unknown): TelemetryPoint => ({ device, time, metric, value }) as TelemetryPoint;

const CASES: readonly Case[] = [
  { name: 'new RuleEngine', args: [rules, {}], call: (a, b) => new RuleEngine(a as never, b as never), accepts: { 1: ['undefined'] } },
  { name: 'RuleEngine options', args: [() => 0, 1000], call: (a, b) => new RuleEngine(rules, { now: a as never, forgetAfterMs: b as number }), accepts: { 0: ['undefined'], 1: ['number', 'undefined'] } },
  { name: 'RuleEngine#evaluate', args: [point('d', 1, 't', 2)], call: (a) => engine.evaluate(a as TelemetryPoint) },
  { name: 'RuleEngine#evaluate point fields', args: ['d', 1, 't', 2], call: (a, b, c, d) => engine.evaluate(point(a, b, c, d)), accepts: { 1: ['number'], 3: ['null', 'number'] } },
  { name: 'RuleEngine#tick', args: [5], call: (a) => engine.tick(a as number), accepts: { 0: ['number', 'undefined'] } },
  { name: 'loadRulesFile', args: ['/nonexistent'], call: (a) => loadRulesFile(a as string).catch((e: unknown) => (e instanceof PipelineError ? undefined : Promise.reject(e))) },
];

describe('wrong-type matrix: rules', () => {
  wrongTypeMatrix(CASES);
  it('the engine still works after all that', () => {
    expect(engine.evaluate(point('fresh', 10, 't', 5)).map((e) => e.kind)).toEqual(['fired']);
  });
});

describe('parseRules: wrong types are file errors', () => {
  for (const [label, bad] of WRONG) {
    it(`json as ${label} → RULES_INVALID`, () => {
      expect(() => parseRules(bad)).toThrow(PipelineError);
    });
  }
});
