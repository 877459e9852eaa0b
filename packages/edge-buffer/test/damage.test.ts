// Damage matrix (issue #15): a closed buffer with 3 segments and a checkpoint is damaged the way
// disks and people do — every byte flipped, every file truncated at every length, every file
// deleted, each segment zeroed, duplicated, two segments swapped. After each:
// - opening does not throw;
// - records come out in strictly increasing seq order with the right payload;
// - every unacknowledged record outside the damaged frames is read;
// - every unacknowledged record that is not read is counted (stats().lostRecords) and reported
//   by a `lost` event naming its seq range — and no record that is read is reported lost;
// - the next append gets a seq above every seq ever appended (none reused);
// - reopening twice gives the same records and the same lost ranges.
// The exhaustive cross product lives here because SimFS keeps the files in memory (a few
// thousand cases in seconds).
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openBuffer, type BufferEvent } from '../src/index.js';
import { decodeCheckpoint, encodeCheckpoint, SEGMENT_HEADER_SIZE } from '../src/codec.js';
import { SimFS } from './helpers/sim-fs.js';
import { buildFixture, DIR, lostSet, OPTS, payload, type Fixture } from './helpers/damage.js';

interface Outcome {
  seqs: number[];
  lost: number[];
  lostRecords: number;
}

async function openAndRead(fs: SimFS): Promise<Outcome> {
  const events: BufferEvent[] = [];
  const buf = await openBuffer({ ...OPTS, fs, onEvent: (e) => events.push(e) });
  const seqs: number[] = [];
  for (let r = await buf.tryRead(); r !== undefined; r = await buf.tryRead()) {
    expect(r.payload, `payload of seq ${r.seq}`).toEqual(payload(r.seq));
    seqs.push(r.seq);
  }
  const lostRecords = buf.stats().lostRecords;
  await buf.close();
  return { seqs, lost: lostSet(events), lostRecords };
}

/** Runs one damaged image through the checks above; `touched` = seqs whose frames were damaged. */
async function check(fx: Fixture, fs: SimFS, touched: ReadonlySet<number>, checkpointDamaged: boolean, what: string): Promise<void> {
  const first = await openAndRead(fs);
  const { seqs, lost, lostRecords } = first;
  for (let i = 1; i < seqs.length; i++) expect(seqs[i]!, `${what}: order`).toBeGreaterThan(seqs[i - 1]!);
  const read = new Set(seqs);
  const floor = checkpointDamaged ? 0 : fx.acked;
  if (!checkpointDamaged) expect(seqs.every((s) => s > fx.acked), `${what}: nothing acknowledged comes back`).toBe(true);
  const missing: number[] = [];
  for (let s = fx.acked + 1; s <= fx.last; s++) if (!read.has(s)) missing.push(s);
  for (const s of missing) expect(touched.has(s), `${what}: seq ${s} was intact but not read`).toBe(true);
  expect(lost, `${what}: lost ranges`).toEqual(missing);
  expect(lostRecords, `${what}: lostRecords`).toBe(missing.length);
  void floor;

  const second = await openAndRead(fs);
  const third = await openAndRead(fs);
  expect(second.seqs, `${what}: reopen`).toEqual(seqs);
  expect(third, `${what}: reopen twice`).toEqual(second);
  expect(second.lost, `${what}: reopen lost`).toEqual(lost);

  const buf = await openBuffer({ ...OPTS, fs });
  const next = await buf.append(payload(fx.last + 1));
  expect(next, `${what}: next seq`).toBeGreaterThan(fx.last);
  await buf.close();
}

function frameSeqsAt(fx: Fixture, name: string, from: number, to: number): Set<number> {
  const out = new Set<number>();
  for (const f of fx.frames.get(name) ?? []) if (f.end > from && f.start < to) out.add(f.seq);
  return out;
}

/**
 * The same image with the seal's index stripped from the checkpoint (as after a crash): every
 * segment is CRC-scanned at open instead of trusted, so damage is found by recovery, not on read.
 */
function unsealed(fs: SimFS): SimFS {
  const path = join(DIR, 'checkpoint');
  const bytes = fs.bytes(path);
  const d = bytes === undefined ? undefined : decodeCheckpoint(bytes);
  if (d?.type === 'ok') fs.put(path, encodeCheckpoint(d.ackedSeq, d.highSeq, []));
  return fs;
}

