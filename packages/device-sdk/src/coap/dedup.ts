/**
 * Deduplication of received messages (RFC 7252 §4.5): the message ids of CON messages are
 * remembered for EXCHANGE_LIFETIME with the reply sent (a duplicate gets the same ACK or RST
 * again), those of NON messages for NON_LIFETIME. Pure: time is passed in.
 */

/** Received message ids within their lifetimes. At most 2^16 of each kind (16-bit ids). */
export class Dedup {
  // Insertion order is expiry order: each kind has one constant lifetime.
  private readonly con = new Map<number, { expires: number; reply: Uint8Array | undefined }>();
  private readonly non = new Map<number, number>();

  constructor(private readonly exchangeLifetime: number, private readonly nonLifetime: number) {}

  /** Forgets every id whose lifetime ended at `now`. */
  sweep(now: number): void {
    for (const [mid, e] of this.con) {
      if (e.expires > now) break;
      this.con.delete(mid);
    }
    for (const [mid, exp] of this.non) {
      if (exp > now) break;
      this.non.delete(mid);
    }
  }

  /** For a CON id seen before: `{ reply }` (the ACK/RST to send again, if any); else undefined. */
  seenCon(mid: number): { reply: Uint8Array | undefined } | undefined {
    return this.con.get(mid);
  }

  /** Records a CON id with the reply sent for it. */
  rememberCon(mid: number, now: number, reply: Uint8Array | undefined): void {
    this.con.set(mid, { expires: now + this.exchangeLifetime, reply });
  }

  /** Whether a NON id is a duplicate; records it when it is not. */
  duplicateNon(mid: number, now: number): boolean {
    if (this.non.has(mid)) return true;
    this.non.set(mid, now + this.nonLifetime);
    return false;
  }

  /** Ids remembered now, per kind. */
  get size(): { con: number; non: number } {
    return { con: this.con.size, non: this.non.size };
  }
}
