// Segment preallocation, as PostgreSQL does for WAL segments (it zero-fills a new segment so that
// an fdatasync on append need not journal a size or extent change). While the current segment
// fills, the next file is written full of zeros under a temporary name, fdatasynced and renamed
// `segment.prep`; the next rotation renames it to the new segment's name instead of creating an
// empty file. A durable write into it overwrites allocated, initialised blocks without changing the
// file size, so on ext4 its O_DSYNC write (or fdatasync) flushes data only, no journal commit.
//
// Recovery reads zeros after the last valid frame as unwritten space (scan.ts); the writer
// truncates a segment to its logical end when it closes it (rotation, close), so sealed segments
// hold exactly their records. Only plain FileSystem calls are used (open/write/sync/rename/
// unlink), so every fault-injecting file system covers these steps.

import { join } from 'node:path';
import type { FileHandle, FileSystem } from './fs.js';
import type { Segment } from './store.js';

/** A zero-filled, durable file, ready to become the next segment. */
export const PREP_FILE = 'segment.prep';
/** The file being zero-filled; removed at open (a crash while preparing leaves it behind). */
export const PREP_TMP = 'segment.prep.tmp';
/** Zeros written per call; the writer yields a turn between calls so appends interleave. */
const CHUNK = 256 * 1024;

const isMissing = (err: unknown): boolean => (err as { code?: unknown }).code === 'ENOENT';

async function unlinkIfPresent(fs: FileSystem, path: string): Promise<void> {
  try {
    await fs.unlink(path);
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Prepares the next segment file in the background. */
export class Preparer {
  readonly #fs: FileSystem;
  readonly #dir: string;
  readonly #size: number;
  #ready: boolean;
  #task: Promise<void> | undefined;
  #stopped = false;
  /** Files prepared and taken (for tests and stats). */
  taken = 0;

  constructor(fs: FileSystem, dir: string, size: number, ready: boolean) {
    this.#fs = fs;
    this.#dir = dir;
    this.#size = size;
    this.#ready = ready;
  }

  /**
   * At open: removes a half-prepared file; keeps a prepared one of the right size (reused), else
   * removes it. With preallocation off, removes both. Resolves whether one is ready.
   */
  static async init(fs: FileSystem, dir: string, size: number, enabled: boolean): Promise<boolean> {
    const names = await fs.readdir(dir);
    if (names.includes(PREP_TMP)) await unlinkIfPresent(fs, join(dir, PREP_TMP));
    if (!names.includes(PREP_FILE)) return false;
    if (enabled) {
      const f = await fs.open(join(dir, PREP_FILE), 'read');
      let fileSize: number;
      try {
        fileSize = await f.size();
      } finally {
        await f.close().catch(() => undefined);
      }
      if (fileSize === size) return true;
    }
    await unlinkIfPresent(fs, join(dir, PREP_FILE));
    return false;
  }

  /** Starts preparing a file unless one is ready or being prepared. Failures are silent: the next rotation creates an empty file. */
  start(): void {
    if (this.#ready || this.#task !== undefined || this.#stopped) return;
    this.#task = this.#prepare().then(
      () => {
        this.#ready = !this.#stopped || this.#ready;
      },
      () => undefined,
    ).finally(() => {
      this.#task = undefined;
    });
  }

  async #prepare(): Promise<void> {
    const fs = this.#fs;
    const tmp = join(this.#dir, PREP_TMP);
    try {
      const f = await fs.open(tmp, 'create');
      try {
        const zeros = new Uint8Array(Math.min(CHUNK, this.#size));
        for (let at = 0; at < this.#size; at += zeros.length) {
          if (this.#stopped) throw new Error('preparation stopped');
          await f.write(at + zeros.length > this.#size ? zeros.subarray(0, this.#size - at) : zeros, at);
          await turn();
        }
        await f.sync();
      } finally {
        await f.close().catch(() => undefined);
      }
      if (this.#stopped) throw new Error('preparation stopped');
      // No directory sync: if the rename is lost, open removes the temporary file.
      await fs.rename(tmp, join(this.#dir, PREP_FILE));
    } catch (err) {
      await unlinkIfPresent(fs, tmp).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Renames the prepared file to `path` if one is ready; resolves whether it did (else the caller
   * creates an empty file). The caller syncs the directory after its first durable write.
   */
  async take(path: string): Promise<boolean> {
    if (!this.#ready) return false;
    this.#ready = false;
    try {
      await this.#fs.rename(join(this.#dir, PREP_FILE), path);
    } catch {
      return false;
    }
    this.taken++;
    return true;
  }

  /** Opens a new segment's file: the prepared one if ready (`seg.prealloc`), else a new empty file; starts preparing the next. */
  async open(seg: Segment): Promise<FileHandle> {
    const taken = await this.take(seg.path);
    this.start();
    if (!taken) return this.#fs.open(seg.path, 'create');
    seg.prealloc = true;
    return this.#fs.open(seg.path, 'readwrite');
  }

  /** Stops preparing (a half-written file is removed); a ready file stays for the next open. */
  async stop(): Promise<void> {
    this.#stopped = true;
    while (this.#task !== undefined) await this.#task;
  }
}

/**
 * A preallocated segment is cut to its logical end when the writer is done with it, so a closed
 * segment holds exactly its records (the seal's sizes, `inspect`). Best effort: if this fails, the
 * next open reads the zeros after the last frame as unwritten space and cuts them.
 */
export async function trimSegment(seg: Segment, h: FileHandle): Promise<void> {
  if (!seg.prealloc) return;
  seg.prealloc = false;
  try {
    await h.truncate(seg.good);
    await h.sync();
  } catch {
    // see above
  }
}
