// Every `@example` in src/ is executed: extracted, pointed at the sources, imported.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const out = join(root, '.tmp', 'examples');

function examples(): Array<[string, string]> {
  const found: Array<[string, string]> = [];
  for (const file of readdirSync(src).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(src, file), 'utf8');
    const re = /@example\s*\n\s*\*\s*```ts\n([\s\S]*?)\n\s*\*\s*```/g;
    let i = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const code = m[1]!.split('\n').map((l) => l.replace(/^\s*\* ?/, '')).join('\n');
      found.push([`${file}#${i++}`, code]);
    }
  }
  return found;
}

const readme = /## Synopsis\n\n```ts\n([\s\S]*?)\n```/.exec(readFileSync(join(root, 'README.md'), 'utf8'));
const all: Array<[string, string]> = [...examples(), ['README synopsis', readme?.[1] ?? 'throw new Error("no synopsis in README")']];

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
    const withoutExample = names.filter((n) => !new RegExp(`\\b${n}\\b`).test(joined));
    expect(withoutExample).toEqual([]);
  });

  it.each(all)('%s runs', async (name, code) => {
    mkdirSync(out, { recursive: true });
    const path = join(out, `${name.replace(/[^a-z0-9]/gi, '_')}.ts`);
    const body = code.replaceAll("'@outpost/ota'", `'${join(src, 'index.js').replaceAll('\\', '/')}'`);
    writeFileSync(path, `${body}\nexport {};\n`);
    try {
      await import(/* @vite-ignore */ path);
    } finally {
      rmSync(path, { force: true });
    }
  });
});
