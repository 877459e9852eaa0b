// The stack's JIT warm-up (warm-up.ts): synthetic messages through a throwaway pipeline before
// openPipelineStack returns. What it must not do: store, alert, dead-letter, count, or touch the
// real rule engine's state. (Its effect on speed is measured by bench/cold-start.ts, not here.)
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '@outpost/test-peers';
import { callbackAlertSink } from '../src/alerts.js';
import { openPipelineStack } from '../src/stack.js';
import type { AlertEvent } from '../src/rules-types.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('the stack\'s warm-up', () => {
  it('leaves no trace: no rows in the lake or DuckDB, no alert, no dead letter, no counts, no rule state; the first real message alone is there', async () => {
    const dir = tempDir('outpost-warm-');
    cleanups.push(() => dir.cleanup());
    const alerts: AlertEvent[] = [];
    const dead: unknown[] = [];
    const stack = await openPipelineStack({
      lakeDir: join(dir.path, 'lake'),
      rules: [{ id: 'overheat', kind: 'threshold', metric: 'temperature', above: 80, clearAt: 75 }],
      alertSinks: [callbackAlertSink((e) => { alerts.push(e); })],
      deadLetter: { name: 'dead', write: async (l) => { dead.push(l); }, close: async () => undefined },
      warmUpMessages: 3_000, // its synthetic temperatures cross 80 both ways
    });
    cleanups.push(() => stack.close());
    expect(stack.engine?.openEpisodes()).toEqual([]);
    expect(stack.engine?.deviceCount).toBe(0);
    const before = stack.stats();
    expect(before.pipeline.received).toBe(0);
    expect(before.pipeline.points).toBe(0);
    expect(before.pipeline.alerts).toBe(0);
    await stack.pipeline.handle({ topic: 'devices/pump-1/telemetry', payload: new TextEncoder().encode(`{"temperature": 90, "ts": ${Date.now()}}`), receivedAt: Date.now() });
    await stack.pipeline.flush();
    const rows = await (stack.store as { query(sql: string): Promise<Record<string, unknown>[]> }).query('SELECT device, metric FROM telemetry');
    expect(rows).toEqual([{ device: 'pump-1', metric: 'temperature' }]);
    expect(stack.stats().lake.rows).toBe(1);
    await stack.alerts.drain();
    expect(alerts.map((a) => [a.kind, a.device])).toEqual([['fired', 'pump-1']]);
    expect(dead).toEqual([]);
  });

  it('warmUpMessages: a count from 0 (none) up; anything else is a RangeError/TypeError before anything opens', async () => {
    const dir = tempDir('outpost-warm-');
    cleanups.push(() => dir.cleanup());
    for (const bad of [-1, 1.5, Number.NaN]) await expect(openPipelineStack({ lakeDir: dir.path, duckdb: false, warmUpMessages: bad })).rejects.toThrow(RangeError);
    await expect(openPipelineStack({ lakeDir: dir.path, duckdb: false, warmUpMessages: '10' as unknown as number })).rejects.toThrow(TypeError);
    const none = await openPipelineStack({ lakeDir: join(dir.path, 'none'), duckdb: false, warmUpMessages: 0 });
    await none.close();
  });
});
