// A fleet CA kept in a directory: the CA certificate and key, a registry of issued device
// certificates (so one key or one device id is never certified twice by mistake) and a CRL.
//
//   <dir>/ca.pem         CA certificate (give it to brokers and devices)
//   <dir>/ca.key         CA private key, mode 0600
//   <dir>/registry.json  deviceId → serial, fingerprints, validity; every key ever certified
//   <dir>/crl.pem        revoked device certificates (empty at first), for Mosquitto's crlfile
//   <dir>/chain.pem      (an intermediate CA only) its certificate and those above it, not the root
//   <dir>/root.pem       (an intermediate CA only) the root: the trust anchor of brokers and devices
//
// Every write is atomic (temporary file, fsync, rename). One writer at a time: two processes
// issuing from the same directory at once can lose a registry entry (no lock file yet).

import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PkiError } from './errors.js';
import { assertOptions, checkDeviceId, describe, optionalBoolean, requiredString } from './args.js';
import { issueDeviceCertificate, type DeviceCertificate } from './certificates.js';
import { issueServerCertificate, type IssueServerOptions, type ServerCertificate } from './server-cert.js';
import { exists, writeAtomic } from './atomic-files.js';
import { parseRegistry, sealRegistry } from './registry-seal.js';
import { createRevocationList } from './crl.js';
import { spkiFromPem, sha256Colon } from './keys.js';
import { parseDeviceIdentity, writeDurable, type CredentialFileSystem } from '@outpost/device-sdk';

import type { IssueRegisteredDeviceOptions, RegisteredCertificate, RegisteredDevice, RegistryData as RegistryFile } from './ca-registry.js';

export type { IssueRegisteredDeviceOptions, RegisteredCertificate, RegisteredDevice, RegistryData } from './ca-registry.js';

/** @internal The files of a CA directory. */
export const FILES = { cert: 'ca.pem', key: 'ca.key', registry: 'registry.json', crl: 'crl.pem', chain: 'chain.pem', root: 'root.pem' } as const;

/** @internal */
export function checkDir(fn: string, dir: unknown): string {
  return resolve(requiredString(fn, 'dir', dir));
}

/**
 * Opens a CA directory made by {@link initCaDir}. The key is read only when signing.
 *
 * @throws PkiError `CA_NOT_FOUND` when `dir` holds no CA.
 * @example
 * ```ts
 * import { initCaDir, openCaDir } from '@outpost/pki';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const dir = join(mkdtempSync(join(tmpdir(), 'outpost-example-')), 'ca');
 * await initCaDir(dir);
 * const ca = await openCaDir(dir);
 * ca.devices(); // []
 * ```
 */
export async function openCaDir(dir: string, options: OpenCaDirOptions = {}): Promise<CaDir> {
  const fn = 'openCaDir';
  const root = checkDir(fn, dir);
  assertOptions(fn, options);
  const fs = (options as OpenCaDirOptions).fs;
  if (fs !== undefined && (typeof fs !== 'object' || fs === null || typeof fs.readFile !== 'function')) throw new TypeError(`${fn}: fs: expected a CredentialFileSystem, got ${describe(fs)}`);
  const read = async (name: string): Promise<string | undefined> => {
    if (fs !== undefined) return fs.readFile(join(root, name));
    return (await exists(join(root, name))) ? readFile(join(root, name), 'utf8') : undefined;
  };
  const pem = await read(FILES.cert);
  if (pem === undefined) throw new PkiError('CA_NOT_FOUND', `${fn}: no CA in ${root} (expected ${FILES.cert}; create one with initCaDir or \`outpost pki init-ca\`)`);
  const chain = await read(FILES.chain);
  const rootPem = await read(FILES.root);
  const ca = new CaDir(root, pem, chain ?? '', rootPem ?? pem, fs);
  await ca.reload();
  return ca;
}

/** Options of {@link openCaDir}. */
export interface OpenCaDirOptions {
  /** The file operations for the registry and CRL (a power-cut test's). Default `node:fs`. */
  readonly fs?: CredentialFileSystem;
}

/**
 * A fleet CA directory: issue registered device and server certificates, revoke, list. Get one
 * from {@link initCaDir} or {@link openCaDir}.
 *
 * @example
 * ```ts
 * import { CaDir, initCaDir } from '@outpost/pki';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const ca = await initCaDir(join(mkdtempSync(join(tmpdir(), 'outpost-example-')), 'ca'));
 * ca instanceof CaDir; // true
 * ```
 */
