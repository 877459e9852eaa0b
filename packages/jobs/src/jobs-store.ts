// Where the jobs service keeps jobs and executions. The file store is a snapshot plus an
// append-only journal of commits, one JSON line per commit with its checksum
// (jobs-store-frame.ts; group commit: the commits that
// arrive while one fsync runs share the next). A commit resolves only after its line is
// fsynced, so an acknowledged change survives a power cut; a torn last line (never
// acknowledged) is cut off when the store opens. Past `compactBytes` the state is written to a
// new snapshot generation (temp, fsync, rename, fsync of the directory) and the old journal
// is removed.
import { join } from 'node:path';
import { JobsError } from './errors.js';
import { nodeJobsFileSystem, type JobsFileSystem } from './jobs-fs.js';
import { frameLine, frameSnapshot, readLine, readSnapshot } from './jobs-store-frame.js';
import type { JobsChange } from './jobs-machine.js';
import { isPlainObject, type ExecutionRecord, type JobRecord } from './jobs-model.js';

/**
 * Every record of a store.
 *
 * @example
 * ```ts
 * import type { StoredJobs } from '@outpost/jobs';
 * const count = (s: StoredJobs): number => s.executions.length;
 * ```
 */
export interface StoredJobs {
  readonly jobs: readonly JobRecord[];
  readonly executions: readonly ExecutionRecord[];
}

/**
 * The storage of a jobs service. `commit` resolves once the changes are durable (as durable as
 * the store promises); commits land in call order, each whole or not at all.
 *
 * @example
 * ```ts
 * import type { JobsStore } from '@outpost/jobs';
 * const jobsIn = async (s: JobsStore): Promise<number> => (await s.load()).jobs.length;
 * ```
 */
export interface JobsStore {
  load(): Promise<StoredJobs>;
  commit(changes: readonly JobsChange[]): Promise<void>;
  close(): Promise<void>;
}

const rkey = (c: JobsChange): string => (c.kind === 'job' ? `j/${c.record.jobId}` : `e/${c.record.thingName}/${c.record.jobId}`);

function toStored(map: ReadonlyMap<string, JobsChange>): StoredJobs {
  const jobs: JobRecord[] = [];
  const executions: ExecutionRecord[] = [];
  for (const c of map.values()) {
    if (c.kind === 'job') jobs.push(c.record);
    else executions.push(c.record);
  }
  return { jobs, executions };
}

/**
 * A store in memory (lost on exit): tests and development.
 *
 * @example
 * ```ts
 * import { MemoryJobsStore } from '@outpost/jobs';
 * const store = new MemoryJobsStore();
 * (await store.load()).jobs.length; // 0
 * ```
 */
export class MemoryJobsStore implements JobsStore {
  private readonly map = new Map<string, JobsChange>();
  async load(): Promise<StoredJobs> {
    return structuredClone(toStored(this.map));
  }
  async commit(changes: readonly JobsChange[]): Promise<void> {
    for (const c of changes) this.map.set(rkey(c), structuredClone(c));
  }
  async close(): Promise<void> {}
}

/**
 * Options of {@link openFileJobsStore}.
 *
 * @example
 * ```ts
 * import type { FileJobsStoreOptions } from '@outpost/jobs';
 * const o: FileJobsStoreOptions = { dir: '/var/lib/outpost/jobs', compactBytes: 1 << 20 };
 * ```
 */
export interface FileJobsStoreOptions {
  /** Directory of the store (created when missing): `snapshot.json` and `journal-{generation}.jsonl`. */
  readonly dir: string;
  /** Journal size past which the state is compacted into a new snapshot. Default 8 MiB. */
  readonly compactBytes?: number;
  /** The file layer. Default {@link nodeJobsFileSystem}. */
  readonly fs?: JobsFileSystem;
  /** Called with the byte count of a torn tail cut off on open. */
  readonly onRepair?: (droppedBytes: number) => void;
}

