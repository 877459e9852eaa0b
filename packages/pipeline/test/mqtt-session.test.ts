// The consumer's own MQTT session (mqtt-packet over a socket it owns) against a real Mosquitto on
// plain TCP: alerts published on the consumer's connection (QoS 0, 1 and 2), pause/resume
// (backpressure), MQTT 3.1.1, reconnect and resubscribe after a broker restart; and the
// acknowledgement window's order under seeded random completion.
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32, startMosquitto, tempDir, type Mosquitto } from '@outpost/test-peers';
import { AckWindow } from '../src/ack-window.js';
import { mqttAlertSink } from '../src/alerts.js';
import { connectIngest, type IngestOptions } from '../src/ingest.js';

let broker: Mosquitto;
const dir = tempDir('outpost-session-');
beforeAll(async () => {
  broker = await startMosquitto({ dir: dir.path, config: (port) => [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'max_queued_messages 0'].join('\n') });
});
afterAll(async () => {
  await broker?.stop();
  dir.cleanup();
});

const url = (): string => `mqtt://127.0.0.1:${broker.port}`;
const opts = (clientId: string, extra: Partial<IngestOptions> = {}): IngestOptions => ({ url: url(), insecure: true, clientId, ...extra });
const until = async (cond: () => boolean, what: string, ms = 10_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};
const device = (id: string, version: 4 | 5 = 5) => mqtt.connectAsync(url(), { clientId: id, protocolVersion: version, reconnectPeriod: 0 });

describe('the consumer session', () => {
  it('alerts go out on the consumer connection (mqttAlertSink({ client: ingest.client })) at QoS 0, 1 and 2, resolving once the broker has them', async () => {
    const ingest = await connectIngest(opts('sess-alerts'), async () => {});
    const watcher = await device('sess-alert-watch');
    const got: string[] = [];
    watcher.on('message', (topic) => got.push(topic));
    await watcher.subscribeAsync('alerts/#', { qos: 1 });
    const event = (device: string) => ({ kind: 'fired' as const, ruleId: 'hot', device, severity: 'warning' as const, at: 1, metric: 't', value: 90, episodeId: `hot/${device}/1`, message: 'hot' });
    for (const qos of [0, 1, 2] as const) await mqttAlertSink({ client: ingest.client, qos }).send(event(`d${qos}`));
    await until(() => got.length === 3, 'three alerts');
    expect(got.sort()).toEqual(['alerts/d0/hot', 'alerts/d1/hot', 'alerts/d2/hot']);
    await watcher.endAsync();
    await ingest.close();
  });

  it('pause stops taking messages (the broker keeps them); PUBACKs of finished ones still go out; resume takes the rest', async () => {
    const got: number[] = [];
    const ingest = await connectIngest(opts('sess-pause'), async (m) => { got.push(Number(new TextDecoder().decode(m.payload))); });
    const dev = await device('sess-pause-dev');
    const watcher = await device('sess-pause-watch');
    let watched = 0;
    watcher.on('message', () => watched++);
    await watcher.subscribeAsync('devices/p/telemetry', { qos: 1 });
    for (let i = 0; i < 5; i++) await dev.publishAsync('devices/p/telemetry', String(i), { qos: 1 });
    await until(() => ingest.stats().acked === 5, 'the first five acknowledged');
    ingest.pause();
    expect(ingest.stats().paused).toBe(true);
    // Published while paused: the broker routes them (the watcher has them) but the consumer
    // does not read its socket, so its handler sees none of them.
    for (let i = 5; i < 10; i++) await dev.publishAsync('devices/p/telemetry', String(i), { qos: 1 });
    await until(() => watched === 10, 'the watcher to get all ten');
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual([0, 1, 2, 3, 4]);
    ingest.resume();
    await until(() => ingest.stats().acked === 10, 'all ten acknowledged after resume');
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(ingest.stats()).toMatchObject({ paused: false, pauses: 1, received: 10, window: 0 });
    await watcher.endAsync();
    await dev.endAsync();
    await ingest.close();
  });

  it('MQTT 3.1.1 (the embedded broker of the demo speaks it): consume and acknowledge', async () => {
    const got: string[] = [];
    const ingest = await connectIngest(opts('sess-v4', { protocolVersion: 4 }), async (m) => { got.push(new TextDecoder().decode(m.payload)); });
    const dev = await device('sess-v4-dev', 4);
    for (let i = 0; i < 3; i++) await dev.publishAsync('devices/v4/telemetry', `m${i}`, { qos: 1 });
    await until(() => ingest.stats().acked === 3, 'three acknowledged');
    expect(got).toEqual(['m0', 'm1', 'm2']);
    await dev.endAsync();
    await ingest.close();
  });

  it('PUBLISHes through the broker as sent: MQTT 5 properties (mqtt-packet\'s path), none (our reader\'s), QoS 0 and 1, a 300 KB payload split across reads, a non-ASCII topic', async () => {
    const got: { topic: string; payload: Buffer; contentType?: string | undefined; user?: unknown }[] = [];
    const ingest = await connectIngest(opts('sess-props'), async (m) => { got.push({ topic: m.topic, payload: Buffer.from(m.payload), contentType: m.contentType, user: m.userProperties }); });
    const dev = await device('sess-props-dev');
    const big = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 31) % 256));
    await dev.publishAsync('devices/p1/telemetry', '{"a":1}', { qos: 1, properties: { contentType: 'application/json', userProperties: { 'msg-id': 'x1' } } });
    await dev.publishAsync('devices/p1/telemetry', '{"a":2}', { qos: 1 });
    await dev.publishAsync('devices/p1/telemetry', big, { qos: 1 });
    await dev.publishAsync('devices/ü-设备/telemetry', '{"a":3}', { qos: 0, properties: { contentType: 'text/plain' } });
    await dev.publishAsync('devices/p1/telemetry', '{"a":4}', { qos: 0 });
    await until(() => got.length === 5, 'five messages');
    expect(got.map((g) => [g.topic, g.payload.length > 100 ? g.payload.equals(big) : g.payload.toString(), g.contentType, g.user])).toEqual([
      ['devices/p1/telemetry', '{"a":1}', 'application/json', { 'msg-id': 'x1' }],
      ['devices/p1/telemetry', '{"a":2}', undefined, undefined],
      ['devices/p1/telemetry', true, undefined, undefined],
      ['devices/ü-设备/telemetry', '{"a":3}', 'text/plain', undefined],
      ['devices/p1/telemetry', '{"a":4}', undefined, undefined],
    ]);
    await until(() => ingest.stats().acked === 3, 'three PUBACKs');
    await dev.endAsync();
    await ingest.close();
  });

  it('after a broker restart (sessions lost) it reconnects and subscribes again by itself', async () => {
    const got: string[] = [];
    const ingest = await connectIngest(opts('sess-restart', { reconnectPeriodMs: 100 }), async (m) => { got.push(new TextDecoder().decode(m.payload)); });
    await broker.stop();
    await broker.start();
    await until(() => ingest.stats().connects === 2, 'the reconnect');
    const dev = await device('sess-restart-dev');
    await until(() => {
      void dev.publishAsync('devices/r/telemetry', 'after', { qos: 1 });
      return got.includes('after');
    }, 'a message after the restart');
    await dev.endAsync();
    await ingest.close();
  });
});

