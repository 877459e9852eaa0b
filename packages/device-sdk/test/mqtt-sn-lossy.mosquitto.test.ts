// A UDP path that drops 20% of datagrams in each direction (seeded): QoS 1 still delivers at
// least once, QoS 2 exactly once, both ways, through the gateway and real Mosquitto.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { MqttSnClient } from '@outpost/device-sdk/mqtt-sn';
import { startSnFleet, waitUntil, type SnFleet } from './fixtures/mqttsn-fleet.js';
import { startLossyRelay, type LossyRelay } from './fixtures/mqttsn-relay.js';

const SEED = 20260427;
let f: SnFleet;
let relay: LossyRelay;
let c: MqttSnClient;

beforeAll(async () => {
  // Short Tretry so the run is quick; Nretry 12 so a 36% round-trip loss (1 − 0.8²) almost never exhausts it.
  f = await startSnFleet({ retry: { tRetryMs: 100, nRetry: 12 } });
  relay = await startLossyRelay({ host: '127.0.0.1', port: f.port }, { loss: 0.2, seed: SEED });
  c = await f.client('s-lossy', { gateway: { host: '127.0.0.1', port: relay.port }, retry: { tRetryMs: 100, nRetry: 12 } });
});
afterAll(async () => {
  relay?.close();
  await f?.stop();
});

it('client → broker: QoS 1 at least once, QoS 2 exactly once, in order', async () => {
  const N = 25;
  for (let i = 0; i < N; i++) await c.publish('devices/s-lossy/q1', `a${i}`, { qos: 1 });
  for (let i = 0; i < N; i++) await c.publish('devices/s-lossy/q2', `b${i}`, { qos: 2 });
  await f.waitFor((o) => o.some((x) => x.payload === `b${N - 1}`));
  // let late duplicates (if any) arrive before counting
  await new Promise((r) => setTimeout(r, 300));
  const q1 = f.observed.filter((x) => x.topic === 'devices/s-lossy/q1').map((x) => x.payload);
  const q2 = f.observed.filter((x) => x.topic === 'devices/s-lossy/q2').map((x) => x.payload);
  for (let i = 0; i < N; i++) expect(q1, `a${i}`).toContain(`a${i}`);
  expect(q2).toEqual(Array.from({ length: N }, (_, i) => `b${i}`));
  expect(relay.stats.dropped).toBeGreaterThan(10);
  expect(c.retransmissions).toBeGreaterThan(0);
});

it('broker → client: QoS 2 exactly once and in order, QoS 1 at least once', async () => {
  const got: string[] = [];
  c.on('message', (m) => got.push(new TextDecoder().decode(m.payload)));
  await c.subscribe('devices/s-lossy/cmd/#', { qos: 2 });
  const be = await f.backend('s-lossy');
  const N = 15;
  for (let i = 0; i < N; i++) await be.publishAsync('devices/s-lossy/cmd/x', `c${i}`, { qos: 2 });
  for (let i = 0; i < N; i++) await be.publishAsync('devices/s-lossy/cmd/y', `d${i}`, { qos: 1 });
  await waitUntil(() => got.includes(`d${N - 1}`), 30_000, 'last QoS 1 message');
  const q2 = got.filter((x) => x.startsWith('c'));
  expect(q2).toEqual(Array.from({ length: N }, (_, i) => `c${i}`));
  for (let i = 0; i < N; i++) expect(got).toContain(`d${i}`);
  expect(f.gateway.stats().retransmissions).toBeGreaterThan(0);
});
