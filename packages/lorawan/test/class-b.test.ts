import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createCipheriv } from 'node:crypto';
import {
  BEACON_GUARD_MS, BEACON_PERIOD_MS, BEACON_RESERVED_MS, EU868, beaconStartMs, classCWindows, fromHex, gpsTimeMs, nextPingSlotMs, pingOffset,
} from '../src/index.js';

// ChirpStack network server, internal/downlink/classb (classb_test.go, TestGetNextPingSlotAfter):
// DevAddr 00000000; [after (GPS ms), pingNb, next ping slot (GPS ms)].
const CHIRPSTACK_NEXT_SLOT: readonly [number, number, number][] = [
  [0, 1, 74_300],
  [120_000, 1, 185_620],
  [0, 2, 12_860],
  [13_000, 2, 74_300],
  [124_000, 128, 124_220],
];

describe('Class B ping slots', () => {
  it('next ping slot equals ChirpStack\'s for each of its vectors', () => {
    for (const [after, pingNb, expected] of CHIRPSTACK_NEXT_SLOT) {
      expect(nextPingSlotMs(after, new Uint8Array(4), pingNb), `${after} ${pingNb}`).toBe(expected);
    }
  });

  it('pingOffset is the spec formula on an independent AES (node:crypto ECB, DevAddr and BeaconTime little-endian)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 7 }), (k, addr, p) => {
      const beacon = k * BEACON_PERIOD_MS;
      const pingNb = 2 ** p;
      const block = Buffer.alloc(16);
      block.writeUInt32LE((beacon / 1000) % 2 ** 32, 0);
      Buffer.from(addr).reverse().copy(block, 4);
      const rand = createCipheriv('aes-128-ecb', Buffer.alloc(16), null).setAutoPadding(false).update(block);
      const expected = ((rand[0] as number) + (rand[1] as number) * 256) % (4096 / pingNb);
      expect(pingOffset(beacon, addr, pingNb)).toBe(expected);
    }), { numRuns: 300 });
  });

  it('every ping slot lies inside the beacon window, after the reserved part and before the guard', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 10 ** 12 }), fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 7 }), (after, addr, p) => {
      const slot = nextPingSlotMs(after, addr, 2 ** p);
      expect(slot).toBeGreaterThan(after);
      const inPeriod = slot - beaconStartMs(slot);
      expect(inPeriod).toBeGreaterThanOrEqual(BEACON_RESERVED_MS);
      expect(inPeriod + 30).toBeLessThanOrEqual(BEACON_PERIOD_MS - BEACON_GUARD_MS + 30);
      expect((inPeriod - BEACON_RESERVED_MS) % 30).toBe(0);
    }), { numRuns: 300 });
  });

  it('GPS time and beacon starts', () => {
    expect(gpsTimeMs(Date.UTC(1980, 0, 6))).toBe(18_000);
    expect(gpsTimeMs(Date.UTC(1980, 0, 6), 0)).toBe(0);
    expect(beaconStartMs(300_000)).toBe(256_000);
    expect(() => gpsTimeMs(0)).toThrow(RangeError);
  });

  it('refuses pingNb that is not a power of two and beacons off the period grid', () => {
    expect(() => pingOffset(0, new Uint8Array(4), 3)).toThrow(RangeError);
    expect(() => pingOffset(0, new Uint8Array(4), 256)).toThrow(RangeError);
    expect(() => pingOffset(1000, new Uint8Array(4), 1)).toThrow(/multiple of 128000/);
    expect(() => pingOffset(0, fromHex('0102'), 1)).toThrow(RangeError);
    expect(() => nextPingSlotMs('0' as never, new Uint8Array(4), 1)).toThrow(TypeError);
  });
});

describe('Class C', () => {
  it('RX1 after RECEIVE_DELAY1, RX2 continuous after the RX1 window', () => {
    expect(classCWindows(EU868, 10_000)).toEqual({ rx1StartMs: 11_000, rx2ContinuousFromMs: 11_200 });
    expect(classCWindows(EU868, 0, { rx1WindowMs: 50 })).toEqual({ rx1StartMs: 1_000, rx2ContinuousFromMs: 1_050 });
    expect(() => classCWindows({} as never, 0)).toThrow(TypeError);
    expect(() => classCWindows(EU868, 0, { rx1WindowMs: -1 })).toThrow(RangeError);
  });
});
