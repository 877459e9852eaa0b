// The batching both buffered sinks (the lake, DuckDB) share: points accumulate in a current
// batch, which is sealed when it reaches maxRows or maxBytes, when its age timer fires, or on
// demand; sealed batches commit one at a time, in order, each retried with a doubling delay; a
// write settles when every batch holding its points has. What a commit does stays with the
// sink. Internal: not exported from the package.
import type { TelemetryPoint } from './types.js';

/** Timers for the age bound and the retry delays. */
export interface BatcherClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

// Not unref'd: a batch that someone awaits keeps the process alive until it commits (at most
// maxAgeMs), instead of the process exiting with the points still in memory.
/** `globalThis` timers. */
export const systemClock: BatcherClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** A sealed batch, as its commit sees it: points in write order, with their `extra` JSON text. */
export interface Batch {
  readonly points: readonly TelemetryPoint[];
  readonly extras: readonly (string | null)[];
}

/** Points refused for good by a commit (index in the batch → error). */
export type Refused = ReadonlyMap<number, Error>;

/**
 * An attempt whose ordered part is done (e.g. every statement ran, holding its row locks) and
 * whose durability (e.g. COMMIT) is still on its way: the next batch may start meanwhile.
 */
export interface Pending {
  readonly durable: Promise<void | Refused>;
}

/** One batch's commit: attempts (the same object is used for every attempt), then the verdict. */
export interface BatchCommit {
  /**
   * One attempt; a rejection leads to the next attempt while retries remain. It may resolve with
   * the points refused for good (index in the batch → error): the batch counts as committed, and
   * only the writes holding those points reject, each with the error of its first refused point.
   */
  attempt(): Promise<void | Refused | Pending>;
  /**
   * Called once after the last attempt failed; returns the error every write of the batch
   * rejects with (and may first undo what the attempts left behind).
   */
  fail(lastErr: unknown): Promise<Error> | Error;
}

/** Options of {@link createBatcher}; the sink has validated them. */
export interface BatcherOptions {
  /** Rows at which the current batch is sealed. */
  readonly maxRows: number;
  /** Estimated bytes at which it is sealed (sizes from `size`). Default: no byte bound. */
  readonly maxBytes?: number;
  /** Estimated in-memory bytes of one point; needed only with `maxBytes`. */
  readonly size?: (point: TelemetryPoint, extra: string | null) => number;
  /** Age at which it is sealed, counted from its first point; 0 seals at the end of every write. */
  readonly maxAgeMs: number;
  /** Attempts after the first when a commit fails. */
  readonly retries: number;
  /** Delay before the first retry, doubled for each further one. */
  readonly retryDelayMs: number;
  /** Ceiling of the doubled delay. Default: none. */
  readonly maxRetryDelayMs?: number;
  /** Whether a failed attempt is worth another; `false` ends the retries at once. Default: every failure is. */
  readonly retryable?: (err: unknown) => boolean;
  /** Timers for the age bound and the retry delays; {@link systemClock} by default. */
  readonly clock?: BatcherClock;
  /** Makes the commit of a batch when it is sealed (its attempts run later, in order). */
  readonly commit: (batch: Batch) => BatchCommit;
  /**
   * Group commit: when no batch is committing, the current one is sealed at the end of the turn
   * that wrote to it, and when the last commit settles the points that came meanwhile are sealed
   * at once; `maxRows`, `maxBytes` and `maxAgeMs` still apply. Under light load every write
   * commits without waiting out `maxAgeMs`; under load batches grow while the previous one
   * commits. Default false.
   */
  readonly sealWhenIdle?: boolean;
  /**
   * With `sealWhenIdle`: the least time between two group-commit seals. A write that finds no
   * commit running but the last seal younger than this waits for the rest of it (its points, and
   * those that come meanwhile, then share one batch). Under light load, writes further apart than
   * this still commit at once; under load, commits are at most one per interval, so a sink whose
   * commit has a fixed cost (a transaction's statements) does not pay it for every turn's points.
   * `maxRows`, `maxBytes` and `maxAgeMs` still apply. Default 0 (no spacing).
   */
  readonly sealIntervalMs?: number;
  /**
   * Batches whose durability may be pending at once when attempts answer {@link Pending}.
   * Default 1. If a pending durability fails, the batch's further attempts run while later
   * batches proceed (the order between them is then no longer kept).
   */
  readonly maxPending?: number;
}

/** Counters of a {@link Batcher}. */
export interface BatcherStats {
  /** Rows in committed batches. */
  readonly rows: number;
  /** Batches committed. */
  readonly batches: number;
  /** Batches whose last attempt failed. */
  readonly batchesFailed: number;
  /** Points buffered or being committed. */
  readonly pendingRows: number;
  /** Points of committed batches that the commit refused for good. */
  readonly rowsRejected: number;
}

