// A/B update flow (MCUboot's test/confirm/revert, RAUC/Mender-style A/B): install into the
// inactive slot → trial boot with N attempts → confirm after the health check, or revert (by the
// app, or automatically when the attempts run out). The security counter moves only on confirm.
import { intAtLeast } from './check.js';
import type { Clock } from './clock.js';
import { verifyBoot, type BootCheck } from './boot.js';
import { readBootState, writeBootState, type BootState } from './boot-state.js';
import { OtaError } from './errors.js';
import type { OtaFileSystem } from './fs.js';
import { streamImage } from './image.js';
import type { TrustStore } from './keyset.js';
import type { Manifest } from './manifest.js';
import { fileSlots, otherSlot, type SlotName, type SlotStore } from './slots.js';
import { checkSignedManifest, DEFAULT_MAX_MANIFEST_BYTES, verifyManifest, type DeviceIdentity } from './verify.js';

const withoutTrial = (s: BootState): BootState => ({ active: s.active, securityCounter: s.securityCounter, sequence: s.sequence, knownBad: s.knownBad });

/** Options of {@link openSlotManager}. */
export interface SlotManagerOptions {
  /** Directory of the slots and the boot state. */
  readonly dir: string;
  readonly fs: OtaFileSystem;
  /** The trust, or a function that returns the current one (a persisted trusted state whose root may rotate). */
  readonly trust: TrustStore | (() => TrustStore);
  readonly device: DeviceIdentity;
  /** Largest image, bytes (the slot size). */
  readonly capacity: number;
  /** Trial boots before an unconfirmed image is rolled back. Default 3. */
  readonly maxBootAttempts?: number;
  /** A different slot store (e.g. a block device); default: files in `dir`. */
  readonly slots?: SlotStore;
  /** Current time in seconds for expiry, or `'no-clock'` (see `verifyManifest`'s `now`). Default: system clock. */
  readonly nowSeconds?: () => number | 'no-clock';
}

/** Transfer limits for {@link SlotManager.install}. */
export interface InstallOptions {
  readonly clock?: Clock;
  readonly deadlineMs?: number;
  readonly minBytesPerSecond?: number;
  readonly rateWindowMs?: number;
  readonly signal?: AbortSignal;
  /**
   * The freshness statement for a trust with a timestamp role, and the device's trusted floor
   * (see `verifyManifest`'s `timestamp`, `state.timestampVersion`, `state.timeFloor`).
   */
  readonly freshness?: { readonly timestamp: Uint8Array; readonly timestampVersion?: number; readonly timeFloor?: number };
}

/** What {@link SlotManager.boot} started. */
export interface Booted {
  readonly slot: SlotName;
  readonly manifest: Manifest;
  /** `true` while the image is on trial (not confirmed). */
  readonly trial: boolean;
  /** Set when this boot rolled back a trial image, with the reason. */
  readonly rolledBack?: { readonly version: string; readonly reason: string };
}

/** The device side of an A/B update. Create with {@link openSlotManager}. */
export interface SlotManager {
  /** The persisted boot state. */
  state(): BootState;
  /** Verifies a manifest, streams the image into the inactive slot, and marks it for a trial boot. */
  install(manifest: Uint8Array, image: AsyncIterable<Uint8Array>, options?: InstallOptions): Promise<Manifest>;
  /** The bootloader: picks the slot, counts trial attempts, rolls back, runs {@link verifyBoot}. */
  boot(): Promise<Booted>;
  /** After the health check passed on a trial image: make it the confirmed slot. */
  confirm(): Promise<void>;
  /** The health check failed: drop the trial image; the next boot runs the confirmed one. */
  revert(reason?: string): Promise<void>;
}

