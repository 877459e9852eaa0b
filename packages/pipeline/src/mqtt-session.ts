/**
 * The consumer's own MQTT session on mqtt-packet (MQTT.js's codec; inbound PUBLISHes on
 * packet-reader.ts) over a socket it owns. MQTT.js sends a PUBACK as soon as its `handleMessage`
 * calls back and reads the next packet only after that, so its public API cannot hold an
 * acknowledgement while taking more messages; this session can: PUBLISHes go up as they are
 * parsed, PUBACKs go out when the caller says so, reading can pause (backpressure) while writing
 * goes on. It speaks CONNECT (MQTT 3.1.1 or 5, persistent session, Receive Maximum),
 * SUBSCRIBE/UNSUBSCRIBE, keep-alive, PUBLISH in (QoS 0/1), PUBACK out, PUBLISH out (QoS 0/1/2,
 * for alerts), DISCONNECT, and reconnects.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { isIP } from 'node:net';
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import type { PipelineClock } from './clock.js';
import { PacketReader } from './packet-reader.js';
import { joinSegments, type Segment } from './write-segments.js';

/** Everything the session needs to dial and keep a connection. */
export interface SessionConfig {
  readonly url: URL;
  readonly tls: Pick<ConnectionOptions, 'ca' | 'cert' | 'key'> | undefined;
  readonly clientId: string;
  readonly version: 4 | 5;
  readonly keepaliveSeconds: number;
  readonly sessionExpirySeconds: number;
  readonly receiveMaximum: number;
  readonly reconnectPeriodMs: number;
  readonly connectTimeoutMs: number;
  /** Topic filters subscribed (QoS 1) on every connection. */
  readonly filters: readonly string[];
  readonly clock: PipelineClock;
}

/** What the session reports. `conn` numbers connections: 1, 2, … */
export interface SessionHandlers {
  publish(packet: IPublishPacket, conn: number): void;
  connected(conn: number): void;
  disconnected(conn: number, error: Error | undefined): void;
}

/** Callback of an outgoing publish: called once, with an error if it was not acknowledged. */
export type PublishCallback = (error?: Error) => void;

interface Outgoing {
  readonly cb: PublishCallback;
  /** QoS 2 after PUBREC: waiting for PUBCOMP. */
  released: boolean;
}

interface Pending {
  readonly resolve: (p: Packet) => void;
  readonly reject: (e: Error) => void;
}

/** Bytes read per turn of the event loop before reading pauses until the next (the largest TLS record; ~130 PUBLISHes of telemetry: a turn stays a few ms). */
const READ_BYTES_PER_TURN = 16_384;

/** One consumer session; see the file comment. */
export class MqttSession {
  /** Current connection number (0 before the first). */
  conn = 0;
  connected = false;
  private socket: Socket | undefined;
  private ending = false;
  private paused = false;
  /** See yieldTurn: reading paused until the next turn; bytes read in this turn; its reset scheduled. */
  private yielding = false;
  private turnBytes = 0;
  private turnScheduled = false;
  private out: Segment[] = [];
  private flushing = false;
  private lastWrite = 0;
  private pingSentAt: number | undefined;
  private pingTimer: unknown;
  private reconnectTimer: unknown;
  private reconnecting = false;
  private nextId = 1;
  private readonly outgoing = new Map<number, Outgoing>();
  private readonly requests = new Map<number, Pending>();

  constructor(
    private readonly cfg: SessionConfig,
    private readonly on: SessionHandlers,
  ) {}

  /** First connection and subscription; rejects (and gives up) if either fails. Reconnects automatically afterwards. */
  async open(): Promise<void> {
    await this.dial();
  }

  /** Stops reading the socket (the broker's messages wait in its session); writes go on. */
  pause(): void {
    this.paused = true;
    this.socket?.pause();
  }

