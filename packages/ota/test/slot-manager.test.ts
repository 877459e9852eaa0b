// A/B flow: install, trial boot, confirm; revert; automatic rollback after N unconfirmed boots;
// known-bad versions; the security counter moving only on confirm; verifyBoot refusing a slot.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { fileSlots, nodeOtaFileSystem, openSlotManager, verifyBoot, type SlotManager } from '../src/index.js';
import { chunks, DEVICE, KEY, NOW, OTHER_KEY, release, TRUST } from './helpers/release.js';
import { ManualClock, SimFS } from './helpers/sim-fs.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

const DIR = '/dev0';
const v1 = release('1.0.0', 1, { imageSeed: 1 });
const v2 = release('1.1.0', 2, { imageSeed: 2, securityCounter: 2 });
const v3 = release('1.2.0', 3, { imageSeed: 3, securityCounter: 2 });

async function device(fs = new SimFS(), maxBootAttempts = 3): Promise<{ fs: SimFS; mgr: SlotManager }> {
  const mgr = await openSlotManager({ dir: DIR, fs, trust: TRUST, device: DEVICE, capacity: 8192, maxBootAttempts, nowSeconds: () => NOW }, { manifest: v1.manifest, image: v1.image });
  return { fs, mgr };
}
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

describe('slot manager', () => {
  it('install → trial boot → confirm: the new image runs, the counter moves on confirm only', async () => {
    const { mgr } = await device();
    expect((await mgr.boot()).manifest.version).toBe('1.0.0');
    await mgr.install(v2.manifest, chunks(v2.image));
    expect(mgr.state()).toMatchObject({ active: 'a', trial: { slot: 'b', attemptsLeft: 3 }, securityCounter: 1, sequence: 1 });
    const b = await mgr.boot();
    expect(b).toMatchObject({ slot: 'b', trial: true });
    expect(mgr.state()).toMatchObject({ securityCounter: 1, sequence: 2 }); // the sequence is consumed by the verified trial boot
    await mgr.confirm();
    expect(mgr.state()).toMatchObject({ active: 'b', securityCounter: 2 });
    expect(mgr.state().trial).toBeUndefined();
    expect(await mgr.boot()).toMatchObject({ slot: 'b', trial: false });
  });

  it('an image that never confirms rolls back after 3 boots and is not retried', async () => {
    const { mgr } = await device();
    await mgr.boot();
    await mgr.install(v2.manifest, chunks(v2.image));
    for (let i = 0; i < 3; i++) expect(await mgr.boot()).toMatchObject({ slot: 'b', trial: true });
    const back = await mgr.boot();
    expect(back).toMatchObject({ slot: 'a', trial: false, rolledBack: { version: '1.1.0' } });
    expect(mgr.state()).toMatchObject({ active: 'a', securityCounter: 1, knownBad: ['1.1.0'] });
    // the same release again (new sequence) is refused as known bad; the next one installs
    expect(await codeOf(mgr.install(release('1.1.0', 5, { imageSeed: 2 }).manifest, chunks(v2.image)))).toBe('KNOWN_BAD');
    expect(await codeOf(mgr.install(v3.manifest, chunks(v3.image)))).toBe('OK');
  });

  it('revert after a failed health check: the next boot runs the old image', async () => {
    const { mgr } = await device();
    await mgr.boot();
    await mgr.install(v2.manifest, chunks(v2.image));
    await mgr.boot();
    await mgr.revert('health check: no telemetry');
    expect(await mgr.boot()).toMatchObject({ slot: 'a', manifest: { version: '1.0.0' } });
    expect(await codeOf(mgr.confirm())).toBe('BAD_STATE');
  });

  it('a refused install leaves the device as it was', async () => {
    const { mgr } = await device();
    await mgr.boot();
    const tampered = v2.image.slice();
    tampered[1500] = (tampered[1500] as number) ^ 1;
    expect(await codeOf(mgr.install(v2.manifest, chunks(tampered)))).toBe('DIGEST_MISMATCH');
    expect(await codeOf(mgr.install(release('1.1.0', 2, { key: OTHER_KEY }).manifest, chunks(v2.image)))).toBe('UNKNOWN_KEY');
    expect(await codeOf(mgr.install(v2.manifest, chunks(v2.image.subarray(0, 100))))).toBe('IMAGE_TRUNCATED');
    expect(await codeOf(mgr.install(v1.manifest, chunks(v1.image)))).toBe('REPLAY');
    expect(await codeOf(mgr.install(v2.manifest, chunks(v3.image)))).toBe('DIGEST_MISMATCH'); // mix-and-match
    const clock = new ManualClock();
    async function* stalls(): AsyncGenerator<Uint8Array> {
      yield v2.image.subarray(0, 500);
      await new Promise(() => undefined);
    }
    const stalled = codeOf(mgr.install(v2.manifest, stalls(), { clock, deadlineMs: 5_000, minBytesPerSecond: 100, rateWindowMs: 2_000 }));
    let outcome: string | undefined;
    void stalled.then((c) => { outcome = c; });
    for (let i = 0; i < 100 && outcome === undefined; i++) {
      await new Promise((r) => setImmediate(r));
      clock.advance(500);
    }
    expect(outcome).toBe('STALLED');
    const big = release('1.1.0', 2, { size: 9000 });
    expect(await codeOf(mgr.install(big.manifest, chunks(big.image)))).toBe('IMAGE_TOO_LARGE');
    expect(mgr.state()).toMatchObject({ active: 'a', sequence: 1 });
    expect(mgr.state().trial).toBeUndefined();
    expect(await mgr.boot()).toMatchObject({ slot: 'a', trial: false });
    expect(await codeOf(mgr.install(v2.manifest, chunks(v2.image)))).toBe('OK');
  });

  it('a downgrade below the confirmed security counter does not install and does not boot', async () => {
    const { mgr, fs } = await device();
    await mgr.boot();
    await mgr.install(v2.manifest, chunks(v2.image));
    await mgr.boot();
    await mgr.confirm();
    expect(await codeOf(mgr.install(release('1.3.0', 9, { securityCounter: 1 }).manifest, chunks(v1.image)))).toBe('DOWNGRADE');
    // slot a still holds 1.0.0 (counter 1): verifyBoot refuses it against the stored counter 2
    const slots = fileSlots({ dir: DIR, fs, capacity: 8192 });
    expect(await verifyBoot(slots, 'a', { trust: TRUST, securityCounter: 2 })).toMatchObject({ ok: false, code: 'SECURITY_COUNTER' });
  });

  it('verifyBoot refuses a slot tampered on disk; the bootloader never runs it', async () => {
    const { mgr, fs } = await device();
    await mgr.boot();
    await mgr.install(v2.manifest, chunks(v2.image));
    fs.flip(join(DIR, 'slot-b.img'), 2999);
    const b = await mgr.boot();
    expect(b).toMatchObject({ slot: 'a', trial: false, rolledBack: { version: '1.1.0' } });
    expect(b.rolledBack?.reason).toContain('DIGEST_MISMATCH');
    expect(mgr.state().knownBad).toEqual([]); // a corrupted download may be retried; a release that ran and failed may not
    // the confirmed slot tampered too: no valid slot, refuse to boot rather than run it
    fs.flip(join(DIR, 'slot-a.img'), 0);
    expect(await codeOf(mgr.boot())).toBe('NO_VALID_SLOT');
  });

  it('a trial that fails verification does not consume the sequence: the same release again is accepted and installed', async () => {
    const { mgr, fs } = await device();
    await mgr.boot();
    await mgr.install(v2.manifest, chunks(v2.image));
    fs.flip(join(DIR, 'slot-b.img'), 2999); // corrupted on disk after the download
    expect(await mgr.boot()).toMatchObject({ slot: 'a', trial: false, rolledBack: { version: '1.1.0' } });
    expect(mgr.state()).toMatchObject({ active: 'a', sequence: 1, knownBad: [] });
    expect(await codeOf(mgr.install(v2.manifest, chunks(v2.image)))).toBe('OK');
    expect(await mgr.boot()).toMatchObject({ slot: 'b', trial: true, manifest: { version: '1.1.0' } });
    expect(mgr.state().sequence).toBe(2);
    await mgr.confirm();
    expect(await codeOf(mgr.install(v2.manifest, chunks(v2.image)))).toBe('REPLAY'); // consumed now
  });

  it('a corrupted confirmed slot: the other slot boots if it passes verifyBoot, and becomes active', async () => {
    const { mgr, fs } = await device();
    await mgr.boot();
    const same = release('1.1.0', 2, { imageSeed: 2, securityCounter: 1 });
    await mgr.install(same.manifest, chunks(same.image));
    await mgr.boot();
    await mgr.confirm();
    fs.flip(join(DIR, 'slot-b.img'), 5);
    expect(await mgr.boot()).toMatchObject({ slot: 'a', trial: false, manifest: { version: '1.0.0' } });
    expect(mgr.state().active).toBe('a');
  });

  it('install while a trial is pending is refused', async () => {
    const { mgr } = await device();
    await mgr.boot();
    await mgr.install(v2.manifest, chunks(v2.image));
    expect(await codeOf(mgr.install(v3.manifest, chunks(v3.image)))).toBe('BAD_STATE');
  });

  it('state survives a reopen, on real files with node:fs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ota-slots-'));
    const opts = { dir, fs: nodeOtaFileSystem(), trust: TRUST, device: DEVICE, capacity: 8192, nowSeconds: () => NOW };
    const mgr = await openSlotManager(opts, { manifest: v1.manifest, image: v1.image });
    await mgr.boot();
    await mgr.install(v2.manifest, chunks(v2.image));
    const again = await openSlotManager(opts);
    expect(again.state()).toMatchObject({ trial: { slot: 'b', attemptsLeft: 3 } });
    expect(await again.boot()).toMatchObject({ slot: 'b', trial: true });
    await again.confirm();
    expect(readFileSync(join(dir, 'slot-b.img')).equals(Buffer.from(v2.image))).toBe(true);
    // tamper with the confirmed image on disk: boots the other slot only if it passes (it does not: counter)
    const t = readFileSync(join(dir, 'slot-b.img'));
    t[10] = (t[10] as number) ^ 1;
    writeFileSync(join(dir, 'slot-b.img'), t);
    expect(await codeOf((await openSlotManager(opts)).boot())).toBe('NO_VALID_SLOT');
    expect(await codeOf(openSlotManager({ ...opts, dir: mkdtempSync(join(tmpdir(), 'ota-empty-')) }))).toBe('BAD_STATE');
    void KEY;
  });
});
