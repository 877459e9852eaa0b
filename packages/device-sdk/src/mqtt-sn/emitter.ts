// A small typed event emitter; listener failures are collected and reported together. Internal.

export type Listener<T> = (value: T) => void;

export class Emitter<E extends Record<string, unknown>> {
  private readonly listeners = new Map<keyof E, Set<Listener<never>>>();

  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => { set.delete(listener as Listener<never>); };
  }

  emit<K extends keyof E>(event: K, value: E[K]): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    const errors: unknown[] = [];
    for (const l of [...set]) {
      try { (l as Listener<E[K]>)(value); } catch (e) { errors.push(e); }
    }
    if (errors.length > 0) queueMicrotask(() => { throw errors.length === 1 ? errors[0] : new AggregateError(errors, `${errors.length} ${String(event)} listeners failed`); });
  }
}
