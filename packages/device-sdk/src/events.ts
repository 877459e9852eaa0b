/**
 * A small typed event emitter. Unlike Node's, an `error` event without listeners is
 * not thrown (the client also records it in `stats().lastError`), and listeners that
 * throw do not break the emitter: their errors are rethrown together, asynchronously,
 * as one `AggregateError`.
 */
export class TypedEmitter<Events extends { [K in keyof Events]: unknown[] }> {
  private readonly listeners = new Map<keyof Events, Array<(...args: unknown[]) => void>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: (...args: Events[K]) => void): () => void {
    const list = this.listeners.get(event) ?? [];
    list.push(listener as unknown as (...args: unknown[]) => void);
    this.listeners.set(event, list);
    return () => this.off(event, listener);
  }

  /** Adds a listener that runs at most once. */
  once<K extends keyof Events>(event: K, listener: (...args: Events[K]) => void): () => void {
    const off = this.on(event, (...args: Events[K]) => {
      off();
      listener(...args);
    });
    return off;
  }

  /** Removes a listener. */
  off<K extends keyof Events>(event: K, listener: (...args: Events[K]) => void): void {
    const list = this.listeners.get(event);
    if (list === undefined) return;
    const i = list.indexOf(listener as unknown as (...args: unknown[]) => void);
    if (i >= 0) list.splice(i, 1);
  }

  protected emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    const list = this.listeners.get(event);
    if (list === undefined || list.length === 0) return;
    const failures: unknown[] = [];
    for (const l of [...list]) {
      try {
        l(...(args as unknown[]));
      } catch (err) {
        failures.push(err);
      }
    }
    if (failures.length > 0) {
      queueMicrotask(() => {
        throw new AggregateError(failures, `${failures.length} "${String(event)}" listener(s) threw`);
      });
    }
  }
}
