// Where the reference service keeps documents: a pluggable store. In memory, or one file per
// shadow on disk, replaced atomically (write temp, fsync, rename, fsync directory).

import { createHash } from 'node:crypto';
import { decodeJson as cborDecode, encodeJson as cborEncode } from './cbor.js';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ShadowRecord } from './document-types.js';
import { ShadowError } from './errors.js';
import { clone, describe, isObject, type JsonObject } from './json.js';
import { checkShadowName, checkThingName } from './topics.js';

/**
 * Which shadow: a thing and, for a named shadow, its name.
 *
 * @example
 * ```ts
 * import type { ShadowKey } from '@outpost/shadow';
 * const k: ShadowKey = { thingName: 'lamp', shadowName: 'config' };
 * ```
 */
export interface ShadowKey {
  readonly thingName: string;
  readonly shadowName?: string;
}

/**
 * The storage a {@link ShadowService} keeps documents in. `put` must be durable (or as durable
 * as the store promises) when it resolves: the service publishes `accepted` only after it.
 *
 * @example
 * ```ts
 * import type { ShadowStore } from '@outpost/shadow';
 * const count = async (s: ShadowStore): Promise<number> => (await s.list()).length;
 * ```
 */
export interface ShadowStore {
  get(key: ShadowKey): Promise<ShadowRecord | undefined>;
  put(key: ShadowKey, record: ShadowRecord): Promise<void>;
  /** Every stored shadow (tombstones of deleted shadows included). */
  list(): Promise<ShadowKey[]>;
  close(): Promise<void>;
}

function keyString(k: ShadowKey): string {
  if (!isObject(k)) throw new TypeError(`key: expected { thingName, shadowName? }, got ${describe(k)}`);
  checkThingName(k.thingName, 'key.thingName');
  if (k.shadowName !== undefined) checkShadowName(k.shadowName, 'key.shadowName');
  // "~" is outside both names' alphabets: the mapping is one to one.
  return k.shadowName === undefined ? k.thingName : `${k.thingName}~${k.shadowName}`;
}

function keyOf(s: string): ShadowKey {
  const i = s.indexOf('~');
  return i < 0 ? { thingName: s } : { thingName: s.slice(0, i), shadowName: s.slice(i + 1) };
}

/**
 * A store in memory (lost on exit): for tests and development.
 *
 * @example
 * ```ts
 * import { MemoryShadowStore } from '@outpost/shadow';
 * const store = new MemoryShadowStore();
 * await store.put({ thingName: 'lamp' }, { state: {}, metadata: {}, version: 1, timestamp: 1 });
 * (await store.get({ thingName: 'lamp' }))?.version; // 1
 * ```
 */
export class MemoryShadowStore implements ShadowStore {
  private readonly map = new Map<string, ShadowRecord>();

  async get(key: ShadowKey): Promise<ShadowRecord | undefined> {
    const r = this.map.get(keyString(key));
    return r === undefined ? undefined : (clone(r as unknown as JsonObject) as unknown as ShadowRecord);
  }

  async put(key: ShadowKey, record: ShadowRecord): Promise<void> {
    this.map.set(keyString(key), clone(record as unknown as JsonObject) as unknown as ShadowRecord);
  }

  async list(): Promise<ShadowKey[]> {
    return [...this.map.keys()].map(keyOf);
  }

  async close(): Promise<void> {}
}

const SUFFIX = '.shadow';
// File format 2: MAGIC, a format byte, SHA-256 of the body, then the body (CBOR of { format,
// record }). The digest makes any damaged byte a STORE_CORRUPT instead of a silently different
// document (a flipped byte inside a string or a number still decodes). Format 1 files (the body
// alone, written before the digest) are still read.
const MAGIC = Uint8Array.from([0x4f, 0x53, 0x48, 0x44]); // "OSHD"
const FORMAT = 2;
const HEAD = MAGIC.length + 1 + 32;

function frame(record: ShadowRecord): Uint8Array {
  const body = cborEncode({ format: FORMAT, record: record as unknown as JsonObject });
  const out = new Uint8Array(HEAD + body.length);
  out.set(MAGIC, 0);
  out[MAGIC.length] = FORMAT;
  out.set(createHash('sha256').update(body).digest(), MAGIC.length + 1);
  out.set(body, HEAD);
  return out;
}

/** The body of a stored file: checked against its digest (format 2), or as it is (format 1). */
function unframe(bytes: Uint8Array, file: string): { body: Uint8Array; format: number } {
  if (bytes.length < MAGIC.length || MAGIC.some((b, i) => bytes[i] !== b)) return { body: bytes, format: 1 };
  if (bytes.length < HEAD || bytes[MAGIC.length] !== FORMAT) throw new ShadowError('STORE_CORRUPT', `shadow file ${file}: unknown format or truncated header`);
  const body = bytes.subarray(HEAD);
  const digest = createHash('sha256').update(body).digest();
  if (!digest.equals(bytes.subarray(MAGIC.length + 1, HEAD))) throw new ShadowError('STORE_CORRUPT', `shadow file ${file}: its checksum does not match (damaged on disk)`);
  return { body, format: FORMAT };
}

