// QoS 0 and QoS 1 publish throughput over mutual TLS to a local Mosquitto: connectDevice
// against raw MQTT.js with the same TLS settings, in the same run, alternating rounds.
//
//   npx tsx --conditions=@outpost/source packages/device-sdk/bench/publish-throughput.ts
//
// Both sides keep at most WINDOW publishes outstanding (the pattern that makes MQTT.js fast;
// firing everything at once crawls). Reported: messages/s per round, the median, and the
// ratio raw/wrapper (≤ 1.05 is the goal: the wrapper may cost at most 5%).
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import mqtt from 'mqtt';
import { connectDevice } from '@outpost/device-sdk';
import { startFleet } from '../test/fixtures/fleet.js';

const WINDOW = 100;
const ROUNDS = Number(process.env['ROUNDS'] ?? 5);
const N = { 0: Number(process.env['N0'] ?? 100_000), 1: Number(process.env['N1'] ?? 50_000) } as const;
// Both sides get the same Buffer (a Uint8Array): a plain Uint8Array would cost either side one
// Buffer view per write inside Node's stream.write.
const payload = new Uint8Array(64).fill(0x61);

async function limited(n: number, send: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      await send(i);
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, worker));
}

async function main(): Promise<void> {
  const fleet = await startFleet();
  const a = await fleet.device('bench-wrapper');
  const b = await fleet.device('bench-raw');
  const wrapper = await connectDevice({ url: fleet.url, cert: a.cert, key: a.key, ca: fleet.ca.certificatePem, maxInFlight: WINDOW });
  const raw = await mqtt.connectAsync(fleet.url, {
    ca: fleet.ca.certificatePem, cert: b.cert, key: b.key, clientId: 'bench-raw', protocolVersion: 5,
    rejectUnauthorized: true, reconnectPeriod: 0, queueQoSZero: false,
  });
  (raw.stream as TLSSocket).setNoDelay(true);
  const rawBuf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);

  const results: Record<string, { raw: number[]; wrapper: number[] }> = {};
  // Client-process CPU per message: steadier than wall-clock rates on a shared machine.
  const cpu: Record<string, { raw: number[]; wrapper: number[] }> = {};
  const cpuOf = async (n: number, f: () => Promise<number>): Promise<[number, number]> => {
    const c0 = process.cpuUsage();
    const rate = await f();
    const c = process.cpuUsage(c0);
    return [rate, (c.user + c.system) / n];
  };
  for (const qos of [0, 1] as const) {
    const n = N[qos];
    const r = (results[`QoS ${qos}`] = { raw: [] as number[], wrapper: [] as number[] });
    const cp = (cpu[`QoS ${qos}`] = { raw: [] as number[], wrapper: [] as number[] });
    const measure = async (side: 'raw' | 'wrapper', f: () => Promise<number>): Promise<void> => {
      const [rate, us] = await cpuOf(n, f);
      r[side].push(rate);
      cp[side].push(us);
    };
    const runRaw = async (): Promise<number> => {
      const t0 = performance.now();
      await limited(n, () => new Promise<void>((res, rej) => raw.publish('devices/bench-raw/t', rawBuf, { qos }, (e) => (e ? rej(e) : res()))));
      return n / ((performance.now() - t0) / 1000);
    };
    const runWrapper = async (): Promise<number> => {
      const t0 = performance.now();
      await limited(n, () => wrapper.publish('devices/bench-wrapper/t', rawBuf, { qos }));
      return n / ((performance.now() - t0) / 1000);
    };
    await runRaw();
    await runWrapper(); // warm-up
    for (let i = 0; i < ROUNDS; i++) {
      if (i % 2 === 0) { await measure('raw', runRaw); await measure('wrapper', runWrapper); }
      else { await measure('wrapper', runWrapper); await measure('raw', runRaw); }
    }
  }
  await wrapper.close();
  await raw.endAsync();
  await fleet.stop();

  const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
  console.log(`publish throughput over mTLS to Mosquitto on loopback, ${WINDOW} outstanding, 64-byte payloads, ${ROUNDS} rounds (node ${process.version})`);
  console.log('| QoS | raw MQTT.js (msg/s) | connectDevice (msg/s) | ratio raw/wrapper | client CPU µs/msg raw | connectDevice | CPU ratio |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [name, r] of Object.entries(results)) {
    const mr = median(r.raw);
    const mw = median(r.wrapper);
    const c = cpu[name] as { raw: number[]; wrapper: number[] };
    const cr = median(c.raw);
    const cw = median(c.wrapper);
    console.log(`| ${name} | ${Math.round(mr).toLocaleString('en')} | ${Math.round(mw).toLocaleString('en')} | ${(mr / mw).toFixed(3)} | ${cr.toFixed(2)} | ${cw.toFixed(2)} | ${(cw / cr).toFixed(3)} |`);
  }
  console.log(JSON.stringify(results));
}

await main();
