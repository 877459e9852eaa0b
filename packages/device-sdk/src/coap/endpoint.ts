/**
 * The promise face of one client's CoAP message layer: a thin wrapper that runs the sans-I/O
 * {@link CoapEndpointMachine} (endpoint-machine.ts) on the injected Clock and `send`. Requests
 * resolve with their response, listeners get notifications, close handlers run once.
 */
import type { CoapMessage } from './codec.js';
import { CoapError } from './errors.js';
import type { EndpointOptions, EndpointStats, OutboundRequest } from './endpoint-types.js';
import { CoapEndpointMachine, hex, type CoapEndpointEvent } from './endpoint-machine.js';
import { MachineDriver } from '../transports/sansio.js';

export type { EndpointOptions, EndpointStats, OutboundRequest, TransmitEvent } from './endpoint-types.js';

/** The message layer of one client. Internal: the client owns one per connection. */
export class Endpoint {
  /** The state machine this endpoint runs. */
  readonly machine: CoapEndpointMachine;
  private readonly driver: MachineDriver<CoapEndpointEvent>;
  private readonly waiting = new Map<number, { resolve: (m: CoapMessage) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Map<string, (m: CoapMessage) => void>();
  private readonly closeHandlers = new Set<(err: CoapError) => void>();

  constructor(private readonly o: EndpointOptions) {
    this.machine = new CoapEndpointMachine(o);
    this.driver = new MachineDriver(this.machine, o.clock, (d) => o.send(d.bytes as Uint8Array), (e) => this.onEvent(e));
  }

  get stats(): EndpointStats {
    return this.machine.stats;
  }

  /** A fresh token not in use by a pending exchange or an observation. */
  newToken(): Uint8Array {
    return this.machine.newToken();
  }

  /** Registers a handler for messages on `token` that no pending exchange claims (notifications). */
  listen(token: Uint8Array, fn: (m: CoapMessage) => void): () => void {
    const k = this.machine.listen(token);
    this.listeners.set(k, fn);
    return () => {
      if (this.listeners.get(k) !== fn) return;
      this.listeners.delete(k);
      this.machine.unlisten(k);
    };
  }

  /** Sends a request and resolves with its response (any response code). */
  request(req: OutboundRequest, signal?: AbortSignal): Promise<CoapMessage> {
    if (this.machine.closed !== undefined) return Promise.reject(this.machine.closed);
    if (signal?.aborted === true) return Promise.reject(new CoapError('ABORTED', `${req.label}: aborted`, { cause: signal.reason }));
    let op: number;
    try {
      op = this.machine.request(req, this.o.clock.now());
    } catch (e) {
      return Promise.reject(e as Error);
    }
    const p = new Promise<CoapMessage>((resolve, reject) => {
      const onAbort = (): void => {
        this.machine.abort(op, signal?.reason, this.o.clock.now());
        this.driver.flush();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): void => signal?.removeEventListener('abort', onAbort);
      this.waiting.set(op, { resolve: (m) => { done(); resolve(m); }, reject: (e) => { done(); reject(e); } });
    });
    this.driver.flush();
    return p;
  }

  /** Feeds one received datagram into the state machine. Never throws for network input. */
  receive(bytes: Uint8Array): void {
    this.machine.handleDatagram(bytes, this.o.clock.now());
    this.driver.flush();
  }

  /** Fails everything pending with CLOSED (or `reason`), tells observers, refuses new requests. */
  close(reason?: CoapError): void {
    if (this.machine.closed !== undefined) return;
    this.machine.close(reason, this.o.clock.now());
    this.driver.flush();
    this.driver.stop();
    this.listeners.clear();
    const err: CoapError = this.closedError();
    for (const h of [...this.closeHandlers]) h(err);
    this.closeHandlers.clear();
  }

  /** Runs `fn` once when the endpoint closes (at once if it already has); returns an unsubscribe. */
  onClose(fn: (err: CoapError) => void): () => void {
    const closed = this.machine.closed;
    if (closed !== undefined) {
      fn(closed);
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
    return this.machine.tracked();
  }

  /** Requests waiting for an NSTART slot or a response. */
  get pending(): number {
    return this.machine.pending;
  }

  private closedError(): CoapError {
    return this.machine.closed ?? new CoapError('CLOSED', 'CoAP client closed');
  }

  private onEvent(e: CoapEndpointEvent): void {
    if (e.type === 'notification') {
      try {
        this.listeners.get(e.key)?.(e.message);
      } catch {
        this.machine.stats.malformed++; // e.g. an over-long Observe value: network input never throws out of here
      }
      return;
    }
    const w = this.waiting.get(e.op);
    if (w === undefined) return;
    this.waiting.delete(e.op);
    if (e.type === 'response') w.resolve(e.message);
    else w.reject(e.error);
  }
}
