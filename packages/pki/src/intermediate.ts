// Intermediate CAs: a root kept offline signs one intermediate per plant, factory or tenant;
// the intermediate signs devices. Devices carry the chain (device + intermediate), brokers and
// devices trust only the root.

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PkiError } from './errors.js';
import { assertOptions, describe, optionalDate, optionalInt, pemText, requiredString } from './args.js';
import { CaDir } from './ca-dir.js';
import { assertNoCa, writeCaDir } from './ca-dir-init.js';
import { caResult, checkAlgorithm, checkCommonName, loadCa, validity, type CaCredentials, type FleetCA, type KeyAlgorithm } from './certificates.js';
import { crypto, generateKeyPair, randomSerial } from './keys.js';
import { loadX509 } from './x509-loader.js';

/** An intermediate CA as issued by {@link createIntermediateCA}. */
export interface IntermediateCA extends FleetCA {
  /** What the intermediate appends to the certificates it issues: its own certificate. */
  readonly chainPem: string;
  /** The root above it: the trust anchor to give brokers (`cafile`) and devices (`ca`). */
  readonly rootPem: string;
}

/** Options of {@link createIntermediateCA}. */
export interface CreateIntermediateCAOptions {
  /** The root that signs it (its `pathLength` must be at least 1). */
  readonly ca: CaCredentials;
  /** Default `'Outpost Intermediate CA'`. */
  readonly commonName?: string;
  /** Default `'ECDSA-P256'`. */
  readonly algorithm?: KeyAlgorithm;
  /** Default 1825 (five years), never beyond the root's `notAfter`. */
  readonly validityDays?: number;
  /** Default `new Date()`. */
  readonly now?: Date;
}

/**
 * Creates an intermediate CA signed by a root: basicConstraints CA:true, pathLen 0 (critical: it
 * signs devices and brokers, no further CA), keyUsage keyCertSign + cRLSign (critical), subject
 * and authority key identifiers. Issue from it with {@link issueDeviceCertificate}; the result's
 * `chainPem` is the device bundle (device + intermediate) that brokers verify up to the root.
 *
 * @throws TypeError / RangeError for a bad option; PkiError `CERT_INVALID` when `ca` is not a CA
 *   or its pathLen allows no intermediate (a pathLen 0 root, or an intermediate).
 * @example
 * ```ts
 * import { createFleetCA, createIntermediateCA, issueDeviceCertificate } from '@outpost/pki';
 * const root = await createFleetCA();
 * const plant = await createIntermediateCA({ ca: root, commonName: 'Plant 7 CA' });
 * const dev = await issueDeviceCertificate({ ca: plant, deviceId: 'plant7-0001' });
 * dev.chainPem === dev.certificatePem + plant.certificatePem; // true
 * ```
 */
export async function createIntermediateCA(options: CreateIntermediateCAOptions): Promise<IntermediateCA> {
  const fn = 'createIntermediateCA';
  assertOptions(fn, options);
  const x509 = await loadX509();
  const commonName = checkCommonName(fn, options.commonName) ?? 'Outpost Intermediate CA';
  const algorithm = checkAlgorithm(fn, options.algorithm) ?? 'ECDSA-P256';
  const validityDays = optionalInt(fn, 'validityDays', options.validityDays, 1, 36_500) ?? 1825;
  const now = optionalDate(fn, 'now', options.now) ?? new Date();
  const parent = await loadCa(fn, options.ca);
  // RFC 5280 §4.2.1.9: a CA with pathLenConstraint 0 may not certify another CA.
  const parentLen = parent.cert.getExtension(x509.BasicConstraintsExtension)?.pathLength;
  if (parentLen === 0) {
    throw new PkiError('CERT_INVALID', `${fn}: ca "${parent.node.subject.replace(/\n/g, ', ')}" has pathlen:0 and may sign devices only; create the root with pathLength ≥ 1 (the default)`);
  }
  const { notBefore, notAfter } = validity(fn, { validityDays, now }, parent, validityDays);
  const kp = await generateKeyPair(algorithm);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: [{ CN: [commonName] }],
      issuer: parent.cert.subjectName,
      notBefore,
      notAfter,
      publicKey: kp.spkiDer,
      signingKey: parent.signingKey,
      signingAlgorithm: parent.signingAlgorithm,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(kp.spkiDer, false, crypto),
        new x509.AuthorityKeyIdentifierExtension(parent.keyId, false),
      ],
    },
    crypto,
  );
  const base = caResult(cert, kp.privateKeyPem, algorithm, commonName, notBefore, notAfter);
  return {
    ...base,
    chainPem: base.certificatePem + parent.chainPem,
    // A CA that may sign an intermediate is a root here (intermediates are made with pathlen:0).
    rootPem: pemText(fn, 'ca.certificatePem', options.ca.certificatePem),
  };
}

/** Options of {@link initIntermediateCaDir}: those of {@link createIntermediateCA} with a CA directory as the parent. */
export interface InitIntermediateCaDirOptions extends Omit<CreateIntermediateCAOptions, 'ca'> {
  /** The root CA directory (from {@link openCaDir}); its key is read to sign. */
  readonly parent: CaDir;
}

/**
 * Creates an intermediate CA in `dir`, signed by the root CA directory `parent`: the files of
 * {@link initCaDir} plus `chain.pem` (the intermediate, appended to every device bundle) and
 * `root.pem` (the trust anchor, what {@link writeBrokerFiles} gives Mosquitto as `cafile`).
 * Its registry and CRL are its own.
 *
 * @throws PkiError `CA_EXISTS` when `dir` already holds a CA, and those of {@link createIntermediateCA}.
 * @example
 * ```ts
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * import { initCaDir, initIntermediateCaDir } from '@outpost/pki';
 * const dir = mkdtempSync(join(tmpdir(), 'outpost-example-'));
 * const root = await initCaDir(join(dir, 'root'));
 * const plant = await initIntermediateCaDir(join(dir, 'plant'), { parent: root });
 * plant.rootPem === root.certificatePem; // true
 * (await plant.issueDevice({ deviceId: 'plant-0001' })).chainPem.includes(plant.certificatePem); // true
 * ```
 */
export async function initIntermediateCaDir(dir: string, options: InitIntermediateCaDirOptions): Promise<CaDir> {
  const fn = 'initIntermediateCaDir';
  const root = resolve(requiredString(fn, 'dir', dir));
  assertOptions(fn, options);
  const { parent, ...rest } = options;
  if (!(parent instanceof CaDir)) throw new TypeError(`${fn}: parent: expected a CaDir (from openCaDir), got ${describe(parent)}`);
  await assertNoCa(fn, root);
  const ca = await createIntermediateCA({ ...rest, ca: { certificatePem: parent.certificatePem, privateKeyPem: await readFile(parent.keyPath, 'utf8'), chainPem: parent.chainPem } });
  return writeCaDir(fn, root, { ...ca, rootPem: parent.rootPem }, options.now);
}
