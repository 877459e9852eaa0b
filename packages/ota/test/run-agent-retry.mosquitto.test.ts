// runOtaAgent waits out a failing jobs channel on the caller's signal without leaving a listener
// on it per retry. Real Mosquitto with mTLS and brokerConfig()'s per-device ACL: device rt-a runs
// the agent for thing rt-b, whose jobs topics its ACL denies, so every round fails at once
// (NOT_AUTHORIZED on MQTT 5) and the agent waits `retryDelayMs` on its clock, again and again.
import { getEventListeners } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectDevice } from '@outpost/device-sdk';
import { tempDir } from '@outpost/test-peers';
import { startFleet, type Fleet } from '../../device-sdk/test/fixtures/fleet.js';
import type { Clock } from '../src/index.js';
import { provisionOtaDevice, runOtaAgent } from '../src/jobs/index.js';
import { DEVICE, release, TRUST } from './helpers/release.js';

let fleet: Fleet;
const tmp = tempDir('outpost-ota-retry-');
beforeAll(async () => {
  fleet = await startFleet();
});
afterAll(async () => {
  await fleet?.stop();
  tmp.cleanup();
});

it('30 retry waits on one signal: at most one listener of the wait on it at a time; the abort ends the agent idle', async () => {
  const dir = join(tmp.path, 'rt-a');
  const factory = release('1.0.0', 1);
  await provisionOtaDevice({ dir, device: DEVICE, trust: TRUST, capacity: 1 << 16, factory });
  const creds = await fleet.device('rt-a');
  const mq = await connectDevice({ url: fleet.url, cert: creds.cert, key: creds.key, ca: fleet.ca.certificatePem, servername: 'localhost', protocolVersion: 5 });
  const ac = new AbortController();
  const seen: number[] = [];
  // The retry pause returns at once (no wall-clock waiting); it records the listeners on the caller's signal.
  const clock: Clock = {
    now: () => Date.now(),
    sleep: async () => {
      seen.push(getEventListeners(ac.signal, 'abort').length);
      if (seen.length >= 30) ac.abort();
      await new Promise((r) => setImmediate(r));
    },
  };
  try {
    const r = await runOtaAgent({ dir, device: DEVICE, capacity: 1 << 16, mqtt: mq, thingName: 'rt-b', healthCheck: async () => ({ ok: true }), clock, signal: ac.signal, retryDelayMs: 1, jobs: { requestTimeoutMs: 200, maxRetries: 0 } });
    expect(r).toBe('idle');
    expect(seen.length).toBeGreaterThanOrEqual(30);
    expect(Math.max(...seen)).toBeLessThanOrEqual(1);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  } finally {
    await mq.close({ force: true });
  }
}, 60_000);
