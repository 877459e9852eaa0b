// MQTT-SN 1.2 §6.13, sans-I/O: every unicast message that expects a reply is supervised by
// Tretry and Nretry; after Nretry retransmissions the procedure is aborted. An operation is a
// generator that yields the exchanges it needs one after the other (REGISTER then PUBLISH,
// PUBLISH then PUBREL, …) and gets each reply back; no promises, no timers: the owner feeds
// replies (`offer`) and time (`expire`) and reads `nextDeadline()`. Internal.
import { MqttSnError } from './errors.js';
import type { MqttSnMessage } from './messages.js';
import { retryDelay, type RetryPolicy } from './timers.js';

/** One request/reply exchange an operation waits on. */
export interface Exchange {
  readonly what: string;
  /** The message for transmission `attempt` (0 first, then retransmissions). */
  readonly message: (attempt: number) => MqttSnMessage;
  readonly match: (m: MqttSnMessage) => boolean;
  /** Replies that prove progress without completing (restart Tretry, e.g. WILLTOPICREQ during CONNECT). */
  readonly progress?: (m: MqttSnMessage) => boolean;
}

/** An operation: yields exchanges, receives their replies, returns its result or throws. */
export type Operation<T = unknown> = Generator<Exchange, T, MqttSnMessage>;

/** A running operation. */
export class Running {
  exchange: Exchange | undefined;
  attempt = 0;
  deadline = Number.POSITIVE_INFINITY;
  started = 0;
  finished = false;
  /** `done(this, result)`: a callback shared by many operations needs no closure per operation. */
  constructor(readonly id: number, readonly op: Operation, readonly done: (r: Running, result: { value: unknown } | { error: Error }) => void) {}
}

/** What the table needs from its owner. */
export interface ExchangeHost {
  readonly retry: RetryPolicy;
  readonly random: () => number;
  /** Sends one message now (the owner encodes and queues it). */
  send(m: MqttSnMessage): void;
}

/** The running operations of one MQTT-SN endpoint, with their Tretry deadlines. */
export class Exchanges {
  private readonly running: Running[] = [];
  /** Retransmissions sent so far. */
  retransmissions = 0;

  constructor(private readonly host: ExchangeHost) {}

  /** Starts an operation at `now`: runs it to its first exchange (or its end). */
  start(r: Running, now: number): void {
    this.running.push(r);
    this.step(r, now, () => r.op.next());
  }

  /** Offers an inbound message; true if a running exchange took it as its reply. */
  offer(m: MqttSnMessage, now: number): boolean {
    for (const r of this.running) {
      const x = r.exchange;
      if (x === undefined) continue;
      if (x.progress?.(m) === true) {
        this.arm(r, now); // progress restarts Tretry; the message is still the owner's to handle
        continue;
      }
      if (x.match(m)) {
        this.step(r, now, () => r.op.next(m));
        return true;
      }
    }
    return false;
  }

  /** Fires every due deadline: retransmits, or fails the operation with TIMEOUT after Nretry. */
  expire(now: number): void {
    for (const r of [...this.running]) {
      if (r.finished || r.deadline > now || r.exchange === undefined) continue;
      const x = r.exchange;
      const { nRetry, tRetryMs } = this.host.retry;
      if (r.attempt >= nRetry) {
        const waited = Math.round(now - r.started);
        this.fail(r, new MqttSnError('TIMEOUT', `${x.what}: no reply after ${nRetry + 1} transmissions over ${waited} ms (Tretry ${tRetryMs} ms, Nretry ${nRetry})`), now);
        continue;
      }
      r.attempt += 1;
      this.retransmissions += 1;
      this.host.send(x.message(r.attempt));
      this.arm(r, now);
    }
  }

  /** Ends an operation with an error (TIMEOUT, ABORTED, CLOSED): thrown into it so it can clean up. */
  fail(r: Running, err: Error, now: number): void {
    if (r.finished) return;
    this.step(r, now, () => r.op.throw(err));
  }

  /** Fails every running operation (on close). */
  failAll(err: Error, now: number): void {
    for (const r of [...this.running]) this.fail(r, err, now);
  }

  nextDeadline(): number | undefined {
    let at = Number.POSITIVE_INFINITY;
    for (const r of this.running) if (r.deadline < at) at = r.deadline;
    return at === Number.POSITIVE_INFINITY ? undefined : at;
  }

  /** Operations waiting on a reply. */
  get size(): number {
    return this.running.length;
  }

  private step(r: Running, now: number, resume: () => IteratorResult<Exchange, unknown>): void {
    let res: IteratorResult<Exchange, unknown>;
    try {
      res = resume();
    } catch (e) {
      this.finish(r, { error: e as Error });
      return;
    }
    if (res.done === true) {
      this.finish(r, { value: res.value });
      return;
    }
    r.exchange = res.value;
    r.attempt = 0;
    r.started = now;
    this.host.send(res.value.message(0));
    this.arm(r, now);
  }

  /** §6.13 Tretry, stretched by jitter (never early). */
  private arm(r: Running, now: number): void {
    r.deadline = now + retryDelay(this.host.retry, r.attempt, this.host.random);
  }

  private finish(r: Running, result: { value: unknown } | { error: Error }): void {
    r.finished = true;
    r.exchange = undefined;
    r.deadline = Number.POSITIVE_INFINITY;
    const i = this.running.indexOf(r);
    if (i >= 0) this.running.splice(i, 1);
    r.done(r, result);
  }
}
