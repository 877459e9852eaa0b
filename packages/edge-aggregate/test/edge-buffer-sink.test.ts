// source → window → features → sink, end to end with the sink the issue names: each summary is
// CBOR-encoded and appended to a real on-disk @outpost/edge-buffer. The buffer is closed,
// reopened (recovery scans the segments) and drained: the decoded records equal the summaries,
// in order. A failing append (a full buffer) reaches the producer instead of vanishing.
import { Encoder } from 'cbor-x';
import { BufferError, openBuffer, type BufferRecord } from '@outpost/edge-buffer';
import { tempDir } from '@outpost/test-peers';
import { afterEach, describe, expect, it } from 'vitest';
import { timeWindows, velocityRms, welchPsd } from '../src/index.js';
import { gaussian } from './signals.js';

const FS = 2048;
const cbor = new Encoder({ useRecords: false });

interface Summary {
  readonly t: number;
  readonly axis: number;
  readonly count: number;
  readonly rms: number;
  readonly kurtosis: number;
  readonly vrms: number;
}

/** `seconds` of interleaved x,y,z at FS, timestamps in ms; a tone on x that grows each second. */
function stream(seconds: number): Float32Array {
  const n = seconds * FS;
  const noise = gaussian(3 * n, 0.2, 13);
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const s = Math.floor(i / FS);
    out[3 * i] = (noise[3 * i] as number) + 0.5 * (s + 1) * Math.sin((2 * Math.PI * 80 * i) / FS);
    out[3 * i + 1] = noise[3 * i + 1] as number;
    out[3 * i + 2] = 9.81 + (noise[3 * i + 2] as number);
  }
  return out;
}

const summarise = (e: { start: number; count: number; features: readonly { rms: number; kurtosis: number }[]; samples?: Float32Array }): Summary[] =>
  e.features.map((f, axis) => ({
    t: e.start,
    axis,
    count: e.count,
    rms: f.rms,
    kurtosis: f.kurtosis,
    vrms: velocityRms(welchPsd(e.samples as Float32Array, { sampleRate: FS, segmentSize: 512, offset: axis, stride: 3 })),
  }));

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

describe('edge-buffer as the sink of a Flow', () => {
  it('summaries survive close and reopen, and drain in order, decoded equal to what was produced', async () => {
    const dir = tempDir('edge-aggregate-sink-');
    cleanup = dir.cleanup;
    const buffer = await openBuffer({ dir: dir.path, maxBytes: 1 << 20, durability: 'batch', segmentBytes: 4096 });
    const produced: Summary[] = [];
    const appends: Promise<number>[] = [];
    const gateway = timeWindows({ size: 1000, channels: 3, keepSamples: true, clock: () => 0 })
      .map(summarise)
      .to((perAxis) => {
        for (const s of perAxis) {
          produced.push(s);
          appends.push(buffer.append(cbor.encode(s) as Uint8Array)); // the sink stays synchronous; the promises are awaited below
        }
      });
    const x = stream(30);
    for (let i = 0; i < x.length; i += 3 * 700) {
      const chunk = x.subarray(i, Math.min(x.length, i + 3 * 700));
      gateway.push(chunk, ((i / 3) * 1000) / FS, 1000 / FS);
    }
    gateway.flush();
    const seqs = await Promise.all(appends); // every summary durable (or the first failure thrown)
    expect(produced.length).toBe(90);
    expect(seqs).toEqual(produced.map((_, i) => i + 1));
    expect(buffer.stats().segments).toBeGreaterThan(1); // several segment files on disk
    await buffer.close();

    const reopened = await openBuffer({ dir: dir.path, maxBytes: 1 << 20 });
    const drained: BufferRecord[] = [];
    const result = await reopened.drain(async (r) => { drained.push(r); });
    expect(result.stopped).toBe('empty');
    expect(drained.map((r) => r.seq)).toEqual(seqs);
    const decoded = drained.map((r) => cbor.decode(r.payload) as Summary);
    expect(decoded).toEqual(produced);
    // The summaries carry the signal: x grows each second, y and z stay flat.
    const x1 = decoded.filter((s) => s.axis === 0).map((s) => s.vrms);
    for (let i = 1; i < x1.length; i++) expect(x1[i]).toBeGreaterThan(x1[i - 1] as number);
    expect(decoded.filter((s) => s.axis === 2).every((s) => Math.abs(s.rms - 9.81) < 0.01)).toBe(true);
    await reopened.close();

    // Acknowledged by the drain: a third open has nothing left to deliver.
    const third = await openBuffer({ dir: dir.path, maxBytes: 1 << 20 });
    expect(await third.tryRead()).toBeUndefined();
    await third.close();
  });

  it('a full buffer rejects the append and the producer sees it (BUFFER_FULL), with nothing acknowledged lost', async () => {
    const dir = tempDir('edge-aggregate-sink-full-');
    cleanup = dir.cleanup;
    const buffer = await openBuffer({ dir: dir.path, maxBytes: 4096, maxRecords: 5, overflow: 'reject' });
    const produced: Summary[] = [];
    const appends: Promise<number>[] = [];
    const gateway = timeWindows({ size: 1000, channels: 3, keepSamples: true, clock: () => 0 })
      .map(summarise)
      .to((perAxis) => {
        for (const s of perAxis) {
          produced.push(s);
          appends.push(buffer.append(cbor.encode(s) as Uint8Array));
        }
      });
    gateway.push(stream(3), 0, 1000 / FS);
    gateway.flush();
    const settled = await Promise.allSettled(appends);
    const ok = settled.filter((s) => s.status === 'fulfilled').length;
    const failed = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    expect(ok).toBe(5);
    expect(failed.length).toBe(produced.length - 5);
    for (const f of failed) expect((f.reason as BufferError).code).toBe('BUFFER_FULL');
    await buffer.close();
    const reopened = await openBuffer({ dir: dir.path, maxBytes: 4096 });
    const drained: Summary[] = [];
    await reopened.drain(async (r) => { drained.push(cbor.decode(r.payload) as Summary); });
    expect(drained).toEqual(produced.slice(0, 5));
    await reopened.close();
  });
});
