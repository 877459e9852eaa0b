import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// Slow, soak and crash suites (`*.slow.test.ts`): run by CI through `pnpm test:slow`.
// (Spread, not mergeConfig: merging would concatenate the include/exclude lists.)
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['packages/*/test/**/*.slow.test.ts', 'examples/*/test/**/*.slow.test.ts'],
    exclude: ['**/node_modules/**'],
    testTimeout: 600_000,
    passWithNoTests: true,
  },
});
