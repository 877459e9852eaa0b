import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '@outpost/test-peers';
import { callbackDeadLetterSink, fileDeadLetterSink, type DeadLetter } from '../src/dead-letter.js';
import { PipelineError } from '../src/errors.js';
import { createPipeline } from '../src/pipeline.js';
import type { TelemetryPoint, TelemetrySink } from '../src/types.js';

const enc = new TextEncoder();
const message = (body: string, device = 'pump-1') => ({ topic: `devices/${device}/telemetry`, payload: enc.encode(body), receivedAt: Date.now() });

/** A sink whose writes resolve only when the test releases them (as a batching sink would on commit). */
function gatedSink(name: string) {
  const points: TelemetryPoint[] = [];
  const waiting: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  const sink: TelemetrySink = {
    name,
    write(p) {
      points.push(...p);
      return new Promise<void>((resolve, reject) => waiting.push({ resolve, reject }));
    },
    async flush() {},
    async close() {},
  };
  // The messages handed in during one turn reach the sinks as one write at the end of that turn:
  // release or fail what has arrived by the next turn.
  const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
  return {
    sink,
    points,
    release: () => void turn().then(() => waiting.splice(0).forEach((w) => w.resolve())),
    fail: (e: unknown) => void turn().then(() => waiting.splice(0).forEach((w) => w.reject(e))),
  };
}

