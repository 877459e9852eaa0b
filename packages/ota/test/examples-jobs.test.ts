// The `@example`s of the `@outpost/ota/jobs` subpath (src/jobs/), run like the rest of ota's
// examples: imports from '@outpost/ota/jobs' bound to the subpath's sources (and '@outpost/ota'
// to the package's), each line `EXPR; // VALUE` checked, so a documented result cannot drift.
// (Until session 6 these examples were only imported: a wrong stated result passed.) Every name
// the subpath exports, types included, appears in one of them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeDocExamples, extractExamples } from '@outpost/test-peers';
import * as ota from '../src/index.js';
import * as lib from '../src/jobs/index.js';

const root = join(import.meta.dirname, '..');
const src = join(root, 'src', 'jobs');

describeDocExamples({ root, srcDir: 'src/jobs', readme: false, lib, specifier: '@outpost/ota/jobs', peers: { '@outpost/ota': ota }, minAssertions: 8 });

describe('@outpost/ota/jobs exports', () => {
  it('every export of the subpath, types included, appears in an example', () => {
    const index = readFileSync(join(src, 'index.ts'), 'utf8');
    const names = [...index.matchAll(/export (?:type )?\{([^}]*)\}/g)].flatMap((m) => (m[1] ?? '').split(',').map((s) => s.trim().replace(/^type\s+/, '')).filter(Boolean));
    const joined = extractExamples(src, { anywhere: true }).map((e) => e.code).join('\n');
    expect(names.length).toBeGreaterThan(5);
    expect(names.filter((n) => !new RegExp(`\\b${n}\\b`).test(joined))).toEqual([]);
  });
});
