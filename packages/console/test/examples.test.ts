// Executes every TSDoc `@example` in src/ and the README synopsis: imports from '@outpost/console'
// are bound to the package, and each line `EXPR; // VALUE` whose VALUE parses as a JS literal
// becomes an assertion, so documented results cannot drift.
import { join } from 'node:path';
import { describeDocExamples } from '@outpost/test-peers';
import * as lib from '../src/index.js';

describeDocExamples({ root: join(import.meta.dirname, '..'), lib, specifier: '@outpost/console', minAssertions: 8 });
