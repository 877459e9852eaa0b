/**
 * The CoAP message layer of one client as a sans-I/O state machine (DESIGN.md "One time and
 * I/O model"; RFC 7252 §4, §5.3.2): message ids, tokens, Confirmable retransmission with
 * exponential back-off (§4.2), NSTART (§4.7), deduplication within EXCHANGE_LIFETIME /
 * NON_LIFETIME (§4.5), ACK/RST of inbound messages. Datagrams and timer ticks come in with
 * `now`; datagrams to send, events (a request's response or failure, a notification) and the
 * next deadline come out. The promise Endpoint (endpoint.ts) and the stateful fuzzer drive it.
 */
import { decodeMessage, encodeMessage, type CoapMessage } from './codec.js';
import { Dedup } from './dedup.js';
import { CoapError } from './errors.js';
import type { EndpointStats, OutboundRequest, TransmitEvent } from './endpoint-types.js';
import type { ResolvedTiming } from './timing.js';
import { Outbox, type OutDatagram, type SansIoMachine } from '../transports/sansio.js';

/** What the machine needs: parameters and randomness, no clock and no socket. */
export interface EndpointMachineOptions {
  readonly timing: ResolvedTiming;
  /** Uniform in [0, 1): the random part of the initial timeout, the first message id. */
  readonly random: () => number;
  /** Random bytes for tokens (RFC 7252 §5.3.1). */
  readonly randomBytes: (n: number) => Uint8Array;
  /** Time to wait for a separate or NON response once the request is acknowledged/sent. */
  readonly responseTimeout: number;
  readonly onTransmit?: ((e: TransmitEvent) => void) | undefined;
}

/** What comes out besides datagrams. `key` is the token in hex. */
export type CoapEndpointEvent =
  | { readonly type: 'response'; readonly op: number; readonly message: CoapMessage }
  | { readonly type: 'failed'; readonly op: number; readonly error: Error }
  | { readonly type: 'notification'; readonly key: string; readonly message: CoapMessage };

interface Exchange {
  readonly op: number;
  readonly req: OutboundRequest;
  readonly token: Uint8Array;
  readonly key: string;
  messageId: number;
  bytes: Uint8Array;
  attempt: number;
  timeoutMs: number;
  startedAt: number;
  /** When the armed timer is due, and what it does then. */
  deadline: number | undefined;
  due: 'retransmit' | 'response' | undefined;
  holdsSlot: boolean;
  awaitingAck: boolean;
}

export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

const EMPTY = new Uint8Array(0);

/**
 * The CoAP client message layer as a state machine: no socket, no timer, no promise.
 *
 * @example
 * ```ts
 * import { CoapEndpointMachine, resolveTiming, encodeMessage } from '@outpost/device-sdk/coap';
 * const m = new CoapEndpointMachine({ timing: resolveTiming({}), random: () => 0, randomBytes: (n) => new Uint8Array(n).fill(7), responseTimeout: 5000 });
 * const op = m.request({ confirmable: true, code: 1, options: [], payload: new Uint8Array(0), label: 'GET /' }, 0);
 * const [sent] = m.poll().datagrams;
 * m.nextDeadline(); // 2000
 * const mid = ((sent.bytes as Uint8Array)[2] << 8) | (sent.bytes as Uint8Array)[3];
 * m.handleDatagram(encodeMessage({ type: 'ACK', code: 69, messageId: mid, token: new Uint8Array(4).fill(7), options: [], payload: new Uint8Array(0) }), 10);
 * m.poll().events[0]; // { type: 'response', op: 1 }
 * op; // 1
 * ```
 */
export class CoapEndpointMachine implements SansIoMachine<CoapEndpointEvent> {
  readonly stats: EndpointStats = { sent: 0, retransmissions: 0, received: 0, duplicates: 0, malformed: 0 };
  private readonly out = new Outbox<CoapEndpointEvent>();
  private readonly byMid = new Map<number, Exchange>();
  private readonly byToken = new Map<string, Exchange>();
  private readonly byOp = new Map<number, Exchange>();
  private readonly listeners = new Set<string>();
  private readonly queue: Exchange[] = [];
  private outstanding = 0;
  private nextMid: number;
  private nextOp = 0;
  private t = 0;
  // RFC 7252 §4.5: remember received message ids (and the reply we sent) for the lifetime.
  private readonly dedup: Dedup;
  private closedWith: CoapError | undefined;

