// The OTA chapter alone: release 1.1.0 through every wave, a tampered image refused, release 1.2.0
// halted with the failing cohort rolled back by itself.
import { expect, test } from 'vitest';
import { runDemo } from '../src/index.js';

test('otaRollout: waves, a refused tampered image, automatic rollback, a halted rollout', async () => {
  let out = '';
  let err = '';
  const code = await runDemo(['--chapter', 'otaRollout', '--json'], { stdout: (t) => { out += t; }, stderr: (t) => { err += t; } });
  expect(err).toBe('');
  expect(code).toBe(0);
  const s = (JSON.parse(out) as Record<string, any>)['otaRollout'];
  expect(s.firstRelease.status).toBe('completed');
  expect(s.firstRelease.waves.map((w: { name: string }) => w.name)).toEqual(['canary', '1%', '10%', '100%']);
  for (const w of s.firstRelease.waves) expect(w.confirmed).toBe(w.size);
  expect(s.tamperedImage).toBe('DIGEST_MISMATCH');
  expect(s.secondRelease.status).toBe('aborted');
  expect(s.secondRelease.haltedIn).not.toBe('100%');
  expect(s.secondRelease.notDispatched).toBeGreaterThan(200);
  expect(s.secondRelease.rolledBack).toBeGreaterThan(0);
  expect(s.secondRelease.rolledBackAllRevC).toBe(true);
  expect(s.secondRelease.running + s.secondRelease.rolledBack + s.secondRelease.notDispatched).toBeLessThanOrEqual(s.devices);
});
