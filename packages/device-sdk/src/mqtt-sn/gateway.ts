// The MQTT-SN gateway: transparent (MQTT-SN 1.2 §4 "Transparent Gateway", the default: one MQTT connection per
// client, each with its own identity and ACLs at the broker) or aggregating (§4 "Aggregating Gateway", opt-in: one
// connection for all, the gateway authorises each client; gateway-aggregate.ts).
import { decodeMessage, encodeMessage } from './codec.js';
import { Emitter } from './emitter.js';
import { MqttSnError } from './errors.js';
import { aggregatingMode, type Aggregator } from './gateway-aggregate.js';
import { admitted } from './gateway-authorize.js';
import { credentialsFor, OK, runBrokerCommand, type BrokerConnectRequest, type BrokerCredentials, type BrokerLink } from './gateway-broker.js';
import { openBrokerLink } from './gateway-link.js';
import { SecureContextCache } from './gateway-tls.js';
import { resolveGatewayOptions, type MqttSnGatewayEvents, type MqttSnGatewayOptions, type MqttSnGatewayStats, type ResolvedGatewayOptions } from './gateway-options.js';
import type { BrokerCommand, BrokerResult, Session, SessionEvent, SessionHost } from './gateway-session.js';
import { peerKey, SessionTable } from './gateway-sessions.js';
import { QosMinus1 } from './gateway-qos-minus1.js';
import { renewWill, willDialogue } from './gateway-will.js';
import { ReturnCode, type MqttSnMessage } from './messages.js';
import type { Operation } from './exchanges.js';
import { systemClock, type Clock } from '../transports/clock.js';
import { UdpEndpoint, type DatagramTransport, type UdpPeer } from './udp.js';

/**
 * An MQTT-SN 1.2 gateway: MQTT-SN clients on UDP; by default transparent, one MQTT connection
 * per client to the broker (mTLS with the client's own certificate), or with `mode:
 * 'aggregating'` one connection under the gateway's `identity` for all, the gateway admitting
 * and authorising each client itself (`admit`, `namespace`, `authorize`); topic registration per client,
 * predefined topics, QoS −1, sleeping clients with a bounded buffer, wills, ADVERTISE and
 * SEARCHGW/GWINFO. Malformed datagrams are counted, reported and dropped.
 *
 * @example
 * ```ts
 * import { MqttSnGateway } from '@outpost/device-sdk/mqtt-sn';
 * const gw = new MqttSnGateway({
 *   udp: { host: '0.0.0.0', port: 10000 },
 *   broker: { url: 'mqtts://broker:8883', ca: caPem },
 *   credentials: { 'sensor-1': { cert, key } },
 * });
 * gw.on('malformed', (e) => console.warn(e.from, e.error.message));
 * await gw.start();
 * // …
 * await gw.close();
 * ```
 */
export class MqttSnGateway {
  private readonly events = new Emitter<MqttSnGatewayEvents>();
  private readonly table: SessionTable;
  private readonly timers: Clock;
  private readonly cfg: ResolvedGatewayOptions;
  private readonly host: SessionHost;
  private readonly connector: (r: BrokerConnectRequest) => Promise<BrokerLink>;
  /** TLS contexts of the default broker link, by credential set (clients + the gateway's own). */
  private readonly contexts: SecureContextCache;
  private transport: DatagramTransport | undefined;
  private advertiseTimer: unknown;
  private readonly minus1: QosMinus1;
  /** Aggregating mode: the one broker connection. */
  private readonly agg: Aggregator | undefined;
  private closed = false;
  private readonly counters: Omit<MqttSnGatewayStats, 'clients' | 'retransmissions' | 'tlsContexts' | 'brokerLinks'> = {
    datagramsIn: 0, datagramsOut: 0, malformed: 0, unknownClient: 0, publishesIn: 0, publishesOut: 0, qosMinus1: 0, sleepBuffered: 0, sleepDropped: 0, queueDropped: 0,
    rejected: 0, rejectedRegistrations: 0, rejectedSubscriptions: 0, rejectedPublishes: 0, rejectedWills: 0, lost: 0, unauthorized: 0, linkDrops: 0,
  };

