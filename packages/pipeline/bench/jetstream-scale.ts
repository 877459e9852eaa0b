// Scale-out on NATS JetStream (3 nodes, R3 stream), every figure from one run on this machine:
//   (1) per-message CPU of the pipeline workers (lake + PostgreSQL, each in its own process) as
//       they go 1 → 2 → 4 on one durable consumer, the stream prefilled with N messages per round;
//   (2) one worker on JetStream vs one consumer on Mosquitto (mTLS), both draining N messages
//       that wait for them (the stream; the consumer's persistent session): msg/s;
//   (3) the bridge (Mosquitto → JetStream, PUBACK after the publish ack) vs a raw MQTT.js QoS 1
//       subscriber on the same broker, same publisher and messages: msg/s from first to last;
//   (4) publish → stored (durable in the lake and PostgreSQL) with the bridge and 2 workers, devices
//       publishing at a steady rate: p50 / p99.
// Workers in (1) and (2) commit their batches when 1,000 messages are in flight (flushAtInFlight),
// so batch sizes stay the same however many workers share the stream; (4) uses 200/100 ms age bounds.
//   npx tsx --conditions=@outpost/source packages/pipeline/bench/jetstream-scale.ts [N]
//   PARTS=1,2 … runs only those parts
import { fork, type ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createPostgresSink, startBridge, type Bridge } from '@outpost/pipeline';
import { startNatsCluster, startPostgres, tempDir } from '@outpost/test-peers';
import { startFleet } from '../../device-sdk/test/fixtures/fleet.js';
import { payload } from './ingest-data.js';

const N = Number(process.argv[2] ?? 10_000);
const PARTS = new Set((process.env['PARTS'] ?? '1,2,3,4').split(','));
const DEVICES = 20;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');

interface Report { settled: number; cpuUs: number; cpuActiveUs: number; first: number; last: number }
interface Worker { proc: ChildProcess; last: Report; latencies: number[] | undefined }

const [pgsrv, fleet, nats] = await Promise.all([startPostgres(), startFleet(), startNatsCluster({ nodes: 3 })]);
const tmp = tempDir('outpost-bench-js-');
const schema = createPostgresSink({ connectionString: pgsrv.url });
await schema.ensureSchema();
await schema.close();
const app = await fleet.device('app-observer');
const devices = await Promise.all(Array.from({ length: DEVICES }, async (_, i) => fleet.device(`meter-${i}`)));
const nc = await connect({ servers: nats.urls.map((u) => u.replace('nats://', '')) });
const jsm = await jetstreamManager(nc);
const js = jetstream(nc);
let round = 0;

async function worker(mode: 'jetstream' | 'mqtt', name: string, tune: 'throughput' | 'latency' = 'throughput'): Promise<Worker> {
  const proc = fork(join(import.meta.dirname, 'jetstream-worker.ts'), { stdio: 'inherit' });
  const w: Worker = { proc, last: { settled: 0, cpuUs: 0, cpuActiveUs: 0, first: 0, last: 0 }, latencies: undefined };
  const ready = new Promise<void>((r) => proc.on('message', (m: { ready?: boolean; latencies?: number[] } & Partial<Report>) => {
    if (m.ready === true) r();
    if (m.settled !== undefined) w.last = m as Report;
    if (m.latencies !== undefined) w.latencies = m.latencies;
  }));
  proc.send({ mode, name, servers: nats.urls, replicas: 3, url: fleet.url, ca: fleet.ca.certificatePem, cert: app.cert, key: app.key, postgres: pgsrv.url, dir: tmp.path, tune });
  await ready;
  return w;
}
async function stop(ws: readonly Worker[]): Promise<void> {
  for (const w of ws) w.proc.send({ stop: true });
  await Promise.all(ws.map((w) => new Promise((r) => w.proc.once('exit', r))));
}
const settled = (ws: readonly Worker[]): number => ws.reduce((a, w) => a + w.last.settled, 0);

