// Request/response over MQTT correlated by clientToken: a request is published, its answer
// comes on `{topic}/accepted` or `{topic}/rejected` with the same token. A request without an
// answer is sent again with the SAME token and body (the service recognises a retry of an
// update it already applied), after `requestTimeoutMs` and on every reconnect, up to
// `maxRetries` times. Timers are the adapter's (this is the I/O edge).
import { randomBytes } from 'node:crypto';
import { JobsError, type JobsRejectCode } from './errors.js';
import { isPlainObject } from './jobs-model.js';
import type { JobsErrorResponse } from './jobs-protocol.js';
import { isNotAuthorized, NOT_AUTHORIZED_RC, type Link } from './jobs-transport.js';

interface Waiter {
  readonly topic: string;
  readonly payload: string;
  readonly resolve: (v: Record<string, unknown>) => void;
  readonly reject: (e: Error) => void;
  tries: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export interface RequesterOptions {
  readonly requestTimeoutMs: number;
  readonly maxRetries: number;
}

const dec = new TextDecoder();

/** A rejection as an error: the AWS code, the message, and the execution state when sent. */
export function rejection(doc: Record<string, unknown>): JobsError {
  const code = typeof doc['code'] === 'string' ? doc['code'] : 'InternalError';
  const message = typeof doc['message'] === 'string' ? doc['message'] : 'rejected';
  return new JobsError(code as JobsRejectCode, `${code}: ${message}`, doc as unknown as JobsErrorResponse);
}

export class Requester {
  private readonly waiters = new Map<string, Waiter>();
  private readonly prefix = randomBytes(6).toString('hex');
  private counter = 0;
  private closed = false;

  constructor(private readonly link: Link, private readonly o: RequesterOptions) {}

  /** Feeds an inbound message; true when it answered a request. */
  handle(topic: string, payload: Uint8Array): boolean {
    const accepted = topic.endsWith('/accepted');
    if (!accepted && !topic.endsWith('/rejected')) return false;
    let doc: unknown;
    try {
      doc = JSON.parse(dec.decode(payload));
    } catch {
      return false;
    }
    if (!isPlainObject(doc) || typeof doc['clientToken'] !== 'string') return false;
    const w = this.waiters.get(doc['clientToken']);
    if (w === undefined || topic !== `${w.topic}/${accepted ? 'accepted' : 'rejected'}`) return false;
    this.settle(doc['clientToken']);
    if (accepted) w.resolve(doc);
    else w.reject(rejection(doc));
    return true;
  }

  /** Publishes `body` (with a fresh clientToken) to `topic` and waits for the answer. */
  request(topic: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.closed) return Promise.reject(new JobsError('CLOSED', 'the jobs client is closed'));
    const clientToken = `${this.prefix}-${++this.counter}`;
    const payload = JSON.stringify({ ...body, clientToken });
    return new Promise((resolve, reject) => {
      const w: Waiter = { topic, payload, resolve, reject, tries: 0, timer: undefined };
      this.waiters.set(clientToken, w);
      this.send(clientToken, w);
    });
  }

  private send(token: string, w: Waiter): void {
    if (w.timer !== undefined) clearTimeout(w.timer);
    if (w.tries > this.o.maxRetries) {
      this.settle(token);
      w.reject(new JobsError('TIMEOUT', `no answer on ${w.topic} after ${w.tries} tries of ${this.o.requestTimeoutMs} ms (is a jobs service running? On MQTT 3.1.1 a broker acknowledges a PUBLISH its ACL denies silently: check that this identity may publish there)`));
      return;
    }
    w.tries++;
    w.timer = setTimeout(() => this.send(token, w), this.o.requestTimeoutMs);
    w.timer.unref?.();
    // A publish the broker refuses as not authorized (MQTT 5 §3.4.2.1: PUBACK reason code 0x87)
    // fails at once: sending it again cannot succeed. Another failed publish (offline, closed) is
    // retried by the timer or the next reconnect. (MQTT 3.1.1 has no PUBACK reason code: there
    // the broker acknowledges a denied PUBLISH silently and the request ends in TIMEOUT.)
    this.link.publish(w.topic, w.payload).catch((err: unknown) => {
      if (!isNotAuthorized(err) || this.waiters.get(token) !== w) return;
      this.settle(token);
      w.reject(new JobsError('NOT_AUTHORIZED', `${w.topic}: the broker refused the request as not authorized (PUBACK reason code 0x87): this identity's ACL does not allow publishing there`, { reasonCode: NOT_AUTHORIZED_RC, topic: w.topic }));
    });
  }

  /** Sends every unanswered request again (same token) after a reconnect. */
  resendAll(): void {
    for (const [token, w] of this.waiters) this.send(token, w);
  }

  private settle(token: string): void {
    const w = this.waiters.get(token);
    if (w?.timer !== undefined) clearTimeout(w.timer);
    this.waiters.delete(token);
  }

  close(): void {
    this.closed = true;
    for (const [token, w] of [...this.waiters]) {
      this.settle(token);
      w.reject(new JobsError('CLOSED', 'the jobs client was closed'));
    }
  }
}
