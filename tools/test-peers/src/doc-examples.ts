/**
 * Runs the TSDoc `@example` blocks of a package as tests, so documented code and documented
 * results cannot drift from the implementation. Shared by every package's examples test.
 *
 * Two ways to run an example:
 * - `instrumentExample` + `runExample`: imports from the package are bound to the module object,
 *   and each line `EXPR; // VALUE` whose VALUE parses as a JS literal becomes an assertion.
 * - `importExample`: the example is written to a file (imports rewritten to the sources) and
 *   imported as a module, for examples that only need to run.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** One `@example` block: the file it is in, the symbol it documents, its code. */
export interface Example {
  readonly file: string;
  readonly symbol: string;
  readonly code: string;
}

function sourceFiles(dir: string, recursive: boolean): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return recursive ? sourceFiles(p, true) : [];
    return f.endsWith('.ts') ? [p] : [];
  });
}

function blocks(text: string, re: RegExp, name: (m: RegExpMatchArray) => string): Array<{ symbol: string; code: string }> {
  const out: Array<{ symbol: string; code: string }> = [];
  for (const m of text.matchAll(re)) {
    const body = (m[1] ?? '').split('\n').map((l) => l.replace(/^\s*\*\s?/, '')).join('\n');
    const code = /```ts\n([\s\S]*?)```/.exec(body)?.[1];
    if (code !== undefined) out.push({ symbol: name(m), code });
  }
  return out;
}

/**
 * The `@example` blocks of the `.ts` files in `dir`, each with the declaration it documents
 * (function, class, const, type, interface; with `methods`, also class methods as `name()`).
 * With `anywhere`, every block counts, named `file#n` (members of interfaces included).
 */
