// Client ↔ MqttSnGateway ↔ real Mosquitto (mTLS, per-device ACL). Both MQTT-SN ends are ours
// (no MQTT-SN reference gateway can be installed here); the broker is real.
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MqttSnError, MqttSnGateway, connectMqttSn, decodeMessage, encodeMessage, publishQoSMinus1, searchGateway, type MqttSnInbound, type MqttSnMessage } from '@outpost/device-sdk/mqtt-sn';
import { freePort } from '@outpost/test-peers';
import { startSnFleet, waitUntil, type SnFleet } from './fixtures/mqttsn-fleet.js';
import { SecureContextCache } from '../src/mqtt-sn/gateway-tls.js';

let f: SnFleet;
let advertisePort: number;
const malformed: string[] = [];
const events: string[] = [];

beforeAll(async () => {
  advertisePort = await freePort();
  f = await startSnFleet({ advertise: { targets: [{ host: '127.0.0.1', port: advertisePort }], intervalS: 1 }, sleepBufferMax: 5 });
  f.gateway.on('malformed', (e) => malformed.push(e.error.code));
  f.gateway.on('client', (e) => events.push(`${e.clientId}:${e.event}`));
});
afterAll(async () => {
  await f?.stop();
});

const text = (m: MqttSnInbound): string => new TextDecoder().decode(m.payload);

describe('connect, register, publish', () => {
  it('publishes at QoS 0, 1 and 2 under the client\'s own identity', async () => {
    const c = await f.client('s1');
    expect(c.state).toBe('active');
    const id = await c.register('devices/s1/temp');
    expect(id).toBeGreaterThan(0);
    expect(await c.register('devices/s1/temp')).toBe(id);
    await c.publish('devices/s1/temp', 'q0', { qos: 0 });
    await c.publish('devices/s1/temp', 'q1', { qos: 1 });
    await c.publish('devices/s1/temp', 'q2', { qos: 2 });
    await c.publish({ kind: 'normal', id }, 'by-id', { qos: 1 });
    await f.waitFor((o) => o.filter((x) => x.topic === 'devices/s1/temp').length >= 4);
    const got = f.observed.filter((x) => x.topic === 'devices/s1/temp').map((x) => x.payload);
    expect(got).toEqual(['q0', 'q1', 'q2', 'by-id']);
    expect(events).toContain('s1:connect');
  });

  it('the broker ACL still applies per client: s1 cannot publish into s2\'s subtree', async () => {
    const c = await f.client('s1b');
    let err: unknown;
    try { await c.publish('devices/s2/temp', 'intruder', { qos: 1 }); } catch (e) { err = e; }
    await c.publish('devices/s1b/ok', 'fine', { qos: 1 });
    await f.waitFor((o) => o.some((x) => x.topic === 'devices/s1b/ok'));
    expect(f.observed.some((x) => x.payload === 'intruder')).toBe(false);
    // MQTT 5 towards the broker: Mosquitto answers "not authorized", the gateway reports it.
    expect(err).toBeInstanceOf(MqttSnError);
    expect(err).toMatchObject({ code: 'REJECTED', returnCode: 3 });
  });

  it('a client without broker credentials is refused with CONNACK 3 (not supported)', async () => {
    await expect(connectMqttSn({ gateway: { host: '127.0.0.1', port: f.port }, clientId: 'nobody', bind: { host: '127.0.0.1' }, retry: { tRetryMs: 500, nRetry: 2 } })).rejects.toMatchObject({ code: 'REJECTED', returnCode: 3 });
    expect(events).toContain('nobody:rejected');
  });

  it('predefined topic ids', async () => {
    const c = await f.client('s-pre', { predefinedTopics: { 'devices/s-pre/temp': 7 } });
    await c.publish('devices/s-pre/temp', 'pre', { qos: 1 });
    await c.publish({ kind: 'predefined', id: 7 }, 'pre2', { qos: 1 });
    await f.waitFor((o) => o.filter((x) => x.topic === 'devices/s-pre/temp').length >= 2);
    await expect(c.publish({ kind: 'predefined', id: 99 }, 'x', { qos: 1 })).rejects.toMatchObject({ code: 'INVALID_TOPIC', returnCode: 2 });
  });

  it('QoS −1 from an unconnected client goes out under the gateway\'s identity', async () => {
    await publishQoSMinus1({ gateway: { host: '127.0.0.1', port: f.port }, topic: { kind: 'predefined', id: 1 }, payload: 'beacon', bind: { host: '127.0.0.1' } });
    await f.waitFor((o) => o.some((x) => x.topic === 'devices/gw-1/beacon' && x.payload === 'beacon'));
    expect(f.gateway.stats().qosMinus1).toBeGreaterThanOrEqual(1);
  });
});

