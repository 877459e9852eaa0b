// Sustained ingest through both paths (the Parquet lake and PostgreSQL) against the anchor:
// the same rows written to PostgreSQL alone with one COPY, in the same run on this machine.
//   (a) anchor: COPY of every row into a table with the same columns and unique index;
//   (b) the pipeline fed in-process (pipeline.handle, 20,000 messages in flight): decode, rules,
//       lake and PostgreSQL, acknowledged when durable in both;
//   (c) end to end: device connections → Mosquitto (mTLS) → shared-subscription consumer →
//       the same pipeline, timed from the first message received to the last one acknowledged;
//   (d) the reference for (c): a raw MQTT.js QoS 1 subscriber (PUBACK at once, no work) on the
//       same broker, same publisher, same messages, timed from the first message to the last.
// CPU time of this process (every thread: the consumer, the Parquet worker) per message is printed
// for (b), (c) and (d): on a loaded machine it moves far less than the wall-clock rates.
// MAX_WRITE_POINTS=1 RELEASE_PER_TURN=1000000 runs the pipeline with one sink write per message
// and every outcome released at once (as before write groups), for A/B runs.
//   npx tsx --conditions=@outpost/source packages/pipeline/bench/ingest.ts [MESSAGES_PER_DEVICE]
import { fork } from 'node:child_process';
import mqtt from 'mqtt';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { startPostgres, tempDir } from '@outpost/test-peers';
import { connectIngest, openPipelineStack, type PipelineStack } from '@outpost/pipeline';
import { startFleet } from '../../device-sdk/test/fixtures/fleet.js';
import { copyAnchor } from './postgres.js';
import { abOptions, payload, points, benchDevices } from './ingest-data.js';

const DEVICES = 20;
const PER_DEVICE = Number(process.argv[2] ?? 2500);
const MESSAGES = DEVICES * PER_DEVICE;
const RULES = [{ id: 'overheat', kind: 'threshold' as const, metric: 'temperature', above: 75, clearAt: 70 }];
const enc = new TextEncoder();
const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;

async function open(dir: string, url: string, table: string): Promise<PipelineStack> {
  return openPipelineStack({ lakeDir: join(dir, table), postgres: { connectionString: url, table, batchRows: 5_000, maxDelayMs: 1_000 }, rules: RULES, ...abOptions() });
}

