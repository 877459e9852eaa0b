import * as nodeFs from 'node:fs';

/**
 * How a file is opened through a {@link FileSystem}:
 * `'read'` existing file read-only; `'readwrite'` existing file read/write;
 * `'create'` create or truncate, read/write.
 */
export type OpenMode = 'read' | 'readwrite' | 'create';

/**
 * An open file. Positions are absolute byte offsets; no shared file pointer.
 *
 * @example
 * ```ts
 * import { nodeFileSystem } from '@outpost/edge-buffer';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const fs = nodeFileSystem();
 * import type { FileHandle, OpenMode } from '@outpost/edge-buffer';
 * const mode: OpenMode = 'create';
 * const file: FileHandle = await fs.open(join(mkdtempSync(join(tmpdir(), 'eb-')), 'x'), mode);
 * await file.write(new Uint8Array([1, 2, 3]), 0);
 * await file.sync();
 * await file.size(); // 3
 * await file.close();
 * ```
 */
export interface FileHandle {
  /** Reads into `into` from `position` until it is full or the file ends; resolves the byte count. */
  read(into: Uint8Array, position: number): Promise<number>;
  /** Writes all of `data` at `position`. */
  write(data: Uint8Array, position: number): Promise<void>;
  /**
   * Optional vectored write: all of `chunks`, back to back, at `position` (`pwritev(2)`).
   * Contract: the bytes are taken (copied to the file or elsewhere) before `writev` returns,
   * synchronously, because the buffer passes callers' payloads here without copying them and a
   * caller may change its buffer as soon as `append()` returns. Handles without it get `write`.
   */
  writev?(chunks: readonly Uint8Array[], position: number): Promise<void>;
  /** Makes the file's data (and its size) durable: `fdatasync(2)`. */
  sync(): Promise<void>;
  /** Sets the file length. */
  truncate(length: number): Promise<void>;
  /** Current length in bytes. */
  size(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Every file operation the buffer performs goes through this interface, so tests can
 * inject faults (ENOSPC, EIO, failed fsync) and simulate crashes that drop unsynced data.
 * Paths are absolute (`dir` joined with a file name by `node:path`).
 *
 * @example
 * ```ts
 * import { nodeFileSystem, type FileSystem } from '@outpost/edge-buffer';
 * // A wrapper that fails every fsync, e.g. to test how an app reacts to IO_ERROR.
 * const real = nodeFileSystem();
 * const failing: FileSystem = {
 *   ...real,
 *   async open(path, mode) {
 *     const f = await real.open(path, mode);
 *     return { ...f, sync: async () => { throw Object.assign(new Error('EIO'), { code: 'EIO' }); } };
 *   },
 * };
 * ```
 */
export interface FileSystem {
  /** Creates `dir` and missing parents; no error if it exists. */
  mkdir(dir: string): Promise<void>;
  /** Names (not paths) of the entries of `dir`. */
  readdir(dir: string): Promise<string[]>;
  open(path: string, mode: OpenMode): Promise<FileHandle>;
  /** Atomically replaces `to` with `from`. */
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Makes `dir`'s entries (creates, renames, unlinks) durable: `fsync(2)` on the directory. */
  syncDir(dir: string): Promise<void>;
}

type Cb<T> = (err: NodeJS.ErrnoException | null, value: T) => void;

function call<T>(fn: (cb: Cb<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    fn((err, value) => (err ? reject(err) : resolve(value)));
  });
}

function voidCall(fn: (cb: (err: NodeJS.ErrnoException | null) => void) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    fn((err) => (err ? reject(err) : resolve()));
  });
}

class NodeFileHandle implements FileHandle {
  readonly #fd: number;
  readonly #inlineSync: boolean;

  constructor(fd: number, inlineSync: boolean) {
    this.#fd = fd;
    this.#inlineSync = inlineSync;
  }

