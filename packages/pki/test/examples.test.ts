// Executes every TSDoc `@example` in src/ and the README synopsis: imports from '@outpost/pki'
// are bound to the package, imports from '@outpost/device-sdk' (the device-side checks the
// examples show a certificate passing) to that package, node: imports are loaded, and each line
// `EXPR; // VALUE` is asserted. Examples that write a CA directory make it under os.tmpdir(),
// pointed here at a scratch directory removed afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { describeDocExamples } from '@outpost/test-peers';
import * as deviceSdk from '@outpost/device-sdk';
import * as lib from '../src/index.js';

let scratch = '';
const savedTmp = process.env['TMPDIR'];
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'outpost-pki-examples-'));
  process.env['TMPDIR'] = scratch;
});
afterAll(() => {
  if (savedTmp === undefined) delete process.env['TMPDIR'];
  else process.env['TMPDIR'] = savedTmp;
  rmSync(scratch, { recursive: true, force: true });
});

describeDocExamples({
  root: join(import.meta.dirname, '..'),
  lib,
  specifier: '@outpost/pki',
  peers: { '@outpost/device-sdk': deviceSdk },
  minAssertions: 15,
});
