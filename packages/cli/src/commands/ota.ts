import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createHash } from 'node:crypto';
import {
  applyRootUpdate, createTrustStore, decodeManifest, generateKeyPair, keyToJwk, signManifest, streamImage, toHex, trustFromRoot, verifyManifest,
  DEFAULT_MAX_ROOT_BYTES, DEFAULT_MAX_TIMESTAMP_BYTES, MANIFEST_CONTENT_TYPE, parseSigned, type Manifest, type TrustStore,
} from '@outpost/ota';
import { CliError, defineCommand, emit, requireString, stringList, type Command, type Io } from '../command.js';
import { writeNew } from '../files.js';
import { int, opt, otaError, parseExpiry, readDocument, readKeyPair, readManifestFile, readPublicKeys } from './ota-common.js';

// `outpost ota …`: Ed25519 keys as RFC 8037 JWKs, signed manifests (COSE_Sign1 over deterministic
// CBOR, see @outpost/ota), verification of a manifest and its image as a device would do it.

async function fileDigest(path: string): Promise<{ size: number; digest: Uint8Array }> {
  const hash = createHash('sha256');
  let size = 0;
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new CliError('FILE_NOT_FOUND', `image ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  // A device or FIFO has no size to sign (and /dev/zero would be hashed forever).
  const regular = (await fh.stat()).isFile();
  if (!regular) {
    await fh.close();
    throw new CliError('NOT_A_FILE', `image ${path}: not a regular file`);
  }
  try {
    for await (const chunk of fh.createReadStream({ highWaterMark: 1 << 20 })) {
      size += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
    }
  } catch (err) {
    throw new CliError('FILE_NOT_FOUND', `image ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  return { size, digest: new Uint8Array(hash.digest()) };
}

function manifestJson(m: Manifest): Record<string, unknown> {
  return {
    vendor: m.vendor, deviceClass: m.deviceClass, ...(m.hwRevisions === undefined ? {} : { hwRevisions: m.hwRevisions }), version: m.version,
    sequence: m.sequence, securityCounter: m.securityCounter, imageSize: m.imageSize, imageDigest: toHex(m.imageDigest),
    ...(m.expiresAt === undefined ? {} : { expiresAt: new Date(m.expiresAt * 1000).toISOString() }), keyId: toHex(m.keyId),
  };
}
const describeManifest = (m: Manifest): string =>
  Object.entries(manifestJson(m)).map(([k, v]) => `${k.padEnd(16)} ${Array.isArray(v) ? v.join(', ') : String(v)}`).join('\n');

async function loadTrust(io: Io, paths: string[], roots: string[]): Promise<TrustStore> {
  if (paths.length > 0 && roots.length > 0) throw new CliError('USAGE', 'give --trust (public keys) or --root (signed root documents), not both', 2);
  if (roots.length > 0) {
    // The first root is the device's trusted one; each further one is applied as a rotation (N+1).
    try {
      let trust = trustFromRoot(await readDocument(io, roots[0] as string, 'root', DEFAULT_MAX_ROOT_BYTES));
      for (const p of roots.slice(1)) trust = applyRootUpdate(trust, await readDocument(io, p, 'root', DEFAULT_MAX_ROOT_BYTES));
      return trust;
    } catch (err) {
      otaError(err, 'refused: ');
    }
  }
  if (paths.length === 0) throw new CliError('USAGE', 'missing required option --trust (or --root)', 2);
  return createTrustStore({ signingKeys: await readPublicKeys(io, paths) });
}

export const otaCommands: readonly Command[] = [
  defineCommand({
    path: ['ota', 'keygen'],
    summary: 'generate an Ed25519 update-signing key (JWK files)',
    about: `Generates an Ed25519 signing key. Writes PREFIX.key.jwk (the private key, mode 0600) and
PREFIX.pub.jwk (the public key for devices' --trust), both RFC 8037 JWKs with the key id
(first 8 bytes of SHA-256 of the public key) as "kid". Never overwrites a file; creates the
parent directory (0700) if missing.`,
    flags: { out: { type: 'string', arg: 'PREFIX', required: true, help: 'path prefix of the two files' } },
    example: 'outpost ota keygen --out keys/release-2026',
    async run({ values }, io) {
      const prefix = resolve(io.cwd, requireString(values['out'], 'out'));
      const k = generateKeyPair();
      const pub = JSON.stringify(keyToJwk(k.publicKey), null, 2) + '\n';
      await writeNew(`${prefix}.key.jwk`, JSON.stringify(keyToJwk(k), null, 2) + '\n', 0o600);
      await writeNew(`${prefix}.pub.jwk`, pub, 0o644);
      const result = { keyId: toHex(k.keyId), privateKey: `${prefix}.key.jwk`, publicKey: `${prefix}.pub.jwk` };
      emit(io, values.json, result, `key ${result.keyId}: private ${result.privateKey} (keep offline), public ${result.publicKey}`);
      return 0;
    },
  }),
  defineCommand({
    path: ['ota', 'sign'],
    summary: 'sign a firmware image: a COSE_Sign1 manifest',
    about: `Signs a release: a deterministic-CBOR manifest (vendor, device class, hardware revisions,
version, sequence, security counter, image size and SHA-256, expiry, key id) in a COSE_Sign1
with EdDSA (Ed25519); with several --key, one COSE_Sign with a signature per key (a targets
role with a threshold above 1). The image is hashed as a stream.`,
    flags: {
      key: { type: 'string', multiple: true, arg: 'K', required: true, help: 'private key JWK from `outpost ota keygen` (repeatable)' },
      image: { type: 'string', arg: 'FILE', required: true, help: 'the firmware image' },
      'device-class': { type: 'string', arg: 'C', required: true, help: 'device class the image is for' },
      version: { type: 'string', arg: 'V', required: true, help: 'MAJOR.MINOR.PATCH' },
      seq: { type: 'string', arg: 'N', required: true, help: 'manifest sequence number, increasing with every release' },
      out: { type: 'string', arg: 'M', required: true, help: 'manifest file to write; not overwritten' },
      vendor: { type: 'string', arg: 'NAME', help: 'vendor (default "outpost")' },
      'security-counter': { type: 'string', arg: 'N', help: 'anti-rollback counter (default 0)' },
      'hw-rev': { type: 'string', multiple: true, arg: 'R', help: 'hardware revision the image runs on (repeatable; default any)' },
      expires: { type: 'string', arg: 'DATE', help: 'ISO 8601 date or seconds since the epoch after which devices refuse it' },
    },
    example: 'outpost ota sign --key keys/release.key.jwk --image fw.bin --device-class gw-1 --version 1.4.0 --seq 42 --out fw.manifest',
    async run({ values }, io) {
      const keyPaths = stringList(values, 'key');
      if (keyPaths.length === 0) throw new CliError('USAGE', 'missing required option --key', 2);
      const imagePath = resolve(io.cwd, requireString(values['image'], 'image'));
      const deviceClass = requireString(values['device-class'], 'device-class');
      const version = requireString(values['version'], 'version');
      if (!/^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/.test(version)) throw new CliError('USAGE', `--version: expected MAJOR.MINOR.PATCH, got "${version}"`, 2);
      const sequence = int(requireString(values['seq'], 'seq'), 'seq', 0) as number;
      const out = resolve(io.cwd, requireString(values['out'], 'out'));
      const securityCounter = int(values['security-counter'], 'security-counter', 0) ?? 0;
      const expiresAt = parseExpiry(opt(values, 'expires'));
      const hw = stringList(values, 'hw-rev');
      const keys = [];
      for (const p of keyPaths) keys.push(await readKeyPair(io, p, 'key'));
      const { size, digest } = await fileDigest(imagePath);
      const manifest = signManifest({
        vendor: opt(values, 'vendor') ?? 'outpost', deviceClass, version, sequence, securityCounter, imageSize: size, imageDigest: digest,
        ...(hw.length === 0 ? {} : { hwRevisions: hw }), ...(expiresAt === undefined ? {} : { expiresAt }),
      }, keys.length === 1 ? (keys[0] as (typeof keys)[0]) : keys);
      await writeNew(out, manifest, 0o644);
      const m = decodeManifest(parseSigned(manifest, MANIFEST_CONTENT_TYPE).payload);
      emit(io, values.json, { manifest: out, bytes: manifest.length, ...manifestJson(m) },
        `signed ${m.deviceClass} ${m.version} (seq ${m.sequence}, security counter ${m.securityCounter}): ${size} bytes, sha256 ${toHex(digest)}, key ${keys.map((k) => toHex(k.keyId)).join(', ')} → ${out} (${manifest.length} bytes)`);
      return 0;
    },
  }),
  defineCommand({
    path: ['ota', 'verify'],
    summary: 'verify a manifest and its image as a device would',
    about: `Verifies a manifest and its image as a device would: the signature against the trusted keys
(--trust: a JWK or a JWK set {"keys": [...]}, repeatable; or --root: the device's signed root
documents), the device class and hardware revision, the expiry, replay and downgrade against the
given device state, then the image's size and SHA-256 as a stream. Exit 0 when accepted; 1 with
the refusal code (SIGNATURE_INVALID, UNKNOWN_KEY, WRONG_DEVICE_CLASS, DOWNGRADE, REPLAY, EXPIRED,
DIGEST_MISMATCH, IMAGE_TRUNCATED, THRESHOLD_NOT_MET, …) otherwise.`,
    flags: {
      manifest: { type: 'string', arg: 'M', required: true, help: 'signed manifest' },
      image: { type: 'string', arg: 'FILE', required: true, help: 'image' },
      trust: { type: 'string', multiple: true, arg: 'KEYS', help: 'trusted public key(s) (repeatable): a single-signature trust store' },
      root: { type: 'string', multiple: true, arg: 'ROOT', help: "instead of --trust: the device's signed root document; repeat it to apply\nrotations in order (N+1, N+2, …), each checked as a device would" },
      timestamp: { type: 'string', arg: 'T', help: 'the freshness statement (required when the root has a timestamp role)' },
      'timestamp-version': { type: 'string', arg: 'N', help: 'the highest timestamp version the device accepted (rollback floor)' },
      'device-class': { type: 'string', arg: 'C', help: "the device's class (default: the manifest's, i.e. not checked)" },
      'hw-rev': { type: 'string', arg: 'R', help: "the device's hardware revision" },
      'last-seq': { type: 'string', arg: 'N', help: 'last accepted sequence number (default: none)' },
      'security-counter': { type: 'string', arg: 'N', help: "the device's security counter (default 0)" },
      'running-version': { type: 'string', arg: 'V', help: 'the running version (lower versions are refused)' },
    },
    example: 'outpost ota verify --manifest fw.manifest --image fw.bin --trust keys/release.pub.jwk --device-class gw-1 --json',
    async run({ values }, io) {
      const manifestPath = requireString(values['manifest'], 'manifest');
      const imagePath = resolve(io.cwd, requireString(values['image'], 'image'));
      const trust = await loadTrust(io, stringList(values, 'trust'), stringList(values, 'root'));
      const tsPath = opt(values, 'timestamp');
      const timestamp = tsPath === undefined ? undefined : await readDocument(io, tsPath, 'timestamp', DEFAULT_MAX_TIMESTAMP_BYTES);
      const timestampVersion = int(values['timestamp-version'], 'timestamp-version', 0);
      const bytes = await readManifestFile(io, manifestPath);
      let deviceClass = opt(values, 'device-class');
      if (deviceClass === undefined) {
        try {
          deviceClass = decodeManifest(parseSigned(bytes, MANIFEST_CONTENT_TYPE).payload).deviceClass;
        } catch {
          deviceClass = '';
        }
      }
      const hwRevision = opt(values, 'hw-rev');
      const running = opt(values, 'running-version');
      const r = verifyManifest(bytes, {
        trust,
        device: { deviceClass, ...(hwRevision === undefined ? {} : { hwRevision }) },
        state: {
          sequence: int(values['last-seq'], 'last-seq', 0) ?? null, securityCounter: int(values['security-counter'], 'security-counter', 0) ?? 0,
          ...(running === undefined ? {} : { version: running }), ...(timestampVersion === undefined ? {} : { timestampVersion }),
        },
        ...(timestamp === undefined ? {} : { timestamp }),
      });
      if (!r.ok) throw new CliError(r.code, `refused: ${r.message}`);
      let image;
      try {
        image = await streamImage(createReadStream(imagePath, { highWaterMark: 1 << 20 }) as AsyncIterable<Uint8Array>, { expectedSize: r.manifest.imageSize, expectedDigest: r.manifest.imageDigest });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError('FILE_NOT_FOUND', `image ${imagePath}: ENOENT`);
        otaError(err, 'refused: ');
      }
      const fresh = r.timestamp === undefined ? {} : { timestampVersion: r.timestamp.version, timestampExpiresAt: new Date(r.timestamp.expiresAt * 1000).toISOString() };
      emit(io, values.json, { ok: true, keyId: r.keyId, ...manifestJson(r.manifest), imageBytes: image.size, ...(trust.roles === undefined ? {} : { rootVersion: trust.roles.rootVersion }), ...fresh },
        `OK: ${r.manifest.vendor}/${r.manifest.deviceClass} ${r.manifest.version} (seq ${r.manifest.sequence}, security counter ${r.manifest.securityCounter}) signed by ${r.keyId}; image ${image.size} bytes matches sha256 ${toHex(image.digest)}`);
      return 0;
    },
  }),
  defineCommand({
    path: ['ota', 'inspect'],
    summary: 'show a manifest (without verifying it)',
    positionals: '[M]',
    about: `Prints a manifest's COSE header and fields WITHOUT verifying its signature (use
\`outpost ota verify\` for that). The manifest is --manifest M, as for verify (a single
positional M is accepted too).`,
    flags: { manifest: { type: 'string', arg: 'M', help: 'the manifest file' } },
    example: 'outpost ota inspect --manifest fw.manifest',
    async run({ values, positionals }, io) {
      const given = [...(values['manifest'] !== undefined ? [requireString(values['manifest'], 'manifest')] : []), ...positionals];
      if (given.length !== 1) throw new CliError('USAGE', `expected one manifest file (--manifest M), got ${given.length}`, 2);
      const path = given[0] as string;
      const bytes = await readManifestFile(io, path);
      let cose;
      let m;
      try {
        cose = parseSigned(bytes, MANIFEST_CONTENT_TYPE);
        m = decodeManifest(cose.payload);
      } catch (err) {
        otaError(err, `${path}: `);
      }
      const size = bytes.length;
      const kids = cose.signatures.map((x) => toHex(x.kid));
      const form = bytes[0] === 0xd2 ? 'COSE_Sign1' : `COSE_Sign (${kids.length} signatures)`;
      emit(io, values.json, { verified: false, bytes: size, alg: 'EdDSA', kid: kids[0], signers: kids, ...manifestJson(m) },
        `${form}, alg EdDSA, kid ${kids.join(', ')}, ${size} bytes (signature NOT verified)\n${describeManifest(m)}`);
      return 0;
    },
  }),
];
