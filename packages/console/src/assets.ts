// The page's files. A built package ships them in dist/web (made by `web/build.ts` at build
// time); run from source (tests, `pnpm outpost`) they are bundled in memory with esbuild on
// first use. Internal.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

function fromDir(dir: string): Map<string, Asset> {
  const out = new Map<string, Asset>();
  for (const name of readdirSync(dir)) out.set(name, { type: TYPES[extname(name)] ?? 'application/octet-stream', body: readFileSync(join(dir, name)) });
  return out;
}

let cached: Promise<Map<string, Asset>> | undefined;

/** The page's files by name (`index.html`, `login.html`, `app.js`, `app.css`). */
export function loadAssets(dir?: string): Promise<Map<string, Asset>> {
  if (dir !== undefined) return Promise.resolve(fromDir(dir));
  cached ??= (async () => {
    const built = fileURLToPath(new URL('./web/', import.meta.url));
    if (existsSync(join(built, 'app.js'))) return fromDir(built);
    // From source: bundle now (web/build.ts needs the package's dev dependency esbuild).
    const builder = new URL('../web/build.ts', import.meta.url).href;
    const { buildWeb } = (await import(builder)) as { buildWeb(): Promise<Map<string, Uint8Array>> };
    const files = await buildWeb();
    const out = new Map<string, Asset>();
    for (const [name, body] of files) out.set(name, { type: TYPES[extname(name)] ?? 'application/octet-stream', body: Buffer.from(body) });
    return out;
  })();
  cached.catch(() => { cached = undefined; });
  return cached;
}
