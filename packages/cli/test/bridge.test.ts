// `outpost bridge` end to end: run() with a capturing Io, Mosquitto with mTLS (the fleet fixture)
// on one side, a single-node NATS JetStream on the other, and the pipeline's JetStream source
// reading what the bridge stored.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { callbackDeadLetterSink, runJetStreamPipeline, type TelemetryPoint } from '@outpost/pipeline';
import { startNatsCluster, tempDir, type NatsCluster } from '@outpost/test-peers';
import { run } from '../src/run.js';
import { startFleet, type Fleet } from '../../device-sdk/test/fixtures/fleet.js';

const tmp = tempDir('outpost-cli-bridge-');
let fleet: Fleet;
let nats: NatsCluster;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), cwd: tmp.path });
  return { code, out, err };
}

beforeAll(async () => {
  [fleet, nats] = await Promise.all([startFleet(), startNatsCluster({ nodes: 1 })]);
  writeFileSync(join(tmp.path, 'ca.pem'), fleet.ca.certificatePem);
  const c = await fleet.device('app-observer');
  writeFileSync(join(tmp.path, 'app.pem'), c.cert);
  writeFileSync(join(tmp.path, 'app.key'), c.key);
});
afterAll(async () => {
  await Promise.all([fleet?.stop(), nats?.stop()]);
  tmp.cleanup();
});

describe('outpost bridge', () => {
  test('usage errors exit 2', async () => {
    expect((await cli('bridge', '--from', 'mqtts://127.0.0.1:1')).code).toBe(2);
    expect((await cli('bridge', '--from', 'mqtts://127.0.0.1:1', '--to', 'nats://127.0.0.1:1', '--replicas', 'three')).code).toBe(2);
  });

  test('moves device telemetry into the stream, where a JetStream pipeline reads it', async () => {
    const running = cli('bridge', '--from', fleet.url, '--ca', 'ca.pem', '--cert', 'app.pem', '--key', 'app.key', '--to', nats.urls[0] as string, '--insecure', '--replicas', '1', '--client-id', 'bridge-cli', '--duration', '6000');
    const stored: TelemetryPoint[] = [];
    const sink = { name: 'memory', write: async (p: readonly TelemetryPoint[]) => void stored.push(...p), flush: async () => {}, close: async () => {} };
    const pipeline = await runJetStreamPipeline({ sinks: [sink], deadLetter: callbackDeadLetterSink(() => {}) }, { servers: nats.urls, insecure: true, replicas: 1 });
    const creds = await fleet.device('pump-7');
    const device = await mqtt.connectAsync(fleet.url, { ca: fleet.ca.certificatePem, cert: creds.cert, key: creds.key, clientId: 'pump-7', protocolVersion: 5 });
    await new Promise((r) => setTimeout(r, 1_500)); // the bridge is subscribed by now (a QoS 1 message before that is not routed to it)
    const t = Date.now() - 1_000;
    for (let i = 0; i < 3; i++) await device.publishAsync('devices/pump-7/telemetry', JSON.stringify({ ts: t + i, temperature: 20 + i }), { qos: 1 });
    const deadline = Date.now() + 15_000;
    while (stored.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(stored.map((p) => `${p.device} ${p.value}`)).toEqual(['pump-7 20', 'pump-7 21', 'pump-7 22']);
    await device.endAsync();
    await pipeline.close();
    const r = await running;
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/stopped: 3 received, 3 stored \(0 duplicates\), 3 acknowledged/);
  }, 30_000);
});

describe('outpost pipeline --nats', () => {
  test('takes what outpost bridge stored from the stream into the lake and the store', async () => {
    const lake = join(tmp.path, 'lake-nats');
    const bridge = cli('bridge', '--from', fleet.url, '--ca', 'ca.pem', '--cert', 'app.pem', '--key', 'app.key', '--to', nats.urls[0] as string, '--insecure', '--replicas', '1', '--client-id', 'bridge-cli-2', '--duration', '6000');
    const worker = cli('pipeline', '--nats', nats.urls[0] as string, '--insecure', '--durable', 'cli-workers', '--lake', lake, '--duckdb', ':memory:', '--json', '--duration', '6000');
    const creds = await fleet.device('pump-8');
    const device = await mqtt.connectAsync(fleet.url, { ca: fleet.ca.certificatePem, cert: creds.cert, key: creds.key, clientId: 'pump-8', protocolVersion: 5 });
    await new Promise((r) => setTimeout(r, 1_500)); // both are connected by now
    const t = Date.now() - 1_000;
    for (let i = 0; i < 4; i++) await device.publishAsync('devices/pump-8/telemetry', JSON.stringify({ ts: t + i, temperature: 30 + i }), { qos: 1 });
    await device.endAsync();
    const [b, w] = await Promise.all([bridge, worker]);
    expect(b.code).toBe(0);
    expect(w.code, w.err).toBe(0);
    const stopped = JSON.parse(w.out.trim().split('\n').at(-1) as string) as { ingest: { acked: number }; lake: { rows: number } };
    expect(stopped.ingest.acked).toBeGreaterThanOrEqual(4); // the stream also holds the first test's 3 messages
    expect(stopped.lake.rows).toBe(stopped.ingest.acked);
    expect((await cli('pipeline', '--nats', 'nats://127.0.0.1:1', '--broker', 'mqtts://127.0.0.1:1', '--lake', lake)).code).toBe(2);
  }, 30_000);
});
