// Large records written from the caller's buffer (FileHandle.writev, no copy into the arena),
// and what that means for payload ownership: a caller may change its buffer as soon as
// append() returns; the stored bytes (and their CRC) must not change with it.
import { describe, expect, it } from 'vitest';
import { nodeFileSystem, openBuffer, type BufferRecord, type Durability, type EdgeBuffer, type FileHandle, type FileSystem } from '../src/index.js';
import { tempDir } from './helpers/tmp.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SimFS } from './helpers/sim-fs.js';

const DIR = '/data/buf';

function pattern(size: number, i: number): Uint8Array {
  const p = new Uint8Array(size);
  for (let j = 0; j < size; j++) p[j] = (i * 13 + j * 7) & 0xff;
  return p;
}

async function readAll(b: EdgeBuffer): Promise<BufferRecord[]> {
  const out: BufferRecord[] = [];
  for (let r = await b.tryRead(); r !== undefined; r = await b.tryRead()) out.push(r);
  return out;
}

/** A SimFS whose handles report every writev's chunks (or have no writev at all). */
function spyFs(sim: SimFS, calls: Uint8Array[][], withWritev = true): FileSystem {
  return {
    ...sim,
    mkdir: (d) => sim.mkdir(d),
    readdir: (d) => sim.readdir(d),
    rename: (a, b) => sim.rename(a, b),
    unlink: (p) => sim.unlink(p),
    syncDir: (d) => sim.syncDir(d),
    open: async (path, mode) => {
      const f = await sim.open(path, mode);
      const h: FileHandle = { read: f.read, write: f.write, sync: f.sync, truncate: f.truncate, size: f.size, close: f.close };
      if (withWritev) {
        h.writev = (chunks, position) => {
          calls.push([...chunks]);
          return f.writev!(chunks, position);
        };
      }
      return h;
    },
  };
}

