/**
 * The dead-letter sink: where messages go that the pipeline cannot use (undecodable, wrong
 * schema, oversized) or that a sink refused for good (`SINK_REJECTED`). A sink that is down is
 * not a reason (the delivery holds and retries) unless `deadLetterAfterMs` is set. They never stop the pipeline;
 * each is kept with its reason, so it can be inspected and replayed.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { PipelineError, type PipelineErrorCode } from './errors.js';
import { assertFunction, assertObject, assertString, describe } from './validate.js';

/** One rejected message and why. */
export interface DeadLetter {
  readonly topic: string;
  readonly payload: Uint8Array;
  /** The error code that sent it here (`DECODE_FAILED`, `SCHEMA_INVALID`, `OVERSIZED`, `SINK_REJECTED`, `SINK_FAILED` after `deadLetterAfterMs`, …). */
  readonly reason: PipelineErrorCode;
  /** The error message: what was wrong, in words. */
  readonly detail: string;
  /** Arrival time, epoch ms. */
  readonly receivedAt: number;
  /** For `SINK_REJECTED` / `SINK_FAILED`: the sink that refused the points or was given up on. */
  readonly sink?: string | undefined;
}

/** Where dead letters go. `write` resolves when the letter is durable (the message is then acknowledged). */
export interface DeadLetterSink {
  readonly name: string;
  write(letter: DeadLetter): Promise<void>;
  close(): Promise<void>;
}

/**
 * A dead-letter sink that calls a function (which may return a promise; the message is
 * acknowledged when it settles). Useful for tests, metrics, or forwarding to your own queue.
 *
 * @example
 * ```ts
 * import { callbackDeadLetterSink } from '@outpost/pipeline';
 * const seen: string[] = [];
 * const sink = callbackDeadLetterSink((l) => { seen.push(l.reason); });
 * await sink.write({ topic: 'devices/x/telemetry', payload: new Uint8Array([1]), reason: 'DECODE_FAILED', detail: 'not CBOR', receivedAt: 0 });
 * seen; // ['DECODE_FAILED']
 * ```
 */
export function callbackDeadLetterSink(fn: (letter: DeadLetter) => void | Promise<void>): DeadLetterSink {
  assertFunction('callbackDeadLetterSink: fn', fn);
  return {
    name: 'callback',
    async write(letter) {
      await fn(letter);
    },
    async close() {},
  };
}

/** Options of {@link fileDeadLetterSink}. */
export interface FileDeadLetterOptions {
  /** Directory; letters go to `<dir>/date=YYYY-MM-DD/dead-letter-<pid>-<start>.jsonl`. */
  readonly dir: string;
  /** fsync before a write resolves (default true; turning it off loses letters on a power cut). */
  readonly fsync?: boolean;
}

interface Pending {
  readonly line: string;
  readonly day: string;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/**
 * A dead-letter sink that appends JSON lines (payload in base64) to files partitioned by day,
 * with group commit: letters that arrive while a write is in flight share the next fsync.
 * Each line: `{"receivedAt":"…","topic":"…","reason":"…","detail":"…","sink":…,"payload":"<base64>"}`.
 *
 * @example
 * ```ts
 * import { fileDeadLetterSink } from '@outpost/pipeline';
 * import { mkdtempSync, readdirSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const dir = mkdtempSync(join(tmpdir(), 'dl-'));
 * const sink = fileDeadLetterSink({ dir });
 * await sink.write({ topic: 'devices/x/telemetry', payload: new Uint8Array([0xff]), reason: 'DECODE_FAILED', detail: 'not CBOR', receivedAt: Date.UTC(2026, 10, 27) });
 * await sink.close();
 * readdirSync(dir); // ['date=2026-11-27']
 * ```
 */
export function fileDeadLetterSink(options: FileDeadLetterOptions): DeadLetterSink {
  assertObject('fileDeadLetterSink: options', options);
  assertString('fileDeadLetterSink: dir', options.dir);
  if (options.fsync !== undefined && typeof options.fsync !== 'boolean') throw new TypeError(`fileDeadLetterSink: fsync: expected a boolean, got ${describe(options.fsync)}`);
  const dir = options.dir;
  const doSync = options.fsync ?? true;
  const stem = `dead-letter-${process.pid}-${Date.now()}`;
  const files = new Map<string, FileHandle>();
  let queue: Pending[] = [];
  let writing: Promise<void> | undefined;
  let closed = false;

  async function handle(day: string): Promise<FileHandle> {
    let fh = files.get(day);
    if (fh === undefined) {
      const d = join(dir, `date=${day}`);
      await mkdir(d, { recursive: true });
      fh = await open(join(d, `${stem}.jsonl`), 'a');
      files.set(day, fh);
    }
    return fh;
  }

  async function pump(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      try {
        const byDay = new Map<string, string[]>();
        for (const p of batch) (byDay.get(p.day) ?? byDay.set(p.day, []).get(p.day))?.push(p.line);
        for (const [day, lines] of byDay) {
          const fh = await handle(day);
          await fh.write(lines.join(''));
          if (doSync) await fh.sync();
        }
        for (const p of batch) p.resolve();
      } catch (e) {
        const err = new PipelineError('LAKE_IO', `dead-letter write failed: ${(e as Error).message}`, { cause: e });
        for (const p of batch) p.reject(err);
      }
    }
    writing = undefined;
  }

  return {
    name: 'file',
    write(letter) {
      if (closed) return Promise.reject(new PipelineError('CLOSED', 'fileDeadLetterSink: write after close'));
      assertObject('fileDeadLetterSink.write: letter', letter);
      const payload = letter.payload instanceof Uint8Array ? Buffer.from(letter.payload.buffer, letter.payload.byteOffset, letter.payload.byteLength).toString('base64') : '';
      const at = Number.isFinite(letter.receivedAt) ? letter.receivedAt : Date.now();
      const line = `${JSON.stringify({ receivedAt: new Date(at).toISOString(), topic: letter.topic, reason: letter.reason, detail: letter.detail, ...(letter.sink !== undefined ? { sink: letter.sink } : {}), payload })}\n`;
      return new Promise<void>((resolve, reject) => {
        queue.push({ line, day: new Date(at).toISOString().slice(0, 10), resolve, reject });
        writing ??= pump();
      });
    },
    async close() {
      closed = true;
      while (writing !== undefined) await writing;
      for (const fh of files.values()) await fh.close();
      files.clear();
    },
  };
}