/** The batching state of one sink. */
export interface Batcher {
  /**
   * Buffers checked points (`extras[i]` belongs to `points[i]`); resolves when every batch
   * holding them committed, or rejects with the first failed batch's error.
   */
  write(points: readonly TelemetryPoint[], extras: readonly (string | null)[]): Promise<void>;
  /** Seals the current batch (if any) and queues its commit; returns its settle promise. */
  seal(): Promise<void> | undefined;
  /** Resolves when every commit queued so far has settled (never rejects). */
  idle(): Promise<void>;
  /** Seals and waits: for the sealed batch (rejecting with its error), or for the queue when nothing was buffered. */
  flush(): Promise<void>;
  /** Counters since creation. */
  stats(): BatcherStats;
}

interface OpenBatch {
  points: TelemetryPoint[];
  extras: (string | null)[];
  bytes: number;
  /** Points refused for good by a commit that otherwise succeeded. */
  rejected: ReadonlyMap<number, Error> | undefined;
  settled: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

function newBatch(): OpenBatch {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const settled = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  settled.catch(() => undefined); // observed by the writes; never an unhandled rejection
  return { points: [], extras: [], bytes: 0, rejected: undefined, settled, resolve, reject };
}

/** The retry policy of a batcher. */
interface RetryPolicy {
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly maxRetryDelayMs: number;
  readonly retryable: (err: unknown) => boolean;
  readonly sleep: (ms: number) => Promise<void>;
}

/**
 * Attempts from `first` on. Resolves once an attempt's ordered part succeeded, with the promise
 * of its final outcome; rejects when no attempt got that far.
 */
async function commitWithRetries(c: BatchCommit, r: RetryPolicy, first = 0, lastErr?: unknown): Promise<{ final: Promise<void | Refused> }> {
  for (let attempt = first; attempt <= r.retries; attempt++) {
    if (attempt > 0) await r.sleep(Math.min(r.maxRetryDelayMs, r.retryDelayMs * 2 ** (attempt - 1)));
    try {
      const out = await c.attempt();
      if (out !== undefined && 'durable' in out) {
        const final = out.durable.catch(async (err: unknown) => {
          if (!r.retryable(err) || attempt >= r.retries) throw await c.fail(err);
          return (await commitWithRetries(c, r, attempt + 1, err)).final;
        });
        return { final };
      }
      return { final: Promise.resolve(out) };
    } catch (err) {
      lastErr = err;
      if (!r.retryable(err)) break;
    }
  }
  throw await c.fail(lastErr);
}

type Counts = { rows: number; batches: number; batchesFailed: number; pendingRows: number; rowsRejected: number };

/** Settles a batch's writes with its final outcome and counts it. */
function settle(batch: OpenBatch, final: Promise<void | Refused>, counts: Counts): Promise<void> {
  return final
    .then(
      (refused) => {
        if (refused instanceof Map && refused.size > 0) {
          batch.rejected = refused;
          counts.rowsRejected += refused.size;
        }
        counts.rows += batch.points.length;
        counts.batches++;
        batch.resolve();
      },
      (err: unknown) => {
        counts.batchesFailed++;
        batch.reject(err);
      },
    )
    .finally(() => {
      counts.pendingRows -= batch.points.length;
    });
}

/**
 * Creates the batching state of a sink.
 *
 * @param options the bounds, the retry policy and the sink's commit.
 * @returns the batcher.
 */
export function createBatcher(options: BatcherOptions): Batcher {
  const { maxRows, maxAgeMs, commit } = options;
  const maxBytes = options.maxBytes ?? Infinity;
  const size = options.size ?? (() => 0);
  const clock = options.clock ?? systemClock;
  const counts: Counts = { rows: 0, batches: 0, batchesFailed: 0, pendingRows: 0, rowsRejected: 0 };
  let current: OpenBatch | undefined;
  let timer: unknown;
  let chain: Promise<void> = Promise.resolve(); // commits run one at a time, in order
  const maxPending = options.maxPending ?? 1;
  const pending = new Set<Promise<void>>(); // batches whose durability is on its way

  const policy = retryPolicy(options, clock);
  const idleSeal = idleSealer(options.sealWhenIdle === true, options.sealIntervalMs ?? 0, clock, () => void seal(), () => current !== undefined);

  async function idle(): Promise<void> {
    await chain;
    await Promise.all(pending);
  }

  function seal(): Promise<void> | undefined {
    const batch = current;
    if (timer !== undefined) {
      clock.clearTimeout(timer);
      timer = undefined;
    }
    if (batch === undefined) return undefined;
    current = undefined;
    idleSeal.sealed(batch.settled);
    const made = makeCommit(commit, batch); // at seal time: a sink prepares it while the batch before commits
    chain = chain.then(async () => {
      let final: Promise<void | Refused>;
      try {
        ({ final } = await commitWithRetries(made(), policy));
      } catch (err) {
        final = Promise.reject(err);
      }
      const done = settle(batch, final, counts);
      pending.add(done);
      void done.then(() => pending.delete(done));
      while (pending.size >= maxPending) await Promise.race(pending);
    });
    return batch.settled;
  }

  return {
    async write(points, extras) {
      // The batches holding this write's points, with the range of indices it has in each.
      const parts: { batch: OpenBatch; from: number; to: number }[] = [];
      for (let i = 0; i < points.length; i++) {
        const p = points[i] as TelemetryPoint;
        const extra = extras[i] ?? null;
        if (current === undefined) {
          current = newBatch();
          if (maxAgeMs > 0) timer = clock.setTimeout(() => void seal(), maxAgeMs);
        }
        const last = parts[parts.length - 1];
        if (last?.batch === current) last.to++;
        else parts.push({ batch: current, from: current.points.length, to: current.points.length + 1 });
        current.points.push(p);
        current.extras.push(extra);
        current.bytes += size(p, extra);
        counts.pendingRows++;
        if (current.points.length >= maxRows || current.bytes >= maxBytes) void seal();
      }
      if (maxAgeMs === 0) void seal();
      else idleSeal.wrote();
      await Promise.all(parts.map((x) => x.batch.settled));
      throwIfRefused(parts);
    },
    seal,
    idle,
    flush: () => seal() ?? idle(),
    stats: () => ({ ...counts }),
  };
}

function retryPolicy(options: BatcherOptions, clock: BatcherClock): RetryPolicy {
  return {
    retries: options.retries,
    retryDelayMs: options.retryDelayMs,
    maxRetryDelayMs: options.maxRetryDelayMs ?? Infinity,
    retryable: options.retryable ?? (() => true),
    sleep: (ms) => new Promise((r) => clock.setTimeout(r, ms)),
  };
}

/** Throws the error of the first point of a write that its batch's commit refused for good. */
function throwIfRefused(parts: readonly { batch: OpenBatch; from: number; to: number }[]): void {
  for (const { batch, from, to } of parts) {
    if (batch.rejected === undefined) continue;
    for (let i = from; i < to; i++) {
      const err = batch.rejected.get(i);
      if (err !== undefined) throw err;
    }
  }
}

/**
 * Group commit (`sealWhenIdle`): seals when no batch is committing and the last seal is at least
 * `intervalMs` old; see {@link BatcherOptions.sealWhenIdle} and {@link BatcherOptions.sealIntervalMs}.
 */
function idleSealer(enabled: boolean, intervalMs: number, clock: BatcherClock, seal: () => void, hasOpen: () => boolean): { sealed(settled: Promise<void>): void; wrote(): void } {
  let committing = 0; // sealed batches not settled yet
  let queued = false;
  let spacing = false; // a seal happened less than intervalMs ago; its timer seals what waits then
  let seals = 0;
  const sealIfReady = (): void => {
    if (committing === 0 && !spacing && hasOpen()) seal();
  };
  return {
    sealed(settled) {
      committing++;
      const done = (): void => {
        committing--;
        if (enabled) sealIfReady();
      };
      void settled.then(done, done);
      if (enabled && intervalMs > 0) {
        spacing = true;
        const mine = ++seals; // the interval counts from the latest seal, whatever sealed it
        clock.setTimeout(() => {
          if (mine !== seals) return;
          spacing = false;
          sealIfReady();
        }, intervalMs);
      }
    },
    wrote() {
      if (!enabled || committing > 0 || spacing || queued || !hasOpen()) return;
      queued = true; // at the end of this turn, so the writes of one turn share a batch
      queueMicrotask(() => {
        queued = false;
        sealIfReady();
      });
    },
  };
}

/**
 * Makes a batch's commit now (so a sink can encode or compress it while the batch before it is
 * still committing; its attempts still run one batch at a time, in order); the returned function
 * gives it, or throws what making it threw.
 */
function makeCommit(commit: (batch: Batch) => BatchCommit, batch: Batch): () => BatchCommit {
  try {
    const c = commit(batch);
    return () => c;
  } catch (err) {
    return () => {
      throw err;
    };
  }
}
