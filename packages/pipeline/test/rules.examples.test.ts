// The TSDoc @example blocks of rules.ts and alerts.ts run and their stated results hold, with
// '@outpost/pipeline' bound to these modules (the package examples test covers them again once
// src/index.ts exports them).
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractExamples, runExample } from '@outpost/test-peers';
import * as alerts from '../src/alerts.js';
import * as errors from '../src/errors.js';
import * as rules from '../src/rules.js';

const SRC = join(import.meta.dirname, '..', 'src');
const lib = { ...errors, ...rules, ...alerts };
const options = { specifier: '@outpost/pipeline', allowProse: true, objects: 'match' } as const;

describe('rules.ts and alerts.ts examples', () => {
  let total = 0;
  afterAll(() => {
    expect(total).toBeGreaterThan(15);
  });
  const mine = extractExamples(SRC, { methods: true }).filter((e) => e.file === 'rules.ts' || e.file === 'alerts.ts');
  it('every exported value has an example', () => {
    const symbols = new Set(mine.map((e) => e.symbol));
    expect(Object.keys({ ...rules, ...alerts }).filter((k) => !symbols.has(k))).toEqual([]);
  });
  for (const ex of mine) {
    it(`${ex.file}: ${ex.symbol}`, async () => {
      total += await runExample(ex.code, lib, options);
    });
  }
});
