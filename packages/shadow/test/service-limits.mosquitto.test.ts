// The reference service at app scale (issue #16), against a real Mosquitto: a bounded queue per
// shadow answering 429 with AWS's error document, and tombstones that expire after 48 h
// (injected clock).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceClient } from '@outpost/device-sdk';
import {
  createShadowAppClient, MemoryShadowStore, shadowTopic, startShadowService,
  type ShadowAppClient, type ShadowKey, type ShadowRecord, type ShadowService,
} from '../src/index.js';
import { APP2_ID, APP_ID, SERVICE_ID, startShadowFleet, type ShadowFleet } from './fixtures/shadow-fleet.js';
import { deferred, eventually } from './helpers.js';

const T0 = 1_700_000_000_000; // ms
const H48 = 48 * 3600 * 1000;

/** A memory store whose `put` waits while the gate is closed: requests pile up behind it. */
class GatedStore extends MemoryShadowStore {
  gate: Promise<void> = Promise.resolve();
  override async put(key: ShadowKey, record: ShadowRecord): Promise<void> {
    await this.gate;
    await super.put(key, record);
  }
}

let fleet: ShadowFleet;
let serviceMqtt: DeviceClient;
let appMqtt: DeviceClient;
let service: ShadowService;
let app: ShadowAppClient;
const store = new GatedStore();
let now = T0;

beforeAll(async () => {
  fleet = await startShadowFleet();
  serviceMqtt = await fleet.connect(SERVICE_ID);
  service = await startShadowService({ mqtt: serviceMqtt, store, now: () => now });
  appMqtt = await fleet.connect(APP_ID);
  app = createShadowAppClient({ mqtt: appMqtt, requestTimeoutMs: 5_000 });
});

afterAll(async () => {
  await app?.close();
  await service?.close();
  await appMqtt?.close({ force: true });
  await serviceMqtt?.close({ force: true });
  await fleet?.stop();
});

describe('bounded queue per shadow', () => {
  it('the 11th request of a shadow while 10 are in flight gets 429 (AWS error document) and is not applied', async () => {
    const replies: Array<{ suffix: string; body: Record<string, unknown> }> = [];
    appMqtt.on('message', (m) => {
      for (const suffix of ['accepted', 'rejected'] as const) {
        if (m.topic === shadowTopic('busy', 'update', suffix)) replies.push({ suffix, body: JSON.parse(new TextDecoder().decode(m.payload)) as Record<string, unknown> });
      }
    });
    await appMqtt.subscribe([shadowTopic('busy', 'update', 'accepted'), shadowTopic('busy', 'update', 'rejected')]);
    const open = deferred();
    store.gate = open.promise;
    try {
      for (let i = 0; i < 15; i++) {
        await appMqtt.publish(shadowTopic('busy', 'update'), JSON.stringify({ state: { desired: { n: i } }, clientToken: `t${i}` }));
      }
      await eventually(() => replies.length >= 5, 10_000, 'five 429s');
      // Another shadow is not held up by this one's queue.
      store.gate = Promise.resolve();
      expect((await app.updateDesired('quiet', { a: 1 })).version).toBe(1);
      store.gate = open.promise;
      open.resolve();
      await eventually(() => replies.length >= 15, 10_000, 'every reply');
    } finally {
      open.resolve(); // never leave the store blocked for the next tests
      store.gate = Promise.resolve();
    }
    await service.idle();
    const rejected = replies.filter((r) => r.suffix === 'rejected').map((r) => r.body);
    expect(rejected).toEqual([10, 11, 12, 13, 14].map((i) => ({ code: 429, message: 'Too Many Requests', timestamp: T0 / 1000, clientToken: `t${i}` })));
    const accepted = replies.filter((r) => r.suffix === 'accepted').map((r) => [r.body['clientToken'], r.body['version']]);
    expect(accepted).toEqual(Array.from({ length: 10 }, (_, i) => [`t${i}`, i + 1]));
    expect((await store.get({ thingName: 'busy' }))?.state.desired).toEqual({ n: 9 });
    expect(service.stats().throttled).toBe(5);
    // Once the queue drains, requests are accepted again.
    expect((await app.updateDesired('busy', { n: 15 })).version).toBe(11);
  });
});

describe('tombstones', () => {
  it("a deleted shadow's version is kept for 48 h; after that a new shadow starts at version 1", async () => {
    now = T0;
    await app.updateDesired('lamp', { on: true });
    expect((await app.updateDesired('lamp', { on: false })).version).toBe(2);
    expect((await app.delete('lamp')).version).toBe(2);
    now += H48 - 1000;
    // Within 48 h: the version goes on.
    expect((await app.updateDesired('lamp', { on: true })).version).toBe(3);
    expect((await app.delete('lamp')).version).toBe(3);
    now += H48;
    // 48 h after the delete: gone for good.
    await expect(app.get('lamp')).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
    await expect(app.delete('lamp')).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
    const fresh = await app.updateDesired('lamp', { on: true }, { version: 0 });
    expect(fresh.version).toBe(1);
    expect((await app.get('lamp')).version).toBe(1);
    expect(service.stats().expiredTombstones).toBeGreaterThanOrEqual(1);
  });

  it('tombstoneTtlMs is an option; bad values are RangeError', async () => {
    const mq = await fleet.connect(APP2_ID);
    // A second service would answer the same requests: check the options only.
    await expect(startShadowService({ mqtt: mq, tombstoneTtlMs: -1 })).rejects.toThrow(RangeError);
    await expect(startShadowService({ mqtt: mq, maxInFlightPerShadow: 0 })).rejects.toThrow(RangeError);
    await expect(startShadowService({ mqtt: mq, maxInFlightPerShadow: 2.5 })).rejects.toThrow(RangeError);
    await mq.close({ force: true });
  });
});
