// A device's certificate and key on disk, and the crash-safe swap of a rotation. Every write is
// a new file (create, write, fsync, close), a rename over the old name and an fsync of the
// directory, through an injectable file system so that a test can cut power between any two
// operations.
//
//   <dir>/<id>.pem       the current certificate bundle      <dir>/<id>.key       its key (0600)
//   <dir>/<id>.next.pem  a rotated certificate, not promoted <dir>/<id>.next.key  its key (0600)
// (or any two paths: `x.pem` / `y.key` with `x.next.pem` / `y.next.key`).
//
// Promotion renames next.key over <id>.key, then next.pem over <id>.pem. Two renames are not
// atomic together, so reading pairs by their public keys recovers every intermediate state: a
// cut between the renames leaves <id>.key (new) with <id>.next.pem (new), which `load` completes.

import { createPrivateKey, createPublicKey, randomBytes, X509Certificate } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** An open file being written: data is durable only after `sync()`. */
export interface CredentialWriteHandle {
  write(data: string): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The file operations of the credential store (`provisionByClaim`, `rotateCertificate`); the
 * default is `node:fs`. A new file's directory entry, and a rename, are durable only after
 * {@link CredentialFileSystem.syncDir} on its directory.
 */
export interface CredentialFileSystem {
  /** The file's text, or `undefined` when it does not exist. */
  readFile(path: string): Promise<string | undefined>;
  /** Creates `path` (never over an existing file) with `mode`, for writing. */
  create(path: string, mode: number): Promise<CredentialWriteHandle>;
  /** Atomically replaces `to` with `from`. */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file; no error when it does not exist. */
  unlink(path: string): Promise<void>;
  /** `fsync(2)` on the directory: makes its creates, renames and unlinks durable. */
  syncDir(dir: string): Promise<void>;
  mkdir(dir: string): Promise<void>;
}

const missing = (err: unknown): boolean => (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';

/**
 * The default {@link CredentialFileSystem}, over `node:fs`.
 *
 * @example
 * ```ts
 * import { nodeCredentialFileSystem } from '@outpost/device-sdk';
 * await nodeCredentialFileSystem().readFile('/nonexistent/outpost.pem'); // undefined
 * ```
 */
export function nodeCredentialFileSystem(): CredentialFileSystem {
  return {
    async readFile(path) {
      try {
        return await readFile(path, 'utf8');
      } catch (err) {
        if (missing(err)) return undefined;
        throw err;
      }
    },
    async create(path, mode) {
      const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
      return { write: async (d) => void (await fh.writeFile(d)), sync: () => fh.sync(), close: () => fh.close() };
    },
    rename: (from, to) => rename(from, to),
    async unlink(path) {
      try {
        await unlink(path);
      } catch (err) {
        if (!missing(err)) throw err;
      }
    },
    async syncDir(dir) {
      const fh = await open(dir, constants.O_RDONLY);
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    },
    mkdir: async (dir) => void (await mkdir(dir, { recursive: true })),
  };
}

/**
 * Crash-safe replace through a {@link CredentialFileSystem}: a temporary file in the same
 * directory, fsync, rename over `path`, fsync of the directory. After a power cut, `path` holds
 * the old text or the new one, never a torn one.
 *
 * @example
 * ```ts
 * import { nodeCredentialFileSystem, writeDurable } from '@outpost/device-sdk';
 * import { mkdtempSync, readFileSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const path = join(mkdtempSync(join(tmpdir(), 'outpost-example-')), 'a.pem');
 * await writeDurable(nodeCredentialFileSystem(), path, 'text', 0o600);
 * readFileSync(path, 'utf8'); // 'text'
 * ```
 */
export async function writeDurable(fs: CredentialFileSystem, path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  const fh = await fs.create(tmp, mode);
  try {
    await fh.write(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, path);
  await fs.syncDir(dirname(path));
}

/** A certificate bundle and its key, and where they are. */
export interface CredentialPair {
  readonly cert: string;
  readonly key: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly notAfter: Date;
  readonly notBefore: Date;
  /** AWS's certificate id: the SHA-256 of the (leaf) certificate DER, hex. */
  readonly certificateId: string;
}

/** The certificate's key and `key` are one pair (false for anything unparsable). */
function pairOf(cert: string | undefined, key: string | undefined, certPath: string, keyPath: string): CredentialPair | undefined {
  if (cert === undefined || key === undefined) return undefined;
  try {
    const x = new X509Certificate(cert);
    const mine = createPublicKey(createPrivateKey(key)).export({ type: 'spki', format: 'der' });
    if (!Buffer.from(x.publicKey.export({ type: 'spki', format: 'der' })).equals(mine)) return undefined;
    const certificateId = x.fingerprint256.replaceAll(':', '').toLowerCase();
    return { cert, key, certPath, keyPath, notAfter: new Date(x.validTo), notBefore: new Date(x.validFrom), certificateId };
  } catch {
    return undefined;
  }
}

/** `a/b.pem` → `a/b.next.pem`; `a/b` → `a/b.next`. */
const nextPath = (p: string): string => p.replace(/(\.[^./]*)?$/, '.next$1');

/** One device's credential files: `<dir>/<id>.pem` and `.key`, or any two paths. */
export class CredentialStore {
  readonly nextCertPath: string;
  readonly nextKeyPath: string;

  constructor(readonly fs: CredentialFileSystem, readonly certPath: string, readonly keyPath: string) {
    this.nextCertPath = nextPath(certPath);
    this.nextKeyPath = nextPath(keyPath);
  }

  static inDir(fs: CredentialFileSystem, dir: string, deviceId: string): CredentialStore {
    return new CredentialStore(fs, join(dir, `${deviceId}.pem`), join(dir, `${deviceId}.key`));
  }

  /** fsync of the directories holding the files (one, usually). */
  async #syncDirs(): Promise<void> {
    for (const d of new Set([dirname(this.certPath), dirname(this.keyPath)])) await this.fs.syncDir(d);
  }

  /**
   * The current pair and a rotated pair waiting for promotion, after completing a promotion a
   * power cut interrupted (the new key already at `<id>.key`, the new certificate still at
   * `<id>.next.pem`).
   */
  async load(): Promise<{ current: CredentialPair | undefined; next: CredentialPair | undefined }> {
    const [cert, key, nextCert, nextKey] = await Promise.all([this.certPath, this.keyPath, this.nextCertPath, this.nextKeyPath].map((p) => this.fs.readFile(p)));
    const current = pairOf(cert, key, this.certPath, this.keyPath);
    if (current === undefined) {
      const half = pairOf(nextCert, key, this.nextCertPath, this.keyPath);
      if (half !== undefined) {
        await this.fs.rename(this.nextCertPath, this.certPath);
        await this.#syncDirs();
        return { current: { ...half, certPath: this.certPath }, next: undefined };
      }
    }
    return { current, next: pairOf(nextCert, nextKey, this.nextCertPath, this.nextKeyPath) };
  }

  /** Writes the current pair (provisioning): the key first, each durably. */
  async writeCurrent(cert: string, key: string): Promise<void> {
    await this.fs.mkdir(dirname(this.keyPath));
    await this.fs.mkdir(dirname(this.certPath));
    await writeDurable(this.fs, this.keyPath, key, 0o600);
    await writeDurable(this.fs, this.certPath, cert, 0o644);
  }

  /** Writes a rotated pair next to the current one: the key first, each durably. */
  async writeNext(cert: string, key: string): Promise<void> {
    await writeDurable(this.fs, this.nextKeyPath, key, 0o600);
    await writeDurable(this.fs, this.nextCertPath, cert, 0o644);
  }

  /** Drops a rotated pair the service no longer honours. */
  async discardNext(): Promise<void> {
    await this.fs.unlink(this.nextCertPath);
    await this.fs.unlink(this.nextKeyPath);
    await this.#syncDirs();
  }

  /** Next → current: the key, then the certificate (see `load` for a cut in between). */
  async promote(): Promise<void> {
    await this.fs.rename(this.nextKeyPath, this.keyPath);
    await this.fs.rename(this.nextCertPath, this.certPath);
    await this.#syncDirs();
  }
}
