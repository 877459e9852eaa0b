// The aggregating gateway (mode 'aggregating', MQTT-SN 1.2 §4 "Aggregating Gateway") against a
// real Mosquitto with mTLS and the fleet ACL: one broker connection under the gateway's own
// identity (a fleet service, read-write devices/# and fleet/#) for every client, the gateway
// authorising each client inside its namespace. The broker link is the gateway's own
// (openBrokerLink), wrapped only to count what it is asked (connects, SUBSCRIBE, UNSUBSCRIBE).
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MqttSnGateway, connectMqttSn, systemClock, type BrokerConnectRequest, type BrokerLink, type MqttSnInbound } from '@outpost/device-sdk/mqtt-sn';
import { startSnFleet, waitUntil, type SnFleet } from './fixtures/mqttsn-fleet.js';
import { openBrokerLink } from '../src/mqtt-sn/gateway-link.js';
import { SecureContextCache } from '../src/mqtt-sn/gateway-tls.js';

let f: SnFleet;
const events: string[] = [];
const refused: string[] = [];
const spy = { connects: 0, subscribes: [] as string[], unsubscribes: [] as string[], links: [] as BrokerLink[] };
let brokerReady!: (v: { url: string; ca: string }) => void;
const broker = new Promise<{ url: string; ca: string }>((r) => { brokerReady = r; });

/** The gateway's real broker link (coalescing writes, as the aggregating gateway opens it), counted. */
async function countedLink(r: BrokerConnectRequest): Promise<BrokerLink> {
  const b = await broker;
  const link = await openBrokerLink({ url: b.url, ca: b.ca, protocolVersion: 5 }, r, systemClock, new SecureContextCache(2), true);
  spy.connects += 1;
  spy.links.push(link);
  return {
    publish: (t, p, q, rt) => link.publish(t, p, q, rt),
    publishCallback: (t, p, q, rt, done) => (link.publishCallback as NonNullable<BrokerLink['publishCallback']>)(t, p, q, rt, done),
    subscribe: (filter, qos) => { spy.subscribes.push(filter); return link.subscribe(filter, qos); },
    unsubscribe: (filter) => { spy.unsubscribes.push(filter); return link.unsubscribe(filter); },
    end: (abrupt) => link.end(abrupt),
    listen: (h) => link.listen(h),
  };
}

beforeAll(async () => {
  f = await startSnFleet({
    mode: 'aggregating',
    namespace: ['devices/%c/#', 'fleet/broadcast/#'],
    connectBroker: countedLink,
    linkBackoffMs: { min: 50, max: 200 },
  }, { identityId: 'gw-agg', fleet: { services: { 'gw-agg': ['devices/#', 'fleet/#'] } } });
  brokerReady({ url: f.fleet.url, ca: f.fleet.ca.certificatePem });
  f.gateway.on('client', (e) => events.push(`${e.clientId}:${e.event}`));
  f.gateway.on('unauthorized', (e) => refused.push(`${e.clientId} ${e.action} ${e.topic}`));
  f.gateway.on('link', (e) => events.push(`link:${e.up ? 'up' : 'down'}`));
});
afterAll(async () => {
  await f?.stop();
});

const text = (m: MqttSnInbound): string => new TextDecoder().decode(m.payload);

