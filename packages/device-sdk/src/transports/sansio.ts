/**
 * The one sans-I/O shape of the device side's datagram protocols (DESIGN.md "One time and I/O
 * model"): the MQTT-SN client, each MQTT-SN gateway session and the CoAP endpoint are state
 * machines. A datagram (`handleDatagram(bytes, now)`), a timer tick (`handleTimer(now)`) or a
 * command goes in; datagrams to send, events and the next timer deadline come out. No sockets,
 * no timers, no promises inside: a {@link MachineDriver} wires one to a Clock and a transport,
 * and a fuzzer drives one directly.
 */
import type { Clock } from './clock.js';
import type { DatagramPeer } from './datagram.js';

/** One datagram a machine wants sent (`to` undefined: its one peer). */
export interface OutDatagram {
  readonly bytes: Uint8Array | readonly Uint8Array[];
  readonly to?: DatagramPeer | undefined;
}

/**
 * A sans-I/O protocol state machine: inputs are datagrams, timer ticks and (machine-specific)
 * commands; outputs are taken with {@link SansIoMachine.poll} after each input.
 *
 * @example
 * ```ts
 * import { MqttSnClientMachine, type SansIoMachine } from '@outpost/device-sdk/mqtt-sn';
 * const m: SansIoMachine<unknown> = new MqttSnClientMachine({ clientId: 's1' });
 * m.nextDeadline(); // undefined
 * ```
 */
export interface SansIoMachine<E> {
  /** Feeds one received datagram; never throws for network input. */
  handleDatagram(bytes: Uint8Array, now: number, from?: DatagramPeer): void;
  /** Feeds the time; due timers fire. Call at or after {@link SansIoMachine.nextDeadline}. */
  handleTimer(now: number): void;
  /** The earliest time `handleTimer` has work, or undefined for none. */
  nextDeadline(): number | undefined;
  /** Hands over (and forgets) the datagrams to send and the events, in order. */
  poll(): { readonly datagrams: readonly OutDatagram[]; readonly events: readonly E[] };
}

/** The earlier of two optional deadlines (a machine's timers folded into its one `nextDeadline`). @internal */
export function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  return b === undefined || a < b ? a : b;
}

/** The output side of a machine: queued datagrams and events, handed over by `poll()`. @internal */
export class Outbox<E> {
  private datagrams: OutDatagram[] = [];
  private events: E[] = [];
  datagram(bytes: Uint8Array | readonly Uint8Array[], to?: DatagramPeer): void {
    this.datagrams.push(to === undefined ? { bytes } : { bytes, to });
  }
  event(e: E): void {
    this.events.push(e);
  }
  get empty(): boolean {
    return this.datagrams.length === 0 && this.events.length === 0;
  }
  poll(): { datagrams: OutDatagram[]; events: E[] } {
    const r = { datagrams: this.datagrams, events: this.events };
    if (r.datagrams.length > 0) this.datagrams = [];
    if (r.events.length > 0) this.events = [];
    return r;
  }
}

/**
 * Runs a machine on a real (or manual) {@link Clock} and a send function: after every input,
 * `flush()` sends what the machine queued, hands its events on, and keeps exactly one clock
 * timer armed at the machine's next deadline (never early: the clock's rule). @internal
 */
export class MachineDriver<E> {
  private timer: unknown;
  private armedAt: number | undefined;
  private stopped = false;

  constructor(
    private readonly machine: SansIoMachine<E>,
    private readonly clock: Clock,
    private readonly send: (d: OutDatagram) => void,
    private readonly onEvent: (e: E) => void,
  ) {}

  /** Sends, emits and re-arms; call after every input given to the machine. */
  flush(): void {
    if (this.stopped) return;
    const { datagrams, events } = this.machine.poll();
    for (const d of datagrams) {
      try {
        this.send(d);
      } catch {
        // a datagram that cannot be sent is lost like any other; retransmission deals with it
      }
    }
    for (const e of events) this.onEvent(e);
    this.arm();
  }

  private arm(): void {
    const at = this.machine.nextDeadline();
    // Lazy: a timer already armed for an earlier time stays (most inputs only push a deadline
    // later, e.g. a keep-alive watchdog); it fires, finds nothing due, and re-arms then.
    if (at === undefined || this.stopped || (this.armedAt !== undefined && this.armedAt <= at)) return;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.armedAt = at;
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      this.armedAt = undefined;
      this.machine.handleTimer(this.clock.now());
      this.flush();
    }, Math.max(0, at - this.clock.now()));
  }

  /** Cancels the timer; later flushes do nothing. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }
}