export function extractExamples(dir: string, options: { recursive?: boolean; methods?: boolean; anywhere?: boolean } = {}): Example[] {
  const out: Example[] = [];
  if (options.anywhere === true) {
    for (const path of sourceFiles(dir, options.recursive === true)) {
      const file = path.slice(dir.length + 1);
      let n = 0;
      for (const m of readFileSync(path, 'utf8').matchAll(/@example\s*\n\s*\*\s*```ts\n([\s\S]*?)\n\s*\*\s*```/g)) {
        out.push({ file, symbol: `${file}#${n++}`, code: (m[1] ?? '').split('\n').map((l) => l.replace(/^\s*\* ?/, '')).join('\n') });
      }
    }
    return out;
  }
  const decl = /@example\s*\n((?:\s*\*.*\n)*?)\s*\*\/\s*\n\s*(?:export\s+)?(?:declare\s+)?(?:async\s+)?(?:function|class|const|type|interface)\s+(\w+)/g;
  const method = /@example\s*\n((?:\s*\*.*\n)*?)\s*\*\/\s*\n\s*(?:async\s+)?(\w+)\(/g;
  for (const path of sourceFiles(dir, options.recursive === true)) {
    const text = readFileSync(path, 'utf8');
    const file = path.slice(dir.length + 1);
    for (const b of blocks(text, decl, (m) => m[2] ?? '?')) out.push({ file, ...b });
    if (options.methods === true) for (const b of blocks(text, method, (m) => `${m[2] ?? '?'}()`)) out.push({ file, ...b });
  }
  return out;
}

/** The `## Synopsis` code block of a README, if it has one. */
export function readmeSynopsis(readmePath: string): string | undefined {
  return /## Synopsis\n\n```ts\n([\s\S]*?)```/.exec(readFileSync(readmePath, 'utf8'))?.[1];
}

/**
 * A JS literal at the start of a `// VALUE` comment. With `allowProse`, a literal followed by
 * words (`2793.472 (51 bytes at SF12)`) counts too.
 */
export function literalValue(src: string, options: { allowProse?: boolean } = {}): { ok: true; value: unknown } | { ok: false } {
  let s = src.trim();
  if (s.startsWith('Uint8Array ')) s = s.slice('Uint8Array '.length);
  const evalJs = (x: string): unknown => new Function(`return (${x});`)() as unknown;
  if (/^[[{'"\d-]|^(true|false|undefined|null|Infinity)\b/.test(s)) {
    try {
      return { ok: true, value: evalJs(s) };
    } catch {
      if (options.allowProse !== true) return { ok: false };
    }
  }
  if (options.allowProse !== true) return { ok: false };
  const lead = /^(-?0x[\da-fA-F_]+|-?\d[\d_.]*(?:e[+-]?\d+)?|'[^']*'|true|false|undefined|Infinity)(?=\s|$|[:(,])/.exec(s);
  return lead === null ? { ok: false } : { ok: true, value: evalJs(lead[1] as string) };
}

/** How an example is rewritten and checked. */
export interface InstrumentOptions {
  /** The package specifier whose imports are bound to `__lib`, e.g. `'@outpost/lorawan'`. */
  readonly specifier: string;
  /** Also load `node:` imports (through `__import`). */
  readonly nodeImports?: boolean;
  /** See {@link literalValue}. */
  readonly allowProse?: boolean;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Rewrites an example: package imports → `__lib`, `EXPR; // VALUE` → `__check(EXPR, "VALUE")`. */
export function instrumentExample(source: string, o: InstrumentOptions): string {
  // Package imports (possibly over several lines) become a destructuring of __lib.
  const libImport = new RegExp(`import\\s*(type\\s*)?\\{([^}]*)\\}\\s*from\\s*'${escapeRe(o.specifier)}';`, 'g');
  const bound = source.replace(libImport, (_m, type: string | undefined, list: string) => {
    if (type !== undefined) return '';
    const names = list.split(',').map((n) => n.trim()).filter((n) => n !== '' && !n.startsWith('type '));
    return names.length === 0 ? '' : `const { ${names.join(', ')} } = __lib;`;
  });
  return bound
    .split('\n')
    .map((line) => {
      if (/^import\s+type\b/.test(line)) return '';
      const node = o.nodeImports === true ? /^import\s*\{([^}]*)\}\s*from\s*'(node:[a-z/]+)';\s*$/.exec(line) : null;
      if (node !== null) return `const {${node[1]}} = await __import('${node[2]}');`;
      const m = /^(\s*)(.+?);\s*\/\/\s*(.+)$/.exec(line);
      if (m === null || /^(const|let|import|if|for|return)\b/.test((m[2] ?? '').trim())) return line;
      if (!literalValue(m[3] ?? '', { allowProse: o.allowProse === true }).ok) return line;
      return `${m[1]}__check(${m[2]}, ${JSON.stringify(m[3]?.trim())});`;
    })
    .join('\n');
}

/** How stated results are compared: objects equal, or at least the stated properties. */
export type ObjectComparison = 'equal' | 'match';

/**
 * Runs an instrumented example with `__lib` bound to `lib` and extra bindings in scope; returns
 * how many stated results it checked.
 */
export async function runExample(
  code: string,
  lib: object,
  o: InstrumentOptions & { readonly objects?: ObjectComparison; readonly bindings?: Record<string, unknown> },
): Promise<number> {
  const js = ts
    .transpileModule(`export {}; ${instrumentExample(code, o)}`, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: false } })
    .outputText.replace(/^export \{\};?/m, '');
  let checks = 0;
  const check = (actual: unknown, expectedSrc: string): void => {
    const lit = literalValue(expectedSrc, { allowProse: o.allowProse === true });
    if (!lit.ok) return;
    checks++;
    const want = lit.value;
    if (actual instanceof Uint8Array) expect(Array.from(actual)).toEqual(want);
    else if (o.objects === 'match' && want !== null && typeof want === 'object' && !Array.isArray(want)) expect(actual).toMatchObject(want as object);
    else expect(actual).toEqual(want);
  };
  const bindings = { console: { log: () => undefined }, ...o.bindings };
  const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<void>;
  const fn = new AsyncFunction('__lib', '__check', '__import', ...Object.keys(bindings), js);
  await fn(lib, check, (m: string) => import(m), ...Object.values(bindings));
  return checks;
}

/**
 * Writes an example to `outDir` with `specifier` imports pointed at `entry`, imports it as a
 * module, and removes the file again.
 */
export async function importExample(name: string, code: string, o: { specifier: string; entry: string; outDir: string }): Promise<void> {
  mkdirSync(o.outDir, { recursive: true });
  const path = join(o.outDir, `${name.replace(/[^a-z0-9]/gi, '_')}.ts`);
  writeFileSync(path, `${code.replaceAll(`'${o.specifier}'`, `'${o.entry.replaceAll('\\', '/')}'`)}\nexport {};\n`);
  try {
    await import(/* @vite-ignore */ path);
  } finally {
    rmSync(path, { force: true });
  }
}

/**
 * The whole examples suite for a package whose examples only need to run: every `@example` in
 * `root/src` and the README synopsis is imported as a module (with `os.tmpdir()` pointed at a
 * scratch directory removed afterwards), and every name exported by `src/index.ts` must appear
 * in some example.
 */
export function describeImportedExamples(o: { root: string; specifier: string }): void {
  const src = join(o.root, 'src');
  const all: Array<[string, string]> = [
    ...extractExamples(src, { anywhere: true }).map((e): [string, string] => [e.symbol, e.code]),
    ['README synopsis', readmeSynopsis(join(o.root, 'README.md')) ?? 'throw new Error("no synopsis in README")'],
  ];
  let scratch = '';
  const savedTmp = process.env['TMPDIR'];
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-examples-'));
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
      const names = [...index.matchAll(/export (?:type )?\{([^}]*)\}/g)].flatMap((m) => (m[1] ?? '').split(',').map((s) => s.trim()).filter(Boolean));
      const joined = all.map(([, c]) => c).join('\n');
      expect(names.filter((n) => !new RegExp(`\\b${n}\\b`).test(joined))).toEqual([]);
    });
    it.each(all)('%s runs', async (name, code) => {
      await importExample(name, code, { specifier: o.specifier, entry: join(src, 'index.js'), outDir: join(o.root, '.tmp', 'examples') });
    });
  });
}

