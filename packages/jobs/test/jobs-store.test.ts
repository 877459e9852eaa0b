// The durable job store: a power cut at every file operation of a workload of commits (some
// grouped into one fsync, with compactions into new snapshot generations), on @outpost/ota's
// crash-point file-system simulator (data durable at fsync, directory entries at fsync of the
// directory; 'torn' keeps half of each unsynced append; 'eager-metadata' keeps renames without
// a directory fsync). After every cut the reopened store holds exactly the state after some
// prefix of the commits, and that prefix includes every acknowledged commit.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimFS, type CrashModel } from '../../ota/test/helpers/sim-fs.js';
import { JobsError, JobsMachine, openFileJobsStore, type JobsChange, type StoredJobs } from '../src/index.js';

const DIR = '/jobs';

/** The commits of the workload: a job on three things, each started and finished, a second job canceled. */
function workloadCommits(): JobsChange[][] {
  const m = new JobsMachine();
  const commits: JobsChange[][] = [];
  const ok = <T>(o: { ok: true; changes: readonly JobsChange[] } | { ok: false } | T): void => {
    if ((o as { ok: boolean }).ok) commits.push([...(o as { changes: JobsChange[] }).changes]);
  };
  commits.push(m.createJob({ jobId: 'fw-1', document: { url: 'https://example.com/fw-1.bin', size: 123456 }, targets: ['t0', 't1', 't2'] }, 1000));
  for (const t of ['t0', 't1', 't2']) ok(m.startNext(t, { statusDetails: { step: 'download' }, stepTimeoutInMinutes: 5 }, 2000));
  for (const t of ['t0', 't1', 't2']) ok(m.update(t, 'fw-1', { status: 'IN_PROGRESS', statusDetails: { step: 'install', progress: '50' }, clientToken: `c-${t}` }, 3000));
  ok(m.update('t0', 'fw-1', { status: 'SUCCEEDED' }, 4000));
  ok(m.update('t1', 'fw-1', { status: 'FAILED', statusDetails: { reason: 'health check' } }, 4000));
  commits.push(m.sweep(10 * 60_000));
  commits.push(m.createJob({ jobId: 'fw-2', document: { url: 'https://example.com/fw-2.bin' }, targets: ['t0', 't1'] }, 11 * 60_000));
  commits.push(m.cancelJob('fw-2', false, 12 * 60_000));
  return commits.filter((c) => c.length > 0);
}

const COMMITS = workloadCommits();

function canonical(s: StoredJobs): string {
  const rows = [...s.jobs.map((j) => `j/${j.jobId}=${JSON.stringify(j)}`), ...s.executions.map((e) => `e/${e.thingName}/${e.jobId}=${JSON.stringify(e)}`)];
  return rows.sort().join('\n');
}

/** The canonical state after the first j commits, for j = 0..N. */
const PREFIX_STATES: string[] = (() => {
  const map = new Map<string, JobsChange>();
  const out = [canonical({ jobs: [], executions: [] })];
  for (const c of COMMITS) {
    for (const ch of c) map.set(ch.kind === 'job' ? `j/${ch.record.jobId}` : `e/${ch.record.thingName}/${ch.record.jobId}`, ch);
    const jobs = [...map.values()].flatMap((x) => (x.kind === 'job' ? [x.record] : []));
    const executions = [...map.values()].flatMap((x) => (x.kind === 'exec' ? [x.record] : []));
    out.push(canonical({ jobs, executions }));
  }
  return out;
})();

/** Runs the workload (commits 1-3 and 4-6 handed over together: one group commit each); returns how many were acknowledged. */
async function workload(fs: SimFS, compactBytes: number): Promise<number> {
  let acked = 0;
  try {
    const store = await openFileJobsStore({ dir: DIR, fs, compactBytes });
    let i = 0;
    while (i < COMMITS.length) {
      const group = i >= 1 && i <= 6 ? COMMITS.slice(i, i + 3) : [COMMITS[i]!];
      await Promise.all(group.map((c) => store.commit(c).then(() => { acked++; })));
      i += group.length;
    }
  } catch {
    // the power cut: what the reopened store holds is what counts
  }
  return acked;
}

async function recovered(fs: SimFS, acked: number): Promise<number> {
  const store = await openFileJobsStore({ dir: DIR, fs, compactBytes: 1 << 30 });
  const got = canonical(await store.load());
  const j = PREFIX_STATES.indexOf(got);
  expect(j, 'the recovered state is the state after some prefix of the commits').toBeGreaterThanOrEqual(0);
  expect(j, 'every acknowledged commit is kept').toBeGreaterThanOrEqual(acked);
  return j;
}

async function crashAll(model: CrashModel, compactBytes: number, recoveryStride: number): Promise<{ points: number; prefixes: Set<number> }> {
  const probe = new SimFS();
  expect(await workload(probe, compactBytes)).toBe(COMMITS.length);
  const total = probe.ops;
  const prefixes = new Set<number>();
  let points = 0;
  for (let k = 1; k <= total; k++) {
    const fs = new SimFS();
    fs.crashAt = k;
    const acked = await workload(fs, compactBytes);
    expect(fs.crashed).toBe(true);
    const image = fs.crashImage(model);
    const j = await recovered(image.crashImage('strict'), acked);
    prefixes.add(j);
    points++;
    if (recoveryStride > 0 && k % recoveryStride === 0) {
      // a second power cut at every operation of the recovery itself changes nothing
      const clean = image.crashImage('strict');
      await recovered(clean, acked);
      for (let r = 1; r <= clean.ops; r++) {
        const again = image.crashImage('strict');
        again.crashAt = r;
        await openFileJobsStore({ dir: DIR, fs: again }).then((s) => s.load(), () => undefined);
        await recovered(again.crashImage(model), acked);
        points++;
      }
    }
  }
  return { points, prefixes };
}

