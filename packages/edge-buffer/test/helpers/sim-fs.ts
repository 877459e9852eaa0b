// An in-memory FileSystem that tracks what is durable, for crash-point tests.
//
// Model (stricter than ext4/xfs, on purpose):
// - file data is durable only after sync() on that file;
// - directory entries (create, rename, unlink) are durable only after syncDir() on the directory;
// - a crash keeps only durable state. With a random source, each directory operation since the
//   last syncDir survives or not independently (POSIX promises no order between them), unsynced
//   writes survive per 512-byte sector at random ("torn" mode), the file length is either the
//   durable or the current one, and bytes past the durable length that were not persisted are
//   garbage;
// - a failed sync (injected) poisons the bytes it covered: a later successful sync will not make
//   them durable unless they are written again (Linux "fsyncgate" behaviour).
import { mulberry32 as rng } from '@outpost/test-peers';
import { basename, dirname } from 'node:path';
import type { FileHandle, FileSystem, OpenMode } from '../../src/index.js';

export class CrashError extends Error {
  constructor() {
    super('simulated crash');
    this.name = 'CrashError';
  }
}

export type OpKind = 'mkdir' | 'open' | 'write' | 'sync' | 'truncate' | 'close' | 'rename' | 'unlink' | 'syncDir' | 'read';

export interface Op {
  kind: OpKind;
  path: string;
  mode?: OpenMode;
}

type DirOp =
  | { kind: 'create'; path: string; inode: Inode }
  | { kind: 'rename'; path: string; to: string; inode: Inode }
  | { kind: 'unlink'; path: string };

interface Inode {
  data: Uint8Array;
  size: number;
  durable: Uint8Array;
  unsynced: Array<[number, number]>;
  poison: Uint8Array | undefined;
}

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

/** The shared seeded PRNG (mulberry32) from @outpost/test-peers. */
export { rng };

export class SimFS implements FileSystem {
  readonly dirs = new Set<string>();
  entries = new Map<string, Inode>();
  durableEntries = new Map<string, Inode>();
  /** Directory operations since the last syncDir of their directory, in order. */
  #pendingDirOps: DirOp[] = [];
  /** Mutating operations performed so far (reads are not counted). */
  ops = 0;
  /** Crash when the op counter reaches this value (the op is not performed, or torn if a write). */
  crashAt = Number.POSITIVE_INFINITY;
  crashed = false;
  /** Fault injection: return an error to make the op fail (it has no effect then). */
  fault: ((op: Op) => NodeJS.ErrnoException | undefined) | undefined;
  /**
   * Writable handles get `writeDurable` (as `nodeFileSystem()`'s do: O_DSYNC), made of a `write`
   * and a `sync` step; `false` leaves the buffer to call `write`/`writev` and `sync` itself.
   */
  durableWrites = true;
  log: Op[] | undefined;

