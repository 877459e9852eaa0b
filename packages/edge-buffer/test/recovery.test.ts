// Golden corrupt files: each case has a defined outcome after openBuffer.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openBuffer, type BufferEvent, type EdgeBuffer } from '../src/index.js';
import { crc32c } from '../src/crc32c.js';
import { encodeCheckpoint, encodeRecord, encodeSegmentHeader, segmentFileName } from '../src/codec.js';
import { SimFS } from './helpers/sim-fs.js';

const DIR = '/golden';
const p = (seq: number, len = 8): Uint8Array => new Uint8Array(len).fill(seq & 0xff);

function seg(baseSeq: number, seqs: number[], tail: Uint8Array = new Uint8Array(0)): Uint8Array {
  const parts = [encodeSegmentHeader(baseSeq), ...seqs.map((s) => encodeRecord(s, p(s))), tail];
  const out = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of parts) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

function put(fs: SimFS, baseSeq: number, bytes: Uint8Array): string {
  const path = join(DIR, segmentFileName(baseSeq));
  fs.put(path, bytes);
  return path;
}

async function open(fs: SimFS): Promise<{ buf: EdgeBuffer; events: BufferEvent[]; seqs: number[] }> {
  const events: BufferEvent[] = [];
  // No segment preparation here: these cases list the directory (prealloc.test.ts covers it).
  const buf = await openBuffer({ dir: DIR, maxBytes: 1 << 20, segmentBytes: 64 * 1024, maxRecordBytes: 1000, preallocate: false, fs, onEvent: (e) => events.push(e) });
  const seqs: number[] = [];
  for (;;) {
    const r = await buf.tryRead();
    if (r === undefined) break;
    expect(r.payload).toEqual(p(r.seq, r.payload.length));
    seqs.push(r.seq);
  }
  return { buf, events, seqs };
}

const names = (fs: SimFS): string[] => [...fs.entries.keys()].map((k) => k.slice(DIR.length + 1)).sort();
const types = (events: BufferEvent[]): string[] => events.map((e) => e.type);

