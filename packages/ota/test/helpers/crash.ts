// Shared by crash-point.test.ts and crash-point.slow.test.ts: a workload of a whole update, a
// revert and an automatic rollback on a simulated file system, cut at a chosen operation, and
// the check of what the reboot finds.
import { expect } from 'vitest';
import { join } from 'node:path';
import { openSlotManager, verifyBoot, fileSlots, type SlotManager } from '../../src/index.js';
import { chunks, DEVICE, NOW, release, TRUST, type Release } from './release.js';
import { SimFS, type CrashModel } from './sim-fs.js';

const DIR = '/dev0';
const R: Record<string, Release> = {
  '1.0.0': release('1.0.0', 1, { imageSeed: 1 }),
  '1.1.0': release('1.1.0', 2, { imageSeed: 2, securityCounter: 2 }),
  '1.2.0': release('1.2.0', 3, { imageSeed: 3, securityCounter: 2 }),
  '1.3.0': release('1.3.0', 4, { imageSeed: 4, securityCounter: 3 }),
};
const opts = (fs: SimFS) => ({ dir: DIR, fs, trust: TRUST, device: DEVICE, capacity: 8192, nowSeconds: () => NOW });

export async function provisioned(): Promise<SimFS> {
  const fs = new SimFS();
  await openSlotManager(opts(fs), { manifest: R['1.0.0']!.manifest, image: R['1.0.0']!.image });
  return fs.crashImage(); // only what is durable
}

/** What may boot after a crash: the last confirmed version, or the one in flight. */
export interface Track {
  confirmed: string;
  inFlight: string | undefined;
}

export async function workload(fs: SimFS, t: Track): Promise<void> {
  const mgr: SlotManager = await openSlotManager(opts(fs));
  const install = async (v: string): Promise<void> => {
    t.inFlight = v;
    await mgr.install(R[v]!.manifest, chunks(R[v]!.image, 1024));
  };
  // 1. a whole update
  await mgr.boot();
  await install('1.1.0');
  await mgr.boot();
  await mgr.confirm();
  t.confirmed = '1.1.0';
  t.inFlight = undefined;
  await mgr.boot();
  // 2. a revert after a failed health check
  await install('1.2.0');
  await mgr.boot();
  await mgr.revert();
  t.inFlight = undefined;
  await mgr.boot();
  // 3. an image that never confirms: automatic rollback on the 4th boot
  await install('1.3.0');
  for (let i = 0; i < 3; i++) await mgr.boot();
  const b = await mgr.boot();
  expect(b.rolledBack?.version).toBe('1.3.0');
  t.inFlight = undefined;
  await mgr.boot();
}

export async function checkRecovery(fs: SimFS, t: Track): Promise<string> {
  const mgr = await openSlotManager(opts(fs));
  const booted = await mgr.boot();
  const allowed = [t.confirmed, ...(t.inFlight === undefined ? [] : [t.inFlight])];
  expect(allowed).toContain(booted.manifest.version);
  // byte for byte the signed release, in the slot the boot state names
  const img = await fs.readFile(join(DIR, `slot-${booted.slot}.img`));
  expect(Buffer.from(img!).equals(Buffer.from(R[booted.manifest.version]!.image))).toBe(true);
  const slots = fileSlots({ dir: DIR, fs, capacity: 8192 });
  expect((await verifyBoot(slots, booted.slot, { trust: TRUST, securityCounter: mgr.state().securityCounter })).ok).toBe(true);
  const st = mgr.state();
  if (booted.trial) expect(st.trial?.slot).toBe(booted.slot);
  else expect(st.active).toBe(booted.slot);
  // the stored counter is the confirmed image's: it moved only with a confirm that landed
  const active = await verifyBoot(slots, st.active, { trust: TRUST, securityCounter: st.securityCounter });
  expect(active.ok).toBe(true);
  if (active.ok) {
    expect(allowed).toContain(active.manifest.version);
    expect(st.securityCounter).toBe(active.manifest.securityCounter);
  }
  return `${booted.manifest.version}${booted.trial ? '*' : ''}`;
}

export async function totalOps(): Promise<number> {
  const fs = await provisioned();
  const start = fs.ops;
  await workload(fs, { confirmed: '1.0.0', inFlight: undefined });
  return fs.ops - start;
}

export async function crashAll(model: CrashModel, recoveryStride: number): Promise<{ points: number; outcomes: Set<string> }> {
  const total = await totalOps();
  const outcomes = new Set<string>();
  let points = 0;
  for (let k = 1; k <= total; k++) {
    const fs = await provisioned();
    fs.crashAt = k;
    const t: Track = { confirmed: '1.0.0', inFlight: undefined };
    // After the cut every operation fails; what the workload throws then (a Crash, or an OtaError
    // from code that saw a read fail) does not matter: only what the reboot finds does.
    await workload(fs, t).then(() => undefined, () => undefined);
    expect(fs.crashed).toBe(true);
    const img = fs.crashImage(model);
    outcomes.add(await checkRecovery(img.crashImage('strict'), t));
    points++;
    if (recoveryStride > 0 && k % recoveryStride === 0) {
      // crash at every operation of the recovery boot itself, then recover again
      const probe = img.crashImage('strict');
      await checkRecovery(probe, t);
      for (let j = 1; j <= probe.ops; j++) {
        const again = img.crashImage('strict');
        again.crashAt = j;
        await checkRecovery(again, t).catch((err: unknown) => {
          if (!again.crashed) throw err;
        });
        expect(again.crashed).toBe(true);
        await checkRecovery(again.crashImage(model), t);
        points++;
      }
    }
  }
  return { points, outcomes };
}

