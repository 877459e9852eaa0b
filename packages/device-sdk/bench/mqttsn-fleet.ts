/**
 * Gateway QoS 1 forwarding at fleet scale. The devices run in a separate process
 * (test/fixtures/mqttsn-load-clients.ts) so the bench process holds only what is measured: the
 * gateway, or nothing for the baseline. In the same run:
 *
 *   - MQTT.js direct: 10 MQTT.js clients straight to Mosquitto (mTLS), QoS 1, one in flight each;
 *   - gateway, 10 clients: 10 MQTT-SN clients through MqttSnGateway (one broker connection each);
 *   - gateway, 1,000 clients: the same total through 1,000 MQTT-SN clients.
 *
 * Besides the rate, the CPU time of this process per message (user + system, connects
 * included): for the gateway rows that is the gateway's cost, which a loaded machine's
 * scheduler distorts much less than the rate.
 *
 * Every client publishes back to back (unpaced); the rate is messages acknowledged per second of
 * the publish phase (first publish to last acknowledgement, measured in the client process), and
 * the observer on the broker checks every message arrived. All use one identity (the gateway's
 * certificate, useGatewayIdentity 'always'), so the three runs differ only in the path.
 *
 * Needs mosquitto. Run from the repository root:
 *
 *   npx tsx --conditions=@outpost/source packages/device-sdk/bench/mqttsn-fleet.ts
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectAsync } from 'mqtt';
import { MqttSnGateway } from '@outpost/device-sdk/mqtt-sn';
import { startFleet } from '../test/fixtures/fleet.js';

const TOTAL = 5000;
const fleet = await startFleet({ maxQueuedMessages: 0 });
const id = await fleet.device('gw-1');
const app = await fleet.device('app-observer');
const dir = mkdtempSync(join(tmpdir(), 'mqttsn-fleet-'));
for (const [k, v] of Object.entries({ CA: fleet.ca.certificatePem, CERT: id.cert, KEY: id.key })) writeFileSync(join(dir, k), v);
const observer = await connectAsync(fleet.url, { clientId: 'app-observer', cert: app.cert, key: app.key, ca: fleet.ca.certificatePem, reconnectPeriod: 0 });
let seen = 0;
observer.on('message', () => { seen += 1; });
await observer.subscribeAsync('devices/gw-1/#', { qos: 1 });

const gw = new MqttSnGateway({
  udp: { host: '127.0.0.1', port: 0 },
  broker: { url: fleet.url, ca: fleet.ca.certificatePem },
  identity: { clientId: 'gw-1', cert: id.cert, key: id.key },
  useGatewayIdentity: 'always',
  maxClients: 1100,
});
await gw.start();
const script = fileURLToPath(new URL('../test/fixtures/mqttsn-load-clients.ts', import.meta.url));

async function run(label: string, clients: number, mode: 'sn' | 'mqtt'): Promise<Record<string, string | number>> {
  seen = 0;
  const prefix = `${mode}${clients}`;
  const cpu0 = process.cpuUsage();
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@outpost/source', script, String(gw.address().port), String(clients), String(TOTAL / clients), '1e12', 'gw-1', prefix, mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, OUTPOST_LOAD_URL: fleet.url, OUTPOST_LOAD_CA: join(dir, 'CA'), OUTPOST_LOAD_CERT: join(dir, 'CERT'), OUTPOST_LOAD_KEY: join(dir, 'KEY') },
  });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  await new Promise((r) => child.on('exit', r));
  const out = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { published: number; failed: number; retransmissions: number; publishMs: number; connectMs: number };
  const end = Date.now() + 10_000;
  while (seen < out.published && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  const before = gw.stats();
  // CPU of this process (the gateway, or nothing but the observer for the baseline) per message,
  // connects included: less at the mercy of a loaded machine's scheduler than the rate.
  const cpu = process.cpuUsage(cpu0);
  const cpuUs = Math.round((cpu.user + cpu.system) / Math.max(1, out.published));
  return { path: label, clients, acknowledged: out.published, 'at observer': seen, failed: out.failed, 'client retransmissions': out.retransmissions, 'msg/s': Math.round((out.published / out.publishMs) * 1000), 'bench-process CPU µs/msg': cpuUs, 'gateway clients': before.clients };
}

const only = process.env['FLEET_ONLY'];
if (only === 'gw10') {
  console.table([await run('gateway', 10, 'sn')]);
  process.exit(0);
}
const rows = [await run('MQTT.js direct', 10, 'mqtt'), await run('gateway', 10, 'sn'), await run('gateway', 1000, 'sn')];
const [direct, g10, g1000] = rows.map((r) => r['msg/s'] as number) as [number, number, number];
console.log(`node ${process.version}; QoS 1, ${TOTAL} messages per run, 16-byte payloads ("i:k"), devices in a separate process`);
console.table(rows);
console.log(`gateway 10 / MQTT.js direct: ${(g10 / direct).toFixed(2)}; gateway 1,000 / gateway 10: ${(g1000 / g10).toFixed(2)}`);
await gw.close();
await observer.endAsync();
await fleet.stop();
rmSync(dir, { recursive: true, force: true });