export class CaDir {
  /** Absolute path of the directory. */
  readonly dir: string;
  /** The CA certificate (PEM). */
  readonly certificatePem: string;
  /** For an intermediate CA: its certificate and those above it (not the root), appended to device bundles; `''` for a root. */
  readonly chainPem: string;
  /** The root CA certificate: what brokers (`cafile`) and devices (`ca`) trust. `certificatePem` for a root. */
  readonly rootPem: string;
  #registry: RegistryFile = { version: 1, crlNumber: 1, devices: {}, keys: {} };
  readonly #fs: CredentialFileSystem | undefined;

  /** @internal Use {@link initCaDir} or {@link openCaDir}. */
  constructor(dir: string, certificatePem: string, chainPem = '', rootPem = certificatePem, fs?: CredentialFileSystem) {
    this.#fs = fs;
    this.dir = dir;
    this.certificatePem = certificatePem;
    this.chainPem = chainPem;
    this.rootPem = rootPem;
  }

  /** `<dir>/ca.pem`. */
  get certificatePath(): string {
    return join(this.dir, FILES.cert);
  }
  /** `<dir>/ca.key` (mode 0600). */
  get keyPath(): string {
    return join(this.dir, FILES.key);
  }
  /** `<dir>/crl.pem`: point Mosquitto's `crlfile` here. */
  get crlPath(): string {
    return join(this.dir, FILES.crl);
  }

  /** Re-reads `registry.json` (after another process issued). */
  async reload(): Promise<void> {
    const text = await this.#read(join(this.dir, FILES.registry));
    if (text === undefined) throw new PkiError('CA_NOT_FOUND', `openCaDir: ${this.dir} has ${FILES.cert} but no ${FILES.registry}`);
    this.#registry = parseRegistry(text, join(this.dir, FILES.registry));
  }

