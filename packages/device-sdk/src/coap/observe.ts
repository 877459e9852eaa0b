/**
 * Observing a resource (RFC 7641) as a cancellable async iterator. Registration with
 * Observe: 0 (§3.1), freshness of notifications (§3.4), deregistration with Observe: 1 on
 * cancel (§3.6 active), RST for notifications after that (§3.6 passive, in the endpoint),
 * remaining blocks of a notification fetched with a fresh token (RFC 7959 §2.6).
 */
import { collectBlock2, type BlockwiseConfig } from './blockwise.js';
import type { CoapClock } from './clock.js';
import { CoapOptionNumber, decodeUintOption, encodeUintOption, findOption, formatCode, type CoapMessage } from './codec.js';
import type { Endpoint, OutboundRequest } from './endpoint.js';
import { CoapError } from './errors.js';
import { CoapResponse } from './response.js';

/** What an observation needs from its client. */
export interface ObserveContext {
  readonly endpoint: Endpoint;
  readonly clock: CoapClock;
  readonly request: OutboundRequest;
  readonly block: BlockwiseConfig;
  readonly maxQueue: number;
  readonly signal: AbortSignal | undefined;
}

type Waiter = { resolve: (r: IteratorResult<CoapResponse>) => void; reject: (e: unknown) => void };

const OBSERVE_WINDOW = 2 ** 23;
const FRESHNESS_MS = 128_000;

/**
 * An active observation: iterate it with `for await`; `break`, `return()` or the
 * `AbortSignal` deregister from the server and end the iteration without an error.
 *
 * @example
 * ```ts
 * const obs = client.observe('/time');
 * const first = await obs.next();
 * first.value?.code; // '2.05'
 * await obs.return(); // Observe: 1 to the server (RFC 7641 §3.6)
 * obs.dropped; // 0
 * ```
 */
export class CoapObservation implements AsyncIterableIterator<CoapResponse> {
  /** Notifications dropped because the consumer fell more than `maxQueue` behind (oldest first). */
  dropped = 0;
  private readonly ctx: ObserveContext;
  private readonly token: Uint8Array;
  private readonly queue: CoapResponse[] = [];
  private waiter: Waiter | undefined;
  private started = false;
  private ended = false;
  private failure: unknown;
  private unlisten: () => void = () => {};
  private unclose: () => void = () => {};
  private last: { seq: number; at: number } | undefined;
  private chain: Promise<void> = Promise.resolve();
  private deregistered: Promise<void> | undefined;
  private readonly onAbort = (): void => void this.cancel();

