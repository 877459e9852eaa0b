// Executes every TSDoc `@example` in src/ and the README synopsis: imports from '@outpost/ota'
// are bound to the package, and each line `EXPR; // VALUE` whose VALUE parses as a JS literal
// becomes an assertion, so documented results cannot drift. (Until session 5 the examples were
// only imported, so a wrong stated result would have passed.)
import { join } from 'node:path';
import { describeDocExamples } from '@outpost/test-peers';
import * as lib from '../src/index.js';

describeDocExamples({
  root: join(import.meta.dirname, '..'),
  lib,
  specifier: '@outpost/ota',
  minAssertions: 40,
  // Names shown in the examples of the functions that use them, not in examples of their own.
  exempt: [
    'MANIFEST_CONTENT_TYPE', 'DEFAULT_MAX_MANIFEST_BYTES', 'parseCose', 'decodeTrustStore', 'KEYSET_CONTENT_TYPE', 'ROOT_CONTENT_TYPE',
    'DEFAULT_MAX_ROOT_BYTES', 'TIMESTAMP_CONTENT_TYPE', 'DEFAULT_MAX_TIMESTAMP_BYTES', 'BOOT_STATE_FILE', 'AGENT_JOURNAL_FILE',
  ],
});
