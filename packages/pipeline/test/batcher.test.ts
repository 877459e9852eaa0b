// The batching shared by the lake and DuckDB, on its own: sealing by rows, bytes and age (an
// injected clock, so no test waits on or asserts a timing), the commit queue, retries, and which
// writes settle how. The commit is a recording one: the batcher's peer is the sink's commit.
import { describe, expect, it } from 'vitest';
import { createBatcher, type Batch, type BatchCommit, type BatcherClock, type BatcherOptions } from '../src/batcher.js';
import type { TelemetryPoint } from '../src/types.js';
import { manualClock } from './fixtures/manual-clock.js';

/** A fake clock: timers run only when the test fires them; records every delay asked for. */
function fakeClock(): BatcherClock & { pending(): number; delays: number[]; fire(): void } {
  const timers = new Map<number, () => void>();
  const delays: number[] = [];
  let id = 0;
  return {
    setTimeout(fn, ms) {
      delays.push(ms);
      timers.set(++id, fn);
      return id;
    },
    clearTimeout(h) {
      timers.delete(h as number);
    },
    pending: () => timers.size,
    delays,
    fire() {
      const fns = [...timers.values()];
      timers.clear();
      for (const f of fns) f();
    },
  };
}

/** Lets queued promise jobs and I/O callbacks run. */
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

type State = 'pending' | 'resolved' | 'rejected';
function track(p: Promise<void>): { state: State; error: unknown } {
  const t: { state: State; error: unknown } = { state: 'pending', error: undefined };
  p.then(
    () => (t.state = 'resolved'),
    (err: unknown) => {
      t.state = 'rejected';
      t.error = err;
    },
  );
  return t;
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !cond(); i++) await tick();
  expect(cond()).toBe(true);
}

function pts(n: number, from = 0): TelemetryPoint[] {
  return Array.from({ length: n }, (_, i) => ({ device: `d${from + i}`, time: from + i, metric: 'm', value: from + i }));
}
const noExtras = (n: number): null[] => new Array<null>(n).fill(null);

/** A commit that records every attempt; `plan(batchNo, attemptNo)` decides its outcome. */
function recorder(plan: (batch: number, attempt: number) => 'ok' | 'fail' | Promise<void> = () => 'ok') {
  const committed: string[][] = []; // device ids of each committed batch
  const attempts: number[] = []; // batch number of each attempt
  const failedWith: unknown[] = [];
  let active = 0;
  let overlapped = false;
  let batches = 0;
  const commit = (batch: Batch): BatchCommit => {
    const no = batches++;
    let n = 0;
    return {
      async attempt() {
        attempts.push(no);
        if (active++ > 0) overlapped = true;
        try {
          const outcome = plan(no, n++);
          if (outcome === 'fail') throw new Error(`batch ${no} attempt ${n - 1} failed`);
          if (outcome !== 'ok') await outcome;
          committed.push(batch.points.map((p) => p.device));
        } finally {
          active--;
        }
      },
      fail(lastErr) {
        failedWith.push(lastErr);
        return new Error(`batch ${no} failed for good`, { cause: lastErr });
      },
    };
  };
  return { commit, committed, attempts, failedWith, overlapped: () => overlapped };
}

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function batcher(over: Partial<BatcherOptions> & Pick<BatcherOptions, 'commit'>) {
  return createBatcher({ maxRows: 1_000, maxAgeMs: 60_000, retries: 0, retryDelayMs: 10, ...over });
}

