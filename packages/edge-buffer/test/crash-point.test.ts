// Crash at every file operation of a fixed workload (and of recovery itself); discard everything
// not fsynced; recover; check nothing acknowledged is lost, nothing is reordered or duplicated.
import { describe, expect, it } from 'vitest';
import { basename } from 'node:path';
import { openBuffer } from '../src/index.js';
import { SimFS } from './helpers/sim-fs.js';
import { DIR, newLog, recoverAndCheck, runUntilCrash, WORKLOAD, workload } from './helpers/crash.js';

async function countOps(durability: 'fsync' | 'batch'): Promise<{ total: number; created: number; deleted: number }> {
  const fs = new SimFS();
  fs.log = [];
  await workload(fs, durability, newLog());
  const segOps = fs.log.filter((op) => basename(op.path).endsWith('.seg'));
  return {
    total: fs.ops,
    created: segOps.filter((op) => op.kind === 'open' && op.mode === 'create').length,
    deleted: segOps.filter((op) => op.kind === 'unlink').length,
  };
}

/** Crash points: every op when `stride` is 1. */
export async function crashEveryOp(durability: 'fsync' | 'batch', stride: number, recoveryStride: number): Promise<number> {
  const { total } = await countOps(durability);
  let checked = 0;
  for (let k = 1; k <= total; k += stride) {
    const fs = new SimFS();
    fs.crashAt = k;
    const log = newLog();
    const crashed = await runUntilCrash(fs, durability, log);
    expect(crashed).toBe(true);
    const img = fs.crashImage();
    const baseline = await recoverAndCheck(img.clone(), log);
    checked++;
    if (recoveryStride === 0 || k % recoveryStride !== 0) continue;
    // Crash at every op of recovery, then recover again: same outcome.
    const probe = img.clone();
    const b = await openBuffer({ dir: DIR, maxBytes: 1 << 20, segmentBytes: WORKLOAD.segmentBytes, fs: probe });
    const recoveryOps = probe.ops;
    await b.close();
    for (let j = 1; j <= recoveryOps; j++) {
      const again = img.clone();
      again.crashAt = j;
      // A crash inside recovery rejects openBuffer, except when it hits a final best-effort close.
      await openBuffer({ dir: DIR, maxBytes: 1 << 20, segmentBytes: WORKLOAD.segmentBytes, fs: again }).catch(() => undefined);
      expect(again.crashed).toBe(true);
      const second = await recoverAndCheck(again.crashImage(), log);
      expect(second.acked).toBe(baseline.acked);
      expect(second.records.map((r) => r.seq)).toEqual(baseline.records.map((r) => r.seq));
      checked++;
    }
  }
  return checked;
}

describe('crash points', () => {
  it('the workload covers ≥200 appends, ≥3 rotations, 150 acks, ≥2 segment deletes', async () => {
    const log = newLog();
    await workload(new SimFS(), 'fsync', log);
    expect(log.appended.size).toBe(WORKLOAD.appends);
    expect(log.acks).toBe(WORKLOAD.acks);
    const ops = await countOps('fsync');
    expect(ops.created).toBeGreaterThanOrEqual(4);
    expect(ops.deleted).toBeGreaterThanOrEqual(2);
  });

  it("'fsync': every operation, and every recovery operation for every 5th crash point", async () => {
    const checked = await crashEveryOp('fsync', 1, 5);
    expect(checked).toBeGreaterThan(1000);
  });

  it("'batch' (8 concurrent appends): every operation", async () => {
    const checked = await crashEveryOp('batch', 1, 0);
    expect(checked).toBeGreaterThan(300);
  });
});
