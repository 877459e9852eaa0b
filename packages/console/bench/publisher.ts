// A child process that publishes as DEVICES simulated devices, RATE messages a second each, for
// MS milliseconds (QoS 0, one MQTT connection of a service identity allowed to publish on
// devices/+/telemetry). Each payload carries its publish time (`ts`), which the page uses to
// stamp publish → pixel. Prints {"sent": N} at the end.
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';

const [url, credDir, devicesArg, rateArg, msArg] = process.argv.slice(2) as [string, string, string, string, string];
const devices = Number(devicesArg);
const rate = Number(rateArg);
const ms = Number(msArg);
const client = await mqtt.connectAsync(url, {
  ca: readFileSync(`${credDir}/ca.pem`), cert: readFileSync(`${credDir}/pub.pem`), key: readFileSync(`${credDir}/pub.key`),
  clientId: 'bench-pub', protocolVersion: 5, reconnectPeriod: 0,
});
const perTick = (devices * rate) / 100; // a tick every 10 ms
let sent = 0;
let next = 0;
const start = performance.now();
let tick = 0;
while (performance.now() - start < ms) {
  tick++;
  const due = Math.round(tick * perTick);
  const now = Date.now();
  for (; sent < due; sent++) {
    const d = next++ % devices;
    client.publish(`devices/dev-${d}/telemetry`, `{"ts":${now},"temperature":${(50 + 20 * Math.sin(now / 2000 + d)).toFixed(2)}}`, { qos: 0 });
  }
  const wait = start + tick * 10 - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
await client.endAsync();
process.stdout.write(`${JSON.stringify({ sent })}\n`);