describe('sealing', () => {
  it('by rows: every maxRows points make a batch; the rest waits for flush', async () => {
    const clock = fakeClock();
    const r = recorder();
    const b = batcher({ maxRows: 3, clock, commit: r.commit });
    const w = track(b.write(pts(7), noExtras(7)));
    await until(() => r.committed.length === 2);
    expect(r.committed).toEqual([['d0', 'd1', 'd2'], ['d3', 'd4', 'd5']]);
    expect(w.state).toBe('pending'); // d6 is still buffered
    expect(b.stats()).toEqual({ rows: 6, batches: 2, batchesFailed: 0, pendingRows: 1, rowsRejected: 0 });
    await b.flush();
    await until(() => w.state !== 'pending');
    expect(w.state).toBe('resolved');
    expect(r.committed[2]).toEqual(['d6']);
    expect(b.stats()).toEqual({ rows: 7, batches: 3, batchesFailed: 0, pendingRows: 0, rowsRejected: 0 });
  });

  it('by bytes: sealed once the estimated size reaches maxBytes; size sees each point and its extra', async () => {
    const r = recorder();
    const seen: (string | null)[] = [];
    const b = batcher({
      maxBytes: 100,
      size: (p, extra) => {
        seen.push(extra);
        return 40;
      },
      clock: fakeClock(),
      commit: r.commit,
    });
    const extras = ['{"a":1}', null, '{"b":2}', null, null];
    const w = track(b.write(pts(5), extras));
    await until(() => r.committed.length === 1);
    expect(r.committed[0]).toEqual(['d0', 'd1', 'd2']); // 120 >= 100 at the third point
    expect(seen).toEqual(extras);
    expect(b.stats().pendingRows).toBe(2);
    await b.flush();
    await until(() => w.state === 'resolved');
    expect(r.committed[1]).toEqual(['d3', 'd4']);
  });

  it('without maxBytes, size is never a bound', async () => {
    const r = recorder();
    const b = batcher({ maxRows: 4, size: () => Number.MAX_SAFE_INTEGER, clock: fakeClock(), commit: r.commit });
    const w = track(b.write(pts(6), noExtras(6)));
    await until(() => r.committed.length === 1);
    expect(r.committed[0]).toHaveLength(4);
    await b.flush();
    await until(() => w.state === 'resolved');
  });

  it('by age: one timer per batch, from its first point; firing it commits; sealing by rows clears it', async () => {
    const clock = fakeClock();
    const r = recorder();
    const b = batcher({ maxRows: 5, maxAgeMs: 250, clock, commit: r.commit });
    const w1 = track(b.write(pts(2), noExtras(2)));
    const w2 = track(b.write(pts(1, 2), noExtras(1)));
    await tick();
    expect(clock.pending()).toBe(1);
    expect(clock.delays).toEqual([250]);
    expect(r.committed).toEqual([]);
    expect([w1.state, w2.state]).toEqual(['pending', 'pending']);
    clock.fire();
    await until(() => w1.state === 'resolved' && w2.state === 'resolved');
    expect(r.committed).toEqual([['d0', 'd1', 'd2']]);

    const w3 = track(b.write(pts(5, 10), noExtras(5))); // a new batch arms a timer, the row bound seals it
    await until(() => w3.state === 'resolved');
    expect(clock.delays).toEqual([250, 250]);
    expect(clock.pending()).toBe(0);
  });

  it('maxAgeMs 0: every write is committed on its own, no timer', async () => {
    const clock = fakeClock();
    const r = recorder();
    const b = batcher({ maxAgeMs: 0, clock, commit: r.commit });
    await b.write(pts(2), noExtras(2));
    await b.write(pts(1, 2), noExtras(1));
    expect(r.committed).toEqual([['d0', 'd1'], ['d2']]);
    expect(clock.delays).toEqual([]);
  });
});

describe('flush, seal and idle', () => {
  it('with nothing buffered: no commit, seal() gives undefined, flush and idle resolve; an empty write resolves', async () => {
    const r = recorder();
    const b = batcher({ clock: fakeClock(), commit: r.commit });
    expect(b.seal()).toBeUndefined();
    await b.flush();
    await b.idle();
    await b.write([], []);
    expect(r.attempts).toEqual([]);
    expect(b.stats()).toEqual({ rows: 0, batches: 0, batchesFailed: 0, pendingRows: 0, rowsRejected: 0 });
  });

  it('with nothing buffered, flush still waits for the commit in flight', async () => {
    const gate = deferred();
    const r = recorder(() => gate.promise);
    const b = batcher({ maxRows: 2, clock: fakeClock(), commit: r.commit });
    const w = track(b.write(pts(2), noExtras(2))); // sealed by rows, commit blocked
    await until(() => r.attempts.length === 1);
    const f = track(b.flush());
    const idle = track(b.idle());
    await tick();
    expect([w.state, f.state, idle.state]).toEqual(['pending', 'pending', 'pending']);
    gate.resolve();
    await until(() => f.state === 'resolved' && idle.state === 'resolved');
    expect(w.state).toBe('resolved');
  });

  it('flush rejects with the error of the batch it sealed; idle does not', async () => {
    const r = recorder(() => 'fail');
    const b = batcher({ clock: fakeClock(), commit: r.commit });
    const w = track(b.write(pts(1), noExtras(1)));
    await expect(b.flush()).rejects.toThrow('batch 0 failed for good');
    await b.idle();
    await until(() => w.state === 'rejected');
  });
});

