import { DeviceError } from './errors.js';

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * A bounded window of outstanding operations with a bounded FIFO of waiters: the
 * backpressure behind `publish`. Acquire a slot before handing a message to the
 * socket, release it when the message completed.
 */
export class InFlightWindow {
  private inFlight = 0;
  private open = false;
  private readonly waiters: Waiter[] = [];

  constructor(private readonly max: number, private readonly maxWaiting: number) {}

  /** Operations currently holding a slot. */
  get size(): number {
    return this.inFlight;
  }

  /** Operations waiting for a slot. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Whether an `acquire` would resolve at once. */
  get writable(): boolean {
    return this.open && this.inFlight < this.max && this.waiters.length === 0;
  }

  /** Opens (connected) or closes (offline) the window; waiters stay queued while closed. */
  setOpen(open: boolean): void {
    this.open = open;
    this.pump();
  }

  /** Takes a slot if one is free now, without a promise (the publish fast path). */
  tryAcquire(): boolean {
    if (!this.writable) return false;
    this.inFlight++;
    return true;
  }

  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) return Promise.reject(abortError(signal));
    if (this.writable) {
      this.inFlight++;
      return Promise.resolve();
    }
    if (this.waiters.length >= this.maxWaiting) {
      return Promise.reject(new DeviceError('QUEUE_FULL', `publish: ${this.waiters.length} publishes already wait for a slot (maxPending); await earlier publishes or use whenWritable()`));
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { resolve, reject, signal, onAbort: undefined };
      if (signal !== undefined) {
        w.onAbort = () => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(abortError(signal));
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.waiters.push(w);
    });
  }

  release(): void {
    if (this.inFlight > 0) this.inFlight--;
    this.pump();
  }

  /** Rejects every waiter (on close). */
  failAll(err: unknown): void {
    for (const w of this.waiters.splice(0)) {
      if (w.onAbort !== undefined) w.signal?.removeEventListener('abort', w.onAbort);
      w.reject(err);
    }
  }

  private pump(): void {
    while (this.open && this.inFlight < this.max && this.waiters.length > 0) {
      const w = this.waiters.shift() as Waiter;
      if (w.onAbort !== undefined) w.signal?.removeEventListener('abort', w.onAbort);
      this.inFlight++;
      w.resolve();
    }
  }
}

/** The typed error for an aborted operation. */
export function abortError(signal: AbortSignal): DeviceError {
  return new DeviceError('ABORTED', 'operation aborted by its AbortSignal', { cause: signal.reason });
}