  async read(into: Uint8Array, position: number): Promise<number> {
    let done = 0;
    while (done < into.length) {
      const n = await call<number>((cb) => nodeFs.read(this.#fd, into, done, into.length - done, position + done, cb));
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  // A write only copies into the page cache, so it runs synchronously: one thread-pool round trip
  // less per append (the fdatasync that follows is the part that waits for the device).
  async write(data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < data.length) done += nodeFs.writeSync(this.#fd, data, done, data.length - done, position + done);
  }

  // Synchronous like write(): the chunks are in the page cache when this returns (the contract).
  async writev(chunks: readonly Uint8Array[], position: number): Promise<void> {
    let rest = chunks;
    let pos = position;
    for (;;) {
      let total = 0;
      for (const c of rest) total += c.length;
      if (total === 0) return;
      const n = nodeFs.writevSync(this.#fd, rest as Uint8Array[], pos);
      if (n === total) return;
      // A short write: drop the bytes written and go on from there.
      pos += n;
      let skip = n;
      let i = 0;
      while (skip >= rest[i]!.length) skip -= rest[i++]!.length;
      rest = [rest[i]!.subarray(skip), ...rest.slice(i + 1)];
    }
  }

  sync(): Promise<void> {
    if (this.#inlineSync) {
      try {
        nodeFs.fdatasyncSync(this.#fd);
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    return voidCall((cb) => nodeFs.fdatasync(this.#fd, cb));
  }

  truncate(length: number): Promise<void> {
    return voidCall((cb) => nodeFs.ftruncate(this.#fd, length, cb));
  }

  async size(): Promise<number> {
    const st = await call<nodeFs.Stats>((cb) => nodeFs.fstat(this.#fd, cb));
    return st.size;
  }

  close(): Promise<void> {
    return voidCall((cb) => nodeFs.close(this.#fd, cb));
  }
}

const FLAGS: Record<OpenMode, string> = { read: 'r', readwrite: 'r+', create: 'w+' };

/**
 * Options of {@link nodeFileSystem}.
 *
 * @example
 * ```ts
 * import { nodeFileSystem, openBuffer, type NodeFileSystemOptions } from '@outpost/edge-buffer';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const options: NodeFileSystemOptions = { inlineSync: true }; // fdatasync on this thread
 * const buf = await openBuffer({ dir: mkdtempSync(join(tmpdir(), 'eb-')), maxBytes: 1 << 20, fs: nodeFileSystem(options) });
 * await buf.append(new Uint8Array(64 * 1024)); // 1
 * await buf.close();
 * ```
 */
export interface NodeFileSystemOptions {
  /**
   * Run a file's `fdatasync` on the calling thread (`fdatasyncSync`) instead of the libuv thread
   * pool. Saves the pool's round trip per sync (the gap to a raw synchronous loop with large
   * records in `'fsync'` mode) but blocks the event loop for as long as the device takes to
   * flush (~0.1–5 ms per sync, more on a slow card): only for processes that do nothing else
   * while they append. Default `false`. Directory syncs stay on the pool.
   */
  inlineSync?: boolean;
}

/**
 * The default {@link FileSystem}: `node:fs` with `fdatasync` for files and `fsync` on an
 * open directory descriptor for directory entries. Writes use `writeSync`/`writevSync` (a copy
 * into the page cache); reads, syncs (unless `inlineSync`), renames and the rest run on the libuv
 * thread pool.
 *
 * @example
 * ```ts
 * import { nodeFileSystem, openBuffer } from '@outpost/edge-buffer';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const buf = await openBuffer({ dir: mkdtempSync(join(tmpdir(), 'eb-')), maxBytes: 1 << 20, fs: nodeFileSystem() });
 * await buf.close();
 * ```
 */
export function nodeFileSystem(options: NodeFileSystemOptions = {}): FileSystem {
  if (typeof options !== 'object' || options === null) throw new TypeError('nodeFileSystem: options: expected an object');
  const inline = options.inlineSync ?? false;
  if (typeof inline !== 'boolean') throw new TypeError('nodeFileSystem: inlineSync: expected a boolean');
  return {
    mkdir: (dir) => voidCall((cb) => nodeFs.mkdir(dir, { recursive: true }, (err) => cb(err))),
    readdir: (dir) => call<string[]>((cb) => nodeFs.readdir(dir, cb)),
    open: async (path, mode) => new NodeFileHandle(await call<number>((cb) => nodeFs.open(path, FLAGS[mode], 0o644, cb)), inline),
    rename: (from, to) => voidCall((cb) => nodeFs.rename(from, to, cb)),
    unlink: (path) => voidCall((cb) => nodeFs.unlink(path, cb)),
    syncDir: async (dir) => {
      const fd = await call<number>((cb) => nodeFs.open(dir, 'r', cb));
      try {
        await voidCall((cb) => nodeFs.fsync(fd, cb));
      } finally {
        await voidCall((cb) => nodeFs.close(fd, cb));
      }
    },
  };
}
