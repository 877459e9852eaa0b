// The transparent MQTT-SN gateway (MQTT-SN 1.2 §4.2): one MQTT connection per MQTT-SN client,
// so each client keeps its own identity and ACLs at the broker.
import type { MqttClient } from 'mqtt';
import { describe } from './bytes.js';
import { decodeMessage, encodeMessage } from './codec.js';
import { Emitter } from './emitter.js';
import { MqttSnError } from './errors.js';
import { checkCredentialSource, connectBroker, dropBroker, endBroker, lookupCredentials, type BrokerCredentials, type CredentialSource, type GatewayBrokerOptions } from './gateway-broker.js';
import { Session, type OutboundItem, type SessionHost } from './gateway-session.js';
import { ReturnCode, type MqttSnMessage } from './messages.js';
import { resolveRetry, systemTimers, type MqttSnTimers, type RetryPolicy } from './timers.js';
import { UdpEndpoint, type UdpPeer } from './udp.js';

/**
 * Options for {@link MqttSnGateway}.
 *
 * @example
 * ```ts
 * import type { MqttSnGatewayOptions } from '@outpost/device-sdk/mqtt-sn';
 * const o: MqttSnGatewayOptions = {
 *   udp: { host: '127.0.0.1', port: 10000 },
 *   broker: { url: 'mqtts://127.0.0.1:8883', ca: '-----BEGIN CERTIFICATE-----…' },
 *   credentials: (clientId) => undefined,
 *   predefinedTopics: { 1: 'devices/gw-1/beacon' },
 * };
 * o.udp?.port; // 10000
 * ```
 */
export interface MqttSnGatewayOptions {
  /** UDP address to serve on (default 0.0.0.0:10000, the Paho gateway's port). */
  readonly udp?: { readonly host?: string; readonly port?: number };
  readonly broker: GatewayBrokerOptions;
  /** Per-client broker credentials (client id → cert/key), or a resolver. */
  readonly credentials?: CredentialSource;
  /**
   * The gateway's own identity: its MQTT client id and certificate. Used for QoS −1 publishes
   * (which come from unconnected clients, MQTT-SN 1.2 §6.8) and, with `useGatewayIdentity`,
   * for clients without credentials.
   */
  readonly identity?: BrokerCredentials & { readonly clientId: string };
  /**
   * `'never'` (default): a client without its own credentials is refused (CONNACK 3).
   * `'fallback'`: such clients connect with the gateway's identity. `'always'`: every client
   * does (one shared identity: the broker can no longer tell devices apart — avoid).
   */
  readonly useGatewayIdentity?: 'never' | 'fallback' | 'always';
  /** Predefined topic ids (id → topic name, MQTT-SN 1.2 §6.7), the same for every client. */
  readonly predefinedTopics?: Readonly<Record<number, string>>;
  /** Messages buffered per sleeping client before the oldest is dropped (default 20). */
  readonly sleepBufferMax?: number;
  /** GwId in ADVERTISE and GWINFO (default 1). */
  readonly gwId?: number;
  /** Where to send ADVERTISE (MQTT-SN 1.2 §6.1), and how often (default every 900 s). */
  readonly advertise?: { readonly targets: ReadonlyArray<{ readonly host: string; readonly port: number }>; readonly intervalS?: number };
  /** Tretry/Nretry for gateway-initiated exchanges (default 10 s / 3). */
  readonly retry?: Partial<RetryPolicy>;
  /** Most clients served at once (default 1000); beyond, CONNACK 1 (congestion). */
  readonly maxClients?: number;
  /** Largest accepted datagram (default 65535). */
  readonly maxMessageBytes?: number;
  readonly timers?: MqttSnTimers;
}

/**
 * Counters of a running gateway.
 *
 * @example
 * ```ts
 * import type { MqttSnGatewayStats } from '@outpost/device-sdk/mqtt-sn';
 * const s: Partial<MqttSnGatewayStats> = { malformed: 0 };
 * s.malformed; // 0
 * ```
 */
export interface MqttSnGatewayStats {
  datagramsIn: number;
  datagramsOut: number;
  malformed: number;
  unknownClient: number;
  clients: number;
  publishesIn: number;
  publishesOut: number;
  qosMinus1: number;
  sleepBuffered: number;
  sleepDropped: number;
  retransmissions: number;
  rejected: number;
  lost: number;
}

