// A download target that survives kill -9 and power cuts: bytes go to `<path>.part` in order,
// a SHA-256 runs over the written prefix, and `<path>.journal` records the last durable offset.
// Order of durability: the data is fsync'd before the journal that names it is renamed into
// place (write tmp → fsync → rename), so a journal never points past durable data.
import { createHash, type Hash } from 'node:crypto';
import { open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { JobsError } from '../errors.js';

/** Outcome of a finished download (MQTT stream, HTTP or CoAP). */
export interface DownloadResult {
  readonly size: number;
  readonly sha256: Uint8Array;
  /** Byte offset found in the journal (0 for a fresh start); a source that changed since starts over (`restarts`). */
  readonly resumedFrom: number;
  /** Milliseconds spent re-hashing the resumed prefix. */
  readonly rehashMs: number;
}

/** What the journal remembers besides the offset (an HTTP ETag, a stream version, a block size). */
export type ResumeMeta = Readonly<Record<string, string | number>>;

/** Options of {@link ResumableFile.open}. */
export interface ResumableOptions {
  /** Final path; the partial file is `<path>.part`, the journal `<path>.journal`. */
  readonly path: string;
  /** Identity of the source (URL, stream and file id); a journal of another source is discarded. */
  readonly source: string;
  /** Expected SHA-256 of the whole file (32 bytes). */
  readonly sha256: Uint8Array;
  /** Expected size, when known up front. */
  readonly size?: number;
  /** Journal after at least this many new bytes. Default 1 MiB. */
  readonly journalEveryBytes?: number;
  /** Checks block `index` of the resumed prefix (MQTT block digests); the prefix is cut at the first bad block. */
  readonly blockCheck?: { readonly blockSize: number; check(index: number, bytes: Uint8Array): boolean };
}

interface Journal {
  readonly v: 1;
  readonly source: string;
  readonly sha256: string;
  readonly size: number | null;
  readonly offset: number;
  readonly meta: ResumeMeta;
}

const REHASH_CHUNK = 1 << 20;
/** Appends are gathered up to this many bytes per write. */
const WRITE_CHUNK = 256 * 1024;

async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

async function readJournal(path: string): Promise<Journal | undefined> {
  try {
    const j = JSON.parse(await readFile(path, 'utf8')) as Partial<Journal>;
    if (j.v !== 1 || typeof j.source !== 'string' || typeof j.offset !== 'number' || typeof j.sha256 !== 'string' || !Number.isSafeInteger(j.offset) || j.offset < 0) return undefined;
    return { v: 1, source: j.source, sha256: j.sha256, size: typeof j.size === 'number' ? j.size : null, offset: j.offset, meta: typeof j.meta === 'object' && j.meta !== null ? j.meta : {} };
  } catch {
    return undefined; // missing or torn: start over (the data file is then truncated to 0)
  }
}

/**
 * An in-order download target with a running SHA-256 and a crash-safe journal of its durable
 * offset. Internal to the delivery clients; their results report `resumedFrom` and `rehashMs`.
 */
export class ResumableFile {
  private hash: Hash;
  private sinceJournal = 0;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private committing: Promise<void> | undefined;
  private failed: Error | undefined;
  private constructor(
    private readonly o: ResumableOptions,
    private readonly fd: FileHandle,
    /** Bytes written and hashed so far (the next write's position). */
    public offset: number,
    /** Source details remembered with the offset. */
    public meta: ResumeMeta,
    hash: Hash,
    /** Offset this attempt resumed from (0 for a fresh start). */
    readonly resumedFrom: number,
    /** Milliseconds spent re-hashing the resumed prefix. */
    readonly rehashMs: number,
  ) {
    this.hash = hash;
  }

  get partPath(): string {
    return `${this.o.path}.part`;
  }

  /** Opens the partial file, resuming from the journal when it names the same source and digest. */
  static async open(o: ResumableOptions): Promise<ResumableFile> {
    if (typeof o.path !== 'string' || o.path === '') throw new TypeError('path: expected a non-empty string');
    if (!(o.sha256 instanceof Uint8Array) || o.sha256.length !== 32) throw new TypeError('sha256: expected 32 bytes');
    const j = await readJournal(`${o.path}.journal`);
    const fd = await open(`${o.path}.part`, 'a+').then(async (h) => { await h.close(); return open(`${o.path}.part`, 'r+'); });
    const hex = Buffer.from(o.sha256).toString('hex');
    let offset = 0;
    let meta: ResumeMeta = {};
    if (j !== undefined && j.source === o.source && j.sha256 === hex && (o.size === undefined || j.size === o.size)) {
      offset = Math.min(j.offset, (await fd.stat()).size);
      meta = j.meta;
    }
    const t0 = performance.now();
    const hash = createHash('sha256');
    offset = await rehash(fd, offset, hash, o.blockCheck);
    const rehashMs = performance.now() - t0;
    await fd.truncate(offset); // bytes past the durable offset may be torn
    return new ResumableFile(o, fd, offset, meta, hash, offset, rehashMs);
  }

  /**
   * Appends bytes at the current offset and hashes them; journals when due. Small appends are
   * gathered and written together (up to 256 KiB): one write per block would
   * cost a syscall each.
   */
  async append(bytes: Uint8Array): Promise<void> {
    if (this.o.size !== undefined && this.offset + bytes.length > this.o.size) {
      throw new JobsError('BAD_RESPONSE', `download: ${this.offset + bytes.length} bytes exceed the expected size ${this.o.size}`);
    }
    this.hash.update(bytes);
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    this.offset += bytes.length;
    this.sinceJournal += bytes.length;
    if (this.pendingBytes >= WRITE_CHUNK) await this.flush();
    if (this.failed !== undefined) throw this.failed;
    if (this.sinceJournal >= (this.o.journalEveryBytes ?? 1 << 20) && this.committing === undefined) {
      // In the background, one at a time: the journal names only bytes written before its fsync
      // began, so the download goes on while the disk syncs; while one runs, the next waits
      // (a slow disk journals less often instead of slowing the download).
      await this.flush();
      this.sinceJournal = 0;
      this.committing = this.journal(this.offset, this.meta).catch((e: unknown) => { this.failed = e as Error; }).finally(() => { this.committing = undefined; });
    }
  }

  /** Writes the gathered appends at their position. */
  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const bufs = this.pending;
    let pos = this.offset - this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    const all = bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs);
    for (let done = 0; done < all.length; ) {
      const { bytesWritten } = await this.fd.write(all, done, all.length - done, pos);
      done += bytesWritten;
      pos += bytesWritten;
    }
  }

  /** Makes the written prefix durable and records it (and `meta`) in the journal. */
  async commit(): Promise<void> {
    await this.settle();
    await this.flush();
    await this.journal(this.offset, this.meta);
    this.sinceJournal = 0;
  }

  /** Waits for a background journal write; rethrows its failure. */
  private async settle(): Promise<void> {
    if (this.committing !== undefined) await this.committing;
    if (this.failed !== undefined) throw this.failed;
  }

  /**
   * fsync the data, then replace the journal (tmp → fsync → rename). No directory fsync: a
   * rename lost in a power cut leaves the previous journal, whose smaller offset is also durable.
   */
  private async journal(offset: number, meta: ResumeMeta): Promise<void> {
    await this.fd.datasync();
    const j: Journal = { v: 1, source: this.o.source, sha256: Buffer.from(this.o.sha256).toString('hex'), size: this.o.size ?? null, offset, meta };
    const path = `${this.o.path}.journal`;
    const tmp = `${path}.tmp`;
    const h = await open(tmp, 'w');
    try {
      await h.writeFile(JSON.stringify(j));
      await h.sync();
    } finally {
      await h.close();
    }
    await rename(tmp, path);
  }

  /** Starts over at byte 0 (the source changed); `meta` replaces the remembered details. */
  async restart(meta: ResumeMeta): Promise<void> {
    await this.settle();
    this.pending = [];
    this.pendingBytes = 0;
    await this.fd.truncate(0);
    this.offset = 0;
    this.hash = createHash('sha256');
    this.meta = meta;
    await this.commit();
  }

  /**
   * Checks the digest of the whole file and moves it to its final path.
   * @throws JobsError `DIGEST_MISMATCH` (partial file and journal removed).
   */
  async finish(): Promise<Uint8Array> {
    await this.settle();
    const digest = new Uint8Array(this.hash.digest());
    if (Buffer.compare(digest, this.o.sha256) !== 0 || (this.o.size !== undefined && this.offset !== this.o.size)) {
      await this.discard();
      throw new JobsError('DIGEST_MISMATCH', `download: SHA-256 of the ${this.offset} bytes received is ${Buffer.from(digest).toString('hex')}, expected ${Buffer.from(this.o.sha256).toString('hex')}; the partial file was removed`);
    }
    await this.flush();
    await this.fd.sync();
    await this.fd.close();
    await rename(this.partPath, this.o.path);
    await rm(`${this.o.path}.journal`, { force: true });
    await fsyncDir(dirname(this.o.path));
    return digest;
  }

  /** Closes the file, keeping the partial file and journal for a later resume. */
  async close(): Promise<void> {
    try {
      await this.commit();
    } finally {
      await this.fd.close().catch(() => undefined);
    }
  }

  /** Removes the partial file and the journal. */
  async discard(): Promise<void> {
    await this.committing?.catch(() => undefined);
    await this.fd.close().catch(() => undefined);
    await rm(this.partPath, { force: true });
    await rm(`${this.o.path}.journal`, { force: true });
  }
}

/** Re-hashes `[0, offset)`; with a block check, stops before the first block that fails it. */
async function rehash(fd: FileHandle, offset: number, hash: Hash, blockCheck: ResumableOptions['blockCheck']): Promise<number> {
  const step = blockCheck?.blockSize ?? REHASH_CHUNK;
  const buf = new Uint8Array(Math.max(step, 1));
  let pos = 0;
  while (pos < offset) {
    const want = Math.min(step, offset - pos);
    const { bytesRead } = await fd.read(buf, 0, want, pos);
    if (bytesRead < want) break;
    const chunk = buf.subarray(0, bytesRead);
    if (blockCheck !== undefined && !blockCheck.check(pos / step, chunk)) break;
    hash.update(chunk);
    pos += bytesRead;
  }
  return pos;
}
