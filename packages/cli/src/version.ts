// The CLI's version, read from its own package.json at run time: `src/` and `dist/` both sit
// one level below the package root, so the same relative path works from source and build.
import { createRequire } from 'node:module';

/** The `version` field of @outpost/cli's package.json. */
export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
