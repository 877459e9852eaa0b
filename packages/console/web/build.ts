// Bundles the console's page with esbuild (already in the repo through tsup): app.ts with
// Preact, htm and uPlot into one ES module, app.css with uPlot's stylesheet into one file, and
// the two HTML pages copied. `tsx web/build.ts OUTDIR` writes them (the package build puts them
// in dist/web); the server calls buildWeb() in memory when run from source.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const here = import.meta.dirname;

/** The page's files by name: index.html, login.html, login.css, app.js, app.css. */
export async function buildWeb(): Promise<Map<string, Uint8Array>> {
  const r = await build({
    entryPoints: { app: join(here, 'app.ts'), 'app-style': join(here, 'app.css') },
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    write: false,
    outdir: '/out',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const out = new Map<string, Uint8Array>();
  for (const f of r.outputFiles) {
    const name = f.path.endsWith('.js') ? 'app.js' : 'app.css';
    out.set(name, f.contents);
  }
  for (const name of ['index.html', 'login.html', 'login.css']) out.set(name, readFileSync(join(here, name)));
  return out;
}

if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  const dir = process.argv[2] ?? join(here, '..', 'dist', 'web');
  mkdirSync(dir, { recursive: true });
  for (const [name, body] of await buildWeb()) writeFileSync(join(dir, name), body);
}
