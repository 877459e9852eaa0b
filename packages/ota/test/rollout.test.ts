// Rollout plans and the controller: deterministic cohorts, thresholds, abort, pause/resume,
// rate limits, restart from the journal.
import { describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileControllerStore, memoryControllerStore, openRolloutController, planRollout } from '../src/index.js';

const fleet = (n: number, prefix = 'dev'): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe('planRollout', () => {
  it('waves of the expected sizes, canary by name', () => {
    const plan = planRollout({ devices: fleet(20_000), seed: 'fw-1.1.0', canary: ['dev-1', 'dev-2'] });
    const sizes = plan.waves.map((w) => w.devices.length);
    expect(plan.waves.map((w) => w.name)).toEqual(['canary', '1%', '10%', '100%']);
    expect(sizes[0]).toBe(2);
    expect(sizes[1]).toBeGreaterThan(140);
    expect(sizes[1]).toBeLessThan(260);
    expect(sizes[2]).toBeGreaterThan(1600);
    expect(sizes[2]).toBeLessThan(2000);
    expect(sizes.reduce((a, b) => a + b)).toBe(20_000);
  });
  it('adding devices does not move anyone; another seed does', () => {
    const a = planRollout({ devices: fleet(3000), seed: 's1' });
    const b = planRollout({ devices: [...fleet(3000), ...fleet(2000, 'new')], seed: 's1' });
    const waveOf = (p: typeof a): Map<string, number> => new Map(p.waves.flatMap((w) => w.devices.map((d) => [d, w.index] as const)));
    const wa = waveOf(a);
    const wb = waveOf(b);
    for (const [d, w] of wa) expect(wb.get(d)).toBe(w);
    const c = waveOf(planRollout({ devices: fleet(3000), seed: 's2' }));
    expect([...wa].filter(([d, w]) => c.get(d) !== w).length).toBeGreaterThan(100);
  });
});

describe('controller', () => {
  const plan = planRollout({ devices: fleet(200), seed: 'r', waves: ['canary', 0.5, 1], canary: ['dev-0'], policy: { successThreshold: 0.9, abortFailureRate: 0.2, abortMinFinished: 10 } });
  it('advances when the success threshold is met, completes at the end', async () => {
    const ctl = await openRolloutController(plan, memoryControllerStore());
    expect(await ctl.tick(0)).toEqual(['dev-0']);
    expect(await ctl.tick(1)).toEqual([]); // the canary has not finished
    await ctl.report('dev-0', 'downloaded', 2);
    await ctl.report('dev-0', 'installed', 3);
    expect(ctl.snapshot().wave).toBe(0);
    await ctl.report('dev-0', 'confirmed', 4);
    expect(ctl.snapshot().waveName).toBe('50%');
    for (let t = 10; ctl.snapshot().status === 'running'; t += 10) {
      const ds = await ctl.tick(t);
      for (const d of ds) await ctl.report(d, 'confirmed', t + 1);
      if (t > 1000) throw new Error('no progress');
    }
    expect(ctl.snapshot().status).toBe('completed');
  });
  it('aborts a wave whose failure rate passes the threshold after the minimum finished, and dispatches nothing more', async () => {
    const ctl = await openRolloutController(plan, memoryControllerStore());
    await ctl.tick(0);
    await ctl.report('dev-0', 'confirmed', 1);
    const wave1 = await ctl.tick(2);
    let i = 0;
    for (const d of wave1) {
      await ctl.report(d, i++ % 3 === 0 ? 'rolled-back' : 'confirmed', 3);
      if (ctl.snapshot().status === 'aborted') break;
    }
    const s = ctl.snapshot();
    expect(s.status).toBe('aborted');
    expect(s.reason).toMatch(/wave 50%: \d+ of \d+ finished devices failed or rolled back/);
    expect(await ctl.tick(10_000)).toEqual([]);
    expect(s.waves[2]?.dispatched).toBe(0);
  });
  it('a few failures below the minimum finished count do not abort', async () => {
    const ctl = await openRolloutController(plan, memoryControllerStore());
    await ctl.tick(0);
    await ctl.report('dev-0', 'confirmed', 1);
    const w = await ctl.tick(2);
    for (const d of w.slice(0, 3)) await ctl.report(d, 'failed', 3);
    expect(ctl.snapshot().status).toBe('running');
  });
  it('a wave that can no longer reach its success threshold aborts, even below the minimum finished count', async () => {
    const p = planRollout({ devices: fleet(10), seed: 'r', waves: [1], policy: { successThreshold: 0.9, abortMinFinished: 100 } });
    const ctl = await openRolloutController(p, memoryControllerStore());
    const ds = await ctl.tick(0);
    await ctl.report(ds[0] as string, 'failed', 1);
    expect(ctl.snapshot().status).toBe('running'); // 9 of 10 can still confirm
    await ctl.report(ds[1] as string, 'rolled-back', 2);
    expect(ctl.snapshot()).toMatchObject({ status: 'aborted', reason: expect.stringMatching(/can no longer be met/) });
  });
  it('pause and resume; a rate limit per wave', async () => {
    const p = planRollout({ devices: fleet(100), seed: 'r', waves: [1], policy: { maxPerMinute: 30 } });
    const ctl = await openRolloutController(p, memoryControllerStore());
    expect((await ctl.tick(0)).length).toBe(30);
    expect((await ctl.tick(30_000)).length).toBe(0);
    await ctl.pause(40_000);
    expect(await ctl.tick(70_000)).toEqual([]);
    await ctl.resume(80_000);
    expect((await ctl.tick(80_000)).length).toBe(30);
    await expect(ctl.resume(1)).rejects.toMatchObject({ code: 'ROLLOUT_STATE' });
  });
  it('state survives a restart: the journal is replayed (memory and file stores, torn last line)', async () => {
    const store = memoryControllerStore();
    const a = await openRolloutController(plan, store);
    await a.tick(0);
    await a.report('dev-0', 'confirmed', 1);
    await a.tick(2);
    const b = await openRolloutController(plan, store);
    expect(b.snapshot()).toEqual(a.snapshot());
    const path = join(mkdtempSync(join(tmpdir(), 'ro-')), 'rollout.jsonl');
    const f1 = await openRolloutController(plan, fileControllerStore(path));
    await f1.tick(0);
    await f1.report('dev-0', 'confirmed', 1);
    const ds = await f1.tick(2);
    await f1.report(ds[0] as string, 'rolled-back', 3);
    await f1.pause(4);
    appendFileSync(path, '{"type":"report","at":5,"dev'); // power cut during an append
    const f2 = await openRolloutController(plan, fileControllerStore(path));
    expect(f2.snapshot()).toEqual(f1.snapshot());
    expect(f2.snapshot().status).toBe('paused');
    expect(readFileSync(path, 'utf8').split('\n').length).toBeGreaterThan(4);
  });
});