describe('subscribe', () => {
  it('wildcards: the gateway REGISTERs each new topic before the PUBLISH; QoS 1 and 2 arrive once', async () => {
    const c = await f.client('s2');
    const got: MqttSnInbound[] = [];
    c.on('message', (m) => got.push(m));
    const sub = await c.subscribe('devices/s2/cmd/#', { qos: 2 });
    expect(sub).toEqual({ topicId: 0, qos: 2 });
    const be = await f.backend('s2');
    await be.publishAsync('devices/s2/cmd/led', 'on', { qos: 1 });
    await be.publishAsync('devices/s2/cmd/fan', 'off', { qos: 2 });
    await be.publishAsync('devices/s2/cmd/led', 'blink', { qos: 2 });
    await waitUntil(() => got.length >= 3);
    expect(got.map((m) => [m.topic, text(m), m.qos])).toEqual([['devices/s2/cmd/led', 'on', 1], ['devices/s2/cmd/fan', 'off', 2], ['devices/s2/cmd/led', 'blink', 2]]);
    expect(got[0]?.topicRef.kind).toBe('normal');
  });

  it('an exact topic gets a topic id in SUBACK; unsubscribe stops delivery', async () => {
    const c = await f.client('s3');
    const got: string[] = [];
    c.on('message', (m) => got.push(`${m.topic}=${text(m)}`));
    const a = await c.subscribe('devices/s3/a', { qos: 1 });
    expect(a.topicId).toBeGreaterThan(0);
    await c.subscribe('devices/s3/b', { qos: 1 });
    const be = await f.backend('s3');
    await be.publishAsync('devices/s3/a', '1', { qos: 1 });
    await waitUntil(() => got.length === 1);
    await c.unsubscribe('devices/s3/a');
    await be.publishAsync('devices/s3/a', '2', { qos: 1 });
    await be.publishAsync('devices/s3/b', 'sentinel', { qos: 1 });
    await waitUntil(() => got.includes('devices/s3/b=sentinel'));
    expect(got).toEqual(['devices/s3/a=1', 'devices/s3/b=sentinel']);
  });

  it('predefined subscriptions', async () => {
    const c = await f.client('s-pre2', { predefinedTopics: { 'devices/s-pre/temp': 7 } });
    // s-pre2 may not read s-pre's subtree: the broker grants nothing there, but the mapping works
    const r = await c.subscribe({ kind: 'predefined', id: 7 }, { qos: 1 });
    expect(r.topicId).toBe(7);
    await expect(c.subscribe({ kind: 'predefined', id: 4242 })).rejects.toMatchObject({ code: 'REJECTED', returnCode: 2 });
  });

  it('PINGREQ keep-alive', async () => {
    const c = await f.client('s-ping');
    await c.ping();
    expect(c.state).toBe('active');
  });
});

describe('sleeping clients (§6.14)', () => {
  it('a sleeping client wakes and receives what was published meanwhile, in order', async () => {
    const c = await f.client('s-sleep');
    await c.subscribe('devices/s-sleep/cmd', { qos: 1 });
    await c.sleep(30);
    expect(c.state).toBe('asleep');
    const be = await f.backend('s-sleep');
    for (let i = 0; i < 4; i++) await be.publishAsync('devices/s-sleep/cmd', `m${i}`, { qos: 1 });
    await waitUntil(() => f.gateway.stats().sleepBuffered >= 4);
    const woke = await c.wake();
    expect(woke.map(text)).toEqual(['m0', 'm1', 'm2', 'm3']);
    expect(c.state).toBe('asleep');
    // nothing new: the wake ends with PINGRESP right away
    expect(await c.wake()).toEqual([]);
    // it can publish again after resuming
    await c.resume();
    await c.publish('devices/s-sleep/status', 'awake', { qos: 1 });
    await f.waitFor((o) => o.some((x) => x.topic === 'devices/s-sleep/status'));
    expect(events).toContain('s-sleep:sleep');
    expect(events).toContain('s-sleep:wake');
  });

  it('the sleep buffer is bounded: the oldest messages are dropped and counted', async () => {
    const c = await f.client('s-full');
    await c.subscribe('devices/s-full/cmd', { qos: 0 });
    await c.sleep(30);
    const be = await f.backend('s-full');
    const before = f.gateway.stats().sleepDropped;
    for (let i = 0; i < 8; i++) await be.publishAsync('devices/s-full/cmd', `m${i}`, { qos: 1 });
    await waitUntil(() => f.gateway.stats().sleepDropped - before >= 3);
    const woke = await c.wake();
    expect(woke.map(text)).toEqual(['m3', 'm4', 'm5', 'm6', 'm7']);
  });
});

