// The aggregating gateway's one broker connection (MQTT-SN 1.2 §4: "all messages between
// MQTT-SN clients and an aggregating GW end at the GW"). Every client session gets a view of
// the shared link with the BrokerLink shape, so the session machines and the gateway's command
// execution are the same in both modes. Here: the connection under the gateway's own identity
// (reconnected with jittered exponential backoff, on the injected clock), the in-flight limit of
// the link, one broker subscription per distinct filter (refcounted by client), the fan-out of
// each inbound PUBLISH to the subscribed clients, and wills published on the link. Internal.
import type { Clock } from '../transports/clock.js';
import { MqttSnError } from './errors.js';
import type { BrokerConnectRequest, BrokerCredentials, BrokerLink, BrokerLinkHandlers } from './gateway-broker.js';
import { openBrokerLink } from './gateway-link.js';
import type { MqttSnGatewayEvents, MqttSnGatewayOptions } from './gateway-options.js';
import { countedAuthorize, type Authorize, type GatewayAuthorize } from './gateway-authorize.js';
import type { Emitter } from './emitter.js';
import type { SecureContextCache } from './gateway-tls.js';
import { LINK_LOST } from './gateway-publish.js';
import type { Will } from './gateway-session.js';
import { ReturnCode } from './messages.js';
import { topicMatches } from './topics.js';

type Done = (err?: Error) => void;
type Qos = 0 | 1 | 2;

/** One distinct filter at the broker and the clients behind it. */
interface Filter {
  /** The QoS asked of the broker: the highest any subscriber asked for (never lowered while subscribed). */
  qos: Qos;
  readonly subs: Map<ClientView, Qos>;
  /** Who gets a RETAIN=1 message on this filter: the subscribers of its latest SUBSCRIBE (MQTT 3.1.1 §3.3.1.3). */
  fresh: Set<ClientView>;
}

export interface AggregatorHost {
  readonly identity: BrokerCredentials & { readonly clientId: string };
  readonly connect: (r: BrokerConnectRequest) => Promise<BrokerLink>;
  readonly clock: Clock;
  readonly random: () => number;
  readonly maxLinkInflight: number;
  readonly backoffMs: { readonly min: number; readonly max: number };
  /** A will's topic checked again when it is published (the namespace may have changed). */
  readonly mayPublish: (clientId: string, topic: string) => boolean;
  readonly error: (e: Error) => void;
  readonly linkEvent: (up: boolean, reason?: string) => void;
}

/**
 * The aggregating mode's parts from the gateway's options: the authorisation as sessions use it
 * (refusals counted and reported) and the broker connection (defaults: maxLinkInflight 10 000,
 * backoff 500 ms … 30 s). Both undefined in transparent mode.
 */
export function aggregatingMode(o: MqttSnGatewayOptions, authorize: Authorize | undefined, clock: Clock, contexts: SecureContextCache, events: Emitter<MqttSnGatewayEvents>, count: (what: 'unauthorized' | 'linkDrops') => void): { auth: GatewayAuthorize | undefined; agg: Aggregator | undefined } {
  const auth = authorize === undefined ? undefined : countedAuthorize(authorize, (clientId, action, topic, error) => {
    if (error !== undefined) events.emit('error', { error, clientId });
    count('unauthorized');
    events.emit('unauthorized', { clientId, action, topic });
  });
  const agg = o.mode === 'aggregating' ? aggregatorFor(o, clock, contexts, {
    mayPublish: (clientId, topic) => auth?.(clientId, 'publish', topic) ?? true,
    error: (error) => events.emit('error', { error }),
    linkEvent: (up, reason) => {
      if (!up) count('linkDrops');
      events.emit('link', reason === undefined ? { up } : { up, reason });
    },
  }) : undefined;
  return { auth, agg };
}

function aggregatorFor(o: MqttSnGatewayOptions, clock: Clock, contexts: SecureContextCache, report: Pick<AggregatorHost, 'mayPublish' | 'error' | 'linkEvent'>): Aggregator | undefined {
  if (o.identity === undefined) return undefined; // refused by the option check already
  return new Aggregator({
    identity: o.identity,
    // One connection for every client: its writes of one event-loop turn leave together.
    connect: o.connectBroker ?? ((r) => openBrokerLink(o.broker, r, clock, contexts, true)),
    clock,
    random: Math.random,
    maxLinkInflight: o.maxLinkInflight ?? 10_000,
    backoffMs: o.linkBackoffMs ?? { min: 500, max: 30_000 },
    ...report,
  });
}

const linkDown = (): MqttSnError => new MqttSnError('REJECTED', "the aggregating gateway's broker link is down; try again later", { returnCode: ReturnCode.Congestion });

