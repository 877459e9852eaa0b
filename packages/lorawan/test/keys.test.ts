import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { deriveSessionKeys10, deriveSessionKeys11, fromHex, toHex } from '../src/index.js';

// lora-packet is kept as a devDependency: the reference these keys are checked against.
type LoraPacket = (typeof import('lora-packet'))['default'];
const lp = createRequire(import.meta.url)('lora-packet') as LoraPacket;
const be = (v: number, n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (v >>> (8 * (n - 1 - i))) & 0xff));

describe('session keys on node:crypto', () => {
  it('LoRaWAN 1.0: equal to lora-packet for any AppKey, NetID, JoinNonce, DevNonce', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 0xffffff }), fc.integer({ min: 0, max: 0xffffff }), fc.integer({ min: 0, max: 0xffff }),
      (appKey, netId, joinNonce, devNonce) => {
        const ours = deriveSessionKeys10(appKey, netId, joinNonce, devNonce);
        const ref = lp.generateSessionKeys10(Buffer.from(appKey), be(netId, 3), be(joinNonce, 3), be(devNonce, 2));
        expect(toHex(ours.nwkSKey)).toBe(ref.NwkSKey.toString('hex'));
        expect(toHex(ours.appSKey)).toBe(ref.AppSKey.toString('hex'));
        expect(Object.getPrototypeOf(ours.nwkSKey)).toBe(Uint8Array.prototype);
      }), { numRuns: 200 });
  });

  it('LoRaWAN 1.1: equal to lora-packet for the four keys', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 8, maxLength: 8 }),
      fc.integer({ min: 0, max: 0xffffff }), fc.integer({ min: 0, max: 0xffff }),
      (appKey, nwkKey, joinEUI, joinNonce, devNonce) => {
        const ours = deriveSessionKeys11(appKey, nwkKey, joinEUI, joinNonce, devNonce);
        const ref = lp.generateSessionKeys11(Buffer.from(appKey), Buffer.from(nwkKey), Buffer.from(joinEUI), be(joinNonce, 3), be(devNonce, 2));
        expect([ours.fNwkSIntKey, ours.sNwkSIntKey, ours.nwkSEncKey, ours.appSKey].map(toHex))
          .toEqual([ref.FNwkSIntKey, ref.SNwkSIntKey, ref.NwkSEncKey, ref.AppSKey].map((b) => b.toString('hex')));
      }), { numRuns: 200 });
  });

  it('a fixed vector (AppKey 2B7E…3C, NetID 000013, JoinNonce 000001, DevNonce 8904)', () => {
    const k = deriveSessionKeys10(fromHex('2b7e151628aed2a6abf7158809cf4f3c'), 0x13, 1, 0x8904);
    const ref = lp.generateSessionKeys10(Buffer.from('2b7e151628aed2a6abf7158809cf4f3c', 'hex'), be(0x13, 3), be(1, 3), be(0x8904, 2));
    expect(toHex(k.nwkSKey)).toBe(ref.NwkSKey.toString('hex'));
    expect(toHex(k.nwkSKey)).not.toBe(toHex(k.appSKey));
  });
});
