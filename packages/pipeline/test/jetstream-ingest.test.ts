// The JetStream source against a real NATS server (nats-server 2.9 with JetStream, started by
// test-peers): the three outcomes as JetStream acks, backpressure by the flow source, and the
// subject ↔ topic mapping. The cluster cases (R3, a node killed) are in jetstream-scale.test.ts.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { mulberry32, startNatsCluster, type NatsCluster } from '@outpost/test-peers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callbackDeadLetterSink } from '../src/dead-letter.js';
import { PipelineError } from '../src/errors.js';
import { connectJetStreamIngest } from '../src/jetstream-ingest.js';
import { runJetStreamPipeline } from '../src/jetstream-run.js';
import { messageId, subjectOfTopic, topicOfSubject } from '../src/jetstream-stream.js';
import type { TelemetryPoint, TelemetrySink } from '../src/types.js';

let nats: NatsCluster;
let nc: NatsConnection;
beforeAll(async () => {
  nats = await startNatsCluster({ nodes: 1 });
  nc = await connect({ servers: nats.urls.map((u) => u.replace('nats://', '')) });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

const until = async (cond: () => boolean, what: string, ms = 15_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

const base = () => ({ servers: nats.urls, insecure: true, replicas: 1 });

describe('subjects and message ids', () => {
  it('maps MQTT topics to subjects as NATS’s MQTT listener does, and back', () => {
    expect(subjectOfTopic('devices/pump.1/telemetry')).toBe('devices.pump//1.telemetry');
    expect(topicOfSubject('devices.pump//1.telemetry')).toBe('devices/pump.1/telemetry');
    expect(topicOfSubject(subjectOfTopic('devices/a-b_c/telemetry'))).toBe('devices/a-b_c/telemetry');
  });
  it('derives the message id from the device and the MQTT id, else the payload', () => {
    const p = new TextEncoder().encode('{"ts":1,"v":1}');
    expect(messageId('d1', p)).toBe(messageId('d1', new Uint8Array(p)));
    expect(messageId('d1', p)).not.toBe(messageId('d2', p));
    expect(messageId('d1', p, '42')).toBe('d1:m:42');
  });
});

describe('connectJetStreamIngest', () => {
  it('refuses plain nats:// without insecure, and bad options with typed errors', async () => {
    await expect(connectJetStreamIngest({ servers: nats.urls }, async () => undefined)).rejects.toBeInstanceOf(PipelineError);
    await expect(connectJetStreamIngest({ ...base(), durable: 'a.b' }, async () => undefined)).rejects.toBeInstanceOf(RangeError);
    await expect(connectJetStreamIngest({ ...base(), servers: [] }, async () => undefined)).rejects.toBeInstanceOf(TypeError);
    await expect(connectJetStreamIngest({ ...base(), maxInFlight: 0 }, async () => undefined)).rejects.toBeInstanceOf(RangeError);
  });

  it('acks delivered messages, terminates dead-lettered ones, naks failures and redelivers them', async () => {
    const stream = 'T1';
    const stored: TelemetryPoint[] = [];
    let failNext = 1;
    const memory: TelemetrySink = { name: 'memory', async write(p) { stored.push(...p); }, async flush() {}, async close() {} };
    const dead: string[] = [];
    const running = await runJetStreamPipeline(
      { sinks: [memory], deadLetter: callbackDeadLetterSink((l) => { if (failNext-- > 0) throw new Error('dead-letter store down'); dead.push(l.reason); }) },
      { ...base(), stream, subjects: ['t1.*.telemetry'], nakDelayMs: 50 },
    );
    const js = jetstream(nc);
    const h = headers();
    const t = Date.now() - 60_000;
    h.set('Outpost-Received-At', String(t)); // the bridge's arrival time: the event time of a point without one
    await js.publish('t1.pump-1.telemetry', `{"ts": ${t}, "temperature": 21.5}`);
    await js.publish('t1.pump//2.telemetry', '{"temperature": 22}', { headers: h });
    await js.publish('t1.pump-3.telemetry', '{"temperature": '); // undecodable: dead letter (first write fails → nak → again)
    const st = () => running.ingest.stats();
    await until(() => st().acked === 2 && st().termed === 1, 'two acks and a term').catch((e: Error) => { throw new Error(`${e.message}: ${JSON.stringify(st())} ${JSON.stringify(running.pipeline.stats())}`); });
    expect(st().naked).toBe(1);
    expect(st().redelivered).toBe(1);
    expect(dead).toEqual(['DECODE_FAILED']);
    expect(stored.map((p) => `${p.device} ${p.time} ${p.value}`).sort()).toEqual([`pump-1 ${t} 21.5`, `pump.2 ${t} 22`]);
    // The acks are fire-and-forget: the server has them once the consumer shows nothing outstanding.
    const jsm = await jetstreamManager(nc);
    let info = await jsm.consumers.info(stream, 'pipeline');
    for (let i = 0; i < 100 && info.num_ack_pending > 0; i++) info = await new Promise((r) => setTimeout(r, 20)).then(() => jsm.consumers.info(stream, 'pipeline'));
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_pending).toBe(0);
    await running.close();
  });

  it('stops pulling while the flow source says held, and pulls what the stream kept afterwards', async () => {
    const listeners = new Set<(held: boolean) => void>();
    const flow = { onFlowChange: (l: (held: boolean) => void) => (listeners.add(l), () => listeners.delete(l)) };
    const got: string[] = [];
    const ingest = await connectJetStreamIngest({ ...base(), stream: 'T2', subjects: ['t2.*.telemetry'], flow }, async (m) => {
      got.push(m.topic);
    });
    const js = jetstream(nc);
    await js.publish('t2.d1.telemetry', '{}');
    await until(() => ingest.stats().acked === 1, 'first ack');
    for (const l of listeners) l(true);
    await new Promise((r) => setTimeout(r, 1_500)); // the pull that was open expires
    for (let i = 0; i < 5; i++) await js.publish('t2.d1.telemetry', `{"v":${i}}`);
    await new Promise((r) => setTimeout(r, 500));
    expect(ingest.stats().paused).toBe(true);
    const info = await (await jetstreamManager(nc)).consumers.info('T2', 'pipeline');
    expect(info.num_pending).toBe(5); // retained by the stream, not handed out
    for (const l of listeners) l(false);
    await until(() => ingest.stats().acked === 6, 'all acked after resume');
    expect(got).toEqual(Array(6).fill('t2/d1/telemetry')); // each once, the subject mapped back to a topic
    await ingest.close();
  });

  it('keeps a held message its own with +WPI instead of letting ack_wait redeliver it', async () => {
    let release: (() => void) | undefined;
    const ingest = await connectJetStreamIngest({ ...base(), stream: 'T3', subjects: ['t3.*.telemetry'], ackWaitMs: 1_000 }, () => new Promise<void>((r) => { release = r; }));
    await jetstream(nc).publish('t3.d1.telemetry', '{}');
    await until(() => release !== undefined, 'the message');
    await new Promise((r) => setTimeout(r, 2_500)); // 2.5 × ack_wait
    expect(ingest.stats().working).toBeGreaterThan(0);
    expect(ingest.stats().received).toBe(1); // not redelivered meanwhile
    release?.();
    await until(() => ingest.stats().acked === 1, 'ack');
    await ingest.close();
  });
});

describe('acks per turn and write groups', () => {
  const fill = async (stream: string, subject: string, n: number, body: (i: number) => string): Promise<void> => {
    await (await jetstreamManager(nc)).streams.add({ name: stream, subjects: [subject.replace(/\.d1\./, '.*.')] });
    const js = jetstream(nc);
    const sent: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) sent.push(js.publish(subject, body(i)));
    await Promise.all(sent);
  };
  const settledOnServer = async (stream: string): Promise<{ num_ack_pending: number; num_pending: number }> => {
    const jsm = await jetstreamManager(nc);
    let info = await jsm.consumers.info(stream, 'pipeline');
    for (let i = 0; i < 100 && (info.num_ack_pending > 0 || info.num_pending > 0); i++) info = await new Promise((r) => setTimeout(r, 20)).then(() => jsm.consumers.info(stream, 'pipeline'));
    return info;
  };

  it('writes the acks of messages that settle in one turn together, not one write per message', async () => {
    await fill('T4', 't4.d1.telemetry', 2_000, (i) => `{"v":${i}}`);
    let release: (() => void) | undefined;
    const shared = new Promise<void>((r) => { release = r; });
    const ingest = await connectJetStreamIngest({ ...base(), stream: 'T4', subjects: ['t4.*.telemetry'], batch: 500 }, () => shared);
    await until(() => ingest.stats().received === 2_000, '2,000 messages handed over');
    expect(ingest.stats().acked).toBe(0);
    release?.();
    await until(() => ingest.stats().acked === 2_000, 'every ack');
    expect(ingest.stats().ackWrites).toBeGreaterThan(0);
    expect(ingest.stats().ackWrites).toBeLessThanOrEqual(2); // the old source: one write per message (2,000)
    expect(await settledOnServer('T4')).toMatchObject({ num_ack_pending: 0, num_pending: 0 });
    await ingest.close();
  });

  it('a pipeline: dead-lettered messages among a write group are terminated, the rest acknowledged, each once', async () => {
    // Every 10th undecodable (a dead letter of its own), and the 5th of every 10 older than the
    // pipeline's maxAgeMs: SCHEMA_INVALID inside the write group, which settles with the others.
    const t0 = Date.now() - 60_000;
    await fill('T5', 't5.d1.telemetry', 1_000, (i) => (i % 10 === 3 ? '{"temperature": ' : `{"ts": ${i % 10 === 5 ? t0 - 400 * 86_400_000 : t0 + i}, "temperature": ${i}}`));
    const stored: TelemetryPoint[] = [];
    const memory: TelemetrySink = { name: 'memory', async write(p) { stored.push(...p); }, async flush() {}, async close() {} };
    const dead: string[] = [];
    const running = await runJetStreamPipeline({ sinks: [memory], deadLetter: callbackDeadLetterSink((l) => { dead.push(l.reason === 'DECODE_FAILED' ? l.reason : `${l.reason} ${l.detail ?? ''}`); }) }, { ...base(), stream: 'T5', subjects: ['t5.*.telemetry'] });
    const st = () => running.ingest.stats();
    await until(() => st().acked + st().termed === 1_000, 'every message settled');
    expect(st()).toMatchObject({ acked: 800, termed: 200, naked: 0, redelivered: 0 });
    expect(dead.filter((r) => r === 'DECODE_FAILED')).toHaveLength(100);
    expect(dead.filter((r) => r.startsWith('SCHEMA_INVALID'))).toHaveLength(100);
    expect(stored.map((p) => p.value).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 1_000 }, (_, i) => i).filter((i) => i % 10 !== 3 && i % 10 !== 5));
    expect(await settledOnServer('T5')).toMatchObject({ num_ack_pending: 0, num_pending: 0 });
    await running.close();
  });

  it('a hostile publisher speaking the NATS protocol itself (HPUB, no client checks): 400 seeded messages with hostile header blocks and payloads each settle exactly once, nothing stalls', async () => {
    // Header blocks from hostile parts (the source's own headers with wildcard, empty, huge,
    // signed, non-ASCII-space and repeated values, other keys, lines without a colon) and
    // payloads good and bad, sent over a raw socket so no client validates them. (No Nats-Msg-Id:
    // the stream would drop repeated ids as duplicates before the source sees them.)
    await (await jetstreamManager(nc)).streams.add({ name: 'T6', subjects: ['t6.*.telemetry'] });
    const rnd = mulberry32(0x7e6);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)] as T;
    const KEYS = ['Content-Type', 'Outpost-Received-At', 'Outpost-Topic', 'Outpost-Oversized', 'content-type', 'X-Other', 'X-Junk'];
    const VALUES = ['', ' ', '\u00a0', '42', '-5', '+5', '1e3', '99999999999999999999', 'devices/+/telemetry', 'devices/#', 'devices/p1/telemetry', 'devices//telemetry', 'application/cbor', 'application/senml+json', 'text/plain', 'x'.repeat(300), 'pümp\u00a01'];
    const PAYLOADS = ['{"temperature": ', '[', '{"device":{"toString":1},"t":1}', '\u0000\u0001', '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]', '{"__proto__":{"x":1},"temperature":-1}', ''];
    const N = 400;
    const good = new Set<number>();
    const enc = new TextEncoder();
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < N; i++) {
      const lines: string[] = [];
      for (let j = Math.floor(rnd() * 5); j > 0; j--) lines.push(rnd() < 0.1 ? pick(VALUES) : `${pick(KEYS)}: ${pick(VALUES)}`);
      const hdr = enc.encode(`NATS/1.0\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`);
      const isGood = rnd() < 0.5;
      if (isGood) good.add(i);
      const body = enc.encode(isGood ? `{"temperature": ${i}}` : pick(PAYLOADS));
      chunks.push(enc.encode(`HPUB t6.d${i % 7}.telemetry ${hdr.length} ${hdr.length + body.length}\r\n`), hdr, body, enc.encode('\r\n'));
    }
    const { connect: tcp } = await import('node:net');
    const [host, port] = (nats.urls[0] as string).replace('nats://', '').split(':');
    const sock = tcp({ host: host as string, port: Number(port) });
    let answer = '';
    sock.on('data', (d: Buffer) => { answer += d.toString('latin1'); });
    await until(() => answer.includes('INFO'), 'INFO');
    sock.write('CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\n');
    for (const c of chunks) sock.write(c);
    sock.write('PING\r\n');
    await until(() => answer.includes('PONG') || answer.includes('-ERR'), 'PONG');
    sock.destroy();
    expect(answer).not.toContain('-ERR');
    expect((await (await jetstreamManager(nc)).streams.info('T6')).state.messages).toBe(N);

    const stored: TelemetryPoint[] = [];
    const memory: TelemetrySink = { name: 'memory', async write(p) { stored.push(...p); }, async flush() {}, async close() {} };
    let dead = 0;
    const running = await runJetStreamPipeline({ sinks: [memory], deadLetter: callbackDeadLetterSink(() => { dead++; }) }, { ...base(), stream: 'T6', subjects: ['t6.*.telemetry'] });
    const st = () => running.ingest.stats();
    await until(() => st().acked + st().termed === N, 'every message settled');
    expect(st()).toMatchObject({ naked: 0, redelivered: 0 });
    expect(stored.length + dead).toBe(N); // one outcome each: a stored point or a dead letter
    const values = stored.map((p) => p.value as number).filter((v) => v !== -1); // -1: the hostile payload that is valid (its __proto__ is data)
    expect(new Set(values).size).toBe(values.length); // none twice
    for (const v of values) expect(good.has(v)).toBe(true); // only what was sent as a good payload
    expect(stored.length).toBeGreaterThan(N / 10); // the good ones with harmless headers got through
    expect(await settledOnServer('T6')).toMatchObject({ num_ack_pending: 0, num_pending: 0 });
    await running.close();
  });
});

