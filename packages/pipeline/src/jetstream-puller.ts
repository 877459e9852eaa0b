/**
 * The pulling side of one JetStream worker process: its messages in flight, their acks, the pull
 * loop. What a message costs here is most of what the source costs per message, so:
 *
 * - pulls are `fetch`es in callback mode: each message is handed over from the subscription's
 *   callback, not through an async iterator (one promise hop and one turn of the microtask queue
 *   per message);
 * - the worker keeps, per message in flight, only its reply subject (where its ack goes), its
 *   payload (for the rejection check) and when it last got an ack or `+WPI` — not the client's
 *   message objects, which would live on until the batch commits and be copied by every GC;
 * - the headers and the reply subject's tokens are read without the client's per-message
 *   structures (`jetstream-message.ts`);
 * - consecutive messages whose handler returned the same promise (a pipeline's write group) share
 *   one reaction, as in the MQTT consumer;
 * - acks, terms and naks are queued and written once per event-loop turn (`setImmediate`): one
 *   socket write for a settled write group instead of one per message (the client flushes what is
 *   buffered at the next microtask checkpoint, which a per-message settle reached once per message).
 *
 * Acks are JetStream's explicit per-message acks (docs.nats.io "Consumer Acknowledgements"):
 * `AckPolicy.All` (one ack for everything up to a sequence) would be fewer publishes, but is not
 * correct when several workers share the consumer: a worker's ack of sequence n would acknowledge
 * messages below n that another worker still holds, so a crash of that worker would lose them.
 */
