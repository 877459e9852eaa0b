// End-to-end latency from an app's desired write to the device's delta handler, through the
// reference shadow service and Mosquitto 2.0 (mutual TLS) on loopback, with 100 devices
// connected and synced. Each round the app writes a new desired value for every device at once.
// Run: npx tsx --conditions=@outpost/source packages/shadow/bench/e2e.ts
import { performance } from 'node:perf_hooks';
import type { DeviceClient } from '@outpost/device-sdk';
import { createShadowAppClient, createShadowClient, startShadowService, type ShadowClient } from '@outpost/shadow';
import { APP_ID, SERVICE_ID, startShadowFleet } from '../test/fixtures/shadow-fleet.js';

const DEVICES = 100;
const ROUNDS = 20;

const fleet = await startShadowFleet();
const serviceMqtt = await fleet.connect(SERVICE_ID);
const service = await startShadowService({ mqtt: serviceMqtt });
const appMqtt = await fleet.connect(APP_ID);
const app = createShadowAppClient({ mqtt: appMqtt, requestTimeoutMs: 10_000 });

const sentAt = new Map<string, number>();
const latencies: number[] = [];
const devices: Array<{ mq: DeviceClient; shadow: ShadowClient }> = [];
let waiting = 0;
let roundDone: (() => void) | undefined;
for (let i = 0; i < DEVICES; i++) {
  const id = `bench-${String(i).padStart(3, '0')}`;
  const mq = await fleet.connect(id);
  const shadow = await createShadowClient({ mqtt: mq, thingName: id, requestTimeoutMs: 10_000 });
  shadow.onDelta((delta) => {
    const t = sentAt.get(`${id}:${String(delta['round'])}`);
    if (t === undefined) return;
    latencies.push(performance.now() - t);
    if (--waiting === 0) roundDone?.();
  });
  devices.push({ mq, shadow });
  await shadow.synced().catch(() => undefined);
}

for (let round = 0; round < ROUNDS + 2; round++) {
  waiting = DEVICES;
  const done = new Promise<void>((resolve) => { roundDone = resolve; });
  await Promise.all(devices.map(({ shadow }) => {
    sentAt.set(`${shadow.thingName}:${round}`, performance.now());
    return app.updateDesired(shadow.thingName, { round });
  }));
  await done;
  if (round < 2) latencies.length = 0; // warm-up rounds
}

const line = (xs: number[]): string => {
  xs.sort((a, b) => a - b);
  const q = (p: number): number => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
  return `median ${q(0.5).toFixed(1)} ms   p90 ${q(0.9).toFixed(1)} ms   p99 ${q(0.99).toFixed(1)} ms   max ${xs.at(-1)!.toFixed(1)} ms`;
};
const burst = latencies.splice(0);

// One write at a time, round-robin over the 100 connected devices.
for (let i = 0; i < 5 * DEVICES; i++) {
  const { shadow } = devices[i % DEVICES]!;
  const round = ROUNDS + 2 + i;
  waiting = 1;
  const done = new Promise<void>((resolve) => { roundDone = resolve; });
  sentAt.set(`${shadow.thingName}:${round}`, performance.now());
  await app.updateDesired(shadow.thingName, { round });
  await done;
}
const single = latencies.splice(0);

console.log(`desired write → device delta handler through the reference service, ${DEVICES} devices connected, Mosquitto 2.0 mTLS on loopback, node ${process.version}`);
console.log(`  one write at a time (${single.length} samples):        ${line(single)}`);
console.log(`  all ${DEVICES} devices written at once (${ROUNDS} rounds, ${burst.length} samples): ${line(burst)}`);
console.log(`  service: ${JSON.stringify(service.stats())}`);

for (const d of devices) { await d.shadow.close(); await d.mq.close({ force: true }); }
await app.close();
await service.close();
await appMqtt.close({ force: true });
await serviceMqtt.close({ force: true });
await fleet.stop();