export class Aggregator {
  private link: BrokerLink | undefined;
  private connecting: Promise<BrokerLink> | undefined;
  private retryTimer: unknown;
  private attempt = 0;
  private closed = false;
  /** QoS 1/2 PUBLISHes on the link awaiting the broker. */
  inflight = 0;
  /** Broker connections opened (1 + reconnects). */
  connects = 0;
  readonly filters = new Map<string, Filter>();

  constructor(private readonly h: AggregatorHost) {}

  /** Whether the broker connection is up. */
  get up(): boolean {
    return this.link !== undefined;
  }

  /** Connects now (start); failures are retried with backoff. */
  start(): void {
    this.connectNow().catch(() => undefined);
  }

  /** A client's view of the shared link; waits for a connect in progress (never starts one: the backoff decides); REJECTED (congestion) while the link is down. */
  async attach(r: BrokerConnectRequest): Promise<BrokerLink> {
    const link = this.link ?? (await this.connecting?.catch(() => undefined));
    if (link === undefined || this.closed) throw linkDown();
    return new ClientView(this, r.clientId, r.will);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.h.clock.clearTimer(this.retryTimer);
    const link = this.link ?? (await this.connecting?.catch(() => undefined));
    this.link = undefined;
    await link?.end(false).catch(() => undefined);
  }

  private connectNow(): Promise<BrokerLink> {
    if (this.closed) return Promise.reject(new MqttSnError('CLOSED', 'gateway closed'));
    const id = this.h.identity;
    this.connecting ??= this.h.connect({ clientId: id.clientId, creds: id, clean: true, keepAliveS: 60, will: undefined }).then((link) => {
      this.connecting = undefined;
      if (this.closed) {
        void link.end(false).catch(() => undefined);
        throw new MqttSnError('CLOSED', 'gateway closed');
      }
      this.link = link;
      this.attempt = 0;
      this.connects += 1;
      link.listen({ message: (t, p, q, r) => this.fanOut(t, p, q, r), error: (e) => this.h.error(e), close: () => this.dropped(link) });
      this.resubscribe(link);
      this.h.linkEvent(true);
      return link;
    }, (e: unknown) => {
      this.connecting = undefined;
      if (!this.closed) {
        this.h.error(e as Error);
        this.retry();
      }
      throw e;
    });
    return this.connecting;
  }

  /** The link dropped: sessions stay; in-flight PUBLISHes were not acknowledged (clients retransmit); reconnect with backoff. */
  private dropped(link: BrokerLink): void {
    if (this.link !== link) return;
    this.link = undefined;
    if (this.closed) return;
    this.h.linkEvent(false, 'broker closed the connection');
    this.retry();
  }

  /** Jittered exponential backoff between min and max (each delay 50–100 % of min × 2^attempt). */
  private retry(): void {
    if (this.retryTimer !== undefined || this.closed) return;
    const d = Math.min(this.h.backoffMs.max, this.h.backoffMs.min * 2 ** Math.min(this.attempt, 30));
    this.attempt += 1;
    this.retryTimer = this.h.clock.setTimer(() => {
      this.retryTimer = undefined;
      this.connectNow().catch(() => undefined);
    }, Math.max(1, Math.round(d * (0.5 + this.h.random() / 2))));
  }

  /** After a reconnect (clean session): every filter again; their retained messages go to all of its subscribers. */
  private resubscribe(link: BrokerLink): void {
    for (const [f, e] of this.filters) {
      e.fresh = new Set(e.subs.keys());
      link.subscribe(f, e.qos).catch((err: unknown) => this.h.error(err as Error));
    }
  }

  // ------------------------------------------------------------ what the views ask

  publish(topic: string, payload: Uint8Array, qos: Qos, retain: boolean, done: Done): void {
    const link = this.link;
    if (link === undefined) return queueMicrotask(() => done(linkDown()));
    if (qos === 0) {
      if (link.publishCallback !== undefined) link.publishCallback(topic, payload, 0, retain, done);
      else link.publish(topic, payload, 0, retain).then(() => done(), done);
      return;
    }
    if (this.inflight >= this.h.maxLinkInflight) {
      return queueMicrotask(() => done(new MqttSnError('REJECTED', `the broker link has maxLinkInflight ${this.h.maxLinkInflight} PUBLISHes awaiting the broker`, { returnCode: ReturnCode.Congestion })));
    }
    this.inflight += 1;
    const settle: Done = (err) => {
      this.inflight -= 1;
      // Lost with the link: not acknowledged, so the client retransmits (MQTT-SN 1.2 §6.13) once it is back.
      done(err instanceof MqttSnError && err.code === 'NOT_CONNECTED' ? LINK_LOST : err);
    };
    if (link.publishCallback !== undefined) link.publishCallback(topic, payload, qos, retain, settle);
    else link.publish(topic, payload, qos, retain).then(() => settle(), settle);
  }

