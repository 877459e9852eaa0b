import { resolve } from 'node:path';
import {
  addCoseSignature, applyRootUpdate, decodeRoot, keyIdOf, parseSigned, signRoot, signTimestamp, toHex, trustFromRoot,
  DEFAULT_MAX_MANIFEST_BYTES, DEFAULT_MAX_ROOT_BYTES, ROOT_CONTENT_TYPE, type RoleKeys, type RootMetadata, type TrustStore,
} from '@outpost/ota';
import { CliError, defineCommand, emit, requireString, stringList, type Command, type FlagValues, type Io } from '../command.js';
import { writeNew } from '../files.js';
import { int, opt, otaError, parseExpiry, readDocument, readKeyPair, readManifestFile, readPublicKeys } from './ota-common.js';

// `outpost ota root …` and `outpost ota timestamp`: the TUF roles of @outpost/ota. A root document
// names the keys and thresholds of the root, targets (release) and timestamp roles; each root key
// holder signs it in turn (`root sign`), offline; `root verify` checks a chain as a device would.

const keysJson = (keys: readonly Uint8Array[]): string[] => keys.map((k) => toHex(keyIdOf(k)));
function rootJson(r: RootMetadata): Record<string, unknown> {
  const role = (x: RoleKeys): Record<string, unknown> => ({ threshold: x.threshold, keyIds: keysJson(x.keys) });
  return { version: r.version, expiresAt: new Date(r.expiresAt * 1000).toISOString(), root: role(r.root), targets: role(r.targets), timestamp: role(r.timestamp) };
}
const describeRoot = (r: RootMetadata): string =>
  [`version ${r.version}, expires ${new Date(r.expiresAt * 1000).toISOString()}`,
    ...(['root', 'targets', 'timestamp'] as const).map((n) => `${n.padEnd(10)} ${r[n].threshold} of ${r[n].keys.length}: ${keysJson(r[n].keys).join(', ') || '(none)'}`)].join('\n');

function expiry(values: FlagValues, flag: string): number {
  const e = parseExpiry(opt(values, flag));
  if (e === undefined) throw new CliError('USAGE', `missing required option --${flag}`, 2);
  return e;
}

async function role(io: Io, values: FlagValues, name: string, optional: boolean): Promise<RoleKeys> {
  const keys = await readPublicKeys(io, stringList(values, `${name}-key`));
  const threshold = int(values[`${name}-threshold`], `${name}-threshold`, 0) ?? (keys.length === 0 && optional ? 0 : 1);
  if (keys.length === 0 && !optional) throw new CliError('USAGE', `missing required option --${name}-key`, 2);
  if ((keys.length === 0) !== (threshold === 0) || threshold > keys.length) throw new CliError('USAGE', `--${name}-threshold: expected 1..${keys.length} (the number of --${name}-key)${optional ? ', or no keys and 0' : ''}, got ${threshold}`, 2);
  return { keys, threshold };
}

async function readRoot(io: Io, path: string): Promise<Uint8Array> {
  return readDocument(io, path, 'root', DEFAULT_MAX_ROOT_BYTES);
}

