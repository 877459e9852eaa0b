// Executes every TSDoc `@example` in src/ and the README synopsis: imports from
// '@outpost/edge-buffer' are bound to the package, and each line `EXPR; // VALUE` whose VALUE
// parses as a JS literal becomes an assertion, so documented results cannot drift. (Until
// session 5 the examples were only imported, and the synopsis stated its drain result on a
// `console.log(…)` line, which returns undefined.)
import { join } from 'node:path';
import { describeDocExamples } from '@outpost/test-peers';
import * as lib from '../src/index.js';

describeDocExamples({ root: join(import.meta.dirname, '..'), lib, specifier: '@outpost/edge-buffer', minAssertions: 5 });
