// The file layer the job store writes through: small enough that a test can stand in a
// simulated disk that cuts power at any operation (the same shape as @outpost/ota's
// OtaFileSystem, whose crash-point simulator the store's tests reuse).
import { mkdir, open, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';

/**
 * A file opened for writing (from the start, or appending).
 *
 * @example
 * ```ts
 * import type { JobsWriteHandle } from '@outpost/jobs';
 * const done = async (h: JobsWriteHandle): Promise<void> => { await h.sync(); await h.close(); };
 * ```
 */
export interface JobsWriteHandle {
  write(data: Uint8Array): Promise<void>;
  /** Makes the data written so far durable (`fdatasync(2)`). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Every file operation of the job store. Paths are absolute.
 *
 * @example
 * ```ts
 * import { nodeJobsFileSystem } from '@outpost/jobs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * await nodeJobsFileSystem().readFile(join(tmpdir(), 'no-such-jobs-file')); // undefined
 * ```
 */
export interface JobsFileSystem {
  /** The whole file, or `undefined` when it does not exist. */
  readFile(path: string): Promise<Uint8Array | undefined>;
  /** Creates or truncates. */
  openWrite(path: string): Promise<JobsWriteHandle>;
  /** Opens for appending, creating when missing (the new entry is durable after `syncDir`). */
  openAppend(path: string): Promise<JobsWriteHandle>;
  rename(from: string, to: string): Promise<void>;
  /** No error when missing. */
  unlink(path: string): Promise<void>;
  /** `fsync(2)` on a directory: its creates, renames and unlinks become durable. */
  syncDir(dir: string): Promise<void>;
  mkdir(dir: string): Promise<void>;
}

const missing = (err: unknown): boolean => (err as { code?: unknown } | null)?.code === 'ENOENT';

function handle(fh: FileHandle): JobsWriteHandle {
  return {
    async write(data) {
      let done = 0;
      while (done < data.length) done += (await fh.write(data, done, data.length - done)).bytesWritten;
    },
    sync: () => fh.datasync(),
    close: () => fh.close(),
  };
}

/**
 * The {@link JobsFileSystem} over `node:fs`.
 *
 * @example
 * ```ts
 * import { nodeJobsFileSystem, type JobsFileSystem } from '@outpost/jobs';
 * const fs: JobsFileSystem = nodeJobsFileSystem();
 * typeof fs.syncDir; // 'function'
 * ```
 */
export function nodeJobsFileSystem(): JobsFileSystem {
  return {
    async readFile(path) {
      try {
        return new Uint8Array(await readFile(path));
      } catch (err) {
        if (missing(err)) return undefined;
        throw err;
      }
    },
    openWrite: async (path) => handle(await open(path, 'w', 0o600)),
    openAppend: async (path) => handle(await open(path, 'a', 0o600)),
    rename: (from, to) => rename(from, to),
    async unlink(path) {
      try {
        await unlink(path);
      } catch (err) {
        if (!missing(err)) throw err;
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
    async mkdir(dir) {
      await mkdir(dir, { recursive: true });
    },
  };
}
