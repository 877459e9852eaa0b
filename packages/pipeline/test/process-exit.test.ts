// A batch that a caller awaits must keep the process alive until it commits: a script that
// writes and awaits, with nothing else to do, exits 0 after the commit (not with code 13,
// "unsettled top-level await", and the points lost).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '@outpost/test-peers';
import { createDuckDbStore } from '../src/duckdb.js';

const tmp = tempDir('outpost-exit-');
afterAll(() => tmp.cleanup());
const script = join(import.meta.dirname, 'fixtures', 'await-write.ts');

describe('an awaited batch keeps the process alive until it commits', () => {
  for (const kind of ['lake', 'duckdb'] as const) {
    it(kind, async () => {
      const dir = join(tmp.path, kind);
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=@outpost/source', script, kind, dir], { encoding: 'utf8', timeout: 60_000 });
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('committed');
      expect(r.status).toBe(0);
      const db = await createDuckDbStore({ path: ':memory:' });
      try {
        const rows = kind === 'lake' ? (await db.lakeSummary(dir)).reduce((a, p) => a + p.rows, 0) : 1;
        expect(rows).toBe(1);
      } finally {
        await db.close();
      }
    });
  }
});
