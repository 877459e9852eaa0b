/**
 * The message layer and exchange matching of one client (RFC 7252 §4, §5.3.2): message ids,
 * tokens, Confirmable retransmission with exponential back-off (§4.2), NSTART (§4.7),
 * deduplication within EXCHANGE_LIFETIME / NON_LIFETIME (§4.5), ACK/RST of inbound messages.
 *
 * A pure state machine: bytes come in through {@link Endpoint.receive}, go out through the
 * injected `send`, and time comes from the injected clock. No sockets here.
 */
import { decodeMessage, encodeMessage, type CoapMessage } from './codec.js';
import { Dedup } from './dedup.js';
import { CoapError } from './errors.js';
import type { EndpointOptions, EndpointStats, OutboundRequest } from './endpoint-types.js';

export type { EndpointOptions, EndpointStats, OutboundRequest, TransmitEvent } from './endpoint-types.js';

interface Exchange {
  readonly req: OutboundRequest;
  readonly token: Uint8Array;
  readonly key: string;
  readonly resolve: (m: CoapMessage) => void;
  readonly reject: (e: Error) => void;
  messageId: number;
  bytes: Uint8Array;
  attempt: number;
  timeoutMs: number;
  startedAt: number;
  timer: unknown;
  holdsSlot: boolean;
  awaitingAck: boolean;
  detach: () => void;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** The message layer of one client. Internal: the client owns one per connection. */
export class Endpoint {
  readonly stats: EndpointStats = { sent: 0, retransmissions: 0, received: 0, duplicates: 0, malformed: 0 };
  private readonly o: EndpointOptions;
  private readonly byMid = new Map<number, Exchange>();
  private readonly byToken = new Map<string, Exchange>();
  private readonly listeners = new Map<string, (m: CoapMessage) => void>();
  private readonly queue: Exchange[] = [];
  private outstanding = 0;
  private nextMid: number;
  // RFC 7252 §4.5: remember received message ids (and the reply we sent) for the lifetime.
  private readonly dedup: Dedup;
  private closed: CoapError | undefined;
  private readonly closeHandlers = new Set<(err: CoapError) => void>();

  constructor(options: EndpointOptions) {
    this.o = options;
    this.nextMid = Math.floor(options.random() * 0x10000) & 0xffff;
    this.dedup = new Dedup(options.timing.exchangeLifetime, options.timing.nonLifetime);
  }

  /** A fresh token not in use by a pending exchange or an observation. */
  newToken(): Uint8Array {
    for (;;) {
      const t = this.o.randomBytes(4);
      const k = hex(t);
      if (!this.byToken.has(k) && !this.listeners.has(k)) return t;
    }
  }

  /** Registers a handler for messages on `token` that no pending exchange claims (notifications). */
  listen(token: Uint8Array, fn: (m: CoapMessage) => void): () => void {
    const k = hex(token);
    this.listeners.set(k, fn);
    return () => {
      if (this.listeners.get(k) === fn) this.listeners.delete(k);
    };
  }

  /** Sends a request and resolves with its response (any response code). */
  request(req: OutboundRequest, signal?: AbortSignal): Promise<CoapMessage> {
    if (this.closed !== undefined) return Promise.reject(this.closed);
    if (signal?.aborted === true) return Promise.reject(new CoapError('ABORTED', `${req.label}: aborted`, { cause: signal.reason }));
    return new Promise<CoapMessage>((resolve, reject) => {
      const token = req.token ?? this.newToken();
      let onAbort: (() => void) | undefined;
      const ex: Exchange = {
        req,
        token,
        key: hex(token),
        resolve: (m) => { ex.detach(); resolve(m); },
        reject: (e) => { ex.detach(); reject(e); },
        messageId: -1,
        bytes: new Uint8Array(0),
        attempt: 0,
        timeoutMs: 0,
        startedAt: this.o.clock.now(),
        timer: undefined,
        holdsSlot: false,
        awaitingAck: false,
        detach: () => {
          if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
        },
      };
      if (this.byToken.has(ex.key)) {
        reject(new RangeError(`${req.label}: token ${ex.key} is already in use by a pending request`));
        return;
      }
      this.byToken.set(ex.key, ex);
      if (signal !== undefined) {
        onAbort = (): void => this.fail(ex, new CoapError('ABORTED', `${req.label}: aborted`, { cause: signal.reason }));
        signal.addEventListener('abort', onAbort, { once: true });
      }
      this.queue.push(ex);
      this.pump();
    });
  }

