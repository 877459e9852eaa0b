// RuleEngine against known point sequences: each rule kind, episodes (fire once, resolve once),
// redelivery, device filters, templates, the state bound, and a seeded fuzz of the episode
// invariant over random streams.
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@outpost/test-peers';
import { RuleEngine } from '../src/rules.js';
import type { AlertEvent, Rule } from '../src/rules-types.js';
import type { TelemetryPoint } from '../src/types.js';

const p = (device: string, time: number, metric: string, value: number | null): TelemetryPoint => ({ device, time, metric, value });

/** Feeds values at 1 s spacing; returns every event. */
function run(engine: RuleEngine, device: string, metric: string, values: readonly (number | null)[], t0 = 1000): AlertEvent[] {
  return values.flatMap((v, i) => engine.evaluate(p(device, t0 + i * 1000, metric, v)));
}
const kinds = (events: readonly AlertEvent[]): string[] => events.map((e) => `${e.kind}@${e.at}`);

describe('threshold', () => {
  const hot: Rule = { id: 'hot', kind: 'threshold', metric: 'temp', above: 80, clearAt: 75, severity: 'critical' };

  it('oscillating around the trigger level fires once; falling to clearAt resolves once', () => {
    const e = new RuleEngine([hot]);
    const events = run(e, 'd', 'temp', [70, 81, 79, 82, 78, 85, 76, 80.5, 75, 74, 81]);
    expect(kinds(events)).toEqual(['fired@2000', 'resolved@9000', 'fired@11000']);
    const [fired, resolved] = events;
    expect(fired).toMatchObject({ ruleId: 'hot', device: 'd', severity: 'critical', metric: 'temp', value: 81, episodeId: 'hot/d/2000' });
    expect(resolved).toMatchObject({ value: 75, episodeId: 'hot/d/2000' });
    expect(events[2]?.episodeId).toBe('hot/d/11000');
  });

  it('without clearAt the trigger level is the clear level', () => {
    const e = new RuleEngine([{ id: 'hot', kind: 'threshold', metric: 'temp', above: 80 }]);
    expect(kinds(run(e, 'd', 'temp', [81, 80.5, 80, 81]))).toEqual(['fired@1000', 'resolved@3000', 'fired@4000']);
  });

  it('below, and a band with both limits', () => {
    const low = new RuleEngine([{ id: 'low', kind: 'threshold', metric: 'v', below: 10, clearAt: 12 }]);
    expect(kinds(run(low, 'd', 'v', [15, 9, 11, 8, 12, 9]))).toEqual(['fired@2000', 'resolved@5000', 'fired@6000']);
    const band = new RuleEngine([{ id: 'band', kind: 'threshold', metric: 'v', below: 10, above: 20 }]);
    expect(kinds(run(band, 'd', 'v', [15, 21, 5, 15, 9]))).toEqual(['fired@2000', 'resolved@4000', 'fired@5000']);
  });

  it('forCount needs consecutive beyond points; a point back in range restarts the count', () => {
    const e = new RuleEngine([{ id: 'hot', kind: 'threshold', metric: 'temp', above: 80, forCount: 3 }]);
    expect(kinds(run(e, 'd', 'temp', [81, 82, 70, 81, 82, 83, 84, 70]))).toEqual(['fired@6000', 'resolved@8000']);
  });

  it('null and non-finite values are skipped, other metrics ignored', () => {
    const e = new RuleEngine([{ id: 'hot', kind: 'threshold', metric: 'temp', above: 80, forCount: 2 }]);
    expect(kinds(run(e, 'd', 'temp', [81, null, Number.NaN, 82]))).toEqual(['fired@4000']);
    expect(e.evaluate(p('d', 9000, 'humidity', 10))).toEqual([]);
  });
});

describe('rate of change', () => {
  it('fires on a rise faster than the limit, resolves when the rate is back within it', () => {
    const e = new RuleEngine([{ id: 'rise', kind: 'rate', metric: 't', maxRisePerSecond: 2, maxFallPerSecond: 5 }]);
    // rates per second: +1, +3 (fire), +4, +1 (resolve), -6 (fire), -1 (resolve)
    const events = run(e, 'd', 't', [10, 11, 14, 18, 19, 13, 12]);
    expect(kinds(events)).toEqual(['fired@3000', 'resolved@5000', 'fired@6000', 'resolved@7000']);
    expect(events[0]?.value).toBe(3);
    expect(events[2]?.value).toBe(-6);
  });

  it('uses the event-time spacing, and ignores out-of-order older points', () => {
    const e = new RuleEngine([{ id: 'rise', kind: 'rate', metric: 't', maxRisePerSecond: 2 }]);
    expect(e.evaluate(p('d', 0, 't', 0))).toEqual([]);
    expect(e.evaluate(p('d', 10_000, 't', 15))).toEqual([]); // 1.5/s
    expect(e.evaluate(p('d', 5_000, 't', 100))).toEqual([]); // older: ignored
    const [fired] = e.evaluate(p('d', 10_500, 't', 17)); // 4/s against the 10 s point
    expect(fired?.value).toBe(4);
  });
});