  /**
   * @throws TypeError / RangeError for bad options (checked here, before anything binds).
   */
  constructor(private readonly options: MqttSnGatewayOptions) {
    this.cfg = resolveGatewayOptions(options);
    this.timers = options.clock ?? systemClock;
    this.contexts = new SecureContextCache(this.cfg.limits.maxClients + 1);
    // Aggregating mode (MQTT-SN 1.2 §4 "Aggregating Gateway"): the gateway's own authorisation, counted and reported, and the one broker connection.
    const { auth, agg } = aggregatingMode(options, this.cfg.authorize, this.timers, this.contexts, this.events, (what) => { this.counters[what] += 1; });
    this.agg = agg;
    this.connector = agg !== undefined ? (r) => agg.attach(r) : options.connectBroker ?? ((r) => openBrokerLink(options.broker, r, this.timers, this.contexts));
    this.host = {
      retry: this.cfg.retry,
      random: Math.random,
      limits: this.cfg.limits,
      predefinedById: this.cfg.predefinedById,
      predefinedByName: this.cfg.predefinedByName,
      maxMessageBytes: options.maxMessageBytes ?? 65535,
      dropped: (s, item, counter) => {
        this.counters[counter] += 1;
        this.events.emit('dropped', { clientId: s.clientId, topic: item.topic });
      },
      counted: (what) => { this.counters[what] += 1; },
      ...(auth !== undefined ? { authorize: (s: Session, action: 'publish' | 'subscribe', topic: string) => auth(s.clientId, action, topic, s) } : {}),
    };
    this.minus1 = new QosMinus1(options.identity, this.cfg.predefinedById, this.connector);
    this.table = new SessionTable(this.host, this.timers, (b, to) => this.sendBytes(b, to), (s, e) => this.onSessionEvent(s, e));
  }