  /** Feeds one received datagram into the state machine. Never throws for network input. */
  receive(bytes: Uint8Array): void {
    this.stats.received++;
    const now = this.o.clock.now();
    this.dedup.sweep(now);
    let m: CoapMessage;
    try {
      m = decodeMessage(bytes);
    } catch {
      this.stats.malformed++;
      // RFC 7252 §4.2: a Confirmable message with a format error is rejected with RST.
      if (bytes.length >= 4 && bytes[0]! >> 6 === 1 && ((bytes[0]! >> 4) & 3) === 0) this.rst((bytes[2]! << 8) | bytes[3]!);
      return;
    }
    if (m.type === 'ACK' || m.type === 'RST') return this.onAckOrRst(m);
    // CON or NON from the server.
    if (m.type === 'CON') {
      const seen = this.dedup.seenCon(m.messageId);
      if (seen !== undefined) {
        this.stats.duplicates++;
        if (seen.reply !== undefined) this.raw(seen.reply); // RFC 7252 §4.5: ACK the duplicate again
        return;
      }
    } else {
      if (this.dedup.duplicateNon(m.messageId, now)) {
        this.stats.duplicates++;
        return;
      }
    }
    const cls = m.code >> 5;
    let handler: ((msg: CoapMessage) => void) | undefined;
    if (cls >= 2 && cls <= 5) {
      const k = hex(m.token);
      const ex = this.byToken.get(k);
      if (ex !== undefined) handler = (msg) => this.complete(ex, msg);
      else handler = this.listeners.get(k);
    }
    // RFC 7252 §4.2/§4.3: ACK what we accept; RST what we cannot process (an unknown
    // token, a request or ping to this client-only endpoint). RFC 7641 §3.6: RST on a
    // notification for a cancelled observation is the passive deregistration.
    let reply: Uint8Array | undefined;
    if (handler === undefined) reply = m.type === 'CON' || cls >= 2 ? this.rstBytes(m.messageId) : undefined;
    else if (m.type === 'CON') reply = encodeMessage({ type: 'ACK', code: 0, messageId: m.messageId, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) });
    if (m.type === 'CON') this.dedup.rememberCon(m.messageId, now, reply);
    if (reply !== undefined) this.raw(reply);
    try {
      handler?.(m);
    } catch {
      this.stats.malformed++; // e.g. an over-long Observe value: network input never throws out of here
    }
  }

  /** Fails everything pending with CLOSED (or `reason`), tells observers, refuses new requests. */
  close(reason?: CoapError): void {
    if (this.closed !== undefined) return;
    const err = reason ?? new CoapError('CLOSED', 'CoAP client closed');
    this.closed = err;
    for (const ex of [...this.byToken.values()]) this.fail(ex, err);
    this.listeners.clear();
    for (const h of [...this.closeHandlers]) h(err);
    this.closeHandlers.clear();
  }

  /** Runs `fn` once when the endpoint closes (at once if it already has); returns an unsubscribe. */
  onClose(fn: (err: CoapError) => void): () => void {
    if (this.closed !== undefined) {
      fn(this.closed);
      return () => {};
    }
    this.closeHandlers.add(fn);
    return () => this.closeHandlers.delete(fn);
  }

  /**
   * What the endpoint holds right now, for memory bounds: exchanges (pending requests),
   * those awaiting an ACK, those queued for an NSTART slot, remembered message ids of
   * received CON and NON messages (RFC 7252 §4.5, each below 2^16 and swept after
   * EXCHANGE_LIFETIME / NON_LIFETIME on the next receive), and observation listeners.
   */
  tracked(): { exchanges: number; awaitingAck: number; queued: number; seenCon: number; seenNon: number; listeners: number } {
    return { exchanges: this.byToken.size, awaitingAck: this.byMid.size, queued: this.queue.length, seenCon: this.dedup.size.con, seenNon: this.dedup.size.non, listeners: this.listeners.size };
  }

  /** Requests waiting for an NSTART slot or a response. */
  get pending(): number {
    return this.byToken.size;
  }

  private pump(): void {
    while (this.outstanding < this.o.timing.nstart && this.queue.length > 0) {
      const ex = this.queue.shift()!;
      this.outstanding++;
      ex.holdsSlot = true;
      this.start(ex);
    }
  }

  private release(ex: Exchange): void {
    if (!ex.holdsSlot) return;
    ex.holdsSlot = false;
    this.outstanding--;
    this.pump();
  }

  private start(ex: Exchange): void {
    const { timing, clock } = this.o;
    ex.messageId = this.nextMid;
    this.nextMid = (this.nextMid + 1) & 0xffff;
    try {
      ex.bytes = encodeMessage({
        type: ex.req.confirmable ? 'CON' : 'NON',
        code: ex.req.code,
        messageId: ex.messageId,
        token: ex.token,
        options: ex.req.options,
        payload: ex.req.payload,
      });
    } catch (err) {
      // e.g. a caller's raw option out of range: fail this request, keep the slot accounting right
      this.fail(ex, err as Error);
      return;
    }
    ex.startedAt = clock.now();
    if (ex.req.confirmable) {
      // RFC 7252 §4.2: initial timeout random in [ACK_TIMEOUT, ACK_TIMEOUT·ACK_RANDOM_FACTOR].
      ex.timeoutMs = timing.ackTimeout * (1 + this.o.random() * (timing.ackRandomFactor - 1));
      ex.awaitingAck = true;
      this.byMid.set(ex.messageId, ex);
      if (!this.transmit(ex)) return;
      ex.timer = clock.setTimer(() => this.onRetransmitTimer(ex), ex.timeoutMs);
    } else {
      if (!this.transmit(ex)) return;
      this.armResponseTimer(ex);
    }
  }

