// Crash tests of the PostgreSQL sink against a real server killed with SIGKILL mid-batch:
// nothing a resolved write acknowledged may be missing after the server restarts (fsync=on,
// COMMIT before resolve), writes either ride out the outage (transient retry) or reject with
// SINK_FAILED, and the sink works again afterwards.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPostgres, type Postgres } from '@outpost/test-peers';
import type { Pool } from 'pg';
import type { PostgresSink } from '../src/postgres.js';
import type { TelemetryPoint } from '../src/types.js';
import { testPool } from './fixtures/test-pool.js';

const { createPostgresSink } = await import('../src/postgres.js');

let server: Postgres;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});

const T0 = Date.UTC(2026, 1, 1);
const WRITE = 1_000;
function points(w: number): TelemetryPoint[] {
  return Array.from({ length: WRITE }, (_, i) => ({ device: `d${w % 7}`, metric: 'm', time: T0 + w * WRITE + i, value: w, extra: { w, i } }));
}

async function storedWrites(pool: Pool, table: string): Promise<Map<number, number>> {
  const r = await pool.query<{ w: number; n: number }>(`SELECT value::int AS w, count(*)::int AS n FROM "${table}" GROUP BY 1`);
  return new Map(r.rows.map((x) => [x.w, x.n]));
}

const BUDGETS = {
  // the retry budget outlasts the outage: every write rides it out and resolves after the restart
  'rides out the outage': { attempts: 60, baseDelayMs: 20, maxDelayMs: 300 },
  // the budget is shorter than the outage: the batches in flight fail for good and reject
  'gives up during the outage': { attempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
} as const;

for (const method of ['copy', 'insert'] as const) {
  for (const [budget, retry] of Object.entries(BUDGETS)) {
    it(`${method}, ${budget}: SIGKILL mid-batch, restart: every resolved write is stored in full`, async () => {
      const table = `crash_${method}_${retry.attempts}`;
      const sink: PostgresSink = createPostgresSink({ connectionString: server.url, table, method, batchRows: 3 * WRITE, maxDelayMs: 2, retry });
      await sink.ensureSchema();
      const outcome = new Map<number, 'resolved' | Error>();
      const inflight = new Set<Promise<void>>();
      let inflightAtKill = 0;
      let restarted: Promise<void> | undefined;
      for (let w = 0; w < 40; w++) {
        const p: Promise<void> = sink.write(points(w)).then(
          () => void outcome.set(w, 'resolved'),
          (e: unknown) => void outcome.set(w, e as Error),
        );
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
        if (inflight.size >= 8) await Promise.race(inflight);
        // Inject the failure once a few batches have committed while others are in flight.
        if (restarted === undefined && outcome.size >= 12 && inflight.size > 0) {
          inflightAtKill = inflight.size;
          server.kill9();
          restarted = new Promise((r) => setTimeout(r, 500)).then(() => server.restart());
        }
      }
      await Promise.all(inflight);
      await restarted;
      await sink.close();
      expect(inflightAtKill).toBeGreaterThan(0);
      expect(sink.stats().retries).toBeGreaterThan(0);

      const pool = testPool({ connectionString: server.url, max: 1 });
      try {
        const stored = await storedWrites(pool, table);
        for (let w = 0; w < 40; w++) {
          const o = outcome.get(w);
          if (o === 'resolved') {
            expect(stored.get(w), `write ${w} resolved but is not stored in full`).toBe(WRITE);
          } else {
            // A rejected write failed for good: SINK_FAILED; its batch may or may not have committed
            // (COMMIT outcome unknown when the connection died), but never in part.
            expect(o).toMatchObject({ code: 'SINK_FAILED' });
            expect([undefined, WRITE]).toContain(stored.get(w));
          }
        }
        const total = await pool.query<{ n: number; distinct: number }>(
          `SELECT count(*)::int AS n, count(DISTINCT (device, metric, time))::int AS distinct FROM "${table}"`,
        );
        expect(total.rows[0]?.n).toBe(total.rows[0]?.distinct);
      } finally {
        await pool.end();
      }
      const rejected = [...outcome.values()].filter((o) => o !== 'resolved');
      if (retry.attempts > 10) expect(rejected).toEqual([]);
      else expect(rejected.length).toBeGreaterThan(0);
    });
  }
}

it('an outage longer than the retry budget rejects the batch with SINK_FAILED; the sink recovers after the restart', async () => {
  const sink = createPostgresSink({ connectionString: server.url, table: 'outage', maxDelayMs: 2, retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 20 } });
  await sink.write(points(0));
  server.kill9();
  try {
    const err = await sink.write(points(1)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SINK_FAILED', message: expect.stringMatching(/still failing after 3 attempts/) });
    expect(sink.stats()).toMatchObject({ failedBatches: 1, retries: 2 });
  } finally {
    await server.restart();
  }
  await sink.write(points(2));
  await sink.write(points(1)); // the redelivery of the failed write
  const pool = testPool({ connectionString: server.url, max: 1 });
  try {
    expect([...(await storedWrites(pool, 'outage')).entries()].sort()).toEqual([
      [0, WRITE],
      [1, WRITE],
      [2, WRITE],
    ]);
  } finally {
    await pool.end();
    await sink.close();
  }
});
