// Executes every TSDoc `@example` in src/ (and the README synopsis once there is one): imports
// from '@outpost/edge-aggregate' are bound to the package, and each line `EXPR; // VALUE` whose
// VALUE parses as a JS literal becomes an assertion, so documented results cannot drift.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as edgeBuffer from '@outpost/edge-buffer';
import { extractExamples, readmeSynopsis, runExample } from '@outpost/test-peers';
import * as cborX from 'cbor-x';
import * as lib from '../src/index.js';

// The README synopsis ends in an @outpost/edge-buffer sink with cbor-x: imports of these peers
// become bindings (node: imports are loaded by runExample itself).
const PEERS: Readonly<Record<string, Record<string, unknown>>> = { 'cbor-x': cborX, '@outpost/edge-buffer': edgeBuffer };

function bindPeers(code: string): { code: string; bindings: Record<string, unknown> } {
  const bindings: Record<string, unknown> = {};
  const out = code.replace(/^import\s*\{([^}]*)\}\s*from\s*'([^']+)';\n/gm, (line, list: string, spec: string) => {
    const mod = PEERS[spec];
    if (mod === undefined) return line;
    for (const name of list.split(',').map((n) => n.trim()).filter((n) => n !== '')) {
      if (!(name in mod)) throw new Error(`${spec} has no export ${name}`);
      bindings[name] = mod[name];
    }
    return '';
  });
  return { code: out, bindings };
}

const SRC = join(import.meta.dirname, '..', 'src');
const README = join(SRC, '..', 'README.md');
const options = { specifier: '@outpost/edge-aggregate', allowProse: true, objects: 'match' } as const;

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
      const { code, bindings } = bindPeers(ex.code);
      total += await runExample(code, lib, { ...options, nodeImports: true, bindings });
    });
  }
});
