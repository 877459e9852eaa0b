// The client state machine on a manual clock against a scripted UDP peer (a stand-in gateway:
// it lets the test drop replies and check timings to the millisecond, which a real gateway
// cannot). The client ↔ gateway ↔ Mosquitto behaviour is in mqtt-sn-gateway.mosquitto.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { connectMqttSn, DEFAULT_RETRY, MqttSnError, MqttSnGateway, publishQoSMinus1, searchGateway, type MqttSnClient } from '@outpost/device-sdk/mqtt-sn';
import { ManualTimers, ScriptedPeer } from './fixtures/mqttsn-manual.js';

const peers: ScriptedPeer[] = [];
const clients: MqttSnClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const p of peers.splice(0)) p.close();
});

async function setup(): Promise<{ t: ManualTimers; gw: ScriptedPeer }> {
  const t = new ManualTimers();
  const gw = await ScriptedPeer.start(() => t.now());
  peers.push(gw);
  return { t, gw };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

describe('retransmission (MQTT-SN 1.2 §6.13, Tretry/Nretry §7.2)', () => {
  it('defaults are Tretry 10 s and Nretry 3', () => {
    expect(DEFAULT_RETRY).toEqual({ tRetryMs: 10_000, nRetry: 3, jitter: 0.25, backoff: 1 });
  });

  it('CONNECT is retransmitted every Tretry and fails with TIMEOUT after Nretry retransmissions', async () => {
    const { t, gw } = await setup();
    const p = connectMqttSn({ gateway: { host: '127.0.0.1', port: gw.port }, clientId: 'c1', bind: { host: '127.0.0.1' }, clock: t, random: () => 0 });
    const outcome = p.then(() => 'connected', (e: unknown) => e);
    await gw.waitFor(1);
    for (let i = 1; i <= 3; i++) {
      t.advance(10_000);
      await gw.waitFor(i + 1);
    }
    t.advance(10_000);
    const err = await outcome;
    expect(err).toBeInstanceOf(MqttSnError);
    expect((err as MqttSnError).code).toBe('TIMEOUT');
    expect((err as MqttSnError).message).toContain('4 transmissions over 40000 ms');
    expect(gw.got.map((g) => [g.at, g.m.type])).toEqual([[0, 'CONNECT'], [10_000, 'CONNECT'], [20_000, 'CONNECT'], [30_000, 'CONNECT']]);
  });

  it('jitter stretches each wait (never shortens it) and backoff grows it: a fleet does not retry in lockstep', async () => {
    const { t, gw } = await setup();
    // random() = 1 → the longest wait: Tretry × (1 + jitter); backoff 2 doubles it each time
    const p = connectMqttSn({ gateway: { host: '127.0.0.1', port: gw.port }, clientId: 'cj', bind: { host: '127.0.0.1' }, clock: t, random: () => 1, retry: { tRetryMs: 1000, nRetry: 3, jitter: 0.5, backoff: 2 } });
    const outcome = p.then(() => 'connected', (e: unknown) => e);
    await gw.waitFor(1);
    t.advance(1000); // plain Tretry: too early
    await settle();
    expect(gw.got.length).toBe(1);
    t.advance(500);
    await gw.waitFor(2);
    t.advance(3000); // 2 × 1000 × 1.5
    await gw.waitFor(3);
    t.advance(6000); // 4 × 1000 × 1.5
    await gw.waitFor(4);
    t.advance(12_000);
    expect(await outcome).toMatchObject({ code: 'TIMEOUT' });
    expect(gw.got.map((g) => g.at)).toEqual([0, 1500, 4500, 10_500]);
  });

  it('a lost CONNACK is recovered by the retransmission', async () => {
    const { t, gw } = await setup();
    const p = connectMqttSn({ gateway: { host: '127.0.0.1', port: gw.port }, clientId: 'c2', bind: { host: '127.0.0.1' }, clock: t, random: () => 0, retry: { tRetryMs: 12_000 } });
    await gw.waitFor(1);
    t.advance(12_000);
    await gw.waitFor(2);
    gw.reply({ type: 'CONNACK', returnCode: 0 });
    const c = await p;
    clients.push(c);
    expect(c.state).toBe('active');
    expect(c.retransmissions).toBe(1);
  });

  it('CONNACK with a return code rejects with REJECTED and the code', async () => {
    const { t, gw } = await setup();
    const p = connectMqttSn({ gateway: { host: '127.0.0.1', port: gw.port }, clientId: 'c3', bind: { host: '127.0.0.1' }, clock: t, random: () => 0 });
    await gw.waitFor(1);
    gw.reply({ type: 'CONNACK', returnCode: 1 });
    await expect(p).rejects.toMatchObject({ code: 'REJECTED', returnCode: 1 });
  });

  it('an AbortSignal ends a pending CONNECT with ABORTED', async () => {
    const { t, gw } = await setup();
    const ac = new AbortController();
    const p = connectMqttSn({ gateway: { host: '127.0.0.1', port: gw.port }, clientId: 'c4', bind: { host: '127.0.0.1' }, clock: t, random: () => 0, signal: ac.signal });
    await gw.waitFor(1);
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
  });
});

async function connected(t: ManualTimers, gw: ScriptedPeer, extra: Record<string, unknown> = {}): Promise<MqttSnClient> {
  const p = connectMqttSn({ gateway: { host: '127.0.0.1', port: gw.port }, clientId: 'c', bind: { host: '127.0.0.1' }, clock: t, random: () => 0, keepAliveS: 60, ...extra });
  await gw.waitFor(1);
  gw.reply({ type: 'CONNACK', returnCode: 0 });
  const c = await p;
  clients.push(c);
  gw.got.length = 0;
  return c;
}

describe('publish flow', () => {
  it('a wake collects at most maxWakeMessages (the rest are still emitted); a gateway cannot grow it without end', async () => {
    const { t, gw } = await setup();
    const c = await connected(t, gw, { maxWakeMessages: 3 });
    const sleeping = c.sleep(60);
    await gw.waitFor(1);
    gw.reply({ type: 'DISCONNECT' });
    await sleeping;
    const events: number[] = [];
    c.on('message', (m) => events.push(m.payload[0] as number));
    const waking = c.wake();
    await gw.waitFor(2);
    for (let k = 0; k < 5; k++) gw.reply({ type: 'PUBLISH', dup: false, qos: 0, retain: false, topic: { kind: 'short', name: 'ab' }, msgId: 0, payload: Uint8Array.of(k) });
    await settle();
    gw.reply({ type: 'PINGRESP' });
    const got = await waking;
    expect(got.map((m) => m.payload[0])).toEqual([0, 1, 2]);
    expect(events).toEqual([0, 1, 2, 3, 4]);
    expect(c.stats.wakeOverflow).toBe(2);
  });

  it('at most one QoS 1/2 PUBLISH in flight (§6.6); DUP set on retransmission', async () => {
    const { t, gw } = await setup();
    const c = await connected(t, gw);
    const done: number[] = [];
    const ps = [1, 2, 3].map((i) => c.publish({ kind: 'predefined', id: 5 }, `m${i}`, { qos: 1 }).then(() => done.push(i)));
    await gw.waitFor(1);
    await settle();
    expect(gw.got).toHaveLength(1); // the second waits for the first's PUBACK
    t.advance(10_000);
    await gw.waitFor(2);
    const [first, again] = gw.got.map((g) => g.m);
    expect(first).toMatchObject({ type: 'PUBLISH', dup: false, qos: 1 });
    expect(again).toMatchObject({ type: 'PUBLISH', dup: true, msgId: first?.type === 'PUBLISH' ? first.msgId : -1 });
    for (let i = 0; i < 3; i++) {
      const last = gw.got[gw.got.length - 1]?.m;
      if (last?.type !== 'PUBLISH') throw new Error('expected PUBLISH');
      gw.reply({ type: 'PUBACK', topicId: 5, msgId: last.msgId, returnCode: 0 });
      if (i < 2) await gw.waitFor(gw.got.length + 1);
    }
    await Promise.all(ps);
    expect(done).toEqual([1, 2, 3]);
  });

  it('QoS 2: PUBLISH → PUBREC → PUBREL → PUBCOMP; an inbound duplicate is delivered once', async () => {
    const { t, gw } = await setup();
    const c = await connected(t, gw);
    const p = c.publish('ab', 'x', { qos: 2 });
    await gw.waitFor(1);
    const pub = gw.got[0]?.m;
    expect(pub).toMatchObject({ type: 'PUBLISH', qos: 2, topic: { kind: 'short', name: 'ab' } });
    const msgId = pub?.type === 'PUBLISH' ? pub.msgId : 0;
    gw.reply({ type: 'PUBREC', msgId });
    await gw.waitFor(2);
    expect(gw.got[1]?.m).toEqual({ type: 'PUBREL', msgId });
    gw.reply({ type: 'PUBCOMP', msgId });
    await p;
    // inbound QoS 2, sent twice (as after a lost PUBREC): delivered once
    const got: string[] = [];
    c.on('message', (m) => got.push(new TextDecoder().decode(m.payload)));
    const inbound = { type: 'PUBLISH', dup: false, qos: 2, retain: false, topic: { kind: 'short', name: 'zz' }, msgId: 77, payload: new TextEncoder().encode('once') } as const;
    gw.reply(inbound);
    gw.reply({ ...inbound, dup: true });
    await gw.waitFor(4);
    expect(gw.got.slice(2).map((g) => g.m)).toEqual([{ type: 'PUBREC', msgId: 77 }, { type: 'PUBREC', msgId: 77 }]);
    gw.reply({ type: 'PUBREL', msgId: 77 });
    await gw.waitFor(5);
    expect(gw.got[4]?.m).toEqual({ type: 'PUBCOMP', msgId: 77 });
    expect(got).toEqual(['once']);
  });

  it('keep-alive: PINGREQ after Duration of silence; a gateway that never answers disconnects the client', async () => {
    const { t, gw } = await setup();
    const c = await connected(t, gw, { retry: { tRetryMs: 1000, nRetry: 1 } });
    const reasons: string[] = [];
    c.on('disconnect', (d) => reasons.push(d.reason));
    t.advance(60_000);
    await gw.waitFor(1);
    expect(gw.got[0]).toEqual({ at: 60_000, m: { type: 'PINGREQ' } });
    t.advance(1000);
    await gw.waitFor(2);
    t.advance(1000);
    await settle();
    expect(c.state).toBe('disconnected');
    expect(reasons[0]).toContain('keep-alive failed');
  });
});

describe('wrong-type matrix', () => {
  const bad: unknown[] = [undefined, null, 1, 'x', true];
  it('connectMqttSn', async () => {
    for (const v of bad) await expect(connectMqttSn(v as never)).rejects.toThrow(TypeError);
    const ok = { gateway: { host: '127.0.0.1', port: 1 }, clientId: 'c' };
    await expect(connectMqttSn({ ...ok, gateway: { host: 1, port: 1 } } as never)).rejects.toThrow(TypeError);
    await expect(connectMqttSn({ ...ok, gateway: { host: 'h', port: '1' } } as never)).rejects.toThrow(TypeError);
    await expect(connectMqttSn({ ...ok, gateway: { host: 'h', port: 70000 } })).rejects.toThrow(RangeError);
    await expect(connectMqttSn({ ...ok, clientId: 5 } as never)).rejects.toThrow(TypeError);
    await expect(connectMqttSn({ ...ok, clientId: '' })).rejects.toThrow(RangeError);
    await expect(connectMqttSn({ ...ok, clientId: 'x'.repeat(24) })).rejects.toThrow(RangeError);
    await expect(connectMqttSn({ ...ok, keepAliveS: '60' } as never)).rejects.toThrow(TypeError);
    await expect(connectMqttSn({ ...ok, keepAliveS: -1 })).rejects.toThrow(RangeError);
    await expect(connectMqttSn({ ...ok, cleanSession: 'yes' } as never)).rejects.toThrow(TypeError);
    await expect(connectMqttSn({ ...ok, will: { topic: 1, payload: 'x' } } as never)).rejects.toThrow(TypeError);
    await expect(connectMqttSn({ ...ok, predefinedTopics: { a: '1' } } as never)).rejects.toThrow(TypeError);
    await expect(connectMqttSn({ ...ok, predefinedTopics: { a: 0 } })).rejects.toThrow(RangeError);
    await expect(connectMqttSn({ ...ok, retry: { tRetryMs: -5 } })).rejects.toThrow(RangeError);
    await expect(connectMqttSn({ ...ok, retry: { nRetry: 'x' } } as never)).rejects.toThrow(TypeError);
    await expect(connectMqttSn({ ...ok, signal: {} } as never)).rejects.toThrow(TypeError);
    await expect(connectMqttSn({ ...ok, retry: { jitter: 2 } })).rejects.toThrow(RangeError);
    await expect(connectMqttSn({ ...ok, retry: { backoff: 0.5 } })).rejects.toThrow(RangeError);
    await expect(connectMqttSn({ ...ok, retry: { jitter: '0.1' } } as never)).rejects.toThrow(TypeError);
    await expect(connectMqttSn({ ...ok, maxRegistrations: 0 })).rejects.toThrow(RangeError);
    await expect(connectMqttSn({ ...ok, maxRegistrations: '5' } as never)).rejects.toThrow(TypeError);
    await expect(connectMqttSn({ ...ok, maxAwaitingRelease: 1.5 })).rejects.toThrow(RangeError);
    await expect(connectMqttSn({ ...ok, transport: 1 } as never)).rejects.toThrow(TypeError);
    await expect(connectMqttSn({ ...ok, random: 0.5 } as never)).rejects.toThrow(TypeError);
  });
  it('client methods', async () => {
    const { t, gw } = await setup();
    const c = await connected(t, gw);
    await expect(c.publish(1 as never, 'x')).rejects.toThrow(TypeError);
    await expect(c.publish('a/b', 1 as never)).rejects.toThrow(TypeError);
    await expect(c.publish('a/b', 'x', null as never)).rejects.toThrow(TypeError);
    await expect(c.publish('a/b', 'x', { qos: 3 as never })).rejects.toThrow(RangeError);
    await expect(c.publish('a/+', 'x')).rejects.toThrow(RangeError);
    await expect(c.publish('', 'x')).rejects.toThrow(RangeError);
    await expect(c.register(1 as never)).rejects.toThrow(TypeError);
    await expect(c.subscribe(null as never)).rejects.toThrow(TypeError);
    await expect(c.subscribe('a/#', { qos: -1 as never })).rejects.toThrow(RangeError);
    await expect(c.sleep('10' as never)).rejects.toThrow(TypeError);
    await expect(c.sleep(0)).rejects.toThrow(RangeError);
    await expect(c.wake()).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    await c.close();
    await expect(c.publish('a/b', 'x')).rejects.toMatchObject({ code: 'CLOSED' });
  });
  it('publishQoSMinus1 and searchGateway', async () => {
    for (const v of bad) await expect(publishQoSMinus1(v as never)).rejects.toThrow(TypeError);
    const g = { host: '127.0.0.1', port: 9 };
    await expect(publishQoSMinus1({ gateway: g, topic: { kind: 'normal', id: 1 } as never, payload: 'x' })).rejects.toThrow(RangeError);
    await expect(publishQoSMinus1({ gateway: g, topic: { kind: 'short', name: 'ab' }, payload: 5 as never })).rejects.toThrow(TypeError);
    for (const v of bad) await expect(searchGateway(v as never)).rejects.toThrow(TypeError);
    await expect(searchGateway({ address: 1, port: 1 } as never)).rejects.toThrow(TypeError);
    await expect(searchGateway({ address: 'x', port: 0 })).rejects.toThrow(RangeError);
    await expect(searchGateway({ address: 'x', port: 1, timeoutMs: 0 })).rejects.toThrow(RangeError);
  });
  it('MqttSnGateway', () => {
    const ok = { broker: { url: 'mqtts://127.0.0.1:8883' } };
    for (const v of bad) expect(() => new MqttSnGateway(v as never)).toThrow(TypeError);
    expect(() => new MqttSnGateway({ broker: null } as never)).toThrow(TypeError);
    expect(() => new MqttSnGateway({ broker: { url: 5 } } as never)).toThrow(TypeError);
    expect(() => new MqttSnGateway({ broker: { url: 'not a url' } })).toThrow(RangeError);
    expect(() => new MqttSnGateway({ broker: { url: 'mqtt://127.0.0.1:1883' } })).toThrow(RangeError);
    expect(() => new MqttSnGateway({ ...ok, broker: { ...ok.broker, protocolVersion: 3 as never } })).toThrow(RangeError);
    expect(() => new MqttSnGateway({ ...ok, credentials: 5 as never })).toThrow(TypeError);
    expect(() => new MqttSnGateway({ ...ok, credentials: { a: { cert: 1 } } as never })).toThrow(TypeError);
    expect(() => new MqttSnGateway({ ...ok, useGatewayIdentity: 'fallback' })).toThrow(RangeError);
    expect(() => new MqttSnGateway({ ...ok, useGatewayIdentity: 'sometimes' as never })).toThrow(RangeError);
    expect(() => new MqttSnGateway({ ...ok, udp: { port: '1' } } as never)).toThrow(TypeError);
    expect(() => new MqttSnGateway({ ...ok, udp: { port: -1 } })).toThrow(RangeError);
    expect(() => new MqttSnGateway({ ...ok, sleepBufferMax: 'x' } as never)).toThrow(TypeError);
    expect(() => new MqttSnGateway({ ...ok, sleepBufferMax: -1 })).toThrow(RangeError);
    for (const k of ['maxClients', 'maxRegistrations', 'maxSubscriptions', 'maxInflight', 'sleepBufferBytes', 'maxQueued', 'maxQueuedBytes', 'maxWillBytes']) {
      expect(() => new MqttSnGateway({ ...ok, [k]: '5' } as never), k).toThrow(TypeError);
      expect(() => new MqttSnGateway({ ...ok, [k]: 0 }), k).toThrow(RangeError);
      expect(() => new MqttSnGateway({ ...ok, [k]: 2.5 }), k).toThrow(RangeError);
    }
    expect(() => new MqttSnGateway({ ...ok, maxRegistrations: 0x10000 })).toThrow(RangeError);
    expect(() => new MqttSnGateway({ ...ok, udp: { recvBufferSize: 10 } })).toThrow(RangeError);
    expect(() => new MqttSnGateway({ ...ok, udp: { recvBufferSize: 'big' } } as never)).toThrow(TypeError);
    expect(() => new MqttSnGateway({ ...ok, transport: 5 } as never)).toThrow(TypeError);
    expect(() => new MqttSnGateway({ ...ok, connectBroker: {} } as never)).toThrow(TypeError);
    expect(() => new MqttSnGateway({ ...ok, predefinedTopics: { 0: 'a' } })).toThrow(RangeError);
    expect(() => new MqttSnGateway({ ...ok, predefinedTopics: { 1: 5 } } as never)).toThrow(TypeError);
    expect(() => new MqttSnGateway(ok)).not.toThrow();
  });
});