  resume(): void {
    this.paused = false;
    this.pingSentAt = undefined;
    this.socket?.resume();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Queues a PUBACK on connection `conn`; false if that connection is gone. */
  puback(conn: number, id: number): boolean {
    if (conn !== this.conn || !this.connected) return false;
    const last = this.out[this.out.length - 1];
    if (Array.isArray(last)) last.push(id);
    else this.out.push([id]);
    this.scheduleFlush();
    return true;
  }

  /** Publishes (the alerts path). QoS 1/2: `cb` runs on PUBACK/PUBCOMP, or with an error when the connection drops first. */
  publish(topic: string, payload: string | Uint8Array, options: { qos?: 0 | 1 | 2; retain?: boolean } | undefined, cb?: PublishCallback): void {
    const qos = options?.qos ?? 0;
    const done = cb ?? (() => undefined);
    if (!this.connected) {
      done(new Error('not connected'));
      return;
    }
    const packet = { cmd: 'publish', topic, payload: typeof payload === 'string' ? payload : Buffer.from(payload), qos, retain: options?.retain ?? false, dup: false } as IPublishPacket;
    if (qos > 0) {
      const id = this.freeId();
      packet.messageId = id;
      this.outgoing.set(id, { cb: done, released: false });
    }
    this.send(packet);
    if (qos === 0) done();
  }

  /** SUBSCRIBE and wait for the SUBACK; rejects when a filter was refused. */
  async subscribe(filters: readonly string[]): Promise<void> {
    const ack = await this.request({ cmd: 'subscribe', subscriptions: filters.map((topic) => ({ topic, qos: 1 })) } as Packet);
    const granted = (ack as { granted?: number[] }).granted ?? [];
    const refused = granted.map((g, i) => [g, filters[i]] as const).filter(([g]) => g !== 0 && g !== 1 && g !== 2);
    if (refused.length > 0) throw new Error(`subscription refused (reason ${refused.map(([g]) => g).join(', ')}) for ${refused.map(([, f]) => f).join(', ')}`);
  }

  /** UNSUBSCRIBE and wait for the UNSUBACK (MQTT 5 §3.10.4: after it the broker adds no new messages). */
  async unsubscribe(filters: readonly string[]): Promise<void> {
    await this.request({ cmd: 'unsubscribe', unsubscriptions: [...filters] } as Packet);
  }

  /** DISCONNECT (with properties on MQTT 5) and close; no reconnect afterwards. */
  async end(disconnect?: { sessionExpiryInterval?: number }): Promise<void> {
    this.ending = true;
    this.cfg.clock.clearTimeout(this.reconnectTimer);
    const socket = this.socket;
    if (socket === undefined || socket.destroyed) return;
    if (this.connected) {
      this.flush();
      const packet = { cmd: 'disconnect', ...(this.cfg.version === 5 ? { reasonCode: 0, ...(disconnect !== undefined ? { properties: disconnect } : {}) } : {}) } as Packet;
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.end(mqttPacket.generate(packet, { protocolVersion: this.cfg.version }));
        // A broker that does not close its side within a second: close ours.
        const t = this.cfg.clock.setTimeout(() => socket.destroy(), 1_000);
        socket.once('close', () => this.cfg.clock.clearTimeout(t));
      });
    } else {
      socket.destroy();
    }
  }

  /** Drops the connection without DISCONNECT (what was not acknowledged is redelivered); reconnects after the period. */
  drop(): void {
    this.flush(); // acknowledgements already due go out first
    this.socket?.destroy();
  }

  private freeId(): number {
    for (let i = 0; i < 65_535; i++) {
      const id = this.nextId;
      this.nextId = id === 65_535 ? 1 : id + 1;
      if (!this.outgoing.has(id) && !this.requests.has(id)) return id;
    }
    throw new Error('no free packet identifier (65 535 in flight)');
  }

  private request(packet: Packet): Promise<Packet> {
    if (!this.connected) return Promise.reject(new Error('not connected'));
    const id = this.freeId();
    (packet as { messageId?: number }).messageId = id;
    return new Promise<Packet>((resolve, reject) => {
      this.requests.set(id, { resolve, reject });
      this.send(packet);
    });
  }

  private send(packet: Packet): void {
    this.write(mqttPacket.generate(packet, { protocolVersion: this.cfg.version }));
  }

  /** Coalesces the writes of one turn of the event loop (a committed batch releases many PUBACKs at once). */
  private write(buf: Buffer): void {
    this.out.push(buf);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushing = false;
    if (this.out.length === 0) return;
    const bufs = this.out;
    this.out = [];
    const s = this.socket;
    if (s === undefined || s.destroyed || !this.connected) return;
    const only = bufs.length === 1 ? bufs[0] : undefined;
    s.write(only !== undefined && !Array.isArray(only) ? only : joinSegments(bufs));
    this.lastWrite = this.cfg.clock.now();
  }

  /**
   * About 16 KiB (`READ_BYTES_PER_TURN`) per turn of the event loop: libuv hands a
   * stream up to 32 reads (~20,000 PUBLISHes) in one poll phase, and timers and the PUBACK writes
   * would wait behind them; past the budget, reading pauses until the next turn. In bytes, not
   * 'data' events: TLS emits one per record, one per PUBLISH (one message per turn, before).
   */
  private yieldTurn(socket: Socket, bytes: number): void {
    this.turnBytes += bytes;
    if (!this.turnScheduled) {
      this.turnScheduled = true;
      setImmediate(() => {
        this.turnScheduled = false;
        this.turnBytes = 0;
        if (!this.yielding) return;
        this.yielding = false;
        if (!this.paused && this.socket === socket) socket.resume();
      });
    }
    if (this.turnBytes < READ_BYTES_PER_TURN || this.paused || this.yielding) return;
    this.yielding = true;
    socket.pause();
  }

  private openSocket(): Socket {
    const { url } = this.cfg;
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port || (url.protocol === 'mqtts:' ? 8883 : 1883));
    if (url.protocol === 'mqtt:') return netConnect({ host, port });
    return tlsConnect({ host, port, ...this.cfg.tls, rejectUnauthorized: true, minVersion: 'TLSv1.2', ...(isIP(host) === 0 ? { servername: host } : {}) });
  }

  /** One connection attempt: socket, CONNECT, CONNACK, SUBSCRIBE. */
  private dial(): Promise<void> {
    const { clock, version } = this.cfg;
    const socket = this.openSocket();
    socket.setNoDelay(true);
    this.socket = socket;
    this.out = [];
    const conn = this.conn + 1;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (e: Error): void => {
        if (settled) return;
        settled = true;
        socket.destroy();
        reject(e);
      };
      const timer = clock.setTimeout(() => fail(new Error(`no CONNACK within ${this.cfg.connectTimeoutMs} ms`)), this.cfg.connectTimeoutMs);
      const reader = new PacketReader(version, (p: Packet) => {
        if (!this.connected) {
          if (p.cmd !== 'connack') return fail(new Error(`expected CONNACK, got ${p.cmd}`));
          clock.clearTimeout(timer);
          const code = (p as { reasonCode?: number; returnCode?: number }).reasonCode ?? (p as { returnCode?: number }).returnCode ?? 0;
          if (code !== 0) return fail(new Error(`connection refused by the broker (reason ${code})`));
          this.conn = conn;
          this.connected = true;
          this.on.connected(conn);
          if (this.paused) socket.pause();
          this.armPing();
          // Subscribe on every connection (idempotent; a resumed session's queued messages may arrive first).
          this.subscribe(this.cfg.filters).then(
            () => {
              settled = true;
              resolve();
            },
            (e: unknown) => fail(e as Error),
          );
          return;
        }
        this.packet(p);
      });
      socket.on('data', (d: Buffer) => {
        try {
          reader.push(d);
          this.yieldTurn(socket, d.length);
        } catch (e) {
          socket.destroy(e as Error); // a malformed packet: the connection cannot go on ('close' follows)
        }
      });
      // MQTT 5 §3.1: a persistent session (Clean Start 0) that outlives the connection by the
      // expiry, and Receive Maximum as the broker's window of unacknowledged QoS 1 messages.
      const connect = {
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: version,
        clean: false,
        clientId: this.cfg.clientId,
        keepalive: this.cfg.keepaliveSeconds,
        ...(version === 5 ? { properties: { sessionExpiryInterval: this.cfg.sessionExpirySeconds, receiveMaximum: this.cfg.receiveMaximum } } : {}),
      } as Packet;
      socket.write(mqttPacket.generate(connect, { protocolVersion: version })); // node buffers it until the (TLS) connection is up
      this.lastWrite = clock.now();
      socket.on('error', () => undefined); // 'close' follows
      socket.on('close', () => {
        clock.clearTimeout(timer);
        const was = this.connected && this.conn === conn;
        this.connected = false;
        this.cfg.clock.clearTimeout(this.pingTimer);
        const lost = new Error('connection lost');
        for (const [, o] of this.outgoing) o.cb(lost);
        this.outgoing.clear();
        for (const [, r] of this.requests) r.reject(lost);
        this.requests.clear();
        if (!settled) fail(new Error('connection closed before CONNACK'));
        if (was) this.on.disconnected(conn, undefined);
        if (!this.ending && was) this.scheduleReconnect();
      });
    });
  }

  private scheduleReconnect(): void {
    if (this.reconnecting) return;
    this.reconnecting = true;
    this.reconnectTimer = this.cfg.clock.setTimeout(() => {
      this.reconnecting = false;
      if (this.ending) return;
      this.dial().catch(() => {
        if (!this.ending) this.scheduleReconnect();
      });
    }, this.cfg.reconnectPeriodMs);
  }

  /** Keep-alive (MQTT §3.1.2.10): a PINGREQ when nothing was sent for half the period; a broker that does not answer within the period is gone. */
  private armPing(): void {
    const ms = this.cfg.keepaliveSeconds * 1000;
    if (ms === 0) return;
    const { clock } = this.cfg;
    const tick = (): void => {
      if (!this.connected) return;
      const now = clock.now();
      // While paused the PINGRESP sits unread in the socket: only an unpaused consumer judges the broker.
      if (this.pingSentAt !== undefined && !this.paused && now - this.pingSentAt > ms) {
        this.socket?.destroy();
        return;
      }
      if (now - this.lastWrite >= ms / 2) {
        this.send({ cmd: 'pingreq' } as Packet);
        this.pingSentAt ??= now;
      }
      this.pingTimer = clock.setTimeout(tick, ms / 2);
      (this.pingTimer as { unref?: () => void }).unref?.();
    };
    this.pingTimer = clock.setTimeout(tick, ms / 2);
    (this.pingTimer as { unref?: () => void }).unref?.();
  }

  private packet(p: Packet): void {
    switch (p.cmd) {
      case 'publish':
        this.on.publish(p, this.conn);
        return;
      case 'pingresp':
        this.pingSentAt = undefined;
        return;
      case 'puback':
      case 'pubcomp': {
        const o = this.outgoing.get(p.messageId ?? -1);
        if (o === undefined) return;
        this.outgoing.delete(p.messageId as number);
        const rc = (p as { reasonCode?: number }).reasonCode ?? 0;
        o.cb(rc >= 0x80 ? new Error(`publish refused by the broker (reason ${rc})`) : undefined);
        return;
      }
      case 'pubrec': {
        const o = this.outgoing.get(p.messageId ?? -1);
        if (o !== undefined) o.released = true;
        this.send({ cmd: 'pubrel', messageId: p.messageId } as Packet);
        return;
      }
      case 'suback':
      case 'unsuback': {
        const r = this.requests.get(p.messageId ?? -1);
        if (r === undefined) return;
        this.requests.delete(p.messageId as number);
        r.resolve(p);
        return;
      }
      case 'disconnect':
        this.socket?.destroy(); // the broker ends the connection (MQTT 5 server DISCONNECT)
        return;
      default:
        return;
    }
  }
}
