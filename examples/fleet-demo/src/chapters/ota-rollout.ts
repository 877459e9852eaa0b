// Chapter: a signed release goes to a canary, then 1 %, 10 %, 100 % of a simulated fleet; the next
// release makes one hardware revision fail its health check: those devices roll back by themselves
// and the controller halts the rollout; a tampered image is refused on a device. Each device is a
// real A/B slot manager (in memory) verifying real Ed25519 signatures and SHA-256 digests; time is
// simulated (the controller takes `now`), so a day of rollout runs in about a second.
import { createHash, randomBytes } from 'node:crypto';
import {
  createTrustStore, generateKeyPair, memoryControllerStore, memoryOtaFileSystem, openRolloutController, openSlotManager, OtaError, planRollout,
  signManifest, type DeviceReport, type KeyPair, type RolloutSnapshot, type SlotManager, type TrustStore,
} from '@outpost/ota';
import type { Chapter } from '../context.js';

const FLEET = 300;
const MINUTE = 60_000;

interface Release {
  readonly version: string;
  readonly image: Uint8Array;
  readonly manifest: Uint8Array;
}

function makeRelease(key: KeyPair, version: string, sequence: number, securityCounter: number): Release {
  const image = new Uint8Array(randomBytes(16 * 1024));
  const imageDigest = new Uint8Array(createHash('sha256').update(image).digest());
  const manifest = signManifest({ vendor: 'outpost-demo', deviceClass: 'gateway-1', version, sequence, securityCounter, imageSize: image.length, imageDigest }, key);
  return { version, image, manifest };
}

async function* stream(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += 4096) yield bytes.subarray(i, i + 4096);
}

interface Device {
  readonly id: string;
  readonly hwRevision: string;
  readonly slots: SlotManager;
}

/** One device's update: install, trial boot, health check; confirm, or boot until the bootloader rolls back. */
async function update(d: Device, r: Release, healthy: (d: Device, v: string) => boolean): Promise<DeviceReport> {
  try {
    await d.slots.install(r.manifest, stream(r.image));
  } catch {
    return 'failed';
  }
  for (;;) {
    const booted = await d.slots.boot();
    if (booted.rolledBack !== undefined) return 'rolled-back';
    if (healthy(d, booted.manifest.version)) {
      await d.slots.confirm();
      return 'confirmed';
    }
  }
}

async function rollout(devices: Map<string, Device>, r: Release, healthy: (d: Device, v: string) => boolean, say: (l: string) => void): Promise<RolloutSnapshot> {
  const plan = planRollout({
    devices: [...devices.keys()], seed: `gateway-1@${r.version}`, canary: ['gw-001', 'gw-002', 'gw-004'],
    policy: { successThreshold: 0.95, abortFailureRate: 0.1, abortMinFinished: 5, maxPerMinute: 120 },
  });
  const ctl = await openRolloutController(plan, memoryControllerStore());
  let t = 0;
  let wave = -1;
  while (ctl.snapshot().status === 'running' && t < 24 * 60 * MINUTE) {
    const s = ctl.snapshot();
    if (s.wave !== wave) {
      if (wave >= 0) say(`    t=${t / MINUTE} min  wave ${plan.waves[wave]?.name} done: ${s.waves[wave]?.confirmed}/${s.waves[wave]?.size} confirmed`);
      wave = s.wave;
    }
    for (const id of await ctl.tick(t)) {
      await ctl.report(id, await update(devices.get(id) as Device, r, healthy), t + MINUTE / 2);
    }
    t += MINUTE;
  }
  const s = ctl.snapshot();
  const w = s.waves[s.wave];
  if (s.status === 'completed') say(`    t=${t / MINUTE} min  wave ${w?.name} done: ${w?.confirmed}/${w?.size} confirmed — rollout complete`);
  else say(`    t=${t / MINUTE} min  HALTED — ${s.reason ?? s.status}; devices already notified finish, nobody else is`);
  return s;
}

