// Crash at every file operation of a fixed workload (and of recovery itself); discard everything
// not fsynced; recover; check nothing acknowledged is lost, nothing is reordered or duplicated.
import { describe, expect, it } from 'vitest';
import { SimFS } from './helpers/sim-fs.js';
import { countOps, crashEveryOp, newLog, WORKLOAD, workload } from './helpers/crash.js';

describe('crash points', () => {
  it('the workload covers ≥200 appends, ≥3 rotations, 150 acks, ≥2 segment deletes', async () => {
    const log = newLog();
    await workload(new SimFS(), 'fsync', log);
    expect(log.appended.size).toBe(WORKLOAD.appends);
    expect(log.acks).toBe(WORKLOAD.acks);
    const ops = await countOps('fsync');
    expect(ops.created).toBeGreaterThanOrEqual(4);
    // Segment preallocation (the default) is in the workload: rotations into prepared files.
    expect(ops.prepared).toBeGreaterThanOrEqual(2);
    expect(ops.deleted).toBeGreaterThanOrEqual(2);
  });

  // The slow suite (crash-point.slow.test.ts) crashes at every recovery operation of every crash point.
  it("'fsync': every operation, and every recovery operation for every 5th crash point", async () => {
    const checked = await crashEveryOp('fsync', 1, 5);
    expect(checked).toBeGreaterThan(1000);
  }, 180_000); // thousands of simulated crashes: ~10 s on a quiet 2-core machine, several times that under load

  it("'fsync' on a file system without writeDurable (write, then sync): every operation", async () => {
    const checked = await crashEveryOp('fsync', 1, 0, false);
    expect(checked).toBeGreaterThan(1000);
  }, 180_000);

  it("'none': every operation; the unsynced tail may go, but never order, density or bytes", async () => {
    const checked = await crashEveryOp('none', 1, 0);
    expect(checked).toBeGreaterThan(300);
  });

  it("'batch' (8 concurrent appends): every operation", async () => {
    const checked = await crashEveryOp('batch', 1, 0);
    expect(checked).toBeGreaterThan(300);
  });
});