export const otaTrustCommands: readonly Command[] = [
  defineCommand({
    path: ['ota', 'root', 'init'],
    summary: 'write a signed root document: keys and thresholds of the root, targets and timestamp roles',
    about: `Writes a root document (a COSE_Sign over deterministic CBOR): the keys and thresholds of the root,
targets (manifest-signing) and timestamp roles, a version and an expiry, signed by each --key. The
other holders add their signatures with \`outpost ota root sign\`. Version 1 is the root a device
is provisioned with; version N+1 (a rotation) must be signed by a threshold of root N's keys AND a
threshold of its own, or devices refuse it. Public keys are JWKs from \`outpost ota keygen\`.`,
    flags: {
      out: { type: 'string', arg: 'FILE', required: true, help: 'the root document to write; not overwritten' },
      expires: { type: 'string', arg: 'DATE', required: true, help: 'ISO 8601 date or seconds since the epoch' },
      'root-key': { type: 'string', multiple: true, arg: 'PUB', required: true, help: 'a root key (repeatable)' },
      'targets-key': { type: 'string', multiple: true, arg: 'PUB', required: true, help: 'a release (targets) key (repeatable)' },
      key: { type: 'string', multiple: true, arg: 'PRIV', required: true, help: 'a private key to sign with (repeatable)' },
      'root-threshold': { type: 'string', arg: 'K', help: 'root keys needed (default 1)' },
      'targets-threshold': { type: 'string', arg: 'K', help: 'targets keys needed (default 1)' },
      'timestamp-key': { type: 'string', multiple: true, arg: 'PUB', help: 'a timestamp key (repeatable; none: devices need no freshness statement)' },
      'timestamp-threshold': { type: 'string', arg: 'K', help: 'timestamp keys needed (default 1 with keys)' },
      version: { type: 'string', arg: 'N', help: 'the root version (default 1)' },
    },
    example: 'outpost ota root init --out root-1.cbor --expires 2027-12-31 --root-key r1.pub.jwk --root-key r2.pub.jwk --root-key r3.pub.jwk \\\n  --root-threshold 2 --targets-key release.pub.jwk --timestamp-key ts.pub.jwk --key r1.key.jwk',
    async run({ values }, io) {
      const out = resolve(io.cwd, requireString(values['out'], 'out'));
      const signers = stringList(values, 'key');
      if (signers.length === 0) throw new CliError('USAGE', 'missing required option --key', 2);
      const meta: RootMetadata = {
        version: int(values['version'], 'version', 1) ?? 1, expiresAt: expiry(values, 'expires'),
        root: await role(io, values, 'root', false), targets: await role(io, values, 'targets', false), timestamp: await role(io, values, 'timestamp', true),
      };
      const keys = [];
      for (const p of signers) keys.push(await readKeyPair(io, p, 'key'));
      let bytes;
      try {
        bytes = signRoot(meta, keys);
      } catch (err) {
        if (err instanceof RangeError) throw new CliError('USAGE', err.message, 2);
        otaError(err, '');
      }
      await writeNew(out, bytes, 0o644);
      const decoded = decodeRoot(bytes);
      emit(io, values.json, { root: out, bytes: bytes.length, signers: keys.map((k) => toHex(k.keyId)), ...rootJson(decoded) },
        `root v${decoded.version} → ${out} (${bytes.length} bytes), signed by ${keys.map((k) => toHex(k.keyId)).join(', ')}\n${describeRoot(decoded)}`);
      return 0;
    },
  }),
  defineCommand({
    path: ['ota', 'root', 'sign'],
    summary: 'add a signature to a root document (or any multi-signed document)',
    about: `Adds a signature by PRIV to a root document (or any COSE_Sign: a manifest signed with several
keys, a timestamp), keeping the payload and the other signatures byte for byte.`,
    flags: {
      root: { type: 'string', arg: 'FILE', required: true, help: 'the document to add a signature to' },
      key: { type: 'string', arg: 'PRIV', required: true, help: 'the private key JWK to sign with' },
      out: { type: 'string', arg: 'FILE', required: true, help: 'where to write it; not overwritten' },
    },
    example: 'outpost ota root sign --root root-2.cbor --key r2.key.jwk --out root-2.signed.cbor',
    async run({ values }, io) {
      const path = requireString(values['root'], 'root');
      const bytes = await readDocument(io, path, 'document', Math.max(DEFAULT_MAX_ROOT_BYTES, DEFAULT_MAX_MANIFEST_BYTES));
      const key = await readKeyPair(io, requireString(values['key'], 'key'), 'key');
      const out = resolve(io.cwd, requireString(values['out'], 'out'));
      let signed;
      try {
        signed = addCoseSignature(bytes, key);
      } catch (err) {
        otaError(err, `${path}: `);
      }
      await writeNew(out, signed, 0o644);
      emit(io, values.json, { out, bytes: signed.length, added: toHex(key.keyId) }, `added the signature of ${toHex(key.keyId)} → ${out} (${signed.length} bytes)`);
      return 0;
    },
  }),
  defineCommand({
    path: ['ota', 'root', 'inspect'],
    summary: 'show a root document (without verifying it)',
    positionals: '[FILE]',
    about: `Prints a root document's roles, thresholds, version, expiry and signers WITHOUT verifying it (use
\`outpost ota root verify\`). The document is --root FILE (a single positional FILE is accepted too).`,
    flags: { root: { type: 'string', arg: 'FILE', help: 'the root document' } },
    example: 'outpost ota root inspect --root root-2.cbor --json',
    async run({ values, positionals }, io) {
      const given = [...(values['root'] !== undefined ? [requireString(values['root'], 'root')] : []), ...positionals];
      if (given.length !== 1) throw new CliError('USAGE', `expected one root file (--root FILE), got ${given.length}`, 2);
      const path = given[0] as string;
      const bytes = await readRoot(io, path);
      let meta;
      let signers;
      try {
        meta = decodeRoot(bytes);
        signers = parseSigned(bytes, ROOT_CONTENT_TYPE).signatures.map((s) => toHex(s.kid));
      } catch (err) {
        otaError(err, `${path}: `);
      }
      emit(io, values.json, { verified: false, bytes: bytes.length, signers, ...rootJson(meta) },
        `root document, ${bytes.length} bytes, signed by ${signers.join(', ')} (signatures NOT verified)\n${describeRoot(meta)}`);
      return 0;
    },
  }),
  defineCommand({
    path: ['ota', 'root', 'verify'],
    summary: 'check a root chain (rotations) as a device would',
    about: `Checks a root chain as a device does: ROOT (the device's trusted root) must be signed by a
threshold of its own keys; each NEXT must be version N+1, signed by a threshold of the previous
root's keys and of its own. Exit 0 with the final version; 1 with the refusal code
(THRESHOLD_NOT_MET, ROLE_ROLLBACK, ROOT_VERSION_SKIP, …).`,
    flags: {
      trusted: { type: 'string', arg: 'ROOT', required: true, help: "the device's trusted root document" },
      root: { type: 'string', multiple: true, arg: 'NEXT', help: 'the next root documents, in order (repeatable)' },
    },
    example: 'outpost ota root verify --trusted root-1.cbor --root root-2.cbor --root root-3.cbor',
    async run({ values }, io) {
      const first = requireString(values['trusted'], 'trusted');
      let trust: TrustStore;
      const steps: number[] = [];
      try {
        trust = trustFromRoot(await readRoot(io, first));
        steps.push(trust.roles?.rootVersion ?? 0);
        for (const p of stringList(values, 'root')) {
          trust = applyRootUpdate(trust, await readRoot(io, p));
          steps.push(trust.roles?.rootVersion ?? 0);
        }
      } catch (err) {
        otaError(err, 'refused: ');
      }
      const r = trust.roles;
      emit(io, values.json, { ok: true, versions: steps, rootVersion: r?.rootVersion, expiresAt: r === undefined ? undefined : new Date(r.rootExpiresAt * 1000).toISOString() },
        `OK: root ${steps.map((v) => `v${v}`).join(' → ')}; trusted now: v${r?.rootVersion}, expires ${r === undefined ? '-' : new Date(r.rootExpiresAt * 1000).toISOString()}`);
      return 0;
    },
  }),
  defineCommand({
    path: ['ota', 'timestamp'],
    summary: 'sign a freshness statement listing the current release manifests',
    about: `Signs the freshness statement: the version (increasing with each one), the issue time (now), the
expiry (keep it short: a device that sees no newer statement after it refuses updates, which is
how a withheld update is detected) and the SHA-256 of every current release manifest (a manifest
it does not list is refused as NOT_CURRENT).`,
    flags: {
      key: { type: 'string', multiple: true, arg: 'PRIV', required: true, help: 'a timestamp-role private key (repeatable)' },
      version: { type: 'string', arg: 'N', required: true, help: "the statement's version" },
      expires: { type: 'string', arg: 'DATE', required: true, help: 'ISO 8601 date or seconds since the epoch' },
      out: { type: 'string', arg: 'FILE', required: true, help: 'where to write it; not overwritten' },
      manifest: { type: 'string', multiple: true, arg: 'M', help: 'a current release manifest (repeatable)' },
    },
    example: 'outpost ota timestamp --key ts.key.jwk --version 42 --expires 2026-12-08T12:00:00Z --manifest fw.manifest --out timestamp.cbor',
    async run({ values }, io) {
      const version = int(requireString(values['version'], 'version'), 'version', 1) as number;
      const expiresAt = expiry(values, 'expires');
      const out = resolve(io.cwd, requireString(values['out'], 'out'));
      const keyPaths = stringList(values, 'key');
      if (keyPaths.length === 0) throw new CliError('USAGE', 'missing required option --key', 2);
      const keys = [];
      for (const p of keyPaths) keys.push(await readKeyPair(io, p, 'key'));
      const manifests = [];
      for (const p of stringList(values, 'manifest')) manifests.push(await readManifestFile(io, p));
      const issuedAt = Math.floor(Date.now() / 1000);
      if (expiresAt <= issuedAt) throw new CliError('USAGE', '--expires: the statement would be expired already', 2);
      const bytes = signTimestamp({ version, issuedAt, expiresAt, manifests }, keys);
      await writeNew(out, bytes, 0o644);
      emit(io, values.json, { out, bytes: bytes.length, version, issuedAt: new Date(issuedAt * 1000).toISOString(), expiresAt: new Date(expiresAt * 1000).toISOString(), manifests: manifests.length },
        `timestamp v${version} (${manifests.length} manifest(s)), expires ${new Date(expiresAt * 1000).toISOString()} → ${out}`);
      return 0;
    },
  }),
];
