// Fleet provisioning throughput end to end: CreateCertificateFromCsr → certificate →
// RegisterThing accepted, through the reference service and Mosquitto 2.0 (mutual TLS) on
// loopback, with the CA registry fsynced before every answer (group commits). The devices' CSRs
// are made before the clock starts (that is device CPU, not the service's). 8 claims, each one
// connection keeping 32 devices in flight.
// Run: npx tsx --conditions=@outpost/source packages/pki/bench/provisioning.ts [devices]
import { performance } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import type mqtt from 'mqtt';
import { createDeviceCsr } from '@outpost/device-sdk';
import { provisioningTopics } from '@outpost/pki';
import { startProvisioningFleet } from '../test/fixtures/provisioning-fleet.js';

const DEVICES = Number(process.argv[2] ?? 2000);
const CLAIMS = 8;
const WINDOW = 32;
const ids = Array.from({ length: DEVICES }, (_, i) => `bench-${String(i).padStart(5, '0')}`);
const claimNames = Array.from({ length: CLAIMS }, (_, i) => `bench-${i}`);
const fleet = await startProvisioningFleet({
  claims: Object.fromEntries(claimNames.map((n) => [n, ['factory']])),
  service: { templates: { factory: {} }, allow: ids, createRateLimit: { ratePerSecond: 1e6, burst: 1e6 }, registerRateLimit: { ratePerSecond: 1e6, burst: 1e6 } },
});
fleet.clock = Date.now();
const csrs = await Promise.all(ids.map((id) => createDeviceCsr(id)));
const create = provisioningTopics('create-from-csr');
const register = provisioningTopics('register', { template: 'factory' });

async function runClaim(c: mqtt.MqttClient, mine: number[]): Promise<void> {
  await c.subscribeAsync([create.accepted, create.rejected, register.accepted, register.rejected], { qos: 1 });
  let next = 0;
  let done = 0;
  return new Promise((resolve, reject) => {
    const start = (): void => {
      if (next >= mine.length) return;
      const i = mine[next++]!;
      c.publish(create.request, JSON.stringify({ certificateSigningRequest: csrs[i]!.csrPem, clientToken: `c${i}` }), { qos: 1 });
    };
    c.on('message', (topic, payload) => {
      const b = JSON.parse(payload.toString()) as Record<string, unknown>;
      const token = String(b['clientToken'] ?? '');
      if (!/^[cr]\d+$/.test(token) || !mine.includes(Number(token.slice(1)))) return;
      if (topic.endsWith('/rejected')) return reject(new Error(`${topic}: ${JSON.stringify(b)}`));
      const i = Number(token.slice(1));
      if (topic === create.accepted) {
        c.publish(register.request, JSON.stringify({ certificateOwnershipToken: b['certificateOwnershipToken'], parameters: { SerialNumber: ids[i] }, clientToken: `r${i}` }), { qos: 1 });
      } else if (topic === register.accepted) {
        done++;
        if (done === mine.length) resolve();
        else start();
      }
    });
    for (let k = 0; k < WINDOW; k++) start();
  });
}

const clients = await Promise.all(claimNames.map(async (n) => fleet.raw(await fleet.claim(n))));
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await Promise.all(clients.map((c, k) => runClaim(c, ids.map((_, i) => i).filter((i) => i % CLAIMS === k))));
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const stats = fleet.service.stats();
console.log(`fleet provisioning, ${DEVICES} devices, ${CLAIMS} claims × ${WINDOW} in flight (node ${process.version}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
console.log(`  ${(DEVICES / seconds).toFixed(0)} devices/s end to end (${seconds.toFixed(2)} s), ${stats.commits} registry commits (${(2 * DEVICES / stats.commits).toFixed(1)} requests per fsynced write)`);
console.log(`  ${(DEVICES / cpuSeconds).toFixed(0)} devices per CPU-second of this process (service and the claims' clients; Mosquitto not counted): ${(1000 * cpuSeconds / DEVICES).toFixed(2)} ms CPU per device`);
await Promise.all(clients.map((c) => c.endAsync()));
await fleet.stop();
