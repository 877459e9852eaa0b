// Runs the TSDoc @example blocks of src/lake.ts and src/duckdb.ts (until the package's own
// examples suite covers them through src/index.ts); `EXPR; // VALUE` lines become assertions.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractExamples, runExample } from '@outpost/test-peers';
import * as lake from '../src/lake.js';
import * as duckdb from '../src/duckdb.js';
import * as errors from '../src/errors.js';

const lib = { ...errors, ...lake, ...duckdb };
const SRC = join(import.meta.dirname, '..', 'src');
const examples = extractExamples(SRC, { methods: true }).filter((e) => e.file === 'lake.ts' || e.file === 'duckdb.ts');

describe('lake and DuckDB store examples run and their stated results hold', () => {
  let checks = 0;
  let scratch = '';
  const saved = process.env['TMPDIR'];
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-lake-examples-'));
    process.env['TMPDIR'] = scratch;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = saved;
    rmSync(scratch, { recursive: true, force: true });
    expect(checks).toBeGreaterThanOrEqual(7); // the instrumentation really checked something
  });
  it('every exported value of both files has an example', () => {
    const symbols = new Set(examples.map((e) => e.symbol));
    expect(Object.keys({ ...lake, ...duckdb }).filter((k) => !symbols.has(k))).toEqual([]);
  });
  for (const ex of examples) {
    it(`${ex.file}: ${ex.symbol}`, async () => {
      checks += await runExample(ex.code, lib, { specifier: '@outpost/pipeline', allowProse: true, objects: 'match' });
    });
  }
});
