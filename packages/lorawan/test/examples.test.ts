// Executes every TSDoc `@example` in src/ and the README synopsis: imports from '@outpost/lorawan'
// are bound to the package, and each line `EXPR; // VALUE` whose VALUE parses as a JS literal
// (a literal followed by prose counts) becomes an assertion, so documented results cannot drift.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractExamples, readmeSynopsis, runExample } from '@outpost/test-peers';
import * as lib from '../src/index.js';

const SRC = join(import.meta.dirname, '..', 'src');
const options = { specifier: '@outpost/lorawan', allowProse: true, objects: 'match' } as const;

describe('TSDoc @example blocks run and their stated results hold', () => {
  let total = 0;
  afterAll(() => {
    expect(total).toBeGreaterThan(40); // guards against the instrumentation silently checking nothing
  });
  const all = extractExamples(SRC, { recursive: true }); // src/regions/ holds the region records
  it('every exported value has an example', () => {
    const symbols = new Set(all.map((e) => e.symbol));
    expect(Object.keys(lib).filter((k) => !symbols.has(k) && k !== 'VERSION' && k !== 'REQUIRED_SNR_DB')).toEqual([]);
  });
  const synopsis = readmeSynopsis(join(SRC, '..', 'README.md'));
  it('the README has a synopsis', () => expect(synopsis).toBeDefined());
  if (synopsis !== undefined) all.push({ file: 'README.md', symbol: 'Synopsis', code: synopsis });
  for (const ex of all) {
    it(`${ex.file}: ${ex.symbol}`, async () => {
      total += await runExample(ex.code, lib, options);
    });
  }
});
