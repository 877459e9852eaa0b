// connectDevice against a real Mosquitto 2.0 configured by brokerConfig(): mutual TLS with
// per-device certificates, the ACL that confines each device to its own topics, restarts.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startMosquitto, tempDir } from '@outpost/test-peers';
import { connectDevice, DeviceError, type DeviceClient, type InboundMessage } from '@outpost/device-sdk';
import { brokerConfig, createFleetCA, issueServerCertificate } from '@outpost/pki';
import { startFleet, type Fleet } from './fixtures/fleet.js';

let fleet: Fleet;
beforeAll(async () => {
  fleet = await startFleet();
});
afterAll(async () => {
  await fleet?.stop();
});

const DAY = 86_400_000;

async function refusal(p: Promise<unknown>): Promise<DeviceError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected a refusal').toBeInstanceOf(DeviceError);
  return err as DeviceError;
}

function nextMessage(client: DeviceClient, topic: string): Promise<InboundMessage> {
  return new Promise((resolve) => {
    const off = client.on('message', (m) => {
      if (m.topic === topic) {
        off();
        resolve(m);
      }
    });
  });
}

/** Raw MQTT.js with the same credentials: shows the *broker* refuses, not just our client. */
async function rawConnect(opts: { cert?: string; key?: string }): Promise<'connected' | string> {
  return new Promise((resolve) => {
    const c = mqtt.connect(fleet.url, {
      ca: fleet.ca.certificatePem,
      ...opts,
      rejectUnauthorized: true,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      protocolVersion: 5,
    });
    let lastErr = 'closed';
    c.stream?.on?.('error', (e: Error & { code?: string }) => { lastErr = e.code ?? e.message; });
    c.on('error', (e: Error & { code?: unknown }) => { lastErr = String(e.code ?? e.message); });
    c.on('connect', () => { c.end(true); resolve('connected'); });
    c.on('close', () => { c.end(true); resolve(lastErr); });
  });
}

describe('a device with its own certificate', () => {
  test('connects, publishes and receives on its own topics, with stats', async () => {
    const creds = await fleet.device('sensor-1');
    const device = await connectDevice({ url: fleet.url, cert: creds.cert, key: creds.key, ca: fleet.ca.certificatePem });
    try {
      expect(device.clientId).toBe('sensor-1');
      expect(device.connected).toBe(true);
      await device.subscribe('devices/sensor-1/#');
      const got = nextMessage(device, 'devices/sensor-1/telemetry');
      await device.publish('devices/sensor-1/telemetry', new TextEncoder().encode('{"t":21.5}'), { qos: 1 });
      const m = await got;
      expect(new TextDecoder().decode(m.payload)).toBe('{"t":21.5}');
      expect(m.payload).toBeInstanceOf(Uint8Array);
      const rtt = await device.ping();
      expect(rtt).toBeGreaterThan(0);
      const s = device.stats();
      expect(s.messagesOut).toBe(1);
      expect(s.messagesIn).toBe(1);
      expect(s.bytesOut).toBeGreaterThan(20);
      expect(s.bytesIn).toBeGreaterThan(20);
      expect(s.lastPingRttMs).toBe(rtt);
      expect(s.connected).toBe(true);
    } finally {
      await device.close();
    }
    expect(device.connected).toBe(false);
    await expect(device.publish('devices/sensor-1/x', 'late')).rejects.toMatchObject({ code: 'CLOSED' });
  });

  test('an application identity reads every device, a device cannot', async () => {
    const app = await fleet.device('app-observer');
    const creds = await fleet.device('sensor-2');
    const observer = await connectDevice({ url: fleet.url, cert: app.cert, key: app.key, ca: fleet.ca.certificatePem });
    const device = await connectDevice({ url: fleet.url, cert: creds.cert, key: creds.key, ca: fleet.ca.certificatePem, protocolVersion: 4 });
    try {
      await observer.subscribe('devices/+/telemetry');
      const got = nextMessage(observer, 'devices/sensor-2/telemetry');
      await device.publish('devices/sensor-2/telemetry', 'hello', { qos: 1 });
      expect(new TextDecoder().decode((await got).payload)).toBe('hello');
    } finally {
      await Promise.all([observer.close(), device.close()]);
    }
  });
});