function isChange(v: unknown): v is JobsChange {
  if (!isPlainObject(v) || !isPlainObject(v['record'])) return false;
  const r = v['record'];
  if (v['kind'] === 'job') return typeof r['jobId'] === 'string' && Array.isArray(r['targets']) && typeof r['seq'] === 'number';
  return v['kind'] === 'exec' && typeof r['jobId'] === 'string' && typeof r['thingName'] === 'string' && typeof r['versionNumber'] === 'number' && typeof r['status'] === 'string';
}


class FileJobsStore implements JobsStore {
  private readonly map = new Map<string, JobsChange>();
  private gen = 0;
  private journalBytes = 0;
  private newJournal = true;
  private pending: Array<{ line: Uint8Array; changes: readonly JobsChange[]; done: (err?: unknown) => void }> = [];
  private flushing: Promise<void> | undefined;
  private broken: unknown;
  private closed = false;

  constructor(private readonly dir: string, private readonly fs: JobsFileSystem, private readonly compactBytes: number, private readonly onRepair?: (n: number) => void) {}

  private get snapshotPath(): string {
    return join(this.dir, 'snapshot.json');
  }

  private journalPath(gen = this.gen): string {
    return join(this.dir, `journal-${gen}.jsonl`);
  }

  async open(): Promise<void> {
    await this.fs.mkdir(this.dir);
    await this.fs.unlink(`${this.snapshotPath}.tmp`);
    const snap = await this.fs.readFile(this.snapshotPath);
    if (snap !== undefined) {
      const v = readSnapshot(snap);
      if (v === undefined) throw new JobsError('STORE_CORRUPT', `${this.snapshotPath} is damaged (its checksum does not match, or it is not JSON)`);
      if (!isPlainObject(v) || (v['format'] !== 1 && v['format'] !== 2) || typeof v['gen'] !== 'number' || !Array.isArray(v['records']) || !v['records'].every(isChange)) {
        throw new JobsError('STORE_CORRUPT', `${this.snapshotPath} is not a jobs snapshot`);
      }
      this.gen = v['gen'];
      for (const c of v['records'] as JobsChange[]) this.map.set(rkey(c), c);
    }
    // A crash after a compaction's rename may leave the previous generation's journal behind.
    if (this.gen > 0) await this.fs.unlink(this.journalPath(this.gen - 1));
    await this.replay();
  }

  // Complete lines end in '\n'. A last line without one, or that is not JSON, is a torn append
  // (never acknowledged: a commit resolves after its whole line is fsynced) and is cut off. A bad
  // line before a good one is corruption, not a tear: refused.
  private async replay(): Promise<void> {
    const path = this.journalPath();
    const bytes = await this.fs.readFile(path);
    if (bytes === undefined) return;
    let start = 0;
    for (let line = 1; ; line++) {
      const nl = bytes.indexOf(0x0a, start);
      if (nl < 0) break;
      const batch = readLine(bytes.subarray(start, nl));
      if (batch === undefined) {
        if (bytes.indexOf(0x0a, nl + 1) < 0) break;
        throw new JobsError('STORE_CORRUPT', `${path}: line ${line} is damaged (its checksum does not match, or it is not JSON)`);
      }
      if (!Array.isArray(batch) || !batch.every(isChange)) throw new JobsError('STORE_CORRUPT', `${path}: line ${line} is not a commit`);
      for (const c of batch) this.map.set(rkey(c), c);
      start = nl + 1;
    }
    this.journalBytes = start;
    this.newJournal = false;
    if (start < bytes.length) {
      // Rewrite the complete lines atomically, so nothing is ever appended behind a torn one.
      await this.atomicWrite(path, bytes.subarray(0, start));
      this.onRepair?.(bytes.length - start);
    }
  }

