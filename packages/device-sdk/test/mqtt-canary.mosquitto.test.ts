// Canary for the MQTT.js behaviour the device client relies on (src/mqtt-link.ts), checked on
// raw MQTT.js with the client's own options against a real Mosquitto. If an MQTT.js release
// changes any of it, this fails before a device notices. `mqtt` is pinned to ~5.16.0.
import { createRequire } from 'node:module';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { MqttClient, type Packet } from 'mqtt';
import { mqttOptions, reconnectKeepingSession } from '../src/mqtt-link.js';
import { openStream, type TransportProbe } from '../src/transports/tls.js';
import { resolveOptions } from '../src/options.js';
import { mapTransportError } from '../src/error-map.js';
import { startFleet, type Fleet } from './fixtures/fleet.js';

let fleet: Fleet;
beforeAll(async () => {
  fleet = await startFleet();
});
afterAll(async () => {
  signalBroker('SIGCONT');
  await fleet?.stop();
});

function signalBroker(sig: 'SIGSTOP' | 'SIGCONT'): void {
  const pid = fleet?.broker.pid();
  if (pid !== undefined) process.kill(pid, sig);
}

async function rawClient(id: string, keepAliveS: number): Promise<MqttClient> {
  const c = await fleet.device(id);
  const o = resolveOptions({ url: fleet.url, cert: c.cert, key: c.key, ca: fleet.ca.certificatePem, keepAliveS });
  const probe: TransportProbe = { closedIn: 0, closedOut: 0, current: undefined, lastError: undefined };
  const mq = new MqttClient(() => openStream(o, probe), mqttOptions(o, id));
  mq.on('error', () => {}); // asserted where it matters
  await new Promise<void>((resolve, reject) => {
    mq.once('connect', () => resolve());
    mq.once('close', () => reject(new Error('closed before CONNACK')));
    mq.connect();
  });
  return mq;
}

const next = (mq: MqttClient, event: 'connect' | 'close'): Promise<void> => new Promise((resolve) => mq.once(event, () => resolve()));

test('the installed mqtt is the pinned minor (5.16.x)', () => {
  const require = createRequire(import.meta.url);
  const pkg = require('mqtt/package.json') as { version: string };
  expect(pkg.version).toMatch(/^5\.16\.\d+$/);
  const own = require('../package.json') as { dependencies: Record<string, string> };
  expect(own.dependencies['mqtt']).toBe('~5.16.0');
});

test('sendPing() is public and PINGREQ/PINGRESP show in packetsend/packetreceive', async () => {
  const mq = await rawClient('canary-ping', 60);
  try {
    const seen: string[] = [];
    mq.on('packetsend', (p: Packet) => seen.push(`out:${p.cmd}`));
    const resp = new Promise<void>((resolve) => mq.on('packetreceive', (p: Packet) => { seen.push(`in:${p.cmd}`); if (p.cmd === 'pingresp') resolve(); }));
    mq.sendPing();
    await resp;
    expect(seen).toEqual(['out:pingreq', 'in:pingresp']);
  } finally {
    mq.end(true);
  }
});

test('keep-alive timeout: error "Keepalive timeout", no reconnect of its own, in-flight QoS 1 kept for reconnect() with the same stores', async () => {
  const mq = await rawClient('canary-keepalive', 1);
  const errors: Error[] = [];
  const own: string[] = [];
  mq.on('error', (e) => errors.push(e));
  mq.on('reconnect', () => own.push('reconnect'));
  try {
    const store = mq.outgoingStore;
    signalBroker('SIGSTOP');
    const acked = new Promise<Error | undefined>((resolve) => mq.publish('devices/canary-keepalive/x', 'kept', { qos: 1 }, (err) => resolve(err ?? undefined)));
    await next(mq, 'close');
    expect(errors.map((e) => e.message)).toContain('Keepalive timeout');
    expect(mapTransportError(errors.find((e) => e.message === 'Keepalive timeout'), 5).code).toBe('PING_TIMEOUT');
    // reconnectPeriod parked at NEVER_MS: MQTT.js schedules nothing that fires now.
    await new Promise((r) => setImmediate(r));
    expect(own).toEqual([]);
    signalBroker('SIGCONT');
    const connected = next(mq, 'connect');
    reconnectKeepingSession(mq);
    await connected;
    expect(own).toEqual(['reconnect']);
    expect(mq.outgoingStore).toBe(store);
    expect(await acked).toBeUndefined(); // resent from the kept store and acknowledged
  } finally {
    signalBroker('SIGCONT');
    mq.end(true);
  }
});