/** A fresh consumer and N new messages in the stream (new event times each round: new rows). */
async function prefill(): Promise<void> {
  await jsm.consumers.delete('TELEMETRY', 'pipeline').catch(() => undefined);
  await jsm.streams.purge('TELEMETRY').catch(() => undefined);
  const t0 = Date.now() - 86_400_000 + round++ * 3_600_000;
  const inflight = new Set<Promise<unknown>>();
  for (let i = 0; i < N; i++) {
    const d = i % DEVICES;
    const p = js.publish(`devices.meter-${d}.telemetry`, payload(d, Math.floor(i / DEVICES), t0), { msgID: `r${round}-${i}` });
    inflight.add(p);
    void p.then(() => inflight.delete(p));
    if (inflight.size >= 512) await Promise.race(inflight);
  }
  await Promise.all(inflight);
}

async function drain(k: number): Promise<{ msgPerSec: number; cpuUsPerMsg: number }> {
  await prefill();
  const ws = await Promise.all(Array.from({ length: k }, (_, i) => worker('jetstream', `js-${k}-${i}`)));
  while (settled(ws) < N) await sleep(50);
  await sleep(250); // the last reports
  const first = Math.min(...ws.map((w) => w.last.first).filter((f) => f > 0));
  const last = Math.max(...ws.map((w) => w.last.last));
  const cpu = ws.reduce((a, w) => a + w.last.cpuActiveUs, 0);
  await stop(ws);
  return { msgPerSec: (N / (last - first)) * 1000, cpuUsPerMsg: cpu / N };
}

function publishMqtt(messagesPerDevice: number): Promise<void> {
  const child = fork(join(import.meta.dirname, 'ingest-publisher.ts'), { stdio: 'inherit' });
  const done = new Promise<void>((resolve) => child.on('message', (m: { done?: boolean }) => { if (m.done === true) resolve(); }));
  child.send({ url: fleet.url, ca: fleet.ca.certificatePem, devices: devices.map((d) => ({ id: d.deviceId, cert: d.cert, key: d.key })), messagesPerDevice, t0: Date.now() - 86_400_000 + round++ * 3_600_000 });
  return done;
}