describe('publish and authorisation', () => {
  it('a client publishes inside its namespace; the message reaches a plain MQTT subscriber', async () => {
    const a = await f.client('sA');
    await a.publish('devices/sA/temp', 'q1', { qos: 1 });
    await a.publish('devices/sA/temp', 'q0', { qos: 0 });
    await a.publish('devices/sA/temp', 'q2', { qos: 2 });
    await f.waitFor((o) => o.filter((x) => x.topic === 'devices/sA/temp').length >= 3);
    expect(f.observed.filter((x) => x.topic === 'devices/sA/temp').map((x) => x.payload)).toEqual(['q1', 'q0', 'q2']);
  });

  it("a publish into another client's namespace is refused with rc 3 and never reaches the broker", async () => {
    const a = await f.client('sA2');
    const before = f.gateway.stats().unauthorized;
    // A REGISTER of B's topic gets no id (REGACK 3) …
    await expect(a.register('devices/sB/temp')).rejects.toMatchObject({ code: 'REJECTED', returnCode: 3 });
    // … and a PUBLISH by a predefined id (no REGISTER) outside the namespace gets PUBACK 3.
    await expect(a.publish({ kind: 'predefined', id: 7 }, 'intruder', { qos: 1 })).rejects.toMatchObject({ code: 'REJECTED', returnCode: 3 });
    await a.publish('devices/sA2/ok', 'after', { qos: 1 });
    await f.waitFor((o) => o.some((x) => x.topic === 'devices/sA2/ok'));
    expect(f.observed.some((x) => x.payload === 'intruder' || x.topic.startsWith('devices/sB/'))).toBe(false);
    expect(f.gateway.stats().unauthorized).toBe(before + 2);
    expect(refused).toEqual(expect.arrayContaining(['sA2 publish devices/sB/temp', 'sA2 publish devices/s-pre/temp']));
  });

  it('refuses SUBSCRIBE filters reaching outside the namespace (SUBACK 3)', async () => {
    const a = await f.client('sA3');
    for (const filter of ['devices/sB/#', '#', 'devices/+/cmd', 'devices/#', 'fleet/#']) {
      await expect(a.subscribe(filter, { qos: 1 }), filter).rejects.toMatchObject({ code: 'REJECTED', returnCode: 3 });
    }
    expect(spy.subscribes.filter((x) => x === '#' || x.startsWith('devices/sB') || x === 'devices/#')).toEqual([]);
    expect(await a.subscribe('devices/sA3/+', { qos: 1 })).toMatchObject({ qos: 1 });
  });

  it('admits known device ids only: unknown ids and ids that are no device id get CONNACK 3', async () => {
    // the fixture's credentials know ids starting with "s"; "x1" has none
    await expect(f.client('x1', { retry: { tRetryMs: 300, nRetry: 1 } })).rejects.toMatchObject({ code: 'REJECTED', returnCode: 3 });
    await expect(f.client('s+all', { retry: { tRetryMs: 300, nRetry: 1 } })).rejects.toMatchObject({ code: 'REJECTED', returnCode: 3 });
    expect(events).toEqual(expect.arrayContaining(['x1:rejected', 's+all:rejected']));
  });

  it('carries every client on ONE broker connection (the broker logs no client of its own for them)', async () => {
    await Promise.all(['sN1', 'sN2', 'sN3'].map((id) => f.client(id)));
    expect(spy.connects).toBe(1);
    expect(f.gateway.stats().brokerLinks).toBe(1);
    expect(f.gateway.stats().clients).toBeGreaterThanOrEqual(3);
    const log = f.fleet.broker.log();
    expect(log).toMatch(/New client connected from \S+ as gw-agg /);
    expect(log).not.toMatch(/ as (sA|sN1|sN2|sN3) /);
  });
});

describe('subscriptions: one per filter at the broker, fan-out to the clients', () => {
  it('fans one broker message out to every subscribed client; unsubscribe is refcounted', async () => {
    const a = await f.client('sF1');
    const b = await f.client('sF2');
    const got: string[] = [];
    a.on('message', (m) => got.push(`A ${m.topic}=${text(m)} q${m.qos}`));
    b.on('message', (m) => got.push(`B ${m.topic}=${text(m)} q${m.qos}`));
    await a.subscribe('fleet/broadcast/all', { qos: 1 });
    await b.subscribe('fleet/broadcast/all', { qos: 0 });
    const be = await f.backend('gw-agg');
    await be.publishAsync('fleet/broadcast/all', 'one', { qos: 1 });
    await waitUntil(() => got.length >= 2);
    // QoS = min(message, subscription)
    expect(got.sort()).toEqual(['A fleet/broadcast/all=one q1', 'B fleet/broadcast/all=one q0']);
    const unsubs = spy.unsubscribes.length;
    await a.unsubscribe('fleet/broadcast/all');
    expect(spy.unsubscribes.length).toBe(unsubs); // B still holds it
    got.length = 0;
    await be.publishAsync('fleet/broadcast/all', 'two', { qos: 1 });
    await waitUntil(() => got.length >= 1);
    await b.unsubscribe('fleet/broadcast/all');
    expect(spy.unsubscribes.slice(unsubs)).toEqual(['fleet/broadcast/all']); // the last one left
    await be.publishAsync('fleet/broadcast/all', 'three', { qos: 1 });
    await be.publishAsync('devices/sF1/x', 'marker', { qos: 1 });
    await f.waitFor((o) => o.some((x) => x.payload === 'marker'));
    expect(got).toEqual(['B fleet/broadcast/all=two q0']);
  });

  it('a retained message goes to a later subscriber of a held filter only (RETAIN=1), not again to the first', async () => {
    const be = await f.backend('gw-agg');
    await be.publishAsync('fleet/broadcast/news', 'retained', { qos: 1, retain: true });
    const a = await f.client('sR1');
    const b = await f.client('sR2');
    const got: string[] = [];
    a.on('message', (m) => got.push(`A ${text(m)} r${m.retain ? 1 : 0}`));
    b.on('message', (m) => got.push(`B ${text(m)} r${m.retain ? 1 : 0}`));
    await a.subscribe('fleet/broadcast/news', { qos: 1 });
    await waitUntil(() => got.length >= 1);
    await b.subscribe('fleet/broadcast/news', { qos: 1 });
    await waitUntil(() => got.length >= 2);
    await be.publishAsync('fleet/broadcast/news', 'live', { qos: 1 });
    await waitUntil(() => got.length >= 4);
    expect(got.slice(0, 2)).toEqual(['A retained r1', 'B retained r1']);
    expect(got.slice(2).sort()).toEqual(['A live r0', 'B live r0']);
    await be.publishAsync('fleet/broadcast/news', '', { qos: 1, retain: true }); // clear it
  });
});

