// Executes every TSDoc `@example` in src/coap/ against a live libcoap server: imports from
// '@outpost/device-sdk/coap' are bound to the module, `client`, `serverUrl`, `secureUrl` and
// `deviceKey` are in scope, and each line `EXPR; // VALUE` whose VALUE parses as a JS literal
// becomes an assertion, so the documented results cannot drift from the code.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lib from '../src/coap/index.js';
import { startCoapServer, type CoapServer } from './fixtures/coap-server.js';

const SRC = join(import.meta.dirname, '..', 'src', 'coap');

interface Example { readonly file: string; readonly symbol: string; readonly code: string }

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : f.endsWith('.ts') ? [join(dir, f)] : []));
}

function examples(): Example[] {
  const out: Example[] = [];
  for (const file of files(SRC)) {
    const text = readFileSync(file, 'utf8');
    const re = /@example\s*\n((?:\s*\*.*\n)*?)\s*\*\/\s*\n\s*(?:export\s+)?(?:declare\s+)?(?:async\s+)?(?:function|class|const|type|interface)\s+(\w+)/g;
    for (const m of text.matchAll(re)) {
      const body = (m[1] ?? '').split('\n').map((l) => l.replace(/^\s*\*\s?/, '')).join('\n');
      const code = /```ts\n([\s\S]*?)```/.exec(body)?.[1];
      if (code !== undefined) out.push({ file: file.slice(SRC.length + 1), symbol: m[2] ?? '?', code });
    }
    // methods: `   * @example … ```ts … ``` … */  async name(` inside classes
    const mre = /@example\s*\n((?:\s*\*.*\n)*?)\s*\*\/\s*\n\s*(?:async\s+)?(\w+)\(/g;
    for (const m of text.matchAll(mre)) {
      const body = (m[1] ?? '').split('\n').map((l) => l.replace(/^\s*\*\s?/, '')).join('\n');
      const code = /```ts\n([\s\S]*?)```/.exec(body)?.[1];
      if (code !== undefined) out.push({ file: file.slice(SRC.length + 1), symbol: `${m[2] ?? '?'}()`, code });
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
    .split('\n')
    .map((line) => {
      if (/^import\s+type\b/.test(line)) return '';
      const imp = /^import\s*\{([^}]*)\}\s*from\s*'@outpost\/device-sdk\/coap';\s*$/.exec(line);
      if (imp !== null) {
        const names = (imp[1] ?? '').split(',').map((n) => n.trim()).filter((n) => n !== '' && !n.startsWith('type '));
        return names.length === 0 ? '' : `const { ${names.join(', ')} } = __lib;`;
      }
      const m = /^(\s*)(.+?);\s*\/\/\s*(.+)$/.exec(line);
      if (m === null || /^(const|let|import|if|for|return|await)\b/.test((m[2] ?? '').trim())) return line;
      if (!literal(m[3] ?? '').ok) return line;
      return `${m[1]}__check(${m[2]}, ${JSON.stringify(m[3]?.trim())});`;
    })
    .join('\n');
}

const KEY = 'example-device-key';
let server: CoapServer;
let client: lib.CoapClient;
beforeAll(async () => {
  server = await startCoapServer({ key: KEY });
  client = await lib.connectCoap(server.url, { insecure: true });
});
afterAll(async () => {
  await client?.close();
  await server?.stop();
});

describe('TSDoc @example blocks in src/coap run and their stated results hold', () => {
  const all = examples();
  let total = 0;
  afterAll(() => {
    expect(total).toBeGreaterThan(20); // guards against the instrumentation checking nothing
  });
  it('every exported value has an example', () => {
    const symbols = new Set(all.map((e) => e.symbol));
    expect(Object.keys(lib).filter((k) => !symbols.has(k))).toEqual([]);
  });
  for (const ex of all) {
    it(`${ex.file}: ${ex.symbol}`, async () => {
      const js = ts.transpileModule(instrument(ex.code), { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
      let checks = 0;
      const check = (actual: unknown, expectedSrc: string): void => {
        const lit = literal(expectedSrc);
        if (!lit.ok) return;
        checks++;
        const want = lit.value;
        if (actual instanceof Uint8Array) expect(Array.from(actual)).toEqual(want);
        else if (want !== null && typeof want === 'object' && !Array.isArray(want)) expect(actual).toMatchObject(want as object);
        else expect(actual).toEqual(want);
      };
      const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<void>;
      const run = new AsyncFunction('__lib', '__check', 'client', 'serverUrl', 'secureUrl', 'deviceKey', 'console', js);
      await run(lib, check, client, server.url, server.secureUrl, KEY, { log: () => {} });
      total += checks;
    });
  }
});
