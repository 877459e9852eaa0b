/**
 * JetStream publishes pipelined on one reply subscription, for the bridge: every message is a
 * core NATS publish with a reply subject `<inbox>.<n>`, and the stream's publish ack comes back on
 * it (docs.nats.io "JetStream Model Deep Dive", Publish acknowledgements: `{"stream", "seq",
 * "duplicate"}` or `{"error": {"code", "description"}}`). Many publishes are in flight at once; one
 * subscription and one sweep timer serve them all, where the client's `js.publish` makes a request
 * per message (its own reply token, timer and promise chain, and an Error built when it resolves).
 */
import { createInbox, type Msg, type NatsConnection, type MsgHdrs, type Subscription } from '@nats-io/transport-node';
import type { PipelineClock } from './clock.js';
import { PipelineError } from './errors.js';

/** What the stream said about one publish. */
export interface StreamPublishAck {
  /** The stream already had a message with this `Nats-Msg-Id` within its duplicate window. */
  readonly duplicate: boolean;
}

interface Waiting {
  readonly resolve: (ack: StreamPublishAck) => void;
  readonly reject: (e: Error) => void;
  readonly at: number;
}

/**
 * Publishes to JetStream with many acks awaited at once. A publish that gets no ack within
 * `timeoutMs` (checked every quarter of it, so it fails between 1× and 1.25× `timeoutMs`) is
 * rejected, as is one the stream refused (`{"error": …}`) or that nobody answered (no stream for
 * the subject: status 503); the caller retries (the `Nats-Msg-Id` makes a second store a duplicate).
 */
export class StreamPublisher {
  private readonly prefix = `${createInbox()}.`;
  private readonly waiting = new Map<number, Waiting>();
  private readonly sub: Subscription;
  private next = 0;
  private timer: unknown;
  private closed = false;
  private readonly decoder = new TextDecoder();

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
    private readonly clock: PipelineClock,
  ) {
    this.sub = nc.subscribe(`${this.prefix}*`, { callback: (err, msg) => this.answer(err, msg) });
    this.timer = clock.setTimeout(() => this.sweep(), this.sweepMs());
  }

  /** Messages published and not yet acknowledged. */
  get inFlight(): number {
    return this.waiting.size;
  }

  /** Publishes `data` to `subject` with `headers` (put `Nats-Msg-Id` there); resolves on the stream's ack. */
  publish(subject: string, data: Uint8Array, headers: MsgHdrs): Promise<StreamPublishAck> {
    if (this.closed) return Promise.reject(new PipelineError('CLOSED', 'stream publisher: closed'));
    const id = ++this.next;
    return new Promise<StreamPublishAck>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, at: this.clock.now() });
      try {
        this.nc.publish(subject, data, { reply: `${this.prefix}${id}`, headers });
      } catch (e) {
        this.waiting.delete(id);
        reject(e as Error);
      }
    });
  }

  /** Rejects what is still waiting and stops listening. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clock.clearTimeout(this.timer);
    this.sub.unsubscribe();
    for (const w of this.waiting.values()) w.reject(new PipelineError('CLOSED', 'stream publisher: closed before the stream acknowledged'));
    this.waiting.clear();
  }

  private sweepMs(): number {
    return Math.max(10, Math.floor(this.timeoutMs / 4));
  }

  private answer(err: Error | null, msg: Msg): void {
    if (err !== null) return; // the subscription ended (close); waiting publishes were rejected there
    const id = Number(msg.subject.slice(this.prefix.length));
    const w = this.waiting.get(id);
    if (w === undefined) return; // timed out already
    this.waiting.delete(id);
    if (msg.data.length === 0) {
      // A status without a body: 503 when no stream listens on the subject (no responders).
      w.reject(new PipelineError('INGEST_FAILED', `stream publish: no ack (status ${msg.headers?.code ?? '?'} ${msg.headers?.description ?? ''})`));
      return;
    }
    let body: { error?: { code?: number; description?: string }; duplicate?: boolean; stream?: string };
    try {
      body = JSON.parse(this.decoder.decode(msg.data)) as typeof body;
    } catch (e) {
      w.reject(new PipelineError('INGEST_FAILED', 'stream publish: an ack that is not JSON', { cause: e }));
      return;
    }
    if (body.error !== undefined || typeof body.stream !== 'string') {
      w.reject(new PipelineError('INGEST_FAILED', `stream publish refused: ${body.error?.code ?? '?'} ${body.error?.description ?? 'no stream in the ack'}`));
      return;
    }
    w.resolve({ duplicate: body.duplicate === true });
  }

  /** Rejects the publishes older than `timeoutMs` (their ack was lost: a node died, the connection dropped). */
  private sweep(): void {
    const oldest = this.clock.now() - this.timeoutMs;
    for (const [id, w] of this.waiting) {
      if (w.at > oldest) break; // in publish order, so the rest are younger
      this.waiting.delete(id);
      w.reject(new PipelineError('INGEST_FAILED', `stream publish: no ack within ${this.timeoutMs} ms`));
    }
    if (!this.closed) this.timer = this.clock.setTimeout(() => this.sweep(), this.sweepMs());
  }
}