  constructor(private readonly o: EndpointMachineOptions) {
    this.nextMid = Math.floor(o.random() * 0x10000) & 0xffff;
    this.dedup = new Dedup(o.timing.exchangeLifetime, o.timing.nonLifetime);
  }

  /** The error the machine closed with, if it did. */
  get closed(): CoapError | undefined {
    return this.closedWith;
  }

  /** A fresh token not in use by a pending exchange or an observation. */
  newToken(): Uint8Array {
    for (;;) {
      const t = this.o.randomBytes(4);
      const k = hex(t);
      if (!this.byToken.has(k) && !this.listeners.has(k)) return t;
    }
  }

  /** Messages on `token` that no pending exchange claims become `notification` events; returns the key. */
  listen(token: Uint8Array): string {
    const k = hex(token);
    this.listeners.add(k);
    return k;
  }

  unlisten(key: string): void {
    this.listeners.delete(key);
  }

  /**
   * Queues a request (sent when an NSTART slot is free); its outcome is a `response` or
   * `failed` event with the returned op id. @throws the close error when closed; RangeError for a token in use.
   */
  request(req: OutboundRequest, now: number): number {
    this.t = now;
    if (this.closedWith !== undefined) throw this.closedWith;
    const token = req.token ?? this.newToken();
    const key = hex(token);
    if (this.byToken.has(key)) throw new RangeError(`${req.label}: token ${key} is already in use by a pending request`);
    const ex: Exchange = { op: ++this.nextOp, req, token, key, messageId: -1, bytes: EMPTY, attempt: 0, timeoutMs: 0, startedAt: now, deadline: undefined, due: undefined, holdsSlot: false, awaitingAck: false };
    this.byToken.set(key, ex);
    this.byOp.set(ex.op, ex);
    this.queue.push(ex);
    this.pump();
    return ex.op;
  }

  /** Fails request `op` with ABORTED. */
  abort(op: number, reason: unknown, now: number): void {
    this.t = now;
    const ex = this.byOp.get(op);
    if (ex !== undefined) this.fail(ex, new CoapError('ABORTED', `${ex.req.label}: aborted`, { cause: reason }));
  }

  /** Feeds one received datagram. Never throws for network input. */
  handleDatagram(bytes: Uint8Array, now: number): void {
    this.t = now;
    this.stats.received++;
    this.dedup.sweep(now);
    let m: CoapMessage;
    try {
      m = decodeMessage(bytes);
    } catch {
      this.stats.malformed++;
      // RFC 7252 §4.2: a Confirmable message with a format error is rejected with RST.
      if (bytes.length >= 4 && bytes[0]! >> 6 === 1 && ((bytes[0]! >> 4) & 3) === 0) this.out.datagram(this.rstBytes((bytes[2]! << 8) | bytes[3]!));
      return;
    }
    if (m.type === 'ACK' || m.type === 'RST') return this.onAckOrRst(m);
    if (this.duplicate(m, now)) return;
    const cls = m.code >> 5;
    const k = cls >= 2 && cls <= 5 ? hex(m.token) : undefined;
    const ex = k === undefined ? undefined : this.byToken.get(k);
    const listened = ex === undefined && k !== undefined && this.listeners.has(k);
    // RFC 7252 §4.2/§4.3: ACK what we accept; RST what we cannot process (an unknown token, a
    // request or ping to this client-only endpoint). RFC 7641 §3.6: RST on a notification for a
    // cancelled observation is the passive deregistration.
    let reply: Uint8Array | undefined;
    if (ex === undefined && !listened) reply = m.type === 'CON' || cls >= 2 ? this.rstBytes(m.messageId) : undefined;
    else if (m.type === 'CON') reply = encodeMessage({ type: 'ACK', code: 0, messageId: m.messageId, token: EMPTY, options: [], payload: EMPTY });
    if (m.type === 'CON') this.dedup.rememberCon(m.messageId, now, reply);
    if (reply !== undefined) this.out.datagram(reply);
    if (ex !== undefined) this.complete(ex, m);
    else if (listened) this.out.event({ type: 'notification', key: k as string, message: m });
  }

