// The public API on real files (os.tmpdir()).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BufferError, nodeFileSystem, openBuffer, type BufferEvent, type BufferRecord, type EdgeBuffer, type FileSystem } from '../src/index.js';
import { dec, enc, tempDir } from './helpers/tmp.js';
import { SimFS } from './helpers/sim-fs.js';

let dir: string;
let cleanup: () => Promise<void>;
const open: EdgeBuffer[] = [];

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  for (const b of open.splice(0)) await b.close();
  await cleanup();
});

async function make(extra: Partial<Parameters<typeof openBuffer>[0]> = {}): Promise<EdgeBuffer> {
  const b = await openBuffer({ dir, maxBytes: 1 << 20, ...extra });
  open.push(b);
  return b;
}

async function readAll(b: EdgeBuffer): Promise<BufferRecord[]> {
  const out: BufferRecord[] = [];
  for (let r = await b.tryRead(); r !== undefined; r = await b.tryRead()) out.push(r);
  return out;
}

describe('append / read / ack', () => {
  it.each(['fsync', 'batch', 'none'] as const)("'%s': FIFO across segments and a reopen; unacked records come back", async (durability) => {
    const b = await make({ durability, segmentBytes: 4096 });
    const seqs = await Promise.all(Array.from({ length: 300 }, (_, i) => b.append(enc(`m${i}`))));
    expect(seqs).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    const first = await readAll(b);
    expect(first.map((r) => dec(r.payload))).toEqual(Array.from({ length: 300 }, (_, i) => `m${i}`));
    await b.ack(120);
    await b.close();
    const again = await make({ durability, segmentBytes: 4096 });
    const rest = await readAll(again);
    expect(rest.map((r) => r.seq)).toEqual(Array.from({ length: 180 }, (_, i) => i + 121));
    expect(await again.append(enc('next'))).toBe(301);
  });

  it('append copies the payload: mutating it afterwards changes nothing stored', async () => {
    const b = await make();
    const payload = enc('abc');
    const done = b.append(payload);
    payload[0] = 0x7a;
    await done;
    expect(dec((await b.read()).payload)).toBe('abc');
  });

  it('accepts views without caring about their offset', async () => {
    const b = await make();
    const backing = enc('xxhelloxx');
    await b.append(backing.subarray(2, 7));
    expect(dec((await b.read()).payload)).toBe('hello');
  });

  it('peek does not consume; rewind redelivers from the first unacknowledged record', async () => {
    const b = await make();
    for (const s of ['a', 'b', 'c']) await b.append(enc(s));
    expect((await b.peek())?.seq).toBe(1);
    expect((await b.peek())?.seq).toBe(1);
    expect((await b.read()).seq).toBe(1);
    expect((await b.read()).seq).toBe(2);
    await b.ack(1);
    await b.rewind();
    expect((await b.read()).seq).toBe(2);
  });

  it('ack is cumulative, resolves after the checkpoint is durable, and deletes covered segments afterwards', async () => {
    const b = await make({ segmentBytes: 4096 });
    for (let i = 0; i < 200; i++) await b.append(new Uint8Array(100));
    const segsBefore = readdirSync(dir).filter((n) => n.endsWith('.seg')).length;
    expect(segsBefore).toBeGreaterThan(3);
    for (let i = 0; i < 150; i++) await b.read();
    await b.ack(150);
    expect(existsSync(join(dir, 'checkpoint'))).toBe(true);
    expect(b.stats()).toMatchObject({ ackedSeq: 150, durableAckedSeq: 150, records: 50 });
    await b.close();
    expect(readdirSync(dir).filter((n) => n.endsWith('.seg')).length).toBeLessThan(segsBefore);
  });

  it('ack beyond the last record read is a RangeError; acking old seqs is a no-op', async () => {
    const b = await make();
    await b.append(enc('a'));
    await b.append(enc('b'));
    await expect(b.ack(1)).rejects.toThrow(RangeError);
    await expect(b.ack(1)).rejects.toThrow('ack: seq: expected at most 0 (the last record read), found 1');
    await b.read();
    await b.ack(1);
    await b.ack(0);
    await b.ack(1);
    expect(b.stats().ackedSeq).toBe(1);
  });
});

