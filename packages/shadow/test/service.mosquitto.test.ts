// The reference shadow service, the device client and the app client together, against a
// real Mosquitto 2.0 with mutual TLS and the per-device ACL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import type { DeviceClient } from '@outpost/device-sdk';
import {
  createShadowAppClient, createShadowClient, MemoryShadowStore, ShadowError, shadowTopic, startShadowService,
  type DocumentsMessage, type JsonObject, type ShadowAppClient, type ShadowService,
} from '../src/index.js';
import { APP2_ID, APP3_ID, APP_ID, SERVICE_ID, startShadowFleet, type ShadowFleet } from './fixtures/shadow-fleet.js';
import { eventually } from './helpers.js';

let fleet: ShadowFleet;
let serviceMqtt: DeviceClient;
let appMqtt: DeviceClient;
let service: ShadowService;
let app: ShadowAppClient;
const store = new MemoryShadowStore();
const dropped = new Set<string>(); // "thing/op/suffix" to drop once
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  fleet = await startShadowFleet();
  serviceMqtt = await fleet.connect(SERVICE_ID);
  service = await startShadowService({
    mqtt: serviceMqtt,
    store,
    dropReply: (r) => {
      const k = `${r.thingName}/${r.operation}/${r.suffix}`;
      if (!dropped.has(k)) return false;
      dropped.delete(k);
      return true;
    },
  });
  appMqtt = await fleet.connect(APP_ID);
  app = createShadowAppClient({ mqtt: appMqtt, requestTimeoutMs: 3_000 });
});

afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await app?.close();
  await service?.close();
  await appMqtt?.close({ force: true });
  await serviceMqtt?.close({ force: true });
  await fleet?.stop();
});

async function device(id: string, opts: { via?: Awaited<ReturnType<ShadowFleet['proxy']>>; requestTimeoutMs?: number } = {}) {
  const mq = await fleet.connect(id, opts.via !== undefined ? { via: opts.via } : {});
  const shadow = await createShadowClient({ mqtt: mq, thingName: id, requestTimeoutMs: opts.requestTimeoutMs ?? 3_000, retryDelayMs: 200 });
  closers.push(async () => { await shadow.close(); await mq.close({ force: true }); });
  return { mq, shadow };
}

/** A device that applies every delta to its local state and reports it. */
function applyAndReport(shadow: Awaited<ReturnType<typeof device>>['shadow'], local: JsonObject, seen: JsonObject[]): void {
  shadow.onDelta(async (delta) => {
    seen.push(delta);
    Object.assign(local, delta);
    await shadow.report(delta);
  });
}

describe('request/response through the service', () => {
  it('GET of a shadow never created is 404; update creates it; named shadows are separate', async () => {
    await expect(app.get('thing-a')).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
    const acc = await app.updateDesired('thing-a', { mode: 'eco' });
    expect(acc.version).toBe(1);
    expect(acc.state).toEqual({ desired: { mode: 'eco' } });
    await app.updateDesired('thing-a', { fw: '1.2' }, { shadowName: 'firmware' });
    expect((await app.get('thing-a')).state).toEqual({ desired: { mode: 'eco' }, delta: { mode: 'eco' } });
    expect((await app.get('thing-a', { shadowName: 'firmware' })).state.desired).toEqual({ fw: '1.2' });
    expect(await store.list()).toEqual(expect.arrayContaining([{ thingName: 'thing-a' }, { thingName: 'thing-a', shadowName: 'firmware' }]));
  });

  it('rejections come back as error documents: 400 bad JSON, 409 version, 413 too large', async () => {
    // A raw publish of invalid JSON gets an error document without a clientToken on update/rejected.
    const rejected = new Promise<Record<string, unknown>>((resolve) => {
      const off = appMqtt.on('message', (m) => {
        if (m.topic === shadowTopic('thing-b', 'update', 'rejected')) { off(); resolve(JSON.parse(new TextDecoder().decode(m.payload)) as Record<string, unknown>); }
      });
    });
    await appMqtt.subscribe(shadowTopic('thing-b', 'update', 'rejected'));
    await appMqtt.publish(shadowTopic('thing-b', 'update'), '{"state":');
    const doc = await rejected;
    expect(doc).toMatchObject({ code: 400, message: 'Invalid JSON' });
    expect(typeof doc['timestamp']).toBe('number');

    await app.updateDesired('thing-b', { a: 1 });
    await expect(app.updateDesired('thing-b', { a: 2 }, { version: 7 })).rejects.toMatchObject({ code: 'VERSION_CONFLICT', status: 409 });
    await expect(app.updateDesired('thing-b', { big: 'x'.repeat(9000) })).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE', status: 413 });
    const d = await app.delete('thing-b');
    expect(d.version).toBe(1);
    await expect(app.get('thing-b')).rejects.toBeInstanceOf(ShadowError);
    expect((await app.updateDesired('thing-b', { a: 3 })).version).toBe(2); // the version goes on after a delete
  });
});