describe('refused, each with the right error', () => {
  test('no client certificate: refused locally, and by the broker', async () => {
    const local = await refusal(connectDevice({ url: fleet.url, ca: fleet.ca.certificatePem } as never));
    expect(local.code).toBe('CERT_REQUIRED');
    // With insecure: true the client lets it through; the broker refuses the handshake.
    const broker = await refusal(connectDevice({ url: fleet.url, ca: fleet.ca.certificatePem, insecure: true, clientId: 'anon', reconnect: false }));
    expect(broker.code).toBe('CERT_REQUIRED');
  });

  test('a certificate from another CA', async () => {
    const otherCa = await createFleetCA({ commonName: 'Rogue CA' });
    const creds = await fleet.device('sensor-3', { ca: otherCa });
    const local = await refusal(connectDevice({ url: fleet.url, cert: creds.cert, key: creds.key, ca: fleet.ca.certificatePem }));
    expect(local.code).toBe('CERT_UNTRUSTED');
    // Trusting both CAs on the device gets past the local check; the broker says unknown CA.
    const broker = await refusal(connectDevice({ url: fleet.url, cert: creds.cert, key: creds.key, ca: [fleet.ca.certificatePem, otherCa.certificatePem], reconnect: false }));
    expect(broker.code).toBe('CERT_UNTRUSTED');
    expect(await rawConnect({ cert: creds.cert, key: creds.key })).not.toBe('connected');
  });

  test('an expired certificate', async () => {
    const now = Date.now();
    const creds = await fleet.device('sensor-4', { notBefore: new Date(now - 10 * DAY), notAfter: new Date(now - DAY) });
    const local = await refusal(connectDevice({ url: fleet.url, cert: creds.cert, key: creds.key, ca: fleet.ca.certificatePem }));
    expect(local.code).toBe('CERT_EXPIRED');
    // A device whose clock is wrong passes its own check; the broker still refuses.
    const broker = await refusal(connectDevice({ url: fleet.url, cert: creds.cert, key: creds.key, ca: fleet.ca.certificatePem, now: () => now - 5 * DAY, reconnect: false }));
    expect(broker.code).toBe('CERT_EXPIRED');
  });

  test('a not-yet-valid certificate', async () => {
    const now = Date.now();
    const creds = await fleet.device('sensor-5', { notBefore: new Date(now + DAY), notAfter: new Date(now + 10 * DAY) });
    const local = await refusal(connectDevice({ url: fleet.url, cert: creds.cert, key: creds.key, ca: fleet.ca.certificatePem }));
    expect(local.code).toBe('CERT_NOT_YET_VALID');
    const broker = await refusal(connectDevice({ url: fleet.url, cert: creds.cert, key: creds.key, ca: fleet.ca.certificatePem, now: () => now + 2 * DAY, reconnect: false }));
    expect(['TLS_HANDSHAKE_FAILED', 'CERT_EXPIRED']).toContain(broker.code);
  });

  test('a certificate whose key does not match', async () => {
    const a = await fleet.device('sensor-6');
    const b = await fleet.device('sensor-7');
    const err = await refusal(connectDevice({ url: fleet.url, cert: a.cert, key: b.key, ca: fleet.ca.certificatePem }));
    expect(err.code).toBe('CERT_KEY_MISMATCH');
  });

  test('a self-signed certificate', async () => {
    const self = await createFleetCA({ commonName: 'sensor-8' });
    const err = await refusal(connectDevice({ url: fleet.url, cert: self.certificatePem, key: self.privateKeyPem, ca: fleet.ca.certificatePem }));
    expect(['CERT_UNTRUSTED', 'CERT_INVALID']).toContain(err.code);
    expect(await rawConnect({ cert: self.certificatePem, key: self.privateKeyPem })).not.toBe('connected');
  });

  test('a client id that is not the certificate CN', async () => {
    const creds = await fleet.device('sensor-9');
    const err = await refusal(connectDevice({ url: fleet.url, cert: creds.cert, key: creds.key, ca: fleet.ca.certificatePem, clientId: 'sensor-1' }));
    expect(err.code).toBe('CERT_IDENTITY_MISMATCH');
  });

  test('a server that presents a certificate from an unexpected CA', async () => {
    const rogueCa = await createFleetCA({ commonName: 'Impostor CA' });
    const rogueServer = await issueServerCertificate({ ca: rogueCa, hosts: ['127.0.0.1'] });
    const tmp = tempDir('outpost-rogue-');
    const p = (n: string): string => join(tmp.path, n);
    writeFileSync(p('ca.pem'), fleet.ca.certificatePem);
    writeFileSync(p('server.pem'), rogueServer.certificatePem);
    writeFileSync(p('server.key'), rogueServer.privateKeyPem);
    const rogue = await startMosquitto({
      dir: tmp.path,
      config: (port) => {
        const cfg = brokerConfig({ caPath: p('ca.pem'), serverCertPath: p('server.pem'), serverKeyPath: p('server.key'), aclPath: p('acl'), port, host: '127.0.0.1' });
        writeFileSync(p('acl'), cfg.acl);
        return cfg.mosquittoConf;
      },
    });
    try {
      const creds = await fleet.device('sensor-10');
      const err = await refusal(connectDevice({ url: `mqtts://127.0.0.1:${rogue.port}`, cert: creds.cert, key: creds.key, ca: fleet.ca.certificatePem, reconnect: false }));
      expect(err.code).toBe('SERVER_CERT_UNTRUSTED');
    } finally {
      await rogue.stop();
      tmp.cleanup();
    }
  });

  test("another device's topics: the broker denies, the client reports it", async () => {
    const owner = await fleet.device('sensor-20');
    const creds = await fleet.device('sensor-11');
    const victim = await connectDevice({ url: fleet.url, cert: owner.cert, key: owner.key, ca: fleet.ca.certificatePem });
    const device = await connectDevice({ url: fleet.url, cert: creds.cert, key: creds.key, ca: fleet.ca.certificatePem });
    try {
      // MQTT 5: Mosquitto refuses the PUBLISH with reason code 0x87 and the client says so.
      const pub = await refusal(device.publish('devices/sensor-20/telemetry', 'spoof', { qos: 1 }));
      expect(pub.code).toBe('NOT_AUTHORIZED');
      expect(pub.reasonCode).toBe(0x87);
      // Mosquitto's acl_file grants every SUBACK and enforces read access per message
      // (eclipse/mosquitto#803): the subscription "succeeds" but delivers nothing. Prove it:
      // the owner's message is routed before the device's own one, and only the latter arrives.
      await device.subscribe(['devices/sensor-20/#', 'devices/sensor-11/#']);
      const seen: string[] = [];
      device.on('message', (m) => seen.push(m.topic));
      const own = nextMessage(device, 'devices/sensor-11/mark');
      await victim.publish('devices/sensor-20/telemetry', 'private', { qos: 1 });
      await device.publish('devices/sensor-11/mark', 'after', { qos: 1 });
      await own;
      expect(seen).toEqual(['devices/sensor-11/mark']);
      // Still connected and still allowed on its own tree.
      expect(device.connected).toBe(true);
    } finally {
      await Promise.all([device.close(), victim.close()]);
    }
  });

  test('MQTT 3.1.1 has no PUBACK reason codes: a denied publish is dropped by the broker', async () => {
    const creds = await fleet.device('sensor-12');
    const app = await fleet.device('app-observer');
    const observer = await connectDevice({ url: fleet.url, cert: app.cert, key: app.key, ca: fleet.ca.certificatePem, clientId: 'app-observer' });
    const device = await connectDevice({ url: fleet.url, cert: creds.cert, key: creds.key, ca: fleet.ca.certificatePem, protocolVersion: 4 });
    try {
      await observer.subscribe('devices/+/x');
      const seen: string[] = [];
      observer.on('message', (m) => seen.push(m.topic));
      const mark = nextMessage(observer, 'devices/sensor-12/x');
      await device.publish('devices/sensor-1/x', 'spoof', { qos: 1 }); // acknowledged, not delivered
      await device.publish('devices/sensor-12/x', 'own', { qos: 1 });
      await mark;
      expect(seen).toEqual(['devices/sensor-12/x']);
    } finally {
      await Promise.all([device.close(), observer.close()]);
    }
  });
});

