/**
 * Joins the points of the messages handed to the pipeline in one turn of the event loop (the
 * PUBLISHes parsed from one socket read) into one delivery write, so a sink sees one `write` per
 * group instead of one per message, and the group's messages share one promise: no promise,
 * closure or suspended async function per message lives while its batch commits, so there is
 * less for the garbage collector to copy (the end-to-end profile spent 30–40 % of its time in
 * GC, nearly all of it copying what in-flight messages kept alive). Each message still gets its
 * own outcome (see {@link Delivery.writeGroup}); the owner's `finish` turns the verdicts into
 * outcomes. Internal.
 */
import type { Delivery, DeliveryFailure } from './delivery.js';
import type { TelemetryPoint } from './types.js';

/** One verdict per message of a group (`undefined` = delivered), or `undefined` when all were delivered. */
export type Verdicts = readonly (DeliveryFailure | undefined)[] | undefined;

/**
 * Turns a group's verdicts (or the error its write rejected with) into the outcomes of its
 * messages (`tags` in the order they were added). Resolves when every message has its outcome;
 * rejects when one of them cannot be acknowledged — the group's promise then rejects.
 */
export type FinishGroup<T> = (tags: readonly T[], verdicts: Verdicts, error?: unknown) => Promise<void> | void;

class Group<T> {
  readonly messages: (readonly TelemetryPoint[])[] = [];
  readonly tags: T[] = [];
  points = 0;
  sent = false;
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (e: unknown) => void;
  constructor() {
    this.done = new Promise<void>((resolve, reject) => {
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
export class WriteGroups<T> {
  private open: Group<T> | undefined;
  /** Messages released in this turn of the event loop. */
  private released = 0;
  private turnScheduled = false;
  private readonly ready: { g: Group<T>; error: unknown; failed: boolean }[] = [];

  constructor(
    private readonly delivery: Delivery,
    /** A group is sent as soon as it holds this many points. */
    private readonly maxPoints: number,
    private readonly releasePerTurn: number,
    private readonly finish: FinishGroup<T>,
  ) {}

  /**
   * Adds one message's points to the open group (sent at the end of this turn, or at once when
   * full). Returns the group's promise, shared by its messages: it resolves when every message
   * of the group has its outcome, and rejects when `finish` said one of them cannot be
   * acknowledged.
   */
  add(points: readonly TelemetryPoint[], tag: T): Promise<void> {
    let g = this.open;
    if (g === undefined) {
      const opened = new Group<T>();
      this.open = g = opened;
      setImmediate(() => this.send(opened)); // after this turn's reads: TLS hands up one PUBLISH per record
    }
    g.messages.push(points);
    g.tags.push(tag);
    g.points += points.length;
    if (g.points >= this.maxPoints) this.send(g);
    return g.done;
  }

  /** Sends the open group now (before a flush or a close, so it includes every message handed in). */
  sendOpen(): void {
    if (this.open !== undefined) this.send(this.open);
  }

  private send(g: Group<T>): void {
    if (g.sent) return;
    g.sent = true;
    if (this.open === g) this.open = undefined;
    this.delivery
      .writeGroup(g.messages)
      .then(
        (v) => this.finish(g.tags, v),
        (e: unknown) => this.finish(g.tags, undefined, e),
      )
      .then(
        () => this.settle(g, undefined, false),
        (e: unknown) => this.settle(g, e, true),
      );
  }

  private settle(g: Group<T>, error: unknown, failed: boolean): void {
    if (this.ready.length === 0 && this.released < this.releasePerTurn) {
      this.released += g.messages.length;
      release(g, error, failed);
    } else {
      this.ready.push({ g, error, failed });
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
        const { g, error, failed } = this.ready.shift() as { g: Group<T>; error: unknown; failed: boolean };
        this.released += g.messages.length;
        release(g, error, failed);
      }
      if (this.ready.length > 0 || this.released > 0) this.nextTurn();
    });
  }
}

function release<T>(g: Group<T>, error: unknown, failed: boolean): void {
  if (failed) g.reject(error);
  else g.resolve();
}
