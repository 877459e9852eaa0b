// Revocation that takes effect on a running Mosquitto 2.0: the CRL reloaded on SIGHUP (new
// handshakes of the revoked certificate fail), and the revoked device's open connection cut by
// a session takeover (the broker binds the client id to the CN, so only a certificate with the
// device's CN can take its session: a short-lived eviction certificate from the CA). 50 other
// devices stay connected throughout.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startMosquitto, tempDir, type Mosquitto } from '@outpost/test-peers';
import { connectDevice, type DeviceClient } from '@outpost/device-sdk';
import { brokerConfig, initCaDir, issueEvictionCertificate, type CaDir } from '@outpost/pki';

let ca: CaDir;
let broker: Mosquitto;
let url: string;
const tmp = tempDir('outpost-revoke-');
beforeAll(async () => {
  ca = await initCaDir(join(tmp.path, 'ca'));
  const server = await ca.issueServer({ hosts: ['127.0.0.1'] });
  const dir = join(tmp.path, 'broker'); // startMosquitto opens up its own directory's files only
  mkdirSync(dir);
  const paths = { caPath: join(dir, 'ca.pem'), serverCertPath: join(dir, 'server.pem'), serverKeyPath: join(dir, 'server.key'), aclPath: join(dir, 'acl'), crlPath: ca.crlPath };
  writeFileSync(paths.caPath, ca.certificatePem);
  writeFileSync(paths.serverCertPath, server.chainPem);
  writeFileSync(paths.serverKeyPath, server.privateKeyPem, { mode: 0o600 });
  // Mosquitto runs as its own user: it reads crl.pem from the CA directory (ca.key stays 0600).
  chmodSync(tmp.path, 0o755);
  chmodSync(ca.dir, 0o755);
  chmodSync(ca.crlPath, 0o644);
  broker = await startMosquitto({
    dir,
    config: (port) => {
      const cfg = brokerConfig({ ...paths, port, host: '127.0.0.1' });
      writeFileSync(paths.aclPath, cfg.acl);
      return cfg.mosquittoConf;
    },
  });
  url = `mqtts://127.0.0.1:${broker.port}`;
});
afterAll(async () => {
  await broker?.stop();
  tmp.cleanup();
});

const rawConnect = (cert: string, key: string): Promise<mqtt.MqttClient | Error> =>
  mqtt.connectAsync(url, { cert, key, ca: ca.certificatePem, protocolVersion: 5, clientId: 'x', reconnectPeriod: 0, connectTimeout: 10_000 }).catch((e: unknown) => e as Error);

test('revoke + SIGHUP: the revoked device is cut off and cannot come back; 50 others stay connected', async () => {
  const others: DeviceClient[] = [];
  let othersDropped = 0;
  for (let i = 0; i < 50; i++) {
    const d = await ca.issueDevice({ deviceId: `keep-${i}` });
    const c = await connectDevice({ url, cert: d.chainPem, key: d.privateKeyPem!, ca: ca.certificatePem });
    c.on('offline', () => othersDropped++);
    others.push(c);
  }
  const lost = await ca.issueDevice({ deviceId: 'lost-1' });
  const victim = await connectDevice({ url, cert: lost.chainPem, key: lost.privateKeyPem!, ca: ca.certificatePem, reconnect: { initialDelayMs: 50, maxDelayMs: 200 } });
  let victimOffline = 0;
  let victimReconnected = 0;
  const victimErrors: string[] = [];
  victim.on('offline', () => victimOffline++);
  victim.on('connect', (i) => void (i.reconnect && victimReconnected++));
  victim.on('error', (e) => victimErrors.push(e.code));

  // 1. Revoke: crl.pem rewritten; Mosquitto re-reads it on SIGHUP (tested below by a new handshake).
  // lost-0 (not connected) shows what the running broker checks new handshakes against.
  const lost0 = await ca.issueDevice({ deviceId: 'lost-0' });
  await ca.revokeDevice('lost-0');
  await ca.revokeDevice('lost-1');
  // Without a signal the running broker still has the old CRL: a fresh handshake passes.
  const before = await rawConnect(lost0.chainPem, lost0.privateKeyPem!);
  expect(before).not.toBeInstanceOf(Error);
  await (before as mqtt.MqttClient).endAsync(true);
  process.kill(broker.pid()!, 'SIGHUP');
  // The reload is asynchronous in the broker: retry a fresh handshake until it is refused.
  let refused: mqtt.MqttClient | Error = new Error('not tried');
  for (let i = 0; i < 100; i++) {
    refused = await rawConnect(lost0.chainPem, lost0.privateKeyPem!);
    if (refused instanceof Error) break;
    await refused.endAsync(true);
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(refused).toBeInstanceOf(Error);
  expect(String(refused)).toMatch(/certificate revoked/); // TLS alert 44 (RFC 5246 §7.2.2)
  expect(broker.log()).toMatch(/Reloading config/);
  // 2. The open TLS session is not re-checked by a reload: cut it by taking the session over.
  expect(victim.connected).toBe(true);
  const evict = await issueEvictionCertificate({ ca: await ca.credentials(), deviceId: 'lost-1' });
  const kicker = await rawConnect(evict.chainPem, evict.privateKeyPem!);
  expect(kicker).not.toBeInstanceOf(Error);
  await (kicker as mqtt.MqttClient).endAsync();
  await new Promise<void>((r) => { const check = (): void => void (victimOffline > 0 ? r() : setTimeout(check, 20)); check(); });
  // 3. It cannot come back: its reconnects fail the handshake (give it several attempts).
  await new Promise<void>((r) => { const check = (): void => void (victimErrors.length >= 3 ? r() : setTimeout(check, 20)); check(); });
  expect(victimReconnected).toBe(0);
  expect(victim.connected).toBe(false);
  await victim.close();
  // 4. Nobody else noticed: no drop, and every one still round-trips a QoS 1 publish.
  expect(othersDropped).toBe(0);
  await Promise.all(others.map((c, i) => c.publish(`devices/keep-${i}/telemetry`, 'still here', { qos: 1 })));
  await Promise.all(others.map((c) => c.close()));
});