  /** Fires due retransmissions (RFC 7252 §4.2) and response timeouts. */
  handleTimer(now: number): void {
    this.t = now;
    for (const ex of [...this.byToken.values()]) {
      if (ex.deadline === undefined || ex.deadline > now) continue;
      const due = ex.due;
      ex.deadline = undefined;
      ex.due = undefined;
      if (due === 'retransmit') this.onRetransmitTimer(ex);
      else this.fail(ex, new CoapError('TIMEOUT', `${ex.req.label}: no response after ${Math.round(now - ex.startedAt)} ms (response timeout ${this.o.responseTimeout} ms)`, { waitedMs: now - ex.startedAt }));
    }
  }

  nextDeadline(): number | undefined {
    let at: number | undefined;
    for (const ex of this.byToken.values()) if (ex.deadline !== undefined && (at === undefined || ex.deadline < at)) at = ex.deadline;
    return at;
  }

  poll(): { datagrams: readonly OutDatagram[]; events: readonly CoapEndpointEvent[] } {
    return this.out.poll();
  }

  /** Fails everything pending with CLOSED (or `reason`) and refuses new requests. */
  close(reason: CoapError | undefined, now: number): void {
    this.t = now;
    if (this.closedWith !== undefined) return;
    const err = reason ?? new CoapError('CLOSED', 'CoAP client closed');
    this.closedWith = err;
    for (const ex of [...this.byToken.values()]) this.fail(ex, err);
    this.listeners.clear();
  }

  /** What the endpoint holds right now, for memory bounds (see Endpoint.tracked). */
  tracked(): { exchanges: number; awaitingAck: number; queued: number; seenCon: number; seenNon: number; listeners: number } {
    return { exchanges: this.byToken.size, awaitingAck: this.byMid.size, queued: this.queue.length, seenCon: this.dedup.size.con, seenNon: this.dedup.size.non, listeners: this.listeners.size };
  }

  /** Requests waiting for an NSTART slot or a response. */
  get pending(): number {
    return this.byToken.size;
  }

