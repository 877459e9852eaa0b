// The seal (issue #15): a clean close writes a checkpoint listing every complete segment; the next
// open trusts each listed segment whose size and header still match and CRC-scans only the rest.
// Measured here by the bytes `openBuffer` reads, not by time.
import { describe, expect, it } from 'vitest';
import { inspectBuffer, openBuffer, type BufferEvent, type FileSystem } from '../src/index.js';
import { SimFS } from './helpers/sim-fs.js';

const DIR = '/sealed';
// Without segment preparation: these count the bytes an open reads (prealloc.test.ts covers the seal with it).
const OPTS = { dir: DIR, maxBytes: 1 << 20, segmentBytes: 1024, preallocate: false } as const;
const p = (seq: number): Uint8Array => new Uint8Array(100).fill(seq & 0xff);

/** A view of `fs` that counts the bytes read from segment files. */
function counting(fs: SimFS): { fs: FileSystem; segBytes: () => number } {
  let n = 0;
  const wrapped: FileSystem = {
    mkdir: (d) => fs.mkdir(d),
    readdir: (d) => fs.readdir(d),
    rename: (a, b) => fs.rename(a, b),
    unlink: (a) => fs.unlink(a),
    syncDir: (d) => fs.syncDir(d),
    open: async (path, mode) => {
      const f = await fs.open(path, mode);
      return {
        ...f,
        read: async (into, pos) => {
          const got = await f.read(into, pos);
          if (path.endsWith('.seg')) n += got;
          return got;
        },
      };
    },
  };
  return { fs: wrapped, segBytes: () => n };
}

const segSizes = (fs: SimFS): number[] => [...fs.entries.keys()].filter((k) => k.endsWith('.seg')).sort().map((k) => fs.bytes(k)!.length);