try {
  // Create the stream once (R3).
  const setup = await startBridge({ from: { url: fleet.url, ca: fleet.ca.certificatePem, cert: app.cert, key: app.key, clientId: 'bench-setup' }, to: { servers: nats.urls, insecure: true } });
  await setup.close();
  console.log(`\nJetStream scale-out bench: ${N.toLocaleString('en-US')} messages per round, 3-node cluster, R3 (node ${process.version}, ${cpus().length} cores, load ${load()})`);

  // (1) 1 → 2 → 4 workers (the 1-worker round also feeds (2))
  const scaling: Record<number, { msgPerSec: number; cpuUsPerMsg: number }> = {};
  for (const k of PARTS.has('1') ? [1, 2, 4] : PARTS.has('2') ? [1] : []) {
    scaling[k] = await drain(k);
    console.log(`  (1) ${k} worker(s): ${Math.round(scaling[k].msgPerSec).toLocaleString('en-US')} msg/s, ${scaling[k].cpuUsPerMsg.toFixed(0)} µs CPU per message (the workers' own CPU from their first message to their last; load ${load()})`);
  }
  const base = scaling[1]?.cpuUsPerMsg ?? 1;
  console.log(`      CPU per message relative to 1 worker: 2 → ${((scaling[2]?.cpuUsPerMsg ?? 0) / base).toFixed(2)}×, 4 → ${((scaling[4]?.cpuUsPerMsg ?? 0) / base).toFixed(2)}×`);

  // (2) one consumer on Mosquitto, draining its persistent session
  if (PARTS.has('2')) {
  const m1 = await worker('mqtt', 'mq-1'); // creates the session and the shared subscription
  m1.proc.kill('SIGKILL');
  await new Promise((r) => m1.proc.once('exit', r));
  await publishMqtt(Math.ceil(N / DEVICES)); // queued in the session
  const m2 = await worker('mqtt', 'mq-1');
  const mTotal = Math.ceil(N / DEVICES) * DEVICES;
  while (m2.last.settled < mTotal) await sleep(50);
  await sleep(250);
  const mqttRate = (mTotal / (m2.last.last - m2.last.first)) * 1000;
  await stop([m2]);
  console.log(`  (2) one consumer on Mosquitto: ${Math.round(mqttRate).toLocaleString('en-US')} msg/s, ${(m2.last.cpuActiveUs / mTotal).toFixed(0)} µs CPU per message; one worker on JetStream: ${Math.round(scaling[1]?.msgPerSec ?? 0).toLocaleString('en-US')} msg/s = ${((scaling[1]?.msgPerSec ?? 0) / mqttRate).toFixed(2)}×`);
  }

  // (3) the bridge vs a raw MQTT.js QoS 1 subscriber
  const mTotal = Math.ceil(N / DEVICES) * DEVICES;
  const startBridgeHere = (): Promise<Bridge> => startBridge({ from: { url: fleet.url, ca: fleet.ca.certificatePem, cert: app.cert, key: app.key, clientId: 'bench-bridge' }, to: { servers: nats.urls, insecure: true } });
  let bridge: Bridge | undefined;
  if (PARTS.has('3')) {
  const raw = await mqtt.connectAsync(fleet.url, { ca: fleet.ca.certificatePem, cert: app.cert, key: app.key, clientId: 'bench-raw', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 0 }, reconnectPeriod: 0 });
  let rawFirst = 0;
  let rawN = 0;
  let rawLast = 0;
  raw.on('message', () => {
    if (rawFirst === 0) rawFirst = performance.now();
    rawN++;
    rawLast = performance.now();
  });
  await raw.subscribeAsync('$share/raw/devices/+/telemetry', { qos: 1 });
  await publishMqtt(Math.ceil(N / DEVICES));
  while (rawN < mTotal) await sleep(10);
  await raw.endAsync();
  const rawRate = (mTotal / (rawLast - rawFirst)) * 1000;
  const br = (bridge = await startBridgeHere());
  const b0 = br.stats().mqtt.acked;
  let bFirst = 0;
  const publishing = publishMqtt(Math.ceil(N / DEVICES));
  while (br.stats().mqtt.acked < b0 + mTotal) {
    if (bFirst === 0 && br.stats().mqtt.received > 0) bFirst = performance.now();
    await sleep(2);
  }
  const bridgeRate = (mTotal / (performance.now() - bFirst)) * 1000;
  await publishing;
  console.log(`  (3) bridge: ${Math.round(bridgeRate).toLocaleString('en-US')} msg/s vs raw MQTT.js QoS 1 subscriber ${Math.round(rawRate).toLocaleString('en-US')} msg/s = ${(bridgeRate / rawRate).toFixed(2)}× (load ${load()})`);
  }

  // (4) publish → stored with the bridge and 2 workers, devices at a steady rate
  if (PARTS.has('4')) {
  bridge ??= await startBridgeHere();
  await jsm.consumers.delete('TELEMETRY', 'pipeline').catch(() => undefined);
  await jsm.streams.purge('TELEMETRY');
  const ws = await Promise.all([worker('jetstream', 'lat-1', 'latency'), worker('jetstream', 'lat-2', 'latency')]);
  const clients = await Promise.all(devices.map((d) => mqtt.connectAsync(fleet.url, { ca: fleet.ca.certificatePem, cert: d.cert, key: d.key, clientId: `${d.deviceId}-lat`, protocolVersion: 5, reconnectPeriod: 0 })));
  const RATE = 500;
  const COUNT = 5_000;
  const start = Date.now();
  for (let i = 0; i < COUNT; i++) {
    const wait = start + (i * 1000) / RATE - Date.now();
    if (wait > 0) await sleep(wait);
    const d = i % DEVICES;
    const now = Date.now();
    clients[d]?.publish(`devices/${devices[d]?.deviceId ?? ''}/telemetry`, JSON.stringify({ ts: now, sent: now, v: i }), { qos: 1 });
  }
  while (settled(ws) < COUNT) await sleep(50);
  await stop(ws);
  await Promise.all(clients.map((c) => c.endAsync()));
  const lat = ws.flatMap((w) => w.latencies ?? []).sort((a, b) => a - b);
  const q = (p: number): number => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  console.log(`  (4) publish → stored (lake maxAgeMs 200, PostgreSQL maxDelayMs 100), ${COUNT} messages at ${RATE}/s, bridge + 2 workers: p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${lat.at(-1)} ms (load ${load()})`);
  }
  await bridge?.close();
} finally {
  await nc.close();
  await Promise.all([nats.stop(), pgsrv.stop(), fleet.stop()]);
  tmp.cleanup();
}