describe('wills', () => {
  it('a client that goes silent is lost after 1.5 × keep-alive and its will is published', async () => {
    const c = await f.client('s-will', { keepAliveS: 1, will: { topic: 'devices/s-will/status', payload: 'gone', qos: 1 } });
    await c.close(); // no DISCONNECT: like a dead battery
    await f.waitFor((o) => o.some((x) => x.topic === 'devices/s-will/status' && x.payload === 'gone'));
    expect(events).toContain('s-will:lost');
  });

  it('WILLTOPICUPD / WILLMSGUPD replace the will (§6.4): the new one is published on loss', async () => {
    const c = await f.client('s-will2', { keepAliveS: 1, will: { topic: 'devices/s-will2/status', payload: 'old', qos: 1 } });
    await c.subscribe('devices/s-will2/cmd', { qos: 1 });
    await c.updateWill({ topic: 'devices/s-will2/lwt', payload: 'new', qos: 1 });
    // subscriptions survive the gateway's broker reconnect (MQTT fixes the will at CONNECT)
    const got: string[] = [];
    c.on('message', (m) => got.push(text(m)));
    const be = await f.backend('s-will2');
    await be.publishAsync('devices/s-will2/cmd', 'still subscribed', { qos: 1 });
    await waitUntil(() => got.length === 1);
    await c.close();
    await f.waitFor((o) => o.some((x) => x.topic === 'devices/s-will2/lwt' && x.payload === 'new'));
    expect(f.observed.some((x) => x.topic === 'devices/s-will2/status')).toBe(false);
  });

  it('a sleeper that does not wake within 1.5 × its sleep Duration is lost and its will published (§6.14)', async () => {
    const c = await f.client('s-nap', { will: { topic: 'devices/s-nap/status', payload: 'never woke', qos: 1 } });
    await c.sleep(1);
    await f.waitFor((o) => o.some((x) => x.topic === 'devices/s-nap/status' && x.payload === 'never woke'));
    expect(events).toContain('s-nap:lost');
  });

  it('a clean DISCONNECT publishes no will', async () => {
    const c = await f.client('s-bye', { will: { topic: 'devices/s-bye/status', payload: 'gone', qos: 1 } });
    await c.publish('devices/s-bye/x', 'hello', { qos: 1 });
    await c.disconnect();
    const be = await f.backend('s-bye');
    await be.publishAsync('devices/s-bye/sentinel', 'done', { qos: 1 });
    await f.waitFor((o) => o.some((x) => x.topic === 'devices/s-bye/sentinel'));
    expect(f.observed.some((x) => x.topic === 'devices/s-bye/status')).toBe(false);
    expect(events).toContain('s-bye:disconnect');
  });
});

describe('discovery (§6.1)', () => {
  it('SEARCHGW is answered with GWINFO', async () => {
    const g = await searchGateway({ address: '127.0.0.1', port: f.port, bind: { host: '127.0.0.1' }, timeoutMs: 3000 });
    expect(g).toMatchObject({ gwId: 1, host: '127.0.0.1', port: f.port, via: 'GWINFO' });
  });
  it('ADVERTISE reaches a listening client', async () => {
    const dead = await freePort();
    const g = await searchGateway({ address: '127.0.0.1', port: dead, bind: { host: '127.0.0.1', port: advertisePort }, timeoutMs: 5000 });
    expect(g).toMatchObject({ gwId: 1, port: f.port, via: 'ADVERTISE', durationS: 1 });
  });
});

describe('forwarder encapsulation (§5.5)', () => {
  it('a client behind a forwarder connects and publishes; replies come back encapsulated', async () => {
    const raw = createSocket('udp4');
    await new Promise<void>((r) => raw.bind(0, '127.0.0.1', () => r()));
    const replies: MqttSnMessage[] = [];
    raw.on('message', (d) => replies.push(decodeMessage(new Uint8Array(d))));
    const node = new Uint8Array([0xbe, 0xef]);
    const wrap = (message: MqttSnMessage): Uint8Array => encodeMessage({ type: 'ENCAPSULATED', radius: 1, wirelessNodeId: node, message });
    raw.send(wrap({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, durationS: 30, clientId: 's-fwd' }), f.port, '127.0.0.1');
    await waitUntil(() => replies.length >= 1);
    expect(replies[0]).toEqual({ type: 'ENCAPSULATED', radius: 1, wirelessNodeId: node, message: { type: 'CONNACK', returnCode: 0 } });
    raw.send(wrap({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topic: { kind: 'short', name: 'zz' }, msgId: 3, payload: new Uint8Array([1]) }), f.port, '127.0.0.1');
    await waitUntil(() => replies.length >= 2);
    // "zz" is outside devices/s-fwd/: Mosquitto (MQTT 5) refuses it, the gateway answers with a return code
    expect(replies[1]).toMatchObject({ type: 'ENCAPSULATED', message: { type: 'PUBACK', msgId: 3, returnCode: 3 } });
    raw.send(wrap({ type: 'DISCONNECT' }), f.port, '127.0.0.1');
    await waitUntil(() => replies.length >= 3);
    expect(replies[2]).toMatchObject({ type: 'ENCAPSULATED', message: { type: 'DISCONNECT' } });
    raw.close();
  });
});

