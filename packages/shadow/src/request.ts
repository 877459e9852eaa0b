// Request/response over the shadow topics: a clientToken per request, a timeout per attempt,
// retries, never an unbounded wait (a lost accepted/rejected must not park the client).

import { randomUUID } from 'node:crypto';
import { ShadowError, type ErrorDocument } from './errors.js';
import { isObject } from './json.js';
import type { ShadowOperation } from './topics.js';
import type { Transport } from './transport.js';

interface Waiter {
  readonly op: ShadowOperation;
  readonly prefix: string;
  resolve(body: Record<string, unknown>): void;
  reject(err: ShadowError): void;
}

export interface RequestOptions {
  readonly timeoutMs: number;
  readonly retries: number;
}

const decoder = new TextDecoder();

/** Correlates requests and replies by clientToken. Internal. */
export class Requester {
  private readonly waiters = new Map<string, Waiter>();
  private closed = false;
  timeouts = 0;
  requests = 0;

  constructor(private readonly t: Transport, private readonly o: RequestOptions) {}

  /**
   * Offers an inbound message; returns true when it answered a pending request. Replies to
   * requests that already timed out, or to other clients' requests, are ignored.
   */
  handle(prefix: string, op: ShadowOperation, suffix: 'accepted' | 'rejected', payload: Uint8Array): boolean {
    let body: unknown;
    try {
      body = JSON.parse(decoder.decode(payload));
    } catch {
      return false;
    }
    if (!isObject(body) || typeof body['clientToken'] !== 'string') return false;
    const w = this.waiters.get(body['clientToken']);
    if (w === undefined || w.op !== op || w.prefix !== prefix) return false;
    this.waiters.delete(body['clientToken']);
    if (suffix === 'accepted') w.resolve(body);
    else w.reject(ShadowError.fromErrorDocument(body as unknown as ErrorDocument));
    return true;
  }

  /**
   * Publishes `body` (with a fresh clientToken) to `{prefix}/{op}` and resolves with the
   * accepted reply; rejects with the rejected reply's error, or `TIMEOUT` after every retry.
   * Retries keep the same clientToken, so a late reply to an earlier attempt still counts.
   */
  async request(prefix: string, op: ShadowOperation, body: Record<string, unknown>, signal?: AbortSignal): Promise<Record<string, unknown>> {
    if (this.closed) throw new ShadowError('CLOSED', `${op}: the client is closed`);
    const clientToken = randomUUID();
    const payload = JSON.stringify({ ...body, clientToken });
    this.requests++;
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let attempt = 0;
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiters.delete(clientToken);
      };
      const onAbort = (): void => {
        done();
        reject(new ShadowError('ABORTED', `${op}: aborted`, { clientToken }));
      };
      if (signal?.aborted === true) { onAbort(); return; }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.set(clientToken, {
        op,
        prefix,
        resolve: (b) => { done(); resolve(b); },
        reject: (e) => { done(); reject(e); },
      });
      const send = (): void => {
        attempt++;
        // A publish that fails (offline, closed) counts as a lost attempt: the timer decides.
        // Offline, nothing is handed to the client, whose queue would send it late and stale.
        if (this.t.connected) this.t.publish(`${prefix}/${op}`, payload).catch(() => undefined);
        timer = setTimeout(() => {
          if (!this.waiters.has(clientToken)) return;
          this.timeouts++;
          if (attempt > this.o.retries) {
            done();
            reject(new ShadowError('TIMEOUT', `${op} ${prefix}: no reply after ${attempt} attempt(s) of ${this.o.timeoutMs} ms`, { clientToken }));
          } else send();
        }, this.o.timeoutMs);
      };
      send();
    });
  }

  close(): void {
    this.closed = true;
    for (const [token, w] of this.waiters) w.reject(new ShadowError('CLOSED', `${w.op}: the client was closed`, { clientToken: token }));
    this.waiters.clear();
  }
}
