// Writes a ready-to-run Mosquitto directory for a fleet CA: the one-call setup the CLI
// (`outpost pki broker-config`), the demo and the integration tests share.

import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { assertOptions, describe, optionalInt, requiredString } from './args.js';
import { brokerConfig, type BrokerConfigOptions } from './broker-config.js';
import { writeAtomic } from './atomic-files.js';
import { CaDir } from './ca-dir.js';
import { readFile } from 'node:fs/promises';

/** Options of {@link writeBrokerFiles}. */
export interface WriteBrokerFilesOptions extends Omit<BrokerConfigOptions, 'caPath' | 'serverCertPath' | 'serverKeyPath' | 'aclPath' | 'crlPath'> {
  /** The fleet CA (from {@link openCaDir}); for an intermediate CA directory, `ca.pem` is written with its root. */
  readonly ca: CaDir;
  /** Directory to write into (created if missing). */
  readonly outDir: string;
  /** Host names / IPs for the broker certificate's SANs. Default `[host]`, or `['127.0.0.1', 'localhost']`. */
  readonly hosts?: readonly string[];
  /** Include the CA's CRL (copied as `crl.pem`) as `crlfile`. Default `true`. */
  readonly crl?: boolean;
}

/** Paths of the files {@link writeBrokerFiles} wrote (all absolute). */
export interface BrokerFiles {
  readonly confPath: string;
  readonly aclPath: string;
  readonly caPath: string;
  readonly serverCertPath: string;
  readonly serverKeyPath: string;
  readonly crlPath: string | undefined;
  /** The certificate fingerprint of the new server certificate. */
  readonly serverFingerprint: string;
}

/**
 * Issues a broker certificate from the CA and writes `mosquitto.conf`, `acl`, `ca.pem`,
 * `server.pem`, `server.key` (0600) and `crl.pem` into `outDir`; start the broker with
 * `mosquitto -c <outDir>/mosquitto.conf`. After a revocation, run it again (or copy the CA's
 * `crl.pem`) and restart Mosquitto.
 *
 * @example
 * ```ts
 * import { initCaDir, writeBrokerFiles } from '@outpost/pki';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const ca = await initCaDir(join(mkdtempSync(join(tmpdir(), 'outpost-example-')), 'ca'));
 * const outDir = join(mkdtempSync(join(tmpdir(), 'outpost-example-')), 'broker');
 * const files = await writeBrokerFiles({ ca, outDir, port: 8883, host: '127.0.0.1' });
 * files.confPath === join(outDir, 'mosquitto.conf'); // true
 * ```
 */
export async function writeBrokerFiles(options: WriteBrokerFilesOptions): Promise<BrokerFiles> {
  const fn = 'writeBrokerFiles';
  assertOptions(fn, options);
  if (!(options.ca instanceof CaDir)) throw new TypeError(`${fn}: ca: expected a CaDir (from openCaDir), got ${describe(options.ca)}`);
  const outDir = resolve(requiredString(fn, 'outDir', options.outDir));
  optionalInt(fn, 'port', options.port, 1, 65_535);
  const { ca, outDir: _o, hosts: givenHosts, crl: withCrl, ...rest } = options;
  const hosts = givenHosts ?? (options.host === undefined ? ['127.0.0.1', 'localhost'] : [options.host]);
  const paths = {
    confPath: join(outDir, 'mosquitto.conf'),
    aclPath: join(outDir, 'acl'),
    caPath: join(outDir, 'ca.pem'),
    serverCertPath: join(outDir, 'server.pem'),
    serverKeyPath: join(outDir, 'server.key'),
    crlPath: withCrl === false ? undefined : join(outDir, 'crl.pem'),
  };
  // Validate everything before writing anything.
  const cfg = brokerConfig({ ...rest, caPath: paths.caPath, serverCertPath: paths.serverCertPath, serverKeyPath: paths.serverKeyPath, aclPath: paths.aclPath, ...(paths.crlPath === undefined ? {} : { crlPath: paths.crlPath }) });
  const server = await ca.issueServer({ hosts });
  await mkdir(outDir, { recursive: true, mode: 0o755 });
  // The root is the trust anchor; an intermediate's devices send it in their bundle, and the
  // broker sends its own certificate with the chain (Mosquitto reads certfile as a chain file).
  await writeAtomic(paths.caPath, ca.rootPem);
  await writeAtomic(paths.serverCertPath, server.chainPem);
  await writeAtomic(paths.serverKeyPath, server.privateKeyPem, 0o600);
  if (paths.crlPath !== undefined) await writeAtomic(paths.crlPath, await readFile(ca.crlPath, 'utf8'));
  await writeAtomic(paths.aclPath, cfg.acl);
  await writeAtomic(paths.confPath, cfg.mosquittoConf);
  return { ...paths, serverFingerprint: server.fingerprint };
}
