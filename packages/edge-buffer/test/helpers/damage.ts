// The damage-matrix fixture: a closed buffer with 3 segments and a checkpoint, in memory.
import { join } from 'node:path';
import { openBuffer, type BufferEvent } from '../../src/index.js';
import { decodeRecordAt, RECORD_HEADER_SIZE, SEGMENT_HEADER_SIZE } from '../../src/codec.js';
import { SimFS } from './sim-fs.js';

export const DIR = '/damage';
/** Small segments and records so "every byte" stays a few thousand cases. */
export const OPTS = { dir: DIR, maxBytes: 1 << 20, segmentBytes: 200, maxRecordBytes: 64 } as const;

/** Payload of seq s: 12..19 bytes derived from s. */
export function payload(seq: number): Uint8Array {
  const p = new Uint8Array(12 + (seq % 8));
  for (let i = 0; i < p.length; i++) p[i] = (seq * 29 + i * 11 + 3) & 0xff;
  return p;
}

export interface Frame {
  seq: number;
  start: number;
  end: number;
}

export interface Fixture {
  fs: SimFS;
  /** Segment file names, oldest first. */
  segments: string[];
  /** Every file in the directory. */
  files: string[];
  frames: Map<string, Frame[]>;
  acked: number;
  last: number;
}

export async function buildFixture(): Promise<Fixture> {
  const fs = new SimFS();
  const buf = await openBuffer({ ...OPTS, fs });
  let last = 0;
  for (let s = 1; s <= 15; s++) last = await buf.append(payload(s));
  await buf.tryRead();
  const r = await buf.tryRead();
  await buf.ack(r!.seq);
  await buf.close();
  const files = [...fs.entries.keys()].map((k) => k.slice(DIR.length + 1)).sort();
  const segments = files.filter((n) => n.endsWith('.seg'));
  const frames = new Map<string, Frame[]>();
  for (const name of segments) {
    const bytes = fs.bytes(join(DIR, name))!;
    const list: Frame[] = [];
    for (let o = SEGMENT_HEADER_SIZE; o < bytes.length; ) {
      const d = decodeRecordAt(bytes, o, 1 << 20);
      if (d.type !== 'ok') throw new Error(`fixture: bad frame in ${name} at ${o}`);
      list.push({ seq: d.seq, start: o, end: o + d.size });
      o += d.size;
    }
    frames.set(name, list);
  }
  void RECORD_HEADER_SIZE;
  return { fs, segments, files, frames, acked: r!.seq, last };
}

/** The seqs named by `lost` events, sorted, each once. */
export function lostSet(events: BufferEvent[]): number[] {
  const out = new Set<number>();
  for (const e of events) {
    if (e.type !== 'lost') continue;
    for (let s = e.firstSeq; s <= e.lastSeq; s++) out.add(s);
  }
  return [...out].sort((a, b) => a - b);
}
