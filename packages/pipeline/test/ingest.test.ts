// The MQTT consumer against a real Mosquitto with the fleet's mTLS config (brokerConfig from
// @outpost/pki): shared subscriptions, PUBACKs held until the handler resolves, and
// redelivery of what was not acknowledged when a consumer's connection dies.
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectIngest, type Ingest, type IngestOptions } from '../src/ingest.js';
import type { IncomingMessage } from '../src/decode.js';
import { PipelineError } from '../src/errors.js';
import { runPipeline } from '../src/pipeline.js';
import { callbackDeadLetterSink } from '../src/dead-letter.js';
import type { TelemetrySink } from '../src/types.js';
import { startFleet, type Fleet } from '../../device-sdk/test/fixtures/fleet.js';

let fleet: Fleet;
let app: { cert: string; key: string };
beforeAll(async () => {
  fleet = await startFleet();
  app = await fleet.device('app-observer'); // the fixture's application identity: may read devices/+/#
});
afterAll(async () => {
  await fleet?.stop();
});

const until = async (cond: () => boolean, what: string, ms = 10_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

async function device(id: string): Promise<mqtt.MqttClient> {
  const creds = await fleet.device(id);
  return mqtt.connectAsync(fleet.url, { ca: fleet.ca.certificatePem, cert: creds.cert, key: creds.key, clientId: id, protocolVersion: 5, reconnectPeriod: 0 });
}

const opts = (clientId: string, extra: Partial<IngestOptions> = {}): IngestOptions => ({ url: fleet.url, ca: fleet.ca.certificatePem, cert: app.cert, key: app.key, clientId, ...extra });

describe('connectIngest against Mosquitto (mTLS)', () => {
  it('two consumers in one shared-subscription group split the stream: every message once, none twice', async () => {
    const seen = new Map<string, string[]>();
    const handler = (who: string) => async (m: IncomingMessage) => {
      seen.set(who, [...(seen.get(who) ?? []), new TextDecoder().decode(m.payload)]);
    };
    const a = await connectIngest(opts('pipe-a', { group: 'g1' }), handler('a'));
    const b = await connectIngest(opts('pipe-b', { group: 'g1' }), handler('b'));
    const dev = await device('share-dev');
    for (let i = 0; i < 200; i++) await dev.publishAsync('devices/share-dev/telemetry', `{"seq":${i}}`, { qos: 1 });
    await until(() => (seen.get('a')?.length ?? 0) + (seen.get('b')?.length ?? 0) >= 200, '200 messages');
    await new Promise((r) => setTimeout(r, 100));
    const all = [...(seen.get('a') ?? []), ...(seen.get('b') ?? [])];
    expect(all).toHaveLength(200);
    expect(new Set(all).size).toBe(200);
    expect(seen.get('a')?.length).toBeGreaterThan(20); // both consumers got a share
    expect(seen.get('b')?.length).toBeGreaterThan(20);
    await until(() => a.stats().acked + b.stats().acked === 200, 'all acked');
    await dev.endAsync();
    await a.close();
    await b.close();
  });

  it('PUBACK waits for the handler; what was never acknowledged is redelivered (DUP) after the connection dies', async () => {
    // A handler that never resolves: its batch never commits.
    const first = await connectIngest(opts('pipe-hold', { group: 'g2', reconnectPeriodMs: 60_000 }), () => new Promise<void>(() => {}));
    const dev = await device('hold-dev');
    for (let i = 0; i < 10; i++) await dev.publishAsync('devices/hold-dev/telemetry', `{"seq":${i}}`, { qos: 1 });
    await until(() => first.stats().received === 10, '10 received');
    expect(first.stats()).toMatchObject({ received: 10, acked: 0, pending: 10 });
    // The consumer's process "dies": the socket drops without DISCONNECT, nothing acknowledged.
    first.drop();
    await first.close(0);

    const got: string[] = [];
    const second = await connectIngest(opts('pipe-hold', { group: 'g2' }), async (m) => { got.push(new TextDecoder().decode(m.payload)); });
    await until(() => got.length >= 10, 'redelivery');
    expect(got.map((s) => (JSON.parse(s) as { seq: number }).seq).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(second.stats().redelivered).toBe(10);
    await until(() => second.stats().acked === 10, 'acked');
    await dev.endAsync();
    await second.close();
  });

  it('a rejected handler: no PUBACK for it nor after it (order); the consumer reconnects and the broker redelivers from there; acknowledged ones never come back', async () => {
    const seen: string[] = [];
    let failed = false;
    const first = await connectIngest(opts('pipe-ack', { reconnectPeriodMs: 300 }), async (m) => {
      const text = new TextDecoder().decode(m.payload);
      seen.push(text);
      if (text.includes('"seq":3') && !failed) {
        failed = true;
        throw new Error('dead-letter sink down');
      }
    });
    const dev = await device('ack-dev');
    for (let i = 0; i < 5; i++) await dev.publishAsync('devices/ack-dev/telemetry', `{"seq":${i}}`, { qos: 1 });
    const threes = (): number => seen.filter((t) => t.includes('"seq":3')).length;
    await until(() => first.stats().connects === 2 && threes() === 2 && seen.at(-1) === '{"seq":4}' && first.stats().pending === 0 && first.stats().window === 0, 'the reconnect and the redelivery');
    // 0-2 acknowledged on the first connection; 3 failed, so 4 (if it had arrived yet) could not
    // be acknowledged before it: they came again on the second connection, and only they.
    const seqs = seen.map((s) => (JSON.parse(s) as { seq: number }).seq);
    expect(seqs.slice(0, 4)).toEqual([0, 1, 2, 3]);
    expect(seqs.filter((x) => x < 3)).toEqual([0, 1, 2]);
    expect(seqs.filter((x) => x === 3)).toHaveLength(2);
    expect(seqs.slice(-2)).toEqual([3, 4]);
    expect(first.stats().redelivered).toBeGreaterThanOrEqual(1);
    expect(first.stats().acked).toBe(5);
    first.drop();
    await first.close(0);
    const got: string[] = [];
    const second = await connectIngest(opts('pipe-ack'), async (m) => { got.push(new TextDecoder().decode(m.payload)); });
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toEqual([]); // every message was acknowledged: nothing is redelivered
    await dev.endAsync();
    await second.close();
  });

  it('a handler that returns one promise for many messages (a write group; here one settled promise for all): every message gets its PUBACK, in later turns too', async () => {
    const ok = Promise.resolve();
    let n = 0;
    const c = await connectIngest(opts('pipe-shared', { group: 'g-shared' }), () => {
      n++;
      return ok;
    });
    const dev = await device('shared-dev');
    for (let i = 0; i < 20; i++) dev.publish('devices/shared-dev/telemetry', `{"seq":${i}}`, { qos: 1 }); // several in one socket read
    await until(() => n >= 20, 'first 20');
    for (let i = 20; i < 30; i++) await dev.publishAsync('devices/shared-dev/telemetry', `{"seq":${i}}`, { qos: 1 }); // one per turn
    await until(() => c.stats().acked === 30, 'all 30 acknowledged');
    expect(c.stats()).toMatchObject({ received: 30, acked: 30, pending: 0, window: 0 });
    await dev.endAsync();
    await c.close();
  });

  it('a backlog is read in socket reads, not one TLS record (one PUBLISH) per event-loop turn: the sinks get one write per read, of many messages', async () => {
    const writes: number[] = [];
    const memory: TelemetrySink = { name: 'memory', write: async (p) => void writes.push(p.length), flush: async () => {}, close: async () => {} };
    const running = await runPipeline({ sinks: [memory], deadLetter: callbackDeadLetterSink(() => {}) }, opts('pipe-reads', { group: 'g-reads' }));
    running.ingest.pause(); // the broker's messages wait in the socket and the session
    const dev = await device('reads-dev');
    const t0 = Date.now() - 60_000;
    for (let i = 0; i < 2_000; i++) dev.publish('devices/reads-dev/telemetry', `{"ts":${t0 + i},"v":${i}}`, { qos: 1 });
    await until(() => running.pipeline.stats().received === 0 && writes.length === 0, 'nothing read while paused', 1_000);
    await new Promise((r) => setTimeout(r, 500));
    running.ingest.resume();
    await until(() => running.ingest.stats().acked === 2_000, '2,000 acknowledged', 30_000);
    expect(writes.reduce((a, b) => a + b, 0)).toBe(2_000);
    expect(writes.length).toBeLessThan(200); // today: 2,000 writes of one point
    await dev.endAsync();
    await running.close();
  });

  it('a graceful close ends the session: nothing is queued for the departed consumer', async () => {
    const got: string[] = [];
    const a = await connectIngest(opts('pipe-leave', { group: 'g3' }), async (m) => { got.push(new TextDecoder().decode(m.payload)); });
    const b = await connectIngest(opts('pipe-stay', { group: 'g3' }), async (m) => { got.push(new TextDecoder().decode(m.payload)); });
    await a.close();
    const dev = await device('leave-dev');
    for (let i = 0; i < 20; i++) await dev.publishAsync('devices/leave-dev/telemetry', `{"seq":${i}}`, { qos: 1 });
    await until(() => got.length >= 20, 'all to the remaining consumer');
    expect(b.stats().received).toBe(20);
    await dev.endAsync();
    await b.close();
  });

  it('a graceful close in the middle of a stream loses nothing: what the broker had started to send is handled and acknowledged first', async () => {
    const seen = new Set<string>();
    const slow = async (m: IncomingMessage) => {
      await new Promise((r) => setTimeout(r, 2)); // a batch that takes a moment to commit
      seen.add(new TextDecoder().decode(m.payload));
    };
    const a = await connectIngest(opts('pipe-mid-a', { group: 'g4' }), slow);
    const c = await connectIngest(opts('pipe-mid-c', { group: 'g4' }), slow);
    const dev = await device('mid-dev');
    const N = 4000;
    const sending = (async () => {
      for (let i = 0; i < N; i++) {
        await dev.publishAsync('devices/mid-dev/telemetry', `{"seq":${i}}`, { qos: 1 });
      }
    })();
    await until(() => a.stats().received > 500, 'A to be busy');
    await a.close(); // mid-stream
    const aStats = a.stats();
    await sending;
    await until(() => seen.size >= N, `all ${N} messages`, 15_000);
    expect(seen.size).toBe(N);
    expect(aStats.pending).toBe(0);
    expect(aStats.acked).toBe(aStats.received);
    await dev.endAsync();
    await c.close();
  });

  it('refuses: no certificate, plain mqtt://, a broker from another CA', async () => {
    const code = async (p: Promise<Ingest>): Promise<string> => {
      try {
        const i = await p;
        await i.close();
        return 'ACCEPTED';
      } catch (e) {
        return e instanceof PipelineError ? e.code : String(e);
      }
    };
    const noop = async () => {};
    expect(await code(connectIngest({ url: fleet.url, ca: fleet.ca.certificatePem, clientId: 'x' }, noop))).toBe('INGEST_FAILED');
    expect(await code(connectIngest({ url: `mqtt://127.0.0.1:${fleet.broker.port}`, cert: app.cert, key: app.key, clientId: 'x' }, noop))).toBe('INGEST_FAILED');
    const { createFleetCA } = await import('@outpost/pki');
    const other = await createFleetCA({ commonName: 'Other CA' });
    expect(await code(connectIngest(opts('x', { ca: other.certificatePem, connectTimeoutMs: 3_000 }), noop))).toBe('INGEST_FAILED');
  });

  it('a device identity used as a consumer gets nothing of other devices (Mosquitto grants the SUBACK and withholds per its ACL)', async () => {
    const nosy = await fleet.device('nosy-dev');
    let got = 0;
    const consumer = await connectIngest({ ...opts('nosy-dev'), cert: nosy.cert, key: nosy.key }, async () => { got++; });
    const dev = await device('victim-dev');
    for (let i = 0; i < 5; i++) await dev.publishAsync('devices/victim-dev/telemetry', `{"seq":${i}}`, { qos: 1 });
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toBe(0);
    await dev.endAsync();
    await consumer.close();
  });

  it('wrong types', async () => {
    const noop = async () => {};
    await expect(connectIngest(null as never, noop)).rejects.toThrow(TypeError);
    await expect(connectIngest({ ...opts('x'), url: 5 } as never, noop)).rejects.toThrow(/url: expected a string/);
    await expect(connectIngest({ ...opts('x'), clientId: '' }, noop)).rejects.toThrow(RangeError);
    await expect(connectIngest({ ...opts('x'), group: 'a/b' }, noop)).rejects.toThrow(RangeError);
    await expect(connectIngest({ ...opts('x'), topics: [] }, noop)).rejects.toThrow(TypeError);
    await expect(connectIngest({ ...opts('x'), protocolVersion: 3 as never }, noop)).rejects.toThrow(RangeError);
    await expect(connectIngest({ ...opts('x'), receiveMaximum: 0 }, noop)).rejects.toThrow(RangeError);
    await expect(connectIngest({ ...opts('x'), url: 'http://x' }, noop)).rejects.toThrow(RangeError);
    await expect(connectIngest(opts('x'), 'handler' as never)).rejects.toThrow(TypeError);
  });
});
