// The OTA chapter alone, over the wire: 50 gateways run the OTA agent on the jobs channel of the
// embedded broker; the rollout halts in the 10% wave on the bad hardware revision, whose gateways
// rolled back by themselves (the SDK's rollout runner cancels the job); the gateway whose power was cut mid-download resumed from its
// journalled offset; the corrupted stream block was refused and fetched again.
import { expect, test } from 'vitest';
import { runDemo } from '../src/index.js';

test('otaRollout: a rollout over the wire halts on a bad hardware revision; rollback, power-cut resume, a refused block', async () => {
  let out = '';
  let err = '';
  const code = await runDemo(['--chapter', 'otaRollout', '--json'], { stdout: (t) => { out += t; }, stderr: (t) => { err += t; } });
  expect(err).toBe('');
  expect(code).toBe(0);
  const s = (JSON.parse(out) as Record<string, any>)['otaRollout'];
  expect(s.devices).toBe(50);
  expect(s.waves.map((w: { name: string }) => w.name)).toEqual(['canary', '1%', '10%', '100%']);
  expect(s.status).toBe('aborted');
  expect(s.haltedIn).toBe('10%');
  expect(s.waves[0].confirmed).toBe(s.waves[0].size);
  expect(s.waves[2].failed).toBeGreaterThan(0);
  expect(s.notDispatched).toBe(s.waves[3].size);
  expect(s.rolledBack.length).toBeGreaterThan(0);
  expect(s.rolledBackAllRevC).toBe(true);
  // The power cut: a durable offset before the cut, the download resumed there and fetched only the rest.
  const p = s.powerCut;
  expect(p.journalledAt).toBeGreaterThan(0);
  expect(p.resumedFrom).toBe(p.journalledAt);
  expect(p.fetched).toBe(p.imageSize - p.resumedFrom);
  expect(p.boots.at(-1)).toEqual({ version: '1.1.0', trial: true });
  expect(s.corruptedBlocks).toBe(1);
  // Driven by the SDK's runner: one job, canceled at the halt. Every targeted gateway ended: on 1.1.0,
  // rolled back, or (still QUEUED at the halt) CANCELED and never touched 1.1.0.
  expect(s.job).toBe('CANCELED');
  expect(s.dispatched).toBe(s.waves.slice(0, 3).reduce((n: number, w: { size: number }) => n + w.size, 0));
  expect(s.running110 + s.rolledBack.length + s.canceled).toBe(s.dispatched);
  expect(s.canceledStayed100).toBe(true);
}, 120_000);
