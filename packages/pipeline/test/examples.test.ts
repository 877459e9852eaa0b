// Executes every TSDoc `@example` in src/ and the README synopsis: imports from
// '@outpost/pipeline' are bound to the package, and each line `EXPR; // VALUE` whose VALUE parses
// as a JS literal becomes an assertion, so documented results cannot drift.
import { join } from 'node:path';
import * as mqtt from 'mqtt';
import * as testPeers from '@outpost/test-peers';
import { describeDocExamples } from '@outpost/test-peers';
import * as lib from '../src/index.js';

// connectIngest, runPipeline and createPostgresSink need real peers: their examples start a
// Mosquitto or a PostgreSQL through @outpost/test-peers, bound here.
describeDocExamples({ root: join(import.meta.dirname, '..'), lib, specifier: '@outpost/pipeline', peers: { '@outpost/test-peers': testPeers, mqtt } });