  /** @internal */
  constructor(ctx: ObserveContext) {
    this.ctx = ctx;
    this.token = ctx.endpoint.newToken();
    ctx.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The next notification (the first is the registration's response). */
  next(): Promise<IteratorResult<CoapResponse>> {
    if (!this.started) this.start();
    const item = this.queue.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.ended) {
      if (this.failure !== undefined) {
        const f = this.failure;
        this.failure = undefined;
        return Promise.reject(f);
      }
      // After a cancel, the iteration ends once the server has been told (RFC 7641 §3.6).
      return (this.deregistered ?? Promise.resolve()).then(() => ({ value: undefined, done: true }));
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Cancels: deregisters (RFC 7641 §3.6) and ends the iteration. */
  async return(): Promise<IteratorResult<CoapResponse>> {
    await this.cancel();
    return { value: undefined, done: true };
  }

  /** Deregisters from the server; resolves once the server answered or the attempt failed. */
  cancel(): Promise<void> {
    if (this.deregistered !== undefined) return this.deregistered;
    const wasActive = this.started && !this.ended;
    this.deregistered = wasActive ? this.deregister() : Promise.resolve();
    this.end(undefined);
    this.queue.length = 0;
    return this.deregistered;
  }

  private async deregister(): Promise<void> {
    // Let other abort listeners run first: the registration request, if still pending, must
    // release the token before the deregistration reuses it.
    await Promise.resolve();
    const req = this.ctx.request;
    const options = req.options.map((o) => (o.number === CoapOptionNumber.Observe ? { number: o.number, value: encodeUintOption(1) } : o));
    try {
      await this.ctx.endpoint.request({ ...req, token: this.token, options, label: `${req.label} (deregister)` });
    } catch {
      // a lost deregistration is covered by the RST the endpoint sends for later notifications
    }
  }

  private start(): void {
    this.started = true;
    if (this.ended) return;
    this.unlisten = this.ctx.endpoint.listen(this.token, (m) => this.onNotification(m));
    // the client closing (or its transport failing) ends the observation with that error
    this.unclose = this.ctx.endpoint.onClose((err) => this.end(err));
    const req: OutboundRequest = { ...this.ctx.request, token: this.token };
    this.ctx.endpoint
      .request(req, this.ctx.signal)
      .then((m) => this.onNotification(m))
      .catch((err: unknown) => {
        if (err instanceof CoapError && err.code === 'ABORTED') this.end(undefined);
        else this.end(err);
      });
  }

  private onNotification(m: CoapMessage): void {
    if (this.ended) return;
    const obs = findOption(m, CoapOptionNumber.Observe);
    const now = this.ctx.clock.now();
    if (obs !== undefined && this.last !== undefined) {
      // RFC 7641 §3.4: drop notifications older than the freshest one seen.
      const v1 = this.last.seq;
      const v2 = decodeUintOption(obs);
      const fresh = (v1 < v2 && v2 - v1 < OBSERVE_WINDOW) || (v1 > v2 && v1 - v2 > OBSERVE_WINDOW) || now > this.last.at + FRESHNESS_MS;
      if (!fresh) return;
    }
    if (obs !== undefined) this.last = { seq: decodeUintOption(obs), at: now };
    const final = obs === undefined || m.code >> 5 !== 2;
    // Keep notifications in order even when one needs its remaining blocks fetched.
    this.chain = this.chain.then(async () => {
      if (this.ended) return;
      if (m.code >> 5 !== 2) {
        this.end(new CoapError('RESPONSE_ERROR', `${this.ctx.request.label}: observation ended with ${formatCode(m.code)}`, { responseCode: formatCode(m.code) }));
        return;
      }
      let res: CoapResponse;
      if (findOption(m, CoapOptionNumber.Block2) !== undefined) {
        try {
          const { request, block, endpoint } = this.ctx;
          const whole = await collectBlock2(
            (r) => endpoint.request(r, this.ctx.signal),
            { ...request, payload: new Uint8Array(0) },
            m,
            block.maxBodySize,
            () => endpoint.newToken(),
          );
          res = new CoapResponse(m, whole.payload);
        } catch (err) {
          this.end(err);
          return;
        }
      } else res = new CoapResponse(m);
      this.push(res);
      // RFC 7641 §3.2: a response without Observe means the resource is not (or no longer) observed.
      if (final) this.end(undefined);
    });
  }

  private push(r: CoapResponse): void {
    const w = this.waiter;
    if (w !== undefined) {
      this.waiter = undefined;
      w.resolve({ value: r, done: false });
      return;
    }
    this.queue.push(r);
    if (this.queue.length > this.ctx.maxQueue) {
      this.queue.shift();
      this.dropped++;
    }
  }

  private end(err: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.unlisten();
    this.unclose();
    this.ctx.signal?.removeEventListener('abort', this.onAbort);
    const w = this.waiter;
    this.waiter = undefined;
    if (err !== undefined) {
      if (w !== undefined) w.reject(err);
      else this.failure = err;
    } else if (w !== undefined) {
      // a cancelled loop ends once the server has been told (RFC 7641 §3.6)
      void (this.deregistered ?? Promise.resolve()).then(() => w.resolve({ value: undefined, done: true }));
    }
  }
}