describe('the bridge and a payload larger than the cluster takes', () => {
  it('does not block: an oversized message and one without a valid device id are stored so that the pipeline dead-letters them, and what follows flows', async () => {
    const { startBridge } = await import('../src/bridge.js');
    const { startMosquitto, tempDir } = await import('@outpost/test-peers');
    const mqtt = (await import('mqtt')).default;
    const small = await startNatsCluster({ nodes: 1, extra: () => 'max_payload: 4096' });
    const dir = tempDir();
    const broker = await startMosquitto({ dir: dir.path, config: (port) => `listener ${port} 127.0.0.1\nallow_anonymous true\n` });
    const url = `mqtt://127.0.0.1:${broker.port}`;
    try {
      const bridge = await startBridge({ from: { url, insecure: true, clientId: 'bridge-big' }, to: { servers: small.urls, insecure: true, replicas: 1 }, retryDelayMs: 20, maxRetryDelayMs: 50 });
      const stored: TelemetryPoint[] = [];
      const dead: string[] = [];
      const memory: TelemetrySink = { name: 'memory', async write(p) { stored.push(...p); }, async flush() {}, async close() {} };
      const running = await runJetStreamPipeline({ sinks: [memory], deadLetter: callbackDeadLetterSink((l) => { dead.push(`${l.reason} ${l.topic}`); }) }, { servers: small.urls, insecure: true, replicas: 1 });
      const device = await mqtt.connectAsync(url, { clientId: 'pump-9' });
      await device.publishAsync('devices/pump-9/telemetry', JSON.stringify({ temperature: 1, pad: 'x'.repeat(10_000) }), { qos: 1 });
      await device.publishAsync('devices/pump-9/telemetry', '{"temperature": 2}', { qos: 1 });
      await device.publishAsync('devices/pümp 9/telemetry', '{"temperature": 3}', { qos: 1 }); // no valid device id, nor a subject token
      await until(() => bridge.stats().mqtt.acked === 3, 'all three acknowledged by the bridge', 10_000);
      await until(() => stored.length === 1 && dead.length === 2, 'one stored, two dead letters', 10_000);
      expect(stored.map((p) => p.value)).toEqual([2]);
      expect(dead.sort()).toEqual(['OVERSIZED devices/pump-9/telemetry', 'SCHEMA_INVALID devices/pümp 9/telemetry']);
      await device.endAsync();
      await bridge.close();
      await running.close();
    } finally {
      await broker.stop();
      await small.stop();
      dir.cleanup();
    }
  });
});
