import { open, readFile, rename, unlink, mkdir, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** A file opened for writing: from the start (created or truncated), or at its end (appending). */
export interface OtaWriteHandle {
  /** Appends `data`. */
  write(data: Uint8Array): Promise<void>;
  /** Makes the data written so far durable (`fdatasync(2)`). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Every file operation of the slot manager and the rollout journal goes through this interface, so
 * the crash-point tests can cut power at any of them and drop what was not fsynced. Paths are
 * absolute.
 *
 * @example
 * ```ts
 * import { nodeOtaFileSystem, type OtaFileSystem, type OtaWriteHandle } from '@outpost/ota';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const fs: OtaFileSystem = nodeOtaFileSystem();
 * const dir = mkdtempSync(join(tmpdir(), 'ota-'));
 * const fh: OtaWriteHandle = await fs.openWrite(join(dir, 'x'));
 * await fh.write(new Uint8Array([1, 2]));
 * await fh.sync();
 * await fh.close();
 * ```
 */
export interface OtaFileSystem {
  /** The whole file, or `undefined` when it does not exist. */
  readFile(path: string): Promise<Uint8Array | undefined>;
  /** The file in chunks of at most `chunkSize` bytes; nothing when it does not exist. */
  readChunks(path: string, chunkSize: number): AsyncIterable<Uint8Array>;
  openWrite(path: string): Promise<OtaWriteHandle>;
  /**
   * Opens for appending (`O_APPEND`), creating the file when missing; a new file's directory
   * entry is durable only after {@link OtaFileSystem.syncDir}.
   */
  openAppend(path: string): Promise<OtaWriteHandle>;
  /** Atomically replaces `to` with `from`. */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file; no error when it does not exist. */
  unlink(path: string): Promise<void>;
  /** Makes `dir`'s entries (creates, renames, unlinks) durable: `fsync(2)` on the directory. */
  syncDir(dir: string): Promise<void>;
  mkdir(dir: string): Promise<void>;
}

const isMissing = (err: unknown): boolean => typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT';

/**
 * The default {@link OtaFileSystem} over `node:fs`.
 *
 * @example
 * ```ts
 * import { nodeOtaFileSystem } from '@outpost/ota';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * await nodeOtaFileSystem().readFile(join(tmpdir(), 'does-not-exist')); // undefined
 * ```
 */
export function nodeOtaFileSystem(): OtaFileSystem {
  return {
    async readFile(path) {
      try {
        return new Uint8Array(await readFile(path));
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
      }
    },
    async *readChunks(path, chunkSize) {
      let fh;
      try {
        fh = await open(path, 'r');
      } catch (err) {
        if (isMissing(err)) return;
        throw err;
      }
      try {
        let pos = 0;
        for (;;) {
          const buf = new Uint8Array(chunkSize);
          const { bytesRead } = await fh.read(buf, 0, chunkSize, pos);
          if (bytesRead === 0) return;
          pos += bytesRead;
          yield bytesRead === chunkSize ? buf : buf.subarray(0, bytesRead);
        }
      } finally {
        await fh.close();
      }
    },
    openWrite: async (path) => nodeHandle(await open(path, 'w', 0o644)),
    openAppend: async (path) => nodeHandle(await open(path, 'a', 0o644)),
    rename: (from, to) => rename(from, to),
    async unlink(path) {
      try {
        await unlink(path);
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
    },
    async syncDir(dir) {
      const fh = await open(dir, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    },
    mkdir: async (dir) => {
      await mkdir(dir, { recursive: true });
    },
  };
}

function nodeHandle(fh: FileHandle): OtaWriteHandle {
  return {
    write: async (data) => {
      let done = 0;
      while (done < data.length) done += (await fh.write(data, done, data.length - done)).bytesWritten;
    },
    sync: () => fh.datasync(),
    close: () => fh.close(),
  };
}

/**
 * Write-temp, fsync, rename, fsync the directory: after a crash the file holds the old or the
 * new content, never a mix.
 *
 * @example
 * ```ts
 * import { atomicWriteFile, nodeOtaFileSystem } from '@outpost/ota';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * await atomicWriteFile(nodeOtaFileSystem(), join(mkdtempSync(join(tmpdir(), 'ota-')), 'state'), new Uint8Array([1]));
 * ```
 */
export async function atomicWriteFile(fs: OtaFileSystem, path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await fs.openWrite(tmp);
  try {
    await fh.write(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, path);
  await fs.syncDir(dirname(path));
}

/**
 * An {@link OtaFileSystem} in memory: simulated devices, tests, demos. Every write is immediately
 * visible; nothing is persisted.
 *
 * @example
 * ```ts
 * import { atomicWriteFile, memoryOtaFileSystem } from '@outpost/ota';
 * const fs = memoryOtaFileSystem();
 * await atomicWriteFile(fs, '/dev/state', new Uint8Array([1]));
 * (await fs.readFile('/dev/state'))?.length; // 1
 * ```
 */
export function memoryOtaFileSystem(): OtaFileSystem {
  // A file is the list of chunks written to it; joined when read.
  const files = new Map<string, Uint8Array[]>();
  const joined = (path: string): Uint8Array | undefined => {
    const parts = files.get(path);
    if (parts === undefined) return undefined;
    if (parts.length !== 1) parts.splice(0, parts.length, new Uint8Array(Buffer.concat(parts)));
    return parts[0] as Uint8Array;
  };
  return {
    readFile: async (path) => joined(path)?.slice(),
    async *readChunks(path, chunkSize) {
      const data = joined(path);
      if (data === undefined) return;
      for (let p = 0; p < data.length; p += chunkSize) yield data.slice(p, p + chunkSize);
    },
    async openWrite(path) {
      const parts: Uint8Array[] = [];
      files.set(path, parts);
      return memoryHandle(parts);
    },
    async openAppend(path) {
      const parts = files.get(path) ?? [];
      files.set(path, parts);
      return memoryHandle(parts);
    },
    async rename(from, to) {
      const d = files.get(from);
      if (d === undefined) throw Object.assign(new Error(`ENOENT: ${from}`), { code: 'ENOENT' });
      files.delete(from);
      files.set(to, d);
    },
    unlink: async (path) => {
      files.delete(path);
    },
    syncDir: async () => undefined,
    mkdir: async () => undefined,
  };
}

function memoryHandle(parts: Uint8Array[]): OtaWriteHandle {
  return {
    write: async (d) => {
      parts.push(d.slice());
    },
    sync: async () => undefined,
    close: async () => undefined,
  };
}