describe('flow control', () => {
  // QoS 0 completes when the socket takes the bytes (MQTT.js calls back synchronously unless the
  // socket pushes back), so the window binds QoS 1/2, whose completion is the broker's ack.
  test('never more than maxInFlight outstanding; all complete; QUEUE_FULL past maxPending', async () => {
    const creds = await fleet.device('sensor-13');
    const device = await connectDevice({ url: fleet.url, cert: creds.cert, key: creds.key, ca: fleet.ca.certificatePem, maxInFlight: 8, maxPending: 492 });
    try {
      let peak = 0;
      const all: Promise<void>[] = [];
      for (let i = 0; i < 500; i++) {
        all.push(device.publish('devices/sensor-13/burst', String(i), { qos: 1 }));
        peak = Math.max(peak, device.inFlight);
      }
      const over = await refusal(device.publish('devices/sensor-13/burst', 'one too many'));
      expect(over.code).toBe('QUEUE_FULL');
      const timer = setInterval(() => { peak = Math.max(peak, device.inFlight); }, 0);
      await Promise.all(all);
      clearInterval(timer);
      expect(peak).toBeLessThanOrEqual(8);
      expect(peak).toBeGreaterThan(0);
      expect(device.stats().messagesOut).toBe(500);
      expect(device.inFlight).toBe(0);
    } finally {
      await device.close();
    }
  });

  test('an aborted publish leaves the queue and rejects with ABORTED', async () => {
    const creds = await fleet.device('sensor-14');
    const device = await connectDevice({ url: fleet.url, cert: creds.cert, key: creds.key, ca: fleet.ca.certificatePem, maxInFlight: 1 });
    try {
      const first = device.publish('devices/sensor-14/a', '1');
      const ac = new AbortController();
      const second = device.publish('devices/sensor-14/a', '2', { signal: ac.signal });
      ac.abort();
      expect((await refusal(second)).code).toBe('ABORTED');
      await first;
      expect(device.stats().messagesOut).toBe(1);
    } finally {
      await device.close();
    }
  });
});

