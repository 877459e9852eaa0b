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
  /**
   * Optional durable vectored write: all of `chunks` at `position`, durable when it resolves —
   * the effect of `writev` followed by `sync`, in one step (`pwritev(2)` on an `O_DSYNC`
   * descriptor, on the thread pool). Unlike `writev` it may read the chunks at any time before
   * it resolves: the buffer passes only bytes it owns. Used for every write in `'fsync'` and
   * `'batch'` mode when present; handles without it get `writev`/`write` and `sync`. A wrapper
   * that overrides `write` or `sync` (e.g. to inject faults) must override or drop this too.
   */
  writeDurable?(chunks: readonly Uint8Array[], position: number): Promise<void>;
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

/** What is left of `chunks` after the first `n` bytes were written (a short `pwritev`). */
function rest(chunks: readonly Uint8Array[], n: number): Uint8Array[] {
  let skip = n;
  let i = 0;
  while (skip >= chunks[i]!.length) skip -= chunks[i++]!.length;
  return [chunks[i]!.subarray(skip), ...chunks.slice(i + 1)];
}

const total = (chunks: readonly Uint8Array[]): number => {
  let n = 0;
  for (const c of chunks) n += c.length;
  return n;
};

class NodeFileHandle implements FileHandle {
  protected readonly fd: number;
  readonly #inlineSync: boolean;

  constructor(fd: number, inlineSync: boolean) {
    this.fd = fd;
    this.#inlineSync = inlineSync;
  }

  async read(into: Uint8Array, position: number): Promise<number> {
    let done = 0;
    while (done < into.length) {
      const n = await call<number>((cb) => nodeFs.read(this.fd, into, done, into.length - done, position + done, cb));
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  // A write only copies into the page cache, so it runs synchronously: one thread-pool round trip
  // less per append (the fdatasync that follows is the part that waits for the device).
  async write(data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < data.length) done += nodeFs.writeSync(this.fd, data, done, data.length - done, position + done);
  }

  // Synchronous like write(): the chunks are in the page cache when this returns (the contract).
  async writev(chunks: readonly Uint8Array[], position: number): Promise<void> {
    let left = chunks;
    let pos = position;
    for (let size = total(left); size > 0; ) {
      const n = nodeFs.writevSync(this.fd, left as Uint8Array[], pos);
      if (n === size) return;
      // A short write: drop the bytes written and go on from there.
      pos += n;
      size -= n;
      left = rest(left, n);
    }
  }

  sync(): Promise<void> {
    if (this.#inlineSync) {
      try {
        nodeFs.fdatasyncSync(this.fd);
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    return voidCall((cb) => nodeFs.fdatasync(this.fd, cb));
  }

  truncate(length: number): Promise<void> {
    return voidCall((cb) => nodeFs.ftruncate(this.fd, length, cb));
  }

  async size(): Promise<number> {
    const st = await call<nodeFs.Stats>((cb) => nodeFs.fstat(this.fd, cb));
    return st.size;
  }

  close(): Promise<void> {
    return voidCall((cb) => nodeFs.close(this.fd, cb));
  }
}

/**
 * A writable handle with {@link FileHandle.writeDurable}: a second descriptor on the same file,
 * opened `O_WRONLY | O_DSYNC` on first use, takes durable writes as one `pwritev` on the thread
 * pool. POSIX synchronized I/O data integrity completion (Linux open(2): "as though each write
 * was followed by a call to fdatasync(2)"): when it returns, the data and the metadata needed to
 * read it back (the file size) are on the device — on ext4 the same `ext4_sync_file` path as
 * `fdatasync`, limited to the range written (every earlier write of the buffer's segment was
 * made durable by its own call). One thread-pool round trip and one syscall per group instead of
 * `pwritev` on the event loop plus an `fdatasync` round trip.
 */
class DsyncNodeFileHandle extends NodeFileHandle {
  readonly #path: string;
  #dsync: Promise<number> | undefined;

  constructor(fd: number, path: string) {
    super(fd, false);
    this.#path = path;
  }

  async writeDurable(chunks: readonly Uint8Array[], position: number): Promise<void> {
    if (this.#dsync === undefined) {
      const opening = call<number>((cb) => nodeFs.open(this.#path, nodeFs.constants.O_WRONLY | nodeFs.constants.O_DSYNC, cb));
      // A failed open (EMFILE…) fails this write only: the next one tries again.
      opening.catch(() => {
        if (this.#dsync === opening) this.#dsync = undefined;
      });
      this.#dsync = opening;
    }
    const fd = await this.#dsync;
    let left = chunks;
    let pos = position;
    for (let size = total(left); size > 0; ) {
      const n = await call<number>((cb) => nodeFs.writev(fd, left as Uint8Array[], pos, cb));
      if (n === size) return;
      pos += n;
      size -= n;
      left = rest(left, n);
    }
  }

  override async close(): Promise<void> {
    const dsync = this.#dsync;
    this.#dsync = undefined;
    try {
      if (dsync !== undefined) {
        const fd = await dsync.catch(() => undefined);
        if (fd !== undefined) await voidCall((cb) => nodeFs.close(fd, cb));
      }
    } finally {
      await super.close();
    }
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
   * while they append. Default `false`. Directory syncs stay on the pool. Implies
   * `dsyncWrites: false`.
   */
  inlineSync?: boolean;
  /**
   * Give writable handles {@link FileHandle.writeDurable}: durable writes go to a second
   * descriptor opened with `O_DSYNC`, one `pwritev` on the thread pool that returns when the data
   * is durable (as `write` + `fdatasync`), so the event loop never blocks and each `'fsync'`
   * append costs one thread-pool round trip. Default `true`; `false` restores `writevSync` on the
   * event loop followed by an `fdatasync` on the pool (e.g. for a file system whose `O_DSYNC` is
   * slower than `fdatasync`).
   */
  dsyncWrites?: boolean;
}

/**
 * The default {@link FileSystem}: `node:fs` with `fdatasync` for files and `fsync` on an
 * open directory descriptor for directory entries. Durable writes (`'fsync'`/`'batch'` mode) are
 * one `pwritev` on an `O_DSYNC` descriptor on the libuv thread pool (`writeDurable`; see
 * `dsyncWrites`); other writes use `writeSync`/`writevSync` (a copy into the page cache); reads,
 * syncs (on the thread pool unless `inlineSync`), renames and the rest run on the thread pool.
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
  const dsync = options.dsyncWrites ?? true;
  if (typeof dsync !== 'boolean') throw new TypeError('nodeFileSystem: dsyncWrites: expected a boolean');
  const durable = dsync && !inline;
  return {
    mkdir: (dir) => voidCall((cb) => nodeFs.mkdir(dir, { recursive: true }, (err) => cb(err))),
    readdir: (dir) => call<string[]>((cb) => nodeFs.readdir(dir, cb)),
    open: async (path, mode) => {
      const fd = await call<number>((cb) => nodeFs.open(path, FLAGS[mode], 0o644, cb));
      return durable && mode !== 'read' ? new DsyncNodeFileHandle(fd, path) : new NodeFileHandle(fd, inline);
    },
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
