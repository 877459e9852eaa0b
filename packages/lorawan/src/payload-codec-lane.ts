// One worker of a loaded TS013 codec: starts it, posts jobs with a watchdog each, replaces the
// worker when it dies or overruns, and settles what it held. A codec has one lane, or `workers`
// lanes for a stateless codec (see payload-codec.ts).
import { Worker } from 'node:worker_threads';
import { LoRaWANError } from './errors.js';
import { CONTEXT_BOOTSTRAP, WORKER_SOURCE } from './payload-codec-worker.js';
import type { LaneAnswer } from './payload-codec-wire.js';
import type { PayloadCodecFailure, PayloadCodecStats } from './payload-codec.js';

/** The limits a lane applies (checked by payload-codec.ts). */
export interface LaneLimits {
  readonly timeoutMs: number;
  readonly timeoutGraceMs: number;
  readonly loadTimeoutMs: number;
  readonly maxHeapMb: number;
  readonly maxResultBytes: number;
  readonly stateless: boolean;
}

/** One message to the worker: what to send again if the worker is replaced before it answers. */
interface Job {
  readonly resolve: (answer: LaneAnswer) => void;
  readonly count: number;
  readonly kind: number;
  readonly inputs: string;
  readonly times: string;
}
interface Pending extends Job {
  readonly budgetMs: number;
  readonly watchdog: ReturnType<typeof setTimeout>;
}
type Answer = { type: string; id?: number; out?: string; message?: string; timedOut?: boolean };

const failAll = (failed: PayloadCodecFailure, message: string): LaneAnswer => ({ failed, message });

/** One worker of a codec and the messages it holds; replaced when it overruns or dies. */
export class CodecLane {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  /** Inputs handed to this lane and not yet answered (counted before the worker is ready). */
  queued = 0;

  constructor(private readonly source: string, private readonly limits: LaneLimits, private readonly counters: PayloadCodecStats) {}

  /** Starts a worker and waits for the script to load. */
  start(): Promise<void> {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { source: this.source, bootstrap: CONTEXT_BOOTSTRAP, loadTimeoutMs: this.limits.loadTimeoutMs, maxResultBytes: this.limits.maxResultBytes, stateless: this.limits.stateless },
      resourceLimits: { maxOldGenerationSizeMb: this.limits.maxHeapMb, maxYoungGenerationSizeMb: 4, stackSizeMb: 2 },
      stdout: true, // the codec cannot print (no console), but keep the worker's streams off ours
      stderr: true,
    });
    worker.unref();
    this.worker = worker;
    return new Promise<void>((resolve, reject) => {
      let loaded = false;
      worker.on('message', (m: Answer) => {
        if (m.type === 'ready') { loaded = true; resolve(); return; }
        if (m.type === 'load-failed') {
          void worker.terminate();
          reject(new LoRaWANError('CODEC_INVALID', `loadPayloadCodec: the script failed to load: ${m.message ?? ''}`));
          return;
        }
        this.onAnswer(m);
      });
      worker.on('error', (e: Error) => {
        if (!loaded) reject(new LoRaWANError('CODEC_INVALID', `loadPayloadCodec: the codec worker failed while loading: ${e.message}`, { cause: e }));
        this.onCrash(worker, e.message);
      });
      worker.on('exit', () => {
        if (!loaded) reject(new LoRaWANError('CODEC_INVALID', 'loadPayloadCodec: the codec worker exited while loading'));
        this.onCrash(worker, 'the codec worker exited');
      });
    });
  }

  private onAnswer(m: Answer): void {
    const p = m.id === undefined ? undefined : this.pending.get(m.id);
    if (p === undefined || m.id === undefined) return;
    this.pending.delete(m.id);
    clearTimeout(p.watchdog);
    if (m.type === 'failed') {
      p.resolve(failAll(m.timedOut === true ? 'CODEC_TIMEOUT' : 'CODEC_CRASHED', m.message ?? ''));
      return;
    }
    p.resolve({ out: m.out ?? '' });
  }

  /** The worker died (heap limit, or exited): fail what it held. */
  private onCrash(worker: Worker, message: string): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    if (this.closed) return;
    this.counters.crashes++;
    for (const [id, p] of this.pending) {
      clearTimeout(p.watchdog);
      this.pending.delete(id);
      p.resolve(failAll('CODEC_CRASHED', message));
    }
  }

  private async ensureWorker(): Promise<Worker> {
    if (this.worker === undefined) {
      this.counters.restarts++;
      await this.start();
    }
    return this.worker as Worker;
  }

  async call(kind: number, count: number, inputs: string, times: string): Promise<LaneAnswer> {
    if (this.closed) throw new RangeError('payload codec: closed');
    if (count === 0) return { out: '\n[]' };
    this.queued += count;
    try {
      const worker = await this.ensureWorker();
      return await new Promise<LaneAnswer>((resolve) => this.send(worker, { resolve, count, kind, inputs, times }));
    } finally {
      this.queued -= count;
    }
  }

  /**
   * Posts a job with its watchdog. The worker answers messages in order, so a job may take its
   * budget after those still pending before it: the watchdog fires at the sum. There is no
   * `vm` timeout per call (its watchdog thread, started and joined on every call, cost more
   * than the codec on a loaded machine): the watchdog ends the worker instead.
   */
  private send(worker: Worker, job: Job): void {
    const id = this.nextId++;
    const budgetMs = this.limits.timeoutMs * job.count;
    let queuedMs = 0;
    for (const p of this.pending.values()) queuedMs += p.budgetMs;
    const watchdog = setTimeout(() => this.onTimeout(worker, id), queuedMs + budgetMs + this.limits.timeoutGraceMs);
    this.pending.set(id, { ...job, budgetMs, watchdog });
    worker.postMessage({ id, kind: job.kind, inputs: job.inputs, times: job.times });
  }

  /**
   * A job ran past its budget: the worker is ended (which interrupts any loop, promise chain or
   * getter in the codec), the job answers CODEC_TIMEOUT, and the jobs queued behind it go to a
   * new worker. The codec's state starts afresh there.
   */
  private onTimeout(worker: Worker, id: number): void {
    const p = this.pending.get(id);
    if (p === undefined || this.worker !== worker) return;
    this.worker = undefined;
    const rest = [...this.pending.values()].filter((q) => q !== p);
    for (const q of this.pending.values()) clearTimeout(q.watchdog);
    this.pending.clear();
    void worker.terminate();
    p.resolve(failAll('CODEC_TIMEOUT', `exceeded ${p.budgetMs} ms`));
    if (rest.length === 0 || this.closed) return;
    this.ensureWorker().then(
      (w) => { for (const q of rest) this.send(w, q); },
      (e: unknown) => { for (const q of rest) q.resolve(failAll('CODEC_CRASHED', String(e))); },
    );
  }

  /** Settles the calls in flight (CODEC_CRASHED) and ends the worker. */
  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = undefined;
    for (const p of this.pending.values()) {
      clearTimeout(p.watchdog);
      p.resolve(failAll('CODEC_CRASHED', 'the codec was closed'));
    }
    this.pending.clear();
    if (w !== undefined) await w.terminate();
  }
}