describe('sleeping clients', () => {
  it('a message fanned out to a sleeper is buffered and delivered when it wakes (§6.14)', async () => {
    const c = await f.client('sZ');
    await c.subscribe('devices/sZ/cmd', { qos: 1 });
    await c.sleep(30);
    await (await f.backend('gw-agg')).publishAsync('devices/sZ/cmd', 'while asleep', { qos: 1 });
    await waitUntil(() => f.gateway.stats().sleepBuffered > 0);
    const got = await c.wake();
    expect(got.map((m) => `${m.topic}=${text(m)}`)).toEqual(['devices/sZ/cmd=while asleep']);
  });
});

describe('wills', () => {
  it("a client lost on keep-alive expiry has its will published on the shared link", async () => {
    const c = await f.client('sW', { keepAliveS: 1, will: { topic: 'devices/sW/status', payload: 'gone', qos: 1 } });
    await c.close(); // no DISCONNECT
    await f.waitFor((o) => o.some((x) => x.topic === 'devices/sW/status' && x.payload === 'gone'));
    expect(events).toContain('sW:lost');
    expect(spy.connects).toBe(1);
  });

  it("a will on another client's topic is refused at CONNECT (CONNACK 3)", async () => {
    await expect(f.client('sW2', { will: { topic: 'devices/sB/status', payload: 'forged', qos: 1 }, retry: { tRetryMs: 300, nRetry: 2 } })).rejects.toMatchObject({ code: 'REJECTED', returnCode: 3 });
    expect(refused).toContain('sW2 publish devices/sB/status');
  });

  it('WILLTOPICUPD inside the namespace takes effect with the subscriptions kept; outside it is refused (WILLTOPICRESP 3)', async () => {
    const c = await f.client('sW4', { keepAliveS: 1, will: { topic: 'devices/sW4/status', payload: 'old', qos: 1 } });
    const got: string[] = [];
    c.on('message', (m) => got.push(text(m)));
    await c.subscribe('devices/sW4/cmd', { qos: 1 });
    await expect(c.updateWill({ topic: 'devices/sB/lwt', payload: 'forged', qos: 1 })).rejects.toMatchObject({ code: 'REJECTED', returnCode: 3 });
    await c.updateWill({ topic: 'devices/sW4/lwt', payload: 'new', qos: 1 });
    await (await f.backend('gw-agg')).publishAsync('devices/sW4/cmd', 'still subscribed', { qos: 1 });
    await waitUntil(() => got.includes('still subscribed'));
    await c.close();
    await f.waitFor((o) => o.some((x) => x.topic === 'devices/sW4/lwt' && x.payload === 'new'));
    expect(f.observed.some((x) => x.topic === 'devices/sW4/status' || x.payload === 'forged')).toBe(false);
  });

  it('a clean DISCONNECT publishes no will', async () => {
    const c = await f.client('sW3', { will: { topic: 'devices/sW3/status', payload: 'gone', qos: 1 } });
    await c.disconnect();
    await (await f.backend('gw-agg')).publishAsync('devices/sW3/marker', 'm', { qos: 1 });
    await f.waitFor((o) => o.some((x) => x.topic === 'devices/sW3/marker'));
    expect(f.observed.some((x) => x.topic === 'devices/sW3/status')).toBe(false);
  });
});

