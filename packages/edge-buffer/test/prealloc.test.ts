// Segment preallocation (preallocate, src/prepare.ts): zero-filled segments, the zeros after the
// last frame read as unwritten space, logical sizes in the accounting and the seal, and the
// preparation's own crashes and failures.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { inspectBuffer, openBuffer, type BufferEvent, type EdgeBuffer } from '../src/index.js';
import { encodeCheckpoint, encodeRecord, encodeSegmentHeader, segmentFileName } from '../src/codec.js';
import { SimFS } from './helpers/sim-fs.js';

const DIR = '/prealloc';
const SEG = 4096;
const p = (seq: number, len = 40): Uint8Array => new Uint8Array(len).fill(seq & 0xff);
const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });

/** A segment file of `size` bytes: header, the frames of `seqs`, `extra` bytes, then zeros. */
function segFile(baseSeq: number, seqs: number[], size: number, extra: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(size);
  let o = 0;
  for (const part of [encodeSegmentHeader(baseSeq), ...seqs.map((s) => encodeRecord(s, p(s))), extra]) {
    out.set(part, o);
    o += part.length;
  }
  return out;
}

const frameEnd = (n: number): number => 24 + n * (16 + 40);

async function openAll(fs: SimFS, extra: Record<string, unknown> = {}): Promise<{ buf: EdgeBuffer; events: BufferEvent[]; seqs: number[] }> {
  const events: BufferEvent[] = [];
  const buf = await openBuffer({ dir: DIR, maxBytes: 1 << 20, segmentBytes: SEG, fs, onEvent: (e) => events.push(e), ...extra });
  const seqs: number[] = [];
  for (let r = await buf.tryRead(); r !== undefined; r = await buf.tryRead()) {
    expect(r.payload).toEqual(p(r.seq, r.payload.length));
    seqs.push(r.seq);
  }
  return { buf, events, seqs };
}

const segNames = (fs: SimFS): string[] => [...fs.entries.keys()].filter((k) => k.endsWith('.seg')).map((k) => k.slice(DIR.length + 1)).sort();

describe('recovery of a preallocated segment', () => {
  it('zeros after the last valid frame are unwritten space: every record kept, nothing reported, the zeros cut', async () => {
    const fs = new SimFS();
    fs.put(join(DIR, segmentFileName(1)), segFile(1, [1, 2, 3], SEG));
    const { buf, events, seqs } = await openAll(fs);
    expect(seqs).toEqual([1, 2, 3]);
    expect(events).toEqual([]);
    expect(buf.stats()).toMatchObject({ lostRecords: 0, truncatedBytes: 0, quarantined: 0, records: 3, bytes: frameEnd(3) });
    expect(fs.bytes(join(DIR, segmentFileName(1)))?.length).toBe(frameEnd(3));
    expect(await buf.append(p(4))).toBe(4);
    await buf.close();
  });

  it('a torn frame followed by zeros is a torn tail: truncated and reported, its seq handed out again', async () => {
    const fs = new SimFS();
    const torn = encodeRecord(4, p(4)).subarray(0, 30); // header and part of the payload
    fs.put(join(DIR, segmentFileName(1)), segFile(1, [1, 2, 3], SEG, torn));
    const { buf, events, seqs } = await openAll(fs);
    expect(seqs).toEqual([1, 2, 3]);
    expect(events).toMatchObject([{ type: 'truncate', file: segmentFileName(1), offset: frameEnd(3) }]);
    expect(buf.stats().lostRecords).toBe(0);
    expect(await buf.append(p(4))).toBe(4);
    await buf.close();
  });

  it('a bad frame followed by valid frames and then zeros is corruption: the damaged frame counted lost, the rest kept', async () => {
    const fs = new SimFS();
    const first = segFile(1, [1, 2, 3, 4, 5], SEG);
    first[frameEnd(1) + 20] = first[frameEnd(1) + 20]! ^ 0x40; // a payload byte of seq 2
    fs.put(join(DIR, segmentFileName(1)), first);
    fs.put(join(DIR, segmentFileName(6)), segFile(6, [6, 7], SEG));
    const { buf, events, seqs } = await openAll(fs);
    expect(seqs).toEqual([1, 3, 4, 5, 6, 7]);
    expect(events.map((e) => e.type).sort()).toEqual(['damage', 'lost']);
    expect(events).toContainEqual(expect.objectContaining({ type: 'lost', firstSeq: 2, lastSeq: 2, count: 1 }));
    expect(buf.stats().lostRecords).toBe(1);
    expect(await buf.append(p(8))).toBe(8);
    await buf.close();
  });

  it('a crash after the prepared file was renamed into place, before its first record: the all-zero segment is removed', async () => {
    const fs = new SimFS();
    fs.put(join(DIR, segmentFileName(1)), segFile(1, [1, 2], frameEnd(2)));
    fs.put(join(DIR, segmentFileName(3)), new Uint8Array(SEG));
    const { buf, events, seqs } = await openAll(fs);
    expect(seqs).toEqual([1, 2]);
    expect(segNames(fs)).toEqual([segmentFileName(1)]);
    // Reported as the torn creation it is, but no data was cut: zeros are unwritten space.
    expect(events).toMatchObject([{ type: 'truncate', file: segmentFileName(3), bytes: 0, reason: expect.stringContaining('unwritten preallocated') }]);
    expect(buf.stats().truncatedBytes).toBe(0);
    expect(await buf.append(p(3))).toBe(3);
    await buf.close();
  });
});