  /** RFC 7252 §4.5: a duplicate CON gets the same ACK/RST again; a duplicate NON is dropped. */
  private duplicate(m: CoapMessage, now: number): boolean {
    if (m.type === 'CON') {
      const seen = this.dedup.seenCon(m.messageId);
      if (seen === undefined) return false;
      this.stats.duplicates++;
      if (seen.reply !== undefined) this.out.datagram(seen.reply);
      return true;
    }
    if (!this.dedup.duplicateNon(m.messageId, now)) return false;
    this.stats.duplicates++;
    return true;
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

  private arm(ex: Exchange, due: 'retransmit' | 'response', ms: number): void {
    ex.due = due;
    ex.deadline = this.t + ms;
  }

  private start(ex: Exchange): void {
    ex.messageId = this.nextMid;
    this.nextMid = (this.nextMid + 1) & 0xffff;
    try {
      ex.bytes = encodeMessage({ type: ex.req.confirmable ? 'CON' : 'NON', code: ex.req.code, messageId: ex.messageId, token: ex.token, options: ex.req.options, payload: ex.req.payload });
    } catch (err) {
      // e.g. a caller's raw option out of range: fail this request, keep the slot accounting right
      this.fail(ex, err as Error);
      return;
    }
    ex.startedAt = this.t;
    if (ex.req.confirmable) {
      // RFC 7252 §4.2: initial timeout random in [ACK_TIMEOUT, ACK_TIMEOUT·ACK_RANDOM_FACTOR].
      const { ackTimeout, ackRandomFactor } = this.o.timing;
      ex.timeoutMs = ackTimeout * (1 + this.o.random() * (ackRandomFactor - 1));
      ex.awaitingAck = true;
      this.byMid.set(ex.messageId, ex);
      this.transmit(ex);
      this.arm(ex, 'retransmit', ex.timeoutMs);
    } else {
      this.transmit(ex);
      this.arm(ex, 'response', this.o.responseTimeout);
    }
  }

  private transmit(ex: Exchange): void {
    this.out.datagram(ex.bytes);
    this.stats.sent++;
    if (ex.attempt > 0) this.stats.retransmissions++;
    try {
      this.o.onTransmit?.({ messageId: ex.messageId, token: ex.token, type: ex.req.confirmable ? 'CON' : 'NON', attempt: ex.attempt, at: this.t, timeoutMs: ex.req.confirmable ? ex.timeoutMs : undefined });
    } catch {
      // a throwing trace hook must not break retransmission
    }
  }

  private onRetransmitTimer(ex: Exchange): void {
    const { timing } = this.o;
    if (ex.attempt < timing.maxRetransmit) {
      // RFC 7252 §4.2: retransmit and double the timeout.
      ex.attempt++;
      ex.timeoutMs *= 2;
      this.transmit(ex);
      this.arm(ex, 'retransmit', ex.timeoutMs);
      return;
    }
    const waited = this.t - ex.startedAt;
    const msg = `${ex.req.label}: no acknowledgement after ${Math.round(waited)} ms (${timing.maxRetransmit} retransmissions, ACK_TIMEOUT ${timing.ackTimeout} ms, MAX_TRANSMIT_WAIT ${timing.maxTransmitWait} ms)`;
    this.fail(ex, new CoapError('TIMEOUT', msg, { waitedMs: waited }));
  }

  private onAckOrRst(m: CoapMessage): void {
    const ex = this.byMid.get(m.messageId);
    if (ex === undefined || !ex.awaitingAck) {
      this.stats.duplicates++; // a late or duplicate ACK/RST
      return;
    }
    if (m.type === 'RST') return this.fail(ex, new CoapError('RESET', `${ex.req.label}: the server answered with Reset`));
    this.acked(ex);
    // RFC 7252 §5.2.2: empty ACK, a separate response follows.
    if (m.code === 0) return this.arm(ex, 'response', this.o.responseTimeout);
    if (hex(m.token) !== ex.key) return this.fail(ex, new CoapError('MALFORMED', `${ex.req.label}: piggybacked response with a different token`));
    this.complete(ex, m);
  }

  private acked(ex: Exchange): void {
    ex.awaitingAck = false;
    this.byMid.delete(ex.messageId);
    ex.deadline = undefined;
    ex.due = undefined;
    this.release(ex);
  }

  private complete(ex: Exchange, m: CoapMessage): void {
    // A separate response also ends the retransmission of a request whose ACK was lost.
    if (ex.awaitingAck) this.acked(ex);
    this.finish(ex);
    this.out.event({ type: 'response', op: ex.op, message: m });
  }

  private fail(ex: Exchange, err: Error): void {
    if (!this.byOp.has(ex.op)) return;
    if (ex.awaitingAck) this.byMid.delete(ex.messageId);
    ex.awaitingAck = false;
    this.finish(ex);
    this.out.event({ type: 'failed', op: ex.op, error: err });
  }

  private finish(ex: Exchange): void {
    ex.deadline = undefined;
    ex.due = undefined;
    this.byOp.delete(ex.op);
    if (this.byToken.get(ex.key) === ex) this.byToken.delete(ex.key);
    const q = this.queue.indexOf(ex);
    if (q >= 0) this.queue.splice(q, 1);
    this.release(ex);
  }

  private rstBytes(messageId: number): Uint8Array {
    return encodeMessage({ type: 'RST', code: 0, messageId, token: EMPTY, options: [], payload: EMPTY });
  }
}
