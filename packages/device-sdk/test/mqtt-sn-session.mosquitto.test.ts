// Session keeping and per-session limits, client ↔ MqttSnGateway ↔ real Mosquitto (mTLS,
// per-device ACL). Both MQTT-SN ends are ours; the broker is real.
import { execFileSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { Socket as TcpSocket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeMessage, encodeMessage, type MqttSnInbound, type MqttSnMessage } from '@outpost/device-sdk/mqtt-sn';
import { startSnFleet, waitUntil, type SnFleet } from './fixtures/mqttsn-fleet.js';

let f: SnFleet;
const limits = { maxRegistrations: 3, maxSubscriptions: 2, maxInflight: 2, sleepBufferBytes: 10, maxWillBytes: 64 };

beforeAll(async () => {
  f = await startSnFleet(limits);
});
afterAll(async () => {
  await f?.stop();
});

const text = (m: MqttSnInbound): string => new TextDecoder().decode(m.payload);

/** A raw MQTT-SN peer: sends what the test says, records what comes back. */
async function rawPeer(): Promise<{ s: Socket; got: MqttSnMessage[]; send(m: MqttSnMessage): void }> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const got: MqttSnMessage[] = [];
  s.on('message', (d) => got.push(decodeMessage(new Uint8Array(d))));
  return { s, got, send: (m) => s.send(encodeMessage(m), f.port, '127.0.0.1') };
}

describe('resume() keeps the session (MQTT-SN 1.2 §6.14)', () => {
  it('a resumed sleeper still receives on the topics it subscribed before sleeping', async () => {
    const c = await f.client('s-resume');
    const got: string[] = [];
    c.on('message', (m) => got.push(`${m.topic}=${text(m)}`));
    const exact = await c.subscribe('devices/s-resume/cmd', { qos: 1 });
    expect(exact.topicId).toBeGreaterThan(0);
    await c.subscribe('devices/s-resume/w/#', { qos: 1 });
    await c.sleep(30);
    await c.resume();
    expect(c.state).toBe('active');
    const be = await f.backend('s-resume');
    await be.publishAsync('devices/s-resume/cmd', 'exact', { qos: 1 });
    await be.publishAsync('devices/s-resume/w/x', 'wild', { qos: 1 });
    await waitUntil(() => got.length >= 2, 10_000, 'both messages after resume');
    expect(got).toEqual(['devices/s-resume/cmd=exact', 'devices/s-resume/w/x=wild']);
    // the registrations survive too: publishing by the old name needs no new REGISTER
    const id = await c.register('devices/s-resume/temp');
    await c.sleep(30);
    await c.resume();
    expect(await c.register('devices/s-resume/temp')).toBe(id);
    await c.publish({ kind: 'normal', id }, 'after resume', { qos: 1 });
    await f.waitFor((o) => o.some((x) => x.topic === 'devices/s-resume/temp' && x.payload === 'after resume'));
  });
});

