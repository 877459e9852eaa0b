// Issue #13 end to end: a seeded hostile device publishes 10,000 QoS 1 messages through a real
// Mosquitto with the fleet's mTLS config to a pipeline consumer process (openPipelineStack +
// connectIngest, persistent MQTT 5 session: test/fixtures/pipeline-consumer.ts) — valid JSON,
// CBOR and SenML mixed with truncated, deep, huge, prototype-key, wrong-device, wrong-type,
// non-UTF-8 and hostile-object payloads and duplicate timestamps. Afterwards:
// - every message was acknowledged: the consumer is SIGKILLed (its session survives) and a new
//   one with the same client id receives nothing (a stalled message would be redelivered);
// - received = delivered + dead-lettered, and each dead letter carries the reason its class
//   must get, with a detail;
// - every valid point is in the DuckDB store exactly once (duplicate keys: one row per key).
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Encoder } from 'cbor-x';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { mulberry32, tempDir } from '@outpost/test-peers';
import { startFleet, type Fleet } from '../../device-sdk/test/fixtures/fleet.js';

const N = 10_000;
const DEVICE = 'hostile-1';
const consumerScript = join(import.meta.dirname, 'fixtures', 'pipeline-consumer.ts');
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true } as ConstructorParameters<typeof Encoder>[0]);
const enc = new TextEncoder();

type Reason = 'DECODE_FAILED' | 'SCHEMA_INVALID' | 'OVERSIZED';
interface Sent {
  readonly payload: Uint8Array;
  readonly contentType?: string;
  /** The dead-letter reason this message must get, or the store key/value it must yield. */
  readonly reason?: Reason;
  readonly point?: { readonly metric: 'v' | 'd'; readonly time: number; readonly value: number };
}

/** The seeded message mix: about 60 % valid, the rest each hostile class in turn. */
function messages(seed: number, t0: number): Sent[] {
  const rnd = mulberry32(seed);
  const out: Sent[] = [];
  let dupTime = t0;
  for (let i = 0; i < N; i++) {
    const time = t0 + i * 10;
    const r = rnd();
    if (r < 0.2) out.push({ payload: enc.encode(JSON.stringify({ ts: time, v: i, fw: '1.2' })), point: { metric: 'v', time, value: i } });
    else if (r < 0.35) out.push({ payload: cbor.encode({ ts: time, v: i, raw: new Uint8Array([i & 255]) }), point: { metric: 'v', time, value: i } });
    else if (r < 0.45) out.push({ payload: enc.encode(`[{"bn":"","n":"v","u":"Cel","v":${i},"t":${time / 1000}}]`), contentType: 'application/senml+json', point: { metric: 'v', time, value: i } });
    else if (r < 0.5) out.push({ payload: enc.encode(`{"ts":${time},"v":${i},"__proto__":{"polluted":1},"constructor":{"prototype":{}}}`), point: { metric: 'v', time, value: i } });
    else if (r < 0.6) {
      if (rnd() < 0.5) dupTime = time; // a new key, or another value for the last one
      out.push({ payload: enc.encode(JSON.stringify({ ts: dupTime, d: i })), point: { metric: 'd', time: dupTime, value: i } });
    } else {
      const k = Math.floor(rnd() * 10);
      const valid = enc.encode(JSON.stringify({ ts: time, v: i }));
      const hostile: [Uint8Array, Reason][] = [
        [valid.subarray(0, 1 + Math.floor(rnd() * (valid.length - 2))), 'DECODE_FAILED'], // truncated JSON
        [cbor.encode({ ts: time, v: i }).subarray(0, 5), 'DECODE_FAILED'], // truncated CBOR
        [enc.encode(`{"a":${'['.repeat(3000)}${']'.repeat(3000)},"v":${i}}`), 'DECODE_FAILED'], // deep
        [enc.encode(`{"v":${i},"pad":"${'x'.repeat(300 * 1024)}"}`), 'OVERSIZED'], // huge
        [enc.encode(JSON.stringify({ device: 'someone-else', ts: time, v: i })), 'SCHEMA_INVALID'], // wrong device
        [enc.encode(`{"device":{"toString":1,"valueOf":1},"v":${i}}`), 'SCHEMA_INVALID'], // hostile object
        [enc.encode(JSON.stringify({ ts: 'yesterday', v: i })), 'SCHEMA_INVALID'], // wrong type
        [enc.encode(`[{"n":"v","v":"${i}"}]`), 'SCHEMA_INVALID'], // SenML value of the wrong type
        [new Uint8Array([0x7b, 0x22, 0x76, 0x22, 0x3a, 0x31, 0x2c, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), 'DECODE_FAILED'], // non-UTF-8
        [cbor.encode({ ts: time, v: NaN }), 'SCHEMA_INVALID'], // NaN
      ];
      const [payload, reason] = hostile[k] as [Uint8Array, Reason];
      out.push({ payload, reason });
    }
  }
  return out;
}

interface Consumer {
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  subscribed: boolean;
  stats: { received: number; acked: number; pending: number; deadLettered: Record<string, number> } | undefined;
  stderr: string;
  /** Longest time, ms, with messages pending and no acknowledgement going out (reported, not asserted). */
  longestStall: number;
  /** Counters when the longest stall was seen (where in the stream it happened). */
  longestStallAt?: { acked: number; received: number; pending: number };
}

function consumer(config: string): Consumer {
  const proc = spawn(process.execPath, ['--conditions=@outpost/source', '--import', 'tsx', consumerScript, config], { stdio: ['pipe', 'pipe', 'pipe'] });
  const c: Consumer = { proc, exited: new Promise((r) => proc.once('exit', r)), subscribed: false, stats: undefined, stderr: '', longestStall: 0 };
  let rest = '';
  let lastAck = { acked: -1, at: Date.now() };
  proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) {
      if (l === 'subscribed') c.subscribed = true;
      const m = /^(stats|closed) (.*)$/.exec(l);
      if (m === null) continue;
      const s = JSON.parse(m[2] as string) as NonNullable<Consumer['stats']>;
      c.stats = s;
      if (s.acked !== lastAck.acked || s.pending === 0) lastAck = { acked: s.acked, at: Date.now() };
      else if (Date.now() - lastAck.at > c.longestStall) {
        c.longestStall = Date.now() - lastAck.at;
        c.longestStallAt = { acked: s.acked, received: s.received, pending: s.pending };
      }
    }
  });
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => (c.stderr += d));
  proc.stdin?.on('error', () => undefined);
  return c;
}