  /** Subscribes to gateway events; returns a function that removes the listener. */
  on<K extends keyof MqttSnGatewayEvents>(event: K, listener: (value: MqttSnGatewayEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  /** Binds the UDP socket and starts advertising. */
  async start(): Promise<void> {
    if (this.transport !== undefined) return;
    const u = this.options.udp ?? {};
    const onDatagram = (d: Uint8Array, from: UdpPeer): void => this.onDatagram(d, from);
    const onError = (e: Error): void => this.events.emit('error', { error: e });
    this.transport = this.options.transport !== undefined
      ? await this.options.transport(onDatagram, onError)
      : await UdpEndpoint.bind({ host: u.host ?? '0.0.0.0', port: u.port ?? 10000, recvBufferSize: this.cfg.recvBufferSize, wrapError: (msg, cause) => new MqttSnError('NETWORK_ERROR', msg, { cause }) }, onDatagram, onError);
    this.agg?.start();
    if (this.options.advertise !== undefined) this.advertise();
  }

  /** The bound UDP address. */
  address(): UdpPeer {
    if (this.transport === undefined) throw new MqttSnError('NOT_CONNECTED', 'MqttSnGateway.address: not started');
    return this.transport.address();
  }

  /** A snapshot of the counters. */
  stats(): MqttSnGatewayStats {
    const links = this.agg !== undefined ? (this.agg.up ? 1 : 0) : [...this.table.byClientId.values()].filter((s) => s.link !== undefined).length;
    return { ...this.counters, clients: this.table.byClientId.size, retransmissions: this.table.retransmissions(), tlsContexts: this.contexts.built, brokerLinks: links };
  }

  /** Client ids with a session, their states and the sizes of their bounded tables. */
  clients(): Array<{ clientId: string; state: string; registrations: number; subscriptions: number; inflight: number; queued: number; queuedBytes: number; pending: number }> {
    return [...this.table.byClientId.values()].map((s) => ({ clientId: s.clientId, state: s.state, ...s.footprint() }));
  }

  /** Stops: ends every broker connection cleanly (no wills), closes the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timers.clearTimer(this.advertiseTimer);
    const ends: Array<Promise<void>> = [];
    for (const s of this.table.dropAll()) if (s.link !== undefined) ends.push(s.link.end(false).catch(() => undefined));
    ends.push(this.minus1.close());
    await Promise.all(ends);
    await this.agg?.close();
    await this.transport?.close();
  }

  // ------------------------------------------------------------ I/O

  private sendTo(peer: UdpPeer, m: MqttSnMessage): void {
    this.sendBytes(encodeMessage(m), peer);
  }

  private sendBytes(bytes: Uint8Array | readonly Uint8Array[], peer: UdpPeer): void {
    if (this.transport === undefined || this.closed) return;
    this.counters.datagramsOut += 1;
    this.transport.send(bytes, peer);
  }

  private advertise(): void {
    const a = this.options.advertise;
    if (a === undefined || this.closed) return;
    const intervalS = a.intervalS ?? 900;
    for (const t of a.targets) this.sendTo({ address: t.host, port: t.port }, { type: 'ADVERTISE', gwId: this.options.gwId ?? 1, durationS: intervalS });
    this.advertiseTimer = this.timers.setTimer(() => this.advertise(), intervalS * 1000);
  }

  private onDatagram(data: Uint8Array, from: UdpPeer): void {
    this.counters.datagramsIn += 1;
    let m: MqttSnMessage;
    try {
      // The datagram is ours alone: payloads stay views of it on the way to the broker (no copy).
      m = decodeMessage(data, { maxLength: this.options.maxMessageBytes ?? 65535, aliasPayload: true });
    } catch (e) {
      this.counters.malformed += 1;
      const error = e instanceof MqttSnError ? e : new MqttSnError('MALFORMED', String(e));
      this.events.emit('malformed', { from, error, length: data.length });
      return;
    }
    let wrap: ((x: MqttSnMessage) => MqttSnMessage) | undefined;
    let key = peerKey(from);
    if (m.type === 'ENCAPSULATED') {
      // §5.5: a forwarder relays for a wireless node; answer through the same forwarder.
      const { wirelessNodeId, radius } = m;
      wrap = (x) => ({ type: 'ENCAPSULATED', radius, wirelessNodeId, message: x });
      key = peerKey(from, wirelessNodeId);
      m = m.message;
    }
    try {
      this.handle(m, from, key, wrap);
    } catch (e) {
      this.events.emit('error', { error: e as Error });
    }
  }

  private handle(m: MqttSnMessage, from: UdpPeer, key: string, wrap: ((x: MqttSnMessage) => MqttSnMessage) | undefined): void {
    // No closure per datagram: a reply function is made only for CONNECT, which keeps it.
    if (m.type === 'SEARCHGW') {
      this.reply(from, wrap, { type: 'GWINFO', gwId: this.options.gwId ?? 1 }); // §6.1
      return;
    }
    if (m.type === 'CONNECT') {
      void this.onConnect(m, from, key, wrap, (x) => this.reply(from, wrap, x));
      return;
    }
    const s = this.table.byKey.get(key);
    const now = this.timers.now();
    if (m.type === 'PINGREQ' && m.clientId !== undefined) {
      // §6.14: a sleeping client wakes with PINGREQ carrying its client id, maybe from a new address.
      const sleeper = this.table.byClientId.get(m.clientId);
      if (sleeper !== undefined && (sleeper.state === 'asleep' || sleeper.state === 'awake')) {
        this.table.rekey(sleeper, from, key, wrap);
        if (sleeper.state === 'asleep') this.events.emit('client', { clientId: sleeper.clientId, event: 'wake' });
        sleeper.wake(now);
        this.flush(sleeper);
        return;
      }
    }
    if (m.type === 'PUBLISH' && m.qos === -1 && s === undefined) {
      // §6.8: QoS −1 from a client that never connected, under the gateway's own identity
      void this.minus1.publish(m).then((r) => {
        if (r === true) this.counters.qosMinus1 += 1;
        else {
          if (r.unknown) this.counters.unknownClient += 1;
          this.events.emit('error', { error: r.error });
        }
      });
      return;
    }
    if (s === undefined) {
      this.counters.unknownClient += 1;
      if (m.type === 'PINGREQ') this.reply(from, wrap, { type: 'PINGRESP' });
      else if (m.type !== 'DISCONNECT' && m.type !== 'PUBACK' && m.type !== 'PUBCOMP' && m.type !== 'PUBREC' && m.type !== 'REGACK') this.reply(from, wrap, { type: 'DISCONNECT' });
      return;
    }
    if (s.state === 'connecting' && m.type !== 'WILLTOPIC' && m.type !== 'WILLMSG') {
      this.counters.unknownClient += 1; // §6.2: during CONNECT only the will dialogue is expected
      return;
    }
    s.handleMessage(m, now);
    this.flush(s);
  }

  private reply(to: UdpPeer, wrap: ((x: MqttSnMessage) => MqttSnMessage) | undefined, x: MqttSnMessage): void { this.sendTo(to, wrap === undefined ? x : wrap(x)); }

  // ------------------------------------------------------------ the I/O around each session machine

  private flush(s: Session): void {
    this.table.flush(s);
  }

  private onSessionEvent(s: Session, e: SessionEvent): void {
    if (e.type === 'broker') this.execute(s, e.command);
    else if (e.type === 'lost') this.lose(s, e.reason);
    else if (e.sleepS !== undefined) this.events.emit('client', { clientId: s.clientId, event: 'sleep' });
    else {
      this.remove(s, 'client disconnected', false);
      this.events.emit('client', { clientId: s.clientId, event: 'disconnect' });
    }
  }

  /** Runs a session's broker command on its link; the outcome goes back into the machine. */
  private execute(s: Session, c: BrokerCommand): void {
    const link = s.link;
    // The forward path: one closure per message, from the link's callback straight into the machine.
    if (c.kind === 'publish' && link?.publishCallback !== undefined) return link.publishCallback(c.topic, c.payload, c.qos, c.retain, (err) => this.brokerDone(s, c, err === undefined ? OK : { ok: false, error: err }));
    const done = (r: BrokerResult): void => this.brokerDone(s, c, r);
    if (c.kind === 'will') {
      void renewWill(s, (r) => this.connector(r), () => this.credsOf(s.clientId), (l) => this.attach(s, l)).then((r) => {
        if (!r.ok) this.events.emit('error', { error: r.error, clientId: s.clientId });
        done(r);
      });
    }
    else runBrokerCommand(link, c, done);
  }

  private brokerDone(s: Session, c: BrokerCommand, r: BrokerResult): void {
    s.brokerDone(c, r, this.timers.now());
    this.flush(s);
  }

  /** Runs a gateway-initiated exchange operation on a session (the will dialogue) and waits for it. */
  private runOp<T>(s: Session, op: Operation<T>): Promise<T> {
    const p = new Promise<T>((resolve, reject) => s.run(op, (r) => ('error' in r ? reject(r.error) : resolve(r.value as T))));
    this.flush(s);
    return p;
  }

  // ------------------------------------------------------------ connect (§6.2), will (§6.4)

  private async onConnect(m: Extract<MqttSnMessage, { type: 'CONNECT' }>, from: UdpPeer, key: string, wrap: ((x: MqttSnMessage) => MqttSnMessage) | undefined, reply: (x: MqttSnMessage) => void): Promise<void> {
    const here = this.table.byKey.get(key);
    if (here !== undefined && here.clientId === m.clientId) {
      if (here.state === 'connecting') return; // a retransmitted CONNECT during the will dialogue
      if (here.state === 'active') {
        reply({ type: 'CONNACK', returnCode: ReturnCode.Accepted }); // our CONNACK was lost
        here.activate(this.timers.now());
        this.flush(here);
        return;
      }
    }
    const existing = this.table.byClientId.get(m.clientId);
    // Aggregating mode: a resume is admitted again (a revoked client id loses its session here).
    if (existing !== undefined && existing.link !== undefined && !m.cleanSession && existing.state !== 'connecting' && (this.agg === undefined || (await this.credsOf(m.clientId)) !== undefined)) {
      // §6.14 resume (after sleep, or from a new address) keeping the broker session and registrations.
      this.table.rekey(existing, from, key, wrap);
      existing.keepAliveS = m.durationS;
      if (m.will && !(await this.runOp(existing, willDialogue(existing)).catch(() => true))) {
        reply({ type: 'CONNACK', returnCode: ReturnCode.NotSupported });
        return;
      }
      reply({ type: 'CONNACK', returnCode: ReturnCode.Accepted });
      this.events.emit('client', { clientId: existing.clientId, event: 'connect' });
      existing.activate(this.timers.now());
      this.flush(existing);
      return;
    }
    if (existing !== undefined) this.remove(existing, 'replaced by a new connection', false);
    if (here !== undefined && here !== existing) this.remove(here, 'replaced by a new connection', false);
    await this.connectNew(m, from, key, wrap, reply);
  }

  /** §6.2 a new session: will dialogue, broker credentials, the client's own broker connection, CONNACK. */
  private async connectNew(m: Extract<MqttSnMessage, { type: 'CONNECT' }>, from: UdpPeer, key: string, wrap: ((x: MqttSnMessage) => MqttSnMessage) | undefined, reply: (x: MqttSnMessage) => void): Promise<void> {
    if (this.table.byClientId.size >= this.cfg.limits.maxClients) {
      this.counters.rejected += 1;
      reply({ type: 'CONNACK', returnCode: ReturnCode.Congestion });
      this.events.emit('client', { clientId: m.clientId, event: 'rejected', reason: 'too many clients' });
      return;
    }
    const s = this.table.create(m.clientId, from, key, wrap);
    s.keepAliveS = m.durationS;
    s.cleanSession = m.cleanSession;
    try {
      if (m.will && !(await this.runOp(s, willDialogue(s)))) {
        this.remove(s, 'will too large', false);
        reply({ type: 'CONNACK', returnCode: ReturnCode.NotSupported });
        this.events.emit('client', { clientId: m.clientId, event: 'rejected', reason: `will over maxWillBytes ${this.cfg.limits.maxWillBytes}` });
        return;
      }
      const creds = await this.credsOf(m.clientId);
      if (creds === undefined) {
        this.counters.rejected += 1;
        this.remove(s, 'no broker credentials', false);
        reply({ type: 'CONNACK', returnCode: ReturnCode.NotSupported });
        this.events.emit('client', { clientId: m.clientId, event: 'rejected', reason: this.agg !== undefined ? 'client id not admitted (admit / credentials)' : 'no broker credentials for this client id' });
        return;
      }
      const link = await this.connector({ clientId: m.clientId, creds, clean: m.cleanSession, keepAliveS: Math.max(m.durationS, 30), will: s.will });
      if (s.state === 'closed') {
        await link.end(false);
        return;
      }
      this.attach(s, link);
      reply({ type: 'CONNACK', returnCode: ReturnCode.Accepted });
      s.activate(this.timers.now());
      this.flush(s);
      this.events.emit('client', { clientId: m.clientId, event: 'connect' });
    } catch (e) {
      if (s.state === 'closed') return;
      this.counters.rejected += 1;
      this.remove(s, 'broker connection failed', false);
      const auth = /not authori[sz]ed|bad user|certificate|handshake|identifier rejected/i.test((e as Error).message);
      reply({ type: 'CONNACK', returnCode: auth ? ReturnCode.NotSupported : ReturnCode.Congestion });
      this.events.emit('client', { clientId: m.clientId, event: 'rejected', reason: (e as Error).message });
      // A client that stops answering the will dialogue is its own failure, not the gateway's.
      if (!(e instanceof MqttSnError && e.code === 'TIMEOUT')) this.events.emit('error', { error: e as Error, clientId: m.clientId });
    }
  }

  private attach(s: Session, link: BrokerLink): void {
    s.link = link;
    link.listen({
      message: (topic, payload, qos, retain) => {
        if (s.link !== link) return;
        s.handleBrokerMessage({ topic, payload, qos, retain }, this.timers.now());
        this.flush(s);
      },
      error: (error) => this.events.emit('error', { error, clientId: s.clientId }),
      close: () => {
        if (s.link !== link || s.state === 'closed' || this.closed) return;
        // The broker dropped this client's connection: tell the client (§6.12 gateway DISCONNECT).
        s.send({ type: 'DISCONNECT' });
        this.flush(s);
        this.remove(s, 'broker closed the connection', false);
        this.events.emit('client', { clientId: s.clientId, event: 'disconnect', reason: 'broker closed the connection' });
      },
    });
  }

  private lose(s: Session, reason: string): void {
    if (s.state === 'closed') return;
    this.counters.lost += 1;
    this.remove(s, reason, true);
    this.events.emit('client', { clientId: s.clientId, event: 'lost', reason });
  }

  /** Ends a session; `abrupt` drops the broker connection so the broker publishes the will. */
  private remove(s: Session, _reason: string, abrupt: boolean): void {
    this.table.drop(s);
    const link = s.link;
    s.link = undefined;
    // abrupt: no DISCONNECT, so the broker publishes the will (MQTT 3.1.1 §3.1.2.5)
    if (link !== undefined) void link.end(abrupt).catch(() => undefined);
  }

  /** The broker credentials of a client, or undefined to refuse it; aggregating: the gateway's identity for an admitted client id. */
  private async credsOf(clientId: string): Promise<BrokerCredentials | undefined> {
    if (this.agg === undefined) return credentialsFor(this.options, clientId);
    return (await admitted(this.options.admit, this.options.credentials, clientId)) ? this.options.identity : undefined;
  }
}
