// Torn writes: the in-flight and unsynced writes survive per 512-byte sector at random, the file
// length may or may not include them, and unsynced bytes past the durable length are garbage.
import { describe, expect, it } from 'vitest';
import { SimFS, rng } from './helpers/sim-fs.js';
import { newLog, recoverAndCheck, runUntilCrash, workload } from './helpers/crash.js';

async function tornEveryOp(durability: 'fsync' | 'batch', seeds: number, stride: number): Promise<{ checked: number; truncations: number }> {
  const probe = new SimFS();
  await workload(probe, durability, newLog());
  let checked = 0;
  let truncations = 0;
  for (let k = 1; k <= probe.ops; k += stride) {
    const fs = new SimFS();
    fs.crashAt = k;
    fs.tornOnCrash = true;
    const log = newLog();
    expect(await runUntilCrash(fs, durability, log)).toBe(true);
    for (let s = 0; s < seeds; s++) {
      const img = fs.crashImage(rng(k * 1000 + s));
      const before = [...img.entries.values()].reduce((n, i) => n + i.size, 0);
      await recoverAndCheck(img, log);
      const after = [...img.entries.values()].reduce((n, i) => n + i.size, 0);
      if (after < before) truncations++;
      checked++;
    }
  }
  return { checked, truncations };
}

describe('torn writes', () => {
  it("'batch': torn record dropped, nothing earlier lost, garbage never delivered (every op, 3 seeds)", async () => {
    const r = await tornEveryOp('batch', 3, 1);
    expect(r.checked).toBeGreaterThan(900);
    // The scenario really produced torn tails to cut (else this test would prove nothing).
    expect(r.truncations).toBeGreaterThan(50);
  });

  it("'fsync': every 3rd op, 2 seeds", async () => {
    const r = await tornEveryOp('fsync', 2, 3);
    expect(r.checked).toBeGreaterThan(800);
    expect(r.truncations).toBeGreaterThan(50);
  });
});
