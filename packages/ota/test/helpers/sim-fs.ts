// An in-memory OtaFileSystem that models power loss: file data becomes durable at sync(),
// directory entries (create, rename, unlink) at syncDir(). A crash at operation k throws from
// that operation and from every one after it; crashImage() is what a reboot would find.
// 'eager-metadata' keeps directory changes even without syncDir (but still drops unsynced data),
// the ext4-without-auto_da_alloc failure mode. 'torn' is 'strict' plus the first half of each
// file's unsynced appended bytes: a write cut part-way (a torn last line).
import { dirname } from 'node:path';
import type { OtaFileSystem, OtaWriteHandle } from '../../src/index.js';

interface Inode {
  data: Uint8Array;
  durable: Uint8Array;
}

export class Crash extends Error {
  constructor() {
    super('simulated power cut');
  }
}

export type CrashModel = 'strict' | 'eager-metadata' | 'torn';

export class SimFS implements OtaFileSystem {
  names = new Map<string, Inode>();
  durableNames = new Map<string, Inode>();
  ops = 0;
  crashAt = Infinity;
  crashed = false;
  opLog: string[] = [];

  private step(what: string): void {
    if (this.crashed) throw new Crash();
    this.ops++;
    this.opLog.push(what);
    if (this.ops === this.crashAt) {
      this.crashed = true;
      throw new Crash();
    }
  }

  crashImage(model: CrashModel = 'strict'): SimFS {
    const fs = new SimFS();
    const src = model === 'eager-metadata' ? this.names : this.durableNames;
    const copies = new Map<Inode, Inode>();
    const survives = (i: Inode): Uint8Array => {
      const appended = i.data.length > i.durable.length && i.durable.every((b, k) => i.data[k] === b);
      if (model !== 'torn' || !appended) return i.durable.slice();
      return i.data.slice(0, i.durable.length + Math.ceil((i.data.length - i.durable.length) / 2));
    };
    for (const [name, inode] of src) {
      let c = copies.get(inode);
      if (c === undefined) {
        const kept = survives(inode);
        c = { data: kept, durable: kept.slice() };
        copies.set(inode, c);
      }
      fs.names.set(name, c);
      fs.durableNames.set(name, c);
    }
    return fs;
  }

  async readFile(path: string): Promise<Uint8Array | undefined> {
    this.step(`read ${path}`);
    const i = this.names.get(path);
    return i === undefined ? undefined : i.data.slice();
  }

  async *readChunks(path: string, chunkSize: number): AsyncIterable<Uint8Array> {
    this.step(`readChunks ${path}`);
    const i = this.names.get(path);
    if (i === undefined) return;
    const data = i.data.slice();
    for (let p = 0; p < data.length; p += chunkSize) yield data.subarray(p, p + chunkSize);
  }

  async openWrite(path: string): Promise<OtaWriteHandle> {
    this.step(`openWrite ${path}`);
    const inode: Inode = { data: new Uint8Array(0), durable: new Uint8Array(0) };
    const existing = this.names.get(path);
    // O_TRUNC on an existing file truncates that inode (its durable content too: pessimistic).
    const node = existing ?? inode;
    node.data = new Uint8Array(0);
    if (existing !== undefined) existing.durable = new Uint8Array(0);
    this.names.set(path, node);
    return this.handle(path, node);
  }

  async openAppend(path: string): Promise<OtaWriteHandle> {
    this.step(`openAppend ${path}`);
    let node = this.names.get(path);
    if (node === undefined) {
      node = { data: new Uint8Array(0), durable: new Uint8Array(0) };
      this.names.set(path, node);
    }
    return this.handle(path, node);
  }

  private handle(path: string, node: Inode): OtaWriteHandle {
    return {
      write: async (d) => {
        this.step(`write ${path} ${d.length}`);
        const next = new Uint8Array(node.data.length + d.length);
        next.set(node.data);
        next.set(d, node.data.length);
        node.data = next;
      },
      sync: async () => {
        this.step(`sync ${path}`);
        node.durable = node.data.slice();
      },
      close: async () => {
        this.step(`close ${path}`);
      },
    };
  }

  async rename(from: string, to: string): Promise<void> {
    this.step(`rename ${from} ${to}`);
    const i = this.names.get(from);
    if (i === undefined) throw Object.assign(new Error(`ENOENT ${from}`), { code: 'ENOENT' });
    this.names.delete(from);
    this.names.set(to, i);
  }

  async unlink(path: string): Promise<void> {
    this.step(`unlink ${path}`);
    this.names.delete(path);
  }

  async syncDir(dir: string): Promise<void> {
    this.step(`syncDir ${dir}`);
    for (const name of [...this.durableNames.keys()]) if (dirname(name) === dir) this.durableNames.delete(name);
    for (const [name, i] of this.names) if (dirname(name) === dir) this.durableNames.set(name, i);
  }

  async mkdir(_dir: string): Promise<void> {
    this.step(`mkdir ${_dir}`);
  }

  /** Flips one bit of a stored file (tests of on-disk tampering). */
  flip(path: string, offset: number): void {
    const i = this.names.get(path);
    if (i === undefined) throw new Error(`no ${path}`);
    i.data[offset] = (i.data[offset] as number) ^ 0x01;
    i.durable = i.data.slice();
  }
}

/** A clock whose sleeps resolve when the test advances it. */
export class ManualClock {
  t = 0;
  private waiters: { at: number; resolve: () => void }[] = [];
  now = (): number => this.t;
  sleep = (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise<void>((resolve) => {
      const w = { at: this.t + ms, resolve };
      this.waiters.push(w);
      signal.addEventListener('abort', () => { this.waiters = this.waiters.filter((x) => x !== w); }, { once: true });
    });
  advance(ms: number): void {
    this.t += ms;
    const due = this.waiters.filter((w) => w.at <= this.t);
    this.waiters = this.waiters.filter((w) => w.at > this.t);
    for (const w of due) w.resolve();
  }
}