import type { Consumer, FetchOptions, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { PipelineClock } from './clock.js';
import type { IncomingMessage } from './decode.js';
import type { JetStreamHandler, JetStreamIngestStats, JetStreamMessageInfo } from './jetstream-ingest.js';
import { incoming, replyInfo, sourceHeaders } from './jetstream-message.js';

/** The source's settings the puller uses (resolved, with their defaults, by `connectJetStreamIngest`). */
export interface PullerSettings {
  readonly ackWaitMs: number;
  readonly maxInFlight: number;
  readonly batch: number;
  readonly pullExpiresMs: number;
  readonly nakDelayMs: number;
  readonly clock: PipelineClock;
}

/** One message this process holds. */
interface Held {
  readonly reply: string;
  readonly payload: Uint8Array;
  since: number;
}

/** Consecutive messages whose handler returned the same promise. */
interface Run {
  readonly p: Promise<void | 'rejected'>;
  readonly held: Held[];
  fired: boolean;
}

const enc = new TextEncoder();
const ACK = enc.encode('+ACK');
const TERM = enc.encode('+TERM'); // bare: nats-server 2.9 knows no reason text
const NAK = enc.encode('-NAK');
const WPI = enc.encode('+WPI');
const ACKED = 0;
const TERMED = 1;
const NAKED = 2;

/** The handler's promise, or a rejected one if it threw. */
function invoke(handler: JetStreamHandler, m: IncomingMessage, info: JetStreamMessageInfo): Promise<void | 'rejected'> {
  try {
    return handler(m, info);
  } catch (e) {
    return Promise.reject(e);
  }
}

/** Pulls what there is room for, hands each message to the handler, acknowledges its outcome. */
export class Puller {
  readonly stats: JetStreamIngestStats = { received: 0, acked: 0, termed: 0, naked: 0, redelivered: 0, pending: 0, working: 0, pulls: 0, pullErrors: 0, paused: false, pauses: 0, reconnects: 0, ackWrites: 0 };
  /** Messages whose handler has not settled, with when they last got an ack or `+WPI`. */
  readonly inFlight = new Set<Held>();
  closing = false;
  private wake: (() => void) | undefined;
  private timer: unknown;
  private run: Run | undefined;
  /** Reply subjects of settled messages and their outcome, written at the end of the turn. */
  private replies: string[] = [];
  private outcomes: number[] = [];
  private flushing = false;
  private readonly nakDelayed: Uint8Array;

  constructor(
    private readonly nc: NatsConnection,
    private readonly consumer: Consumer,
    private readonly s: PullerSettings,
    private readonly handler: JetStreamHandler,
    /** Whether a message whose handler resolved was dead-lettered (then `+TERM`): the pipeline's write group resolves for all its messages alike. */
    private readonly rejected: ((payload: Uint8Array) => boolean) | undefined,
  ) {
    // The client's own format for a delayed nak (nanoseconds).
    this.nakDelayed = s.nakDelayMs > 0 ? enc.encode(`-NAK ${JSON.stringify({ delay: s.nakDelayMs * 1_000_000 })}`) : NAK;
    this.timer = s.clock.setTimeout(() => this.keepAlive(), this.keepAlivePeriod());
  }

  /** Ends a wait of the loop (a message settled, intake resumed, closing). */
  nudge(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  sleep(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = this.s.clock.setTimeout(() => this.nudge(), ms);
      this.wake = () => {
        this.s.clock.clearTimeout(t);
        r();
      };
    });
  }

  /** Pulls what there is room for, until closing; a failed pull (no quorum, a node gone) is retried shortly. */
  async loop(): Promise<void> {
    const onMessage = (m: JsMsg): void => this.dispatch(m);
    while (!this.closing) {
      const room = this.s.maxInFlight - this.inFlight.size;
      if (this.stats.paused || room <= 0) {
        await this.sleep(1_000);
        continue;
      }
      this.stats.pulls++;
      try {
        // `callback` is typed for consume() only, and taken by fetch() alike (nats.js 3.x, PullConsumerMessagesImpl).
        const pull = await this.consumer.fetch({ max_messages: Math.min(this.s.batch, room), expires: this.s.pullExpiresMs, callback: onMessage } as FetchOptions);
        const err = await pull.closed();
        if (err instanceof Error) throw err;
      } catch {
        this.stats.pullErrors++;
        if (!this.closing) await this.sleep(250);
      }
    }
  }

  /** Queues the message's outcome for the end of the turn; a message settled at close already is skipped. */
  settle(h: Held, outcome: number): void {
    if (!this.inFlight.delete(h)) return;
    this.stats.pending--;
    this.replies.push(h.reply);
    this.outcomes.push(outcome);
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => this.flushAcks()); // once per turn, after every settle of this turn
    }
    this.nudge();
  }

  /** Writes the queued acks (the client sends them in one write). Acks on a connection that is gone are dropped by the client; the server redelivers after ack_wait. */
  flushAcks(): void {
    this.flushing = false;
    const { replies, outcomes, stats } = this;
    if (replies.length === 0) return;
    this.replies = [];
    this.outcomes = [];
    const nak = this.closing ? NAK : this.nakDelayed; // a worker closing hands its messages on at once
    for (let i = 0; i < replies.length; i++) {
      const o = outcomes[i];
      try {
        this.nc.publish(replies[i] as string, o === ACKED ? ACK : o === TERMED ? TERM : nak);
      } catch {
        continue; // closed connection
      }
      if (o === ACKED) stats.acked++;
      else if (o === TERMED) stats.termed++;
      else stats.naked++;
    }
    stats.ackWrites++;
  }

  /** Naks what is still held (closing: another worker takes it at once) and writes every queued ack. */
  nakAll(): void {
    for (const h of [...this.inFlight]) this.settle(h, NAKED);
    this.flushAcks();
  }

  stop(): void {
    this.closing = true;
    this.s.clock.clearTimeout(this.timer);
    this.nudge();
  }

  private dispatch(m: JsMsg): void {
    const { stats } = this;
    const reply = (m as JsMsg & { readonly reply: string }).reply; // nats.js 3.x's JsMsgImpl has it; the JsMsg type does not
    const r0 = replyInfo(reply);
    stats.received++;
    stats.pending++;
    if (r0.redelivered) stats.redelivered++;
    const h = sourceHeaders(m);
    const message = incoming(m, h, r0.storedAt);
    const held: Held = { reply, payload: message.payload, since: this.s.clock.now() };
    this.inFlight.add(held);
    const p = invoke(this.handler, message, { oversizedBytes: h.oversized > 0 ? h.oversized : undefined });
    const r = this.run;
    if (r !== undefined && r.p === p && !r.fired) {
      r.held.push(held);
      return;
    }
    const next: Run = { p, held: [held], fired: false };
    this.run = next;
    p.then(
      (v) => {
        next.fired = true;
        for (const h of next.held) this.settle(h, v === 'rejected' || this.rejected?.(h.payload) === true ? TERMED : ACKED);
      },
      () => {
        next.fired = true;
        for (const h of next.held) this.settle(h, NAKED);
      },
    );
  }

  private keepAlivePeriod(): number {
    return Math.max(100, Math.floor(this.s.ackWaitMs / 6));
  }

  /** `+WPI` for messages held a third of `ack_wait`: a message the pipeline holds (a sink down) is not redelivered elsewhere. */
  private keepAlive(): void {
    const now = this.s.clock.now();
    for (const h of this.inFlight) {
      if (now - h.since < this.s.ackWaitMs / 3) continue;
      try {
        this.nc.publish(h.reply, WPI);
        h.since = now;
        this.stats.working++;
      } catch {
        /* reconnecting */
      }
    }
    if (!this.closing) this.timer = this.s.clock.setTimeout(() => this.keepAlive(), this.keepAlivePeriod());
  }
}