describe('golden corrupt files', () => {
  it('empty directory: a fresh buffer', async () => {
    const fs = new SimFS();
    const { buf, seqs } = await open(fs);
    expect(seqs).toEqual([]);
    expect(await buf.append(p(1))).toBe(1);
    await buf.close();
  });

  it('empty newest segment file: removed as a torn creation', async () => {
    const fs = new SimFS();
    put(fs, 1, seg(1, [1, 2]));
    put(fs, 3, new Uint8Array(0));
    const { buf, events, seqs } = await open(fs);
    expect(seqs).toEqual([1, 2]);
    expect(events).toEqual([{ type: 'truncate', file: segmentFileName(3), offset: 0, bytes: 0, reason: expect.stringContaining('header') }]);
    expect(names(fs)).toEqual([segmentFileName(1)]);
    expect(await buf.append(p(3))).toBe(3);
    await buf.close();
  });

  it('empty middle segment file: quarantined, the seq it stood for counted lost', async () => {
    const fs = new SimFS();
    put(fs, 1, seg(1, [1]));
    put(fs, 2, new Uint8Array(0));
    put(fs, 3, seg(3, [3]));
    const { buf, events, seqs } = await open(fs);
    expect(seqs).toEqual([1, 3]);
    expect(types(events)).toEqual(['quarantine', 'lost']);
    expect(events[1]).toMatchObject({ firstSeq: 2, lastSeq: 2, count: 1, reason: expect.stringContaining('quarantined') });
    expect(buf.stats().lostRecords).toBe(1);
    expect(names(fs)).toContain(`${segmentFileName(2)}.quarantine`);
    expect(buf.stats().quarantined).toBe(1);
    await buf.close();
  });

  it('short header (10 of 24 bytes) in the newest segment: removed', async () => {
    const fs = new SimFS();
    put(fs, 1, encodeSegmentHeader(1).subarray(0, 10));
    const { buf, events, seqs } = await open(fs);
    expect(seqs).toEqual([]);
    expect(events).toMatchObject([{ type: 'truncate', offset: 0, bytes: 10 }]);
    expect(names(fs)).toEqual([]);
    await buf.close();
  });

  it('unknown format version: quarantined, never truncated or deleted (even as the newest)', async () => {
    const fs = new SimFS();
    const b = seg(1, [1, 2]);
    b[4] = 2;
    new DataView(b.buffer).setUint32(20, crc32c(b.subarray(0, 20)), true);
    put(fs, 1, b);
    const { buf, events, seqs } = await open(fs);
    expect(seqs).toEqual([]);
    expect(events).toMatchObject([{ type: 'quarantine', reason: 'segment version: expected 1, found 2', offset: 4 }]);
    expect(fs.bytes(join(DIR, `${segmentFileName(1)}.quarantine`))).toEqual(b);
    await buf.close();
  });

  it('record length beyond the file size at the tail of the newest segment: truncated there', async () => {
    const fs = new SimFS();
    const good = seg(1, [1, 2]);
    const torn = encodeRecord(3, new Uint8Array(900)).subarray(0, 50);
    const path = put(fs, 1, seg(1, [1, 2], torn));
    const { buf, events, seqs } = await open(fs);
    expect(seqs).toEqual([1, 2]);
    expect(events).toMatchObject([{ type: 'truncate', offset: good.length, bytes: 50 }]);
    expect(fs.bytes(path)).toEqual(good);
    expect(buf.stats().truncatedBytes).toBe(50);
    expect(await buf.append(p(3))).toBe(3);
    await buf.close();
  });

  it('record length beyond the file size in a middle segment: the damaged suffix is skipped, the records before it kept', async () => {
    const fs = new SimFS();
    const good = seg(1, [1, 2]);
    put(fs, 1, seg(1, [1, 2], encodeRecord(3, new Uint8Array(900)).subarray(0, 50)));
    put(fs, 3, seg(3, [3, 4]));
    const { buf, events, seqs } = await open(fs);
    expect(seqs).toEqual([1, 2, 3, 4]);
    expect(events).toEqual([{ type: 'damage', file: segmentFileName(1), offset: good.length, bytes: 50, reason: expect.stringContaining('torn record'), during: 'recovery' }]);
    await buf.close();
  });

  it('zero-length record: a valid empty payload; zero-filled bytes at the tail: unwritten space, cut without an event', async () => {
    const fs = new SimFS();
    const body = seg(1, [1]);
    const empty = encodeRecord(2, new Uint8Array(0));
    const file = new Uint8Array(body.length + empty.length + 64);
    file.set(body);
    file.set(empty, body.length);
    put(fs, 1, file);
    const events: BufferEvent[] = [];
    const buf = await openBuffer({ dir: DIR, maxBytes: 1 << 20, fs, onEvent: (e) => events.push(e) });
    expect((await buf.tryRead())?.seq).toBe(1);
    expect(await buf.tryRead()).toEqual({ seq: 2, payload: new Uint8Array(0) });
    expect(await buf.tryRead()).toBeUndefined();
    // Zeros after the last frame are the unwritten rest of a preallocated segment, not a torn tail.
    expect(events).toEqual([]);
    expect(buf.stats().truncatedBytes).toBe(0);
    expect(fs.bytes(join(DIR, segmentFileName(1)))?.length).toBe(body.length + empty.length);
    await buf.close();
  });

  it('maximum length: exactly maxRecordBytes is accepted and read back; one more is refused', async () => {
    const fs = new SimFS();
    const buf = await openBuffer({ dir: DIR, maxBytes: 1 << 20, maxRecordBytes: 1000, fs });
    await buf.append(new Uint8Array(1000).fill(7));
    await expect(buf.append(new Uint8Array(1001))).rejects.toMatchObject({ code: 'RECORD_TOO_LARGE' });
    await buf.close();
    const again = await openBuffer({ dir: DIR, maxBytes: 1 << 20, maxRecordBytes: 1000, fs });
    expect((await again.tryRead())?.payload).toEqual(new Uint8Array(1000).fill(7));
    await again.close();
  });

  it('length field 0xFFFFFFFF at the tail: malformed, truncated without allocating', async () => {
    const fs = new SimFS();
    const forged = encodeRecord(3, new Uint8Array(0));
    forged.set([0xff, 0xff, 0xff, 0xff], 0);
    put(fs, 1, seg(1, [1, 2], forged));
    const { buf, events, seqs } = await open(fs);
    expect(seqs).toEqual([1, 2]);
    expect(events).toMatchObject([{ type: 'truncate', bytes: 16, reason: expect.stringContaining('record length') }]);
    await buf.close();
  });

  it.each([
    ['duplicate', [1, 2, 2, 3]],
    ['decreasing', [1, 2, 1, 3]],
  ])('%s sequence in the newest segment: with a high-water mark covering seq 3, the out-of-order frame is damage and seq 3 is kept; without one it is a torn tail', async (_name, order) => {
    const fs = new SimFS();
    put(fs, 1, seg(1, order));
    fs.put(join(DIR, 'checkpoint'), encodeCheckpoint(0, 3)); // seq 3 was durably appended
    const { buf, events, seqs } = await open(fs);
    expect(seqs).toEqual([1, 2, 3]);
    expect(events).toMatchObject([{ type: 'damage', bytes: 24, reason: expect.stringContaining('record seq: expected 3') }]);
    expect(buf.stats().lostRecords).toBe(0);
    expect(await buf.append(p(4))).toBe(4);
    await buf.close();

    const torn = new SimFS();
    put(torn, 1, seg(1, order));
    const after = await open(torn);
    expect(after.seqs).toEqual([1, 2]);
    expect(after.events).toMatchObject([{ type: 'truncate', bytes: 48, reason: expect.stringContaining('record seq: expected 3') }]);
    expect(await after.buf.append(p(3))).toBe(3);
    await after.buf.close();
  });

  it.each([
    ['skipping', [1, 2, 4]],
  ])('%s sequence in the newest segment (a frame the writer cannot have put there): cut at it', async (_name, order) => {
    const fs = new SimFS();
    put(fs, 1, seg(1, order));
    const { buf, events, seqs } = await open(fs);
    expect(seqs).toEqual([1, 2]);
    expect(events).toMatchObject([{ type: 'truncate', reason: expect.stringContaining('record seq: expected 3') }]);
    expect(await buf.append(p(3))).toBe(3);
    await buf.close();
  });

  it('duplicate sequence in a middle segment: quarantined; a segment overlapping its predecessor: quarantined', async () => {
    const fs = new SimFS();
    put(fs, 1, seg(1, [1, 2, 2]));
    put(fs, 3, seg(3, [3, 4]));
    put(fs, 4, seg(4, [4, 5])); // overlaps seq 4
    put(fs, 6, seg(6, [6]));
    const { buf, events, seqs } = await open(fs);
    // Segment 1's duplicate frame is damage at its end; segment 4 overlaps on seq 4 but adds 5.
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6]);
    expect(types(events)).toEqual(['damage']);
    await buf.close();
  });

  it('header base seq disagreeing with the file name: quarantined', async () => {
    const fs = new SimFS();
    fs.put(join(DIR, segmentFileName(5)), seg(1, [1]));
    put(fs, 6, seg(6, [6]));
    const { buf, events, seqs } = await open(fs);
    // The content decides where a file belongs: seq 1 is kept, 2..5 are nowhere.
    expect(seqs).toEqual([1, 6]);
    expect(events).toMatchObject([{ type: 'lost', firstSeq: 2, lastSeq: 5, count: 4 }]);
    await buf.close();
  });

  it('a bit flipped in a sealed middle segment: the damaged frame is skipped and its record counted, delivery continues', async () => {
    const fs = new SimFS();
    const buf = await openBuffer({ dir: DIR, maxBytes: 1 << 20, segmentBytes: 256, fs });
    for (let i = 1; i <= 12; i++) await buf.append(p(i, 40));
    await buf.close();
    const segs = names(fs).filter((n) => n.endsWith('.seg'));
    expect(segs.length).toBeGreaterThanOrEqual(3);
    const victim = join(DIR, segs[1]!);
    const bytes = fs.bytes(victim)!;
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0x04;
    fs.put(victim, bytes);
    const events: BufferEvent[] = [];
    const again = await openBuffer({ dir: DIR, maxBytes: 1 << 20, segmentBytes: 256, fs, onEvent: (e) => events.push(e) });
    expect(events).toEqual([]); // the seal trusts the segment (same size, same header); the read finds it
    const seqs: number[] = [];
    for (let r = await again.tryRead(); r !== undefined; r = await again.tryRead()) seqs.push(r.seq);
    const next = Number(segs[2]!.slice(0, 20));
    const damaged = next - 1; // the flipped byte is in the middle segment's last record
    expect(events).toMatchObject([
      { type: 'damage', file: segs[1], reason: expect.stringContaining('record crc'), during: 'read' },
      { type: 'lost', firstSeq: damaged, lastSeq: damaged, count: 1, during: 'read' },
    ]);
    expect(again.stats().lostRecords).toBe(1);
    expect(seqs).toEqual([...Array(12).keys()].map((i) => i + 1).filter((s) => s !== damaged));
    await again.close();
  });

  it('a bit flipped after open is caught on read: the frame is skipped, counted, and reading moves on', async () => {
    const fs = new SimFS();
    const buf = await openBuffer({ dir: DIR, maxBytes: 1 << 20, segmentBytes: 256, fs });
    for (let i = 1; i <= 12; i++) await buf.append(p(i, 40));
    const first = join(DIR, segmentFileName(1));
    const bytes = fs.bytes(first)!;
    bytes[30] = bytes[30]! ^ 1;
    fs.put(first, bytes);
    const events: BufferEvent[] = [];
    buf.on('damage', (e) => events.push(e));
    buf.on('lost', (e) => events.push(e));
    const r = await buf.tryRead();
    expect(events).toMatchObject([
      { type: 'damage', during: 'read', file: segmentFileName(1), offset: 24 },
      { type: 'lost', firstSeq: 1, lastSeq: 1, count: 1, during: 'read' },
    ]);
    expect(r?.seq).toBe(2);
    expect(buf.stats().lostRecords).toBe(1);
    await buf.close();
  });

  it('corrupt checkpoint: reported, and delivery starts at the oldest segment (at-least-once)', async () => {
    const fs = new SimFS();
    put(fs, 1, seg(1, [1, 2, 3]));
    const c = encodeCheckpoint(2);
    c[8] = c[8]! ^ 1;
    fs.put(join(DIR, 'checkpoint'), c);
    const { buf, events, seqs } = await open(fs);
    expect(seqs).toEqual([1, 2, 3]);
    expect(events).toMatchObject([{ type: 'error', error: { code: 'CORRUPT' } }]);
    await buf.close();
  });

  it('valid checkpoint: delivery resumes after it; a leftover checkpoint.tmp is removed', async () => {
    const fs = new SimFS();
    put(fs, 1, seg(1, [1, 2, 3]));
    fs.put(join(DIR, 'checkpoint'), encodeCheckpoint(2));
    fs.put(join(DIR, 'checkpoint.tmp'), encodeCheckpoint(3).subarray(0, 7));
    const { buf, events, seqs } = await open(fs);
    expect(seqs).toEqual([3]);
    expect(events).toEqual([]);
    expect(names(fs)).not.toContain('checkpoint.tmp');
    await buf.close();
  });

  it('checkpoint ahead of the data (tail lost in durability none): seqs continue after the checkpoint', async () => {
    const fs = new SimFS();
    put(fs, 1, seg(1, [1, 2]));
    fs.put(join(DIR, 'checkpoint'), encodeCheckpoint(5));
    const { buf, seqs } = await open(fs);
    expect(seqs).toEqual([]);
    expect(await buf.append(p(6))).toBe(6);
    await buf.close();
    expect(names(fs)).not.toContain(segmentFileName(1));
  });

  it('unknown files are left alone', async () => {
    const fs = new SimFS();
    fs.put(join(DIR, 'README'), new Uint8Array([1]));
    const { buf } = await open(fs);
    await buf.close();
    expect(names(fs)).toContain('README');
  });

  it('recovery is idempotent: a second open changes nothing', async () => {
    const fs = new SimFS();
    put(fs, 1, seg(1, [1, 2, 2]));
    put(fs, 3, seg(3, [3], encodeRecord(4, p(4)).subarray(0, 9)));
    const first = await open(fs);
    await first.buf.close();
    const snapshot = names(fs).map((n) => [n, fs.bytes(join(DIR, n))]);
    const second = await open(fs);
    // Nothing is truncated or set aside again; damage left in place is reported the same way.
    expect(second.events.filter((e) => e.type !== 'damage' && e.type !== 'lost')).toEqual([]);
    expect(second.events.filter((e) => e.type === 'lost')).toEqual(first.events.filter((e) => e.type === 'lost'));
    expect(second.seqs).toEqual(first.seqs);
    await second.buf.close();
    expect(names(fs).map((n) => [n, fs.bytes(join(DIR, n))])).toEqual(snapshot);
  });
});
