import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared.config.js';

export default defineConfig(packageBuild({ index: 'src/index.ts', 'jobs/index': 'src/jobs/index.ts' }));
