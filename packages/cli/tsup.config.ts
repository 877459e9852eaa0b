import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared.config.js';

// The library entry and the `outpost` binary; declarations only for the library.
export default defineConfig(packageBuild(['src/index.ts', 'src/main.ts'], { dts: { entry: 'src/index.ts' } }));