describe('heartbeat', () => {
  it('N intervals of silence fire exactly once; a newer point resolves', () => {
    let now = 0;
    const e = new RuleEngine([{ id: 'silent', kind: 'heartbeat', intervalMs: 1000, missed: 3, severity: 'critical' }], { now: () => now });
    e.evaluate(p('d', 500, 'temp', 1));
    const fired: AlertEvent[] = [];
    for (now = 1000; now <= 10_000; now += 250) fired.push(...e.tick());
    expect(fired.map((x) => [x.kind, x.at, x.value])).toEqual([['fired', 3750, 3250]]);
    expect(e.evaluate(p('d', 500, 'temp', 1))).toEqual([]); // redelivered old point: still silent
    const resolved = e.evaluate(p('d', 10_100, 'humidity', null)); // any metric, even null
    expect(resolved.map((x) => [x.kind, x.episodeId])).toEqual([['resolved', 'silent/d/3750']]);
    now = 13_000;
    expect(e.tick()).toEqual([]);
    expect(e.tick(13_101).map((x) => x.kind)).toEqual(['fired']);
  });

  it('devices named in a list are watched from the start, others only once seen', () => {
    let now = 0;
    const e = new RuleEngine([{ id: 'hb', kind: 'heartbeat', intervalMs: 100, missed: 2, devices: ['gw-1', 'gw-2'] }], { now: () => now });
    e.evaluate(p('gw-2', 150, 'x', 1));
    e.evaluate(p('other', 0, 'x', 1));
    now = 201;
    expect(e.tick().map((x) => x.device)).toEqual(['gw-1']);
    now = 351;
    expect(e.tick().map((x) => x.device)).toEqual(['gw-2']);
  });
});

describe('combinations', () => {
  const rules: Rule[] = [
    { id: 'hot', kind: 'threshold', metric: 'temp', above: 80 },
    { id: 'vib', kind: 'threshold', metric: 'vibration', above: 5 },
    { id: 'both', kind: 'all', of: ['hot', 'vib'], severity: 'critical' },
    { id: 'either', kind: 'any', of: ['hot', { kind: 'threshold', metric: 'pressure', above: 9 }] },
  ];

  it('all holds while every condition is open, any while one is; inline rules raise no alerts of their own', () => {
    const e = new RuleEngine(rules);
    const ev = (t: number, metric: string, v: number): string[] => e.evaluate(p('m', t, metric, v)).map((x) => `${x.kind}:${x.ruleId}`);
    expect(ev(1, 'temp', 90)).toEqual(['fired:hot', 'fired:either']);
    expect(ev(2, 'vibration', 6)).toEqual(['fired:vib', 'fired:both']);
    expect(ev(3, 'temp', 70)).toEqual(['resolved:hot', 'resolved:both', 'resolved:either']);
    expect(ev(4, 'pressure', 10)).toEqual(['fired:either']);
    expect(ev(5, 'temp', 90)).toEqual(['fired:hot', 'fired:both']); // either stays open: no second fired
    expect(ev(6, 'pressure', 1)).toEqual([]);
    expect(ev(7, 'temp', 1)).toEqual(['resolved:hot', 'resolved:both', 'resolved:either']);
  });

  it('conditions are per device', () => {
    const e = new RuleEngine(rules);
    e.evaluate(p('a', 1, 'temp', 90));
    expect(e.evaluate(p('b', 2, 'vibration', 9)).map((x) => x.ruleId)).toEqual(['vib']);
  });

  it('a combination over a heartbeat changes at tick()', () => {
    let now = 0;
    const e = new RuleEngine(
      [
        { id: 'silent', kind: 'heartbeat', intervalMs: 10, missed: 1 },
        { id: 'hot-then-silent', kind: 'all', of: ['silent', { kind: 'threshold', metric: 'temp', above: 80 }] },
      ],
      { now: () => now },
    );
    e.evaluate(p('d', 0, 'temp', 99));
    now = 11;
    expect(e.tick().map((x) => x.ruleId)).toEqual(['silent', 'hot-then-silent']);
    expect(e.evaluate(p('d', 12, 'temp', 99)).map((x) => `${x.kind}:${x.ruleId}`)).toEqual(['resolved:silent', 'resolved:hot-then-silent']);
  });
});