describe('per-session limits answered with return codes and counted', () => {
  it(`registrations beyond maxRegistrations (${limits.maxRegistrations}) get REGACK "rejected: congestion"`, async () => {
    const c = await f.client('s-reg');
    const before = f.gateway.stats().rejectedRegistrations;
    for (let i = 0; i < limits.maxRegistrations; i++) await c.register(`devices/s-reg/t${i}`);
    await expect(c.register('devices/s-reg/one-too-many')).rejects.toMatchObject({ code: 'REJECTED', returnCode: 1 });
    expect(f.gateway.stats().rejectedRegistrations - before).toBe(1);
    await c.publish('devices/s-reg/t0', 'still served', { qos: 1 });
    await f.waitFor((o) => o.some((x) => x.topic === 'devices/s-reg/t0' && x.payload === 'still served'));
  });

  it(`subscriptions beyond maxSubscriptions (${limits.maxSubscriptions}) get SUBACK "rejected: congestion"`, async () => {
    const c = await f.client('s-sub');
    const before = f.gateway.stats().rejectedSubscriptions;
    await c.subscribe('devices/s-sub/a', { qos: 1 });
    await c.subscribe('devices/s-sub/b/#', { qos: 1 });
    await c.subscribe('devices/s-sub/a', { qos: 0 }); // the same filter again is no new subscription
    await expect(c.subscribe('devices/s-sub/c', { qos: 1 })).rejects.toMatchObject({ code: 'REJECTED', returnCode: 1 });
    expect(f.gateway.stats().rejectedSubscriptions - before).toBe(1);
    await c.unsubscribe('devices/s-sub/a');
    await c.subscribe('devices/s-sub/c', { qos: 1 });
  });

  it(`QoS 2 PUBLISHes never released beyond maxInflight (${limits.maxInflight}) get PUBACK "rejected: congestion"`, async () => {
    const p = await rawPeer();
    p.send({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, durationS: 30, clientId: 's-flood' });
    await waitUntil(() => p.got.some((m) => m.type === 'CONNACK'));
    p.send({ type: 'REGISTER', topicId: 0, msgId: 100, topicName: 'devices/s-flood/x' });
    await waitUntil(() => p.got.some((m) => m.type === 'REGACK'));
    const reg = p.got.find((m) => m.type === 'REGACK') as Extract<MqttSnMessage, { type: 'REGACK' }>;
    const before = f.gateway.stats().rejectedPublishes;
    // never released (no PUBREL): each accepted one stays in flight (MQTT-SN 1.2 §6.6, §6.12)
    for (let id = 1; id <= 4; id++) p.send({ type: 'PUBLISH', dup: false, qos: 2, retain: false, topic: { kind: 'normal', id: reg.topicId }, msgId: id, payload: new Uint8Array([id]) });
    await waitUntil(() => p.got.filter((m) => m.type === 'PUBREC' || m.type === 'PUBACK').length >= 4);
    const answers = p.got.filter((m) => m.type === 'PUBREC' || m.type === 'PUBACK').map((m) => (m.type === 'PUBACK' ? `${m.msgId}:PUBACK ${m.returnCode}` : `${(m as { msgId: number }).msgId}:PUBREC`));
    expect(answers.sort()).toEqual(['1:PUBREC', '2:PUBREC', '3:PUBACK 1', '4:PUBACK 1']);
    expect(f.gateway.stats().rejectedPublishes - before).toBe(2);
    p.s.close();
  });

  it(`the sleep buffer is bounded in bytes too (sleepBufferBytes ${limits.sleepBufferBytes}): oldest dropped`, async () => {
    const c = await f.client('s-bytes');
    await c.subscribe('devices/s-bytes/cmd', { qos: 1 });
    await c.sleep(30);
    const be = await f.backend('s-bytes');
    const before = f.gateway.stats().sleepDropped;
    for (let i = 0; i < 5; i++) await be.publishAsync('devices/s-bytes/cmd', `msg${i}`, { qos: 1 });
    await waitUntil(() => f.gateway.stats().sleepDropped - before >= 3, 10_000, '3 drops');
    const woke = await c.wake();
    expect(woke.map(text)).toEqual(['msg3', 'msg4']);
  });

  it(`a will over maxWillBytes (${limits.maxWillBytes}) is refused: CONNACK "not supported", counted`, async () => {
    const before = f.gateway.stats().rejectedWills;
    await expect(f.client('s-bigwill', { will: { topic: 'devices/s-bigwill/status', payload: 'x'.repeat(100) } })).rejects.toMatchObject({ code: 'REJECTED', returnCode: 3 });
    expect(f.gateway.stats().rejectedWills - before).toBe(1);
    const ok = await f.client('s-bigwill', { will: { topic: 'devices/s-bigwill/status', payload: 'gone' } });
    expect(ok.state).toBe('active');
  });
});

describe('fleet-scale socket settings', () => {
  it('the gateway asks for a 4 MiB UDP receive buffer (the kernel default ~208 KiB overflows under a fleet burst)', () => {
    // ss reports the socket's SO_RCVBUF (Linux doubles the request, capped at net.core.rmem_max)
    const line = execFileSync('ss', ['-uamnH', `sport = :${f.port}`], { encoding: 'utf8' });
    const rb = Number(/rb(\d+)/.exec(line)?.[1]);
    expect(rb).toBeGreaterThanOrEqual(Math.min(4 << 20, 2 * Number(execFileSync('cat', ['/proc/sys/net/core/rmem_max'], { encoding: 'utf8' }))));
  });

  it('every broker connection the gateway opens has TCP_NODELAY set', async () => {
    const spy = vi.spyOn(TcpSocket.prototype, 'setNoDelay');
    try {
      await f.client('s-nodelay');
      const brokerPort = f.fleet.broker.port;
      const calls = spy.mock.contexts.map((s, k) => [(s as TcpSocket).remotePort, spy.mock.calls[k]?.[0]]);
      expect(calls).toContainEqual([brokerPort, true]);
    } finally {
      spy.mockRestore();
    }
  });
});