describe('device sync', () => {
  it('an app changes desired while the device is offline; the device comes back and converges', async () => {
    const proxy = await fleet.proxy();
    const { mq, shadow } = await device('dev-offline', { via: proxy });
    const local: JsonObject = { intervalS: 60 };
    const seen: JsonObject[] = [];
    applyAndReport(shadow, local, seen);
    await shadow.report({ intervalS: 60 });
    await shadow.flush();
    await proxy.cut();
    await eventually(() => !mq.connected, 10_000, 'device offline');
    await app.updateDesired('dev-offline', { intervalS: 15 });
    expect(seen).toEqual([]);
    await proxy.restore();
    await eventually(async () => {
      const doc = await app.get('dev-offline');
      return doc.state.delta === undefined && doc.state.reported?.['intervalS'] === 15;
    }, 20_000, 'convergence');
    expect(local['intervalS']).toBe(15);
    expect(seen).toEqual([{ intervalS: 15 }]);
  });

  it('three desired changes while offline are seen once, as their final result; offline reports go out as one update', async () => {
    const proxy = await fleet.proxy();
    const { mq, shadow } = await device('dev-three', { via: proxy });
    const seen: JsonObject[] = [];
    const local: JsonObject = {};
    applyAndReport(shadow, local, seen);
    await shadow.synced().catch(() => undefined);
    await proxy.cut();
    await eventually(() => !mq.connected, 10_000, 'device offline');
    for (const [i, v] of [10, 20, 30].entries()) await app.updateDesired('dev-three', { intervalS: v, step: i });
    // Meanwhile the device reports three times offline: they merge into one pending patch.
    await shadow.report({ battery: 90 });
    await shadow.report({ battery: 80, temp: 20 });
    await shadow.report({ battery: 70 });
    expect(shadow.pending()).toEqual([{ battery: 70, temp: 20 }]);
    const documents: DocumentsMessage[] = [];
    const unwatch = await app.watch('dev-three', (d) => documents.push(d));
    await proxy.restore();
    await eventually(async () => {
      const doc = await app.get('dev-three');
      return doc.state.delta === undefined && doc.state.reported?.['intervalS'] === 30;
    }, 20_000, 'convergence');
    unwatch();
    expect(seen).toEqual([{ intervalS: 30, step: 2 }]);
    const reportedUpdates = documents.filter((d) => JSON.stringify(d.current.state.reported) !== JSON.stringify(d.previous?.state.reported));
    expect(reportedUpdates[0]?.current.state.reported).toEqual({ battery: 70, temp: 20 });
    expect((await app.get('dev-three')).state.reported).toEqual({ battery: 70, temp: 20, intervalS: 30, step: 2 });
  });

  it('two writers with versions: one gets 409, re-reads and retries', async () => {
    await app.updateDesired('dev-writers', { n: 0 });
    const appMqtt2 = await fleet.connect(APP2_ID);
    const other = createShadowAppClient({ mqtt: appMqtt2, requestTimeoutMs: 3_000 });
    closers.push(async () => { await other.close(); await appMqtt2.close({ force: true }); });
    const doc = await app.get('dev-writers');
    const first = await app.updateDesired('dev-writers', { n: 1, by: 'a' }, { version: doc.version });
    expect(first.version).toBe(doc.version + 1);
    await expect(other.updateDesired('dev-writers', { n: 1, by: 'b' }, { version: doc.version })).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
    // modifyDesired does the read-modify-write loop: two concurrent increments both land.
    const inc = (d: { state: { desired?: JsonObject } } | undefined): JsonObject => ({ n: ((d?.state.desired?.['n'] as number) ?? 0) + 1 });
    const [ra, rb] = await Promise.all([app.modifyDesired('dev-writers', inc), other.modifyDesired('dev-writers', inc)]);
    expect((await app.get('dev-writers')).state.desired?.['n']).toBe(3);
    expect(ra.conflicts + rb.conflicts).toBeGreaterThanOrEqual(1);
    expect(Math.max(ra.attempts, rb.attempts)).toBeGreaterThanOrEqual(2);
  });

  it('a reply the service drops on purpose does not hang the client: it times out and retries', async () => {
    await app.update('dev-drop', { state: { reported: { boot: 1 } } });
    dropped.add('dev-drop/get/accepted');
    const { shadow } = await device('dev-drop', { requestTimeoutMs: 500 });
    await eventually(() => shadow.stats().syncs >= 1, 10_000, 'first sync despite the dropped GET reply');
    expect(dropped.size).toBe(0); // the GET reply was dropped…
    expect(shadow.stats().timeouts).toBeGreaterThanOrEqual(1); // …and the client timed out and retried
    expect(shadow.document?.state.reported).toEqual({ boot: 1 });
    dropped.add('dev-drop/update/accepted');
    await shadow.report({ ok: true });
    await shadow.flush();
    expect((await app.get('dev-drop')).state.reported).toEqual({ boot: 1, ok: true });
    expect(shadow.stats().timeouts).toBeGreaterThanOrEqual(2);
    expect(dropped.size).toBe(0);
    // The app client too: a dropped get reply is retried.
    dropped.add('dev-drop/get/accepted');
    const quick = createShadowAppClient({ mqtt: appMqtt, requestTimeoutMs: 500, maxRetries: 2 });
    expect((await quick.get('dev-drop')).state.reported).toEqual({ boot: 1, ok: true });
    expect(dropped.size).toBe(0);
    await quick.close();
  });

  it('a device whose report meets a 409 re-reads and re-applies without losing the patch', async () => {
    await app.updateDesired('dev-conflict', { mode: 'a' });
    const { shadow } = await device('dev-conflict');
    const seen: JsonObject[] = [];
    applyAndReport(shadow, {}, seen);
    await eventually(async () => (await app.get('dev-conflict')).state.delta === undefined, 10_000, 'first convergence');
    await shadow.flush();
    const before = (await store.get({ thingName: 'dev-conflict' }))!.version;
    // The device misses an update: the service drops its delta and accepted notifications.
    dropped.add('dev-conflict/update/delta');
    dropped.add('dev-conflict/update/accepted');
    await appMqtt.publish(shadowTopic('dev-conflict', 'update'), JSON.stringify({ state: { desired: { color: 'red' } } }));
    await eventually(async () => (await store.get({ thingName: 'dev-conflict' }))!.version === before + 1, 10_000, 'the missed update');
    expect(dropped.size).toBe(0);
    await shadow.report({ uptime: 1 });
    await shadow.flush();
    expect(shadow.stats().conflicts).toBe(1);
    await eventually(async () => (await app.get('dev-conflict')).state.delta === undefined, 10_000, 'convergence');
    await shadow.flush();
    expect((await app.get('dev-conflict')).state.reported).toEqual({ mode: 'a', uptime: 1, color: 'red' });
    expect(seen).toEqual([{ mode: 'a' }, { color: 'red' }]); // the re-read handed over the missed delta
  });

  it('works on a plain MQTT.js client too', async () => {
    const c = await fleet.creds('dev-mqttjs');
    const client = await mqtt.connectAsync(fleet.url, { clientId: 'dev-mqttjs', cert: c.cert, key: c.key, ca: fleet.ca.certificatePem, servername: 'localhost', protocolVersion: 5, reconnectPeriod: 200 });
    const shadow = await createShadowClient({ mqtt: client, thingName: 'dev-mqttjs', shadowName: 'config', requestTimeoutMs: 3_000 });
    closers.push(async () => { await shadow.close(); await client.endAsync(true); });
    const local: JsonObject = {};
    applyAndReport(shadow, local, []);
    await app.updateDesired('dev-mqttjs', { led: 'on' }, { shadowName: 'config' });
    await eventually(async () => (await app.get('dev-mqttjs', { shadowName: 'config' })).state.delta === undefined, 20_000, 'convergence');
    expect(local).toEqual({ led: 'on' });
  });

  it('an app on MQTT.js: two watchers of a thing share one subscription, released on the broker after the last stops', async () => {
    const c = await fleet.creds(APP3_ID); // its own identity: APP2_ID's connection is still open
    const client = await mqtt.connectAsync(fleet.url, { clientId: APP3_ID, cert: c.cert, key: c.key, ca: fleet.ca.certificatePem, servername: 'localhost', protocolVersion: 5, reconnectPeriod: 200 });
    const app2 = createShadowAppClient({ mqtt: client, requestTimeoutMs: 3_000 });
    closers.push(async () => { await app2.close(); await client.endAsync(true); });
    let delivered = 0; // documents messages the broker delivered to this connection
    client.on('message', (topic) => { if (topic === shadowTopic('shared', 'update', 'documents')) delivered++; });
    const a: DocumentsMessage[] = [];
    const b: DocumentsMessage[] = [];
    const stopA = await app2.watch('shared', (d) => a.push(d));
    const stopB = await app2.watch('shared', (d) => b.push(d));
    await app.updateDesired('shared', { x: 1 });
    await eventually(() => a.length === 1 && b.length === 1, 10_000, 'both watchers');
    stopA();
    stopA(); // a second call is a no-op, not a second release
    await app.updateDesired('shared', { x: 2 });
    await eventually(() => b.length === 2, 10_000, 'the remaining watcher');
    expect(a).toHaveLength(1);
    stopB();
    // The UNSUBSCRIBE went out on this connection before this GET's SUBSCRIBE: once the GET is
    // answered the broker has handled it (another connection's publish could otherwise overtake it).
    expect((await app2.get('shared')).version).toBe(2);
    await app.updateDesired('shared', { x: 3 });
    // The service publishes x:3's documents before it answers this GET (one request at a time per
    // shadow), and the broker delivers them in that order: had the filter stayed, it would be here.
    expect((await app2.get('shared')).version).toBe(3);
    expect(delivered).toBe(2);
    expect(app2.stats()).toMatchObject({ subscriptions: 0, shadows: 0, unsubscribes: 3 }); // the watch's and both GETs'
  });

  it('100 devices syncing at once through one service', async () => {
    const N = 100;
    const ids = Array.from({ length: N }, (_, i) => `fleet-${String(i).padStart(3, '0')}`);
    const devices = await Promise.all(ids.map(async (id) => {
      const d = await device(id, { requestTimeoutMs: 10_000 });
      const local: JsonObject = {};
      applyAndReport(d.shadow, local, []);
      return { id, ...d, local };
    }));
    await Promise.all(ids.map((id, i) => app.updateDesired(id, { intervalS: 10 + i, mode: 'fast' })));
    await eventually(async () => devices.every((d) => d.local['intervalS'] !== undefined && d.shadow.pending().length === 0), 60_000, '100 devices applied');
    for (const d of devices) await d.shadow.flush();
    const docs = await Promise.all(ids.map((id) => app.get(id)));
    for (const [i, doc] of docs.entries()) {
      expect(doc.state.delta).toBeUndefined();
      expect(doc.state.reported).toEqual({ intervalS: 10 + i, mode: 'fast' });
    }
  }, 120_000);
});
