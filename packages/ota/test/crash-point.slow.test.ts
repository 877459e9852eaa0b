// The exhaustive version: a crash at every operation of the recovery boot for every crash point
// of the workload, under both power-loss models.
import { describe, expect, it } from 'vitest';
import { crashAll } from './helpers/crash.js';

describe('crash points, exhaustive', () => {
  for (const model of ['strict', 'eager-metadata'] as const) {
    it(`${model}: every operation, and every operation of the recovery boot after each`, async () => {
      const { points, outcomes } = await crashAll(model, 1);
      expect(points).toBeGreaterThan(1000);
      expect(outcomes.size).toBeGreaterThanOrEqual(4);
    }, 600_000);
  }
});
