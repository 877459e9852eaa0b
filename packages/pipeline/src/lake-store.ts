/**
 * The lake's storage seam: where finished Parquet files go ({@link LakeStore}), and the local
 * file-system store (temp file, fsync, no-replace link, directory fsync). The lake itself
 * (batching, partitions, part numbers) is in lake.ts.
 */
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, intOption, isPlainObject } from './validate.js';

/**
 * Where finished Parquet files go: the local file system by default ({@link localLakeStore}),
 * or an object store through an adapter of yours.
 *
 * Keys are `/`-separated paths relative to the lake root, such as
 * `telemetry/date=2026-11-27/hour=18/part-3.parquet`.
 *
 * **An S3-compatible adapter** (AWS S3, MinIO, Ceph RGW, R2) implements it in a few lines with
 * the SDK of your choice; no staging is needed because an S3 PUT is atomic per object (readers
 * see the whole object or nothing):
 * - `put`: `PutObject { Bucket, Key: prefix + key, Body: bytes, IfNoneMatch: '*' }`. The
 *   conditional header makes the put no-replace (S3 answers `412 Precondition Failed` when the key
 *   exists); translate that into an error whose `code` is `'EEXIST'` so the lake tries the next
 *   part number. Resolve only after the PUT returned 200 (the object is then durable).
 * - `list`: `ListObjectsV2 { Prefix }`, following `ContinuationToken`, returning the keys that
 *   end in `.parquet`.
 * - `remove` (optional): `DeleteObject`. `cleanup` is not needed (there are no temp objects;
 *   abort incomplete multipart uploads with a bucket lifecycle rule if you use them).
 *
 * @example
 * ```ts
 * import type { LakeStore } from '@outpost/pipeline';
 * const objects = new Map<string, Uint8Array>();
 * const memoryStore: LakeStore = {
 *   async put(key, bytes) {
 *     if (objects.has(key)) throw Object.assign(new Error(`${key} exists`), { code: 'EEXIST' });
 *     objects.set(key, bytes);
 *   },
 *   async list(prefix) { return [...objects.keys()].filter((k) => k.startsWith(prefix)); },
 * };
 * ```
 */
export interface LakeStore {
  /**
   * Stores `bytes` under `key` atomically and durably, never replacing an existing object:
   * when `key` exists, rejects with an error whose `code` is `'EEXIST'`. Resolves when the
   * object is durable and visible in full; a failed put leaves nothing visible under `key`.
   */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** Keys of the `.parquet` objects under `prefix` (a `/`-terminated key prefix). */
  list(prefix: string): Promise<string[]>;
  /** Removes an object; used to roll back the other files of a batch whose commit failed. */
  remove?(key: string): Promise<void>;
  /** Removes leftovers of interrupted puts under `prefix`; returns how many were removed. */
  cleanup?(prefix: string): Promise<number>;
}

/**
 * The file-system calls {@link localLakeStore} makes: `node:fs/promises` by default, or a
 * wrapper that injects failures (ENOSPC, EIO) in tests.
 *
 * @example
 * ```ts
 * import type { LakeFs } from '@outpost/pipeline';
 * // A disk that is full when a file is linked into place (pass it as localLakeStore(dir, { fs })).
 * const diskFull = (fs: LakeFs): LakeFs => ({
 *   ...fs,
 *   link: async () => { throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }); },
 * });
 * ```
 */
export type LakeFs = Pick<typeof fsp, 'mkdir' | 'open' | 'link' | 'unlink' | 'readdir' | 'stat'>;

/** Options of {@link localLakeStore}. */
export interface LocalLakeStoreOptions {
  /** File-system layer; `node:fs/promises` by default. */
  readonly fs?: LakeFs;
  /**
   * Temp files of another host (or of a live process that cannot be probed) older than this are
   * removed by `cleanup`; temp files of dead processes on this host always are. Default 1 hour.
   */
  readonly staleTempMs?: number;
}

const TEMP_SUFFIX = '.tmp';