describe('commits', () => {
  it('a write spanning several batches resolves only when all of them committed, one at a time, in order', async () => {
    const gates = [deferred(), deferred(), deferred()];
    const r = recorder((batch) => (gates[batch] as { promise: Promise<void> }).promise);
    const b = batcher({ maxRows: 2, clock: fakeClock(), commit: r.commit });
    const w = track(b.write(pts(5), noExtras(5)));
    void b.flush().catch(() => undefined);
    for (const [i, g] of gates.entries()) {
      await until(() => r.attempts.length === i + 1);
      await tick();
      expect(r.attempts).toHaveLength(i + 1); // the next commit waits for this one
      expect(w.state).toBe('pending');
      g.resolve();
    }
    await until(() => w.state !== 'pending');
    expect(w.state).toBe('resolved');
    expect(r.committed).toEqual([['d0', 'd1'], ['d2', 'd3'], ['d4']]);
    expect(r.overlapped()).toBe(false);
  });

  it('a failed attempt is retried after retryDelayMs, doubling; the same commit object is used', async () => {
    const clock = fakeClock();
    const r = recorder((_, attempt) => (attempt < 2 ? 'fail' : 'ok'));
    const b = batcher({ maxAgeMs: 0, retries: 3, retryDelayMs: 10, clock, commit: r.commit });
    const w = track(b.write(pts(3), noExtras(3)));
    for (let fired = 0; fired < 2; fired++) {
      await until(() => clock.pending() === 1); // the backoff timer
      clock.fire();
    }
    await until(() => w.state !== 'pending');
    expect(w.state).toBe('resolved');
    expect(clock.delays).toEqual([10, 20]);
    expect(r.attempts).toEqual([0, 0, 0]); // one batch, three attempts
    expect(r.failedWith).toEqual([]);
    expect(b.stats()).toEqual({ rows: 3, batches: 1, batchesFailed: 0, pendingRows: 0, rowsRejected: 0 });
  });

  it('a batch that fails for good rejects exactly the writes holding its points; the next batch commits', async () => {
    const clock = fakeClock();
    const r = recorder((batch) => (batch === 0 ? 'fail' : 'ok'));
    const b = batcher({ maxRows: 3, retries: 1, retryDelayMs: 5, clock, commit: r.commit });
    const a = track(b.write(pts(1, 0), noExtras(1))); // batch 0
    const s = track(b.write(pts(3, 1), noExtras(3))); // batch 0 (2 points) and batch 1 (1 point)
    const c = track(b.write(pts(2, 4), noExtras(2))); // batch 1, sealed by rows
    await until(() => clock.pending() === 1 && r.attempts.length === 1); // batch 0 waiting to retry
    clock.fire();
    await until(() => c.state !== 'pending');
    expect([a.state, s.state, c.state]).toEqual(['rejected', 'rejected', 'resolved']);
    expect((a.error as Error).message).toBe('batch 0 failed for good');
    expect(s.error).toBe(a.error);
    expect(((a.error as Error).cause as Error).message).toBe('batch 0 attempt 1 failed'); // the last attempt's error
    expect(r.failedWith).toHaveLength(1);
    expect(r.attempts).toEqual([0, 0, 1]);
    expect(r.committed).toEqual([['d3', 'd4', 'd5']]);
    expect(b.stats()).toEqual({ rows: 3, batches: 1, batchesFailed: 1, pendingRows: 0, rowsRejected: 0 });
  });

  it('a failed batch leaves the batcher working: later writes commit', async () => {
    let failing = true;
    const r = recorder(() => (failing ? 'fail' : 'ok'));
    const b = batcher({ maxAgeMs: 0, clock: fakeClock(), commit: r.commit });
    await expect(b.write(pts(2), noExtras(2))).rejects.toThrow('failed for good');
    failing = false;
    await b.write(pts(2, 2), noExtras(2));
    expect(r.committed).toEqual([['d2', 'd3']]);
    expect(b.stats()).toEqual({ rows: 2, batches: 1, batchesFailed: 1, pendingRows: 0, rowsRejected: 0 });
  });

  it('a commit may refuse some points for good: only the writes holding them reject, each with its first refused point\'s error', async () => {
    const refused = new Error('point 3 refused');
    const commit = (): BatchCommit => ({ attempt: async () => new Map([[3, refused], [4, new Error('point 4 refused')]]), fail: (e) => e as Error });
    const b = batcher({ maxRows: 6, clock: fakeClock(), commit });
    const w1 = track(b.write(pts(2), noExtras(2))); // indices 0-1
    const w2 = track(b.write(pts(3, 2), noExtras(3))); // indices 2-4
    const w3 = track(b.write(pts(1, 5), noExtras(1))); // index 5: seals at 6 rows
    await until(() => w3.state !== 'pending' && w2.state !== 'pending' && w1.state !== 'pending');
    expect([w1.state, w2.state, w3.state]).toEqual(['resolved', 'rejected', 'resolved']);
    expect(w2.error).toBe(refused);
    expect(b.stats()).toEqual({ rows: 6, batches: 1, batchesFailed: 0, pendingRows: 0, rowsRejected: 2 });
  });

  it('retryable false ends the retries at once; maxRetryDelayMs caps the doubled delay', async () => {
    const clock = fakeClock();
    let attempts = 0;
    const fatal = new Error('fatal');
    const commit = (): BatchCommit => ({
      attempt: async () => {
        attempts++;
        throw attempts < 4 ? new Error('transient') : fatal;
      },
      fail: (e) => e as Error,
    });
    const b = batcher({ maxAgeMs: 0, retries: 10, retryDelayMs: 10, maxRetryDelayMs: 25, retryable: (e) => e !== fatal, clock, commit });
    const w = track(b.write(pts(1), noExtras(1)));
    for (let i = 0; i < 3; i++) {
      await until(() => clock.pending() === 1);
      clock.fire();
    }
    await until(() => w.state !== 'pending');
    expect(w.error).toBe(fatal);
    expect(attempts).toBe(4);
    expect(clock.delays).toEqual([10, 20, 25]);
  });

  it('an attempt answering Pending lets the next batch start (up to maxPending) while its durability is on its way; writes settle with it', async () => {
    const started: number[] = [];
    const durable: (() => void)[] = [];
    let n = 0;
    const commit = (): BatchCommit => {
      const no = n++;
      return {
        attempt: async () => {
          started.push(no);
          return { durable: new Promise<void>((r) => durable.push(r)) };
        },
        fail: (e) => e as Error,
      };
    };
    const b = batcher({ maxAgeMs: 0, maxPending: 2, clock: fakeClock(), commit });
    const w = [0, 1, 2].map((i) => track(b.write(pts(1, i), noExtras(1))));
    await until(() => started.length === 2);
    await tick();
    expect(started).toEqual([0, 1]); // the third waits: two are pending
    expect(w.map((x) => x.state)).toEqual(['pending', 'pending', 'pending']);
    durable[0]?.();
    await until(() => w[0]?.state === 'resolved' && started.length === 3);
    expect(w[1]?.state).toBe('pending');
    durable[1]?.();
    durable[2]?.();
    await b.idle();
    expect(w.map((x) => x.state)).toEqual(['resolved', 'resolved', 'resolved']);
    expect(b.stats()).toMatchObject({ batches: 3, pendingRows: 0 });
  });
});

