// Arbitrary bytes into the decoders, the segment reader and recovery: they terminate, never throw
// anything undocumented, never allocate past their limits, and still work afterwards.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { join } from 'node:path';
import { BufferError, openBuffer, type FileHandle } from '../src/index.js';
import { decodeCheckpoint, decodeRecordAt, decodeSegmentHeader, encodeRecord, encodeSegmentHeader, segmentFileName } from '../src/codec.js';
import { SegmentReader } from '../src/segment-reader.js';
import { SimFS } from './helpers/sim-fs.js';

const valid = encodeRecord(5, new Uint8Array([1, 2, 3]));

/** A FileHandle over bytes that records the largest read it was asked for. */
function handleOver(bytes: Uint8Array): { file: FileHandle; maxRead: () => number } {
  let max = 0;
  const file: FileHandle = {
    read: async (into: Uint8Array, position: number) => {
      max = Math.max(max, into.length);
      const n = Math.max(0, Math.min(into.length, bytes.length - position));
      into.set(bytes.subarray(position, position + n));
      return n;
    },
    write: async () => undefined,
    sync: async () => undefined,
    truncate: async () => undefined,
    size: async () => bytes.length,
    close: async () => undefined,
  };
  return { file, maxRead: () => max };
}

describe('fuzz', () => {
  it('decoders: only ok / incomplete / malformed, with in-range offsets; still decode afterwards', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), (bytes, off) => {
        const offset = Math.min(off, bytes.length);
        const r = decodeRecordAt(bytes, offset, 64);
        expect(['ok', 'incomplete', 'malformed']).toContain(r.type);
        if (r.type === 'ok') expect(r.payload.length).toBeLessThanOrEqual(64);
        if (r.type === 'malformed') expect(r.offset).toBeLessThanOrEqual(bytes.length);
        if (r.type === 'incomplete') expect(r.needed).toBeGreaterThan(0);
        expect(['ok', 'incomplete', 'malformed']).toContain(decodeSegmentHeader(bytes).type);
        expect(['ok', 'incomplete', 'malformed']).toContain(decodeCheckpoint(bytes).type);
        expect(decodeRecordAt(valid, 0, 64)).toMatchObject({ type: 'ok', seq: 5 });
      }),
      { numRuns: 3000 },
    );
  });

  it('segment reader: terminates, offsets only move forward, never reads more than its window or the file', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4000 }), fc.boolean(), async (noise, withRecords) => {
        const bytes = withRecords ? new Uint8Array([...encodeRecord(1, new Uint8Array(10)), ...noise]) : noise;
        const { file, maxRead } = handleOver(bytes);
        const reader = new SegmentReader(file, 1 << 20, 0, 1024);
        let steps = 0;
        let last = -1;
        for (;;) {
          const s = await reader.next(bytes.length);
          steps++;
          expect(steps).toBeLessThan(1000);
          if (s.type !== 'record') {
            expect(['end', 'incomplete', 'malformed']).toContain(s.type);
            break;
          }
          expect(s.offset).toBeGreaterThan(last);
          last = s.offset;
        }
        // A forged 4 GiB length never makes it allocate or read beyond what the file holds.
        expect(maxRead()).toBeLessThanOrEqual(Math.max(4096, bytes.length));
      }),
      { numRuns: 1500 },
    );
  });

  it('recovery over arbitrary segment files: opens, reads, appends; only BufferError escapes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 60 }), fc.uint8Array({ maxLength: 600 }), fc.boolean()), { maxLength: 4 }),
        fc.option(fc.uint8Array({ maxLength: 30 })),
        async (files, checkpoint) => {
          const fs = new SimFS();
          fs.dirs.add('/f');
          for (const [base, noise, framed] of files) {
            const body = framed ? new Uint8Array([...encodeSegmentHeader(base), ...encodeRecord(base, new Uint8Array(4)), ...noise]) : noise;
            fs.put(join('/f', segmentFileName(base)), body);
          }
          if (checkpoint !== null) fs.put('/f/checkpoint', checkpoint);
          let buf;
          try {
            buf = await openBuffer({ dir: '/f', maxBytes: 1 << 20, fs });
          } catch (err) {
            expect(err).toBeInstanceOf(BufferError);
            return;
          }
          let last = 0;
          for (let r = await buf.tryRead(); r !== undefined; r = await buf.tryRead()) {
            expect(r.seq).toBeGreaterThan(last);
            last = r.seq;
          }
          const seq = await buf.append(new Uint8Array([9]));
          expect(seq).toBeGreaterThan(last);
          expect((await buf.tryRead())?.seq).toBe(seq);
          await buf.close();
          // And recovering again is stable: no new events, same content.
          const events: unknown[] = [];
          const again = await openBuffer({ dir: '/f', maxBytes: 1 << 20, fs, onEvent: (e) => events.push(e) });
          // Files changed only once: a second open truncates and sets aside nothing; damage still
          // in place (and the records it cost) is reported again, the same way each time.
          expect(events.filter((e) => (e as { type: string }).type !== 'damage' && (e as { type: string }).type !== 'lost')).toEqual([]);
          await again.close();
        },
      ),
      { numRuns: 400 },
    );
  });
});
