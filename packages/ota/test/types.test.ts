// Wrong-type matrix: public functions raise TypeError (or RangeError for bad values), never crash oddly.
import { describe, expect, it } from 'vitest';
import {
  createTrustStore, encodeCbor, fileSlots, generateKeyPair, jwkToKey, keyIdOf, openRolloutController, openSlotManager, OtaError, planRollout,
  signManifest, streamImage, verifyManifest, memoryControllerStore, fromHex, verifyBoot, applyKeySetUpdate, signKeySet,
} from '../src/index.js';
import { DEVICE, NOW, release, TRUST } from './helpers/release.js';

const WRONG: unknown[] = [undefined, null, 0, 'x', true, {}, [], new Uint8Array(3)];
const syncThrows = (f: () => unknown): string => {
  try {
    f();
    return 'ok';
  } catch (err) {
    return err instanceof OtaError ? 'OtaError' : (err as Error).constructor.name;
  }
};

describe('wrong types', () => {
  it('verifyManifest: bytes and options', () => {
    const good = release('1.1.0', 11).manifest;
    for (const w of WRONG) {
      if (!(w instanceof Uint8Array)) expect(syncThrows(() => verifyManifest(w as Uint8Array, { trust: TRUST, device: DEVICE, state: { sequence: 0, securityCounter: 0 } }))).toBe('TypeError');
      expect(syncThrows(() => verifyManifest(good, w as never))).toBe('TypeError');
      expect(syncThrows(() => verifyManifest(good, { trust: w as never, device: DEVICE, state: { sequence: 0, securityCounter: 0 }, now: NOW }))).toBe('TypeError');
      expect(syncThrows(() => verifyManifest(good, { trust: TRUST, device: w as never, state: { sequence: 0, securityCounter: 0 }, now: NOW }))).toBe('TypeError');
      expect(syncThrows(() => verifyManifest(good, { trust: TRUST, device: DEVICE, state: w as never, now: NOW }))).toBe('TypeError');
    }
  });
  it('keys and trust stores', () => {
    for (const w of WRONG) {
      if (!(w instanceof Uint8Array)) {
        expect(syncThrows(() => keyIdOf(w as Uint8Array))).toBe('TypeError');
        expect(syncThrows(() => createTrustStore({ signingKeys: [w as Uint8Array] }))).toBe('TypeError');
      }
      expect(syncThrows(() => jwkToKey(w))).toBe('OtaError');
    }
    expect(syncThrows(() => keyIdOf(new Uint8Array(31)))).toBe('RangeError');
    expect(syncThrows(() => generateKeyPair(new Uint8Array(31)))).toBe('RangeError');
    expect(syncThrows(() => createTrustStore({ signingKeys: [new Uint8Array(32)] }))).toBe('RangeError'); // small order (y = 0)
    expect(syncThrows(() => createTrustStore(null as never))).toBe('TypeError');
    expect(syncThrows(() => fromHex('abc'))).toBe('RangeError');
  });
  it('signManifest and encodeCbor', () => {
    const k = generateKeyPair();
    const f = release('1.0.0', 1).fields;
    expect(syncThrows(() => signManifest(null as never, k))).toBe('TypeError');
    expect(syncThrows(() => signManifest(f, null as never))).toBe('TypeError');
    expect(syncThrows(() => signManifest({ ...f, version: 'v1' }, k))).toBe('RangeError');
    expect(syncThrows(() => signManifest({ ...f, sequence: -1 }, k))).toBe('RangeError');
    expect(syncThrows(() => signManifest({ ...f, imageDigest: new Uint8Array(3) }, k))).toBe('RangeError');
    expect(syncThrows(() => signManifest({ ...f, deviceClass: 5 as never }, k))).toBe('TypeError');
    expect(syncThrows(() => encodeCbor(null as never))).toBe('TypeError');
    expect(syncThrows(() => encodeCbor(0.5))).toBe('RangeError');
  });
  it('streamImage, fileSlots, openSlotManager', async () => {
    await expect(streamImage((async function* () { yield 'x' as never; })(), { expectedSize: 1, expectedDigest: new Uint8Array(32) })).rejects.toBeInstanceOf(TypeError);
    await expect(streamImage((async function* () {})(), { expectedSize: -1, expectedDigest: new Uint8Array(32) })).rejects.toBeInstanceOf(RangeError);
    await expect(streamImage((async function* () {})(), { expectedSize: 1, expectedDigest: new Uint8Array(3) })).rejects.toBeInstanceOf(RangeError);
    expect(syncThrows(() => fileSlots({ dir: 1 as never, fs: {} as never, capacity: 1 }))).toBe('TypeError');
    expect(syncThrows(() => fileSlots({ dir: '/x', fs: {} as never, capacity: 0 }))).toBe('RangeError');
    await expect(openSlotManager(null as never)).rejects.toBeInstanceOf(TypeError);
    await expect(openSlotManager({ dir: '/x', maxBootAttempts: 0 } as never)).rejects.toBeInstanceOf(RangeError);
  });
  it('verifyBoot, applyKeySetUpdate, signKeySet', async () => {
    const slots = fileSlots({ dir: '/nowhere', fs: { readFile: async () => undefined } as never, capacity: 1 });
    expect(await verifyBoot(slots, 'a', { trust: TRUST, securityCounter: 0 })).toMatchObject({ ok: false, code: 'NO_VALID_SLOT' });
    for (const w of WRONG) if (!(w instanceof Uint8Array)) expect(syncThrows(() => applyKeySetUpdate(TRUST, w as Uint8Array))).toBe('TypeError');
    expect(syncThrows(() => signKeySet({ version: 0, signingKeys: [], revoked: [] }, generateKeyPair()))).toBe('RangeError');
    expect(syncThrows(() => signKeySet({ version: 1, signingKeys: ['k'] as never, revoked: [] }, generateKeyPair()))).toBe('TypeError');
  });
  it('numbers from device state and options: NaN, ±Infinity, negative, non-integer → RangeError', async () => {
    const good = release('1.1.0', 11).manifest;
    const base = { trust: TRUST, device: DEVICE, state: { sequence: 0, securityCounter: 0 }, now: NOW };
    const slots = fileSlots({ dir: '/nowhere', fs: { readFile: async () => undefined } as never, capacity: 1 });
    const digest = new Uint8Array(32);
    const empty = async function* (): AsyncGenerator<Uint8Array> {};
    const plan = planRollout({ devices: ['a'], seed: 's' });
    const ctl = await openRolloutController(plan, memoryControllerStore());
    for (const n of [NaN, Infinity, -Infinity, -1, 1.5]) {
      expect(syncThrows(() => verifyManifest(good, { ...base, state: { sequence: n, securityCounter: 0 } })), `sequence ${n}`).toBe('RangeError');
      expect(syncThrows(() => verifyManifest(good, { ...base, state: { sequence: 0, securityCounter: n } })), `securityCounter ${n}`).toBe('RangeError');
      expect(syncThrows(() => verifyManifest(good, { ...base, now: n })), `now ${n}`).toBe('RangeError');
      expect(syncThrows(() => verifyManifest(good, { ...base, maxManifestBytes: n })), `maxManifestBytes ${n}`).toBe('RangeError');
      expect(syncThrows(() => verifyManifest(good, { ...base, maxImageSize: n })), `maxImageSize ${n}`).toBe('RangeError');
      await expect(verifyBoot(slots, 'a', { trust: TRUST, securityCounter: n }), `verifyBoot ${n}`).rejects.toBeInstanceOf(RangeError);
      await expect(streamImage(empty(), { expectedSize: 0, expectedDigest: digest, deadlineMs: n }), `deadlineMs ${n}`).rejects.toBeInstanceOf(RangeError);
      await expect(streamImage(empty(), { expectedSize: 0, expectedDigest: digest, rateWindowMs: n }), `rateWindowMs ${n}`).rejects.toBeInstanceOf(RangeError);
      if (n !== 1.5) await expect(streamImage(empty(), { expectedSize: 0, expectedDigest: digest, minBytesPerSecond: n }), `minBytesPerSecond ${n}`).rejects.toBeInstanceOf(RangeError);
      expect(syncThrows(() => fileSlots({ dir: '/x', fs: {} as never, capacity: 1, chunkSize: n })), `chunkSize ${n}`).toBe('RangeError');
      await expect(openSlotManager({ dir: '/x', maxBootAttempts: n } as never), `maxBootAttempts ${n}`).rejects.toBeInstanceOf(RangeError);
      for (const key of ['abortMinFinished', 'maxPerMinute'] as const) {
        if (!(key === 'maxPerMinute' && n === Infinity)) expect(syncThrows(() => planRollout({ devices: ['a'], seed: 's', policy: { [key]: n } })), `${key} ${n}`).toBe('RangeError');
      }
      if (n !== 1.5) await expect(ctl.tick(n), `tick ${n}`).rejects.toBeInstanceOf(RangeError); // ms may be fractional
    }
    for (const f of [NaN, Infinity, -0.1, 1.1]) {
      for (const key of ['successThreshold', 'abortFailureRate'] as const) {
        expect(syncThrows(() => planRollout({ devices: ['a'], seed: 's', policy: { [key]: f } })), `${key} ${f}`).toBe('RangeError');
        expect(syncThrows(() => planRollout({ devices: ['a'], seed: 's', wavePolicies: { 0: { [key]: f } } })), `wavePolicies ${key} ${f}`).toBe('RangeError');
      }
    }
    const hand = { ...plan, waves: plan.waves.map((w) => ({ ...w, policy: { ...w.policy, abortFailureRate: NaN } })) };
    await expect(openRolloutController(hand, memoryControllerStore()), 'a plan built by hand').rejects.toBeInstanceOf(RangeError);
    // `sequence: null` is the state before any manifest was accepted (a factory device).
    expect(verifyManifest(good, { ...base, state: { sequence: null, securityCounter: 0 } })).toMatchObject({ ok: true });
  });
  it('planRollout and the controller', async () => {
    expect(syncThrows(() => planRollout(null as never))).toBe('TypeError');
    expect(syncThrows(() => planRollout({ devices: [1] as never, seed: 's' }))).toBe('TypeError');
    expect(syncThrows(() => planRollout({ devices: [], seed: '' }))).toBe('TypeError');
    expect(syncThrows(() => planRollout({ devices: ['a'], seed: 's', waves: [0.5, 0.2, 1] }))).toBe('RangeError');
    expect(syncThrows(() => planRollout({ devices: ['a'], seed: 's', waves: [0.5] }))).toBe('RangeError');
    expect(syncThrows(() => planRollout({ devices: ['a', 'a'], seed: 's' }))).toBe('RangeError');
    expect(syncThrows(() => planRollout({ devices: ['a'], seed: 's', canary: ['b'] }))).toBe('RangeError');
    await expect(openRolloutController(null as never, memoryControllerStore())).rejects.toBeInstanceOf(TypeError);
    const ctl = await openRolloutController(planRollout({ devices: ['a'], seed: 's' }), memoryControllerStore());
    await expect(ctl.tick('now' as never)).rejects.toBeInstanceOf(TypeError);
    await expect(ctl.report('a', 'exploded' as never, 0)).rejects.toBeInstanceOf(RangeError);
    await expect(ctl.report('zz', 'confirmed', 0)).rejects.toBeInstanceOf(OtaError);
  });
});
