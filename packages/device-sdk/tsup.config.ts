import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared.config.js';

export default defineConfig(packageBuild({ index: 'src/index.ts', 'coap/index': 'src/coap/index.ts', 'mqtt-sn/index': 'src/mqtt-sn/index.ts' }));
