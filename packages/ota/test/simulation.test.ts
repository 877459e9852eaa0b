// 10,000 devices, each a real slot manager (in-memory file system, real signatures and digests)
// once it is notified; one wave's devices fail their health check 30 % of the time, roll back by
// themselves, and the controller stops the rollout before the next wave.
import { describe, expect, it } from 'vitest';
import { memoryControllerStore, openRolloutController, openSlotManager, planRollout, rolloutPosition, type DeviceReport, type SlotManager } from '../src/index.js';
import { chunks, DEVICE, NOW, release, TRUST } from './helpers/release.js';
import { SimFS } from './helpers/sim-fs.js';

const v1 = release('1.0.0', 1, { imageSeed: 1, size: 2048 });
const v2 = release('1.1.0', 2, { imageSeed: 2, size: 2048, securityCounter: 2 });

async function updateDevice(healthy: boolean): Promise<{ report: DeviceReport; mgr: SlotManager }> {
  const mgr = await openSlotManager({ dir: '/d', fs: new SimFS(), trust: TRUST, device: DEVICE, capacity: 4096, nowSeconds: () => NOW }, { manifest: v1.manifest, image: v1.image });
  await mgr.boot();
  await mgr.install(v2.manifest, chunks(v2.image, 512));
  // the new image runs; if its health check fails it never confirms, and after 3 boots the bootloader rolls back
  for (;;) {
    const b = await mgr.boot();
    if (b.rolledBack !== undefined) return { report: 'rolled-back', mgr };
    if (healthy) {
      await mgr.confirm();
      return { report: 'confirmed', mgr };
    }
  }
}

describe('10,000-device rollout simulation', () => {
  it('a failure rate injected into the 10 % wave aborts the rollout before the 100 % wave', async () => {
    const devices = Array.from({ length: 10_000 }, (_, i) => `node-${String(i).padStart(5, '0')}`);
    const plan = planRollout({
      devices, seed: 'fw-1.1.0', canary: devices.slice(0, 10),
      policy: { successThreshold: 0.95, abortFailureRate: 0.1, abortMinFinished: 20, maxPerMinute: 500 },
    });
    const ctl = await openRolloutController(plan, memoryControllerStore());
    const waveOf = new Map(plan.waves.flatMap((w) => w.devices.map((d) => [d, w.index] as const)));
    // injected fault: 30 % of the 10 % wave (wave index 2) fail their health check
    const failing = (d: string): boolean => waveOf.get(d) === 2 && rolloutPosition('fault', d) < 0.3;
    const results = new Map<string, { report: DeviceReport; version: string; knownBad: readonly string[] }>();
    let t = 0;
    while (ctl.snapshot().status === 'running' && t < 24 * 3600_000) {
      for (const d of await ctl.tick(t)) {
        const { report, mgr } = await updateDevice(!failing(d));
        const booted = await mgr.boot();
        results.set(d, { report, version: booted.manifest.version, knownBad: mgr.state().knownBad });
        await ctl.report(d, report, t + 1000);
      }
      t += 60_000;
    }
    const s = ctl.snapshot();
    expect(s.status).toBe('aborted');
    expect(s.waveName).toBe('10%');
    expect(s.waves[0]).toMatchObject({ confirmed: 10, failed: 0 });
    expect(s.waves[1]?.failed).toBe(0);
    expect(s.waves[2]?.failed).toBeGreaterThanOrEqual(20);
    expect(s.waves[3]?.dispatched).toBe(0); // stopped before the next wave
    expect(plan.waves[3]?.devices.length).toBeGreaterThan(8500);
    // devices roll back by themselves and remember the version as bad; healthy ones run the new one
    for (const [d, r] of results) {
      if (failing(d)) expect(r).toMatchObject({ report: 'rolled-back', version: '1.0.0', knownBad: ['1.1.0'] });
      else expect(r).toMatchObject({ report: 'confirmed', version: '1.1.0' });
    }
  }, 120_000);
});
