import { expect, test } from 'vitest';
import { vibration } from '../src/chapters/vibration.js';
import type { DemoContext } from '../src/context.js';

test('the vibration chapter cuts ingress by >100× and alerts once, on x, when the bearing fault appears', async () => {
  const lines: string[] = [];
  const summary: Record<string, unknown> = {};
  await vibration.run({ say: (l: string) => lines.push(l), summary } as unknown as DemoContext);
  const s = summary['vibration'] as { bytesIn: number; bytesOut: number; reduction: number; records: number; alerts: { second: number; axis: string }[]; dominantBefore: number; dominantAfter: number; zoneBefore: string; zoneAfter: string; buffered: number; bufferedBytes: number };
  expect(s.bytesIn).toBe(10 * 25_600 * 3 * 4);
  expect(s.records).toBe(30);
  expect(s.reduction).toBeGreaterThan(100);
  expect(s.alerts.map((a) => [a.second, a.axis])).toEqual([[5, 'x']]);
  expect(s.dominantBefore).toBeCloseTo(24.6, 0);
  expect(s.dominantAfter).toBeCloseTo(137.5, 0);
  expect([s.zoneBefore, s.zoneAfter]).toEqual(['A', 'C']);
  expect(lines.join('\n')).toContain('ALERT t=5 s, x axis');
  // Every summary went to the on-disk edge-buffer: one record each, the payload bytes plus 16-byte record headers.
  expect(s.buffered).toBe(s.records);
  expect(s.bufferedBytes).toBeGreaterThanOrEqual(s.bytesOut + 16 * s.records);
  expect(lines.join('\n')).toContain(`edge-buffer: ${s.records} records`);
});
