// The download target under power-cut states: a torn journal, an unsynced tail past the
// journalled offset, a part file shorter than the journal says, a prefix corrupted on disk.
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { tempDir } from '@outpost/test-peers';
import { JobsError } from '../src/index.js';
import { ResumableFile } from '../src/delivery/resumable.js';

const tmp = tempDir('outpost-resumable-');
afterAll(() => tmp.cleanup());
const data = new Uint8Array(randomBytes(64 * 1024));
const sha256 = new Uint8Array(createHash('sha256').update(data).digest());
const BS = 1024;
const blockCheck = { blockSize: BS, check: (i: number, b: Uint8Array) => Buffer.compare(b, data.subarray(i * BS, (i + 1) * BS)) === 0 };

/** Writes 16 KiB and journals them, appends `upTo - 16 KiB` more, and leaves the files as a crash would. */
async function partial(path: string, upTo: number): Promise<void> {
  const f = await ResumableFile.open({ path, source: 's', sha256, journalEveryBytes: 1 << 30 });
  for (let o = 0; o < upTo; o += BS) {
    await f.append(data.subarray(o, o + BS));
    if (o + BS === 16 * 1024) await f.commit();
  }
  // no close(): the process "dies" here; what is durable is what the last journal names
}

async function finish(path: string, o: { blockCheck?: typeof blockCheck } = {}): Promise<{ resumedFrom: number }> {
  const f = await ResumableFile.open({ path, source: 's', sha256, ...o });
  const resumedFrom = f.resumedFrom;
  for (let off = f.offset; off < data.length; off += BS) await f.append(data.subarray(off, Math.min(off + BS, data.length)));
  await f.finish();
  expect(Buffer.compare(readFileSync(path), data)).toBe(0);
  return { resumedFrom };
}

it('resumes from the journalled offset and drops the unsynced tail after it', async () => {
  const path = join(tmp.path, 'a.bin');
  await partial(path, 20 * 1024); // journal at 16 KiB; the 4 KiB after it never reached the disk
  appendFileSync(`${path}.part`, new Uint8Array(3000).fill(0xee)); // a torn tail past the journal
  expect(readFileSync(`${path}.part`).length).toBe(16 * 1024 + 3000);
  const { resumedFrom } = await finish(path);
  expect(resumedFrom).toBe(16 * 1024);
});

it('a torn journal starts over from byte 0', async () => {
  const path = join(tmp.path, 'b.bin');
  await partial(path, 20 * 1024);
  writeFileSync(`${path}.journal`, '{"v":1,"source":"s","sha2');
  expect((await finish(path)).resumedFrom).toBe(0);
});

it('a part file shorter than the journal says resumes from what is there', async () => {
  const path = join(tmp.path, 'c.bin');
  await partial(path, 20 * 1024);
  truncateSync(`${path}.part`, 10 * 1024);
  expect((await finish(path)).resumedFrom).toBe(10 * 1024);
});

it('a prefix block corrupted on disk: with a block check the prefix is cut before it', async () => {
  const path = join(tmp.path, 'd.bin');
  await partial(path, 20 * 1024);
  const part = readFileSync(`${path}.part`);
  part[5 * BS + 3]! ^= 1;
  writeFileSync(`${path}.part`, part);
  expect((await finish(path, { blockCheck })).resumedFrom).toBe(5 * BS);
});

it('a prefix corrupted on disk without a block check fails the digest and removes the files', async () => {
  const path = join(tmp.path, 'e.bin');
  await partial(path, 20 * 1024);
  const part = readFileSync(`${path}.part`);
  part[100]! ^= 1;
  writeFileSync(`${path}.part`, part);
  const err = await finish(path).catch((e: unknown) => e);
  expect((err as JobsError).code).toBe('DIGEST_MISMATCH');
  expect(existsSync(`${path}.part`) || existsSync(`${path}.journal`) || existsSync(path)).toBe(false);
});

it('a journal of another source or digest is not used', async () => {
  const path = join(tmp.path, 'f.bin');
  await partial(path, 20 * 1024);
  const f = await ResumableFile.open({ path, source: 'other', sha256 });
  expect(f.resumedFrom).toBe(0);
  await f.discard();
});