  #step(op: Op): void {
    if (this.crashed) throw new CrashError();
    if (op.kind !== 'read') {
      this.ops++;
      this.log?.push(op);
      if (this.ops >= this.crashAt) {
        this.crashed = true;
        throw new CrashError();
      }
    }
    const f = this.fault?.(op);
    if (f !== undefined) throw f;
  }

  async mkdir(dir: string): Promise<void> {
    this.#step({ kind: 'mkdir', path: dir });
    this.dirs.add(dir);
  }

  async readdir(dir: string): Promise<string[]> {
    this.#step({ kind: 'read', path: dir });
    if (!this.dirs.has(dir)) throw errno('ENOENT');
    return [...this.entries.keys()].filter((p) => dirname(p) === dir).map((p) => basename(p));
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    this.#step({ kind: 'open', path, mode });
    let inode = this.entries.get(path);
    if (inode === undefined) {
      if (mode !== 'create') throw errno('ENOENT');
      if (!this.dirs.has(dirname(path))) throw errno('ENOENT');
      inode = { data: new Uint8Array(256), size: 0, durable: new Uint8Array(0), unsynced: [], poison: undefined };
      this.entries.set(path, inode);
      this.#pendingDirOps.push({ kind: 'create', path, inode });
    } else if (mode === 'create') {
      inode.size = 0;
    }
    return this.#handle(inode, path, mode);
  }

  #handle(inode: Inode, path: string, mode: OpenMode): FileHandle {
    let closed = false;
    const check = (): void => {
      if (closed) throw errno('EBADF');
    };
    const write = (data: Uint8Array, position: number): void => {
      const op: Op = { kind: 'write', path };
      try {
        this.#step(op);
      } catch (err) {
        if (err instanceof CrashError && this.tornOnCrash) this.#apply(inode, data, position);
        throw err;
      }
      check();
      this.#apply(inode, data, position);
    };
    const concat = (chunks: readonly Uint8Array[]): Uint8Array => {
      let n = 0;
      for (const c of chunks) n += c.length;
      const data = new Uint8Array(n);
      n = 0;
      for (const c of chunks) {
        data.set(c, n);
        n += c.length;
      }
      return data;
    };
    const sync = async (): Promise<void> => {
      this.#step({ kind: 'sync', path });
      check();
      const d = inode.data.slice(0, inode.size);
      if (inode.poison !== undefined) {
        for (let i = 0; i < Math.min(d.length, inode.poison.length); i++) {
          if (inode.poison[i] === 1) d[i] = i < inode.durable.length ? inode.durable[i]! : 0xee;
        }
      }
      inode.durable = d;
      inode.unsynced = [];
    };
    const handle: FileHandle = {
      read: async (into, position) => {
        this.#step({ kind: 'read', path });
        check();
        const n = Math.max(0, Math.min(into.length, inode.size - position));
        into.set(inode.data.subarray(position, position + n));
        return n;
      },
      write: async (data, position) => write(data, position),
      // One operation, like pwritev(2); the bytes are taken before it returns (the contract).
      writev: async (chunks, position) => write(concat(chunks), position),
      sync,
      truncate: async (length) => {
        this.#step({ kind: 'truncate', path });
        check();
        if (length > inode.size) this.#apply(inode, new Uint8Array(length - inode.size), inode.size);
        inode.size = length;
        inode.unsynced.push([length, 0]);
      },
      size: async () => {
        this.#step({ kind: 'read', path });
        check();
        return inode.size;
      },
      close: async () => {
        this.#step({ kind: 'close', path });
        closed = true;
      },
    };
    if (this.durableWrites && mode !== 'read') {
      // Like pwritev(2) on an O_DSYNC descriptor on the thread pool: the chunks are read later,
      // not inside the call (a caller's buffer changed after append() returns would show), then
      // written and made durable: a crash between the two steps leaves the write unsynced.
      handle.writeDurable = async (chunks, position) => {
        await new Promise<void>((resolve) => setImmediate(resolve));
        write(concat(chunks), position);
        await sync();
      };
    }
    return handle;
  }

  /** A failed sync makes the unsynced ranges unrecoverable by a later sync (fsyncgate). */
  poisonUnsynced(path: string): void {
    const inode = this.entries.get(path);
    if (inode === undefined) return;
    inode.poison ??= new Uint8Array(0);
    if (inode.poison.length < inode.size) {
      const p = new Uint8Array(inode.size);
      p.set(inode.poison);
      inode.poison = p;
    }
    for (const [pos, len] of inode.unsynced) inode.poison.fill(1, pos, Math.min(pos + len, inode.size));
  }

  tornOnCrash = false;

  #apply(inode: Inode, data: Uint8Array, position: number): void {
    const end = position + data.length;
    if (end > inode.data.length) {
      const grown = new Uint8Array(Math.max(end, inode.data.length * 2));
      grown.set(inode.data.subarray(0, inode.size));
      inode.data = grown;
    }
    if (position > inode.size) inode.data.fill(0, inode.size, position);
    inode.data.set(data, position);
    inode.size = Math.max(inode.size, end);
    inode.unsynced.push([position, data.length]);
    if (inode.poison !== undefined) inode.poison.fill(0, position, Math.min(end, inode.poison.length));
  }

  async rename(from: string, to: string): Promise<void> {
    this.#step({ kind: 'rename', path: from });
    const inode = this.entries.get(from);
    if (inode === undefined) throw errno('ENOENT');
    this.entries.delete(from);
    this.entries.set(to, inode);
    this.#pendingDirOps.push({ kind: 'rename', path: from, to, inode });
  }

  async unlink(path: string): Promise<void> {
    this.#step({ kind: 'unlink', path });
    if (!this.entries.delete(path)) throw errno('ENOENT');
    this.#pendingDirOps.push({ kind: 'unlink', path });
  }

  async syncDir(dir: string): Promise<void> {
    this.#step({ kind: 'syncDir', path: dir });
    for (const p of [...this.durableEntries.keys()]) if (dirname(p) === dir) this.durableEntries.delete(p);
    for (const [p, inode] of this.entries) if (dirname(p) === dir) this.durableEntries.set(p, inode);
    this.#pendingDirOps = this.#pendingDirOps.filter((op) => dirname(op.path) !== dir);
  }

  /**
   * The disk as found after a power cut now. With `random` (torn mode) unsynced sectors
   * survive at random and unsynced extensions hold garbage; without it only durable state remains.
   */
  crashImage(random?: () => number): SimFS {
    const img = new SimFS();
    img.durableWrites = this.durableWrites;
    for (const d of this.dirs) img.dirs.add(d);
    const entries = new Map(this.durableEntries);
    if (random !== undefined) {
      for (const op of this.#pendingDirOps) {
        if (random() < 0.5) continue;
        if (op.kind === 'create') entries.set(op.path, op.inode);
        else if (op.kind === 'unlink') entries.delete(op.path);
        else if (entries.get(op.path) === op.inode) {
          entries.delete(op.path);
          entries.set(op.to, op.inode);
        }
      }
    }
    for (const [path, inode] of entries) {
      const bytes = random === undefined ? inode.durable.slice() : torn(inode, random);
      const fresh: Inode = { data: bytes, size: bytes.length, durable: bytes.slice(), unsynced: [], poison: undefined };
      img.entries.set(path, fresh);
      img.durableEntries.set(path, fresh);
    }
    return img;
  }

  /** A copy of the current state, all of it durable. */
  clone(): SimFS {
    const img = new SimFS();
    img.durableWrites = this.durableWrites;
    for (const d of this.dirs) img.dirs.add(d);
    for (const [path, inode] of this.entries) {
      const bytes = inode.data.slice(0, inode.size);
      const fresh: Inode = { data: bytes, size: bytes.length, durable: bytes.slice(), unsynced: [], poison: undefined };
      img.entries.set(path, fresh);
      img.durableEntries.set(path, fresh);
    }
    return img;
  }

  /** Current bytes of a file (test inspection). */
  bytes(path: string): Uint8Array | undefined {
    const inode = this.entries.get(path);
    return inode?.data.slice(0, inode.size);
  }

  /** Overwrites a file's current and durable content (test setup: goldens, bit flips). */
  put(path: string, bytes: Uint8Array): void {
    this.dirs.add(dirname(path));
    const fresh: Inode = { data: bytes.slice(), size: bytes.length, durable: bytes.slice(), unsynced: [], poison: undefined };
    this.entries.set(path, fresh);
    this.durableEntries.set(path, fresh);
  }
}

const SECTOR = 512;

function torn(inode: Inode, random: () => number): Uint8Array {
  const cur = inode.data.subarray(0, inode.size);
  const durable = inode.durable;
  const size = inode.size > durable.length && random() < 0.7 ? inode.size : durable.length;
  const out = new Uint8Array(size);
  out.set(durable.subarray(0, Math.min(size, durable.length)));
  for (let i = durable.length; i < size; i++) out[i] = Math.floor(random() * 256);
  for (const [pos, len] of inode.unsynced) {
    const first = Math.floor(pos / SECTOR) * SECTOR;
    for (let s = first; s < pos + len && s < size; s += SECTOR) {
      if (random() < 0.5) {
        const e = Math.min(s + SECTOR, size, cur.length);
        if (e > s) out.set(cur.subarray(s, e), s);
      }
    }
  }
  return out;
}
