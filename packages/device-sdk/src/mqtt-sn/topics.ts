// Topic helpers shared by client and gateway. Internal.

/** MQTT topic filter matching (+ one level, # the rest), as the broker would. */
export function topicMatches(filter: string, topic: string): boolean {
  if (filter === topic) return true;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const part = f[i];
    if (part === '#') return !(i === 0 && topic.startsWith('$'));
    if (i >= t.length) return false;
    if (part === '+') {
      if (i === 0 && topic.startsWith('$')) return false;
      continue;
    }
    if (part !== t[i]) return false;
  }
  return f.length === t.length;
}

export function hasWildcard(s: string): boolean {
  return s.includes('+') || s.includes('#');
}

/** Topic ids a registry may hand out: 0x0001…0xFFFE (MQTT-SN 1.2 §5.3.11; 0x0000 and 0xFFFF are reserved). */
export const TOPIC_ID_SPACE = 0xfffe;

/**
 * A two-way map of topic names and registered ids (1…65534) for one client, holding at most
 * `limit` names. A full registry refuses (`assign` → undefined, `set` → false) instead of
 * searching: the caller answers "rejected: congestion" (MQTT-SN 1.2 §5.4.10 REGACK).
 */
export class TopicRegistry {
  private readonly byName = new Map<string, number>();
  private readonly byId = new Map<number, string>();
  private next = 1;

  constructor(readonly limit: number = TOPIC_ID_SPACE) {}

  get size(): number {
    return this.byName.size;
  }
  idOf(name: string): number | undefined {
    return this.byName.get(name);
  }
  nameOf(id: number): string | undefined {
    return this.byId.get(id);
  }
  /** Stores a pair the other side assigned; false (nothing stored) when a new name would exceed the limit. */
  set(name: string, id: number): boolean {
    const old = this.byName.get(name);
    if (old === undefined && this.byName.size >= this.limit) return false;
    if (old !== undefined) this.byId.delete(old);
    const other = this.byId.get(id);
    if (other !== undefined && other !== name) this.byName.delete(other);
    this.byName.set(name, id);
    this.byId.set(id, name);
    return true;
  }
  /** Returns the id for `name`, assigning the next free one if new; undefined when full. */
  assign(name: string): number | undefined {
    const have = this.byName.get(name);
    if (have !== undefined) return have;
    if (this.byName.size >= this.limit || this.byId.size >= TOPIC_ID_SPACE) return undefined;
    // A free id exists (size < 65534), so this scan ends within 65534 steps; ids only leave by
    // clear(), so in practice `next` is free at once.
    while (this.byId.has(this.next)) this.next = (this.next % TOPIC_ID_SPACE) + 1;
    const id = this.next;
    this.next = (this.next % TOPIC_ID_SPACE) + 1;
    this.set(name, id);
    return id;
  }
  clear(): void {
    this.byName.clear();
    this.byId.clear();
  }
}