describe('the broker link drops', () => {
  it('sessions stay; it reconnects with backoff and restores the subscriptions', async () => {
    const a = await f.client('sL1');
    const b = await f.client('sL2');
    const got: string[] = [];
    b.on('message', (m) => got.push(text(m)));
    await b.subscribe('fleet/broadcast/link', { qos: 1 });
    const drops = f.gateway.stats().linkDrops;
    const id = await f.fleet.device('gw-agg');
    // The broker drops the gateway's connection: another client takes over its client id.
    const intruder = await connectAsync(f.fleet.url, { clientId: 'gw-agg', cert: id.cert, key: id.key, ca: f.fleet.ca.certificatePem, protocolVersion: 5, reconnectPeriod: 0 });
    await waitUntil(() => f.gateway.stats().linkDrops > drops, 10_000, 'the link drop');
    await intruder.endAsync(true).catch(() => undefined);
    await waitUntil(() => f.gateway.stats().brokerLinks === 1, 10_000, 'the link back');
    expect(spy.connects).toBeGreaterThanOrEqual(2);
    expect(events.slice(-2)).toEqual(['link:down', 'link:up']);
    await a.publish('devices/sL1/after', 'back', { qos: 1 });
    await f.waitFor((o) => o.some((x) => x.topic === 'devices/sL1/after'));
    await (await f.backend('gw-agg')).publishAsync('fleet/broadcast/link', 'still subscribed', { qos: 1 });
    await waitUntil(() => got.includes('still subscribed'));
  });

  it('a PUBLISH in flight when the link drops is not acknowledged; the client retransmits it and it arrives', async () => {
    const a = await f.client('sL3', { retry: { tRetryMs: 400, nRetry: 8 } });
    await a.register('devices/sL3/t');
    const pid = f.fleet.broker.pid() as number;
    const inBefore = f.gateway.stats().publishesIn;
    process.kill(pid, 'SIGSTOP');
    let p: Promise<void>;
    try {
      p = a.publish('devices/sL3/t', 'in flight', { qos: 1 });
      await waitUntil(() => f.gateway.stats().publishesIn > inBefore, 5_000, 'the PUBLISH at the gateway');
      await (spy.links.at(-1) as BrokerLink).end(true); // the connection goes with the PUBLISH unanswered
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await p;
    await f.waitFor((o) => o.some((x) => x.payload === 'in flight'));
    expect(a.retransmissions).toBeGreaterThan(0); // answered only after a retransmission
  });
});

describe('limits', () => {
  it('maxLinkInflight: a PUBLISH beyond the link\'s in-flight limit gets PUBACK 1 (congestion)', async () => {
    const id = await f.fleet.device('gw-agg');
    const gw = new MqttSnGateway({
      udp: { host: '127.0.0.1', port: 0 },
      broker: { url: f.fleet.url, ca: f.fleet.ca.certificatePem, protocolVersion: 5 },
      identity: { clientId: 'gw-agg-2', cert: id.cert, key: id.key },
      mode: 'aggregating',
      admit: ['sI1', 'sI2'],
      maxLinkInflight: 1,
    });
    await gw.start();
    const open = (clientId: string) => connectMqttSn({ gateway: { host: '127.0.0.1', port: gw.address().port }, clientId, bind: { host: '127.0.0.1' }, retry: { tRetryMs: 2000, nRetry: 3 } });
    const [a, b] = await Promise.all([open('sI1'), open('sI2')]);
    const pid = f.fleet.broker.pid() as number;
    let first: Promise<void> | undefined;
    process.kill(pid, 'SIGSTOP');
    try {
      first = a.publish('devices/sI1/t', 'holds the link', { qos: 1 });
      await waitUntil(() => gw.stats().publishesIn === 1, 5_000, 'the first PUBLISH at the gateway');
      await expect(b.publish('devices/sI2/t', 'one too many', { qos: 1 })).rejects.toMatchObject({ code: 'REJECTED', returnCode: 1 });
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await first;
    await b.publish('devices/sI2/t', 'room again', { qos: 1 });
    await f.waitFor((o) => o.some((x) => x.payload === 'room again'));
    await Promise.all([a.close(), b.close()]);
    await gw.close();
  });
});

describe('revocation', () => {
  it('a client id removed from admit is refused at its next CONNECT, a resume (CleanSession=0) included', async () => {
    const id = await f.fleet.device('gw-agg');
    const admit = new Set(['sV1']);
    const gw = new MqttSnGateway({ udp: { host: '127.0.0.1', port: 0 }, broker: { url: f.fleet.url, ca: f.fleet.ca.certificatePem }, identity: { clientId: 'gw-agg-4', cert: id.cert, key: id.key }, mode: 'aggregating', admit });
    await gw.start();
    const c = await connectMqttSn({ gateway: { host: '127.0.0.1', port: gw.address().port }, clientId: 'sV1', bind: { host: '127.0.0.1' }, retry: { tRetryMs: 300, nRetry: 2 } });
    await c.publish('devices/sV1/t', 'admitted', { qos: 1 });
    await c.sleep(30);
    admit.delete('sV1');
    await expect(c.resume()).rejects.toMatchObject({ code: 'REJECTED', returnCode: 3 });
    expect(gw.clients().map((x) => x.clientId)).toEqual([]);
    await c.close();
    await gw.close();
  });
});

describe('closing', () => {
  it('close() ends while the broker does not answer (a subscribed client, Mosquitto SIGSTOPped)', async () => {
    const id = await f.fleet.device('gw-agg');
    const gw = new MqttSnGateway({ udp: { host: '127.0.0.1', port: 0 }, broker: { url: f.fleet.url, ca: f.fleet.ca.certificatePem }, identity: { clientId: 'gw-agg-3', cert: id.cert, key: id.key }, mode: 'aggregating', admit: ['sC1'] });
    await gw.start();
    const c = await connectMqttSn({ gateway: { host: '127.0.0.1', port: gw.address().port }, clientId: 'sC1', bind: { host: '127.0.0.1' } });
    await c.subscribe('devices/sC1/cmd', { qos: 1 });
    const pid = f.fleet.broker.pid() as number;
    process.kill(pid, 'SIGSTOP');
    try {
      await gw.close(); // the UNSUBSCRIBE is written, its UNSUBACK not awaited; the link's DISCONNECT gives up after 1 s
      expect(gw.stats().brokerLinks).toBe(0);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await c.close();
  });
});

describe('options', () => {
  const base = { broker: { url: 'mqtts://127.0.0.1:1' }, identity: { clientId: 'gw', cert: 'x', key: 'y' }, admit: ['a'] };
  it.each([
    [{ ...base, mode: 5 }, TypeError],
    [{ ...base, mode: 'bridged' }, RangeError],
    [{ ...base, mode: 'aggregating', identity: undefined }, RangeError],
    [{ ...base, mode: 'aggregating', admit: undefined }, RangeError],
    [{ ...base, mode: 'aggregating', admit: 7 }, TypeError],
    [{ ...base, mode: 'aggregating', namespace: 'devices/%c/#' }, TypeError],
    [{ ...base, mode: 'aggregating', namespace: ['devices/#/x'] }, RangeError],
    [{ ...base, mode: 'aggregating', namespace: ['devices/a+/x'] }, RangeError],
    [{ ...base, mode: 'aggregating', authorize: 'yes' }, TypeError],
    [{ ...base, mode: 'aggregating', maxLinkInflight: 0 }, RangeError],
    [{ ...base, mode: 'aggregating', maxLinkInflight: '9' }, TypeError],
    [{ ...base, mode: 'aggregating', linkBackoffMs: { min: 10, max: 5 } }, RangeError],
    [{ broker: base.broker, namespace: ['devices/%c/#'] }, RangeError], // transparent mode: the broker authorises
  ])('%o → %s', (o, E) => {
    expect(() => new MqttSnGateway(o as never)).toThrow(E);
  });
  it('accepts a complete aggregating configuration', () => {
    expect(new MqttSnGateway({ ...base, mode: 'aggregating', namespace: ['devices/%c/#', 'fleet/+/cmd'], maxLinkInflight: 100 })).toBeInstanceOf(MqttSnGateway);
  });
});