describe('malformed and truncated datagrams', () => {
  it('are counted, reported and dropped while other clients keep being served', async () => {
    const c = await f.client('s-robust');
    const before = f.gateway.stats().malformed;
    const raw = createSocket('udp4');
    await new Promise<void>((r) => raw.bind(0, '127.0.0.1', () => r()));
    const good = encodeMessage({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topic: { kind: 'normal', id: 1 }, msgId: 5, payload: new Uint8Array(8) });
    const bad = [new Uint8Array([0x00]), new Uint8Array([0x02, 0x1f]), good.subarray(0, 5), new Uint8Array([0x05, 0x0c, 0x03, 0, 1]), new Uint8Array([0x01, 0x00]), new Uint8Array(0)];
    for (const b of bad) raw.send(b, f.port, '127.0.0.1');
    await c.publish('devices/s-robust/x', 'still here', { qos: 2 });
    await waitUntil(() => f.gateway.stats().malformed - before >= bad.length - 1);
    raw.close();
    await f.waitFor((o) => o.some((x) => x.payload === 'still here'));
    expect(malformed).toEqual(expect.arrayContaining(['MALFORMED', 'UNKNOWN_TYPE', 'INCOMPLETE']));
  });
});

describe('TLS contexts of the broker connections', () => {
  it('one per credential set, not one per connect; credentials read again from disk take effect at the next connect', async () => {
    // Credentials read from files on every connect, as `outpost mqttsn-gateway` does with credentials.dir.
    const dir = mkdtempSync(join(tmpdir(), 'sn-ctx-'));
    const write = (c: { cert: string; key: string }): void => {
      writeFileSync(join(dir, 's-rot.pem'), c.cert);
      writeFileSync(join(dir, 's-rot.key'), c.key);
    };
    const own = await f.fleet.device('s-rot');
    const other = await f.fleet.device('s-other');
    write(own);
    const gw = new MqttSnGateway({
      udp: { host: '127.0.0.1', port: 0 },
      broker: { url: f.fleet.url, ca: f.fleet.ca.certificatePem, protocolVersion: 5 },
      credentials: (id) => ({ cert: readFileSync(join(dir, `${id}.pem`), 'utf8'), key: readFileSync(join(dir, `${id}.key`), 'utf8') }),
    });
    await gw.start();
    const session = async (payload: string): Promise<unknown> => {
      const c = await connectMqttSn({ gateway: { host: '127.0.0.1', port: gw.address().port }, clientId: 's-rot', bind: { host: '127.0.0.1' }, retry: { tRetryMs: 500, nRetry: 4 } });
      try {
        await c.publish('devices/s-rot/ctx', payload, { qos: 1 });
        return 'ok';
      } catch (e) {
        return e;
      } finally {
        await c.disconnect();
      }
    };
    try {
      expect(await session('first')).toBe('ok');
      expect(await session('second')).toBe('ok');
      expect(gw.stats().tlsContexts).toBe(1); // two connects, one context
      write(other); // the files now hold another device's identity: the next connect uses it
      const refused = await session('as-other');
      expect(refused).toMatchObject({ code: 'REJECTED', returnCode: 3 }); // Mosquitto's ACL: s-other may not publish under devices/s-rot/
      expect(gw.stats().tlsContexts).toBe(2);
      write(own); // back: the cached context is used again
      expect(await session('third')).toBe('ok');
      expect(gw.stats().tlsContexts).toBe(2);
      await f.waitFor((o) => o.some((x) => x.payload === 'third'));
      expect(f.observed.filter((x) => x.topic === 'devices/s-rot/ctx').map((x) => x.payload)).toEqual(['first', 'second', 'third']);
    } finally {
      await gw.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the cache is bounded: beyond its size the least recently used context goes (and is built again when needed)', async () => {
    type Creds = { cert: string; key: string };
    const a: Creds = await f.fleet.device('s-lru-a');
    const b: Creds = await f.fleet.device('s-lru-b');
    const c: Creds = await f.fleet.device('s-lru-c');
    const cache = new SecureContextCache(2);
    const get = (d: Creds): unknown => cache.get([f.fleet.ca.certificatePem], d.cert, d.key);
    const ctxA = get(a);
    get(b);
    expect(get(a)).toBe(ctxA); // a hit; a is now the most recent
    get(c); // evicts b
    expect(cache.size).toBe(2);
    expect(cache.built).toBe(3);
    expect(get(a)).toBe(ctxA);
    get(b); // built again
    expect(cache.built).toBe(4);
    expect(cache.size).toBe(2);
  });
});