const settled = async (p: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> => {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  p.then(() => (state = 'resolved'), () => (state = 'rejected'));
  await new Promise((r) => setImmediate(r));
  return state;
};

describe('createPipeline', () => {
  const dirs: { cleanup(): void }[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => d.cleanup()));

  it('acknowledges (resolves) only after every sink accepted the points', async () => {
    const lake = gatedSink('lake');
    const store = gatedSink('store');
    const letters: DeadLetter[] = [];
    const p = createPipeline({ sinks: [lake.sink, store.sink], deadLetter: callbackDeadLetterSink((l) => { letters.push(l); }) });
    const h = p.handle(message(`{"ts": ${Date.now() - 1000}, "temperature": 70, "rpm": 1500}`));
    expect(await settled(h)).toBe('pending');
    lake.release();
    expect(await settled(h)).toBe('pending'); // the store has not committed yet
    store.release();
    expect(await settled(h)).toBe('resolved');
    expect(lake.points.map((x) => x.metric)).toEqual(['temperature', 'rpm']);
    expect(store.points).toEqual(lake.points);
    expect(letters).toEqual([]);
    expect(p.stats()).toMatchObject({ messages: 1, points: 2, inFlight: 0 });
  });

  it('a sink that refuses the points for good (SINK_REJECTED) makes a SINK_REJECTED dead letter naming it; the message is acknowledged', async () => {
    const lake = gatedSink('lake');
    const store = gatedSink('influx');
    const letters: DeadLetter[] = [];
    const p = createPipeline({ sinks: [lake.sink, store.sink], deadLetter: callbackDeadLetterSink((l) => { letters.push(l); }), delivery: { log: () => {} } });
    const h = p.handle(message('{"v": 1}'));
    lake.release();
    store.fail(new PipelineError('SINK_REJECTED', 'HTTP 400: partial write: field type conflict'));
    await h;
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ reason: 'SINK_REJECTED', sink: 'influx', topic: 'devices/pump-1/telemetry' });
    expect(letters[0]?.detail).toMatch(/influx: HTTP 400: partial write/);
    expect(new TextDecoder().decode(letters[0]?.payload)).toBe('{"v": 1}');
    expect(p.stats()).toMatchObject({ received: 1, delivered: 0, rejected: 1, held: 0, deadLettered: { SINK_REJECTED: 1 } });
  });

  it('bad messages go to the dead-letter sink with their reason and never stop the pipeline', async () => {
    const lake = gatedSink('lake');
    const letters: DeadLetter[] = [];
    const p = createPipeline({ sinks: [lake.sink], deadLetter: callbackDeadLetterSink((l) => { letters.push(l); }), decode: { maxPayloadBytes: 64 } });
    await p.handle(message('{"v": '));
    await p.handle(message('{"unit": "C"}'));
    await p.handle(message(`{"v": 1, "pad": "${'x'.repeat(100)}"}`));
    const good = p.handle(message('{"v": 2}'));
    lake.release();
    await good;
    expect(letters.map((l) => l.reason)).toEqual(['DECODE_FAILED', 'SCHEMA_INVALID', 'OVERSIZED']);
    expect(lake.points.map((x) => x.value)).toEqual([2]);
    expect(p.stats().deadLettered).toEqual({ DECODE_FAILED: 1, SCHEMA_INVALID: 1, OVERSIZED: 1 });
  });

  it('if even the dead-letter sink fails, handle rejects: the message must not be acknowledged', async () => {
    const p = createPipeline({ sinks: [], deadLetter: callbackDeadLetterSink(() => { throw new Error('disk full'); }) });
    await expect(p.handle(message('garbage'))).rejects.toThrow('disk full');
  });

  it('the hot path runs before the sinks: an alert is raised while the batch is still open', async () => {
    const lake = gatedSink('lake');
    const alerts: string[] = [];
    const rules = {
      evaluate: (pt: TelemetryPoint) => (pt.value !== null && pt.value > 80 ? [`${pt.device} hot ${pt.value}`] : []),
      tick: () => [] as string[],
    };
    const p = createPipeline({ sinks: [lake.sink], deadLetter: callbackDeadLetterSink(() => {}), rules, onAlert: (a) => { alerts.push(a); } });
    const h = p.handle(message('{"temperature": 91}'));
    expect(alerts).toEqual(['pump-1 hot 91']);
    expect(await settled(h)).toBe('pending');
    lake.release();
    await h;
  });

  it('when flushAtInFlight messages wait for their batches, every sink is told to commit now', async () => {
    const lake = gatedSink('lake');
    let flushes = 0;
    const sink: TelemetrySink = { ...lake.sink, async flush() { flushes++; lake.release(); } };
    const p = createPipeline({ sinks: [sink], deadLetter: callbackDeadLetterSink(() => {}), flushAtInFlight: 3 });
    const a = p.handle(message('{"v": 1}'));
    const b = p.handle(message('{"v": 2}'));
    await new Promise((r) => setImmediate(r));
    expect(flushes).toBe(0); // two in flight: below the bound, the sink commits on its own schedule
    const c = p.handle(message('{"v": 3}'));
    await Promise.all([a, b, c]);
    expect(flushes).toBe(1);
    expect(lake.points.map((x) => x.value)).toEqual([1, 2, 3]);
  });

  it('messages handed in together reach each sink as one write; a sink refusing one point rejects only the message holding it', async () => {
    const writes: number[][] = [];
    const lakeWrites: number[][] = [];
    // Refuses any write holding the value 13, as InfluxDB refuses a batch with one bad line.
    const picky: TelemetrySink = {
      name: 'influx',
      async write(p) {
        writes.push(p.map((x) => x.value as number));
        if (p.some((x) => x.value === 13)) throw new PipelineError('SINK_REJECTED', 'HTTP 400: field type conflict');
      },
      async flush() {},
      async close() {},
    };
    const lake: TelemetrySink = { name: 'lake', async write(p) { lakeWrites.push(p.map((x) => x.value as number)); }, async flush() {}, async close() {} };
    const letters: DeadLetter[] = [];
    const p = createPipeline({ sinks: [lake, picky], deadLetter: callbackDeadLetterSink((l) => { letters.push(l); }) });
    const values = [11, 12, 13, 14];
    const outcomes = await Promise.all(values.map((v, i) => p.handle(message(`{"ts": ${Date.now() - 10_000 + i}, "v": ${v}}`)).then(() => 'acked')));
    expect(outcomes).toEqual(['acked', 'acked', 'acked', 'acked']);
    expect(lakeWrites).toEqual([[11, 12, 13, 14]]); // one write for the four messages
    expect(writes).toEqual([[11, 12, 13, 14], [11], [12], [13], [14]]); // refused: each message again on its own
    expect(letters.map((l) => [l.reason, l.sink, new TextDecoder().decode(l.payload)])).toEqual([['SINK_REJECTED', 'influx', expect.stringContaining('"v": 13')]]);
    expect(p.stats()).toMatchObject({ received: 4, delivered: 3, rejected: 1, inFlight: 0 });

    // maxWritePoints bounds a joint write; 1 is a write per message.
    const single: number[][] = [];
    const one = createPipeline({ sinks: [{ ...lake, async write(pts) { single.push(pts.map((x) => x.value as number)); } }], deadLetter: callbackDeadLetterSink(() => {}), maxWritePoints: 1 });
    await Promise.all([1, 2].map((v) => one.handle(message(`{"v": ${v}}`))));
    expect(single).toEqual([[1], [2]]);
    expect(() => createPipeline({ sinks: [], deadLetter: callbackDeadLetterSink(() => {}), maxWritePoints: 0 })).toThrow(RangeError);
  });

  it('a committed burst releases at most releasePerTurn outcomes per turn of the event loop, then the rest, in order', async () => {
    let commit: () => void = () => {};
    const committed = new Promise<void>((r) => (commit = r));
    const batchSink: TelemetrySink = { name: 'batch', write: () => committed, async flush() {}, async close() {} };
    const p = createPipeline({ sinks: [batchSink], deadLetter: callbackDeadLetterSink(() => {}), maxWritePoints: 1, releasePerTurn: 2 });
    const done: number[] = [];
    const all = [0, 1, 2, 3, 4].map((v) => p.handle(message(`{"v": ${v}}`)).then(() => void done.push(v)));
    await new Promise((r) => setImmediate(r));
    commit(); // one batch holding all five commits at once
    for (let i = 0; i < 20; i++) await Promise.resolve(); // every microtask of this turn
    expect(done).toEqual([0, 1]); // the socket gets a turn before the rest
    await Promise.all(all);
    expect(done).toEqual([0, 1, 2, 3, 4]);
    expect(() => createPipeline({ sinks: [], deadLetter: callbackDeadLetterSink(() => {}), releasePerTurn: 0 })).toThrow(RangeError);
  });

  it('maxInFlight messages in flight hold the flow until half of them are done (memory bound, not an outage)', async () => {
    const lake = gatedSink('lake');
    const p = createPipeline({ sinks: [lake.sink], deadLetter: callbackDeadLetterSink(() => {}), maxInFlight: 4 });
    const flow: boolean[] = [];
    p.onFlowChange((h) => flow.push(h));
    const first = [1, 2, 3].map((v) => p.handle(message(`{"v": ${v}}`)));
    expect(flow).toEqual([]);
    const fourth = p.handle(message('{"v": 4}'));
    expect(flow).toEqual([true]); // the consumer stops reading
    lake.release();
    await Promise.all([...first, fourth]);
    expect(flow).toEqual([true, false]);
    expect(p.stats().outage['lake']).toMatchObject({ down: false, outages: 0 });
    expect(() => createPipeline({ sinks: [], deadLetter: callbackDeadLetterSink(() => {}), maxInFlight: 0 })).toThrow(RangeError);
  });

  it('flush() commits every sink now; a failing sink makes it reject with SINK_FAILED', async () => {
    const lake = gatedSink('lake');
    const sink: TelemetrySink = { ...lake.sink, async flush() { lake.release(); } };
    const p = createPipeline({ sinks: [sink], deadLetter: callbackDeadLetterSink(() => {}) });
    const h = p.handle(message('{"v": 1}'));
    expect(await settled(h)).toBe('pending');
    await p.flush();
    expect(await settled(h)).toBe('resolved');
    const broken: TelemetrySink = { ...lake.sink, async flush() { throw new Error('disk gone'); } };
    await expect(createPipeline({ sinks: [broken], deadLetter: callbackDeadLetterSink(() => {}) }).flush()).rejects.toMatchObject({ code: 'SINK_FAILED' });
  });

  it('an onAlert that throws is counted and does not stop the message', async () => {
    const rules = { evaluate: () => ['x'], tick: () => [] as string[] };
    const p = createPipeline({ sinks: [], deadLetter: callbackDeadLetterSink(() => {}), rules, onAlert: () => { throw new Error('boom'); } });
    await p.handle(message('{"v": 1}'));
    expect(p.stats()).toMatchObject({ alerts: 1, alertErrors: 1 });
  });

  it('tick runs on its timer (heartbeat rules)', async () => {
    let ticks = 0;
    const alerts: string[] = [];
    const rules = { evaluate: () => [] as string[], tick: () => (++ticks === 2 ? ['silent'] : []) };
    const p = createPipeline({ sinks: [], deadLetter: callbackDeadLetterSink(() => {}), rules, onAlert: (a) => { alerts.push(a); }, tickMs: 5 });
    while (ticks < 3) await new Promise((r) => setTimeout(r, 5));
    await p.close();
    const after = ticks;
    await new Promise((r) => setTimeout(r, 30));
    expect(ticks).toBe(after); // the timer stopped with close()
    expect(alerts).toEqual(['silent']);
    await expect(p.handle(message('{"v":1}'))).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('the file dead-letter sink: JSON lines per day, group commit, payload in base64, CLOSED after close', async () => {
    const d = tempDir('outpost-dl-');
    dirs.push(d);
    const sink = fileDeadLetterSink({ dir: d.path });
    const day1 = Date.UTC(2026, 10, 27, 23, 59);
    const day2 = Date.UTC(2026, 10, 28, 0, 1);
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => sink.write({ topic: `devices/d${i}/telemetry`, payload: Uint8Array.of(i, 0xff), reason: 'DECODE_FAILED', detail: `n${i}`, receivedAt: i % 2 === 0 ? day1 : day2 })),
    );
    await sink.close();
    expect(readdirSync(d.path).sort()).toEqual(['date=2026-11-27', 'date=2026-11-28']);
    const lines = readdirSync(d.path).flatMap((day) => readdirSync(join(d.path, day)).flatMap((f) => readFileSync(join(d.path, day, f), 'utf8').trim().split('\n')));
    expect(lines).toHaveLength(50);
    const parsed = lines.map((l) => JSON.parse(l) as { topic: string; payload: string; reason: string; detail: string });
    const d7 = parsed.find((x) => x.detail === 'n7');
    expect(d7).toMatchObject({ topic: 'devices/d7/telemetry', reason: 'DECODE_FAILED' });
    expect([...Buffer.from(d7?.payload ?? '', 'base64')]).toEqual([7, 0xff]);
    await expect(sink.write({ topic: 't', payload: new Uint8Array(), reason: 'DECODE_FAILED', detail: '', receivedAt: 0 })).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('the file dead-letter sink rejects with LAKE_IO when it cannot write (a file where the directory should be)', async () => {
    const d = tempDir('outpost-dl-');
    dirs.push(d);
    const sink = fileDeadLetterSink({ dir: join(d.path, 'x') });
    await import('node:fs').then((fs) => fs.writeFileSync(join(d.path, 'x'), 'not a directory'));
    await expect(sink.write({ topic: 't', payload: new Uint8Array([1]), reason: 'DECODE_FAILED', detail: '', receivedAt: 0 })).rejects.toMatchObject({ code: 'LAKE_IO' });
    await sink.close();
  });

  it('wrong types', () => {
    const dl = callbackDeadLetterSink(() => {});
    expect(() => createPipeline(null as never)).toThrow(TypeError);
    expect(() => createPipeline({ sinks: 'lake' as never, deadLetter: dl })).toThrow(/sinks: expected an array, got string/);
    expect(() => createPipeline({ sinks: [{ name: 'x', write() {} } as never], deadLetter: dl })).toThrow(/sinks\[0\]\.flush: expected a function/);
    expect(() => createPipeline({ sinks: [], deadLetter: undefined as never })).toThrow(TypeError);
    expect(() => createPipeline({ sinks: [], deadLetter: dl, rules: { evaluate() {} } as never })).toThrow(/rules.tick/);
    expect(() => createPipeline({ sinks: [], deadLetter: dl, onAlert: 1 as never })).toThrow(TypeError);
    expect(() => createPipeline({ sinks: [], deadLetter: dl, tickMs: -1 })).toThrow(RangeError);
    expect(() => createPipeline({ sinks: [], deadLetter: dl, flushAtInFlight: 0 })).toThrow(RangeError);
    expect(() => callbackDeadLetterSink('x' as never)).toThrow(TypeError);
    expect(() => fileDeadLetterSink({ dir: 1 } as never)).toThrow(TypeError);
    expect(() => fileDeadLetterSink({ dir: '/tmp', fsync: 'yes' } as never)).toThrow(TypeError);
  });
});
