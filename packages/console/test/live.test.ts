// LiveState without I/O: coalescing into frames, resume from an event id, silent devices,
// the alert feed, and memory bounded by the options under 1,000 devices × 10 msg/s.
import { describe, expect, it } from 'vitest';
import type { AlertEvent } from '@outpost/pipeline';
import { LiveState } from '../src/index.js';

const point = (device: string, time: number, value: number, metric = 'temperature') => ({ device, time, metric, value });
const parse = (data: string) => JSON.parse(data) as { id: number; points: Record<string, Record<string, [number[], (number | null)[]]>>; alerts: AlertEvent[]; states: Record<string, string> };
const alert = (kind: 'fired' | 'resolved', device: string): AlertEvent => ({ kind, ruleId: 'overheat', device, severity: 'critical', at: 1, metric: 'temperature', value: 91, episodeId: `overheat/${device}/1`, message: 'hot' });

describe('LiveState', () => {
  it('coalesces every point of a device in one frame into one update, in arrival order', () => {
    const live = new LiveState();
    for (let i = 0; i < 10; i++) live.telemetry([point('a', i, i), point('b', i, -i)], 1_000);
    const f = parse(live.frame(1_000)?.data ?? '');
    expect(f.id).toBe(1);
    expect(f.points['a']?.['temperature']).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
    expect(Object.keys(f.points)).toEqual(['a', 'b']);
    expect(f.states).toEqual({ a: 'live', b: 'live' });
    expect(live.frame(1_050)).toBeUndefined();
  });

  it('a viewer resumes from its last id with exactly the frames after it; too old → undefined (snapshot)', () => {
    const live = new LiveState({ replayFrames: 3 });
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      live.telemetry([point('a', i, i)], i);
      ids.push(live.frame(i)?.id ?? -1);
    }
    expect(ids).toEqual([1, 2, 3, 4, 5]);
    expect(live.since(3)?.map((f) => f.id)).toEqual([4, 5]);
    expect(live.since(2)?.map((f) => f.id)).toEqual([3, 4, 5]);
    expect(live.since(5)).toEqual([]);
    expect(live.since(1)).toBeUndefined();
    expect(live.since(9)).toBeUndefined();
    expect(live.snapshot(10).id).toBe(5);
  });

  it('a device without points for silentAfterMs turns silent once, and live again on its next point', () => {
    const live = new LiveState({ silentAfterMs: 5_000 });
    live.telemetry([point('a', 1, 1)], 0);
    live.frame(0);
    expect(live.frame(4_999)).toBeUndefined();
    expect(parse(live.frame(5_000)?.data ?? '').states).toEqual({ a: 'silent' });
    expect(live.frame(9_000)).toBeUndefined();
    live.telemetry([point('a', 2, 2)], 9_000);
    expect(parse(live.frame(9_000)?.data ?? '').states).toEqual({ a: 'live' });
  });

  it('alerts: the feed keeps maxAlerts, open episodes close on resolved', () => {
    const live = new LiveState({ maxAlerts: 3 });
    for (const d of ['a', 'b', 'c', 'd']) live.alert(alert('fired', d));
    live.alert(alert('resolved', 'b'));
    expect(live.snapshot(0).alerts.map((a) => `${a.kind} ${a.device}`)).toEqual(['fired c', 'fired d', 'resolved b']);
    expect(live.snapshot(0).active.map((a) => a.device)).toEqual(['a', 'c', 'd']);
    expect(parse(live.frame(0)?.data ?? '').alerts.length).toBe(3);
  });

  it('memory stays bounded: 1,000 devices × 10 msg/s for 40 s retain at most devices × pointsPerSeries points', () => {
    const live = new LiveState({ pointsPerSeries: 200, replayFrames: 100, maxDevices: 1_000 });
    let t = 0;
    for (let frame = 0; frame < 400; frame++) {
      // 100 ms of traffic: each of 1,000 devices sends one message.
      for (let d = 0; d < 1_000; d++) live.telemetry([point(`dev-${d}`, t + d, d)], t);
      t += 100;
      live.frame(t);
    }
    // 10 devices more than maxDevices and a 17th metric are dropped, not kept.
    for (let d = 0; d < 10; d++) live.telemetry([point(`extra-${d}`, t, 1)], t);
    for (let m = 0; m < 17; m++) live.telemetry([point('dev-0', t, 1, `m${m}`)], t);
    const s = live.stats();
    expect(s.points).toBe(400_000 + 10 + 17);
    expect(s.devices).toBe(1_000);
    expect(s.retainedPoints).toBe(1_000 * 200 + 15);
    expect(s.replayFrames).toBe(100);
    expect(s.droppedPoints).toBe(10 + 2); // dev-0 had `temperature` + 15 more: m15 and m16 dropped
    live.frame(t);
    expect(live.stats().pendingPoints).toBe(0);
  });

  it('more points of one series in one frame than a ring holds: the oldest pending are dropped and counted', () => {
    const live = new LiveState({ pointsPerSeries: 4 });
    live.telemetry([1, 2, 3, 4, 5, 6].map((i) => point('a', i, i)), 0);
    expect(parse(live.frame(0)?.data ?? '').points['a']?.['temperature']?.[1]).toEqual([3, 4, 5, 6]);
    expect(live.stats().droppedPoints).toBe(2);
  });

  it('wrong option types and values are TypeError / RangeError', () => {
    expect(() => new LiveState({ pointsPerSeries: '5' as never })).toThrow(TypeError);
    expect(() => new LiveState({ pointsPerSeries: 0 })).toThrow(RangeError);
    expect(() => new LiveState({ silentAfterMs: 1.5 })).toThrow(RangeError);
    expect(() => new LiveState(null as never)).toThrow(TypeError);
  });
});