/**
 * The examples suite of a package whose examples state their results: every TSDoc `@example`
 * under `root/src` (methods included) and the README synopsis run through `runExample` against
 * `lib` (node: imports loaded, imports of `peers` bound to the given modules), each line
 * `EXPR; // VALUE` checked; every exported value of `lib` must have an example, and the suite
 * fails if fewer than `minAssertions` results were checked in all (so an instrumentation that
 * silently checks nothing cannot pass).
 */
export function describeDocExamples(o: {
  root: string;
  lib: Record<string, unknown>;
  specifier: string;
  peers?: Readonly<Record<string, Record<string, unknown>>>;
  minAssertions?: number;
  exempt?: readonly string[];
  /** Also read the examples of `src`'s sub-folders. Default false. */
  recursive?: boolean;
  /** The folder under `root` whose examples run (a subpath export's sources, e.g. 'src/jobs'). Default 'src'. */
  srcDir?: string;
  /** Also run the README synopsis. Default true; false for a subpath (the README is its package's). */
  readme?: boolean;
}): void {
  const src = join(o.root, o.srcDir ?? 'src');
  const readme = join(o.root, 'README.md');
  const peers = o.peers ?? {};
  const bindPeers = (code: string): { code: string; bindings: Record<string, unknown> } => {
    const bindings: Record<string, unknown> = {};
    const out = code.replace(/^import\s*\{([^}]*)\}\s*from\s*'([^']+)';\n/gm, (line, list: string, spec: string) => {
      const mod = peers[spec];
      if (mod === undefined) return line;
      for (const name of list.split(',').map((n) => n.trim()).filter((n) => n !== '')) {
        if (!(name in mod)) throw new Error(`${spec} has no export ${name}`);
        bindings[name] = mod[name];
      }
      return '';
    });
    return { code: out, bindings };
  };
  describe('TSDoc @example blocks run and their stated results hold', () => {
    let total = 0;
    afterAll(() => {
      expect(total).toBeGreaterThan(o.minAssertions ?? 15);
    });
    const all = extractExamples(src, { methods: true, recursive: o.recursive === true });
    it('every exported value has an example', () => {
      const symbols = new Set(all.map((e) => e.symbol));
      const exempt = new Set(['VERSION', ...(o.exempt ?? [])]);
      expect(Object.keys(o.lib).filter((k) => !symbols.has(k) && !exempt.has(k))).toEqual([]);
    });
    let hasReadme = false;
    try {
      hasReadme = statSync(readme).isFile();
    } catch {
      hasReadme = false;
    }
    if (hasReadme && o.readme !== false) {
      const synopsis = readmeSynopsis(readme);
      it('the README has a synopsis', () => expect(synopsis).toBeDefined());
      if (synopsis !== undefined) all.push({ file: 'README.md', symbol: 'Synopsis', code: synopsis });
    }
    for (const ex of all) {
      it(`${ex.file}: ${ex.symbol}`, async () => {
        const { code, bindings } = bindPeers(ex.code);
        total += await runExample(code, o.lib, { specifier: o.specifier, allowProse: true, objects: 'match', nodeImports: true, bindings });
      });
    }
  });
}