describe('direct (vectored, no-copy) writes of large records', () => {
  it("an idle writer passes the caller's payload itself to writev, after a header chunk", async () => {
    const calls: Uint8Array[][] = [];
    const buf = await openBuffer({ dir: DIR, maxBytes: 1 << 22, segmentBytes: 1 << 20, fs: spyFs(new SimFS(), calls) });
    await buf.append(pattern(100, 0)); // opens the segment
    const big = pattern(64 * 1024, 1);
    await buf.append(big);
    const call = calls.find((c) => c.includes(big));
    expect(call).toBeDefined();
    expect(call!.map((c) => c.length)).toEqual([16, 64 * 1024]);
    await buf.close();
  });

  it('below directWriteBytes the payload is copied (one write, no writev)', async () => {
    const calls: Uint8Array[][] = [];
    const buf = await openBuffer({ dir: DIR, maxBytes: 1 << 22, segmentBytes: 1 << 20, directWriteBytes: 4096, fs: spyFs(new SimFS(), calls) });
    await buf.append(pattern(100, 0));
    await buf.append(pattern(4095, 1));
    expect(calls).toEqual([]);
    await buf.append(pattern(4096, 2));
    expect(calls.map((c) => c.length)).toEqual([2]);
    await buf.close();
  });

  for (const durability of ['fsync', 'batch', 'none'] as Durability[]) {
    it(`'${durability}': payloads changed right after append() returns are stored as they were`, async () => {
      const sim = new SimFS();
      const buf = await openBuffer({ dir: DIR, maxBytes: 1 << 24, segmentBytes: 1 << 20, directWriteBytes: 1024, durability, fs: sim });
      const sizes = [100, 2000, 20_000, 1024, 50, 9000, 1023, 3000];
      const pending: Promise<number>[] = [];
      // Rounds of concurrent appends: the first of each round meets an idle writer (written in
      // the call), the rest queue behind it (copied in the call).
      for (let round = 0; round < 4; round++) {
        for (let k = 0; k < sizes.length; k++) {
          const i = round * sizes.length + k;
          const p = pattern(sizes[k]!, i);
          pending.push(buf.append(p));
          p.fill(0xee); // reused by the caller before the append resolved
        }
        await Promise.all(pending.splice(0));
      }
      const got = await readAll(buf);
      expect(got.length).toBe(4 * sizes.length);
      got.forEach((r, i) => {
        expect(r.seq).toBe(i + 1);
        expect(r.payload).toEqual(pattern(sizes[i % sizes.length]!, i));
      });
      const report = await buf.verify();
      expect(report.damage).toEqual([]);
      await buf.close();
    });
  }

  it('a file system without writev gets plain writes of copied bytes', async () => {
    const calls: Uint8Array[][] = [];
    const sim = new SimFS();
    const buf = await openBuffer({ dir: DIR, maxBytes: 1 << 22, segmentBytes: 1 << 20, directWriteBytes: 16, durability: 'batch', fs: spyFs(sim, calls, false) });
    const ps = Array.from({ length: 20 }, (_, i) => pattern(100 + i * 500, i));
    await Promise.all(ps.map((p) => buf.append(p)));
    const got = await readAll(buf);
    expect(got.map((r) => r.payload)).toEqual(ps);
    expect(calls).toEqual([]);
    await buf.close();
  });

  it('on real files: 64 KiB records, reopened and verified', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const fs = nodeFileSystem({ inlineSync: true });
      let buf = await openBuffer({ dir, maxBytes: 1 << 24, segmentBytes: 1 << 20, maxRecordBytes: 64 * 1024, fs });
      for (let i = 0; i < 12; i++) {
        const p = pattern(64 * 1024 - (i % 3), i);
        const done = buf.append(p);
        p.fill(0);
        await done;
      }
      await buf.close();
      buf = await openBuffer({ dir, maxBytes: 1 << 24, segmentBytes: 1 << 20, maxRecordBytes: 64 * 1024 });
      expect((await buf.verify()).damage).toEqual([]);
      const got = await readAll(buf);
      expect(got.length).toBe(12);
      got.forEach((r, i) => expect(r.payload).toEqual(pattern(64 * 1024 - (i % 3), i)));
      await buf.close();
    } finally {
      await cleanup();
    }
  });

  it("the default nodeFileSystem writes durably in one step: one writeDurable per 'fsync' append, no separate sync", async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const real = nodeFileSystem();
      const seen = { durable: 0, write: 0, sync: 0 };
      const fs: FileSystem = {
        ...real,
        open: async (path, mode) => {
          const f = await real.open(path, mode);
          const h: FileHandle = {
            read: (into, pos) => f.read(into, pos),
            write: (d, pos) => (seen.write++, f.write(d, pos)),
            writev: (c, pos) => (seen.write++, f.writev!(c, pos)),
            sync: () => (seen.sync++, f.sync()),
            truncate: (n) => f.truncate(n),
            size: () => f.size(),
            close: () => f.close(),
          };
          if (f.writeDurable !== undefined && path.endsWith('.seg')) h.writeDurable = (c, pos) => (seen.durable++, f.writeDurable!(c, pos));
          return h;
        },
      };
      // preallocate: false — the background zero-fill of the next segment would add writes and a sync.
      const buf = await openBuffer({ dir, maxBytes: 1 << 24, segmentBytes: 1 << 20, maxRecordBytes: 64 * 1024, preallocate: false, fs });
      for (let i = 0; i < 8; i++) {
        const p = pattern(i % 2 === 0 ? 64 * 1024 : 100, i);
        const done = buf.append(p);
        p.fill(0); // the pool reads the chunks later: the buffer must have copied them
        await done;
      }
      expect(seen).toEqual({ durable: 8, write: 0, sync: 0 });
      await buf.close();
      const again = await openBuffer({ dir, maxBytes: 1 << 24, segmentBytes: 1 << 20, maxRecordBytes: 64 * 1024 });
      expect((await again.verify()).damage).toEqual([]);
      const got = await readAll(again);
      got.forEach((r, i) => expect(r.payload).toEqual(pattern(i % 2 === 0 ? 64 * 1024 : 100, i)));
      expect(got.length).toBe(8);
      await again.close();
    } finally {
      await cleanup();
    }
  });

  for (const durability of ['fsync', 'batch'] as Durability[]) {
    it(`'${durability}': writeDurable reads the chunks late, so large payloads are copied in append() (the caller may reuse them)`, async () => {
      const sim = new SimFS(); // writeDurable reads its chunks one macrotask after the call
      const buf = await openBuffer({ dir: DIR, maxBytes: 1 << 24, segmentBytes: 1 << 20, directWriteBytes: 1024, durability, fs: sim });
      await buf.append(pattern(10, 99)); // opens the segment: later appends meet an open handle
      const pending: Promise<number>[] = [];
      for (let i = 0; i < 12; i++) {
        const p = pattern(i % 2 === 0 ? 20_000 : 3000, i);
        pending.push(buf.append(p));
        p.fill(0xee);
        if (i % 3 === 0) {
          // An idle writer now and then (in 'batch' mode it yields a turn after each group).
          await Promise.all(pending.splice(0));
          await new Promise<void>((resolve) => setTimeout(resolve, 1));
        }
      }
      await Promise.all(pending);
      const got = await readAll(buf);
      expect(got.length).toBe(13);
      got.slice(1).forEach((r, i) => expect(r.payload).toEqual(pattern(i % 2 === 0 ? 20_000 : 3000, i)));
      expect((await buf.verify()).damage).toEqual([]);
      await buf.close();
    });
  }

  it('on real files with dsyncWrites: false (write, then fdatasync on the pool): 64 KiB records, reopened and verified', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const fs = nodeFileSystem({ dsyncWrites: false });
      const h = await fs.open(`${dir}/probe`, 'create');
      expect(h.writeDurable).toBeUndefined();
      await h.close();
      const buf = await openBuffer({ dir, maxBytes: 1 << 24, segmentBytes: 1 << 20, maxRecordBytes: 64 * 1024, fs });
      for (let i = 0; i < 6; i++) {
        const p = pattern(64 * 1024, i);
        const done = buf.append(p);
        p.fill(0);
        await done;
      }
      await buf.close();
      const again = await openBuffer({ dir, maxBytes: 1 << 24, segmentBytes: 1 << 20, maxRecordBytes: 64 * 1024 });
      expect((await again.verify()).damage).toEqual([]);
      expect((await readAll(again)).map((r) => r.payload)).toEqual(Array.from({ length: 6 }, (_, i) => pattern(64 * 1024, i)));
      await again.close();
    } finally {
      await cleanup();
    }
  });

  it('a failed open of the O_DSYNC descriptor fails that write only: the next writeDurable opens it again', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const fs = nodeFileSystem();
      const path = join(dir, 'f');
      const h = await fs.open(path, 'create');
      await fs.unlink(path); // the second descriptor cannot be opened now
      await expect(h.writeDurable!([new Uint8Array([1])], 0)).rejects.toMatchObject({ code: 'ENOENT' });
      await (await fs.open(path, 'create')).close();
      await h.writeDurable!([new Uint8Array([1, 2]), new Uint8Array([3])], 0);
      expect([...readFileSync(path)]).toEqual([1, 2, 3]);
      await h.close();
    } finally {
      await cleanup();
    }
  });

  it('directWriteBytes is checked', async () => {
    await expect(openBuffer({ dir: DIR, maxBytes: 1 << 22, directWriteBytes: 0, fs: new SimFS() })).rejects.toThrow(RangeError);
    await expect(openBuffer({ dir: DIR, maxBytes: 1 << 22, directWriteBytes: '8k' as unknown as number, fs: new SimFS() })).rejects.toThrow(TypeError);
  });

  it('nodeFileSystem options are checked', () => {
    expect(() => nodeFileSystem({ inlineSync: 1 as unknown as boolean })).toThrow(TypeError);
    expect(() => nodeFileSystem({ dsyncWrites: 'yes' as unknown as boolean })).toThrow(TypeError);
    expect(() => nodeFileSystem(null as unknown as object)).toThrow(TypeError);
  });
});
