// The exhaustive version of crash-point.test.ts and torn-write.test.ts: every recovery operation of
// every crash point, and more torn-write seeds.
import { describe, expect, it } from 'vitest';
import { crashEveryOp, newLog, recoverAndCheck, runUntilCrash, workload } from './helpers/crash.js';
import { SimFS, rng } from './helpers/sim-fs.js';

describe('crash points (exhaustive)', () => {
  it.each(['fsync', 'batch', 'none'] as const)("'%s': every op × every recovery op", async (durability) => {
    const checked = await crashEveryOp(durability, 1, 1);
    expect(checked).toBeGreaterThan(durability === 'fsync' ? 10_000 : 1_000);
  });

  it("torn writes, 'batch', every op × 12 seeds", async () => {
    const probe = new SimFS();
    await workload(probe, 'batch', newLog());
    let checked = 0;
    for (let k = 1; k <= probe.ops; k++) {
      const fs = new SimFS();
      fs.crashAt = k;
      fs.tornOnCrash = true;
      const log = newLog();
      expect(await runUntilCrash(fs, 'batch', log)).toBe(true);
      for (let s = 0; s < 12; s++) {
        await recoverAndCheck(fs.crashImage(rng(k * 7919 + s)), log);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(3000);
  });
});