/**
 * Events of an {@link MqttSnGateway}.
 *
 * @example
 * ```ts
 * import type { MqttSnGatewayEvents } from '@outpost/device-sdk/mqtt-sn';
 * const e: keyof MqttSnGatewayEvents = 'malformed';
 * e; // 'malformed'
 * ```
 */
export interface MqttSnGatewayEvents extends Record<string, unknown> {
  /** A datagram that did not decode; it was dropped. */
  malformed: { readonly from: UdpPeer; readonly error: MqttSnError; readonly length: number };
  /** A client's life: connect, sleep, wake, disconnect, lost (will published), rejected. */
  client: { readonly clientId: string; readonly event: 'connect' | 'sleep' | 'wake' | 'disconnect' | 'lost' | 'rejected'; readonly reason?: string };
  /** A buffered message dropped because a sleeping client's buffer was full. */
  dropped: { readonly clientId: string; readonly topic: string };
  /** Anything else that went wrong (broker errors); the gateway keeps serving. */
  error: { readonly error: Error; readonly clientId?: string };
}

function peerKey(p: UdpPeer, node?: Uint8Array): string {
  return node === undefined ? `${p.address}:${p.port}` : `${p.address}:${p.port}/${Buffer.from(node).toString('hex')}`;
}

/**
 * A transparent MQTT-SN 1.2 gateway: MQTT-SN clients on UDP, one MQTT connection per client to
 * the broker (mTLS with the client's own certificate), topic registration per client,
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
  private readonly sessions = new Map<string, Session>(); // by peer key
  private readonly byClientId = new Map<string, Session>();
  private readonly timers: MqttSnTimers;
  private readonly retry: RetryPolicy;
  private readonly predefinedById: Map<number, string>;
  private readonly predefinedByName: Map<string, number>;
  private readonly host: SessionHost;
  private udp: UdpEndpoint | undefined;
  private advertiseTimer: unknown;
  private own: Promise<MqttClient> | undefined;
  private closed = false;
  private readonly counters: Omit<MqttSnGatewayStats, 'clients' | 'retransmissions'> = {
    datagramsIn: 0, datagramsOut: 0, malformed: 0, unknownClient: 0, publishesIn: 0, publishesOut: 0, qosMinus1: 0, sleepBuffered: 0, sleepDropped: 0, rejected: 0, lost: 0,
  };
  private retransmissionsOfClosed = 0;

  /**
   * @throws TypeError / RangeError for bad options (checked here, before anything binds).
   */
  constructor(private readonly options: MqttSnGatewayOptions) {
    const fn = 'MqttSnGateway';
    if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: options: expected an object, got ${describe(options)}`);
    const b = options.broker as GatewayBrokerOptions | undefined;
    if (b === null || typeof b !== 'object') throw new TypeError(`${fn}: broker: expected { url, ca? }, got ${describe(b)}`);
    if (typeof b.url !== 'string') throw new TypeError(`${fn}: broker.url: expected a string, got ${describe(b.url)}`);
    let url: URL;
    try { url = new URL(b.url); } catch { throw new RangeError(`${fn}: broker.url: not a URL: ${JSON.stringify(b.url)}`); }
    if (url.protocol !== 'mqtts:' && url.protocol !== 'ssl:' && !(b.insecure === true && url.protocol === 'mqtt:')) {
      throw new RangeError(`${fn}: broker.url: expected mqtts:// (plain mqtt:// needs broker.insecure: true), got ${url.protocol}//`);
    }
    if (b.protocolVersion !== undefined && b.protocolVersion !== 4 && b.protocolVersion !== 5) throw new RangeError(`${fn}: broker.protocolVersion: expected 4 or 5, got ${String(b.protocolVersion)}`);
    checkCredentialSource(fn, options.credentials);
    const u = options.useGatewayIdentity ?? 'never';
    if (u !== 'never' && u !== 'fallback' && u !== 'always') throw new RangeError(`${fn}: useGatewayIdentity: expected 'never', 'fallback' or 'always', got ${JSON.stringify(u)}`);
    if (u !== 'never' && options.identity === undefined) throw new RangeError(`${fn}: useGatewayIdentity '${u}' needs identity { clientId, cert, key }`);
    if (options.identity !== undefined) {
      const id = options.identity as unknown as Record<string, unknown> | null;
      if (id === null || typeof id !== 'object' || typeof id['clientId'] !== 'string') throw new TypeError(`${fn}: identity: expected { clientId, cert, key }`);
    }
    const port = options.udp?.port ?? 10000;
    if (typeof port !== 'number') throw new TypeError(`${fn}: udp.port: expected a number, got ${describe(port)}`);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`${fn}: udp.port: expected 0…65535, got ${port}`);
    const sb = options.sleepBufferMax ?? 20;
    if (typeof sb !== 'number') throw new TypeError(`${fn}: sleepBufferMax: expected a number, got ${describe(sb)}`);
    if (!Number.isInteger(sb) || sb < 0) throw new RangeError(`${fn}: sleepBufferMax: expected an integer ≥ 0, got ${sb}`);
    this.predefinedById = new Map();
    if (options.predefinedTopics !== undefined) {
      if (options.predefinedTopics === null || typeof options.predefinedTopics !== 'object') throw new TypeError(`${fn}: predefinedTopics: expected an object, got ${describe(options.predefinedTopics)}`);
      for (const [k, v] of Object.entries(options.predefinedTopics)) {
        const id = Number(k);
        if (!Number.isInteger(id) || id < 1 || id > 0xfffe) throw new RangeError(`${fn}: predefinedTopics: id ${k}: expected 1…65534`);
        if (typeof v !== 'string' || v.length === 0) throw new TypeError(`${fn}: predefinedTopics[${k}]: expected a topic name, got ${describe(v)}`);
        this.predefinedById.set(id, v);
      }
    }
    this.predefinedByName = new Map([...this.predefinedById].map(([k, v]) => [v, k]));
    this.timers = options.timers ?? systemTimers;
    this.retry = resolveRetry(fn, options.retry === undefined ? undefined : { ...options.retry });
    this.host = {
      timers: this.timers,
      retry: this.retry,
      sleepBufferMax: sb,
      predefinedById: this.predefinedById,
      predefinedByName: this.predefinedByName,
      send: (s, m) => this.sendTo(s.peer, s.wrap === undefined ? m : s.wrap(m)),
      lost: (s, reason) => this.lose(s, reason),
      dropped: (s, item) => {
        this.counters.sleepDropped += 1;
        this.events.emit('dropped', { clientId: s.clientId, topic: item.topic });
      },
      counted: (what) => { this.counters[what] += 1; },
    };
  }

  /** Subscribes to gateway events; returns a function that removes the listener. */
  on<K extends keyof MqttSnGatewayEvents>(event: K, listener: (value: MqttSnGatewayEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  /** Binds the UDP socket and starts advertising. */
  async start(): Promise<void> {
    if (this.udp !== undefined) return;
    const u = this.options.udp ?? {};
    this.udp = await UdpEndpoint.bind(u.host ?? '0.0.0.0', u.port ?? 10000, (d, from) => this.onDatagram(d, from), (e) => this.events.emit('error', { error: e }));
    if (this.options.advertise !== undefined) this.advertise();
  }

  /** The bound UDP address. */
  address(): UdpPeer {
    if (this.udp === undefined) throw new MqttSnError('NOT_CONNECTED', 'MqttSnGateway.address: not started');
    return this.udp.address();
  }

  /** A snapshot of the counters. */
  stats(): MqttSnGatewayStats {
    let rt = this.retransmissionsOfClosed;
    for (const s of this.sessions.values()) rt += s.rtx.retransmissions;
    return { ...this.counters, clients: this.byClientId.size, retransmissions: rt };
  }

  /** Client ids with a session, and their states. */
  clients(): Array<{ clientId: string; state: string }> {
    return [...this.byClientId.values()].map((s) => ({ clientId: s.clientId, state: s.state }));
  }

  /** Stops: ends every broker connection cleanly (no wills), closes the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timers.clearTimeout(this.advertiseTimer);
    const ends: Array<Promise<void>> = [];
    for (const s of new Set(this.sessions.values())) {
      s.stop();
      if (s.mqtt !== undefined) ends.push(endBroker(s.mqtt));
    }
    this.sessions.clear();
    this.byClientId.clear();
    if (this.own !== undefined) ends.push(this.own.then((c) => endBroker(c), () => undefined));
    await Promise.all(ends);
    await this.udp?.close();
  }

  // ------------------------------------------------------------ I/O

  private sendTo(peer: UdpPeer, m: MqttSnMessage): void {
    if (this.udp === undefined || this.closed) return;
    this.counters.datagramsOut += 1;
    this.udp.send(encodeMessage(m), peer);
  }

  private advertise(): void {
    const a = this.options.advertise;
    if (a === undefined || this.closed) return;
    const intervalS = a.intervalS ?? 900;
    for (const t of a.targets) this.sendTo({ address: t.host, port: t.port }, { type: 'ADVERTISE', gwId: this.options.gwId ?? 1, durationS: intervalS });
    this.advertiseTimer = this.timers.setTimeout(() => this.advertise(), intervalS * 1000);
  }

  private onDatagram(data: Uint8Array, from: UdpPeer): void {
    this.counters.datagramsIn += 1;
    let m: MqttSnMessage;
    try {
      m = decodeMessage(data, { maxLength: this.options.maxMessageBytes ?? 65535 });
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
    const reply = (x: MqttSnMessage): void => this.sendTo(from, wrap === undefined ? x : wrap(x));
    if (m.type === 'SEARCHGW') {
      reply({ type: 'GWINFO', gwId: this.options.gwId ?? 1 }); // §6.1
      return;
    }
    if (m.type === 'CONNECT') {
      void this.onConnect(m, from, key, wrap, reply);
      return;
    }
    let s = this.sessions.get(key);
    if (m.type === 'PINGREQ' && m.clientId !== undefined) {
      // §6.14: a sleeping client wakes with PINGREQ carrying its client id, maybe from a new address.
      const sleeper = this.byClientId.get(m.clientId);
      if (sleeper !== undefined && (sleeper.state === 'asleep' || sleeper.state === 'awake')) {
        this.rekey(sleeper, from, key, wrap);
        if (sleeper.state === 'asleep') this.events.emit('client', { clientId: sleeper.clientId, event: 'wake' });
        sleeper.wake();
        return;
      }
    }
    if (m.type === 'PUBLISH' && m.qos === -1 && s === undefined) {
      void this.qosMinus1(m);
      return;
    }
    if (s !== undefined && s.state === 'connecting') {
      // §6.2: during CONNECT only the will dialogue (WILLTOPIC, WILLMSG) is expected.
      if (!s.rtx.offer(m)) this.counters.unknownClient += 1;
      return;
    }
    if (s === undefined) {
      this.counters.unknownClient += 1;
      if (m.type === 'PINGREQ') reply({ type: 'PINGRESP' });
      else if (m.type !== 'DISCONNECT' && m.type !== 'PUBACK' && m.type !== 'PUBCOMP' && m.type !== 'PUBREC' && m.type !== 'REGACK') reply({ type: 'DISCONNECT' });
      return;
    }
    s.touch();
    switch (m.type) {
      case 'REGISTER':
        s.onRegister(m);
        return;
      case 'PUBLISH':
        void s.onPublish(m);
        return;
      case 'PUBREL':
        s.onPubrel(m);
        return;
      case 'SUBSCRIBE':
        void s.onSubscribe(m);
        return;
      case 'UNSUBSCRIBE':
        void s.onUnsubscribe(m);
        return;
      case 'PINGREQ':
        s.send({ type: 'PINGRESP' });
        return;
      case 'DISCONNECT':
        this.onDisconnect(s, m.durationS);
        return;
      case 'WILLTOPICUPD':
        s.will = m.topic === '' ? undefined : { topic: m.topic, payload: s.will?.payload ?? new Uint8Array(), qos: m.qos, retain: m.retain };
        void this.reconnectForWill(s).then((ok) => s.send({ type: 'WILLTOPICRESP', returnCode: ok ? ReturnCode.Accepted : ReturnCode.Congestion }));
        return;
      case 'WILLMSGUPD':
        if (s.will !== undefined) s.will = { ...s.will, payload: m.message };
        void this.reconnectForWill(s).then((ok) => s.send({ type: 'WILLMSGRESP', returnCode: ok ? ReturnCode.Accepted : ReturnCode.Congestion }));
        return;
      default:
        s.rtx.offer(m); // replies to gateway-initiated exchanges
    }
  }

  private rekey(s: Session, from: UdpPeer, key: string, wrap: ((x: MqttSnMessage) => MqttSnMessage) | undefined): void {
    if (s.key === key) return;
    this.sessions.delete(s.key);
    s.key = key;
    s.peer = from;
    s.wrap = wrap;
    this.sessions.set(key, s);
  }

  // ------------------------------------------------------------ connect (§6.2), will (§6.4)

  private async onConnect(m: Extract<MqttSnMessage, { type: 'CONNECT' }>, from: UdpPeer, key: string, wrap: ((x: MqttSnMessage) => MqttSnMessage) | undefined, reply: (x: MqttSnMessage) => void): Promise<void> {
    const here = this.sessions.get(key);
    if (here !== undefined && here.clientId === m.clientId) {
      if (here.state === 'connecting') return; // a retransmitted CONNECT during the will dialogue
      if (here.state === 'active') {
        reply({ type: 'CONNACK', returnCode: ReturnCode.Accepted }); // our CONNACK was lost
        here.touch();
        return;
      }
    }
    const existing = this.byClientId.get(m.clientId);
    if (existing !== undefined && existing.mqtt !== undefined && !m.cleanSession && existing.state !== 'connecting') {
      // Resume (after sleep, or from a new address) keeping the broker session and registrations.
      this.rekey(existing, from, key, wrap);
      existing.keepAliveS = m.durationS;
      if (m.will) await this.willDialogue(existing);
      reply({ type: 'CONNACK', returnCode: ReturnCode.Accepted });
      this.events.emit('client', { clientId: existing.clientId, event: 'connect' });
      existing.activate();
      return;
    }
    if (existing !== undefined) this.remove(existing, 'replaced by a new connection', false);
    if (here !== undefined && here !== existing) this.remove(here, 'replaced by a new connection', false);
    if (this.byClientId.size >= (this.options.maxClients ?? 1000)) {
      this.counters.rejected += 1;
      reply({ type: 'CONNACK', returnCode: ReturnCode.Congestion });
      this.events.emit('client', { clientId: m.clientId, event: 'rejected', reason: 'too many clients' });
      return;
    }
    const s = new Session(m.clientId, from, key, this.host, wrap);
    s.keepAliveS = m.durationS;
    s.cleanSession = m.cleanSession;
    this.sessions.set(key, s);
    this.byClientId.set(m.clientId, s);
    try {
      if (m.will) await this.willDialogue(s);
      const creds = await this.credentialsFor(m.clientId);
      if (creds === undefined) {
        this.counters.rejected += 1;
        this.remove(s, 'no broker credentials', false);
        reply({ type: 'CONNACK', returnCode: ReturnCode.NotSupported });
        this.events.emit('client', { clientId: m.clientId, event: 'rejected', reason: 'no broker credentials for this client id' });
        return;
      }
      const mq = await connectBroker(this.options.broker, { clientId: m.clientId, creds, clean: m.cleanSession, keepAliveS: Math.max(m.durationS, 30), will: s.will });
      if (s.state === 'closed') {
        await endBroker(mq);
        return;
      }
      this.attach(s, mq);
      s.state = 'active';
      s.touch();
      reply({ type: 'CONNACK', returnCode: ReturnCode.Accepted });
      this.events.emit('client', { clientId: m.clientId, event: 'connect' });
    } catch (e) {
      if (s.state === 'closed') return;
      this.counters.rejected += 1;
      this.remove(s, 'broker connection failed', false);
      const auth = /not authori[sz]ed|bad user|certificate|handshake|identifier rejected/i.test((e as Error).message);
      reply({ type: 'CONNACK', returnCode: auth ? ReturnCode.NotSupported : ReturnCode.Congestion });
      this.events.emit('client', { clientId: m.clientId, event: 'rejected', reason: (e as Error).message });
      this.events.emit('error', { error: e as Error, clientId: m.clientId });
    }
  }

  private async willDialogue(s: Session): Promise<void> {
    const t = await s.rtx.request('WILLTOPICREQ', () => s.send({ type: 'WILLTOPICREQ' }), (x) => x.type === 'WILLTOPIC');
    if (t.type !== 'WILLTOPIC' || t.topic === '') {
      s.will = undefined;
      return;
    }
    const w = await s.rtx.request('WILLMSGREQ', () => s.send({ type: 'WILLMSGREQ' }), (x) => x.type === 'WILLMSG');
    s.will = { topic: t.topic, payload: w.type === 'WILLMSG' ? w.message : new Uint8Array(), qos: t.qos, retain: t.retain };
  }

  private attach(s: Session, mq: MqttClient): void {
    s.mqtt = mq;
    mq.on('message', (topic, payload, packet) => {
      if (s.mqtt !== mq) return;
      const item: OutboundItem = { topic, payload: new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength), qos: packet.qos, retain: packet.retain };
      s.fromBroker(item);
    });
    mq.on('error', (error) => this.events.emit('error', { error, clientId: s.clientId }));
    mq.on('close', () => {
      if (s.mqtt !== mq || s.state === 'closed' || this.closed) return;
      // The broker dropped this client's connection: tell the client (§6.12 gateway DISCONNECT).
      s.send({ type: 'DISCONNECT' });
      this.remove(s, 'broker closed the connection', false);
      this.events.emit('client', { clientId: s.clientId, event: 'disconnect', reason: 'broker closed the connection' });
    });
  }

  private async reconnectForWill(s: Session): Promise<boolean> {
    // MQTT fixes the will at CONNECT: reconnect the broker session (clean: false) with the new will.
    const old = s.mqtt;
    try {
      const creds = await this.credentialsFor(s.clientId);
      if (old !== undefined) {
        s.mqtt = undefined;
        await endBroker(old);
      }
      const mq = await connectBroker(this.options.broker, { clientId: s.clientId, creds, clean: false, keepAliveS: Math.max(s.keepAliveS, 30), will: s.will });
      this.attach(s, mq);
      for (const [f, q] of s.subscriptions) await mq.subscribeAsync(f, { qos: q });
      return true;
    } catch (e) {
      this.events.emit('error', { error: e as Error, clientId: s.clientId });
      return false;
    }
  }

  private async credentialsFor(clientId: string): Promise<BrokerCredentials | undefined> {
    const mode = this.options.useGatewayIdentity ?? 'never';
    if (mode === 'always') return this.options.identity;
    const own = await lookupCredentials(this.options.credentials, clientId);
    return own ?? (mode === 'fallback' ? this.options.identity : undefined);
  }

  // ------------------------------------------------------------ disconnect, sleep, loss

  private onDisconnect(s: Session, durationS: number | undefined): void {
    s.send({ type: 'DISCONNECT' });
    if (durationS !== undefined && durationS > 0) {
      // §6.14: asleep; the broker connection stays, messages are buffered.
      s.state = 'asleep';
      s.sleepS = durationS;
      s.touch();
      this.events.emit('client', { clientId: s.clientId, event: 'sleep' });
      return;
    }
    this.remove(s, 'client disconnected', false);
    this.events.emit('client', { clientId: s.clientId, event: 'disconnect' });
  }

  private lose(s: Session, reason: string): void {
    if (s.state === 'closed') return;
    this.counters.lost += 1;
    this.remove(s, reason, true);
    this.events.emit('client', { clientId: s.clientId, event: 'lost', reason });
  }

  /** Ends a session; `abrupt` drops the broker connection so the broker publishes the will. */
  private remove(s: Session, _reason: string, abrupt: boolean): void {
    this.retransmissionsOfClosed += s.rtx.retransmissions;
    s.stop();
    if (this.sessions.get(s.key) === s) this.sessions.delete(s.key);
    if (this.byClientId.get(s.clientId) === s) this.byClientId.delete(s.clientId);
    const mq = s.mqtt;
    s.mqtt = undefined;
    if (mq !== undefined) {
      if (abrupt) dropBroker(mq);
      else void endBroker(mq);
    }
  }

  // ------------------------------------------------------------ QoS −1 (§6.8)

  private async qosMinus1(m: Extract<MqttSnMessage, { type: 'PUBLISH' }>): Promise<void> {
    const topic = m.topic.kind === 'short' ? m.topic.name : m.topic.kind === 'predefined' ? this.predefinedById.get(m.topic.id) : undefined;
    const id = this.options.identity;
    if (topic === undefined || id === undefined) {
      this.counters.unknownClient += 1;
      this.events.emit('error', { error: new MqttSnError('INVALID_TOPIC', topic === undefined ? 'QoS −1 PUBLISH with an unknown topic (only predefined ids and short names)' : 'QoS −1 PUBLISH dropped: the gateway has no identity of its own') });
      return;
    }
    try {
      this.own ??= connectBroker(this.options.broker, { clientId: id.clientId, creds: id, clean: true, keepAliveS: 60, will: undefined });
      const mq = await this.own;
      mq.publish(topic, Buffer.from(m.payload), { qos: 0, retain: m.retain });
      this.counters.qosMinus1 += 1;
    } catch (e) {
      this.own = undefined;
      this.events.emit('error', { error: e as Error });
    }
  }
}