  private transmit(ex: Exchange): boolean {
    try {
      this.o.send(ex.bytes);
    } catch (err) {
      this.fail(ex, new CoapError('NETWORK_ERROR', `${ex.req.label}: send failed: ${(err as Error).message}`, { cause: err }));
      return false;
    }
    this.stats.sent++;
    if (ex.attempt > 0) this.stats.retransmissions++;
    try {
      this.o.onTransmit?.({
        messageId: ex.messageId,
        token: ex.token,
        type: ex.req.confirmable ? 'CON' : 'NON',
        attempt: ex.attempt,
        at: this.o.clock.now(),
        timeoutMs: ex.req.confirmable ? ex.timeoutMs : undefined,
      });
    } catch {
      // a throwing trace hook must not break retransmission (it runs inside timer callbacks)
    }
    return true;
  }

  private onRetransmitTimer(ex: Exchange): void {
    ex.timer = undefined;
    const { timing, clock } = this.o;
    if (ex.attempt < timing.maxRetransmit) {
      // RFC 7252 §4.2: retransmit and double the timeout.
      ex.attempt++;
      ex.timeoutMs *= 2;
      if (!this.transmit(ex)) return;
      ex.timer = clock.setTimer(() => this.onRetransmitTimer(ex), ex.timeoutMs);
      return;
    }
    const waited = clock.now() - ex.startedAt;
    this.fail(
      ex,
      new CoapError(
        'TIMEOUT',
        `${ex.req.label}: no acknowledgement after ${Math.round(waited)} ms (${timing.maxRetransmit} retransmissions, ACK_TIMEOUT ${timing.ackTimeout} ms, MAX_TRANSMIT_WAIT ${timing.maxTransmitWait} ms)`,
        { waitedMs: waited },
      ),
    );
  }

  private armResponseTimer(ex: Exchange): void {
    const ms = this.o.responseTimeout;
    ex.timer = this.o.clock.setTimer(() => {
      ex.timer = undefined;
      const waited = this.o.clock.now() - ex.startedAt;
      this.fail(ex, new CoapError('TIMEOUT', `${ex.req.label}: no response after ${Math.round(waited)} ms (response timeout ${ms} ms)`, { waitedMs: waited }));
    }, ms);
  }

  private onAckOrRst(m: CoapMessage): void {
    const ex = this.byMid.get(m.messageId);
    if (ex === undefined || !ex.awaitingAck) {
      this.stats.duplicates++; // a late or duplicate ACK/RST
      return;
    }
    if (m.type === 'RST') {
      this.fail(ex, new CoapError('RESET', `${ex.req.label}: the server answered with Reset`));
      return;
    }
    this.acked(ex);
    if (m.code === 0) {
      // RFC 7252 §5.2.2: empty ACK, a separate response follows.
      this.armResponseTimer(ex);
      return;
    }
    if (hex(m.token) !== ex.key) return this.fail(ex, new CoapError('MALFORMED', `${ex.req.label}: piggybacked response with a different token`));
    this.complete(ex, m);
  }

  private acked(ex: Exchange): void {
    ex.awaitingAck = false;
    this.byMid.delete(ex.messageId);
    if (ex.timer !== undefined) this.o.clock.clearTimer(ex.timer);
    ex.timer = undefined;
    this.release(ex);
  }

  private complete(ex: Exchange, m: CoapMessage): void {
    // A separate response also ends the retransmission of a request whose ACK was lost.
    if (ex.awaitingAck) this.acked(ex);
    this.finish(ex);
    ex.resolve(m);
  }

  private fail(ex: Exchange, err: Error): void {
    if (ex.awaitingAck) this.byMid.delete(ex.messageId);
    ex.awaitingAck = false;
    this.finish(ex);
    ex.reject(err);
  }

  private finish(ex: Exchange): void {
    if (ex.timer !== undefined) this.o.clock.clearTimer(ex.timer);
    ex.timer = undefined;
    if (this.byToken.get(ex.key) === ex) this.byToken.delete(ex.key);
    const q = this.queue.indexOf(ex);
    if (q >= 0) this.queue.splice(q, 1);
    this.release(ex);
  }

  private rstBytes(messageId: number): Uint8Array {
    return encodeMessage({ type: 'RST', code: 0, messageId, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) });
  }

  private rst(messageId: number): void {
    this.raw(this.rstBytes(messageId));
  }

  private raw(bytes: Uint8Array): void {
    try {
      this.o.send(bytes);
    } catch {
      // an ACK/RST that cannot be sent is lost like any datagram; the peer retransmits
    }
  }
}