describe('group commit (sealWhenIdle) with sealIntervalMs', () => {
  it('a write commits at once when the last seal is older than the interval; writes within it wait for its end and share one batch', async () => {
    const clock = manualClock();
    const r = recorder();
    const b = batcher({ sealWhenIdle: true, sealIntervalMs: 50, maxAgeMs: 1_000, clock, commit: r.commit });
    const a = track(b.write(pts(1, 0), noExtras(1)));
    await until(() => a.state === 'resolved'); // idle and no seal before: at once
    expect(r.committed).toEqual([['d0']]);
    await clock.advance(10);
    const w1 = track(b.write(pts(1, 1), noExtras(1)));
    await clock.advance(10);
    const w2 = track(b.write(pts(1, 2), noExtras(1)));
    await clock.advance(29); // 49 ms after the first seal: nothing sealed yet
    expect(r.committed).toEqual([['d0']]);
    expect([w1.state, w2.state]).toEqual(['pending', 'pending']);
    await clock.advance(1); // the interval ends: both in one batch
    await until(() => w1.state === 'resolved' && w2.state === 'resolved');
    expect(r.committed).toEqual([['d0'], ['d1', 'd2']]);
    await clock.advance(200); // quiet for longer than the interval: the next write commits at once
    const w3 = track(b.write(pts(1, 3), noExtras(1)));
    await until(() => w3.state === 'resolved');
    expect(r.committed).toEqual([['d0'], ['d1', 'd2'], ['d3']]);
  });

  it('maxRows still seals within the interval, and the interval then counts from that seal', async () => {
    const clock = manualClock();
    const r = recorder();
    const b = batcher({ sealWhenIdle: true, sealIntervalMs: 50, maxRows: 2, maxAgeMs: 1_000, clock, commit: r.commit });
    void b.write(pts(1, 0), noExtras(1));
    await until(() => r.committed.length === 1);
    await clock.advance(40);
    void b.write(pts(2, 1), noExtras(2)); // full: sealed by maxRows at 40 ms
    await until(() => r.committed.length === 2);
    void b.write(pts(1, 3), noExtras(1));
    await clock.advance(10); // 50 ms after the first seal, 10 after the last: still waiting
    expect(r.committed).toEqual([['d0'], ['d1', 'd2']]);
    await clock.advance(40); // 50 ms after the maxRows seal
    await until(() => r.committed.length === 3);
    expect(r.committed[2]).toEqual(['d3']);
  });

  it('without sealIntervalMs, every idle turn commits (the default is unchanged)', async () => {
    const clock = manualClock();
    const r = recorder();
    const b = batcher({ sealWhenIdle: true, maxAgeMs: 1_000, clock, commit: r.commit });
    for (let i = 0; i < 3; i++) {
      const w = track(b.write(pts(1, i), noExtras(1)));
      await until(() => w.state === 'resolved');
      await clock.advance(1);
    }
    expect(r.committed).toEqual([['d0'], ['d1'], ['d2']]);
  });
});