describe('crash points', () => {
  it('the workload compacts: snapshot generations and journals come and go', async () => {
    const fs = new SimFS();
    await workload(fs, 1500);
    const log = fs.opLog.join('\n');
    expect(log).toMatch(/rename \/jobs\/snapshot\.json\.tmp \/jobs\/snapshot\.json/);
    expect(log).toMatch(/unlink \/jobs\/journal-0\.jsonl/);
    expect(await recovered(fs.crashImage(), COMMITS.length)).toBe(COMMITS.length);
  });

  it.each([['strict', 4], ['torn', 0], ['eager-metadata', 0]] as const)('every file operation, %s model', async (model, stride) => {
    const { points, prefixes } = await crashAll(model, 1500, stride);
    expect(points).toBeGreaterThan(40);
    expect(prefixes.size).toBeGreaterThan(4); // cuts landed before, between and after commits
  }, 120_000);

  it('every file operation without compaction (one journal)', async () => {
    const { points } = await crashAll('torn', 1 << 30, 0);
    expect(points).toBeGreaterThan(20);
  }, 60_000);
});

describe('on a real disk', () => {
  it('a torn last line is cut off on open (onRepair); a bad line before a good one is STORE_CORRUPT', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobs-store-'));
    const s1 = await openFileJobsStore({ dir });
    await s1.commit(COMMITS[0]!);
    await s1.close();
    const path = join(dir, 'journal-0.jsonl');
    const good = readFileSync(path);
    writeFileSync(path, Buffer.concat([good, Buffer.from('[{"kind":"exec","rec')]));
    const cut: number[] = [];
    const s2 = await openFileJobsStore({ dir, onRepair: (n) => cut.push(n) });
    expect(cut).toEqual([20]);
    expect((await s2.load()).executions).toHaveLength(3);
    await s2.commit(COMMITS[1]!);
    await s2.close();
    expect(canonical(await (await openFileJobsStore({ dir })).load())).toBe(PREFIX_STATES[2]);
    writeFileSync(path, Buffer.concat([Buffer.from('not json\n'), readFileSync(path)]));
    await expect(openFileJobsStore({ dir })).rejects.toThrow(expect.objectContaining({ code: 'STORE_CORRUPT' }));
  });

  it('damage: every byte of the snapshot and the journal flipped — the state read back is the one written, a reported cut of the last line, or STORE_CORRUPT; never a changed state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobs-damage-'));
    const s = await openFileJobsStore({ dir, compactBytes: 1500 });
    for (const c of COMMITS) await s.commit(c);
    await s.commit(COMMITS.at(-1)!); // the last commit again (same records): a journal line after the snapshot
    await s.close();
    const files = readdirSync(dir).filter((f) => f === 'snapshot.json' || f.endsWith('.jsonl'));
    expect(files.length).toBe(2); // a snapshot and a journal after it
    const final = PREFIX_STATES.at(-1)!;
    const changed: string[] = [];
    for (const f of files) {
      const path = join(dir, f);
      const good = readFileSync(path);
      for (let i = 0; i < good.length; i++) {
        for (const mask of i % 8 === 0 ? [0x01, 0x20, 0x80] : [0x01]) {
          const bad = Buffer.from(good);
          bad[i] = bad[i]! ^ mask;
          writeFileSync(path, bad);
          let cut = 0;
          const got = await openFileJobsStore({ dir, onRepair: (n) => { cut += n; } }).then(async (st) => {
            const v = canonical(await st.load());
            await st.close();
            return v;
          }, (e: unknown) => e);
          writeFileSync(path, good); // the repair may have rewritten it
          if (got instanceof JobsError) {
            expect(got.code).toBe('STORE_CORRUPT');
            continue;
          }
          if (got === final) continue;
          // A damaged last journal line may be cut as a tear, but only when the store says so.
          if (cut > 0 && f.endsWith('.jsonl') && PREFIX_STATES.includes(got as string)) continue;
          changed.push(`${f} byte ${i} ^ 0x${mask.toString(16)}`);
        }
      }
    }
    expect(changed.length, `flips read back as a different state without an error: ${changed.slice(0, 5).join(', ')}`).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('after a failed write the store refuses commits until reopened', async () => {
    const fs = new SimFS();
    const store = await openFileJobsStore({ dir: DIR, fs });
    fs.crashAt = fs.ops + 2; // the write of the first commit
    await expect(store.commit(COMMITS[0]!)).rejects.toThrow();
    fs.crashed = false;
    fs.crashAt = Infinity;
    await expect(store.commit(COMMITS[1]!)).rejects.toThrow(JobsError);
  });

  it('wrong options throw TypeError / RangeError', async () => {
    await expect(openFileJobsStore({ dir: '' })).rejects.toThrow(TypeError);
    await expect(openFileJobsStore({ dir: '/x', compactBytes: 0 })).rejects.toThrow(RangeError);
    await expect(openFileJobsStore(null as never)).rejects.toThrow(TypeError);
  });
});
