// A damaged CA registry: every bit of registry.json flipped in turn. Opening the CA must give
// back exactly the registry that was written or fail with a PkiError — never a different one.
// A flipped hex digit in a revoked certificate's serial would otherwise drop it from the next
// CRL and let the revoked device back in; a flipped device id or crlNumber would do the same
// kind of quiet harm.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '@outpost/test-peers';
import { initCaDir, openCaDir, PkiError } from '../src/index.js';

const tmp = tempDir('outpost-registry-damage-');
afterAll(() => tmp.cleanup());

describe('registry damage', () => {
  it('every bit of registry.json flipped: the same registry, or a PkiError', async () => {
    const dir = join(tmp.path, 'ca');
    const ca = await initCaDir(dir, { commonName: 'Damage CA' });
    await ca.issueDevice({ deviceId: 'pump-1' });
    await ca.issueDevice({ deviceId: 'lost-7' });
    await ca.revokeDevice('lost-7');
    const file = join(dir, 'registry.json');
    const good = readFileSync(file);
    const original = JSON.stringify(ca.devices());
    const changed: string[] = [];
    const wrongError: string[] = [];
    // Every bit of every 3rd byte and the low bit of the rest (the file is ~2 KB; each open is a read).
    for (let i = 0; i < good.length; i++) {
      for (const bit of i % 3 === 0 ? [0, 1, 2, 3, 4, 5, 6, 7] : [0]) {
        const bad = Buffer.from(good);
        bad[i] = bad[i]! ^ (1 << bit);
        writeFileSync(file, bad);
        const got = await openCaDir(dir).then((c) => JSON.stringify(c.devices())).catch((e: unknown) => e);
        if (got instanceof PkiError) continue;
        if (got instanceof Error) wrongError.push(`byte ${i} bit ${bit}: ${got.name}`);
        else if (got !== original) changed.push(`byte ${i} bit ${bit} (${JSON.stringify(String.fromCharCode(good[i]!))})`);
      }
    }
    writeFileSync(file, good);
    expect(wrongError.slice(0, 3), 'damage reported without a PkiError').toEqual([]);
    expect(changed.slice(0, 8), `${changed.length} flips read back as another registry`).toEqual([]);
  }, 60_000);
});