describe('AckWindow', () => {
  it('under seeded random completion orders, packet ids are released exactly in arrival order, each once', () => {
    const rnd = mulberry32(0x0dd);
    for (let round = 0; round < 30; round++) {
      const released: number[] = [];
      const w = new AckWindow((id) => released.push(id));
      const n = 1 + Math.floor(rnd() * 6000); // past the compaction threshold in some rounds
      const ids = Array.from({ length: n }, (_, i) => (i % 65_535) + 1);
      const seqs = ids.map((id) => w.push(id));
      const order = seqs.map((_, i) => i).sort(() => rnd() - 0.5);
      let checked = 0;
      let wrong = 0;
      for (const i of order) {
        if (!w.complete(seqs[i] as number)) wrong++;
        // Released so far is always a prefix of the arrival order.
        for (; checked < released.length; checked++) if (released[checked] !== ids[checked]) wrong++;
      }
      expect(wrong).toBe(0);
      expect(released).toEqual(ids);
      expect(w.size).toBe(0);
      expect(w.complete(seqs[0] as number)).toBe(false); // released already
    }
  });

  it('reset forgets unreleased messages: their late completions release nothing', () => {
    const released: number[] = [];
    const w = new AckWindow((id) => released.push(id));
    const a = w.push(1);
    const b = w.push(2);
    w.complete(b);
    w.reset();
    expect(w.complete(a)).toBe(false);
    const c = w.push(3);
    w.complete(c);
    expect(released).toEqual([3]);
  });
});