async function readAll(fs: FileSystem): Promise<number[]> {
  const buf = await openBuffer({ ...OPTS, fs });
  const seqs: number[] = [];
  for (let r = await buf.tryRead(); r !== undefined; r = await buf.tryRead()) {
    expect(r.payload).toEqual(p(r.seq));
    seqs.push(r.seq);
  }
  await buf.close();
  return seqs;
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('seal', () => {
  it('after a clean close, open reads only each segment header (24 bytes), not its records', async () => {
    const sim = new SimFS();
    const buf = await openBuffer({ ...OPTS, fs: sim });
    for (let s = 1; s <= 60; s++) await buf.append(p(s));
    await buf.close();
    const sizes = segSizes(sim);
    expect(sizes.length).toBeGreaterThanOrEqual(6);
    const c = counting(sim);
    const again = await openBuffer({ ...OPTS, fs: c.fs });
    expect(c.segBytes()).toBe(24 * sizes.length);
    expect(again.stats().nextSeq).toBe(61);
    await again.close();
    expect(await readAll(sim)).toEqual(range(1, 60));
  });

  it('after a crash, only the segments written since the last checkpoint (here: the tail) are scanned', async () => {
    const sim = new SimFS();
    const buf = await openBuffer({ ...OPTS, fs: sim });
    for (let s = 1; s <= 60; s++) await buf.append(p(s)); // no ack: each rotation writes the index
    await new Promise<void>((resolve) => setImmediate(resolve)); // the last rotation's checkpoint write settles (SimFS I/O is immediate)
    const crashed = sim.crashImage(); // no close: only what was synced survives
    const sizes = segSizes(crashed);
    const c = counting(crashed);
    const again = await openBuffer({ ...OPTS, fs: c.fs });
    expect(c.segBytes()).toBe(24 * (sizes.length - 1) + sizes[sizes.length - 1]!);
    await again.close();
    expect(await readAll(crashed)).toEqual(range(1, 60));
  });

  it('a seal gone stale (the tail grew after it, then a crash) is not trusted for that segment', async () => {
    const sim = new SimFS();
    const first = await openBuffer({ ...OPTS, fs: sim });
    for (let s = 1; s <= 5; s++) await first.append(p(s));
    await first.close();
    const second = await openBuffer({ ...OPTS, fs: sim });
    for (let s = 6; s <= 8; s++) expect(await second.append(p(s))).toBe(s);
    expect(await readAll(sim.crashImage())).toEqual(range(1, 8));
    await second.close();
  });

  it('verify() CRC-checks what a sealed open trusted and reports the damage; inspectBuffer changes nothing', async () => {
    const sim = new SimFS();
    const buf = await openBuffer({ ...OPTS, fs: sim });
    for (let s = 1; s <= 30; s++) await buf.append(p(s));
    await buf.close();
    const first = [...sim.entries.keys()].filter((k) => k.endsWith('.seg')).sort()[0]!;
    const bytes = sim.bytes(first)!;
    bytes[24 + 16 + 5] = bytes[24 + 16 + 5]! ^ 0x40; // inside seq 1's payload
    sim.put(first, bytes);
    const events: BufferEvent[] = [];
    const again = await openBuffer({ ...OPTS, fs: sim, onEvent: (e) => events.push(e) });
    expect(events).toEqual([]); // trusted: same size, same header
    const report = await again.verify();
    expect(report.verified).toBe(true);
    expect(report.damage).toMatchObject([{ file: '00000000000000000001.seg', offset: 24, bytes: 116, reason: expect.stringContaining('record crc') }]);
    expect(report.lost).toMatchObject([{ firstSeq: 1, lastSeq: 1, count: 1 }]);
    expect(report.records).toBe(29);
    await again.close();
    const before = new Map([...sim.entries.keys()].map((k) => [k, sim.bytes(k)]));
    const quick = await inspectBuffer({ dir: DIR, fs: sim });
    expect(quick.verified).toBe(false);
    expect(quick.damage).toEqual([]); // the seal covers it: only verify reads it
    expect(quick.segments.every((s) => !s.checked)).toBe(true);
    expect(new Map([...sim.entries.keys()].map((k) => [k, sim.bytes(k)]))).toEqual(before);
  });

  it('inspectBuffer reports a deleted middle segment as a lost range and the repairs the next open would make', async () => {
    const sim = new SimFS();
    const buf = await openBuffer({ ...OPTS, fs: sim });
    for (let s = 1; s <= 30; s++) await buf.append(p(s));
    await buf.close();
    const segs = [...sim.entries.keys()].filter((k) => k.endsWith('.seg')).sort();
    await sim.unlink(segs[1]!);
    const last = segs[segs.length - 1]!;
    sim.put(last, new Uint8Array([...sim.bytes(last)!, 1, 2, 3])); // a torn tail
    const torn = sim.bytes(last)!.length;
    const r = await inspectBuffer({ dir: DIR, fs: sim });
    const lo = Number(segs[1]!.slice(-24, -4));
    const hi = Number(segs[2]!.slice(-24, -4)) - 1;
    expect(r.lost).toEqual([{ firstSeq: lo, lastSeq: hi, count: hi - lo + 1, reason: expect.stringContaining('missing segment') }]);
    expect(r.repairs).toEqual([{ action: 'truncate', file: last.slice(DIR.length + 1), offset: sim.bytes(last)!.length - 3, reason: expect.stringContaining('torn') }]);
    expect(r.records).toBe(30 - (hi - lo + 1));
    expect(r.checkpoint).toMatchObject({ ackedSeq: 0, highSeq: 30 });
    expect(sim.bytes(last)!.length).toBe(torn); // reported, not repaired
  });

  it('inspectBuffer: wrong types and values', async () => {
    await expect(inspectBuffer(undefined as never)).rejects.toThrow(TypeError);
    await expect(inspectBuffer({ dir: 1 } as never)).rejects.toThrow(TypeError);
    await expect(inspectBuffer({ dir: '' })).rejects.toThrow(RangeError);
    await expect(inspectBuffer({ dir: '/x', verify: 'yes' } as never)).rejects.toThrow(TypeError);
    await expect(inspectBuffer({ dir: '/x', maxRecordBytes: 0 })).rejects.toThrow(RangeError);
  });
});