describe('episodes', () => {
  it('per-device independence', () => {
    const e = new RuleEngine([{ id: 'hot', kind: 'threshold', metric: 'temp', above: 80 }]);
    expect(e.evaluate(p('a', 1, 'temp', 90)).map((x) => x.device)).toEqual(['a']);
    expect(e.evaluate(p('b', 1, 'temp', 90)).map((x) => x.device)).toEqual(['b']);
    expect(e.evaluate(p('a', 2, 'temp', 10)).map((x) => `${x.kind}:${x.device}`)).toEqual(['resolved:a']);
    expect(e.openEpisodes()).toEqual([{ ruleId: 'hot', device: 'b', episodeId: 'hot/b/1' }]);
  });

  it('a redelivered point neither fires nor resolves twice', () => {
    const e = new RuleEngine([
      { id: 'hot', kind: 'threshold', metric: 'temp', above: 80, forCount: 2 },
      { id: 'rise', kind: 'rate', metric: 'temp', maxRisePerSecond: 10 },
    ]);
    const seq = [p('d', 1000, 'temp', 50), p('d', 2000, 'temp', 90), p('d', 3000, 'temp', 91), p('d', 4000, 'temp', 20)];
    const once = seq.flatMap((x) => e.evaluate(x).map((y) => `${y.kind}:${y.ruleId}`));
    const e2 = new RuleEngine(e.rules);
    const twice = seq.flatMap((x) => [...e2.evaluate(x), ...e2.evaluate({ ...x }), ...e2.evaluate(x)].map((y) => `${y.kind}:${y.ruleId}`));
    expect(once).toEqual(['fired:rise', 'fired:hot', 'resolved:rise', 'resolved:hot']);
    expect(twice).toEqual(once);
  });

  it('devices filter: glob and list', () => {
    const e = new RuleEngine([
      { id: 'pumps', kind: 'threshold', metric: 't', above: 1, devices: 'pump-*' },
      { id: 'some', kind: 'threshold', metric: 't', above: 1, devices: ['valve-1', 'fan-?'] },
    ]);
    const fired = (d: string): string[] => e.evaluate(p(d, 1, 't', 5)).map((x) => x.ruleId);
    expect(fired('pump-7')).toEqual(['pumps']);
    expect(fired('xpump-7')).toEqual([]);
    expect(fired('valve-1')).toEqual(['some']);
    expect(fired('valve-12')).toEqual([]);
    expect(fired('fan-3')).toEqual(['some']);
    expect(fired('fan-33')).toEqual([]);
  });

  it('message template and default messages', () => {
    const e = new RuleEngine([
      { id: 'hot', kind: 'threshold', metric: 'temp', above: 80, severity: 'info', message: '[{severity}] {device} {metric}={value} {event} ({ruleId}) {unknown' },
      { id: 'plain', kind: 'threshold', metric: 'temp', above: 80 },
    ]);
    expect(e.evaluate(p('pump-1', 1, 'temp', 81.5)).map((x) => x.message)).toEqual([
      '[info] pump-1 temp=81.5 fired (hot) {unknown',
      'plain fired on pump-1 (temp = 81.5)',
    ]);
    expect(e.evaluate(p('pump-1', 2, 'temp', 3)).map((x) => x.message)[0]).toBe('[info] pump-1 temp=3 resolved (hot) {unknown');
  });

  it('state is bounded: silent devices are dropped, open episodes resolved as expired', () => {
    let now = 0;
    const e = new RuleEngine([{ id: 'hot', kind: 'threshold', metric: 't', above: 1 }], { now: () => now, forgetAfterMs: 60_000 });
    for (let i = 0; i < 1000; i++) e.evaluate(p(`d${i}`, i, 't', i % 2 === 0 ? 5 : 0));
    expect(e.deviceCount).toBe(1000);
    now = 60_500;
    const expired = e.tick();
    expect(e.deviceCount).toBe(500); // d0..d499 silent for more than 60 s, d500..d999 kept
    expect(expired.length).toBe(250);
    expect(expired.every((x) => x.kind === 'resolved' && x.expired === true)).toBe(true);
    now = 70_000;
    e.tick();
    expect(e.deviceCount).toBe(0);
    // a forgotten device starts afresh
    expect(e.evaluate(p('d0', 80_000, 't', 5)).map((x) => x.kind)).toEqual(['fired']);
  });

  it('a silent device with an open heartbeat episode is resolved as expired when dropped; listed devices are kept', () => {
    let now = 0;
    const e = new RuleEngine(
      [
        { id: 'hb', kind: 'heartbeat', intervalMs: 1000, missed: 1 },
        { id: 'gw', kind: 'heartbeat', intervalMs: 1000, missed: 1, devices: ['gw-1'] },
      ],
      { now: () => now, forgetAfterMs: 10_000 },
    );
    e.evaluate(p('d', 0, 'x', 1));
    now = 1001;
    expect(e.tick().map((x) => `${x.kind}:${x.ruleId}:${x.device}`)).toEqual(['fired:gw:gw-1', 'fired:hb:d']);
    now = 10_001;
    const expired = e.tick();
    expect(expired.map((x) => `${x.kind}:${x.ruleId}:${x.device}:${String(x.expired)}`)).toEqual(['resolved:hb:d:true']);
    expect(e.deviceCount).toBe(1);
    expect(e.openEpisodes()).toEqual([{ ruleId: 'gw', device: 'gw-1', episodeId: 'gw/gw-1/1001' }]);
  });

  it('episode ids stay unique when events share a time', () => {
    let now = 100;
    const e = new RuleEngine([{ id: 'hb', kind: 'heartbeat', intervalMs: 10, missed: 1 }], { now: () => now });
    e.evaluate(p('d', 100, 'x', 1));
    now = 50; // clock stepped back
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(...e.tick(200).map((x) => x.episodeId));
      e.evaluate(p('d', 101 + i, 'x', 1));
    }
    expect(new Set(ids).size).toBe(3);
  });
});

