// The `@example`s of the `@outpost/ota/jobs` subpath (src/jobs/), imported as modules against the
// sources, and every name its index exports appears in one of them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractExamples, importExample } from '@outpost/test-peers';

const root = join(import.meta.dirname, '..');
const src = join(root, 'src', 'jobs');
const all = extractExamples(src, { anywhere: true }).map((e): [string, string] => [e.symbol, e.code]);

describe('@outpost/ota/jobs examples', () => {
  it('every export of the subpath has an example', () => {
    const index = readFileSync(join(src, 'index.ts'), 'utf8');
    const names = [...index.matchAll(/export (?:type )?\{([^}]*)\}/g)].flatMap((m) => (m[1] ?? '').split(',').map((s) => s.trim()).filter(Boolean));
    const joined = all.map(([, c]) => c).join('\n');
    expect(names.length).toBeGreaterThan(5);
    expect(names.filter((n) => !new RegExp(`\\b${n}\\b`).test(joined))).toEqual([]);
  });
  it.each(all)('%s runs', async (name, code) => {
    await importExample(name, code, { specifier: '@outpost/ota/jobs', entry: join(src, 'index.js'), outDir: join(root, '.tmp', 'examples-jobs') });
  });
});
