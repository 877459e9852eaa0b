import type { Options } from 'tsup';

/**
 * The build every published package shares: ESM only, declarations, source maps, Node 20.
 * Each package's `tsup.config.ts` passes its entry points (and may override a field).
 */
export function packageBuild(entry: Options['entry'] = ['src/index.ts'], overrides: Options = {}): Options {
  return { entry, format: ['esm'], dts: true, sourcemap: true, clean: true, target: 'node20', ...overrides };
}
