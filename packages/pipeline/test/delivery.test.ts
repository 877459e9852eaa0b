// The delivery module's three outcomes, on an injected manual clock: delivered, rejected (dead
// letter with a reason, acknowledged), errored (held and retried, never a dead letter unless
// deadLetterAfterMs says so), with backpressure to the consumer, events, stats and log lines.
// The sinks are in-memory stand-ins whose failures the test switches on and off (the real
// PostgreSQL outage is pipeline-outage.slow.test.ts).
import { describe, expect, it } from 'vitest';
import { callbackDeadLetterSink, type DeadLetter } from '../src/dead-letter.js';
import { Delivery, type DeliveryEvent } from '../src/delivery.js';
import { PipelineError } from '../src/errors.js';
import { createPipeline } from '../src/pipeline.js';
import type { TelemetryPoint, TelemetrySink } from '../src/types.js';
import { manualClock, settle } from './fixtures/manual-clock.js';

const enc = new TextEncoder();
const message = (body: string) => ({ topic: 'devices/pump-1/telemetry', payload: enc.encode(body), receivedAt: 1_000_000 });

/** A sink that is up (resolves at once), down (rejects with DB_FAILED) or hung (never settles until released). */
function switchableSink(name: string) {
  const stored: TelemetryPoint[] = [];
  let mode: 'up' | 'down' | 'hung' = 'up';
  let writes = 0;
  const hung: (() => void)[] = [];
  const sink: TelemetrySink = {
    name,
    write(points) {
      writes++;
      if (mode === 'down') return Promise.reject(new PipelineError('DB_FAILED', 'connect ECONNREFUSED 127.0.0.1:5432'));
      if (mode === 'hung') return new Promise<void>((r) => hung.push(() => { stored.push(...points); r(); }));
      stored.push(...points);
      return Promise.resolve();
    },
    async flush() {},
    async close() {},
  };
  return {
    sink,
    stored,
    set: (m: typeof mode) => { mode = m; },
    writes: () => writes,
    answer: () => hung.splice(0).forEach((f) => f()),
  };
}

function setup(delivery: Record<string, unknown> = {}) {
  const clock = manualClock();
  const lake = switchableSink('lake');
  const pg = switchableSink('postgres');
  const letters: DeadLetter[] = [];
  const events: DeliveryEvent[] = [];
  const lines: string[] = [];
  const flow: boolean[] = [];
  const p = createPipeline({
    sinks: [lake.sink, pg.sink],
    deadLetter: callbackDeadLetterSink((l) => { letters.push(l); }),
    clock,
    delivery: { retryDelayMs: 100, maxRetryDelayMs: 400, onEvent: (e) => { events.push(e); }, log: (l) => { lines.push(l); }, ...delivery },
  });
  p.onFlowChange((held) => flow.push(held));
  return { clock, lake, pg, letters, events, lines, flow, p };
}

const state = (p: Promise<unknown>) => {
  const s = { v: 'pending' as 'pending' | 'resolved' | 'rejected' };
  p.then(() => (s.v = 'resolved'), () => (s.v = 'rejected'));
  return s;
};