function tempName(): string {
  return `.inflight_${encodeURIComponent(hostname())}_${process.pid}_${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The default {@link LakeStore}: files under `root` on the local file system.
 *
 * A put writes the bytes to a temp file in the destination directory (`.inflight_…tmp`, which
 * no `*.parquet` glob matches; same directory, so same file system), fsyncs it, links it to the
 * final name (`link()` fails with EEXIST instead of replacing, so two processes writing the same
 * lake never overwrite each other's parts), unlinks the temp name and fsyncs the directory (and
 * the parents of directories it created). A crash at any point leaves either no file or a
 * complete one under the final name, plus at most a temp file that `cleanup` removes.
 *
 * @example
 * ```ts
 * import { localLakeStore } from '@outpost/pipeline';
 * import { mkdtempSync, rmSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * // What `createLake({ dir })` uses (e.g. dir = /var/lib/outpost/lake).
 * const dir = mkdtempSync(join(tmpdir(), 'lake-'));
 * const store = localLakeStore(dir, { staleTempMs: 600_000 });
 * await store.put('telemetry/date=2026-11-27/hour=18/part-0.parquet', new Uint8Array([1, 2, 3]));
 * await store.list('telemetry/'); // ['telemetry/date=2026-11-27/hour=18/part-0.parquet']
 * await store.put('telemetry/date=2026-11-27/hour=18/part-0.parquet', new Uint8Array([4])).catch((e: { code?: string }) => e.code); // 'EEXIST'
 * rmSync(dir, { recursive: true });
 * ```
 */
export function localLakeStore(root: string, options: LocalLakeStoreOptions = {}): LakeStore {
  if (typeof root !== 'string') throw new TypeError(`root: expected a directory path string, got ${describe(root)}`);
  if (root.length === 0) throw new RangeError(`root: expected a non-empty path, got ''`);
  if (!isPlainObject(options as unknown)) throw new TypeError(`options: expected an object, got ${describe(options)}`);
  const fs: LakeFs = options.fs ?? fsp;
  const staleTempMs = intOption('staleTempMs', options.staleTempMs, 3_600_000, 0);
  const host = encodeURIComponent(hostname());
  const pathOf = (key: string): string => join(root, ...key.split('/'));
  const keyOf = (path: string): string => path.slice(root.length).split(sep).filter((s) => s !== '').join('/');

  return {
    put: (key, bytes) => putFile(fs, pathOf(key), bytes),
    async list(prefix) {
      const out: string[] = [];
      await walk(fs, pathOf(prefix), out, (n) => n.endsWith('.parquet'));
      return out.map(keyOf).sort();
    },
    async remove(key) {
      const final = pathOf(key);
      await fs.unlink(final);
      await fsyncDir(fs, dirname(final));
    },
    async cleanup(prefix) {
      const temps: string[] = [];
      await walk(fs, pathOf(prefix), temps, (n) => n.startsWith('.inflight_') && n.endsWith(TEMP_SUFFIX));
      let removed = 0;
      for (const t of temps) {
        if (!(await isStaleTemp(fs, t, host, staleTempMs))) continue;
        await fs.unlink(t).catch(() => undefined);
        removed++;
      }
      return removed;
    },
  };
}

async function fsyncDir(fs: LakeFs, dir: string): Promise<void> {
  const h = await fs.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

async function walk(fs: LakeFs, dir: string, out: string[], want: (name: string) => boolean): Promise<void> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(fs, p, out, want);
    else if (e.isFile() && want(e.name)) out.push(p);
  }
}

/** Writes `bytes` to a new file `path` (exclusive create) and fsyncs it. */
async function writeSynced(fs: LakeFs, path: string, bytes: Uint8Array): Promise<void> {
  const h = await fs.open(path, 'wx', 0o644);
  try {
    let off = 0;
    while (off < bytes.length) {
      const { bytesWritten } = await h.write(bytes, off, bytes.length - off);
      off += bytesWritten;
    }
    await h.sync();
  } finally {
    await h.close();
  }
}

/** The put of {@link localLakeStore}: temp file, fsync, no-replace link, directory fsync(s). */
async function putFile(fs: LakeFs, final: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(final);
  const created = await fs.mkdir(dir, { recursive: true });
  const temp = join(dir, tempName());
  let linked = false;
  try {
    await writeSynced(fs, temp, bytes);
    await fs.link(temp, final); // EEXIST instead of replacing: no-replace commit
    linked = true;
  } finally {
    await fs.unlink(temp).catch(() => undefined);
  }
  if (!linked) return;
  try {
    await fsyncDir(fs, dir);
    if (created !== undefined) {
      // New partition directories: their entries in the parents must be durable too.
      for (let d = dir; d.length >= created.length; d = dirname(d)) await fsyncDir(fs, dirname(d));
    }
  } catch (err) {
    // Not durable: take the file back so a retry under another number cannot duplicate it.
    await fs.unlink(final).catch(() => undefined);
    throw err;
  }
}

/** A temp file of a dead process on this host (or our own), or one older than `staleTempMs`. */
async function isStaleTemp(fs: LakeFs, t: string, host: string, staleTempMs: number): Promise<boolean> {
  const parts = t.slice(dirname(t).length + 1, -TEMP_SUFFIX.length).split('_');
  const pid = Number(parts[parts.length - 2]);
  const tHost = parts.slice(1, -2).join('_');
  if (tHost === host && Number.isInteger(pid) && (pid === process.pid || !pidAlive(pid))) return true;
  const st = await fs.stat(t).catch(() => undefined);
  return st !== undefined && Date.now() - st.mtimeMs > staleTempMs;
}
