// Executes every TSDoc `@example` in src/ and the README synopsis: imports from
// '@outpost/edge-aggregate' are bound to the package, and each line `EXPR; // VALUE` whose VALUE
// parses as a JS literal becomes an assertion, so documented results cannot drift. The synopsis
// ends in an @outpost/edge-buffer sink with cbor-x: those imports are bound to the real modules.
import { join } from 'node:path';
import * as edgeBuffer from '@outpost/edge-buffer';
import { describeDocExamples } from '@outpost/test-peers';
import * as cborX from 'cbor-x';
import * as lib from '../src/index.js';

describeDocExamples({
  root: join(import.meta.dirname, '..'),
  lib,
  specifier: '@outpost/edge-aggregate',
  peers: { 'cbor-x': cborX, '@outpost/edge-buffer': edgeBuffer },
});
