// Chapter 1: a fleet CA, one certificate per device, mutual TLS, telemetry, refusals.
import mqtt from 'mqtt';
import { connectDevice, DeviceError, type DeviceClient } from '@outpost/device-sdk';
import type { Chapter, DemoContext } from '../context.js';

const DEVICES = ['pump-1', 'pump-2', 'meter-1', 'meter-2', 'gateway-1'];
const READINGS = 20;

async function refusedCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ACCEPTED';
  } catch (err) {
    return err instanceof DeviceError ? err.code : String(err);
  }
}

/** A client that skips the SDK's own checks: proves the broker refuses a borrowed certificate too. */
function rawBorrowed(ctx: DemoContext, cert: string, key: string, clientId: string): Promise<string> {
  return new Promise((resolve) => {
    const c = mqtt.connect(ctx.url, { ca: ctx.ca.certificatePem, cert, key, clientId, protocolVersion: ctx.protocolVersion, reconnectPeriod: 0, connectTimeout: 5_000 });
    c.on('connect', () => { c.end(true); resolve('ACCEPTED'); });
    c.on('error', (e: Error & { code?: unknown }) => { c.end(true); resolve(`refused (${String(e.code ?? e.message)})`); });
    c.on('close', () => resolve('closed'));
  });
}

export const secureConnect: Chapter = {
  id: 'secureConnect',
  title: 'Connecting devices securely: one certificate per device, mutual TLS',
  async run(ctx) {
    const clients: DeviceClient[] = [];
    const app = await ctx.device('ops-console');
    const observer = await connectDevice({ url: ctx.url, cert: app.cert, key: app.key, ca: ctx.ca.certificatePem, protocolVersion: ctx.protocolVersion });
    let received = 0;
    const perDevice = new Map<string, number[]>();
    observer.on('message', (m) => {
      received++;
      const id = m.topic.split('/')[1] ?? '?';
      const seq = (JSON.parse(new TextDecoder().decode(m.payload)) as { seq: number }).seq;
      perDevice.set(id, [...(perDevice.get(id) ?? []), seq]);
    });
    await observer.subscribe('devices/+/telemetry');
    try {
      for (const id of DEVICES) {
        const creds = await ctx.device(id);
        const c = await connectDevice({ url: ctx.url, cert: creds.cert, key: creds.key, ca: ctx.ca.certificatePem, protocolVersion: ctx.protocolVersion });
        clients.push(c);
        ctx.say(`  ${id.padEnd(10)} connected with its own certificate (CN=${c.clientId})`);
      }
      let check: ReturnType<typeof setInterval> | undefined;
      const allDone = new Promise<void>((resolve) => {
        const deadline = Date.now() + 5_000;
        check = setInterval(() => { if (received >= DEVICES.length * READINGS || Date.now() > deadline) resolve(); }, 5);
      });
      await Promise.all(clients.map(async (c, i) => {
        for (let seq = 0; seq < READINGS; seq++) {
          const reading = { seq, t: 20 + i + Math.sin(seq / 3), at: Date.now() };
          await c.publish(`devices/${c.clientId}/telemetry`, JSON.stringify(reading), { qos: 1 });
        }
      }));
      await allDone;
      clearInterval(check);
      const inOrder = [...perDevice.values()].every((seqs) => seqs.every((s, i) => s === i));
      ctx.say(`  telemetry: ${DEVICES.length} devices × ${READINGS} readings sent (QoS 1), ${received} received by ops-console, in order per device: ${inOrder ? 'yes' : 'NO'}`);

      // A device that borrows another device's certificate.
      const pump1 = await ctx.device('pump-1');
      const borrowedSdk = await refusedCode(connectDevice({ url: ctx.url, cert: pump1.cert, key: pump1.key, ca: ctx.ca.certificatePem, clientId: 'intruder', protocolVersion: ctx.protocolVersion }));
      ctx.say(`  borrowed certificate (pump-1's, as "intruder"): refused by the SDK with ${borrowedSdk}`);
      const borrowedBroker = await rawBorrowed(ctx, pump1.cert, pump1.key, 'intruder');
      ctx.say(`  the same with a plain MQTT client that skips the check: ${borrowedBroker} by the broker${borrowedBroker === 'ACCEPTED' ? ' (it takes the identity from the certificate, so the intruder acts as pump-1 and stays inside devices/pump-1/#; a stolen key is revoked with outpost pki revoke)' : ''}`);

      // A device reaching into another device's topics.
      const pump2 = clients[1] as DeviceClient;
      const crossSub = await refusedCode(pump2.subscribe('devices/pump-1/#'));
      ctx.say(`  pump-2 subscribing to devices/pump-1/#: ${crossSub}${crossSub === 'ACCEPTED' ? ' (Mosquitto grants the SUBACK and withholds every message per its ACL)' : ''}`);

      const stats = clients.map((c) => ({ id: c.clientId, ...pick(c.stats()) }));
      ctx.summary['secureConnect'] = {
        devices: DEVICES.length,
        sent: clients.reduce((n, c) => n + c.stats().messagesOut, 0),
        received,
        inOrder,
        borrowedCertificate: { sdk: borrowedSdk, broker: borrowedBroker },
        crossDeviceSubscribe: crossSub,
        stats,
      };
    } finally {
      await Promise.all([...clients, observer].map((c) => c.close()));
    }
  },
};

function pick(s: ReturnType<DeviceClient['stats']>): { messagesOut: number; bytesOut: number; bytesIn: number } {
  return { messagesOut: s.messagesOut, bytesOut: s.bytesOut, bytesIn: s.bytesIn };
}
