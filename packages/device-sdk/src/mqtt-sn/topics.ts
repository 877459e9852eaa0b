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

/** A two-way map of topic names and registered ids (1…65535) for one client. */
export class TopicRegistry {
  private readonly byName = new Map<string, number>();
  private readonly byId = new Map<number, string>();
  private next = 1;

  idOf(name: string): number | undefined {
    return this.byName.get(name);
  }
  nameOf(id: number): string | undefined {
    return this.byId.get(id);
  }
  /** Stores a known pair (the other side assigned the id). */
  set(name: string, id: number): void {
    this.byName.set(name, id);
    this.byId.set(id, name);
  }
  /** Returns the id for `name`, assigning the next free one if new. */
  assign(name: string): number {
    const have = this.byName.get(name);
    if (have !== undefined) return have;
    while (this.byId.has(this.next) || this.next === 0 || this.next === 0xffff) this.next = (this.next % 0xfffe) + 1;
    const id = this.next;
    this.next = (this.next % 0xfffe) + 1;
    this.set(name, id);
    return id;
  }
  clear(): void {
    this.byName.clear();
    this.byId.clear();
  }
}
