// The device sync recipe under message orders a real broker will not produce on demand: a
// scripted in-memory MQTT peer (a fake, because ordering races cannot be forced through
// Mosquitto) delivers GET replies, accepted and delta notifications in chosen orders.
import { afterEach, describe, expect, it } from 'vitest';
import { createShadowClient, shadowTopic, type JsonObject, type MqttLike, type ShadowClient } from '../src/index.js';
import { eventually } from './helpers.js';

interface Published { topic: string; body: Record<string, unknown> }

class FakeMqtt implements MqttLike {
  connected = true;
  readonly published: Published[] = [];
  readonly subscriptions: string[] = [];
  private readonly listeners = new Map<string, Array<(...a: unknown[]) => void>>();
  publish(topic: string, payload: string | Uint8Array): Promise<void> {
    this.published.push({ topic, body: JSON.parse(typeof payload === 'string' ? payload : new TextDecoder().decode(payload)) as Record<string, unknown> });
    return Promise.resolve();
  }
  subscribe(filters: string | string[]): Promise<void> {
    this.subscriptions.push(...(Array.isArray(filters) ? filters : [filters]));
    return Promise.resolve();
  }
  on(event: 'message' | 'connect', listener: (...a: never[]) => void): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener as (...a: unknown[]) => void]);
    return this;
  }
  off(event: string, listener: (...a: never[]) => void): this {
    this.listeners.set(event, (this.listeners.get(event) ?? []).filter((l) => l !== listener));
    return this;
  }
  deliver(topic: string, body: unknown): void {
    for (const l of this.listeners.get('message') ?? []) l(topic, new TextEncoder().encode(JSON.stringify(body)));
  }
  reconnect(): void {
    for (const l of this.listeners.get('connect') ?? []) l();
  }
  /** The last request published on `op`, once there is one after `after`. */
  async request(op: 'get' | 'update', after = 0): Promise<Published & { index: number }> {
    let found: (Published & { index: number }) | undefined;
    await eventually(() => {
      const i = this.published.findIndex((p, j) => j >= after && p.topic === shadowTopic('dev', op));
      if (i >= 0) found = { ...this.published[i]!, index: i };
      return found !== undefined;
    }, 5_000, `a ${op} request`);
    return found!;
  }
}

const T = (op: 'get' | 'update', s: 'accepted' | 'rejected' | 'delta'): string => shadowTopic('dev', op, s);
let client: ShadowClient | undefined;
afterEach(async () => { await client?.close(); });

async function start(fake: FakeMqtt, opts: { requestTimeoutMs?: number } = {}): Promise<{ seen: Array<[JsonObject, number, string]> }> {
  const seen: Array<[JsonObject, number, string]> = [];
  client = await createShadowClient({ mqtt: fake, thingName: 'dev', requestTimeoutMs: opts.requestTimeoutMs ?? 2_000, retryDelayMs: 10 });
  client.onDelta((d, i) => { seen.push([d, i.version, i.source]); });
  return { seen };
}

