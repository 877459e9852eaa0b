/**
 * What the device-side credential check costs, and what a whole mTLS connect costs with it.
 *
 * Run from the repository root:
 *
 *   npx tsx --conditions=@outpost/source packages/device-sdk/bench/credential-check.ts
 *
 * 1. checkDeviceCredentials per call: "first call" cycles through more distinct credential sets
 *    than the check remembers (so every call parses, matches the key and verifies the chain),
 *    "repeat call" passes the same PEM strings again (a reconnect), for a direct and an
 *    intermediate-issued certificate.
 * 2. Connect CPU: process CPU time (user + system, `process.cpuUsage`) per connect + disconnect
 *    of connectDevice and of raw MQTT.js with the same certificate, against a local Mosquitto
 *    running the brokerConfig() config; rounds alternate the two so load drifts hit both.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { bench, report, startMosquitto, tempDir } from '@outpost/test-peers';
import { checkDeviceCredentials, connectDevice } from '@outpost/device-sdk';
import { brokerConfig, createFleetCA, createIntermediateCA, issueDeviceCertificate, issueServerCertificate } from '@outpost/pki';

const ROUNDS = Number(process.env['ROUNDS'] ?? 5);
const CONNECTS = Number(process.env['CONNECTS'] ?? 40);

const root = await createFleetCA();
const plant = await createIntermediateCA({ ca: root });
const sets = await Promise.all(Array.from({ length: 24 }, (_, i) => issueDeviceCertificate({ ca: root, deviceId: `bench-${i}` })));
const one = sets[0]!;
const viaPlant = await issueDeviceCertificate({ ca: plant, deviceId: 'bench-plant' });
let i = 0;
report('checkDeviceCredentials', [
  bench('first call (24 distinct sets, none remembered)', () => {
    const s = sets[i++ % sets.length]!;
    return checkDeviceCredentials({ cert: s.certificatePem, key: s.privateKeyPem!, ca: root.certificatePem });
  }),
  bench('repeat call (same PEM strings)', () => checkDeviceCredentials({ cert: one.certificatePem, key: one.privateKeyPem!, ca: root.certificatePem, clientId: 'bench-0' })),
  bench('repeat call, intermediate bundle', () => checkDeviceCredentials({ cert: viaPlant.chainPem, key: viaPlant.privateKeyPem!, ca: root.certificatePem })),
]);

// 2. connect CPU against Mosquitto
const tmp = tempDir('outpost-bench-cred-');
const server = await issueServerCertificate({ ca: root, hosts: ['127.0.0.1'] });
const paths = { caPath: join(tmp.path, 'ca.pem'), serverCertPath: join(tmp.path, 'server.pem'), serverKeyPath: join(tmp.path, 'server.key'), aclPath: join(tmp.path, 'acl') };
writeFileSync(paths.caPath, root.certificatePem);
writeFileSync(paths.serverCertPath, server.certificatePem);
writeFileSync(paths.serverKeyPath, server.privateKeyPem);
const broker = await startMosquitto({
  dir: tmp.path,
  config: (port) => {
    const cfg = brokerConfig({ ...paths, port, host: '127.0.0.1' });
    writeFileSync(paths.aclPath, cfg.acl);
    return cfg.mosquittoConf;
  },
});
const url = `mqtts://127.0.0.1:${broker.port}`;
const tls = { ca: root.certificatePem, cert: one.certificatePem, key: one.privateKeyPem! };

async function cpuPerConnect(connect: () => Promise<() => Promise<void>>): Promise<number> {
  const t0 = process.cpuUsage();
  for (let n = 0; n < CONNECTS; n++) await (await connect())();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1000 / CONNECTS;
}
const sdk = async (): Promise<() => Promise<void>> => {
  const c = await connectDevice({ url, ...tls, reconnect: false });
  return () => c.close();
};
const raw = async (): Promise<() => Promise<void>> => {
  const c = await mqtt.connectAsync(url, { ...tls, clientId: 'bench-0', protocolVersion: 5, reconnectPeriod: 0 });
  return async () => { await c.endAsync(); };
};
await cpuPerConnect(sdk); // warm-up: JIT, TLS session code paths
await cpuPerConnect(raw);
const ratios: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const a = await cpuPerConnect(sdk);
  const b = await cpuPerConnect(raw);
  ratios.push(a / b);
  console.log(`  round ${r + 1}: connectDevice ${a.toFixed(2)} ms CPU/connect, raw MQTT.js ${b.toFixed(2)} ms, ratio ${(a / b).toFixed(3)}`);
}
ratios.sort((x, y) => x - y);
console.log(`connect CPU, connectDevice / raw MQTT.js: median ${ratios[Math.floor(ratios.length / 2)]!.toFixed(3)}× over ${ROUNDS} rounds of ${CONNECTS} connects`);
await broker.stop();
tmp.cleanup();
