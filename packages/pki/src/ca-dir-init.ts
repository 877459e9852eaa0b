// Creating a CA directory (see ca-dir.ts for the layout): the key first, never over an existing
// one, each file created atomically (link() never replaces), then the directory fsynced.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PkiError } from './errors.js';
import { assertOptions } from './args.js';
import { createFleetCA, type CreateFleetCAOptions } from './certificates.js';
import { createAtomic, exists, syncDir, writeAtomic } from './atomic-files.js';
import { createRevocationList } from './crl.js';
import { sealRegistry } from './registry-seal.js';
import { CaDir, FILES, checkDir, type RegistryData as RegistryFile } from './ca-dir.js';

/**
 * Creates a fleet CA in `dir` (created if missing, mode 0700): `ca.pem`, `ca.key` (mode 0600),
 * an empty `registry.json` and an empty `crl.pem`. Refuses to overwrite an existing CA.
 *
 * @throws PkiError `CA_EXISTS` when `dir` already holds a CA; TypeError / RangeError for bad options.
 * @example
 * ```ts
 * import { initCaDir } from '@outpost/pki';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const dir = join(mkdtempSync(join(tmpdir(), 'outpost-example-')), 'ca');
 * const ca = await initCaDir(dir, { commonName: 'Acme Fleet CA' });
 * ca.certificatePath === join(dir, 'ca.pem'); // true
 * ```
 */
export async function initCaDir(dir: string, options: CreateFleetCAOptions = {}): Promise<CaDir> {
  const fn = 'initCaDir';
  const root = checkDir(fn, dir);
  assertOptions(fn, options);
  await assertNoCa(fn, root);
  const ca = await createFleetCA(options);
  return writeCaDir(fn, root, ca, options.now instanceof Date ? options.now : undefined);
}

/** Internal: refuses a directory that already holds (part of) a CA. */
export async function assertNoCa(fn: string, root: string): Promise<void> {
  for (const f of [FILES.cert, FILES.key, FILES.registry]) {
    if (await exists(join(root, f))) throw new PkiError('CA_EXISTS', `${fn}: ${join(root, f)} exists; refusing to overwrite a CA (use another directory)`);
  }
}

/** Internal: writes a new CA's files (the key first, never over an existing one) and opens it. */
export async function writeCaDir(
  fn: string,
  root: string,
  ca: { readonly certificatePem: string; readonly privateKeyPem: string; readonly chainPem?: string; readonly rootPem?: string },
  now: Date | undefined,
): Promise<CaDir> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  try {
    await createAtomic(join(root, FILES.key), ca.privateKeyPem, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new PkiError('CA_EXISTS', `${fn}: ${join(root, FILES.key)} exists; refusing to overwrite a CA`);
    throw err;
  }
  await createAtomic(join(root, FILES.cert), ca.certificatePem, 0o644);
  if (ca.chainPem !== undefined && ca.rootPem !== undefined) {
    await createAtomic(join(root, FILES.chain), ca.chainPem, 0o644);
    await createAtomic(join(root, FILES.root), ca.rootPem, 0o644);
  }
  const registry: RegistryFile = { version: 1, crlNumber: 1, devices: {}, keys: {} };
  const crl = await createRevocationList({ ca, revoked: [], crlNumber: 1, ...(now === undefined ? {} : { now }) });
  await writeAtomic(join(root, FILES.crl), crl);
  await createAtomic(join(root, FILES.registry), sealRegistry(registry), 0o644);
  await syncDir(root);
  return new CaDir(root, ca.certificatePem, ca.chainPem ?? '', ca.rootPem ?? ca.certificatePem);
}