describe('wrong types on a connected client', () => {
  test('publish, subscribe, unsubscribe, whenWritable, ping', async () => {
    const creds = await fleet.device('sensor-15');
    const d = await connectDevice({ url: fleet.url, cert: creds.cert, key: creds.key, ca: fleet.ca.certificatePem });
    try {
      const cases: Array<[() => Promise<unknown>, new (...a: never[]) => Error, string]> = [
        [() => d.publish(42 as never, 'x'), TypeError, 'topic'],
        [() => d.publish('devices/sensor-15/x', 42 as never), TypeError, 'payload'],
        [() => d.publish('devices/sensor-15/x', 'x', { qos: '1' as never }), TypeError, 'qos'],
        [() => d.publish('devices/sensor-15/x', 'x', { qos: 3 as never }), RangeError, 'qos'],
        [() => d.publish('devices/sensor-15/x', 'x', { retain: 'no' as never }), TypeError, 'retain'],
        [() => d.publish('devices/sensor-15/x', 'x', { signal: 'stop' as never }), TypeError, 'signal'],
        [() => d.publish('devices/sensor-15/x', 'x', null as never), TypeError, 'options'],
        [() => d.publish('devices/+/x', 'x'), DeviceError, 'wildcard'],
        [() => d.publish('', 'x'), DeviceError, 'empty'],
        [() => d.subscribe(7 as never), TypeError, 'filters'],
        [() => d.subscribe([] as never), TypeError, 'filters'],
        [() => d.subscribe(['a/#/b']), DeviceError, 'wildcard'],
        [() => d.subscribe('a/b+'), DeviceError, 'wildcard'],
        [() => d.subscribe('devices/sensor-15/#', { qos: 5 as never }), RangeError, 'qos'],
        [() => d.unsubscribe(null as never), TypeError, 'filters'],
        [() => d.unsubscribe('x', { signal: 1 as never }), TypeError, 'signal'],
        [() => d.ping({ timeoutMs: '5' as never }), TypeError, 'timeoutms'],
        [() => d.ping({ timeoutMs: 0 }), RangeError, 'timeoutms'],
        [() => d.ping({ timeoutMs: Number.NaN }), RangeError, 'timeoutms'],
        [() => d.ping(null as never), TypeError, 'options'],
      ];
      for (const [call, type, word] of cases) {
        const err = await call().then(() => undefined, (e: unknown) => e);
        expect(err, `${call.toString()}`).toBeInstanceOf(type);
        expect((err as Error).message.toLowerCase()).toContain(word);
      }
      expect(d.connected).toBe(true);
    } finally {
      await d.close();
    }
  });
});
