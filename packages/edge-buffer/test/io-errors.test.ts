// ENOSPC and EIO injected on write, fsync, segment creation, directory sync and checkpoint writes.
import { describe, expect, it } from 'vitest';
import { basename } from 'node:path';
import { openBuffer, type BufferEvent, type EdgeBuffer } from '../src/index.js';
import { SimFS, type Op } from './helpers/sim-fs.js';
import { seqsOnDisk } from './helpers/crash.js';

const DIR = '/data/buf';
const p = (i: number): Uint8Array => new Uint8Array(60).fill(i & 0xff);
const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });
const isSeg = (op: Op): boolean => basename(op.path).endsWith('.seg');

async function readAll(buf: EdgeBuffer): Promise<number[]> {
  const out: number[] = [];
  for (let r = await buf.tryRead(); r !== undefined; r = await buf.tryRead()) {
    expect(r.payload).toEqual(p(r.seq));
    out.push(r.seq);
  }
  return out;
}

/** After a power cut: durable state only. */
async function afterCrash(fs: SimFS): Promise<number[]> {
  const img = fs.crashImage();
  const buf = await openBuffer({ dir: DIR, maxBytes: 1 << 20, segmentBytes: 1024, fs: img });
  const seqs = await readAll(buf);
  await buf.close();
  const disk = seqsOnDisk(img);
  expect(new Set(disk).size).toBe(disk.length);
  return seqs;
}

function setup(durability: 'fsync' | 'batch' = 'fsync'): { fs: SimFS; events: BufferEvent[]; open: () => Promise<EdgeBuffer> } {
  const fs = new SimFS();
  const events: BufferEvent[] = [];
  return { fs, events, open: () => openBuffer({ dir: DIR, maxBytes: 1 << 20, segmentBytes: 1024, durability, fs, onEvent: (e) => events.push(e) }) };
}