describe('delivery: three outcomes per message', () => {
  it('a store outage holds the stream: no dead letter, one retry at a time with a doubling delay, every message delivered once the store is back', async () => {
    const { clock, lake, pg, letters, events, lines, flow, p } = setup();
    pg.set('down');
    const handled = [1, 2, 3].map((v) => state(p.handle(message(`{"ts": 999000, "v": ${v}}`))));
    await settle();
    expect(letters).toEqual([]); // today's code dead-lettered all three here (SINK_FAILED) and acknowledged them
    expect(handled.map((h) => h.v)).toEqual(['pending', 'pending', 'pending']);
    expect(p.stats()).toMatchObject({ received: 3, delivered: 0, rejected: 0, held: 3 });
    expect(p.stats().outage['postgres']).toMatchObject({ down: true, held: 3 });
    expect(flow).toEqual([true]); // the consumer is told to stop taking messages
    expect(events).toMatchObject([{ type: 'sink-down', sink: 'postgres', stalled: false, error: expect.stringMatching(/ECONNREFUSED/) }]);
    expect(lines[0]).toMatch(/sink postgres is down .*ECONNREFUSED.*pausing intake/);

    // Retries at +100, +200, +400, +400 (capped): one write each, not one per held message.
    const before = pg.writes();
    await clock.advance(100 + 200 + 400 + 400);
    expect(pg.writes() - before).toBe(4);
    expect(p.stats().outage['postgres']).toMatchObject({ down: true, outageMs: 1_100, retries: 4 });
    expect(letters).toEqual([]);

    pg.set('up');
    await clock.advance(400);
    expect(handled.map((h) => h.v)).toEqual(['resolved', 'resolved', 'resolved']);
    expect(pg.stored.map((x) => x.value)).toEqual([1, 2, 3]);
    expect(lake.stored.map((x) => x.value)).toEqual([1, 2, 3]); // the lake wrote them once, at once
    expect(letters).toEqual([]);
    expect(p.stats()).toMatchObject({ received: 3, delivered: 3, rejected: 0, held: 0 });
    expect(p.stats().outage['postgres']).toMatchObject({ down: false, outages: 1, outageMs: 0 });
    expect(flow).toEqual([true, false]); // and to take them again
    expect(events[1]).toEqual({ type: 'sink-up', sink: 'postgres', at: 1_001_500, outageMs: 1_500, retries: 5 });
    expect(lines[1]).toMatch(/sink postgres is back after an outage of 1\.5 s \(5 retries\); resuming intake/);
  });

  it('deadLetterAfterMs (explicit): after that long down, held messages and those that follow are dead-lettered SINK_FAILED naming the sink, and intake resumes', async () => {
    const { clock, pg, letters, events, flow, p } = setup({ deadLetterAfterMs: 1_000 });
    pg.set('down');
    const first = state(p.handle(message('{"ts": 999000, "v": 1}')));
    await clock.advance(900);
    expect(first.v).toBe('pending');
    expect(letters).toEqual([]);
    await clock.advance(400);
    expect(first.v).toBe('resolved');
    expect(letters).toMatchObject([{ reason: 'SINK_FAILED', sink: 'postgres', detail: expect.stringMatching(/postgres: down for \d+ ms/) }]);
    expect(events.map((e) => e.type)).toEqual(['sink-down', 'gave-up']);
    expect(flow).toEqual([true, false]);
    const later = p.handle(message('{"ts": 999000, "v": 2}'));
    await later; // still down: dead-lettered without waiting
    expect(letters).toHaveLength(2);
    pg.set('up');
    await clock.advance(400);
    expect(p.stats().outage['postgres']).toMatchObject({ down: false, gaveUp: 2 });
    await p.handle(message('{"ts": 999000, "v": 3}'));
    expect(pg.stored.map((x) => x.value)).toContain(3);
    expect(p.stats()).toMatchObject({ received: 3, delivered: 1, rejected: 2 });
  });

  it('a store that stops answering (no error, no reply) is stalled after stallAfterMs: intake pauses, and resumes when it answers', async () => {
    const { clock, pg, letters, events, flow, p } = setup({ stallAfterMs: 1_000 });
    pg.set('hung');
    const h = state(p.handle(message('{"ts": 999000, "v": 1}')));
    await clock.advance(600);
    expect(flow).toEqual([]);
    await clock.advance(600);
    expect(flow).toEqual([true]);
    expect(events).toMatchObject([{ type: 'sink-down', sink: 'postgres', stalled: true }]);
    expect(p.stats().outage['postgres']).toMatchObject({ stalled: true, down: false });
    pg.answer();
    await settle();
    expect(h.v).toBe('resolved');
    expect(flow).toEqual([true, false]);
    expect(events[1]).toMatchObject({ type: 'sink-up', sink: 'postgres', outageMs: 200 }); // stalled at +1 000 (no answer for stallAfterMs), answered at +1 200
    expect(letters).toEqual([]);
  });

  it('any exception while decoding device data is a rejection with a reason, never a stall (hostile toString, 3,000 nested arrays)', async () => {
    const { letters, p } = setup();
    await p.handle(message('{"device":{"toString":1},"t":1}')); // today: a TypeError escaped handle, no PUBACK
    await p.handle(message(`{"v":1,"x":${'['.repeat(3000)}${']'.repeat(3000)}}`));
    expect(letters).toHaveLength(2);
    for (const l of letters) expect(l.detail.length).toBeGreaterThan(0);
    expect(p.stats()).toMatchObject({ received: 2, rejected: 2, delivered: 0, failed: 0 });
  });

  it('closing while messages are held rejects them with CLOSED (not acknowledged, redelivered by the broker); no dead letter', async () => {
    const { pg, letters, p } = setup();
    pg.set('down');
    const h = p.handle(message('{"ts": 999000, "v": 1}'));
    await settle();
    await p.close();
    await expect(h).rejects.toMatchObject({ code: 'CLOSED' });
    expect(letters).toEqual([]);
    expect(p.stats()).toMatchObject({ received: 1, delivered: 0, rejected: 0, failed: 1 });
  });

  it('Delivery: a refusal met while probing rejects that write only; the others wait for the sink', async () => {
    const clock = manualClock();
    let mode: 'down' | 'refuse' | 'up' = 'down';
    const seen: number[] = [];
    const sink: TelemetrySink = {
      name: 'influx',
      async write(points) {
        const v = points[0]?.value as number;
        if (mode === 'down') throw new Error('HTTP 503');
        if (mode === 'refuse' && v === 1) throw new PipelineError('SINK_REJECTED', 'HTTP 400');
        seen.push(v);
      },
      async flush() {},
      async close() {},
    };
    const d = new Delivery([sink], { clock, retryDelayMs: 10, log: () => {} });
    const pt = (v: number): TelemetryPoint[] => [{ device: 'd', time: 0, metric: 'm', value: v }];
    const a = d.write(pt(1));
    const b = d.write(pt(2));
    await settle();
    expect(d.stats().held).toBe(2);
    mode = 'refuse';
    await clock.advance(10);
    expect(await a).toEqual({ sink: 'influx', reason: 'SINK_REJECTED', detail: 'influx: HTTP 400' });
    expect(d.held).toBe(true); // the refusal proves nothing about the outage
    await clock.advance(20);
    expect(await b).toBeUndefined();
    expect(seen).toEqual([2]);
    expect(d.held).toBe(false);
    d.close();
  });

  it('wrong types', () => {
    expect(() => new Delivery([], { retryDelayMs: 0 })).toThrow(RangeError);
    expect(() => new Delivery([], { retryDelayMs: 100, maxRetryDelayMs: 50 })).toThrow(RangeError);
    expect(() => new Delivery([], { clock: {} as never })).toThrow(TypeError);
    expect(() => new Delivery([], { onEvent: 1 as never })).toThrow(TypeError);
    expect(() => new Delivery([], { deadLetterAfterMs: -1 })).toThrow(RangeError);
    expect(() => new Delivery([], null as never)).toThrow(TypeError);
    expect(() => createPipeline({ sinks: [], deadLetter: callbackDeadLetterSink(() => {}), clock: { now: () => 0 } as never })).toThrow(TypeError);
  });
});
