import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CountWindow, EdgeAggregateError, TimeWindow, countWindows, interleavedFeatures, timeFeatures, timeWindows,
  type TimeWindowEvent,
} from '../src/index.js';
import { sine } from './signals.js';

const ramp = (n: number, from = 0) => Float32Array.from({ length: n }, (_, i) => from + i);

/** Split `x` into chunks of whole frames at the given cut points. */
function chunks(x: Float32Array, cuts: number[], channels = 1): Float32Array[] {
  const frames = x.length / channels;
  const pts = [...new Set(cuts.map((c) => c % (frames + 1)))].sort((a, b) => a - b);
  const out: Float32Array[] = [];
  let prev = 0;
  for (const p of [...pts, frames]) {
    out.push(x.subarray(prev * channels, p * channels));
    prev = p;
  }
  return out;
}

describe('CountWindow', () => {
  it('tumbling windows see consecutive, non-overlapping frames', () => {
    const got: number[][] = [];
    const w = new CountWindow({ size: 3 }, (e) => { got.push([e.index, e.start, ...e.samples]); });
    w.push(ramp(5));
    w.push(ramp(5, 5));
    expect(got).toEqual([[0, 0, 0, 1, 2], [1, 3, 3, 4, 5], [2, 6, 6, 7, 8]]);
    expect(w.flush()).toBe(1);
    expect(() => w.push(ramp(1))).toThrow(EdgeAggregateError);
  });

  it('hopping windows overlap by size - hop; hop > size skips frames', () => {
    const hop: number[][] = [];
    new CountWindow({ size: 4, hop: 2 }, (e) => { hop.push([...e.samples]); }).push(ramp(8));
    expect(hop).toEqual([[0, 1, 2, 3], [2, 3, 4, 5], [4, 5, 6, 7]]);
    const skip: number[][] = [];
    new CountWindow({ size: 2, hop: 5 }, (e) => { skip.push([e.start, ...e.samples]); }).push(ramp(13));
    expect(skip).toEqual([[0, 0, 1], [5, 5, 6], [10, 10, 11]]);
  });

  it('interleaved channels: windows are whole frames; partial frames are rejected', () => {
    const got: number[][] = [];
    const w = new CountWindow({ size: 2, channels: 3 }, (e) => { got.push([...e.samples]); });
    w.push(ramp(9));
    expect(got).toEqual([[0, 1, 2, 3, 4, 5]]);
    expect(() => w.push(ramp(2))).toThrow(RangeError);
    expect(() => new CountWindow({ size: 0 }, () => {})).toThrow(RangeError);
    expect(() => new CountWindow({ size: 2, hop: 1.5 }, () => {})).toThrow(RangeError);
  });

  it('the windows do not depend on how the stream is chunked (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 3 }),
        fc.array(fc.nat(60), { maxLength: 8 }),
        (size, hop, channels, cuts) => {
          const x = ramp(60 * channels);
          const run = (parts: Float32Array[]) => {
            const out: number[][] = [];
            const w = new CountWindow({ size, hop, channels }, (e) => { out.push([e.start, ...e.samples]); });
            for (const p of parts) w.push(p);
            return out;
          };
          const whole = run([x]);
          expect(run(chunks(x, cuts, channels))).toEqual(whole);
          expect(whole.length).toBe(Math.max(0, Math.floor((60 - size) / hop) + 1));
        },
      ),
      { numRuns: 200, seed: 3 },
    );
  });
});