describe('preallocate', () => {
  it('rotations take prepared, zero-filled files; stats count logical bytes; closed segments hold exactly their records', async () => {
    const run = async (preallocate: boolean): Promise<{ bytes: number[]; sizes: Map<string, number>; fs: SimFS }> => {
      const fs = new SimFS();
      const buf = await openBuffer({ dir: DIR, maxBytes: 1 << 20, segmentBytes: SEG, preallocate, fs });
      const bytes: number[] = [];
      for (let i = 1; i <= 200; i++) {
        await buf.append(p(i));
        bytes.push(buf.stats().bytes);
        if (i % 40 === 0) await new Promise((r) => setImmediate(r)); // let the preparation finish
      }
      const sizes = new Map<string, number>();
      for (const name of segNames(fs)) sizes.set(name, fs.bytes(join(DIR, name))!.length);
      await buf.close();
      return { bytes, sizes, fs };
    };
    const on = await run(true);
    const off = await run(false);
    expect(on.bytes).toEqual(off.bytes); // the bound on bytes and stats use logical sizes
    const active = [...on.sizes.keys()].at(-1)!;
    expect(on.sizes.get(active)).toBe(SEG); // the active segment is a prepared file
    expect(off.sizes.get(active)).toBeLessThan(SEG);
    // After close every segment (the active one too) is cut to its records, as without preallocation.
    for (const name of segNames(on.fs)) expect(on.fs.bytes(join(DIR, name))).toEqual(off.fs.bytes(join(DIR, name)));
    expect(on.fs.entries.has(join(DIR, 'segment.prep'))).toBe(true); // kept for the next open
    // The clean-open marker covers every segment: nothing needs a scan.
    const report = await inspectBuffer({ dir: DIR, fs: on.fs });
    expect(report.segments.length).toBeGreaterThan(2);
    expect(report.segments.every((s) => !s.checked)).toBe(true);
    expect(report.repairs).toEqual([]);
  });

  it('open removes a half-prepared file, reuses a prepared one of the right size and removes one of another size', async () => {
    for (const [name, size, reused] of [['segment.prep.tmp', SEG, false], ['segment.prep', SEG, true], ['segment.prep', 100, false]] as const) {
      const fs = new SimFS();
      fs.put(join(DIR, segmentFileName(1)), segFile(1, [1], frameEnd(1)));
      fs.put(join(DIR, 'checkpoint'), encodeCheckpoint(0, 1));
      const planted = new Uint8Array(size).fill(0xee); // marked, to tell it from a file prepared now
      fs.put(join(DIR, name), planted);
      const buf = await openBuffer({ dir: DIR, maxBytes: 1 << 20, segmentBytes: SEG, fs });
      await buf.close();
      expect(fs.entries.has(join(DIR, 'segment.prep.tmp'))).toBe(false);
      const prep = fs.bytes(join(DIR, 'segment.prep'));
      if (reused) expect(prep).toEqual(planted);
      else expect(prep === undefined || (prep.length === SEG && prep.every((b) => b === 0))).toBe(true);
    }
  });

  it('a crash while preparing leaves segment.prep.tmp, which the next open removes; nothing acknowledged is lost', async () => {
    const workload = async (fs: SimFS, acked: number[]): Promise<void> => {
      const buf = await openBuffer({ dir: DIR, maxBytes: 1 << 20, segmentBytes: SEG, fs });
      for (let i = 1; i <= 150; i++) acked.push(await buf.append(p(i)));
      await buf.close();
    };
    const probe = new SimFS();
    probe.log = [];
    await workload(probe, []);
    const points = probe.log.flatMap((op, i) => (op.kind === 'write' && op.path.endsWith('segment.prep.tmp') ? [i + 1] : []));
    expect(points.length).toBeGreaterThan(1);
    let leftBehind = 0;
    for (const k of points) {
      const fs = new SimFS();
      fs.crashAt = k; // torn inside this write of zeros
      const acked: number[] = [];
      await workload(fs, acked).catch(() => undefined);
      expect(fs.crashed).toBe(true);
      // The directory operations since the last fsync(dir) all reached the disk (the temporary file's creation too).
      const img = fs.crashImage(() => 0.9);
      if (img.entries.has(join(DIR, 'segment.prep.tmp'))) leftBehind++;
      const { buf, seqs } = await openAll(img);
      expect(seqs.slice(0, acked.length)).toEqual(acked);
      await buf.close(); // (the open prepares again; close stops that and removes its temporary file)
      expect(img.entries.has(join(DIR, 'segment.prep.tmp'))).toBe(false);
      const prep = img.bytes(join(DIR, 'segment.prep'));
      expect(prep === undefined || (prep.length === SEG && prep.every((b) => b === 0))).toBe(true);
    }
    expect(leftBehind).toBeGreaterThan(0);
  });

  it('a failing preparation (ENOSPC writing zeros, EIO renaming into place) costs no append: the rotation creates an empty file', async () => {
    for (const fault of ['write', 'rename'] as const) {
      const fs = new SimFS();
      fs.fault = (op) => (op.kind === fault && op.path.includes('segment.prep') ? errno(fault === 'write' ? 'ENOSPC' : 'EIO') : undefined);
      const events: BufferEvent[] = [];
      const buf = await openBuffer({ dir: DIR, maxBytes: 1 << 20, segmentBytes: SEG, fs, onEvent: (e) => events.push(e) });
      for (let i = 1; i <= 200; i++) {
        expect(await buf.append(p(i))).toBe(i);
        if (i % 40 === 0) await new Promise((r) => setImmediate(r));
      }
      expect(buf.stats().ioErrors).toBe(0);
      expect(events).toEqual([]);
      await buf.close();
      expect(segNames(fs).length).toBeGreaterThan(2);
      const { buf: again, seqs } = await openAll(fs);
      expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      await again.close();
    }
  });

  it('preallocate must be a boolean', async () => {
    await expect(openBuffer({ dir: DIR, maxBytes: 1 << 20, fs: new SimFS(), preallocate: 'yes' as never })).rejects.toThrow(TypeError);
  });
});
