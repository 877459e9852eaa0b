/**
 * Gateway throughput: messages/s from 10 MQTT-SN clients through MqttSnGateway to Mosquitto,
 * against the same 10 clients (same ids, same certificates) publishing straight to Mosquitto
 * with MQTT.js, in the same run, at QoS 0 and QoS 1. Throughput is counted where it matters:
 * at a subscriber on the broker (the fleet's app identity), from the first send to the last
 * message received. QoS 1 keeps one message in flight per client on both paths (MQTT-SN 1.2
 * §6.6 allows no more; the MQTT.js clients await each publish the same way).
 *
 * Needs mosquitto (started on a free 127.0.0.1 port with the fleet CA, as the tests do).
 * Run from the repository root:
 *
 *   npx tsx --conditions=@outpost/source packages/device-sdk/bench/mqttsn-gateway.ts
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { connectMqttSn, MqttSnGateway, type MqttSnClient } from '@outpost/device-sdk/mqtt-sn';
import { startFleet } from '../test/fixtures/fleet.js';

const CLIENTS = 10;
const PER_CLIENT = { 0: 1000, 1: 300 } as const;
const payload = new Uint8Array(16).fill(0x42);

const fleet = await startFleet({ maxQueuedMessages: 0 });
const creds = new Map<string, { cert: string; key: string }>();
for (let i = 0; i < CLIENTS; i++) {
  const d = await fleet.device(`bench-${i}`);
  creds.set(d.deviceId, { cert: d.cert, key: d.key });
}
const app = await fleet.device('app-observer');
const observer = await connectAsync(fleet.url, { clientId: 'app-observer', cert: app.cert, key: app.key, ca: fleet.ca.certificatePem, reconnectPeriod: 0 });
let received = 0;
let waiter: (() => void) | undefined;
let target = Infinity;
observer.on('message', () => {
  received++;
  if (received >= target) waiter?.();
});
await observer.subscribeAsync('devices/+/bench', { qos: 1 });

async function measure(total: number, send: () => Promise<void>): Promise<{ rate: number; delivered: number }> {
  received = 0;
  target = total;
  const done = new Promise<void>((r) => { waiter = r; });
  const t0 = performance.now();
  await send();
  await Promise.race([done, new Promise((r) => setTimeout(r, 15_000))]);
  const ms = performance.now() - t0;
  const delivered = received;
  await new Promise((r) => setTimeout(r, 200));
  return { rate: (delivered / ms) * 1000, delivered };
}

const gw = new MqttSnGateway({ udp: { host: '127.0.0.1', port: 0 }, broker: { url: fleet.url, ca: fleet.ca.certificatePem }, credentials: creds });
await gw.start();
const port = gw.address().port;
const sn: MqttSnClient[] = [];
for (let i = 0; i < CLIENTS; i++) sn.push(await connectMqttSn({ gateway: { host: '127.0.0.1', port }, clientId: `bench-${i}`, bind: { host: '127.0.0.1' }, retry: { tRetryMs: 1000, nRetry: 5 } }));
const ids = await Promise.all(sn.map((c, i) => c.register(`devices/bench-${i}/bench`)));

const rows: Array<Record<string, string | number>> = [];
for (const qos of [0, 1] as const) {
  const n = PER_CLIENT[qos];
  const total = n * CLIENTS;
  const viaGw = await measure(total, async () => {
    await Promise.all(sn.map(async (c, i) => {
      for (let k = 0; k < n; k++) {
        await c.publish({ kind: 'normal', id: ids[i] as number }, payload, { qos });
        // QoS 0 is fire-and-forget over UDP with no flow control: yield after each send (both
        // paths alike) or the burst overflows the gateway's socket receive buffer and is lost.
        if (qos === 0) await new Promise((r) => setImmediate(r));
      }
    }));
  });
  // The same clients, directly: disconnect them from the gateway's broker side first is not
  // needed (different client ids would be unfair, so reuse the ids after the gateway run).
  const direct: MqttClient[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const c = creds.get(`bench-${i}`) as { cert: string; key: string };
    direct.push(await connectAsync(fleet.url, { clientId: `bench-${i}-direct`, cert: c.cert, key: c.key, ca: fleet.ca.certificatePem, reconnectPeriod: 0 }));
  }
  const straight = await measure(total, async () => {
    await Promise.all(direct.map(async (c, i) => {
      for (let k = 0; k < n; k++) {
        if (qos === 1) await c.publishAsync(`devices/bench-${i}/bench`, Buffer.from(payload), { qos: 1 });
        else {
          c.publish(`devices/bench-${i}/bench`, Buffer.from(payload), { qos: 0 });
          await new Promise((r) => setImmediate(r));
        }
      }
    }));
  });
  await Promise.all(direct.map((c) => c.endAsync()));
  rows.push({
    qos,
    messages: total,
    'via gateway msg/s': Math.round(viaGw.rate),
    'delivered (gw)': viaGw.delivered,
    'MQTT.js direct msg/s': Math.round(straight.rate),
    'delivered (direct)': straight.delivered,
    'gateway/direct': Number((viaGw.rate / straight.rate).toFixed(2)),
  });
}
console.log(`node ${process.version}, ${CLIENTS} clients, 16-byte payloads, Mosquitto with mTLS on 127.0.0.1`);
console.table(rows);
console.log('gateway stats', gw.stats());
await Promise.all(sn.map((c) => c.disconnect()));
await gw.close();
await observer.endAsync();
await fleet.stop();
