// Every `@example` in src/ and the README synopsis is executed: extracted, pointed at the
// sources, imported as a module.
import { join } from 'node:path';
import { describeImportedExamples } from '@outpost/test-peers';

describeImportedExamples({ root: join(import.meta.dirname, '..'), specifier: '@outpost/edge-buffer' });
