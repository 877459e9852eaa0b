// Fleet scale: 1,000 MQTT-SN clients in a separate process, through MqttSnGateway, to a real
// Mosquitto (mTLS). Every QoS 1 message arrives exactly once, and the gateway's UDP socket drops
// nothing at the paced rate (its own drop counter in /proc/net/udp, not the machine-wide one that
// other suites share). All clients use the gateway's identity here: issuing 1,000 device
// certificates would take most of a minute on this machine; per-device identities are covered
// by mqtt-sn-gateway.mosquitto.test.ts. The same through an aggregating gateway (one broker
// connection for all 1,000, the gateway admitting and authorising each client).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MqttSnGateway } from '@outpost/device-sdk/mqtt-sn';
import { startFleet, type Fleet } from './fixtures/fleet.js';
import { waitUntil } from './fixtures/mqttsn-fleet.js';

const CLIENTS = 1000;
const PER_CLIENT = 3;
const RATE = 1000; // msg/s in all

/** The drops counter of the UDP socket bound to `port` (/proc/net/udp, last column). */
function udpDrops(port: number): number {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[1]?.endsWith(hex) === true) return Number(cols[cols.length - 1]);
  }
  throw new Error(`no UDP socket on port ${port}`);
}

let fleet: Fleet;
const gateways: Record<string, MqttSnGateway> = {};
beforeAll(async () => {
  fleet = await startFleet();
  const id = await fleet.device('gw-1');
  const common = { udp: { host: '127.0.0.1', port: 0 }, broker: { url: fleet.url, ca: fleet.ca.certificatePem }, maxClients: CLIENTS + 10 };
  gateways['transparent'] = new MqttSnGateway({ ...common, identity: { clientId: 'gw-1', cert: id.cert, key: id.key }, useGatewayIdentity: 'always' });
  // gw-1's broker ACL is devices/gw-1/#, and so is the namespace the gateway grants here.
  gateways['aggregating'] = new MqttSnGateway({ ...common, identity: { clientId: 'gw-1-agg', cert: id.cert, key: id.key }, mode: 'aggregating', admit: (c) => c.startsWith('aggregating-'), namespace: ['devices/gw-1/#'] });
  for (const g of Object.values(gateways)) await g.start();
});
afterAll(async () => {
  for (const g of Object.values(gateways)) await g.close();
  await fleet?.stop();
});

describe('1,000 MQTT-SN clients through the gateway to Mosquitto', () => {
  it.each(['transparent', 'aggregating'])('every QoS 1 message arrives once; the gateway socket drops nothing (%s)', async (mode) => {
    const gw = gateways[mode] as MqttSnGateway;
    const app = await fleet.device('app-observer');
    const observer = await connectAsync(fleet.url, { clientId: 'app-observer', cert: app.cert, key: app.key, ca: fleet.ca.certificatePem, reconnectPeriod: 0 });
    const seen = new Map<string, number>();
    observer.on('message', (_t, payload) => {
      const k = payload.toString();
      seen.set(k, (seen.get(k) ?? 0) + 1);
    });
    await observer.subscribeAsync(`devices/gw-1/${mode}/#`, { qos: 1 });
    const port = gw.address().port;
    const dropsBefore = udpDrops(port);
    const script = fileURLToPath(new URL('./fixtures/mqttsn-load-clients.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@outpost/source', script, String(port), String(CLIENTS), String(PER_CLIENT), String(RATE), 'gw-1', mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code, stderr).toBe(0);
    const out = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { connected: number; published: number; failed: number; retransmissions: number; errors: string[]; connectMs: number; publishMs: number };
    expect(out.errors).toEqual([]);
    expect(out).toMatchObject({ connected: CLIENTS, published: CLIENTS * PER_CLIENT, failed: 0 });
    await waitUntil(() => seen.size >= CLIENTS * PER_CLIENT, 20_000, 'every message at the observer');
    const dup = [...seen].filter(([, n]) => n > 1);
    expect(dup).toEqual([]);
    expect(seen.size).toBe(CLIENTS * PER_CLIENT);
    expect(udpDrops(port) - dropsBefore).toBe(0);
    if (mode === 'aggregating') expect(gw.stats().brokerLinks).toBe(1);
    console.log(`1,000 clients (${mode}): connect ${out.connectMs} ms, publish ${CLIENTS * PER_CLIENT} at ${RATE}/s in ${out.publishMs} ms, client retransmissions ${out.retransmissions}, gateway ${JSON.stringify(gw.stats())}`);
    await observer.endAsync();
  }, 120_000);
});
