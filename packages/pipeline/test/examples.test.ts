// Executes every TSDoc `@example` in src/ (and the README synopsis once there is one): imports
// from '@outpost/pipeline' are bound to the package, and each line `EXPR; // VALUE` whose
// VALUE parses as a JS literal becomes an assertion, so documented results cannot drift.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractExamples, readmeSynopsis, runExample } from '@outpost/test-peers';
import * as lib from '../src/index.js';

const SRC = join(import.meta.dirname, '..', 'src');
const README = join(SRC, '..', 'README.md');
const options = { specifier: '@outpost/pipeline', allowProse: true, objects: 'match', nodeImports: true } as const;

describe('TSDoc @example blocks run and their stated results hold', () => {
  let total = 0;
  afterAll(() => {
    expect(total).toBeGreaterThan(15); // guards against the instrumentation silently checking nothing
  });
  const all = extractExamples(SRC, { methods: true });
  it('every exported value has an example', () => {
    const symbols = new Set(all.map((e) => e.symbol));
    expect(Object.keys(lib).filter((k) => !symbols.has(k) && k !== 'VERSION')).toEqual([]);
  });
  if (existsSync(README)) {
    const synopsis = readmeSynopsis(README);
    it('the README has a synopsis', () => expect(synopsis).toBeDefined());
    if (synopsis !== undefined) all.push({ file: 'README.md', symbol: 'Synopsis', code: synopsis });
  }
  for (const ex of all) {
    it(`${ex.file}: ${ex.symbol}`, async () => {
      total += await runExample(ex.code, lib, options);
    });
  }
});