/**
 * Options of {@link openFileShadowStore}.
 *
 * @example
 * ```ts
 * import type { FileShadowStoreOptions } from '@outpost/shadow';
 * const o: FileShadowStoreOptions = { dir: '/var/lib/outpost/shadows' };
 * ```
 */
export interface FileShadowStoreOptions {
  /** Directory of the store (created if missing). One file per shadow: `{thing}[~{shadow}].shadow`. */
  readonly dir: string;
  /** fsync each file and the directory before `put` resolves. Default true. */
  readonly fsync?: boolean;
}

class FileShadowStore implements ShadowStore {
  private readonly cache = new Map<string, ShadowRecord>();
  private tmpCounter = 0;
  private closed = false;

  constructor(private readonly dir: string, private readonly fsync: boolean) {}

  private file(k: string): string {
    return join(this.dir, k + SUFFIX);
  }

  async get(key: ShadowKey): Promise<ShadowRecord | undefined> {
    const k = keyString(key);
    const cached = this.cache.get(k);
    if (cached !== undefined) return clone(cached as unknown as JsonObject) as unknown as ShadowRecord;
    let bytes: Uint8Array;
    try {
      bytes = await readFile(this.file(k));
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENOENT') return undefined;
      throw err;
    }
    const { body, format } = unframe(bytes, this.file(k));
    let value: unknown;
    try {
      value = cborDecode(body);
    } catch (err) {
      throw new ShadowError('STORE_CORRUPT', `shadow file ${this.file(k)} does not decode`, { cause: err });
    }
    if (!isObject(value) || value['format'] !== format || !isObject(value['record']) || typeof (value['record'] as JsonObject)['version'] !== 'number') {
      throw new ShadowError('STORE_CORRUPT', `shadow file ${this.file(k)}: not a format-${format} shadow record`);
    }
    const r = value['record'] as unknown as ShadowRecord;
    this.cache.set(k, r);
    return clone(r as unknown as JsonObject) as unknown as ShadowRecord;
  }

  async put(key: ShadowKey, record: ShadowRecord): Promise<void> {
    if (this.closed) throw new ShadowError('CLOSED', 'put: the store is closed');
    const k = keyString(key);
    const copy = clone(record as unknown as JsonObject) as unknown as ShadowRecord;
    const target = this.file(k);
    const tmp = `${target}.tmp-${process.pid}-${++this.tmpCounter}`;
    // Write the new version beside the old, make it durable, then swap it in: a crash leaves
    // either the old file or the new one, never a torn one.
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(frame(copy));
      if (this.fsync) await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    if (this.fsync) {
      const d = await open(this.dir, 'r');
      try { await d.sync(); } finally { await d.close(); }
    }
    this.cache.set(k, copy);
  }

  async list(): Promise<ShadowKey[]> {
    const names = await readdir(this.dir);
    return names.filter((n) => n.endsWith(SUFFIX)).map((n) => keyOf(n.slice(0, -SUFFIX.length)));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cache.clear();
  }
}

/**
 * Opens (creating if needed) a durable store with one file per shadow, written atomically:
 * temp file, fsync, rename over the old file, fsync of the directory. Left-over temp files from
 * a crash are removed on open. Files are CBOR.
 *
 * @throws TypeError for a wrong option.
 * @example
 * ```ts
 * import { openFileShadowStore } from '@outpost/shadow';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const store = await openFileShadowStore({ dir: mkdtempSync(join(tmpdir(), 'shadows-')) });
 * await store.put({ thingName: 'lamp' }, { state: { reported: { on: true } }, metadata: {}, version: 3, timestamp: 1 });
 * (await store.get({ thingName: 'lamp' }))?.version; // 3
 * await store.close();
 * ```
 */
export async function openFileShadowStore(options: FileShadowStoreOptions): Promise<ShadowStore> {
  if (!isObject(options)) throw new TypeError(`openFileShadowStore: options: expected an object, got ${describe(options)}`);
  if (typeof options.dir !== 'string' || options.dir === '') throw new TypeError(`openFileShadowStore: dir: expected a directory path, got ${describe(options.dir)}`);
  if (options.fsync !== undefined && typeof options.fsync !== 'boolean') throw new TypeError(`openFileShadowStore: fsync: expected a boolean, got ${describe(options.fsync)}`);
  await mkdir(options.dir, { recursive: true });
  for (const n of await readdir(options.dir)) {
    if (n.includes(SUFFIX + '.tmp-')) await rm(join(options.dir, n), { force: true });
  }
  return new FileShadowStore(options.dir, options.fsync ?? true);
}
