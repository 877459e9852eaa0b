// Executes every TSDoc `@example` in src/mqtt-sn/: imports from '@outpost/device-sdk/mqtt-sn'
// are bound to the module, and each line `EXPR; // VALUE` whose VALUE parses as a JS literal
// becomes an assertion. Examples that need a live gateway or network are listed in NETWORKED
// (their behaviour is covered by the Mosquitto tests) and are type-checked only.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import * as lib from '../src/mqtt-sn/index.js';

const SRC = join(import.meta.dirname, '..', 'src', 'mqtt-sn');
const NETWORKED = new Set(['MqttSnClient', 'connectMqttSn', 'publishQoSMinus1', 'searchGateway', 'MqttSnGateway']);

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
  let s = src.trim();
  if (s.startsWith('Uint8Array ')) s = s.slice('Uint8Array '.length);
  if (!/^[[{'"\d-]|^(true|false|undefined|null)\b/.test(s)) return { ok: false };
  try {
    return { ok: true, value: new Function(`return (${s});`)() as unknown };
  } catch {
    return { ok: false };
  }
}

function instrument(source: string): string {
  return source
    .replace(/import\s+type\s*\{[^}]*\}\s*from\s*'@outpost\/device-sdk\/mqtt-sn';/g, '')
    .replace(/import\s*\{([^}]*)\}\s*from\s*'@outpost\/device-sdk\/mqtt-sn';/g, (_m, names: string) => `const {${names.replace(/\btype\s+\w+,?/g, '')}} = __lib;`)
    .split('\n')
    .map((line) => {
      const m = /^(\s*)(.+?);\s*\/\/\s*(.+)$/.exec(line);
      if (m === null || /^(const|let|import|if|for|return|await)\b/.test((m[2] ?? '').trim())) return line;
      if (!literal(m[3] ?? '').ok) return line;
      return `${m[1]}__check(${m[2]}, ${JSON.stringify(m[3]?.trim())});`;
    })
    .join('\n');
}

describe('TSDoc @example blocks of the MQTT-SN module run and their stated results hold', () => {
  let total = 0;
  afterAll(() => {
    expect(total).toBeGreaterThan(20); // guards against the instrumentation checking nothing
  });
  const all = examples();
  it('every export has an example', () => {
    const symbols = new Set(all.map((e) => e.symbol));
    const exported = Object.keys(lib);
    expect(exported.filter((k) => !symbols.has(k))).toEqual([]);
    expect([...NETWORKED].filter((k) => !symbols.has(k))).toEqual([]);
  });
  for (const ex of all.filter((e) => !NETWORKED.has(e.symbol))) {
    it(`${ex.file}: ${ex.symbol}`, () => {
      const js = ts.transpileModule(instrument(ex.code), { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
      const check = (actual: unknown, expectedSrc: string): void => {
        const lit = literal(expectedSrc);
        if (!lit.ok) return;
        total++;
        if (actual instanceof Uint8Array) expect(Array.from(actual)).toEqual(lit.value);
        else expect(actual).toEqual(lit.value);
      };
      new Function('__lib', '__check', js)(lib, check);
    });
  }
});
