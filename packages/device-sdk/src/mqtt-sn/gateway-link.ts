// The gateway's default broker link: one MQTT session per MQTT-SN client on a socket it owns,
// with mqtt-packet (MQTT.js's codec) for the rare packets and hand-written framing for the hot
// ones. Profiled at 10 clients, MQTT.js's per-publish machinery (its outgoing store, debug
// calls, the writable stream it writes each packet through in pieces and uncorks on the next
// tick, its event emitters) cost about as much CPU as the gateway itself; here a forwarded QoS 1
// PUBLISH is one Buffer and one socket write, its PUBACK a Map lookup by packet identifier.
// Internal.
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { reasonText } from '../error-map.js';
import type { Clock } from '../transports/clock.js';
import { MqttSnError } from './errors.js';
import type { BrokerConnectRequest, BrokerLink, BrokerLinkHandlers, GatewayBrokerOptions } from './gateway-broker.js';
import { ackPacket, DISCONNECT, PINGREQ, publishPacket } from './gateway-link-packets.js';
import { SecureContextCache } from './gateway-tls.js';
import { ReturnCode } from './messages.js';

type Done = (err?: Error) => void;

interface Request {
  readonly resolve: (p: Packet) => void;
  readonly reject: (e: Error) => void;
}

function notConnected(what: string): MqttSnError {
  return new MqttSnError('NOT_CONNECTED', `broker link: ${what}: the broker connection is closed`);
}

/**
 * Opens one broker session: TLS (or plain TCP with `insecure`), TCP_NODELAY, CONNECT, and
 * resolves on CONNACK 0. Rejects with MqttSnError: `REJECTED` when the broker refused the
 * CONNECT (its reason in the message; returnCode 1 for a busy or unavailable broker, else 3) or
 * it cannot be sent (returnCode 3), `NETWORK_ERROR` for socket/TLS errors and for no CONNACK
 * within `connectTimeoutMs`.
 */
export function openBrokerLink(b: GatewayBrokerOptions, r: BrokerConnectRequest, clock: Clock, contexts: SecureContextCache = new SecureContextCache(1), coalesce = false): Promise<BrokerLink> {
  return new LeanBrokerLink(b.protocolVersion ?? 4, Math.max(0, Math.min(r.keepAliveS, 65535)), clock, coalesce).open(b, r, contexts);
}

class LeanBrokerLink implements BrokerLink {
  private socket: Socket | undefined;
  private h: BrokerLinkHandlers | undefined;
  private connected = false;
  private closed = false;
  private ending = false;
  /** Bytes of an unfinished packet, and how many its packet needs in all (0: header unread). */
  private rest: Buffer[] = [];
  private restBytes = 0;
  private restNeed = 0;
  private nextId = 1;
  private readonly outgoing = new Map<number, Done>();
  private readonly requests = new Map<number, Request>();
  /** QoS 2 messages in whose PUBREL has not come yet (MQTT 3.1.1 §4.3.3 method B: delivered once). */
  private readonly awaitingRel = new Set<number>();
  private readonly parser: ReturnType<typeof mqttPacket.parser>;
  private writes = 0;
  private writesAtTick = 0;
  private pingSentAt: number | undefined;
  private pingTimer: unknown;
  private topic = '';
  private topicBytes = Buffer.alloc(0);
  /** With `coalesce`: the packets written in this turn of the event loop, sent as one write at its end. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /** `coalesce`: one socket write per event-loop turn (the aggregating gateway: many clients' PUBLISHes on one connection). */
  constructor(private readonly version: 4 | 5, private readonly keepAliveS: number, private readonly clock: Clock, private readonly coalesce = false) {
    this.parser = mqttPacket.parser({ protocolVersion: version });
  }