describe('TimeWindow', () => {
  const collect = (opts: ConstructorParameters<typeof TimeWindow>[0]) => {
    const out: TimeWindowEvent[] = [];
    return { out, w: new TimeWindow(opts, (e) => { out.push(e); }) };
  };

  it('tumbling windows close when the watermark passes their end', () => {
    const { out, w } = collect({ size: 100, clock: () => 0 });
    w.push(ramp(250), 0, 1); // t = 0 … 249
    expect(out.map((e) => [e.start, e.end, e.count, e.features[0]?.mean])).toEqual([[0, 100, 100, 49.5], [100, 200, 100, 149.5]]);
    w.flush();
    expect(out.map((e) => e.count)).toEqual([100, 100, 50]);
    expect(() => w.push(ramp(1), 300, 1)).toThrow(EdgeAggregateError);
  });

  it('drop policy (lateness 0): a sample for an emitted window is dropped and counted', () => {
    const { out, w } = collect({ size: 10, clock: () => 0 });
    w.push(ramp(15), 0, 1); // closes [0, 10)
    w.push(new Float32Array([100, 200]), 9, 1); // t = 9 late, t = 10 on time
    w.flush();
    expect(w.dropped).toBe(1);
    expect(out.map((e) => e.features[0]?.max)).toEqual([9, 200]);
  });

  it('allowed lateness: out-of-order samples within the bound are included', () => {
    const { out, w } = collect({ size: 10, allowedLateness: 5, clock: () => 0 });
    w.push(ramp(13), 0, 1); // watermark 7: nothing closed
    expect(out).toEqual([]);
    w.push(new Float32Array([100]), 9.5, 1); // late but allowed
    w.push(new Float32Array([0]), 16, 1); // watermark 11: closes [0, 10)
    expect(out.map((e) => [e.count, e.features[0]?.max])).toEqual([[11, 100]]);
    expect(w.dropped).toBe(0);
  });

  it('hopping windows over time: each frame lands in size/hop windows', () => {
    const { out, w } = collect({ size: 4, hop: 2, clock: () => 0 });
    w.push(ramp(8), 0, 1);
    w.flush();
    expect(out.map((e) => [e.start, e.count])).toEqual([[-2, 2], [0, 4], [2, 4], [4, 4], [6, 2]]);
    expect(out.reduce((s, e) => s + e.count, 0)).toBe(16);
  });

  it('the injected clock closes windows of an idle stream at tick()', () => {
    let now = 1_000;
    const { out, w } = collect({ size: 1000, allowedLateness: 200, clock: () => now });
    w.push(new Float32Array([1, 2]), 1_100, 10);
    w.tick();
    expect(out).toEqual([]);
    now = 2_150; // watermark 1950 < 2000
    w.tick();
    expect(out).toEqual([]);
    now = 2_200;
    w.tick();
    expect(out.map((e) => [e.start, e.count])).toEqual([[1000, 2]]);
    w.push(new Float32Array([3]), 1_900, 1); // the clock moved the watermark: now late
    expect(w.dropped).toBe(1);
  });

  it('multi-channel frames: features per axis', () => {
    const { out, w } = collect({ size: 1000, channels: 3, clock: () => 0 });
    const n = 2000;
    const xyz = new Float32Array(3 * n);
    const s = sine(n, 2, 50, 1000);
    for (let i = 0; i < n; i++) {
      xyz[3 * i] = s[i] as number;
      xyz[3 * i + 1] = -1;
      xyz[3 * i + 2] = i;
    }
    w.push(xyz, 0, 1);
    w.flush();
    expect(out).toHaveLength(2);
    expect(out[0]?.features[0]?.rms).toBeCloseTo(Math.SQRT2, 5);
    expect(out[1]?.features[1]?.mean).toBe(-1);
    expect(out[1]?.features[2]?.min).toBe(1000);
  });

  it('results do not depend on chunking, and per-window features equal timeFeatures of the slice (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(200), { maxLength: 6 }), fc.constantFrom(0.5, 1, 0.25), (cuts, dt) => {
        const x = sine(200, 1, 3, 50).map((v, i) => v + i * 0.01);
        const run = (parts: Float32Array[]) => {
          const out: [number, number, number][] = [];
          const w = new TimeWindow({ size: 10, clock: () => 0 }, (e) => { out.push([e.start, e.count, e.features[0]?.mean ?? NaN]); });
          let t = 0;
          for (const p of parts) {
            w.push(p, t, dt);
            t += p.length * dt;
          }
          w.flush();
          return out;
        };
        const whole = run([x]);
        const split = run(chunks(x, cuts));
        expect(split.map(([s, c]) => [s, c])).toEqual(whole.map(([s, c]) => [s, c]));
        split.forEach(([, , m], i) => expect(m).toBeCloseTo(whole[i]?.[2] ?? NaN, 9));
        const per = 10 / dt;
        whole.forEach(([, c, m], i) => {
          expect(c).toBe(per);
          expect(m).toBeCloseTo(timeFeatures(x.subarray(i * per, (i + 1) * per)).mean, 9);
        });
      }),
      { numRuns: 100, seed: 5 },
    );
  });

  it('a failing callback does not lose later windows; several failures are reported together', () => {
    let calls = 0;
    const w = new TimeWindow({ size: 1, clock: () => 0 }, () => { calls++; throw new Error(`sink ${calls}`); });
    expect(() => w.push(ramp(4), 0, 1)).toThrow(AggregateError);
    expect(calls).toBe(3);
    expect(() => w.push(ramp(1), 4, 1)).toThrow('sink 4');
  });

  it('rejects bad options and arguments', () => {
    expect(() => new TimeWindow({ size: 10, hop: 11 }, () => {})).toThrow(RangeError);
    expect(() => new TimeWindow({ size: -1 }, () => {})).toThrow(RangeError);
    expect(() => new TimeWindow({ size: 1, allowedLateness: -1 }, () => {})).toThrow(RangeError);
    const w = new TimeWindow({ size: 1, clock: () => 0 }, () => {});
    expect(() => w.push(ramp(1), 0, 0)).toThrow(RangeError);
    expect(() => w.push(ramp(1), Infinity, 1)).toThrow(RangeError);
  });
});

describe('composition: source → window → features → sink', () => {
  it('3-axis stream to one record per window per axis', () => {
    const fs = 1000;
    const records: { window: number; axis: number; rms: number }[] = [];
    const w = countWindows({ size: fs, channels: 3 })
      .map((e) => ({ window: e.index, axes: interleavedFeatures(e.samples, e.channels) }))
      .to(({ window, axes }) => axes.forEach((f, axis) => records.push({ window, axis, rms: f.rms })));
    const x = sine(3 * fs, 1, 50, fs);
    const xyz = new Float32Array(9 * fs);
    for (let i = 0; i < 3 * fs; i++) {
      xyz[3 * i] = x[i] as number;
      xyz[3 * i + 1] = 2 * (x[i] as number);
      xyz[3 * i + 2] = 3 * (x[i] as number);
    }
    for (let i = 0; i < xyz.length; i += 3 * 128) w.push(xyz.subarray(i, Math.min(xyz.length, i + 3 * 128)));
    expect(records).toHaveLength(9);
    for (const r of records) expect(r.rms).toBeCloseTo((r.axis + 1) * Math.SQRT1_2, 5);
  });

  it('time windows compose the same way, and bad stages are rejected early', () => {
    const out: number[] = [];
    const w = timeWindows({ size: 5, clock: () => 0 }).map((e) => e.count).filter((c) => c > 2).to((c) => out.push(c));
    w.push(ramp(12), 0, 1);
    w.flush();
    expect(out).toEqual([5, 5]);
    expect(() => countWindows({ size: 0 })).toThrow(RangeError);
    expect(() => countWindows({ size: 1 }).map(1 as never)).toThrow(TypeError);
    expect(() => countWindows({ size: 1 }).to(null as never)).toThrow(TypeError);
  });
});
