// The rollout journal (fileControllerStore): a torn tail is repaired before the next append, and a
// power cut at every file operation of an append, and of the reopen + append after it, keeps every
// acknowledged event (issue #15, item 5). SimFS is the crash simulator the slot manager's
// crash-point test uses; the first test runs on real files.
import { describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileControllerStore, openRolloutController, OtaError, planRollout, type RolloutEvent } from '../src/index.js';
import { SimFS, type CrashModel } from './helpers/sim-fs.js';

const tmp = (): string => join(mkdtempSync(join(tmpdir(), 'ota-journal-')), 'rollout.jsonl');
const ev = (i: number): RolloutEvent => ({ type: 'report', at: i, device: `dev-${i}`, status: 'confirmed' });

describe('rollout journal on real files', () => {
  it('an acknowledged resume after a torn tail survives the restart, and the journal still opens one append later', async () => {
    const path = tmp();
    const plan = planRollout({ devices: ['a', 'b', 'c'], seed: 's', waves: [1] });
    const c1 = await openRolloutController(plan, fileControllerStore(path));
    await c1.pause(1);
    appendFileSync(path, '{"type":"report","at":2,"dev'); // power cut during an append
    const c2 = await openRolloutController(plan, fileControllerStore(path));
    expect(c2.snapshot().status).toBe('paused');
    await c2.resume(3); // acknowledged
    const c3 = await openRolloutController(plan, fileControllerStore(path));
    expect(c3.snapshot().status).toBe('running');
    await c3.pause(4);
    const c4 = await openRolloutController(plan, fileControllerStore(path));
    expect(c4.snapshot().status).toBe('paused');
    expect(await fileControllerStore(path).load()).toEqual([{ type: 'pause', at: 1 }, { type: 'resume', at: 3 }, { type: 'pause', at: 4 }]);
    expect(readFileSync(path, 'utf8').endsWith('{"type":"pause","at":4}\n')).toBe(true);
  });

  it('the repair is reported; a bad line before the last one is MALFORMED, never skipped', async () => {
    const path = tmp();
    writeFileSync(path, `${JSON.stringify(ev(1))}\n${JSON.stringify(ev(2)).slice(0, 9)}`);
    const dropped: number[] = [];
    const store = fileControllerStore(path, { onRepair: (n) => dropped.push(n) });
    expect(await store.load()).toEqual([ev(1)]);
    expect(dropped).toEqual([9]);
    expect(readFileSync(path, 'utf8')).toBe(`${JSON.stringify(ev(1))}\n`);
    writeFileSync(path, `${JSON.stringify(ev(1))}\nnot json\n${JSON.stringify(ev(3))}\n`);
    await expect(fileControllerStore(path).load()).rejects.toMatchObject({ name: 'OtaError', code: 'MALFORMED', message: expect.stringContaining('line 2') });
    writeFileSync(path, `${JSON.stringify(ev(1))}\n{"type":"explode","at":1}\n`);
    await expect(fileControllerStore(path).load()).rejects.toBeInstanceOf(OtaError);
    await expect(fileControllerStore(path).append({ type: 'pause' } as never)).rejects.toBeInstanceOf(TypeError);
    expect(() => fileControllerStore(path, { onRepair: 5 as never })).toThrow(TypeError);
  });
});

// --- power cut at every file operation ---

const PATH = '/j/rollout.jsonl';
const FIRST = [ev(1), ev(2), ev(3)];
const SECOND = [ev(10), ev(11)];

/** Appends `events`, pushing each one to `acked` once append() resolved (the acknowledgement). */
async function appendAll(fs: SimFS, events: RolloutEvent[], acked: RolloutEvent[]): Promise<void> {
  const store = fileControllerStore(PATH, { fs });
  for (const e of events) {
    await store.append(e);
    acked.push(e);
  }
}

/** What a reopen finds: every acknowledged event in order, plus at most the one in flight. */
async function reopen(fs: SimFS, acked: RolloutEvent[], inFlight: RolloutEvent | undefined): Promise<RolloutEvent[]> {
  const loaded = await fileControllerStore(PATH, { fs: fs.crashImage('strict') }).load();
  expect(loaded.slice(0, acked.length)).toEqual(acked);
  expect(loaded.slice(acked.length)).toEqual(loaded.length > acked.length ? [inFlight] : []);
  return loaded;
}

const opsOf = async (run: (fs: SimFS) => Promise<void>, fs: SimFS): Promise<number> => {
  const start = fs.ops;
  await run(fs);
  return fs.ops - start;
};

async function crashEveryAppendOp(model: CrashModel): Promise<number> {
  let points = 0;
  const total = await opsOf((fs) => appendAll(fs, FIRST, []), new SimFS());
  for (let k = 1; k <= total; k++) {
    const fs = new SimFS();
    fs.crashAt = k;
    const acked: RolloutEvent[] = [];
    await appendAll(fs, FIRST, acked).catch(() => undefined);
    expect(fs.crashed).toBe(true);
    const img = fs.crashImage(model);
    const kept = await reopen(img, acked, FIRST[acked.length]);
    // Reopen and append again, cutting power at every operation of that too (load, repair, append).
    const recovery = await opsOf((f) => appendAll(f, SECOND, []), img.crashImage('strict'));
    for (let j = 1; j <= recovery; j++) {
      const again = img.crashImage('strict');
      again.crashAt = j;
      const acked2 = [...kept];
      await appendAll(again, SECOND, acked2).catch(() => undefined);
      const after = again.crashImage(model);
      const kept2 = await reopen(after, acked2, SECOND[acked2.length - kept.length]);
      // …and the journal still takes appends and opens after them.
      const final = [...kept2];
      await appendAll(after, [ev(20), ev(21)], final);
      expect(await reopen(after, final, undefined)).toEqual(final);
      points++;
    }
  }
  return points;
}

describe('rollout journal: power cut at every file operation', () => {
  for (const model of ['strict', 'eager-metadata', 'torn'] as const) {
    it(`${model}: every acknowledged event is kept across the cut, the reopen and the next appends`, async () => {
      expect(await crashEveryAppendOp(model)).toBeGreaterThan(100);
    });
  }

  it('the journal goes through the injected file system (creation made durable by a directory fsync)', async () => {
    const fs = new SimFS();
    await appendAll(fs, [ev(1)], []);
    expect(fs.opLog).toEqual(expect.arrayContaining(['openAppend /j/rollout.jsonl', 'sync /j/rollout.jsonl', 'syncDir /j']));
    expect(await fileControllerStore(PATH, { fs: fs.crashImage('strict') }).load()).toEqual([ev(1)]);
  });
});
