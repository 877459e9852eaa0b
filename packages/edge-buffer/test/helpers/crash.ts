import { expect } from 'vitest';
import { basename } from 'node:path';
import { openBuffer, type BufferRecord, type Durability } from '../../src/index.js';
import { decodeRecordAt, decodeSegmentHeader, SEGMENT_HEADER_SIZE } from '../../src/codec.js';
import { CrashError, SimFS, rng } from './sim-fs.js';

export const DIR = '/data/buf';

/** Deterministic payload of the i-th append (seq i + 1): 40..140 bytes, content derived from i. */
export function payloadOf(i: number): Uint8Array {
  const len = 40 + ((i * 37) % 101);
  const p = new Uint8Array(len);
  for (let j = 0; j < len; j++) p[j] = (i * 31 + j * 7 + 1) & 0xff;
  p[0] = i & 0xff;
  p[1] = (i >>> 8) & 0xff;
  return p;
}

export interface WorkloadLog {
  /** Seqs whose append resolved. */
  appended: Set<number>;
  /** Highest seq whose ack resolved (durably consumed). */
  consumed: number;
  acks: number;
}

/** An injected commit-delay timer: three event-loop turns, no wall-clock time. */
async function turns(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

// directWriteBytes 100: payloads of 100..140 bytes take the vectored no-copy path (writev of
// [header, caller's payload]) whenever the writer is idle and does not write through
// writeDurable (which reads the chunks later: 'none' mode, or a file system without it), the
// others the arena copy.
export const WORKLOAD = { appends: 220, acks: 150, segmentBytes: 4096, directWriteBytes: 100 };

/**
 * ≥200 appends across ≥3 segment rotations, 150 acks, ≥2 segment deletions.
 * 'fsync': one append at a time. 'batch': groups of 8 concurrent appends (group commit).
 */
export async function workload(fs: SimFS, durability: Durability, log: WorkloadLog): Promise<void> {
  // 'batch' runs with the commit delay on (an injected timer of a few event-loop turns), so crash
  // points fall inside delayed groups too.
  const commitDelay = durability === 'batch' ? { commitDelayMs: 1, delay: turns } : {};
  const buf = await openBuffer({ dir: DIR, maxBytes: 1 << 20, segmentBytes: WORKLOAD.segmentBytes, directWriteBytes: WORKLOAD.directWriteBytes, durability, fs, ...commitDelay });
  const group = durability === 'fsync' ? 1 : 8;
  for (let i = 0; i < WORKLOAD.appends; i += group) {
    const batch = [];
    for (let j = i; j < Math.min(i + group, WORKLOAD.appends); j++) {
      const p = payloadOf(j);
      batch.push(buf.append(p).then((seq) => log.appended.add(seq)));
      // The caller may reuse its buffer as soon as append() returns: the stored bytes must not change.
      p.fill(0xee);
    }
    await Promise.all(batch);
    for (let j = i; j < i + group && j < WORKLOAD.appends; j++) {
      if (j >= 20 && j % 4 !== 0 && log.acks < WORKLOAD.acks) {
        const rec = await buf.tryRead();
        if (rec === undefined) continue;
        log.acks++;
        await buf.ack(rec.seq);
        log.consumed = Math.max(log.consumed, rec.seq);
      }
    }
  }
  await buf.close();
}

export function newLog(): WorkloadLog {
  return { appended: new Set(), consumed: 0, acks: 0 };
}

/** Runs the workload until the simulated crash (or the end); never throws anything but CrashError. */
export async function runUntilCrash(fs: SimFS, durability: Durability, log: WorkloadLog): Promise<boolean> {
  try {
    await workload(fs, durability, log);
    return fs.crashed;
  } catch (err) {
    if (err instanceof CrashError || fs.crashed) return true;
    throw err;
  }
}

/** All seqs stored in live segment files, decoded straight from the bytes. */
export function seqsOnDisk(fs: SimFS): number[] {
  const seqs: number[] = [];
  for (const path of [...fs.entries.keys()].sort()) {
    if (!basename(path).endsWith('.seg')) continue;
    const b = fs.bytes(path)!;
    if (decodeSegmentHeader(b).type !== 'ok') continue;
    let o = SEGMENT_HEADER_SIZE;
    for (;;) {
      const r = decodeRecordAt(b, o, 1 << 20);
      if (r.type !== 'ok') break;
      seqs.push(r.seq);
      o += r.size;
    }
  }
  return seqs;
}

export interface Recovered {
  acked: number;
  records: BufferRecord[];
}

/** Opens the image, reads everything, checks the invariants against the log; returns what it saw. */
/**
 * `durable: false` ('none' mode) drops the "every acknowledged append survives" check: that mode
 * may lose its unsynced tail. Order, no gap, no duplicate and no garbage are still required.
 */
export async function recoverAndCheck(img: SimFS, log: WorkloadLog, durable = true): Promise<Recovered> {
  const buf = await openBuffer({ dir: DIR, maxBytes: 1 << 20, segmentBytes: WORKLOAD.segmentBytes, fs: img });
  const acked = buf.stats().ackedSeq;
  const records: BufferRecord[] = [];
  for (;;) {
    const r = await buf.tryRead();
    if (r === undefined) break;
    records.push(r);
  }
  // Checked by hand and reported through one expect: this runs thousands of times.
  const problems: string[] = [];
  // A durable ack is never forgotten; nothing at or below the checkpoint is redelivered.
  if (acked < log.consumed) problems.push(`checkpoint ${acked} behind durable ack ${log.consumed}`);
  // In order, no gap, no duplicate: exactly acked+1 .. last.
  records.forEach((r, i) => {
    if (r.seq !== acked + 1 + i) problems.push(`record ${i}: seq ${r.seq}, expected ${acked + 1 + i}`);
  });
  // Every acknowledged append that was not consumed is present, with its bytes (no garbage).
  const last = records.length > 0 ? records[records.length - 1]!.seq : acked;
  if (durable) for (const seq of log.appended) if (seq > last) problems.push(`acknowledged append ${seq} lost (last ${last})`);
  for (const r of records) {
    const want = payloadOf(r.seq - 1);
    if (r.payload.length !== want.length || r.payload.some((b, i) => b !== want[i])) problems.push(`seq ${r.seq}: payload differs`);
  }
  // No sequence number twice on disk.
  const onDisk = seqsOnDisk(img);
  if (new Set(onDisk).size !== onDisk.length) problems.push('duplicate seq on disk');
  expect(problems).toEqual([]);
  // Still usable: the next append continues after everything seen.
  const seq = await buf.append(new Uint8Array([1, 2, 3]));
  expect(seq).toBeGreaterThan(Math.max(last, acked));
  await buf.close();
  return { acked, records };
}

export async function countOps(durability: Durability, durableWrites = true): Promise<{ total: number; created: number; deleted: number; prepared: number }> {
  const fs = new SimFS();
  fs.durableWrites = durableWrites;
  fs.log = [];
  await workload(fs, durability, newLog());
  const segOps = fs.log.filter((op) => basename(op.path).endsWith('.seg'));
  // A rotation creates an empty file, or renames a prepared (zero-filled) one into place.
  const prepared = fs.log.filter((op) => op.kind === 'rename' && basename(op.path) === 'segment.prep').length;
  return {
    total: fs.ops,
    prepared,
    created: segOps.filter((op) => op.kind === 'open' && op.mode === 'create').length + prepared,
    deleted: segOps.filter((op) => op.kind === 'unlink').length,
  };
}

/**
 * Crashes the workload at every `stride`-th operation and checks recovery; for crash points that
 * are multiples of `recoveryStride` (0: none) also crashes at every operation of recovery itself.
 * `durableWrites: false`: the file system has no `writeDurable` (the buffer writes, then syncs).
 */
export async function crashEveryOp(durability: Durability, stride: number, recoveryStride: number, durableWrites = true): Promise<number> {
  const durable = durability !== 'none';
  const { total } = await countOps(durability, durableWrites);
  let checked = 0;
  for (let k = 1; k <= total; k += stride) {
    const fs = new SimFS();
    fs.durableWrites = durableWrites;
    fs.crashAt = k;
    const log = newLog();
    const crashed = await runUntilCrash(fs, durability, log);
    expect(crashed).toBe(true);
    const img = fs.crashImage();
    const baseline = await recoverAndCheck(img.clone(), log, durable);
    // And the adversarial image: each directory operation since the last fsync(dir) kept or lost
    // independently, unsynced sectors kept at random.
    await recoverAndCheck(fs.crashImage(rng(k)), log, durable);
    checked++;
    if (recoveryStride === 0 || k % recoveryStride !== 0) continue;
    // Crash at every op of recovery, then recover again: same outcome.
    const probe = img.clone();
    const b = await openBuffer({ dir: DIR, maxBytes: 1 << 20, segmentBytes: WORKLOAD.segmentBytes, fs: probe });
    const recoveryOps = probe.ops;
    await b.close();
    for (let j = 1; j <= recoveryOps; j++) {
      const again = img.clone();
      again.crashAt = j;
      // A crash inside recovery rejects openBuffer, except when it hits a final best-effort close.
      await openBuffer({ dir: DIR, maxBytes: 1 << 20, segmentBytes: WORKLOAD.segmentBytes, fs: again }).catch(() => undefined);
      expect(again.crashed).toBe(true);
      await recoverAndCheck(again.crashImage(rng(k * 1000 + j)), log, durable);
      const second = await recoverAndCheck(again.crashImage(), log, durable);
      expect(second.acked).toBe(baseline.acked);
      expect(second.records.map((r) => r.seq)).toEqual(baseline.records.map((r) => r.seq));
      checked++;
    }
  }
  return checked;
}