async function provision(id: string, hwRevision: string, trust: TrustStore, factory: Release): Promise<Device> {
  const slots = await openSlotManager(
    { dir: `/devices/${id}`, fs: memoryOtaFileSystem(), trust, device: { deviceClass: 'gateway-1', hwRevision }, capacity: 64 * 1024 },
    { manifest: factory.manifest, image: factory.image },
  );
  await slots.boot();
  return { id, hwRevision, slots };
}

export const otaRollout: Chapter = {
  id: 'otaRollout',
  title: 'Signed OTA updates: canary → 1% → 10% → 100%, automatic rollback, a halted rollout',
  async run(ctx) {
    const vendorKey = generateKeyPair();
    const trust = createTrustStore({ signingKeys: [vendorKey.publicKey] });
    const v100 = makeRelease(vendorKey, '1.0.0', 1, 1);
    const v110 = makeRelease(vendorKey, '1.1.0', 2, 1);
    const v120 = makeRelease(vendorKey, '1.2.0', 3, 2);
    const devices = new Map<string, Device>();
    for (let i = 1; i <= FLEET; i++) {
      const id = `gw-${String(i).padStart(3, '0')}`;
      devices.set(id, await provision(id, i % 4 === 3 ? 'rev-c' : 'rev-b', trust, v100));
    }
    const revC = [...devices.values()].filter((d) => d.hwRevision === 'rev-c').length;
    ctx.say(`  ${FLEET} gateways on 1.0.0 (${revC} of hardware revision rev-c); vendor key ${Buffer.from(vendorKey.keyId).toString('hex')}, manifests ${v110.manifest.length} bytes (COSE_Sign1, Ed25519)`);

    ctx.say('  release 1.1.0, waves canary → 1% → 10% → 100% (abort above 10 % failures):');
    const first = await rollout(devices, v110, () => true, ctx.say);

    // A tampered image: the signed 1.2.0 manifest with one bit of its image flipped.
    const tampered = v120.image.slice();
    tampered[8000] = (tampered[8000] as number) ^ 0x01;
    const victim = devices.get('gw-010') as Device;
    let refused = 'accepted';
    try {
      await victim.slots.install(v120.manifest, stream(tampered));
    } catch (err) {
      refused = err instanceof OtaError ? err.code : String(err);
    }
    const still = await victim.slots.boot();
    ctx.say(`  tampered 1.2.0 image sent to gw-010: refused (${refused}); it still boots ${still.manifest.version} from slot ${still.slot}`);

    ctx.say('  release 1.2.0, whose new driver hangs on rev-c (those devices fail their health check):');
    const second = await rollout(devices, v120, (d, v) => !(v === '1.2.0' && d.hwRevision === 'rev-c'), ctx.say);
    const after = await Promise.all([...devices.values()].map(async (d) => ({ d, booted: await d.slots.boot() })));
    const rolledBack = after.filter(({ d }) => d.slots.state().knownBad.includes('1.2.0'));
    const on120 = after.filter(({ booted }) => booted.manifest.version === '1.2.0').length;
    const never = second.waves.slice(second.wave + 1).reduce((n, w) => n + w.size, 0);
    ctx.say(`  ${rolledBack.length} rev-c devices rolled back to 1.1.0 by themselves after 3 unconfirmed boots (1.2.0 marked bad); ${on120} run 1.2.0; ${never} devices in later waves never got it`);

    ctx.summary['otaRollout'] = {
      devices: FLEET,
      firstRelease: { version: '1.1.0', status: first.status, waves: first.waves.map((w) => ({ name: w.name, size: w.size, confirmed: w.confirmed })) },
      tamperedImage: refused,
      secondRelease: {
        version: '1.2.0', status: second.status, haltedIn: second.waveName, reason: second.reason ?? null,
        rolledBack: rolledBack.length, running: on120, notDispatched: never,
        rolledBackAllRevC: rolledBack.every(({ d, booted }) => d.hwRevision === 'rev-c' && booted.manifest.version === '1.1.0'),
      },
    };
  },
};
