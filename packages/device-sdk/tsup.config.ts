import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', 'coap/index': 'src/coap/index.ts', 'mqtt-sn/index': 'src/mqtt-sn/index.ts' },
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