describe('fuzz: the episode invariant over random streams', () => {
  const rules: Rule[] = [
    { id: 'hi', kind: 'threshold', metric: 'a', above: 60, clearAt: 50, forCount: 2 },
    { id: 'lo', kind: 'threshold', metric: 'a', below: 20 },
    { id: 'band', kind: 'threshold', metric: 'b', below: 30, above: 70 },
    { id: 'rate', kind: 'rate', metric: 'b', maxRisePerSecond: 20, maxFallPerSecond: 20, forCount: 2 },
    { id: 'hb', kind: 'heartbeat', intervalMs: 1000, missed: 2 },
    { id: 'all', kind: 'all', of: ['hi', 'rate'] },
    { id: 'any', kind: 'any', of: ['lo', 'hb', { kind: 'threshold', metric: 'c', above: 0.5 }] },
    { id: 'nested', kind: 'all', of: ['any', { kind: 'any', of: ['band', 'hi'] }], devices: ['dev-1', 'dev-2*', 'dev-3'] },
  ];
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`seed ${seed}`, () => {
      const rnd = mulberry32(seed);
      let now = 0;
      const e = new RuleEngine(rules, { now: () => now, forgetAfterMs: 20_000 });
      const open = new Map<string, string>();
      let fired = 0;
      let resolved = 0;
      const check = (events: readonly AlertEvent[]): void => {
        for (const ev of events) {
          const key = `${ev.ruleId}|${ev.device}`;
          if (ev.kind === 'fired') {
            expect(open.has(key), `${key} fired twice`).toBe(false);
            open.set(key, ev.episodeId);
            fired++;
          } else {
            expect(open.get(key), `${key} resolved without fired`).toBe(ev.episodeId);
            open.delete(key);
            resolved++;
          }
        }
      };
      const recent: TelemetryPoint[] = [];
      for (let i = 0; i < 20_000; i++) {
        now += Math.floor(rnd() * 50);
        const r = rnd();
        if (r < 0.02) check(e.tick());
        else if (r < 0.1 && recent.length > 0) check(e.evaluate(recent[Math.floor(rnd() * recent.length)] as TelemetryPoint)); // redelivery
        else {
          const device = `dev-${Math.floor(rnd() * 8)}`;
          const metric = ['a', 'b', 'c'][Math.floor(rnd() * 3)] as string;
          const jitter = Math.floor(rnd() * 400) - 100; // some points arrive out of order
          const pt = p(device, now + jitter, metric, rnd() < 0.05 ? null : Math.round(rnd() * 100));
          recent.push(pt);
          if (recent.length > 50) recent.shift();
          check(e.evaluate(pt));
        }
        if (i % 5000 === 4999) now += 30_000; // long silences: heartbeats and expiry
      }
      expect(fired).toBeGreaterThan(100);
      expect(resolved).toBeGreaterThan(50);
      expect(new Set(e.openEpisodes().map((x) => `${x.ruleId}|${x.device}`))).toEqual(new Set(open.keys()));
    });
  }
});
