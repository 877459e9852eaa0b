// Model-based test: random command sequences against an in-memory FIFO model, with clean restarts
// and power cuts (only fsynced state survives) as commands.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { openBuffer, type EdgeBuffer } from '../src/index.js';
import { SimFS } from './helpers/sim-fs.js';

const DIR = '/model';
const MAX_RECORDS = 12;

interface Model {
  records: Array<{ seq: number; payload: Uint8Array }>;
  nextSeq: number;
  readIdx: number;
}

interface Real {
  fs: SimFS;
  buf: EdgeBuffer;
}

const openReal = (fs: SimFS): Promise<EdgeBuffer> =>
  openBuffer({ dir: DIR, maxBytes: 1 << 20, segmentBytes: 300, maxRecords: MAX_RECORDS, maxRecordBytes: 200, fs });

class Append implements fc.AsyncCommand<Model, Real> {
  constructor(readonly payload: Uint8Array) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    if (m.records.length >= MAX_RECORDS) {
      await expect(r.buf.append(this.payload)).rejects.toMatchObject({ code: 'BUFFER_FULL' });
      return;
    }
    const seq = await r.buf.append(this.payload);
    expect(seq).toBe(m.nextSeq);
    m.records.push({ seq, payload: this.payload.slice() });
    m.nextSeq++;
  }
  toString = (): string => `append(${this.payload.length})`;
}

class Read implements fc.AsyncCommand<Model, Real> {
  constructor(readonly peek: boolean) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    const got = this.peek ? await r.buf.peek() : await r.buf.tryRead();
    const want = m.records[m.readIdx];
    if (want === undefined) {
      expect(got).toBeUndefined();
      return;
    }
    expect(got).toEqual({ seq: want.seq, payload: want.payload });
    if (!this.peek) m.readIdx++;
  }
  toString = (): string => (this.peek ? 'peek' : 'read');
}

class Ack implements fc.AsyncCommand<Model, Real> {
  constructor(readonly back: number) {}
  check = (m: Readonly<Model>): boolean => m.readIdx > 0;
  async run(m: Model, r: Real): Promise<void> {
    const idx = Math.max(0, m.readIdx - 1 - this.back);
    await r.buf.ack(m.records[idx]!.seq);
    m.records.splice(0, idx + 1);
    m.readIdx -= idx + 1;
  }
  toString = (): string => `ack(-${this.back})`;
}

class Restart implements fc.AsyncCommand<Model, Real> {
  constructor(readonly crash: boolean) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    if (this.crash) {
      const img = r.fs.crashImage();
      r.fs.crashed = true; // the old process is gone: its background work fails from now on
      r.fs = img;
    } else {
      await r.buf.close();
    }
    r.buf = await openReal(r.fs);
    m.readIdx = 0;
    expect(r.buf.stats().records).toBe(m.records.length);
  }
  toString = (): string => (this.crash ? 'power-cut' : 'restart');
}

const commands = [
  fc.uint8Array({ minLength: 0, maxLength: 120 }).map((p) => new Append(p)),
  fc.boolean().map((peek) => new Read(peek)),
  fc.nat(3).map((back) => new Ack(back)),
  fc.boolean().map((crash) => new Restart(crash)),
];

describe('model', () => {
  it('behaves like a bounded FIFO across restarts and power cuts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 80 }), async (cmds) => {
        const fs = new SimFS();
        const real: Real = { fs, buf: await openReal(fs) };
        const model: Model = { records: [], nextSeq: 1, readIdx: 0 };
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        await real.buf.close();
      }),
      { numRuns: 150 },
    );
  });
});
