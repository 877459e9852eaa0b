// Client-process CPU per connect over mutual TLS to a local Mosquitto: connectDevice against raw
// MQTT.js (connectAsync) with the same TLS options (CA, device cert and key, TLS ≥ 1.2, verify on,
// Nagle off), in the same run, alternating rounds. Each connect is closed before the next.
//
//   npx tsx --conditions=@outpost/source packages/device-sdk/bench/connect-cpu.ts   # ROUNDS=7 N=40
//
// Reported: median µs of client CPU (user + system, process.cpuUsage) per connect and the ratio
// connectDevice / raw (goal ≤ 1.1). CPU, not wall time: the broker's share is in another process.
import type { TLSSocket } from 'node:tls';
import mqtt from 'mqtt';
import { connectDevice } from '@outpost/device-sdk';
import { startFleet } from '../test/fixtures/fleet.js';

const ROUNDS = Number(process.env['ROUNDS'] ?? 7);
const N = Number(process.env['N'] ?? 40);

async function main(): Promise<void> {
  const fleet = await startFleet();
  const a = await fleet.device('bench-connect-wrapper');
  const b = await fleet.device('bench-connect-raw');
  const ca = fleet.ca.certificatePem;

  const viaWrapper = async (): Promise<void> => {
    const c = await connectDevice({ url: fleet.url, cert: a.cert, key: a.key, ca, reconnect: false });
    await c.close({ force: true });
  };
  const viaRaw = async (): Promise<void> => {
    const c = await mqtt.connectAsync(fleet.url, {
      ca, cert: b.cert, key: b.key, clientId: 'bench-connect-raw', protocolVersion: 5,
      rejectUnauthorized: true, minVersion: 'TLSv1.2', reconnectPeriod: 0, queueQoSZero: false,
    } as mqtt.IClientOptions);
    (c.stream as TLSSocket).setNoDelay(true);
    await c.endAsync(true);
  };
  const cpuPerConnect = async (f: () => Promise<void>): Promise<number> => {
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) await f();
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / N;
  };

  for (let i = 0; i < 5; i++) { await viaRaw(); await viaWrapper(); } // warm-up
  const raw: number[] = [];
  const wrapper: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) { raw.push(await cpuPerConnect(viaRaw)); wrapper.push(await cpuPerConnect(viaWrapper)); }
    else { wrapper.push(await cpuPerConnect(viaWrapper)); raw.push(await cpuPerConnect(viaRaw)); }
  }
  await fleet.stop();
  const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
  const mr = median(raw);
  const mw = median(wrapper);
  console.log(`connect CPU over mTLS to Mosquitto on loopback, ${N} connects × ${ROUNDS} rounds (node ${process.version})`);
  console.log('| raw MQTT.js (µs CPU/connect) | connectDevice | ratio connectDevice/raw |');
  console.log('|---|---|---|');
  console.log(`| ${Math.round(mr)} | ${Math.round(mw)} | ${(mw / mr).toFixed(3)} |`);
  console.log(JSON.stringify({ raw: raw.map(Math.round), wrapper: wrapper.map(Math.round) }));
}

await main();