  open(b: GatewayBrokerOptions, r: BrokerConnectRequest, contexts: SecureContextCache): Promise<BrokerLink> {
    const url = new URL(b.url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const plain = url.protocol === 'mqtt:';
    const port = Number(url.port || (plain ? 1883 : 8883));
    const ca = b.ca === undefined ? undefined : (Array.isArray(b.ca) ? b.ca : [b.ca]) as ReadonlyArray<string | Uint8Array>;
    const connect = {
      cmd: 'connect', protocolId: 'MQTT', protocolVersion: this.version, clean: r.clean, clientId: r.clientId, keepalive: this.keepAliveS,
      ...(r.will !== undefined ? { will: { topic: r.will.topic, payload: Buffer.from(r.will.payload), qos: r.will.qos, retain: r.will.retain } } : {}),
    } as Packet;
    let connectBytes: Buffer;
    try {
      connectBytes = mqttPacket.generate(connect, { protocolVersion: this.version });
    } catch (e) {
      // e.g. an empty client id without a clean session (MQTT 3.1.1 §3.1.3.1): no socket opened
      return Promise.reject(new MqttSnError('REJECTED', `broker link: cannot send CONNECT for "${r.clientId}": ${(e as Error).message}`, { returnCode: ReturnCode.NotSupported, cause: e }));
    }
    const socket = plain
      ? netConnect({ host, port })
      // One SecureContext per credential set, not one per connect (gateway-tls.ts).
      : tlsConnect({ host, port, rejectUnauthorized: true, minVersion: 'TLSv1.2', ...(isIP(host) === 0 ? { servername: host } : {}), secureContext: contexts.get(ca, r.creds?.cert, r.creds?.key) });
    // Nagle + delayed ACK stall a QoS 1 PUBLISH queued behind small writes by ~40 ms: off.
    socket.setNoDelay(true);
    this.socket = socket;
    socket.write(connectBytes); // buffered until TLS is up
    return new Promise<BrokerLink>((resolve, reject) => {
      let settled = false;
      const fail = (e: Error): void => {
        if (settled) return;
        settled = true;
        this.clock.clearTimer(timer);
        socket.destroy();
        reject(e);
      };
      const timer = this.clock.setTimer(() => fail(new MqttSnError('NETWORK_ERROR', `broker link ${r.clientId}: no CONNACK within ${b.connectTimeoutMs ?? 10_000} ms`)), b.connectTimeoutMs ?? 10_000);
      this.parser.on('error', (e: Error) => this.abort(new MqttSnError('MALFORMED', `broker link ${r.clientId}: ${e.message}`, { cause: e })));
      this.parser.on('packet', (p: Packet) => {
        if (this.connected) return this.control(p);
        if (p.cmd !== 'connack') return fail(new MqttSnError('MALFORMED', `broker link ${r.clientId}: expected CONNACK, got ${p.cmd}`));
        // MQTT 3.1.1 §3.2.2.3 returnCode / MQTT 5 §3.2.2.2 reasonCode: 0 accepts.
        const c = p as { reasonCode?: number; returnCode?: number };
        const code = c.reasonCode ?? c.returnCode ?? 0;
        if (code !== 0) {
          // Server unavailable / busy / quota / rate (3.1.1: 3; MQTT 5: 0x88, 0x89, 0x97, 0x9f) is worth retrying: "congestion".
          const busy = this.version === 4 ? code === 3 : code === 0x88 || code === 0x89 || code === 0x97 || code === 0x9f;
          return fail(new MqttSnError('REJECTED', `broker refused the connection for ${r.clientId}: ${reasonText(code, this.version)}`, { returnCode: busy ? ReturnCode.Congestion : ReturnCode.NotSupported }));
        }
        settled = true;
        this.clock.clearTimer(timer);
        this.connected = true;
        this.armPing();
        resolve(this);
      });
      socket.on('data', (d: Buffer) => this.onData(d));
      socket.on('error', (e: Error) => {
        const err = new MqttSnError('NETWORK_ERROR', `broker link ${r.clientId}: ${e.message}`, { cause: e });
        if (!settled) fail(err);
        else if (!this.ending) this.h?.error(err);
      });
      socket.on('close', () => {
        fail(new MqttSnError('NETWORK_ERROR', `broker link ${r.clientId}: connection closed before CONNACK`));
        this.onClose();
      });
    });
  }

  listen(h: BrokerLinkHandlers): void {
    this.h = h;
  }

  publish(topic: string, payload: Uint8Array, qos: 0 | 1 | 2, retain: boolean): Promise<void> {
    return new Promise((resolve, reject) => this.publishCallback(topic, payload, qos, retain, (e) => (e === undefined ? resolve() : reject(e))));
  }

  publishCallback(topic: string, payload: Uint8Array, qos: 0 | 1 | 2, retain: boolean, done: Done): void {
    if (!this.connected) {
      queueMicrotask(() => done(notConnected('PUBLISH')));
      return;
    }
    if (qos === 0) {
      this.write(publishPacket(this.topicOf(topic), payload, 0, retain, 0, this.version));
      done();
      return;
    }
    const id = this.freeId();
    if (id === undefined) {
      queueMicrotask(() => done(new MqttSnError('REJECTED', 'broker link: 65,535 packet identifiers in use', { returnCode: ReturnCode.Congestion })));
      return;
    }
    this.outgoing.set(id, done);
    this.write(publishPacket(this.topicOf(topic), payload, qos, retain, id, this.version));
  }

  async subscribe(filter: string, qos: 0 | 1 | 2): Promise<number> {
    const suback = await this.request({ cmd: 'subscribe', subscriptions: [{ topic: filter, qos }] } as Packet);
    const g = (suback as { granted?: Array<number | { qos: number }> }).granted?.[0];
    return typeof g === 'number' ? g : (g?.qos ?? 0x80);
  }

  async unsubscribe(filter: string): Promise<void> {
    await this.request({ cmd: 'unsubscribe', unsubscriptions: [filter] } as Packet);
  }

  end(abrupt: boolean): Promise<void> {
    const socket = this.socket;
    this.ending = true;
    this.clock.clearTimer(this.pingTimer);
    if (socket === undefined || this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      // abrupt: no DISCONNECT, so the broker publishes the will (MQTT 3.1.1 §3.1.2.5)
      if (abrupt || !this.connected) {
        socket.destroy();
        return;
      }
      this.flushPending();
      socket.end(DISCONNECT);
      // A broker that does not close its side within a second: close ours.
      const t = this.clock.setTimer(() => socket.destroy(), 1_000);
      socket.once('close', () => this.clock.clearTimer(t));
    });
  }

