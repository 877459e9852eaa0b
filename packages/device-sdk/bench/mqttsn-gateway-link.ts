/**
 * The gateway's broker link alone, CPU per QoS 1 publish: 10 links to Mosquitto (mTLS), each
 * publishing back to back with one in flight (what the gateway does for 10 MQTT-SN clients),
 * the default link (src/mqtt-sn/gateway-link.ts, on mqtt-packet) against the previous one (an
 * MQTT.js client per link, bench/mqttjs-link.ts), interleaved in one process, several rounds.
 * No UDP, no observer: the figure is this process's CPU (user + system) per acknowledged publish,
 * TLS and socket syscalls included.
 *
 *   npx tsx --conditions=@outpost/source packages/device-sdk/bench/mqttsn-gateway-link.ts [--rounds=6] [--messages=5000]
 */
import { loadavg } from 'node:os';
import { systemClock, type BrokerConnectRequest, type BrokerLink, type GatewayBrokerOptions } from '@outpost/device-sdk/mqtt-sn';
import { openBrokerLink } from '../src/mqtt-sn/gateway-link.js';
import { startFleet } from '../test/fixtures/fleet.js';
import { connectMqttJsLink } from './mqttjs-link.js';

const arg = (name: string, dflt: number): number => Number(process.argv.find((x) => x.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt);
const ROUNDS = arg('rounds', 6);
const TOTAL = arg('messages', 5000);
const LINKS = 10;

const fleet = await startFleet({ maxQueuedMessages: 0 });
const id = await fleet.device('gw-1');
const broker: GatewayBrokerOptions = { url: fleet.url, ca: fleet.ca.certificatePem };
const kinds: Record<string, (r: BrokerConnectRequest) => Promise<BrokerLink>> = {
  'default (mqtt-packet)': (r) => openBrokerLink(broker, r, systemClock),
  'MQTT.js (previous)': (r) => connectMqttJsLink(broker, r),
};
const payload = new TextEncoder().encode('0123456789abcdef');

async function round(kind: string): Promise<{ cpuUs: number; rate: number }> {
  const links = await Promise.all(Array.from({ length: LINKS }, (_, i) => (kinds[kind] as (r: BrokerConnectRequest) => Promise<BrokerLink>)({ clientId: `gw-1-l${i}`, creds: id, clean: true, keepAliveS: 60, will: undefined })));
  for (const l of links) l.listen({ message: () => {}, error: () => {}, close: () => {} });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(links.map((l, i) => new Promise<void>((resolve, reject) => {
    let k = 0;
    const next = (err?: Error): void => {
      if (err !== undefined) return reject(err);
      if (k++ === TOTAL / LINKS) return resolve();
      l.publishCallback?.(`devices/gw-1/link/${i}`, payload, 1, false, next);
    };
    next();
  })));
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  await Promise.all(links.map((l) => l.end(false)));
  return { cpuUs: (c.user + c.system) / TOTAL, rate: (TOTAL / ms) * 1000 };
}

console.log(`node ${process.version}; ${LINKS} links, ${TOTAL} QoS 1 publishes per round, 16-byte payloads, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const rows: Array<Record<string, string | number>> = [];
for (let i = 0; i < ROUNDS; i++) {
  const order = i % 2 === 0 ? Object.keys(kinds) : Object.keys(kinds).reverse();
  for (const kind of order) {
    const r = await round(kind);
    rows.push({ round: i + 1, link: kind, 'CPU µs/publish': Number(r.cpuUs.toFixed(1)), 'msg/s': Math.round(r.rate), load: loadavg()[0]?.toFixed(1) ?? '' });
  }
}
console.table(rows);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
for (const kind of Object.keys(kinds)) console.log(`${kind}: median CPU ${median(rows.filter((r) => r.link === kind).map((r) => r['CPU µs/publish'] as number)).toFixed(1)} µs/publish`);
await fleet.stop();
