// The rollout controller's journal: an append-only list of events, one JSON line each, sealed
// with a SHA-256 prefix (sealed.ts: a damaged line is refused, never read as another event). The file
// store writes through the OtaFileSystem layer (the one the crash-point tests cut power in) and
// keeps every acknowledged event: an append resolves only after its line is fsynced (and, for a
// new file, the directory entry too), and a torn tail left by a power cut during an append is cut
// off (an atomic rewrite of the complete lines) before the next append, so nothing is ever
// appended behind a partial line.
import { dirname } from 'node:path';
import { OtaError } from './errors.js';
import { atomicWriteFile, nodeOtaFileSystem, type OtaFileSystem } from './fs.js';
import { sealLine, unsealLine } from './sealed.js';

/** What a device reports about an update. */
export type DeviceReport = 'downloaded' | 'installed' | 'confirmed' | 'rolled-back' | 'failed';

/** Every {@link DeviceReport}, in the order a device goes through them. */
export const DEVICE_REPORTS: readonly DeviceReport[] = ['downloaded', 'installed', 'confirmed', 'rolled-back', 'failed'];

/** A journal entry. `at` is milliseconds on the caller's clock. */
export type RolloutEvent =
  | { readonly type: 'dispatch'; readonly at: number; readonly devices: readonly string[] }
  | { readonly type: 'report'; readonly at: number; readonly device: string; readonly status: DeviceReport; readonly details?: Readonly<Record<string, string>> }
  | { readonly type: 'pause'; readonly at: number }
  | { readonly type: 'resume'; readonly at: number }
  | { readonly type: 'abort'; readonly at: number; readonly reason: string };

/** Where the controller keeps its journal. */
export interface ControllerStore {
  load(): Promise<RolloutEvent[]>;
  /** Resolves once the event is durable: an acknowledged event survives a power cut. */
  append(event: RolloutEvent): Promise<void>;
}

/** Why `v` is not a {@link RolloutEvent}, or `undefined` when it is one. */
function eventProblem(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null) return 'not an object';
  const e = v as Record<string, unknown>;
  if (typeof e['at'] !== 'number' || !Number.isFinite(e['at'])) return '"at" is not a finite number';
  switch (e['type']) {
    case 'pause':
    case 'resume':
      return undefined;
    case 'dispatch':
      return Array.isArray(e['devices']) && e['devices'].every((d) => typeof d === 'string') ? undefined : '"devices" is not an array of strings';
    case 'report': {
      const d = e['details'];
      if (d !== undefined && (typeof d !== 'object' || d === null || Array.isArray(d) || !Object.values(d).every((x) => typeof x === 'string'))) return '"details" is not a string map';
      return typeof e['device'] === 'string' && DEVICE_REPORTS.includes(e['status'] as DeviceReport) ? undefined : '"device" or "status" is wrong';
    }
    case 'abort':
      return typeof e['reason'] === 'string' ? undefined : '"reason" is not a string';
    default:
      return `unknown type ${JSON.stringify(e['type'])}`;
  }
}

/**
 * A journal in memory (tests, simulations); `events` is shared, so a second controller over the
 * same store sees what the first wrote, as after a restart.
 *
 * @example
 * ```ts
 * import { memoryControllerStore } from '@outpost/ota';
 * const store = memoryControllerStore();
 * (await store.load()).length; // 0
 * ```
 */
export function memoryControllerStore(): ControllerStore & { readonly events: RolloutEvent[] } {
  const events: RolloutEvent[] = [];
  return { events, load: async () => [...events], append: async (e) => { events.push(structuredClone(e)); } };
}

/** Options of {@link fileControllerStore}. */
export interface FileControllerStoreOptions {
  /** The file layer. Default {@link nodeOtaFileSystem}. */
  readonly fs?: OtaFileSystem;
  /** Called with the number of bytes cut off when a torn tail is repaired. */
  readonly onRepair?: (droppedBytes: number) => void;
}

interface Scan {
  events: RolloutEvent[];
  /** Bytes of complete, valid lines; anything after them is a torn tail. */
  validEnd: number;
}