const pgServer = await startPostgres();
const fleet = await startFleet();
const tmp = tempDir('outpost-bench-ingest-');
try {
  const app = await fleet.device('app-observer');
  const devices = await benchDevices(fleet, DEVICES);
  const ids = devices.map((d) => d.id);
  const t0 = Date.now() - PER_DEVICE * 1000 - 60_000;
  const rows = points(ids, PER_DEVICE, t0);

  // (a) the anchor
  const anchor = await copyAnchor(pgServer.url, rows);

  // (b) in-process
  const inproc = await open(tmp.path, pgServer.url, 'inproc');
  const tb = performance.now();
  const cpuB = process.cpuUsage();
  // A window of in-flight messages (a counter and one waiter: Promise.race over thousands of
  // promises per message would cost more than the pipeline).
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const settled: Promise<void>[] = [];
  for (let seq = 0; seq < PER_DEVICE; seq++) {
    for (let d = 0; d < DEVICES; d++) {
      const p = inproc.pipeline.handle({ topic: `devices/${ids[d] ?? ''}/telemetry`, payload: enc.encode(payload(d, seq, t0)), receivedAt: Date.now() });
      inFlight++;
      settled.push(p.finally(() => { inFlight--; wake?.(); }));
      if (inFlight >= 20_000) await new Promise<void>((r) => { wake = r; });
    }
  }
  await inproc.pipeline.flush(); // the end of the stream: commit what the sinks hold
  await Promise.all(settled);
  const msB = performance.now() - tb;
  const cpuPerMsgB = cpuMs(process.cpuUsage(cpuB)) / MESSAGES;
  await inproc.close();
  const sb = inproc.stats();

  const publish = async (): Promise<void> => {
    const child = fork(join(import.meta.dirname, 'ingest-publisher.ts'), { stdio: 'inherit' });
    const published = new Promise<void>((resolve, reject) => {
      child.on('message', (m: { done?: boolean }) => { if (m.done === true) resolve(); });
      child.on('exit', (code) => { if (code !== 0) reject(new Error(`publisher exited with ${code}`)); });
    });
    child.send({ url: fleet.url, ca: fleet.ca.certificatePem, devices, messagesPerDevice: PER_DEVICE, t0 });
    await published;
  };

  // (d) the reference: a raw MQTT.js QoS 1 subscriber
  const raw = await mqtt.connectAsync(fleet.url, { ca: fleet.ca.certificatePem, cert: app.cert, key: app.key, clientId: 'bench-raw', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 0, receiveMaximum: 65_535 }, reconnectPeriod: 0 });
  let rawFirst = 0;
  let rawReceived = 0;
  raw.on('message', () => {
    if (rawFirst === 0) rawFirst = performance.now();
    rawReceived++;
  });
  await raw.subscribeAsync('$share/bench-raw/devices/+/telemetry', { qos: 1 });
  const cpuD = process.cpuUsage();
  await publish();
  while (rawReceived < MESSAGES) await new Promise((r) => setTimeout(r, 5));
  const msD = performance.now() - rawFirst;
  const cpuPerMsgD = cpuMs(process.cpuUsage(cpuD)) / MESSAGES;
  await raw.endAsync();

  // (c) end to end through Mosquitto
  const e2e = await open(tmp.path, pgServer.url, 'e2e');
  let first = 0;
  const cpuC = process.cpuUsage();
  const ingest = await connectIngest(
    { url: fleet.url, ca: fleet.ca.certificatePem, cert: app.cert, key: app.key, clientId: 'bench-ingest', group: 'bench', flow: e2e.pipeline },
    (m) => {
      if (first === 0) first = performance.now();
      return e2e.pipeline.handle(m);
    },
  );
  await publish();
  while (ingest.stats().received < MESSAGES) await new Promise((r) => setTimeout(r, 5));
  const receivedC = performance.now() - first;
  await e2e.pipeline.flush(); // the end of the stream: commit what the sinks hold
  while (ingest.stats().acked < MESSAGES) await new Promise((r) => setTimeout(r, 5));
  const msC = performance.now() - first;
  const cpuPerMsgC = cpuMs(process.cpuUsage(cpuC)) / MESSAGES;
  await ingest.close();
  await e2e.close();
  const sc = e2e.stats();

  const line = (name: string, r: number, ms: number, extra = ''): string =>
    `  ${name.padEnd(48)} ${Math.round((r / ms) * 1000).toLocaleString('en-US').padStart(9)} rows/s  ${(ms / 1000).toFixed(2).padStart(6)} s${extra}`;
  console.log(`\nIngest into PostgreSQL and the Parquet lake: ${MESSAGES.toLocaleString('en-US')} messages × 4 metrics = ${rows.length.toLocaleString('en-US')} rows (node ${process.version}, ${cpus().length} cores)`);
  console.log(line('(a) anchor: one COPY into PostgreSQL alone', anchor.rows, anchor.ms));
  console.log(line('(b) pipeline in-process: both paths, durable', rows.length, msB, `  (${Math.round((MESSAGES / msB) * 1000).toLocaleString('en-US')} msg/s, ${(anchor.rowsPerSec / ((rows.length / msB) * 1000)).toFixed(1)}× slower than the anchor)`));
  console.log(line('(c) end to end through Mosquitto (mTLS)', rows.length, msC, `  (${Math.round((MESSAGES / msC) * 1000).toLocaleString('en-US')} msg/s, ${(anchor.rowsPerSec / ((rows.length / msC) * 1000)).toFixed(1)}× slower than the anchor)`));
  console.log(line('(d) raw MQTT.js QoS 1 subscriber, same broker', rows.length, msD, `  (${Math.round((MESSAGES / msD) * 1000).toLocaleString('en-US')} msg/s; (c) is ${(msD / msC).toFixed(2)}× of it)`));
  console.log(`  (d) CPU of this process per message: ${(1000 * cpuPerMsgD).toFixed(1)} µs (the raw subscriber: parse and PUBACK only); load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`  (c) every message received after ${(receivedC / 1000).toFixed(2)} s, the last acknowledged after ${(msC / 1000).toFixed(2)} s (the rest: handling and commits behind the arrivals, and the final commit)`);
  for (const [name, s] of [['(b)', sb], ['(c)', sc]] as const) {
    console.log(`  ${name} CPU of this process per message: ${(1000 * (name === '(b)' ? cpuPerMsgB : cpuPerMsgC)).toFixed(1)} µs`);
    console.log(`  ${name} lake ${s.lake.rows} rows in ${s.lake.files} files; PostgreSQL ${String((s.store as { rowsWritten?: number } | undefined)?.rowsWritten)} rows; ${s.pipeline.alerts} alert events; dead letters ${JSON.stringify(s.pipeline.deadLettered)}`);
  }
} finally {
  await fleet.stop();
  await pgServer.stop();
  tmp.cleanup();
}
