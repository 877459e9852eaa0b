// MQTT-SN 1.2 §6.13: every unicast message that expects a reply is supervised by Tretry and
// Nretry; after Nretry retransmissions the procedure is aborted. Internal.
import { MqttSnError } from './errors.js';
import type { MqttSnMessage } from './messages.js';
import { retryDelay, type RetryPolicy } from './timers.js';
import type { Clock } from '../transports/clock.js';

interface Pending {
  readonly match: (m: MqttSnMessage) => boolean;
  readonly resolve: (m: MqttSnMessage) => void;
  readonly reject: (e: Error) => void;
  timer: unknown;
  touch: () => void;
}

export interface RequestOptions {
  readonly signal?: AbortSignal | undefined;
  /** Replies that prove progress without completing (restart Tretry, e.g. WILLTOPICREQ during CONNECT). */
  readonly progress?: (m: MqttSnMessage) => boolean;
}

export class Retransmitter {
  private readonly pending = new Set<Pending>();
  /** Retransmissions sent so far (for stats). */
  retransmissions = 0;

  constructor(
    private readonly timers: Clock,
    private readonly policy: () => RetryPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * Sends with `send(attempt)` (attempt 0 is the first transmission) and resolves with the
   * first inbound message `match` accepts; rejects with TIMEOUT after Nretry retransmissions.
   */
  request(what: string, send: (attempt: number) => void, match: (m: MqttSnMessage) => boolean, opts: RequestOptions = {}): Promise<MqttSnMessage> {
    const { signal } = opts;
    if (signal?.aborted === true) return Promise.reject(new MqttSnError('ABORTED', `${what}: aborted`, { cause: signal.reason }));
    return new Promise<MqttSnMessage>((resolve, reject) => {
      const policy = this.policy();
      const { tRetryMs, nRetry } = policy;
      let attempt = 0;
      const started = this.timers.now();
      const onAbort = (): void => finish(new MqttSnError('ABORTED', `${what}: aborted`, { cause: signal?.reason }));
      const finish = (r: MqttSnMessage | Error): void => {
        if (!this.pending.delete(p)) return;
        this.timers.clearTimer(p.timer);
        signal?.removeEventListener('abort', onAbort);
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
      const arm = (): void => {
        this.timers.clearTimer(p.timer);
        p.timer = this.timers.setTimer(() => {
          if (attempt >= nRetry) {
            const waited = Math.round(this.timers.now() - started);
            finish(new MqttSnError('TIMEOUT', `${what}: no reply after ${nRetry + 1} transmissions over ${waited} ms (Tretry ${tRetryMs} ms, Nretry ${nRetry})`));
            return;
          }
          attempt += 1;
          this.retransmissions += 1;
          try { send(attempt); } catch (e) { finish(e as Error); return; }
          arm();
        }, retryDelay(policy, attempt, this.random)); // §6.13 Tretry, stretched by jitter (never early)
      };
      const p: Pending = { match, resolve: (m) => finish(m), reject: (e) => finish(e), timer: undefined, touch: arm };
      if (opts.progress !== undefined) {
        const prog = opts.progress;
        (p as { match: (m: MqttSnMessage) => boolean }).match = (m) => {
          if (prog(m)) { arm(); return false; }
          return match(m);
        };
      }
      this.pending.add(p);
      signal?.addEventListener('abort', onAbort, { once: true });
      try { send(0); } catch (e) { finish(e as Error); return; }
      arm();
    });
  }

  /** Offers an inbound message; returns true if a pending request took it. */
  offer(m: MqttSnMessage): boolean {
    for (const p of this.pending) {
      if (p.match(m)) {
        p.resolve(m);
        return true;
      }
    }
    return false;
  }

  /** Fails everything pending (on close). */
  failAll(err: Error): void {
    for (const p of [...this.pending]) p.reject(err);
  }

  get size(): number {
    return this.pending.size;
  }
}

/** A FIFO mutex: one exchange at a time (MQTT-SN 1.2 §6.6: one QoS 1/2 PUBLISH in flight per direction). */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/** Message ids 1…65535, wrapping (0 is not used for QoS 1/2, MQTT-SN 1.2 §5.3.7). */
export class MsgIds {
  private n = 0;
  next(): number {
    this.n = (this.n % 0xffff) + 1;
    return this.n;
  }
}
