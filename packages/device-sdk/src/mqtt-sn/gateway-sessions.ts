// The gateway's table of session machines and the I/O around each: lookup by peer (address,
// port and forwarded node, MQTT-SN 1.2 §5.5) and by client id, one MachineDriver per session
// (its datagrams to the transport, its events to the gateway, one clock timer at its next
// deadline), re-keying a client that comes back from a new address (§6.14). Internal.
import type { MqttSnMessage } from './messages.js';
import { Session, type SessionEvent, type SessionHost } from './gateway-session.js';
import type { Clock } from '../transports/clock.js';
import type { DatagramPeer } from '../transports/datagram.js';
import { MachineDriver } from '../transports/sansio.js';

type Wrap = ((x: MqttSnMessage) => MqttSnMessage) | undefined;

/** A session's table key: the peer's address and port, and the forwarded node's id (§5.5). */
export function peerKey(p: DatagramPeer, node?: Uint8Array): string {
  return node === undefined ? `${p.address}:${p.port}` : `${p.address}:${p.port}/${Buffer.from(node).toString('hex')}`;
}

export class SessionTable {
  /** By peer key. */
  readonly byKey = new Map<string, Session>();
  readonly byClientId = new Map<string, Session>();
  private readonly drivers = new Map<Session, MachineDriver<SessionEvent>>();
  private retransmissionsOfClosed = 0;

  constructor(
    private readonly host: SessionHost,
    private readonly clock: Clock,
    private readonly send: (bytes: Uint8Array | readonly Uint8Array[], to: DatagramPeer) => void,
    private readonly onEvent: (s: Session, e: SessionEvent) => void,
  ) {}

  /** A new session in the table (it replaces nothing: the caller removed what it replaces). */
  create(clientId: string, from: DatagramPeer, key: string, wrap: Wrap): Session {
    const s = new Session(clientId, from, key, this.host, wrap);
    this.drivers.set(s, new MachineDriver(s, this.clock, (d) => this.send(d.bytes, d.to ?? s.peer), (e) => this.onEvent(s, e)));
    this.byKey.set(key, s);
    this.byClientId.set(clientId, s);
    return s;
  }

  /** Sends what the session queued, acts on its events, re-arms its one timer. */
  flush(s: Session): void {
    this.drivers.get(s)?.flush();
  }

  /** The client is back from another address (or forwarder): answer it there. */
  rekey(s: Session, from: DatagramPeer, key: string, wrap: Wrap): void {
    if (s.key === key) return;
    this.byKey.delete(s.key);
    s.key = key;
    s.peer = from;
    s.wrap = wrap;
    this.byKey.set(key, s);
  }

  /** Stops the session and takes it out of the table; operations waiting on it end with CLOSED. */
  drop(s: Session): void {
    this.retransmissionsOfClosed += s.xs.retransmissions;
    s.stop(this.clock.now());
    this.flush(s);
    this.drivers.get(s)?.stop();
    this.drivers.delete(s);
    if (this.byKey.get(s.key) === s) this.byKey.delete(s.key);
    if (this.byClientId.get(s.clientId) === s) this.byClientId.delete(s.clientId);
  }

  /** Stops every session (the gateway closes); returns them. */
  dropAll(): Session[] {
    const all = [...new Set(this.byKey.values())];
    for (const s of all) this.drop(s);
    this.byKey.clear();
    this.byClientId.clear();
    return all;
  }

  /** Retransmissions of all sessions, closed ones included. */
  retransmissions(): number {
    let rt = this.retransmissionsOfClosed;
    for (const s of this.byKey.values()) rt += s.xs.retransmissions;
    return rt;
  }
}
