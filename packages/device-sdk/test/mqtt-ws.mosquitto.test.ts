// MQTT over WebSockets (wss://) through a real Mosquitto 2.0 with the websockets listener that
// brokerConfig({ websockets }) writes: the device certificate is still mandatory and checked in the
// TLS handshake under the HTTP upgrade, the ACL still confines the device, and messages cross
// between wss:// and mqtts:// clients of the same broker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { connectDevice, DeviceError, type DeviceClient } from '@outpost/device-sdk';
import { startFleet, type Fleet } from './fixtures/fleet.js';

let fleet: Fleet;
let wsUrl: string;
beforeAll(async () => {
  fleet = await startFleet({ websockets: true, bindClientId: true, services: { 'ops-cmd': ['devices/+/cmd'] } });
  wsUrl = fleet.wsUrl!;
});
afterAll(async () => {
  await fleet?.stop();
});

async function wsDevice(id: string, protocolVersion: 4 | 5 = 5): Promise<DeviceClient> {
  const c = await fleet.device(id);
  return connectDevice({ url: wsUrl, cert: c.cert, key: c.key, ca: fleet.ca.certificatePem, protocolVersion, reconnect: false });
}

async function observer(): Promise<mqtt.MqttClient> {
  const c = await fleet.device('app-observer');
  return mqtt.connectAsync(fleet.url, { ca: fleet.ca.certificatePem, cert: c.cert, key: c.key, clientId: 'app-observer', protocolVersion: 5, reconnectPeriod: 0 });
}

describe('MQTT over WebSockets with mutual TLS (real Mosquitto)', () => {
  it('a device on wss:// publishes QoS 1 to an mqtts:// subscriber and receives from it', async () => {
    const d = await wsDevice('ws-dev-1');
    const obs = await observer();
    try {
      await obs.subscribeAsync('devices/ws-dev-1/#', { qos: 1 });
      const got = new Promise<[string, string]>((resolve) => obs.on('message', (t, p) => resolve([t, p.toString()])));
      await d.publish('devices/ws-dev-1/telemetry', '{"t":21.5}', { qos: 1 });
      expect(await got).toEqual(['devices/ws-dev-1/telemetry', '{"t":21.5}']);
      // The other way: a service identity that may write devices/+/cmd sends a command over
      // mqtts:// and the device receives it over wss://.
      await d.subscribe('devices/ws-dev-1/cmd', { qos: 1 });
      const inbound = new Promise<string>((resolve) => d.on('message', (m) => resolve(`${m.topic} ${new TextDecoder().decode(m.payload)}`)));
      const c = await fleet.device('ops-cmd');
      const ops = await mqtt.connectAsync(fleet.url, { ca: fleet.ca.certificatePem, cert: c.cert, key: c.key, clientId: 'ops-cmd', protocolVersion: 5, reconnectPeriod: 0 });
      await ops.publishAsync('devices/ws-dev-1/cmd', 'reboot', { qos: 1 });
      await ops.endAsync();
      expect(await inbound).toBe('devices/ws-dev-1/cmd reboot');
      expect(d.stats().bytesIn).toBeGreaterThan(0);
    } finally {
      await d.close().catch(() => undefined);
      await obs.endAsync();
    }
  });

  it('MQTT 3.1.1 over wss:// works too', async () => {
    const d = await wsDevice('ws-dev-2', 4);
    const obs = await observer();
    try {
      await obs.subscribeAsync('devices/ws-dev-2/#', { qos: 1 });
      const got = new Promise<string>((resolve) => obs.on('message', (_t, p) => resolve(p.toString())));
      await d.publish('devices/ws-dev-2/telemetry', 'v4', { qos: 1 });
      expect(await got).toBe('v4');
    } finally {
      await d.close();
      await obs.endAsync();
    }
  });

  it('the ACL applies over wss://: another device\'s topic is refused (MQTT 5 PUBACK 0x87)', async () => {
    const d = await wsDevice('ws-dev-3');
    try {
      const err = await d.publish('devices/ws-dev-1/telemetry', 'forged', { qos: 1 }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(DeviceError);
      expect((err as DeviceError).code).toBe('NOT_AUTHORIZED');
    } finally {
      await d.close();
    }
  });

  it('without a client certificate the WebSocket upgrade never happens (refused in the TLS handshake)', async () => {
    const sock = new WebSocket(wsUrl, 'mqtt', { ca: fleet.ca.certificatePem });
    const outcome = await new Promise<string>((resolve) => {
      sock.on('open', () => resolve('open'));
      sock.on('error', (e) => resolve(`error: ${e.message}`));
    });
    sock.terminate();
    expect(outcome).toMatch(/^error: /);
  });

  it('a certificate from another CA is refused with a typed error', async () => {
    const { createFleetCA } = await import('@outpost/pki');
    const rogue = await createFleetCA({ commonName: 'Rogue' });
    const c = await fleet.device('ws-rogue', { ca: rogue });
    const err = await connectDevice({ url: wsUrl, cert: c.cert, key: c.key, ca: fleet.ca.certificatePem, reconnect: false, connectTimeoutMs: 5000 }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceError);
    expect(['TLS_HANDSHAKE_FAILED', 'CERT_UNTRUSTED', 'NETWORK_ERROR']).toContain((err as DeviceError).code);
  });
});

describe('wss:// options', () => {
  it('ws:// sends in clear: refused without insecure (CERT_REQUIRED)', async () => {
    const c = await fleet.device('ws-dev-4');
    const err = await connectDevice({ url: wsUrl.replace('wss:', 'ws:'), cert: c.cert, key: c.key, ca: fleet.ca.certificatePem }).then(() => undefined, (e: unknown) => e);
    expect((err as DeviceError).code).toBe('CERT_REQUIRED');
  });
  it('a path on mqtts:// is refused with a RangeError that points at wss://', async () => {
    const c = await fleet.device('ws-dev-5');
    await expect(connectDevice({ url: `${fleet.url}/mqtt`, cert: c.cert, key: c.key, ca: fleet.ca.certificatePem })).rejects.toThrow(/wss:/);
  });
});
