/**
 * Joins the points of the messages handed to the pipeline in one turn of the event loop (the
 * PUBLISHes parsed from one socket read) into one delivery write, so a sink sees one `write` per
 * group instead of one per message: fewer promises, closures and batcher calls per message, less
 * for the garbage collector to copy while batches commit. Each message still gets its own
 * outcome (see {@link Delivery.writeGroup}). Internal.
 */
import type { Delivery, DeliveryFailure } from './delivery.js';
import type { TelemetryPoint } from './types.js';

type Verdicts = readonly (DeliveryFailure | undefined)[] | undefined;

class Group {
  readonly messages: (readonly TelemetryPoint[])[] = [];
  points = 0;
  sent = false;
  readonly done: Promise<Verdicts>;
  resolve!: (v: Verdicts) => void;
  reject!: (e: unknown) => void;
  constructor() {
    this.done = new Promise<Verdicts>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/**
 * The open group of a pipeline; see the file comment. Outcomes are released at most
 * `releasePerTurn` messages per turn of the event loop: a committed batch of 10,000 messages
 * would otherwise run every message's acknowledgement in one burst of microtasks, and the
 * socket (with the next messages and their alerts) would wait behind it. Smaller bursts settle at
 * once, as before.
 */
export class WriteGroups {
  private open: Group | undefined;
  /** Messages released in this turn of the event loop. */
  private released = 0;
  private turnScheduled = false;
  private readonly ready: { g: Group; v: Verdicts }[] = [];

  constructor(
    private readonly delivery: Delivery,
    /** A group is sent as soon as it holds this many points. */
    private readonly maxPoints: number,
    private readonly releasePerTurn: number,
  ) {}

  /**
   * Adds one message's points to the open group (sent at the end of this turn, or at once when
   * full); resolves with that message's verdict (`undefined` = delivered).
   */
  async add(points: readonly TelemetryPoint[]): Promise<DeliveryFailure | undefined> {
    let g = this.open;
    if (g === undefined) {
      const opened = new Group();
      this.open = g = opened;
      queueMicrotask(() => this.send(opened));
    }
    const i = g.messages.push(points) - 1;
    g.points += points.length;
    if (g.points >= this.maxPoints) this.send(g);
    const verdicts = await g.done;
    return verdicts?.[i];
  }

  /** Sends the open group now (before a flush or a close, so it includes every message handed in). */
  sendOpen(): void {
    if (this.open !== undefined) this.send(this.open);
  }

  private send(g: Group): void {
    if (g.sent) return;
    g.sent = true;
    if (this.open === g) this.open = undefined;
    this.delivery.writeGroup(g.messages).then((v) => this.settle(g, v), g.reject);
  }

  private settle(g: Group, v: Verdicts): void {
    if (this.ready.length === 0 && this.released < this.releasePerTurn) {
      this.released += g.messages.length;
      g.resolve(v);
    } else {
      this.ready.push({ g, v });
    }
    this.nextTurn();
  }

  /** At the next turn: a new budget, and the queued outcomes released up to it. */
  private nextTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(() => {
      this.turnScheduled = false;
      this.released = 0;
      while (this.ready.length > 0 && this.released < this.releasePerTurn) {
        const { g, v } = this.ready.shift() as { g: Group; v: Verdicts };
        this.released += g.messages.length;
        g.resolve(v);
      }
      if (this.ready.length > 0 || this.released > 0) this.nextTurn();
    });
  }
}
