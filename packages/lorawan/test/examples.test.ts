// Executes every TSDoc `@example` in src/: imports from '@outpost/lorawan' are bound to the
// package, and each line `EXPR; // VALUE` whose VALUE parses as a JS literal becomes an
// assertion (deep equality), so the documented results cannot drift from the code.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import * as lib from '../src/index.js';

const SRC = join(import.meta.dirname, '..', 'src');

interface Example {
  readonly file: string;
  readonly symbol: string;
  readonly code: string;
}

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
  let s = src.trim();
  if (s.startsWith('Uint8Array ')) s = s.slice('Uint8Array '.length);
  const evalJs = (x: string): unknown => new Function(`return (${x});`)() as unknown;
  if (/^[[{'"\d-]|^(true|false|undefined|null|Infinity)\b/.test(s)) {
    try {
      return { ok: true, value: evalJs(s) };
    } catch {
      // a literal followed by prose: "2793.472 (51-byte FRMPayload at SF12)"
    }
  }
  const lead = /^(-?0x[\da-fA-F_]+|-?\d[\d_.]*(?:e[+-]?\d+)?|'[^']*'|true|false|undefined|Infinity)(?=\s|$|[:(,])/.exec(s);
  if (lead === null) return { ok: false };
  return { ok: true, value: evalJs(lead[1] as string) };
}

function instrument(source: string): string {
  const code = source.replace(/import\s*\{([^}]*)\}\s*from\s*'@outpost\/lorawan';/g, (_m, names: string) => `const {${names.replace(/\s+/g, ' ')}} = __lib;`);
  const lines = code.split('\n').map((line) => {
    const imp = /^import\s*\{([^}]*)\}\s*from\s*'@outpost\/lorawan';\s*$/.exec(line);
    if (imp !== null) return `const {${imp[1]}} = __lib;`;
    const m = /^(\s*)(.+?);\s*\/\/\s*(.+)$/.exec(line);
    if (m === null || /^(const|let|import|if|for|return)\b/.test((m[2] ?? '').trim())) return line;
    const lit = literal(m[3] ?? '');
    if (!lit.ok) return line;
    return `${m[1]}__check(${m[2]}, ${JSON.stringify(m[3]?.trim())});`;
  });
  return lines.join('\n');
}

describe('TSDoc @example blocks run and their stated results hold', () => {
  afterAll(() => {
    // guards against the instrumentation silently checking nothing
    expect(total).toBeGreaterThan(40);
  });
  const all = examples();
  let total = 0;
  it('every exported value has an example', () => {
    const symbols = new Set(all.map((e) => e.symbol));
    const missing = Object.keys(lib).filter((k) => !symbols.has(k) && k !== 'VERSION' && k !== 'REQUIRED_SNR_DB');
    expect(missing).toEqual([]);
  });
  const readme = readFileSync(join(SRC, '..', 'README.md'), 'utf8');
  const synopsis = /## Synopsis\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (synopsis !== undefined) all.push({ file: 'README.md', symbol: 'Synopsis', code: synopsis });
  it('the README has a synopsis', () => expect(synopsis).toBeDefined());
  for (const ex of all) {
    it(`${ex.file}: ${ex.symbol}`, () => {
      const js = ts.transpileModule(instrument(ex.code), { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
      let checks = 0;
      const logged: unknown[][] = [];
      const check = (actual: unknown, expectedSrc: string): void => {
        const lit = literal(expectedSrc);
        if (!lit.ok) return;
        checks++;
        const want = lit.value;
        if (actual instanceof Uint8Array) expect(Array.from(actual)).toEqual(want);
        else if (want !== null && typeof want === 'object' && !Array.isArray(want)) expect(actual).toMatchObject(want as object);
        else expect(actual).toEqual(want);
      };
      new Function('__lib', '__check', 'Buffer', 'TextEncoder', 'TextDecoder', 'console', js)(lib, check, Buffer, TextEncoder, TextDecoder, { log: (...a: unknown[]) => logged.push(a) });
      total += checks;
    });
  }
});