async function waitFor(c: Consumer, ok: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (c.proc.exitCode !== null) throw new Error(`consumer exited (${c.proc.exitCode}) waiting for ${what}:\n${c.stderr}`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last stats ${JSON.stringify(c.stats)}\n${c.stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('seeded hostile publisher through Mosquitto (mTLS, persistent session)', () => {
  let fleet: Fleet;
  const tmp = tempDir('outpost-hostile-');
  beforeAll(async () => {
    // 1,000 in flight to the consumer (Mosquitto's default of 20 would pace it to one lake commit per 20).
    fleet = await startFleet({ persistence: true, maxInflightMessages: 1_000 });
  });
  afterAll(async () => {
    await fleet?.stop();
    tmp.cleanup();
  });

  it('10,000 messages: all acknowledged, received = delivered + dead-lettered, every valid point once', { timeout: 120_000 }, async () => {
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 600_000; // inside the decoder's default window
    const sent = messages(0x13c0de, t0);
    const app = await fleet.device('app-observer');
    const lakeDir = join(tmp.path, 'lake');
    const duckFile = join(tmp.path, 'timeseries.duckdb');
    const config = join(tmp.path, 'consumer.json');
    writeFileSync(config, JSON.stringify({ url: fleet.url, ca: fleet.ca.certificatePem, cert: app.cert, key: app.key, lakeDir, duckdb: duckFile }));

    const first = consumer(config);
    const dev = await fleet.device(DEVICE);
    const publisher = await mqtt.connectAsync(fleet.url, { ca: fleet.ca.certificatePem, cert: dev.cert, key: dev.key, clientId: DEVICE, protocolVersion: 5, reconnectPeriod: 0 });
    try {
      await waitFor(first, () => first.subscribed, 'the consumer to subscribe');
      const window = new Set<Promise<unknown>>();
      for (const m of sent) {
        const p = publisher.publishAsync(`devices/${DEVICE}/telemetry`, Buffer.from(m.payload), { qos: 1, ...(m.contentType !== undefined ? { properties: { contentType: m.contentType } } : {}) });
        window.add(p);
        void p.finally(() => window.delete(p));
        if (window.size >= 200) await Promise.race(window);
      }
      await Promise.all(window);
      await waitFor(first, () => first.stats !== undefined && first.stats.acked === N && first.stats.pending === 0, `${N} acknowledgements`);
      expect(first.stats?.received).toBe(N);

      // Kill -9 keeps the session (expiry 1 h); a message left unacknowledged would come back now.
      first.proc.kill('SIGKILL');
      await first.exited;
      const second = consumer(config);
      await waitFor(second, () => second.subscribed && second.stats !== undefined, 'the second consumer');
      await new Promise((r) => setTimeout(r, 1_500));
      expect(second.stats?.received, 'messages redelivered after the reconnect').toBe(0);
      second.proc.stdin?.write('close\n');
      expect(await second.exited, second.stderr).toBe(0);
    } finally {
      if (first.proc.exitCode === null && first.proc.signalCode === null) first.proc.kill('SIGKILL');
      await publisher.endAsync().catch(() => undefined);
    }

    // Dead letters: one per hostile message, each with the reason of its class and a detail.
    const letters = (readdirSync(join(lakeDir, 'dead-letter'), { recursive: true }) as string[])
      .filter((f) => f.endsWith('.jsonl'))
      .flatMap((f) => readFileSync(join(lakeDir, 'dead-letter', f), 'utf8').split('\n').filter((l) => l !== ''))
      .map((l) => JSON.parse(l) as { reason: string; detail: string; payload: string });
    const count = (xs: readonly string[]): Record<string, number> => xs.reduce<Record<string, number>>((a, x) => ({ ...a, [x]: (a[x] ?? 0) + 1 }), {});
    const hostile = sent.filter((m) => m.reason !== undefined);
    expect(count(letters.map((l) => l.reason))).toEqual(count(hostile.map((m) => m.reason as string)));
    // Message by message: each letter's payload is a hostile message sent, with that message's reason.
    const expected = new Map<string, string[]>();
    for (const m of hostile) expected.set(Buffer.from(m.payload).toString('base64'), [...(expected.get(Buffer.from(m.payload).toString('base64')) ?? []), m.reason as string]);
    const unmatched = letters.filter((l) => {
      const reasons = expected.get(l.payload) ?? [];
      const at = reasons.indexOf(l.reason);
      if (at < 0) return true;
      reasons.splice(at, 1);
      return false;
    });
    expect(unmatched.map((l) => `${l.reason}: ${l.detail}`)).toEqual([]);
    expect(letters.filter((l) => typeof l.detail !== 'string' || l.detail.length < 10)).toEqual([]);
    const delivered = sent.length - hostile.length;
    expect(first.stats?.received).toBe(delivered + letters.length); // received = delivered + dead-lettered

    // The store: every valid key exactly once; for a duplicated key, one of the values sent for it.
    const want = new Map<string, number[]>();
    for (const m of sent) if (m.point !== undefined) want.set(`${m.point.metric}@${m.point.time}`, [...(want.get(`${m.point.metric}@${m.point.time}`) ?? []), m.point.value]);
    const db = await DuckDBInstance.create(duckFile, { access_mode: 'READ_ONLY' });
    const conn = await db.connect();
    let rows: { metric: string; t: number; value: number; n: number }[];
    try {
      rows = (
        await conn.runAndReadAll(`SELECT metric, epoch_ms(time)::DOUBLE AS t, any_value(value) AS value, count(*)::INTEGER AS n FROM telemetry WHERE device = '${DEVICE}' GROUP BY metric, time`)
      ).getRowObjectsJS() as typeof rows;
    } finally {
      conn.closeSync();
      db.closeSync();
    }
    expect(rows.filter((r) => r.n !== 1)).toEqual([]);
    expect(rows).toHaveLength(want.size);
    const wrong = rows.filter((r) => !(want.get(`${r.metric}@${r.t}`) ?? []).includes(r.value));
    expect(wrong).toEqual([]);
    console.log(`hostile publisher: ${N} messages, ${delivered} delivered, ${letters.length} dead letters ${JSON.stringify(count(letters.map((l) => l.reason)))}, ${rows.length} store keys; longest time with messages pending and no ack going out: ${first.longestStall} ms (at ${JSON.stringify(first.longestStallAt)})`);
  });
});
