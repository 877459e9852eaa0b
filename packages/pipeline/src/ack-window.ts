/**
 * The acknowledgement window of one MQTT connection: QoS 1 PUBLISHes are numbered in arrival
 * order, may complete in any order, and their PUBACKs are released strictly in arrival order —
 * a later message that is already durable waits for the earlier ones.
 *
 * MQTT 3.1.1 §4.6 and MQTT 5.0 §4.6 [MQTT-4.6.0-2]: the receiver "MUST send PUBACK packets in the
 * order in which the corresponding PUBLISH packets were received (QoS 1 messages)".
 */

/**
 * In-order release of acknowledgements. `push` numbers a message, `complete` marks it done, and
 * `release` is called for every packet id whose message and all earlier ones are done.
 *
 * @example
 * ```ts
 * import { AckWindow } from '@outpost/pipeline';
 * const sent: number[] = [];
 * const w = new AckWindow((id) => { sent.push(id); });
 * const a = w.push(7);
 * const b = w.push(8);
 * const c = w.push(9);
 * w.complete(c);
 * w.complete(b);
 * sent; // []
 * w.complete(a);
 * sent; // [7, 8, 9]
 * ```
 */
export class AckWindow {
  private ids: number[] = [];
  private done: boolean[] = [];
  /** Index in the arrays of the oldest unreleased message. */
  private start = 0;
  /** Sequence number of `ids[0]`. */
  private base = 0;

  constructor(private readonly release: (packetId: number) => void) {}

  /** Messages received and not yet released. */
  get size(): number {
    return this.ids.length - this.start;
  }

  /** Sequence number that the next {@link AckWindow.push} returns. */
  get next(): number {
    return this.base + this.ids.length;
  }

  /** Numbers a received QoS 1 PUBLISH; returns its sequence number for {@link AckWindow.complete}. */
  push(packetId: number): number {
    this.ids.push(packetId);
    this.done.push(false);
    return this.base + this.ids.length - 1;
  }

  /**
   * Marks a message done and releases every acknowledgement now due, oldest first. Returns false
   * for a sequence number that is not in the window (released already, or from before a reset).
   */
  complete(seq: number): boolean {
    const i = seq - this.base;
    if (i < this.start || i >= this.ids.length || this.done[i] === true) return false;
    this.done[i] = true;
    while (this.start < this.ids.length && this.done[this.start] === true) {
      this.release(this.ids[this.start] as number);
      this.start++;
    }
    if (this.start > 4096 && this.start * 2 > this.ids.length) this.compact();
    return true;
  }

  /** Forgets every unreleased message (the connection is gone; the broker redelivers them). */
  reset(): void {
    this.base += this.ids.length;
    this.ids = [];
    this.done = [];
    this.start = 0;
  }

  private compact(): void {
    this.base += this.start;
    this.ids = this.ids.slice(this.start);
    this.done = this.done.slice(this.start);
    this.start = 0;
  }
}