describe.each(['fsync', 'batch'] as const)('disk errors (%s)', (durability) => {
  it.each([
    ['ENOSPC', 'write'],
    ['EIO', 'write'],
    ['EIO', 'sync'],
    ['ENOSPC', 'sync'],
  ] as const)('%s on %s: that append rejects IO_ERROR, earlier records stay readable, later appends work', async (code, kind) => {
    const { fs, events, open } = setup(durability);
    const buf = await open();
    for (let i = 1; i <= 5; i++) expect(await buf.append(p(i))).toBe(i);
    let armed = true;
    fs.fault = (op) => {
      if (!armed || op.kind !== kind || !isSeg(op)) return undefined;
      armed = false;
      if (kind === 'sync') fs.poisonUnsynced(op.path); // the kernel dropped the dirty pages
      return errno(code);
    };
    const failed = buf.append(p(6));
    await expect(failed).rejects.toMatchObject({ code: 'IO_ERROR', cause: { code } });
    expect(events.some((e) => e.type === 'error')).toBe(true);
    expect(buf.stats().ioErrors).toBe(1);
    expect(await readAll(buf)).toEqual([1, 2, 3, 4, 5]);
    // The rejected seq is handed out again: the failed bytes were cut off before the retry.
    expect(await buf.append(p(6))).toBe(6);
    expect(await buf.append(p(7))).toBe(7);
    expect(await readAll(buf)).toEqual([6, 7]);
    await buf.close();
    expect(await afterCrash(fs)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('a failed fsync fails its whole group and everything queued behind it; nothing is half-acknowledged', async () => {
    const { fs, open } = setup(durability);
    const buf = await open();
    await buf.append(p(1));
    let armed = true;
    fs.fault = (op) => {
      if (!armed || op.kind !== 'sync' || !isSeg(op)) return undefined;
      armed = false;
      fs.poisonUnsynced(op.path);
      return errno('EIO');
    };
    const results = await Promise.allSettled([2, 3, 4, 5].map((i) => buf.append(p(i))));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(await buf.append(p(2))).toBe(2);
    await buf.close();
    expect(await afterCrash(fs)).toEqual([1, 2]);
  });

  it('EIO creating a segment, and EIO syncing the directory for it: rejected, then retried cleanly', async () => {
    for (const kind of ['open', 'syncDir'] as const) {
      const { fs, open } = setup(durability);
      const buf = await open();
      let i = 1;
      // Fill the first segment (1024 B, 76 B per record).
      for (; i <= 13; i++) await buf.append(p(i));
      let armed = true;
      // The directory sync for the new segment is the one after its first record's sync (the
      // checkpoint written at the rotation syncs the directory too, possibly earlier).
      let newSegmentSynced = false;
      fs.fault = (op) => {
        if (op.kind === 'sync' && op.path.endsWith('00000000000000000014.seg')) newSegmentSynced = true;
        if (!armed || op.kind !== kind) return undefined;
        // The new segment's first open: 'create', or 'readwrite' after renaming a prepared file.
        if (kind === 'open' && !op.path.endsWith('00000000000000000014.seg')) return undefined;
        if (kind === 'syncDir' && !newSegmentSynced) return undefined;
        armed = false;
        return errno('EIO');
      };
      await expect(buf.append(p(i))).rejects.toMatchObject({ code: 'IO_ERROR' });
      expect(await buf.append(p(i))).toBe(i);
      await buf.close();
      expect(await afterCrash(fs)).toEqual([...Array(i).keys()].map((x) => x + 1));
    }
  });

  it('persistent EIO on every fsync: every append rejects, the buffer stays readable and never wedges', async () => {
    const { fs, open } = setup(durability);
    const buf = await open();
    for (let i = 1; i <= 3; i++) await buf.append(p(i));
    fs.fault = (op) => (op.kind === 'sync' ? errno('EIO') : undefined);
    for (let k = 0; k < 5; k++) await expect(buf.append(p(4))).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(await readAll(buf)).toEqual([1, 2, 3]);
    fs.fault = undefined;
    expect(await buf.append(p(4))).toBe(4);
    await buf.close();
    expect(await afterCrash(fs)).toEqual([1, 2, 3, 4]);
  });
});

describe('checkpoint errors', () => {
  it('ENOSPC writing the checkpoint rejects the ack; records stay; a later ack succeeds', async () => {
    const { fs, events, open } = setup();
    const buf = await open();
    for (let i = 1; i <= 3; i++) await buf.append(p(i));
    await buf.tryRead();
    fs.fault = (op) => (op.kind === 'write' && op.path.endsWith('checkpoint.tmp') ? errno('ENOSPC') : undefined);
    await expect(buf.ack(1)).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(events.filter((e) => e.type === 'error')).toHaveLength(1);
    expect(buf.stats().durableAckedSeq).toBe(0);
    fs.fault = undefined;
    await buf.tryRead();
    await buf.ack(2);
    expect(buf.stats().durableAckedSeq).toBe(2);
    await buf.close();
    expect(await afterCrash(fs)).toEqual([3]);
  });

  it("a failing checkpoint nobody awaits ('drop-oldest') is an error event, not an unhandled rejection", async () => {
    const fs = new SimFS();
    const events: BufferEvent[] = [];
    const buf = await openBuffer({ dir: DIR, maxBytes: 4096, segmentBytes: 1024, overflow: 'drop-oldest', fs, onEvent: (e) => events.push(e) });
    fs.fault = (op) => (op.kind === 'write' && op.path.endsWith('checkpoint.tmp') ? errno('EIO') : undefined);
    for (let i = 1; i <= 80; i++) await buf.append(p(i));
    await buf.close();
    expect(events.some((e) => e.type === 'drop')).toBe(true);
    expect(events.some((e) => e.type === 'error' && (e.error as { code?: string }).code === 'IO_ERROR')).toBe(true);
  });

  it('an open failing with EIO during recovery rejects openBuffer with IO_ERROR (no crash loop: nothing was changed)', async () => {
    const fs = new SimFS();
    fs.fault = (op) => (op.kind === 'mkdir' ? errno('EACCES') : undefined);
    await expect(openBuffer({ dir: DIR, maxBytes: 1 << 20, fs })).rejects.toMatchObject({ code: 'IO_ERROR' });
  });
});