  // ------------------------------------------------------------ writing

  private write(b: Buffer): void {
    this.writes += 1;
    if (!this.coalesce || !this.connected) {
      this.socket?.write(b);
      return;
    }
    // The datagrams of one poll phase (libuv reads several per wake-up) each run their own
    // callback; setImmediate runs after all of them, so their PUBLISHes leave in one TLS record
    // and one syscall. TCP_NODELAY stays on: the batch is sent at once, not held for an ACK.
    if (this.pending.length === 0) setImmediate(this.flushPending);
    this.pending.push(b);
    this.pendingBytes += b.length;
  }

  private readonly flushPending = (): void => {
    const n = this.pending.length;
    if (n === 0) return;
    const out = n === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.closed) this.socket?.write(out);
  };

  /** The topic's bytes, kept for the next publish on the same topic. */
  private topicOf(topic: string): Buffer {
    if (topic !== this.topic) {
      this.topic = topic;
      this.topicBytes = Buffer.from(topic, 'utf8');
    }
    return this.topicBytes;
  }

  private freeId(): number | undefined {
    for (let i = 0; i < 65_535; i++) {
      const id = this.nextId;
      this.nextId = id === 65_535 ? 1 : id + 1;
      if (!this.outgoing.has(id) && !this.requests.has(id)) return id;
    }
    return undefined;
  }

  private request(packet: Packet): Promise<Packet> {
    if (!this.connected) return Promise.reject(notConnected(packet.cmd.toUpperCase()));
    const id = this.freeId();
    if (id === undefined) return Promise.reject(new MqttSnError('REJECTED', 'broker link: 65,535 packet identifiers in use', { returnCode: ReturnCode.Congestion }));
    (packet as { messageId?: number }).messageId = id;
    return new Promise<Packet>((resolve, reject) => {
      this.requests.set(id, { resolve, reject });
      this.write(mqttPacket.generate(packet, { protocolVersion: this.version }));
    });
  }

  /** Keep-alive (MQTT 3.1.1 §3.1.2.10): a PINGREQ when half a period passed without a write; no PINGRESP within a period ends the connection. */
  private armPing(): void {
    const ms = this.keepAliveS * 1000;
    if (ms === 0) return;
    this.pingTimer = this.clock.setTimer(() => {
      if (!this.connected) return;
      if (this.pingSentAt !== undefined && this.clock.now() - this.pingSentAt >= ms) {
        this.abort(new MqttSnError('NETWORK_ERROR', `broker link: no PINGRESP within the keep-alive of ${this.keepAliveS} s`));
        return;
      }
      if (this.writes === this.writesAtTick) {
        this.write(PINGREQ);
        this.pingSentAt ??= this.clock.now();
      }
      this.writesAtTick = this.writes;
      this.armPing();
    }, ms / 2);
  }

  // ------------------------------------------------------------ reading

  /** Splits the stream into packets (§2.2: fixed header, Remaining Length); acknowledgements and PUBLISH are read here, the rest by mqtt-packet. */
  private onData(chunk: Buffer): void {
    let buf = chunk;
    if (this.rest.length > 0) {
      // A large packet arrives in many reads: joined once it is complete, not once per read.
      this.rest.push(chunk);
      this.restBytes += chunk.length;
      if (this.restBytes < this.restNeed) return;
      buf = Buffer.concat(this.rest, this.restBytes);
      this.rest = [];
      this.restBytes = 0;
    }
    let off = 0;
    while (off < buf.length) {
      let len = 0;
      let mul = 1;
      let i = off + 1;
      let byte: number;
      do {
        if (i >= buf.length) return this.keep(buf.subarray(off), 0);
        byte = buf[i++] as number;
        len += (byte & 0x7f) * mul;
        mul *= 128;
        if (mul > 128 ** 4) return this.abort(new MqttSnError('MALFORMED', 'broker link: Remaining Length over 4 bytes (MQTT §2.2.3)'));
      } while (byte & 0x80);
      const end = i + len;
      if (end > buf.length) return this.keep(buf.subarray(off), end - off);
      this.packet(buf, off, i, end);
      if (this.closed) return;
      off = end;
    }
  }

  private keep(part: Buffer, need: number): void {
    this.rest = [part];
    this.restBytes = part.length;
    this.restNeed = need;
  }

  private packet(buf: Buffer, start: number, body: number, end: number): void {
    const type = (buf[start] as number) >> 4;
    const id = end - body >= 2 ? ((buf[body] as number) << 8) | (buf[body + 1] as number) : -1;
    // MQTT 5: a reason code follows the id when the remaining length is over 2 (§3.4.2.1); 3.1.1 has none.
    const rc = end - body > 2 ? (buf[body + 2] as number) : 0;
    if (type === 4 || type === 7) this.acknowledged(id, rc); // PUBACK, PUBCOMP
    else if (type === 5) {
      // PUBREC: PUBREL follows unless the broker refused (§4.3.3)
      if (rc >= 0x80) this.acknowledged(id, rc);
      else this.write(ackPacket(0x62, id));
    } else if (type === 6) {
      this.awaitingRel.delete(id);
      this.write(ackPacket(0x70, id)); // PUBREL → PUBCOMP
    } else if (type === 3) this.inbound(buf, start, body, end);
    else if (type === 13) this.pingSentAt = undefined; // PINGRESP
    else this.parser.parse(buf.subarray(start, end));
  }

  private acknowledged(id: number, rc: number): void {
    const done = this.outgoing.get(id);
    if (done === undefined) return;
    this.outgoing.delete(id);
    // MQTT 5 §2.4: a reason code ≥ 0x80 (e.g. 0x87 not authorized) is a final refusal.
    if (rc >= 0x80) done(new MqttSnError('REJECTED', `broker refused the PUBLISH: ${reasonText(rc, 5)}`, { returnCode: ReturnCode.NotSupported }));
    else done();
  }

  /** A PUBLISH from the broker (§3.3): the payload is a view of the read buffer. */
  private inbound(buf: Buffer, start: number, body: number, end: number): void {
    const flags = (buf[start] as number) & 0x0f;
    const qos = (flags >> 1) & 3;
    const tlen = ((buf[body] as number) << 8) | (buf[body + 1] as number);
    let p = body + 2 + tlen;
    const topic = buf.toString('utf8', body + 2, p);
    let id = 0;
    if (qos > 0) {
      id = ((buf[p] as number) << 8) | (buf[p + 1] as number);
      p += 2;
    }
    if (this.version === 5) {
      // §3.3.2.3 properties: skipped (no topic aliases are offered to the broker)
      let plen = 0;
      let mul = 1;
      let byte: number;
      do {
        byte = buf[p++] as number;
        plen += (byte & 0x7f) * mul;
        mul *= 128;
      } while (byte & 0x80 && mul <= 128 ** 3);
      p += plen;
    }
    if (p > end || qos === 3) return this.abort(new MqttSnError('MALFORMED', 'broker link: PUBLISH shorter than its header'));
    const payload = new Uint8Array(buf.buffer, buf.byteOffset + p, end - p);
    const retain = (flags & 1) === 1;
    if (qos === 2) {
      this.write(ackPacket(0x50, id)); // PUBREC
      if (this.awaitingRel.has(id)) return; // a duplicate before PUBREL: already delivered
      this.awaitingRel.add(id);
    } else if (qos === 1) this.write(ackPacket(0x40, id));
    this.h?.message(topic, payload, qos as 0 | 1 | 2, retain);
  }

  /** The rare packets, parsed by mqtt-packet. */
  private control(p: Packet): void {
    if (p.cmd === 'suback' || p.cmd === 'unsuback') {
      const r = this.requests.get(p.messageId ?? -1);
      if (r === undefined) return;
      this.requests.delete(p.messageId as number);
      r.resolve(p);
    } else if (p.cmd === 'disconnect') {
      const rc = (p as { reasonCode?: number }).reasonCode;
      this.abort(new MqttSnError('NETWORK_ERROR', `broker sent DISCONNECT${rc !== undefined ? ` (${reasonText(rc, 5)})` : ''}`));
    }
  }

  private abort(e: Error): void {
    if (!this.ending) this.h?.error(e);
    this.socket?.destroy();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    const was = this.connected;
    this.connected = false;
    this.clock.clearTimer(this.pingTimer);
    // What was in flight is answered first (the client hears "congestion"), then the close.
    const outs = [...this.outgoing.values()];
    this.outgoing.clear();
    for (const done of outs) done(notConnected('PUBLISH'));
    const reqs = [...this.requests.values()];
    this.requests.clear();
    for (const r of reqs) r.reject(notConnected('request'));
    if (was) this.h?.close();
  }
}
