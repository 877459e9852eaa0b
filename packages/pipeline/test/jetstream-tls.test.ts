// TLS between the pipeline and NATS with the pipeline's own identity (the fleet CA's application
// certificate), and what NATS 2.9's own MQTT listener offers devices: QoS 1 over TLS with the
// device certificate mapped to a NATS user (`verify_and_map`) whose permissions allow only its
// own telemetry subject. The fleet fixture's broker certificate (for 127.0.0.1) serves NATS too.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startNatsCluster, type NatsCluster } from '@outpost/test-peers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from '../../device-sdk/test/fixtures/fleet.js';
import { connectDevice } from '@outpost/device-sdk';
import { PipelineError } from '../src/errors.js';
import { connectJetStreamIngest } from '../src/jetstream-ingest.js';

let fleet: Fleet;
let nats: NatsCluster;
let app: { cert: string; key: string };
beforeAll(async () => {
  fleet = await startFleet();
  app = await fleet.device('app-observer');
  nats = await startNatsCluster({
    nodes: 1,
    tls: { cert: readFileSync(join(fleet.dir, 'server.pem'), 'utf8'), key: readFileSync(join(fleet.dir, 'server.key'), 'utf8'), ca: fleet.ca.certificatePem, map: true },
    // NATS's MQTT listener (MQTT 3.1.1): TLS, the client certificate's subject is the user.
    mqtt: () => 'mqtt { listen: 127.0.0.1:{MQTT_PORT}, tls { cert_file: "{DIR}/server.crt", key_file: "{DIR}/server.key", ca_file: "{DIR}/ca.crt", verify_and_map: true, timeout: 5 } }',
    extra: () => `authorization { users = [
      { user: "CN=app-observer" }
      { user: "CN=pump-1", permissions: { publish: { allow: ["devices.pump-1.telemetry", "$MQTT.>"] }, subscribe: { allow: ["$MQTT.>"] } } }
    ] }`,
  });
});
afterAll(async () => {
  await nats?.stop();
  await fleet?.stop();
});

const until = async (cond: () => boolean, what: string, ms = 15_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('JetStream over TLS with identities from the fleet CA', () => {
  it('the pipeline connects with its own certificate; without one the cluster refuses it', async () => {
    const tls = nats.urls.map((u) => u.replace('nats://', 'tls://'));
    await expect(connectJetStreamIngest({ servers: tls, ca: fleet.ca.certificatePem, replicas: 1, requestTimeoutMs: 2_000 }, async () => undefined)).rejects.toBeInstanceOf(PipelineError);
    const got: string[] = [];
    const ingest = await connectJetStreamIngest({ servers: tls, ca: fleet.ca.certificatePem, cert: app.cert, key: app.key, replicas: 1 }, async (m) => {
      got.push(`${m.topic} ${new TextDecoder().decode(m.payload)}`);
    });
    // A device on NATS's own MQTT listener (QoS 1, TLS, its certificate mapped to its user).
    const creds = await fleet.device('pump-1');
    const device = await connectDevice({ url: `mqtts://127.0.0.1:${nats.mqttPorts[0]}`, ca: fleet.ca.certificatePem, cert: creds.cert, key: creds.key, clientId: 'pump-1', protocolVersion: 4 });
    await device.publish('devices/pump-1/telemetry', '{"temperature": 21.5}', { qos: 1 });
    await until(() => got.length === 1, 'the device message through the stream');
    expect(got).toEqual(['devices/pump-1/telemetry {"temperature": 21.5}']);
    await device.close();
    await ingest.close();
  });

  it('NATS 2.9 MQTT: a device cannot publish as another (permissions), and MQTT 5 is refused', async () => {
    const tls = nats.urls.map((u) => u.replace('nats://', 'tls://'));
    const got: string[] = [];
    const ingest = await connectJetStreamIngest({ servers: tls, ca: fleet.ca.certificatePem, cert: app.cert, key: app.key, replicas: 1 }, async (m) => {
      got.push(m.topic);
    });
    const creds = await fleet.device('pump-1');
    const url = `mqtts://127.0.0.1:${nats.mqttPorts[0]}`;
    const opts = { ca: fleet.ca.certificatePem, cert: creds.cert, key: creds.key, protocolVersion: 4 as const, reconnectPeriod: 0, connectTimeout: 3_000 };
    const c = await mqtt.connectAsync(url, { ...opts, clientId: 'pump-1b' });
    // MQTT 3.1.1 has no negative PUBACK: whatever NATS answers, the message must not reach the stream.
    await Promise.race([c.publishAsync('devices/pump-2/telemetry', '{}', { qos: 1 }).catch(() => undefined), new Promise((r) => setTimeout(r, 2_000))]);
    await c.endAsync(true);
    const ok = await mqtt.connectAsync(url, { ...opts, clientId: 'pump-1c' });
    await ok.publishAsync('devices/pump-1/telemetry', '{"v": 1}', { qos: 1 });
    await until(() => got.length >= 1, 'the permitted message');
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toEqual(['devices/pump-1/telemetry']);
    await ok.endAsync();
    await expect(mqtt.connectAsync(url, { ...opts, clientId: 'pump-1d', protocolVersion: 5 })).rejects.toThrow();
    await ingest.close();
  });
});