  /**
   * Adds a subscriber. Every SUBSCRIBE goes to the broker, also for a filter held already: MQTT
   * 3.1.1 §3.8.4 then re-sends the filter's retained messages (RETAIN=1), which go to the new
   * subscriber only; established subscribers get RETAIN=0 messages only (§3.3.1.3).
   */
  async subscribe(v: ClientView, filter: string, qos: Qos): Promise<number> {
    const link = this.link;
    if (link === undefined) throw linkDown();
    let e = this.filters.get(filter);
    if (e === undefined) {
      e = { qos, subs: new Map(), fresh: new Set() };
      this.filters.set(filter, e);
    }
    e.subs.set(v, qos);
    e.fresh = new Set([v]);
    if (qos > e.qos) e.qos = qos;
    let granted: number;
    try {
      granted = await link.subscribe(filter, e.qos);
    } catch (err) {
      this.forget(v, filter);
      throw err;
    }
    if (granted > 2) {
      this.forget(v, filter);
      return 0x80;
    }
    return Math.min(qos, granted);
  }

  /**
   * Removes a subscriber (its fan-out stops at once); the last one's leaving UNSUBSCRIBEs the
   * filter at the broker, without waiting for its UNSUBACK: a session ending (or the gateway
   * closing) never waits on a broker that does not answer.
   */
  unsubscribe(v: ClientView, filter: string): Promise<void> {
    if (this.forget(v, filter)) this.link?.unsubscribe(filter).catch(() => undefined);
    return Promise.resolve();
  }

  /** True when `v` was the filter's last subscriber (the entry is gone). */
  private forget(v: ClientView, filter: string): boolean {
    const e = this.filters.get(filter);
    if (e === undefined || !e.subs.delete(v)) return false;
    e.fresh.delete(v);
    if (e.subs.size > 0) return false;
    this.filters.delete(filter);
    return true;
  }

  /** A lost client's will (MQTT-SN 1.2 §6.3), on the shared link under the same authorisation. */
  publishWill(clientId: string, w: Will): void {
    if (!this.h.mayPublish(clientId, w.topic)) return;
    this.publish(w.topic, w.payload, w.qos, w.retain, (err) => {
      if (err !== undefined) this.h.error(new MqttSnError('NETWORK_ERROR', `will of ${clientId} not published: ${err.message}`, { cause: err }));
    });
  }

  /** One inbound PUBLISH to every subscribed client, once each, at the lower of the two QoS. */
  private fanOut(topic: string, payload: Uint8Array, qos: Qos, retain: boolean): void {
    let to: Map<ClientView, Qos> | undefined;
    for (const [f, e] of this.filters) {
      if (!topicMatches(f, topic)) continue;
      for (const [v, q] of e.subs) {
        if (retain && !e.fresh.has(v)) continue;
        to ??= new Map();
        const had = to.get(v);
        if (had === undefined || q > had) to.set(v, q);
      }
    }
    if (to === undefined) return;
    for (const [v, q] of to) v.deliver(topic, payload, (q < qos ? q : qos), retain);
  }
}

/** One client's view of the shared link. */
class ClientView implements BrokerLink {
  private h: BrokerLinkHandlers | undefined;
  private readonly filters = new Set<string>();
  private ended = false;

  constructor(private readonly agg: Aggregator, private readonly clientId: string, private readonly will: Will | undefined) {}

  publish(topic: string, payload: Uint8Array, qos: Qos, retain: boolean): Promise<void> {
    return new Promise((resolve, reject) => this.agg.publish(topic, payload, qos, retain, (e) => (e === undefined ? resolve() : reject(e))));
  }

  publishCallback(topic: string, payload: Uint8Array, qos: Qos, retain: boolean, done: Done): void {
    this.agg.publish(topic, payload, qos, retain, done);
  }

  async subscribe(filter: string, qos: Qos): Promise<number> {
    if (this.ended) throw new MqttSnError('CLOSED', `session ${this.clientId} closed`);
    const g = await this.agg.subscribe(this, filter, qos);
    if (g <= 2) {
      if (this.ended) await this.agg.unsubscribe(this, filter);
      else this.filters.add(filter);
    }
    return g;
  }

  async unsubscribe(filter: string): Promise<void> {
    this.filters.delete(filter);
    await this.agg.unsubscribe(this, filter);
  }

  /** Leaves every filter; `abrupt` (the client was lost) publishes its will. */
  async end(abrupt: boolean): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    const all = [...this.filters].map((f) => this.agg.unsubscribe(this, f));
    this.filters.clear();
    if (abrupt && this.will !== undefined) this.agg.publishWill(this.clientId, this.will);
    await Promise.all(all);
  }

  listen(h: BrokerLinkHandlers): void {
    this.h = h;
  }

  deliver(topic: string, payload: Uint8Array, qos: Qos, retain: boolean): void {
    if (!this.ended) this.h?.message(topic, payload, qos, retain);
  }
}
