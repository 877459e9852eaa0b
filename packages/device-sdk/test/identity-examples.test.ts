// The TSDoc @example blocks of the device-side identity modules run here, and every stated
// result (`EXPR; // VALUE`) is asserted. They make their certificates with @outpost/pki (the
// fleet side, a test-only dependency: device-sdk itself imports nothing from it), bound here.
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { extractExamples, runExample } from '@outpost/test-peers';
import * as device from '@outpost/device-sdk';
import * as pki from '@outpost/pki';

const dir = join(import.meta.dirname, '..', 'src', 'identity');
const examples = extractExamples(dir);
const lib = { ...pki, ...device };

describe('identity @examples', () => {
  test('there are examples for the credential checks and the device id rule', () => {
    const symbols = examples.map((e) => e.symbol);
    for (const s of ['parseDeviceIdentity', 'checkDeviceCredentials', 'assertNotSharedCredential', 'deviceIdProblem']) expect(symbols).toContain(s);
  });
  test.each(examples.map((e) => [e.symbol, e] as const))('%s', async (_symbol, e) => {
    const code = e.code.replaceAll("from '@outpost/pki';", "from '@outpost/device-sdk';");
    const checks = await runExample(code, lib, { specifier: '@outpost/device-sdk', nodeImports: true });
    expect(checks).toBeGreaterThan(0);
  });
});
