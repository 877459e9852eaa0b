/**
 * Events a buffer reports, a union on `type`:
 * - `quarantine`: a segment failed validation outside the newest segment's tail; it was renamed
 *   to `<name>.quarantine` and delivery continued with the next segment.
 * - `truncate`: the newest segment ended in a torn or CRC-failing record (a crash mid-write);
 *   the file was cut at `offset`.
 * - `damage`: bytes `offset..offset+bytes` of a segment failed validation and valid records follow
 *   them (corruption, not a torn tail): they are skipped in place — never delivered, kept in the
 *   file for forensics (`outpost buffer export`) — and reading continues after them.
 * - `lost`: records `firstSeq..lastSeq` cannot be recovered (damaged frames, a missing or
 *   quarantined segment, a destroyed tail below the high-water mark); `count` of them, each
 *   counted once per open in `stats().lostRecords`.
 * - `drop`: overflow policy `'drop-oldest'` discarded unacknowledged records `firstSeq..lastSeq`.
 * - `error`: a background step failed (checkpoint write, segment delete, a throwing listener).
 *
 * @example
 * ```ts
 * import type { BufferEvent } from '@outpost/edge-buffer';
 * function log(e: BufferEvent): string {
 *   switch (e.type) {
 *     case 'drop': return `dropped ${e.count} records`;
 *     case 'quarantine': return `quarantined ${e.file}: ${e.reason}`;
 *     case 'truncate': return `truncated ${e.file} at ${e.offset}`;
 *     case 'damage': return `skipped ${e.bytes} damaged bytes of ${e.file} at ${e.offset}`;
 *     case 'lost': return `lost seq ${e.firstSeq}..${e.lastSeq}: ${e.reason}`;
 *     case 'error': return e.error.message;
 *   }
 * }
 * ```
 */
export type BufferEvent =
  | { type: 'quarantine'; file: string; reason: string; offset: number; during: 'recovery' | 'read' }
  | { type: 'truncate'; file: string; offset: number; bytes: number; reason: string }
  | { type: 'damage'; file: string; offset: number; bytes: number; reason: string; during: 'recovery' | 'read' }
  | { type: 'lost'; firstSeq: number; lastSeq: number; count: number; reason: string; during: 'recovery' | 'read' }
  | { type: 'drop'; count: number; firstSeq: number; lastSeq: number }
  | { type: 'error'; error: Error };

/**
 * Names of {@link BufferEvent} variants.
 *
 * @example
 * ```ts
 * import type { BufferEventType } from '@outpost/edge-buffer';
 * const watched: BufferEventType[] = ['quarantine', 'drop'];
 * ```
 */
export type BufferEventType = BufferEvent['type'];

/**
 * Listener for one event type.
 *
 * @example
 * ```ts
 * import type { BufferEventListener } from '@outpost/edge-buffer';
 * const onDrop: BufferEventListener<'drop'> = (e) => console.warn(`dropped ${e.count} (seq ${e.firstSeq}..${e.lastSeq})`);
 * ```
 */
export type BufferEventListener<T extends BufferEventType> = (event: Extract<BufferEvent, { type: T }>) => void;

type AnyListener = (event: BufferEvent) => void;

/** Minimal typed emitter; listener exceptions are collected and re-emitted as one `error` event. */
export class Emitter {
  readonly #listeners = new Map<BufferEventType, Set<AnyListener>>();
  readonly #sink: AnyListener | undefined;

  constructor(sink: AnyListener | undefined) {
    this.#sink = sink;
  }

  on<T extends BufferEventType>(type: T, listener: BufferEventListener<T>): () => void {
    let set = this.#listeners.get(type);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    const l = listener as AnyListener;
    set.add(l);
    return () => {
      set.delete(l);
    };
  }

  emit(event: BufferEvent): void {
    const errors: unknown[] = [];
    const targets: AnyListener[] = [];
    if (this.#sink !== undefined) targets.push(this.#sink);
    const set = this.#listeners.get(event.type);
    if (set !== undefined) targets.push(...set);
    for (const l of targets) {
      try {
        l(event);
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0 && event.type !== 'error') {
      this.emit({ type: 'error', error: new AggregateError(errors, `${errors.length} '${event.type}' listener(s) threw`) });
    }
  }
}
