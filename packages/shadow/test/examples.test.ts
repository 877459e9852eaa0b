// Executes every TSDoc `@example` in src/ and the README synopsis: imports from
// '@outpost/shadow' are bound to the package, node: imports are loaded, and each line
// `EXPR; // VALUE` whose VALUE is a JS literal becomes a deep-equality assertion, so the
// documented results cannot drift from the code.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import * as lib from '../src/index.js';

const SRC = join(import.meta.dirname, '..', 'src');

interface Example { readonly file: string; readonly symbol: string; readonly code: string }

function examples(): Example[] {
  const out: Example[] = [];
  for (const file of readdirSync(SRC).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(SRC, file), 'utf8');
    const re = /@example\s*\n((?:\s*\*.*\n)*?)\s*\*\/\s*\n\s*(?:export\s+)?(?:declare\s+)?(?:async\s+)?(?:function|class|const|type|interface)\s+(\w+)/g;
    for (const m of text.matchAll(re)) {
      const body = (m[1] ?? '').split('\n').map((l) => l.replace(/^\s*\*\s?/, '')).join('\n');
      const code = /```ts\n([\s\S]*?)```/.exec(body)?.[1];
      if (code !== undefined) out.push({ file, symbol: m[2] ?? '?', code });
    }
  }
  return out;
}

function literal(src: string): { ok: true; value: unknown } | { ok: false } {
  const s = src.trim();
  if (!/^[[{'"\d-]|^(true|false|undefined|null)\b/.test(s)) return { ok: false };
  try {
    return { ok: true, value: new Function(`return (${s});`)() as unknown };
  } catch {
    return { ok: false };
  }
}

function instrument(source: string): string {
  return source.split('\n').map((line) => {
    const lib = /^import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'@outpost\/shadow';\s*$/.exec(line);
    if (lib !== null) return line.includes('import type') ? '' : `const {${(lib[1] ?? '').replace(/\btype\s+\w+\s*,?/g, '')}} = __lib;`;
    const node = /^import\s*\{([^}]*)\}\s*from\s*'(node:[a-z/]+)';\s*$/.exec(line);
    if (node !== null) return `const {${node[1]}} = await __import('${node[2]}');`;
    const m = /^(\s*)(.+?);\s*\/\/\s*(.+)$/.exec(line);
    if (m === null || /^(const|let|import|if|for|return)\b/.test((m[2] ?? '').trim())) return line;
    if (!literal(m[3] ?? '').ok) return line;
    return `${m[1]}__check(${m[2]}, ${JSON.stringify(m[3]?.trim())});`;
  }).join('\n');
}

describe('TSDoc @example blocks run and their stated results hold', () => {
  let total = 0;
  afterAll(() => {
    // guards against the instrumentation silently checking nothing
    expect(total).toBeGreaterThan(25);
  });
  const all = examples();
  it('every exported value has an example', () => {
    const symbols = new Set(all.map((e) => e.symbol));
    expect(Object.keys(lib).filter((k) => !symbols.has(k))).toEqual([]);
  });
  const readme = readFileSync(join(SRC, '..', 'README.md'), 'utf8');
  const synopsis = /## Synopsis\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (synopsis !== undefined) all.push({ file: 'README.md', symbol: 'Synopsis (document model)', code: synopsis });
  it('the README has a synopsis', () => expect(synopsis).toBeDefined());
  for (const ex of all) {
    it(`${ex.file}: ${ex.symbol}`, async () => {
      const js = ts.transpileModule(`export {}; ${instrument(ex.code)}`, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: false } }).outputText.replace(/^export \{\};?/m, '');
      let checks = 0;
      const check = (actual: unknown, expectedSrc: string): void => {
        const lit = literal(expectedSrc);
        if (!lit.ok) return;
        checks++;
        expect(actual).toEqual(lit.value);
      };
      const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<void>;
      await new AsyncFunction('__lib', '__check', '__import', 'console', js)(lib, check, (m: string) => import(m), { log: () => undefined });
      total += checks;
    });
  }
});