/**
 * Opens (or, with `provision`, first creates) the slot manager of a device. `provision` installs
 * the factory image into slot A as the confirmed image (with a timestamp when the trust has a
 * timestamp role).
 *
 * @throws {OtaError} `BAD_STATE` when the directory holds no boot state and nothing to provision.
 * @example
 * ```ts
 * import {
 *   createTrustStore, generateKeyPair, nodeOtaFileSystem, openSlotManager, signManifest,
 *   type Booted, type InstallOptions, type SlotManager, type SlotManagerOptions,
 * } from '@outpost/ota';
 * import { createHash } from 'node:crypto';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const key = generateKeyPair();
 * const release = (version: string, sequence: number, fill: number) => {
 *   const image = new Uint8Array(4096).fill(fill);
 *   const manifest = signManifest({ vendor: 'acme', deviceClass: 'gw', version, sequence, securityCounter: 1,
 *     imageSize: image.length, imageDigest: new Uint8Array(createHash('sha256').update(image).digest()) }, key);
 *   return { image, manifest };
 * };
 * const options: SlotManagerOptions = { dir: mkdtempSync(join(tmpdir(), 'ota-')), fs: nodeOtaFileSystem(),
 *   trust: createTrustStore({ signingKeys: [key.publicKey] }), device: { deviceClass: 'gw' }, capacity: 1 << 20 };
 * const mgr: SlotManager = await openSlotManager(options, release('1.0.0', 1, 1));
 * await mgr.boot();
 * const next = release('1.1.0', 2, 2);
 * const limits: InstallOptions = { deadlineMs: 600_000, minBytesPerSecond: 1024 };
 * await mgr.install(next.manifest, (async function* () { yield next.image; })(), limits);
 * const trial: Booted = await mgr.boot(); // slot b, on trial
 * if (trial.trial) await mgr.confirm(); // after the app's health check
 * mgr.state().active; // 'b'
 * ```
 */