  /** Every registered device, sorted by id. */
  devices(): readonly RegisteredDevice[] {
    return Object.keys(this.#registry.devices)
      .sort()
      .map((id) => this.device(id)!);
  }

  /** One registered device, or `undefined`. */
  device(deviceId: string): RegisteredDevice | undefined {
    const d = this.#registry.devices[deviceId];
    return d === undefined ? undefined : { deviceId, current: d.current, previous: [...d.previous], revoked: d.revoked };
  }

  /** @internal The signing credentials (reads the key). */
  async credentials(): Promise<{ certificatePem: string; privateKeyPem: string; chainPem: string }> {
    const privateKeyPem = await this.#read(this.keyPath);
    if (privateKeyPem === undefined) throw new PkiError('CA_NOT_FOUND', `CaDir: ${this.keyPath} is missing`);
    return { certificatePem: this.certificatePem, privateKeyPem, chainPem: this.chainPem };
  }

  /**
   * @internal Applies `fn` to the registry and writes it once (atomically, fsynced): the
   * provisioning service's group commit. If `fn` throws or the write fails, the registry in
   * memory is restored and nothing was committed.
   */
  async transact<T>(fn: (registry: RegistryFile) => T): Promise<T> {
    const before = JSON.stringify(this.#registry);
    try {
      const result = fn(this.#registry);
      await this.#save();
      return result;
    } catch (err) {
      this.#registry = JSON.parse(before) as RegistryFile;
      throw err;
    }
  }

  /** @internal Reads the registry in memory (no I/O): `fn` must not change it. */
  peek<T>(fn: (registry: Readonly<RegistryFile>) => T): T {
    return fn(this.#registry);
  }

  async #save(): Promise<void> {
    await this.#write(join(this.dir, FILES.registry), sealRegistry(this.#registry));
  }

  async #read(path: string): Promise<string | undefined> {
    if (this.#fs !== undefined) return this.#fs.readFile(path);
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  #write(path: string, data: string): Promise<void> {
    return this.#fs === undefined ? writeAtomic(path, data) : writeDurable(this.#fs, path, data, 0o644);
  }

  /**
   * Issues and registers a device certificate. Refuses a key that was ever certified before
   * (`KEY_ALREADY_REGISTERED`: one key pair per device, never reused) and a device id that is
   * already registered (`DEVICE_ALREADY_REGISTERED`) unless `renew: true` (with a new key).
   *
   * @throws PkiError `KEY_ALREADY_REGISTERED`, `DEVICE_ALREADY_REGISTERED`, and those of {@link issueDeviceCertificate}.
   * @example
   * ```ts
   * import { initCaDir } from '@outpost/pki';
   * import { mkdtempSync } from 'node:fs';
   * import { tmpdir } from 'node:os';
   * import { join } from 'node:path';
   * const ca = await initCaDir(join(mkdtempSync(join(tmpdir(), 'outpost-example-')), 'ca'));
   * const dev = await ca.issueDevice({ deviceId: 'sensor-0001' });
   * ca.device('sensor-0001')?.current.serialNumber === dev.serialNumber; // true
   * ```
   */
  async issueDevice(options: IssueRegisteredDeviceOptions): Promise<DeviceCertificate> {
    const fn = 'CaDir.issueDevice';
    assertOptions(fn, options);
    const deviceId = checkDeviceId(fn, options.deviceId);
    const renew = optionalBoolean(fn, 'renew', options.renew) ?? false;
    await this.reload();
    const existing = this.#registry.devices[deviceId];
    if (existing !== undefined && !renew) {
      throw new PkiError('DEVICE_ALREADY_REGISTERED', `${fn}: device "${deviceId}" already has a certificate (serial ${existing.current.serialNumber}); pass renew to replace it with a new key`);
    }
    if (existing === undefined && renew) {
      throw new PkiError('INVALID_OPTION', `${fn}: renew: device "${deviceId}" is not registered; issue it without renew`);
    }
    // Check a given key before signing anything.
    if (options.publicKeyPem !== undefined && options.csrPem === undefined) {
      let spki: Uint8Array | undefined;
      try {
        spki = spkiFromPem(typeof options.publicKeyPem === 'string' ? options.publicKeyPem : new TextDecoder().decode(options.publicKeyPem)).der;
      } catch {
        spki = undefined; // issueDeviceCertificate reports the bad key with the right error
      }
      if (spki !== undefined) this.#assertKeyUnused(fn, deviceId, sha256Colon(spki));
    }
    const { renew: _renew, ...issueOptions } = options;
    const cert = await issueDeviceCertificate({ ...issueOptions, ca: await this.credentials() });
    this.#assertKeyUnused(fn, deviceId, cert.spkiFingerprint);
    const entry: RegisteredCertificate = {
      serialNumber: cert.serialNumber,
      fingerprint: cert.fingerprint,
      spkiFingerprint: cert.spkiFingerprint,
      notBefore: cert.notBefore.toISOString(),
      notAfter: cert.notAfter.toISOString(),
      issuedAt: (options.now ?? new Date()).toISOString(),
    };
    this.#registry.devices[deviceId] = existing === undefined
      ? { current: entry, previous: [], revoked: false }
      : { current: entry, previous: [...existing.previous, existing.current], revoked: false };
    this.#registry.keys[cert.spkiFingerprint] = deviceId;
    await this.#save();
    return cert;
  }

  #assertKeyUnused(fn: string, deviceId: string, spkiFingerprint: string): void {
    const owner = this.#registry.keys[spkiFingerprint];
    if (owner !== undefined) {
      throw new PkiError('KEY_ALREADY_REGISTERED', `${fn}: this public key (SPKI ${spkiFingerprint.slice(0, 23)}…) was already certified for device "${owner}"${owner === deviceId ? '' : `, not "${deviceId}"`}; every device and every renewal needs a new key pair`);
    }
  }

  /**
   * Issues a broker certificate from this CA (not registered: brokers are few and named by host).
   *
   * @example
   * ```ts
   * import { initCaDir } from '@outpost/pki';
   * import { mkdtempSync } from 'node:fs';
   * import { tmpdir } from 'node:os';
   * import { join } from 'node:path';
   * const ca = await initCaDir(join(mkdtempSync(join(tmpdir(), 'outpost-example-')), 'ca'));
   * const server = await ca.issueServer({ hosts: ['127.0.0.1', 'localhost'] });
   * server.hosts.length; // 2
   * ```
   */
  async issueServer(options: Omit<IssueServerOptions, 'ca'>): Promise<ServerCertificate> {
    assertOptions('CaDir.issueServer', options);
    return issueServerCertificate({ ...options, ca: await this.credentials() });
  }

  /**
   * Revokes every certificate issued to a device (current and renewed-away) and rewrites
   * `crl.pem`. Restart (or SIGHUP) Mosquitto to load the new CRL.
   *
   * @returns The serial numbers newly revoked.
   * @throws PkiError `INVALID_OPTION` for an unknown device id.
   * @example
   * ```ts
   * import { initCaDir } from '@outpost/pki';
   * import { mkdtempSync } from 'node:fs';
   * import { tmpdir } from 'node:os';
   * import { join } from 'node:path';
   * const ca = await initCaDir(join(mkdtempSync(join(tmpdir(), 'outpost-example-')), 'ca'));
   * await ca.issueDevice({ deviceId: 'lost-1' });
   * (await ca.revokeDevice('lost-1')).length; // 1
   * ```
   */
  async revokeDevice(deviceId: string, options: { readonly now?: Date } = {}): Promise<readonly string[]> {
    const fn = 'CaDir.revokeDevice';
    assertOptions(fn, options);
    if (options.now !== undefined && !(options.now instanceof Date)) throw new TypeError(`${fn}: now: expected a Date, got ${describe(options.now)}`);
    await this.reload();
    // A device registered by a release before the id charset keeps its id: it must stay revocable.
    if (typeof deviceId !== 'string' || !Object.hasOwn(this.#registry.devices, deviceId)) checkDeviceId(fn, deviceId);
    const d = this.#registry.devices[deviceId];
    if (d === undefined) throw new PkiError('INVALID_OPTION', `${fn}: device "${deviceId}" is not registered`);
    const at = (options.now ?? new Date()).toISOString();
    const newly: string[] = [];
    const mark = (c: RegisteredCertificate): RegisteredCertificate => {
      if (c.revokedAt !== undefined) return c;
      newly.push(c.serialNumber);
      return { ...c, revokedAt: at };
    };
    this.#registry.devices[deviceId] = { current: mark(d.current), previous: d.previous.map(mark), revoked: true };
    this.#registry.crlNumber += 1;
    await this.#writeCrl(options.now);
    await this.#save();
    return newly;
  }

  /** @internal Rewrites `crl.pem` from the registry (after a transaction revoked something and raised crlNumber). */
  async writeCrl(now?: Date): Promise<void> {
    await this.#writeCrl(now);
  }

  async #writeCrl(now: Date | undefined): Promise<void> {
    const revoked = Object.values(this.#registry.devices).flatMap((d) =>
      [d.current, ...d.previous].filter((c) => c.revokedAt !== undefined).map((c) => ({ serialNumber: c.serialNumber, revokedAt: new Date(c.revokedAt!) })),
    );
    const crl = await createRevocationList({ ca: await this.credentials(), revoked, crlNumber: this.#registry.crlNumber, ...(now === undefined ? {} : { now }) });
    await this.#write(this.crlPath, crl);
  }

  /**
   * Refuses a certificate presented under a device id other than the one it was issued to:
   * `SHARED_CREDENTIAL` if its key is registered to another device, `CERT_UNTRUSTED` if its key
   * was never issued here. A gateway admitting devices on behalf of the broker can call it.
   *
   * @example
   * ```ts
   * import { initCaDir } from '@outpost/pki';
   * import { mkdtempSync } from 'node:fs';
   * import { tmpdir } from 'node:os';
   * import { join } from 'node:path';
   * const ca = await initCaDir(join(mkdtempSync(join(tmpdir(), 'outpost-example-')), 'ca'));
   * const dev = await ca.issueDevice({ deviceId: 'a' });
   * ca.assertOwnCredential('a', dev.certificatePem); // ok; for 'b' → SHARED_CREDENTIAL
   * ```
   */
  assertOwnCredential(deviceId: string, certPem: string | Uint8Array): void {
    const fn = 'CaDir.assertOwnCredential';
    checkDeviceId(fn, deviceId);
    const id = parseDeviceIdentity(certPem);
    const owner = this.#registry.keys[id.spkiFingerprint];
    if (owner === undefined) throw new PkiError('CERT_UNTRUSTED', `${fn}: this certificate's key was not issued by the CA in ${this.dir}`);
    if (owner !== deviceId || id.deviceId !== deviceId) {
      throw new PkiError('SHARED_CREDENTIAL', `${fn}: device "${deviceId}" presents the credential of "${owner}"; every device needs its own certificate`);
    }
  }
}