  private async atomicWrite(path: string, data: Uint8Array): Promise<void> {
    const tmp = `${path}.tmp`;
    const fh = await this.fs.openWrite(tmp);
    try {
      await fh.write(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await this.fs.rename(tmp, path);
    await this.fs.syncDir(this.dir);
  }

  async load(): Promise<StoredJobs> {
    return structuredClone(toStored(this.map));
  }

  commit(changes: readonly JobsChange[]): Promise<void> {
    if (this.closed) return Promise.reject(new JobsError('CLOSED', 'commit: the job store is closed'));
    if (this.broken !== undefined) return Promise.reject(new JobsError('STORE_CORRUPT', 'commit: an earlier write failed; reopen the store', this.broken));
    if (changes.length === 0) return Promise.resolve();
    const line = frameLine(JSON.stringify(changes));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line, changes, done: (err) => { if (err === undefined) resolve(); else reject(err as Error); } });
      this.flushing ??= this.flush();
    });
  }

  /** Writes every queued commit with one write and one fsync, then the next group. */
  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const group = this.pending;
      this.pending = [];
      try {
        if (this.broken !== undefined) throw new JobsError('STORE_CORRUPT', 'an earlier write failed; reopen the store', this.broken);
        const size = group.reduce((n, g) => n + g.line.length, 0);
        const buf = new Uint8Array(size);
        let at = 0;
        for (const g of group) { buf.set(g.line, at); at += g.line.length; }
        const fh = await this.fs.openAppend(this.journalPath());
        try {
          await fh.write(buf);
          await fh.sync();
        } finally {
          await fh.close();
        }
        if (this.newJournal) {
          await this.fs.syncDir(this.dir); // the new journal's directory entry
          this.newJournal = false;
        }
        this.journalBytes += size;
        for (const g of group) for (const c of g.changes) this.map.set(rkey(c), c);
        for (const g of group) g.done();
        if (this.journalBytes >= this.compactBytes) await this.compact();
      } catch (err) {
        // What reached the disk is unknown: refuse further commits until the store is reopened.
        this.broken ??= err;
        for (const g of group) g.done(err);
      }
    }
    this.flushing = undefined;
  }

  private async compact(): Promise<void> {
    const next = this.gen + 1;
    const snap = frameSnapshot(JSON.stringify({ format: 2, gen: next, records: [...this.map.values()] }));
    await this.atomicWrite(this.snapshotPath, snap);
    const old = this.journalPath();
    this.gen = next;
    this.journalBytes = 0;
    this.newJournal = true;
    await this.fs.unlink(old);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flushing;
  }
}

/**
 * Opens (creating when needed) a durable job store in a directory: a snapshot plus an
 * append-only journal with group commit. A commit resolves after fsync; a torn last journal
 * line is cut off on open (`onRepair`); after a failed write the store refuses commits
 * (`STORE_CORRUPT`) until reopened, since what reached the disk is unknown.
 *
 * @throws TypeError for a wrong option; {@link JobsError} `STORE_CORRUPT` when a file holds more than a torn last write.
 * @example
 * ```ts
 * import { openFileJobsStore, JobsMachine } from '@outpost/jobs';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const dir = mkdtempSync(join(tmpdir(), 'jobs-'));
 * const store = await openFileJobsStore({ dir });
 * await store.commit(new JobsMachine().createJob({ jobId: 'j1', document: {}, targets: ['lamp'] }, 0));
 * await store.close();
 * (await (await openFileJobsStore({ dir })).load()).executions.length; // 1
 * ```
 */
export async function openFileJobsStore(options: FileJobsStoreOptions): Promise<JobsStore> {
  if (!isPlainObject(options)) throw new TypeError('openFileJobsStore: options: expected an object');
  if (typeof options.dir !== 'string' || options.dir === '') throw new TypeError('openFileJobsStore: dir: expected a directory path');
  const c = options.compactBytes ?? 8 << 20;
  if (typeof c !== 'number' || !Number.isSafeInteger(c) || c < 1) throw new RangeError(`openFileJobsStore: compactBytes: expected a positive integer, got ${String(c)}`);
  if (options.onRepair !== undefined && typeof options.onRepair !== 'function') throw new TypeError('openFileJobsStore: onRepair: expected a function');
  const s = new FileJobsStore(options.dir, options.fs ?? nodeJobsFileSystem(), c, options.onRepair);
  await s.open();
  return s;
}
