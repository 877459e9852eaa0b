// Power cut at every file operation of a whole update (install: stage + verify + mark; trial boot;
// confirm), a revert, and an automatic rollback; everything not fsynced is dropped. After every
// cut the device boots a valid signed image, which is the last confirmed one or the one in flight,
// byte for byte, never a mix; and a crash during that recovery boot changes nothing.
import { describe, expect, it } from 'vitest';
import { checkRecovery, crashAll, provisioned, totalOps, workload, type Track } from './helpers/crash.js';

describe('crash points', () => {
  it('the workload is a whole update, a revert and an automatic rollback', async () => {
    const fs = await provisioned();
    const t: Track = { confirmed: '1.0.0', inFlight: undefined };
    await workload(fs, t);
    const ops = fs.opLog.join('\n');
    expect(ops).toMatch(/rename \/dev0\/boot-state\.cbor\.tmp/);
    expect(ops).toMatch(/sync \/dev0\/slot-b\.img/);
    expect(await checkRecovery(fs.crashImage(), t)).toBe('1.1.0');
  });

  it('every file operation, strict model (directory entries durable only after fsync of the directory)', async () => {
    const { points, outcomes } = await crashAll('strict', 4);
    expect(points).toBeGreaterThan(150);
    // both sides of each switch were hit: old confirmed, new on trial, new confirmed
    expect([...outcomes].sort()).toEqual(expect.arrayContaining(['1.0.0', '1.1.0', '1.1.0*', '1.2.0*', '1.3.0*']));
  }, 120_000);

  it('every file operation, eager-metadata model (renames survive, unsynced data does not)', async () => {
    const { points } = await crashAll('eager-metadata', 0);
    expect(points).toBeGreaterThan(100);
  }, 120_000);

  it('every file operation, torn model (half of each unsynced append lands: torn image and temp files)', async () => {
    const { points } = await crashAll('torn', 0);
    expect(points).toBeGreaterThan(100);
  }, 120_000);
});