// Complete lines end in '\n'. An unterminated tail, or a last line that is not JSON (a tear that
// left zeros or a fragment before a newline that did land), is what a crash during an append
// leaves: never acknowledged, since an append resolves only after its whole line is fsynced.
// A bad line followed by a good one is corruption, not a tear: refused, never skipped.
function scan(bytes: Uint8Array, path: string): Scan {
  const text = new TextDecoder('utf-8', { fatal: true });
  const events: RolloutEvent[] = [];
  let validEnd = 0;
  let start = 0;
  for (let line = 1; ; line++) {
    const nl = bytes.indexOf(0x0a, start);
    if (nl < 0) break;
    let event: unknown;
    try {
      const json = unsealLine(text.decode(bytes.subarray(start, nl)));
      if (json === undefined) throw new Error('seal');
      event = JSON.parse(json);
    } catch {
      if (bytes.indexOf(0x0a, nl + 1) < 0) break; // the last line: torn
      throw new OtaError('MALFORMED', `${path}: line ${line} is damaged (its seal does not match, or it is not JSON)`);
    }
    const problem = eventProblem(event);
    if (problem !== undefined) throw new OtaError('MALFORMED', `${path}: line ${line} is not a rollout event (${problem})`);
    events.push(event as RolloutEvent);
    start = nl + 1;
    validEnd = start;
  }
  return { events, validEnd };
}

/**
 * A journal file: one JSON event per line, through an {@link OtaFileSystem}. `append` resolves
 * after the line is fsynced (and, on the store's first append, the directory too, so a new file's
 * entry is durable). A torn tail left by a power cut during an append (never acknowledged) is cut
 * off by an atomic rewrite when the journal is loaded, and always before the next append.
 *
 * @throws {OtaError} `MALFORMED` from `load` when a line other than the last is not an event.
 * @example
 * ```ts
 * import { fileControllerStore, nodeOtaFileSystem, type FileControllerStoreOptions } from '@outpost/ota';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const options: FileControllerStoreOptions = { fs: nodeOtaFileSystem(), onRepair: (n) => console.warn(`journal: cut ${n} torn bytes`) };
 * const store = fileControllerStore(join(mkdtempSync(join(tmpdir(), 'ro-')), 'rollout.jsonl'), options);
 * await store.append({ type: 'pause', at: 1000 });
 * (await store.load()).length; // 1
 * ```
 */
export function fileControllerStore(path: string, options: FileControllerStoreOptions = {}): ControllerStore {
  if (typeof path !== 'string') throw new TypeError('path: expected a string');
  if (typeof options !== 'object' || options === null) throw new TypeError('options: expected an object');
  const { onRepair } = options;
  if (onRepair !== undefined && typeof onRepair !== 'function') throw new TypeError('options.onRepair: expected a function');
  const fs = options.fs ?? nodeOtaFileSystem();
  // `clean`: the file ends with a complete line (checked by a load, kept by each whole append).
  let clean = false;
  let dirSynced = false;
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(f: () => Promise<T>): Promise<T> => {
    const p = queue.then(f);
    queue = p.catch(() => undefined);
    return p;
  };
  const load = async (): Promise<RolloutEvent[]> => {
    const bytes = await fs.readFile(path);
    if (bytes === undefined) {
      clean = true;
      return [];
    }
    const { events, validEnd } = scan(bytes, path);
    if (validEnd < bytes.length) {
      await atomicWriteFile(fs, path, bytes.subarray(0, validEnd));
      onRepair?.(bytes.length - validEnd);
    }
    clean = true;
    return events;
  };
  return {
    load: () => serial(load),
    append: (e) =>
      serial(async () => {
        const problem = eventProblem(e);
        if (problem !== undefined) throw new TypeError(`event: expected a RolloutEvent (${problem})`);
        if (!clean) await load();
        clean = false; // until the whole line is durable
        const fh = await fs.openAppend(path);
        try {
          await fh.write(new TextEncoder().encode(sealLine(JSON.stringify(e))));
          await fh.sync();
        } finally {
          await fh.close();
        }
        if (!dirSynced) {
          await fs.syncDir(dirname(path));
          dirSynced = true;
        }
        clean = true;
      }),
  };
}
