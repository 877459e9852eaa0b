// Every `@example` in src/ and the README synopsis is executed: extracted, pointed at the
// sources, imported as a module.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractExamples, importExample, readmeSynopsis } from '@outpost/test-peers';

const root = join(import.meta.dirname, '..');
const src = join(root, 'src');
const all: Array<[string, string]> = [
  ...extractExamples(src, { anywhere: true }).map((e): [string, string] => [e.symbol, e.code]),
  ['README synopsis', readmeSynopsis(join(root, 'README.md')) ?? 'throw new Error("no synopsis in README")'],
];

// The examples make directories under os.tmpdir(): point it at one we remove afterwards.
let scratch = '';
const savedTmp = process.env['TMPDIR'];
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'ota-examples-'));
  process.env['TMPDIR'] = scratch;
});
afterAll(() => {
  if (savedTmp === undefined) delete process.env['TMPDIR'];
  else process.env['TMPDIR'] = savedTmp;
  rmSync(scratch, { recursive: true, force: true });
});

describe('TSDoc examples', () => {
  it('every export in index.ts has at least one example among the sources', () => {
    const index = readFileSync(join(src, 'index.ts'), 'utf8');
    const names = [...index.matchAll(/export (?:type )?\{([^}]*)\}/g)].flatMap((m) => m[1]!.split(',').map((s) => s.trim()).filter(Boolean));
    const joined = all.map(([, c]) => c).join('\n');
    expect(names.filter((n) => !new RegExp(`\\b${n}\\b`).test(joined))).toEqual([]);
  });

  it.each(all)('%s runs', async (name, code) => {
    await importExample(name, code, { specifier: '@outpost/ota', entry: join(src, 'index.js'), outDir: join(root, '.tmp', 'examples') });
  });
});