export async function openSlotManager(options: SlotManagerOptions, provision?: { manifest: Uint8Array; image: Uint8Array; timestamp?: Uint8Array }): Promise<SlotManager> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options: expected an object');
  if (typeof options.dir !== 'string') throw new TypeError('options.dir: expected a string');
  const maxAttempts = intAtLeast(options.maxBootAttempts ?? 3, 'maxBootAttempts', 1);
  const { fs, dir, device } = options;
  const trustNow = (): TrustStore => (typeof options.trust === 'function' ? options.trust() : options.trust);
  const slots = options.slots ?? fileSlots({ dir, fs, capacity: options.capacity });
  const nowSeconds = options.nowSeconds ?? ((): number | 'no-clock' => Math.floor(Date.now() / 1000));
  await fs.mkdir(dir);
  let state = await readBootState(fs, dir);
  if (state === undefined) {
    if (provision === undefined) throw new OtaError('BAD_STATE', `${dir}: no boot state; provision the device with a factory image first`);
    const r = verifyManifest(provision.manifest, {
      trust: trustNow(), device, state: { sequence: null, securityCounter: 0 }, now: nowSeconds(), maxImageSize: slots.capacity,
      ...(provision.timestamp === undefined ? {} : { timestamp: provision.timestamp }),
    });
    if (!r.ok) throw new OtaError(r.code, `provision: ${r.message}`);
    const w = await slots.beginWrite('a');
    await streamImage((async function* () { yield provision.image; })(), { expectedSize: r.manifest.imageSize, expectedDigest: r.manifest.imageDigest, write: (c) => w.write(c) });
    await w.finish(provision.manifest);
    state = { active: 'a', securityCounter: r.manifest.securityCounter, sequence: r.manifest.sequence, knownBad: [] };
    await writeBootState(fs, dir, state);
  }
  let current: BootState = state;
  let running: { slot: SlotName; manifest: Manifest } | undefined;
  const save = async (next: BootState): Promise<void> => {
    await writeBootState(fs, dir, next);
    current = next;
  };
  const root = (): { trust: TrustStore; securityCounter: number; deviceClass: string } => ({ trust: trustNow(), securityCounter: current.securityCounter, deviceClass: device.deviceClass });
  // The version named by a slot's signed manifest (the image itself is not checked here).
  const versionIn = async (slot: SlotName): Promise<string | undefined> => {
    const bytes = await slots.readManifest(slot);
    if (bytes === undefined) return undefined;
    try {
      return checkSignedManifest(bytes, trustNow(), DEFAULT_MAX_MANIFEST_BYTES).manifest.version;
    } catch {
      return undefined;
    }
  };
  // Drops the trial; `markBad` remembers its version so it is never retried (an image that ran
  // and was not confirmed). An image that failed verification is not marked: a re-download may fix it.
  const dropTrial = async (reason: string, markBad: boolean): Promise<{ version: string; reason: string } | undefined> => {
    const t = current.trial;
    if (t === undefined) return undefined;
    const version = running?.slot === t.slot ? running.manifest.version : await versionIn(t.slot);
    const knownBad = !markBad || version === undefined || current.knownBad.includes(version) ? current.knownBad : [...current.knownBad, version];
    await save({ ...withoutTrial(current), knownBad });
    return { version: version ?? 'unknown', reason };
  };

  return {
    state: () => current,

    async install(manifestBytes, image, io = {}) {
      if (current.trial !== undefined) throw new OtaError('BAD_STATE', `slot ${current.trial.slot} is on trial; confirm or revert it before the next update`);
      const runningVersion = await versionIn(current.active);
      const f = io.freshness;
      const r = verifyManifest(manifestBytes, {
        trust: trustNow(), device, now: nowSeconds(), maxImageSize: slots.capacity, ...(f === undefined ? {} : { timestamp: f.timestamp }),
        state: {
          sequence: current.sequence, securityCounter: current.securityCounter, knownBad: current.knownBad, ...(runningVersion === undefined ? {} : { version: runningVersion }),
          ...(f?.timestampVersion === undefined ? {} : { timestampVersion: f.timestampVersion }), ...(f?.timeFloor === undefined ? {} : { timeFloor: f.timeFloor }),
        },
      });
      if (!r.ok) throw new OtaError(r.code, r.message);
      const target = otherSlot(current.active);
      const w = await slots.beginWrite(target);
      try {
        await streamImage(image, {
          expectedSize: r.manifest.imageSize, expectedDigest: r.manifest.imageDigest, write: (c) => w.write(c),
          ...(io.clock === undefined ? {} : { clock: io.clock }),
          ...(io.deadlineMs === undefined ? {} : { deadlineMs: io.deadlineMs }),
          ...(io.minBytesPerSecond === undefined ? {} : { minBytesPerSecond: io.minBytesPerSecond }),
          ...(io.rateWindowMs === undefined ? {} : { rateWindowMs: io.rateWindowMs }),
          ...(io.signal === undefined ? {} : { signal: io.signal }),
        });
      } catch (err) {
        await w.abort().catch(() => undefined);
        throw err;
      }
      await w.finish(manifestBytes);
      // Only now, with the image and manifest durable, does the boot state point at the slot. The
      // sequence stays: the first trial boot that passes verifyBoot consumes it.
      await save({ ...current, trial: { slot: target, attemptsLeft: maxAttempts } });
      return r.manifest;
    },

    async boot() {
      running = undefined;
      let rolledBack: { version: string; reason: string } | undefined;
      const t = current.trial;
      if (t !== undefined) {
        if (t.attemptsLeft > 0) {
          const c = await verifyBoot(slots, t.slot, root());
          if (c.ok) {
            // Count the attempt before running the image: a crash or hang during it still counts.
            // The manifest's sequence number is consumed here, with the image verified and
            // installed, not at install: a trial that fails verification leaves it unconsumed, so
            // the same release can be downloaded again.
            await save({ ...current, sequence: Math.max(current.sequence, c.manifest.sequence), trial: { slot: t.slot, attemptsLeft: t.attemptsLeft - 1 } });
            running = { slot: t.slot, manifest: c.manifest };
            return { slot: t.slot, manifest: c.manifest, trial: true };
          }
          rolledBack = await dropTrial(`trial slot failed verification: ${c.code}`, false);
        } else {
          rolledBack = await dropTrial(`not confirmed after ${maxAttempts} boot attempts`, true);
        }
      }
      const tried: BootCheck[] = [];
      for (const slot of [current.active, otherSlot(current.active)]) {
        const c = await verifyBoot(slots, slot, root());
        if (c.ok && (slot === current.active || !current.knownBad.includes(c.manifest.version))) {
          if (slot !== current.active) await save({ ...current, active: slot });
          running = { slot, manifest: c.manifest };
          return { slot, manifest: c.manifest, trial: false, ...(rolledBack === undefined ? {} : { rolledBack }) };
        }
        tried.push(c);
      }
      throw new OtaError('NO_VALID_SLOT', `no slot passes the boot check (${tried.map((c) => (c.ok ? 'known bad' : c.code)).join(', ')})`);
    },

    async confirm() {
      const t = current.trial;
      if (t === undefined || running === undefined || running.slot !== t.slot) throw new OtaError('BAD_STATE', 'confirm: no trial image is running');
      await save({ ...withoutTrial(current), active: t.slot, securityCounter: Math.max(current.securityCounter, running.manifest.securityCounter) });
    },

    async revert(reason = 'health check failed') {
      const t = current.trial;
      if (t === undefined || running === undefined || running.slot !== t.slot) throw new OtaError('BAD_STATE', 'revert: no trial image is running');
      await dropTrial(reason, true);
    },
  };
}