describe('sync order', () => {
  it('subscribes before it GETs, and never to shadow/#', async () => {
    const fake = new FakeMqtt();
    await start(fake);
    await fake.request('get');
    expect(fake.subscriptions).toContain(T('update', 'delta'));
    expect(fake.subscriptions).toContain(T('get', 'accepted'));
    expect(fake.subscriptions.some((s) => s.includes('#'))).toBe(false);
  });

  it('ignores notifications at or below the fetched version; takes newer ones', async () => {
    const fake = new FakeMqtt();
    const { seen } = await start(fake);
    const get = await fake.request('get');
    fake.deliver(T('get', 'accepted'), { state: { desired: { a: 1 }, delta: { a: 1 } }, metadata: {}, version: 5, timestamp: 1, clientToken: get.body['clientToken'] });
    await eventually(() => seen.length === 1);
    fake.deliver(T('update', 'delta'), { state: { a: 0 }, metadata: {}, version: 4, timestamp: 1 });
    fake.deliver(T('update', 'delta'), { state: { a: 1 }, metadata: {}, version: 5, timestamp: 1 });
    fake.deliver(T('update', 'delta'), { state: { a: 2 }, metadata: {}, version: 6, timestamp: 1 });
    await eventually(() => seen.length === 2);
    expect(seen).toEqual([[{ a: 1 }, 5, 'get'], [{ a: 2 }, 6, 'delta']]);
    expect(client!.stats().staleIgnored).toBe(2);
  });

  it('an accepted with a higher version arriving before a delta does not hide the delta (accepted/delta race)', async () => {
    const fake = new FakeMqtt();
    const { seen } = await start(fake);
    const get = await fake.request('get');
    fake.deliver(T('get', 'accepted'), { state: { reported: { a: 1 } }, metadata: {}, version: 5, timestamp: 1, clientToken: get.body['clientToken'] });
    await eventually(() => client!.stats().syncs === 1);
    await client!.report({ b: 1 });
    const up = await fake.request('update');
    expect(up.body).toMatchObject({ state: { reported: { b: 1 } }, version: 5 });
    // The app's desired write became version 6, our report version 7; accepted(7) overtakes delta(6).
    fake.deliver(T('update', 'accepted'), { state: { reported: { b: 1 } }, metadata: {}, version: 7, timestamp: 1, clientToken: up.body['clientToken'] });
    fake.deliver(T('update', 'delta'), { state: { mode: 'eco' }, metadata: {}, version: 6, timestamp: 1 });
    await eventually(() => seen.length === 1);
    expect(seen).toEqual([[{ mode: 'eco' }, 6, 'delta']]);
    await client!.flush();
  });

  it('deltas that arrive during the GET are held; only the newest of them and the GET is handed over', async () => {
    const fake = new FakeMqtt();
    const { seen } = await start(fake);
    const get = await fake.request('get');
    fake.deliver(T('update', 'delta'), { state: { v: 2 }, metadata: {}, version: 8, timestamp: 1 });
    fake.deliver(T('update', 'delta'), { state: { v: 3 }, metadata: {}, version: 9, timestamp: 1 });
    fake.deliver(T('get', 'accepted'), { state: { desired: { v: 1 }, delta: { v: 1 } }, metadata: {}, version: 7, timestamp: 1, clientToken: get.body['clientToken'] });
    await eventually(() => seen.length === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual([[{ v: 3 }, 9, 'delta']]);
  });

  it('a lost reply is retried with the same clientToken; a late reply to the first attempt still counts', async () => {
    const fake = new FakeMqtt();
    await start(fake, { requestTimeoutMs: 50 });
    const first = await fake.request('get');
    const second = await fake.request('get', first.index + 1);
    expect(second.body['clientToken']).toBe(first.body['clientToken']);
    fake.deliver(T('get', 'rejected'), { code: 404, message: "No shadow exists with name: 'dev'", timestamp: 1, clientToken: first.body['clientToken'] });
    await eventually(() => client!.stats().syncs === 1);
    expect(client!.stats().timeouts).toBeGreaterThanOrEqual(1);
  });

  it('reports offline merge into one patch; on reconnect: subscribe, GET, then one update', async () => {
    const fake = new FakeMqtt();
    await start(fake);
    const get = await fake.request('get');
    fake.deliver(T('get', 'rejected'), { code: 404, message: 'none', timestamp: 1, clientToken: get.body['clientToken'] });
    await eventually(() => client!.stats().syncs === 1);
    fake.connected = false;
    await client!.report({ a: 1, cfg: { x: 1 } });
    await client!.report({ cfg: { y: 2 }, b: null });
    expect(client!.pending()).toEqual([{ a: 1, cfg: { x: 1, y: 2 }, b: null }]);
    expect(fake.published.filter((p) => p.topic === shadowTopic('dev', 'update'))).toHaveLength(0);
    fake.connected = true;
    const mark = fake.published.length;
    fake.reconnect();
    const get2 = await fake.request('get', mark);
    fake.deliver(T('get', 'accepted'), { state: { reported: { old: true } }, metadata: {}, version: 3, timestamp: 1, clientToken: get2.body['clientToken'] });
    const up = await fake.request('update', mark);
    expect(up.index).toBeGreaterThan(get2.index);
    expect(up.body).toMatchObject({ state: { reported: { a: 1, cfg: { x: 1, y: 2 }, b: null } }, version: 3 });
    fake.deliver(T('update', 'accepted'), { state: {}, metadata: {}, version: 4, timestamp: 1, clientToken: up.body['clientToken'] });
    await client!.flush();
    expect(fake.published.filter((p) => p.topic === shadowTopic('dev', 'update'))).toHaveLength(1);
  });

  it('a 409 on the way: GET again, then the same patch with the new version', async () => {
    const fake = new FakeMqtt();
    const { seen } = await start(fake);
    const get = await fake.request('get');
    fake.deliver(T('get', 'accepted'), { state: {}, metadata: {}, version: 2, timestamp: 1, clientToken: get.body['clientToken'] });
    await eventually(() => client!.stats().syncs === 1);
    await client!.report({ t: 20 });
    const up = await fake.request('update');
    fake.deliver(T('update', 'rejected'), { code: 409, message: 'Version conflict', timestamp: 1, clientToken: up.body['clientToken'] });
    const reget = await fake.request('get', up.index + 1);
    fake.deliver(T('get', 'accepted'), { state: { desired: { mode: 'on' }, delta: { mode: 'on' } }, metadata: {}, version: 3, timestamp: 1, clientToken: reget.body['clientToken'] });
    const again = await fake.request('update', reget.index + 1);
    expect(again.body).toMatchObject({ state: { reported: { t: 20 } }, version: 3 });
    fake.deliver(T('update', 'accepted'), { state: {}, metadata: {}, version: 4, timestamp: 1, clientToken: again.body['clientToken'] });
    await client!.flush();
    expect(seen).toEqual([[{ mode: 'on' }, 3, 'get']]);
    expect(client!.stats().conflicts).toBe(1);
  });

  it('a delta that arrives before any onDelta handler is kept for the first one', async () => {
    const fake = new FakeMqtt();
    client = await createShadowClient({ mqtt: fake, thingName: 'dev', requestTimeoutMs: 2_000 });
    const get = await fake.request('get');
    fake.deliver(T('get', 'accepted'), { state: { desired: { a: 1 }, delta: { a: 1 } }, metadata: {}, version: 2, timestamp: 1, clientToken: get.body['clientToken'] });
    await eventually(() => client!.stats().syncs === 1);
    const seen: JsonObject[] = [];
    client.onDelta((d) => { seen.push(d); });
    await eventually(() => seen.length === 1);
    expect(seen).toEqual([{ a: 1 }]);
  });
});