describe('waiting for data', () => {
  it('read() resolves when a record arrives', async () => {
    const b = await make();
    const pending = b.read();
    await new Promise((r) => setTimeout(r, 20));
    await b.append(enc('late'));
    expect(dec((await pending).payload)).toBe('late');
  });

  it('concurrent reads get successive records', async () => {
    const b = await make();
    const reads = [b.read(), b.read(), b.read()];
    for (const s of ['1', '2', '3']) await b.append(enc(s));
    expect((await Promise.all(reads)).map((r) => r.seq)).toEqual([1, 2, 3]);
  });

  it('abort rejects with ABORTED; close rejects waiting reads with CLOSED', async () => {
    const b = await make();
    const ac = new AbortController();
    const aborted = b.read({ signal: ac.signal });
    ac.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(b.read({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
    const waiting = expect(b.read()).rejects.toMatchObject({ code: 'CLOSED' }); // handled before close does I/O
    await b.close();
    await waiting;
    await expect(b.append(enc('x'))).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(b.ack(0)).rejects.toMatchObject({ code: 'CLOSED' });
    await b.close(); // idempotent
    expect(b.stats().closed).toBe(true);
  });
});

describe('drain', () => {
  it('sends in order, at most maxInFlight at once, and acks what was confirmed', async () => {
    const b = await make();
    for (let i = 1; i <= 50; i++) await b.append(enc(String(i)));
    let inFlight = 0;
    let peak = 0;
    const got: number[] = [];
    const r = await b.drain(
      async (rec) => {
        got.push(rec.seq);
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((res) => setTimeout(res, rec.seq % 3));
        inFlight--;
      },
      { maxInFlight: 4 },
    );
    expect(r).toEqual({ sent: 50, lastSeq: 50, stopped: 'empty' });
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(peak).toBe(4);
    expect(b.stats().durableAckedSeq).toBe(50);
  });

  it('a failed send: confirmed prefix acked, the error rethrown, the rest redelivered next time', async () => {
    const b = await make();
    for (let i = 1; i <= 10; i++) await b.append(enc(String(i)));
    const boom = new Error('broker gone');
    await expect(
      b.drain(async (rec) => {
        if (rec.seq === 6) throw boom;
      }, { maxInFlight: 3 }),
    ).rejects.toBe(boom);
    expect(b.stats().ackedSeq).toBe(5);
    const seen: number[] = [];
    const r = await b.drain((rec) => {
      seen.push(rec.seq);
    });
    expect(seen).toEqual([6, 7, 8, 9, 10]);
    expect(r.sent).toBe(5);
  });

  it('follow mode drains live until aborted; a second drain is BUSY', async () => {
    const b = await make();
    const ac = new AbortController();
    const seen: number[] = [];
    const running = b.drain(
      async (rec) => {
        seen.push(rec.seq);
        if (rec.seq === 5) ac.abort();
      },
      { follow: true, signal: ac.signal, maxInFlight: 2 },
    );
    await expect(b.drain(() => undefined)).rejects.toMatchObject({ code: 'BUSY' });
    for (let i = 1; i <= 5; i++) {
      await b.append(enc(String(i)));
      await new Promise((r) => setTimeout(r, 5));
    }
    const r = await running;
    expect(r.stopped).toBe('aborted');
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(r.lastSeq).toBe(5);
  });
});

describe('bounded', () => {
  it("'reject' at maxRecords: BUFFER_FULL, nothing lost; room again after an ack", async () => {
    const b = await make({ maxRecords: 5 });
    for (let i = 1; i <= 5; i++) await b.append(enc(String(i)));
    const err = await b.append(enc('6')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BufferError);
    expect(err).toMatchObject({ code: 'BUFFER_FULL', message: expect.stringContaining('maxRecords 5') });
    await b.read();
    await b.ack(1);
    expect(await b.append(enc('6'))).toBe(6);
    expect((await readAll(b)).map((r) => dec(r.payload))).toEqual(['2', '3', '4', '5', '6']);
  });

  it("'reject' at maxBytes: stops before the bound and keeps every accepted record", async () => {
    const b = await make({ maxBytes: 8192, segmentBytes: 1024 });
    let accepted = 0;
    for (;;) {
      const r = await b.append(new Uint8Array(100).fill(accepted & 0xff)).catch((e: unknown) => e);
      if (r instanceof BufferError) {
        expect(r.code).toBe('BUFFER_FULL');
        break;
      }
      accepted++;
    }
    expect(b.stats().bytes).toBeLessThanOrEqual(8192);
    expect(accepted).toBeGreaterThan(60);
    const all = await readAll(b);
    expect(all.length).toBe(accepted);
    all.forEach((r, i) => expect(r.payload[0]).toBe(i & 0xff));
  });

  it("'drop-oldest': appends never fail, the oldest segments go, counted in stats and events", async () => {
    const events: BufferEvent[] = [];
    const b = await make({ maxBytes: 8192, segmentBytes: 1024, overflow: 'drop-oldest', onEvent: (e) => events.push(e) });
    for (let i = 1; i <= 500; i++) await b.append(new Uint8Array(100).fill(i & 0xff));
    const stats = b.stats();
    expect(stats.bytes).toBeLessThanOrEqual(8192);
    const drops = events.filter((e): e is Extract<BufferEvent, { type: 'drop' }> => e.type === 'drop');
    expect(drops.length).toBeGreaterThan(0);
    expect(drops.reduce((n, e) => n + e.count, 0)).toBe(stats.dropped);
    const left = await readAll(b);
    // What is left is the newest records, contiguous, ending with the last append.
    expect(left.length + stats.dropped).toBe(500);
    left.forEach((r, i) => expect(r.seq).toBe(500 - left.length + 1 + i));
    await b.close();
    open.length = 0;
    const again = await make({ maxBytes: 8192, segmentBytes: 1024, overflow: 'drop-oldest' });
    expect((await readAll(again)).map((r) => r.seq)).toEqual(left.map((r) => r.seq));
  });

  it("'drop-oldest' also skips records a reader had not reached", async () => {
    const b = await make({ maxBytes: 4096, segmentBytes: 1024, overflow: 'drop-oldest', maxRecords: 20 });
    for (let i = 1; i <= 5; i++) await b.append(enc(String(i)));
    expect((await b.read()).seq).toBe(1);
    for (let i = 6; i <= 60; i++) await b.append(enc(String(i)));
    const r = await b.read();
    expect(r.seq).toBeGreaterThan(2);
    expect(b.stats().records).toBeLessThanOrEqual(20);
  });
});

describe('group commit', () => {
  it("'batch' shares fsyncs among concurrent appends; 'fsync' syncs each", async () => {
    const count = async (durability: 'fsync' | 'batch'): Promise<number> => {
      let syncs = 0;
      const real = nodeFileSystem();
      const fs: FileSystem = {
        ...real,
        open: async (path, mode) => {
          const f = await real.open(path, mode);
          return { ...f, read: f.read.bind(f), write: f.write.bind(f), truncate: f.truncate.bind(f), size: f.size.bind(f), close: f.close.bind(f), sync: async () => { syncs++; await f.sync(); } };
        },
      };
      const { dir: d, cleanup: c } = await tempDir();
      // preallocate: false — the background zero-fill of the next segment syncs too.
      const b = await openBuffer({ dir: d, maxBytes: 1 << 20, durability, preallocate: false, fs });
      await Promise.all(Array.from({ length: 64 }, (_, i) => b.append(enc(String(i)))));
      await b.close();
      await c();
      return syncs;
    };
    expect(await count('fsync')).toBe(64 + 1); // one per append, one for the seal written by close
    expect(await count('batch')).toBeLessThan(16);
  });
});

describe('commit delay', () => {
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  /** 8 appenders that each come back a different number of event-loop turns after their append resolved. */
  async function spread(commitDelayMs: number, appenders: number): Promise<{ syncs: number; delays: number; seqs: number[] }> {
    const sim = new SimFS();
    sim.log = [];
    let delays = 0;
    const delay = async (): Promise<void> => {
      delays++;
      for (let i = 0; i < 20; i++) await turn(); // an injected timer: "later" = 20 turns
    };
    const b = await openBuffer({ dir: '/cd', maxBytes: 1 << 20, durability: 'batch', fs: sim, commitDelayMs, delay });
    const seqs: number[] = [];
    await Promise.all(
      Array.from({ length: appenders }, async (_, k) => {
        for (let i = 0; i < 10; i++) {
          seqs.push(await b.append(enc(`${k}-${i}`)));
          for (let t = 0; t <= k; t++) await turn();
        }
      }),
    );
    await b.close();
    const syncs = sim.log.filter((op) => op.kind === 'sync' && op.path.endsWith('.seg')).length;
    return { syncs, delays, seqs: seqs.sort((x, y) => x - y) };
  }

  it('appenders arriving in different event-loop turns share fdatasyncs with commitDelayMs; a lone appender never waits', async () => {
    const without = await spread(0, 8);
    const delayed = await spread(5, 8);
    expect(without.delays).toBe(0);
    expect(delayed.delays).toBeGreaterThan(0);
    expect(delayed.syncs).toBeLessThan(without.syncs);
    expect(delayed.seqs).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
    const lone = await spread(5, 1);
    expect(lone.delays).toBe(0);
    expect(lone.syncs).toBe(10);
  });

  it('commitDelayMs and delay are checked', async () => {
    await expect(openBuffer({ dir: '/x', maxBytes: 1 << 20, fs: new SimFS(), commitDelayMs: 1001 })).rejects.toThrow(RangeError);
    await expect(openBuffer({ dir: '/x', maxBytes: 1 << 20, fs: new SimFS(), commitDelayMs: '1' as never })).rejects.toThrow(TypeError);
    await expect(openBuffer({ dir: '/x', maxBytes: 1 << 20, fs: new SimFS(), delay: 5 as never })).rejects.toThrow(TypeError);
  });
});

describe('events', () => {
  it('on() delivers typed events and returns an unsubscribe; a throwing listener becomes one error event', async () => {
    const b = await make({ maxBytes: 4096, segmentBytes: 1024, overflow: 'drop-oldest' });
    const drops: number[] = [];
    const errors: Error[] = [];
    const off = b.on('drop', (e) => drops.push(e.count));
    b.on('drop', () => {
      throw new Error('listener bug');
    });
    b.on('error', (e) => errors.push(e.error));
    for (let i = 0; i < 100; i++) await b.append(new Uint8Array(100));
    expect(drops.length).toBeGreaterThan(0);
    expect(errors[0]).toBeInstanceOf(AggregateError);
    const n = drops.length;
    off();
    for (let i = 0; i < 100; i++) await b.append(new Uint8Array(100));
    expect(drops.length).toBe(n);
  });
});

describe('lifecycle', () => {
  it("close() lets queued appends finish ('batch'); they are there after reopening", async () => {
    const b = await make({ durability: 'batch' });
    const pending = Array.from({ length: 100 }, (_, i) => b.append(enc(String(i))));
    await b.close();
    expect(await Promise.all(pending)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    open.length = 0;
    const again = await make({ durability: 'batch' });
    expect((await readAll(again)).length).toBe(100);
  });

  it('segments are deleted while a reader keeps reading later ones (no EBADF under the reader)', async () => {
    const b = await make({ segmentBytes: 4096 });
    for (let i = 0; i < 400; i++) await b.append(new Uint8Array(100).fill(i & 0xff));
    const acks: Promise<void>[] = [];
    for (let i = 0; i < 400; i++) {
      const r = await b.read();
      expect(r.payload[0]).toBe(i & 0xff);
      acks.push(b.ack(r.seq));
    }
    await Promise.all(acks);
    await b.close();
    expect(readdirSync(dir).filter((n) => n.endsWith('.seg')).length).toBe(1);
  });

  it('appends and a live reader interleave: every record arrives once, in order', async () => {
    const b = await make({ segmentBytes: 4096, durability: 'batch' });
    const got: number[] = [];
    const reader = (async () => {
      while (got.length < 500) {
        const r = await b.read();
        got.push(r.seq);
        if (r.seq % 7 === 0) await b.ack(r.seq);
      }
    })();
    for (let i = 0; i < 500; i += 10) await Promise.all(Array.from({ length: 10 }, () => b.append(new Uint8Array(64))));
    await reader;
    expect(got).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
  });
});