describe('damage matrix: 3 segments and a checkpoint', () => {
  it('the fixture has 3 segments, a checkpoint, acknowledged and unacknowledged records', async () => {
    const fx = await buildFixture();
    expect(fx.segments.length).toBe(3);
    expect(fx.fs.bytes(join(DIR, 'checkpoint'))).toBeDefined();
    expect(fx.acked).toBeGreaterThan(0);
    expect(fx.last).toBeGreaterThan(fx.acked + 10);
  });

  it('every byte of every file flipped', async () => {
    const fx = await buildFixture();
    let cases = 0;
    for (const name of fx.files) {
      const bytes = fx.fs.bytes(join(DIR, name))!;
      for (let i = 0; i < bytes.length; i++) {
        const fs = fx.fs.clone();
        const b = bytes.slice();
        b[i] = b[i]! ^ 0xff;
        fs.put(join(DIR, name), b);
        const touched = frameSeqsAt(fx, name, i, i + 1);
        const copy = fs.clone();
        await check(fx, fs, touched, name === 'checkpoint', `flip ${name}[${i}]`);
        if (name !== 'checkpoint') await check(fx, unsealed(copy), touched, false, `flip ${name}[${i}], unsealed`);
        cases++;
      }
    }
    expect(cases).toBeGreaterThan(500);
  }, 120_000);

  it('every file truncated at every length', async () => {
    const fx = await buildFixture();
    for (const name of fx.files) {
      const bytes = fx.fs.bytes(join(DIR, name))!;
      for (let len = 0; len < bytes.length; len++) {
        const fs = fx.fs.clone();
        fs.put(join(DIR, name), bytes.slice(0, len));
        const copy = fs.clone();
        await check(fx, fs, frameSeqsAt(fx, name, len, Infinity), name === 'checkpoint', `truncate ${name} to ${len}`);
        if (name !== 'checkpoint') await check(fx, unsealed(copy), frameSeqsAt(fx, name, len, Infinity), false, `truncate ${name} to ${len}, unsealed`);
      }
    }
  }, 120_000);

  it('every file deleted; every segment zeroed; every segment duplicated; every pair swapped', async () => {
    const fx = await buildFixture();
    for (const name of fx.files) {
      const fs = fx.fs.clone();
      await fs.unlink(join(DIR, name));
      await check(fx, fs, frameSeqsAt(fx, name, 0, Infinity), name === 'checkpoint', `delete ${name}`);
    }
    for (const name of fx.segments) {
      const fs = fx.fs.clone();
      fs.put(join(DIR, name), new Uint8Array(fx.fs.bytes(join(DIR, name))!.length));
      await check(fx, fs, frameSeqsAt(fx, name, 0, Infinity), false, `zero ${name}`);
      const dup = fx.fs.clone();
      dup.put(join(DIR, `${String(fx.last + 1).padStart(20, '0')}.seg`), fx.fs.bytes(join(DIR, name))!);
      await check(fx, dup, new Set(), false, `duplicate ${name}`);
    }
    for (let i = 0; i < fx.segments.length; i++) {
      for (let j = i + 1; j < fx.segments.length; j++) {
        const fs = fx.fs.clone();
        const a = join(DIR, fx.segments[i]!);
        const b = join(DIR, fx.segments[j]!);
        const ba = fx.fs.bytes(a)!;
        fs.put(a, fx.fs.bytes(b)!);
        fs.put(b, ba);
        await check(fx, fs, new Set(), false, `swap ${fx.segments[i]} and ${fx.segments[j]}`);
      }
    }
  }, 60_000);

  it('issue #15 case 1: one flipped byte or length 0xffffffff in the first record of the newest segment keeps the records after it', async () => {
    const fx = await buildFixture();
    const newest = fx.segments[fx.segments.length - 1]!;
    const firstFrame = fx.frames.get(newest)![0]!;
    for (const damage of ['flip', 'length'] as const) {
      const fs = fx.fs.clone();
      const b = fx.fs.bytes(join(DIR, newest))!.slice();
      if (damage === 'flip') b[firstFrame.start + 20] = b[firstFrame.start + 20]! ^ 0x01;
      else b.set([0xff, 0xff, 0xff, 0xff], SEGMENT_HEADER_SIZE);
      fs.put(join(DIR, newest), b);
      const out = await openAndRead(fs);
      const after = fx.frames.get(newest)!.slice(1).map((f) => f.seq);
      expect(after.length).toBeGreaterThan(2);
      for (const s of after) expect(out.seqs).toContain(s);
      expect(out.lost).toEqual([firstFrame.seq]);
      const buf = await openBuffer({ ...OPTS, fs });
      expect(await buf.append(payload(0))).toBe(fx.last + 1);
      await buf.close();
    }
  });

  it('issue #15 case 2: a deleted middle segment is counted and reported with its seq range', async () => {
    const fx = await buildFixture();
    const middle = fx.segments[1]!;
    const fs = fx.fs.clone();
    await fs.unlink(join(DIR, middle));
    const events: BufferEvent[] = [];
    const buf = await openBuffer({ ...OPTS, fs, onEvent: (e) => events.push(e) });
    const seqs = fx.frames.get(middle)!.map((f) => f.seq);
    expect(events.filter((e) => e.type === 'lost')).toEqual([
      { type: 'lost', firstSeq: seqs[0], lastSeq: seqs[seqs.length - 1], count: seqs.length, reason: expect.stringContaining('missing'), during: 'recovery' },
    ]);
    expect(buf.stats().lostRecords).toBe(seqs.length);
    await buf.close();
  });
});
