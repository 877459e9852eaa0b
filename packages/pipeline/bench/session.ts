// The consumer session alone against the raw MQTT.js QoS 1 subscriber, same broker, same
// publisher, same run: 20 device connections → Mosquitto (the fleet's mTLS config) → a consumer
// that does no work. (d) MQTT.js subscribes with QoS 1 (PUBACK at once); (e) connectIngest with a
// handler that resolves at once (PUBACKs through the acknowledgement window, in order). Timed from
// the first message received to the last one received and acknowledged; the CPU time of this
// process per message (from just before the publisher starts) is printed for both.
//   npx tsx --conditions=@outpost/source packages/pipeline/bench/session.ts [MESSAGES_PER_DEVICE]
import { fork } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { connectIngest } from '@outpost/pipeline';
import { startFleet } from '../../device-sdk/test/fixtures/fleet.js';
import { benchDevices } from './ingest-data.js';

const DEVICES = 20;
const PER_DEVICE = Number(process.argv[2] ?? 2500);
const MESSAGES = DEVICES * PER_DEVICE;
const cpuUs = (u: NodeJS.CpuUsage): number => u.user + u.system;

const fleet = await startFleet();
try {
  const app = await fleet.device('app-observer');
  const devices = await benchDevices(fleet, DEVICES);
  const t0 = Date.now() - PER_DEVICE * 1000 - 60_000;
  const publish = async (): Promise<void> => {
    const child = fork(join(import.meta.dirname, 'ingest-publisher.ts'), { stdio: 'inherit' });
    await new Promise<void>((resolve, reject) => {
      child.on('message', (m: { done?: boolean }) => { if (m.done === true) resolve(); });
      child.on('exit', (code) => { if (code !== 0) reject(new Error(`publisher exited with ${code}`)); });
      child.send({ url: fleet.url, ca: fleet.ca.certificatePem, devices, messagesPerDevice: PER_DEVICE, t0 });
    });
  };
  const results: string[] = [];
  for (const round of [1, 2]) {
    // (d) raw MQTT.js
    const raw = await mqtt.connectAsync(fleet.url, { ca: fleet.ca.certificatePem, cert: app.cert, key: app.key, clientId: 'bench-raw', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 0, receiveMaximum: 65_535 }, reconnectPeriod: 0 });
    let first = 0;
    let n = 0;
    raw.on('message', () => {
      if (first === 0) first = performance.now();
      n++;
    });
    await raw.subscribeAsync('$share/raw/devices/+/telemetry', { qos: 1 });
    const cpuD = process.cpuUsage();
    await publish();
    while (n < MESSAGES) await new Promise((r) => setTimeout(r, 5));
    const msD = performance.now() - first;
    const usD = cpuUs(process.cpuUsage(cpuD)) / MESSAGES;
    await raw.endAsync();
    // (e) connectIngest, a handler that does nothing
    let firstE = 0;
    const ingest = await connectIngest({ url: fleet.url, ca: fleet.ca.certificatePem, cert: app.cert, key: app.key, clientId: 'bench-session', group: 'session' }, async () => {
      if (firstE === 0) firstE = performance.now();
    });
    const cpuE = process.cpuUsage();
    await publish();
    while (ingest.stats().acked < MESSAGES) await new Promise((r) => setTimeout(r, 5));
    const msE = performance.now() - firstE;
    const usE = cpuUs(process.cpuUsage(cpuE)) / MESSAGES;
    await ingest.close();
    const rate = (ms: number): string => Math.round((MESSAGES / ms) * 1000).toLocaleString('en-US');
    results.push(`  round ${round}: (d) raw MQTT.js ${rate(msD)} msg/s; (e) connectIngest ${rate(msE)} msg/s; (e)/(d) ${(msD / msE).toFixed(2)}×; CPU of this process per message (d) ${usD.toFixed(1)} µs, (e) ${usE.toFixed(1)} µs`);
  }
  console.log(`\nConsumer session vs raw MQTT.js QoS 1 subscriber, ${MESSAGES.toLocaleString('en-US')} messages (node ${process.version}, ${cpus().length} cores, load ${loadavg()[0]?.toFixed(1)})`);
  for (const r of results) console.log(r);
} finally {
  await fleet.stop();
}
