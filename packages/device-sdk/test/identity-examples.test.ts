// The TSDoc @example blocks of the identity modules that touch no fixed path run here, and every
// stated result (`EXPR; // VALUE`) is asserted. (ca-dir.ts and broker-files.ts examples write to
// fixed /tmp paths and are run with fresh directories in pki-ca-dir.test.ts.)
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { extractExamples, runExample } from '@outpost/test-peers';
import * as lib from '@outpost/device-sdk';

const dir = join(import.meta.dirname, '..', 'src', 'identity');
const files = new Set(['intermediate.ts', 'verify.ts', 'certificates.ts', 'server-cert.ts', 'broker-config.ts', 'crl.ts']);
const examples = extractExamples(dir).filter((e) => files.has(e.file.replace(/^.*\//, '')));

describe('identity @examples', () => {
  test('there are examples for the intermediate CA and the credential check', () => {
    const symbols = examples.map((e) => e.symbol);
    for (const s of ['createIntermediateCA', 'initIntermediateCaDir', 'checkDeviceCredentials', 'createFleetCA', 'brokerConfig']) expect(symbols).toContain(s);
  });
  test.each(examples.map((e) => [e.symbol, e] as const))('%s', async (_symbol, e) => {
    const checks = await runExample(e.code, lib, { specifier: '@outpost/device-sdk', nodeImports: true });
    expect(checks).toBeGreaterThan(0);
  });
});
