// Helpers shared by the `outpost ota …` command files: flag parsing, capped file reads, key files.
import { resolve } from 'node:path';
import { DEFAULT_MAX_MANIFEST_BYTES, jwkToKey, OtaError, type KeyPair } from '@outpost/ota';
import { CliError, type FlagValues, type Io } from '../command.js';
import { readCapped } from '../files.js';

export function int(value: unknown, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < min) {
    throw new CliError('USAGE', `--${flag}: expected an integer ≥ ${min}, got "${String(value)}"`, 2);
  }
  return Number(value);
}
export const opt = (values: FlagValues, flag: string): string | undefined => (typeof values[flag] === 'string' ? (values[flag] as string) : undefined);

/** Largest JWK or JWK-set file read (a set of a few thousand keys). */
const MAX_KEY_FILE_BYTES = 1 << 20;

// Every file is read with a cap before anything parses it: /dev/zero or a FIFO ends the read.
export async function readText(io: Io, path: string, what: string): Promise<string> {
  return new TextDecoder().decode(await readCapped(resolve(io.cwd, path), { cap: MAX_KEY_FILE_BYTES, what }));
}
export async function readManifestFile(io: Io, path: string): Promise<Uint8Array> {
  return readCapped(resolve(io.cwd, path), { cap: DEFAULT_MAX_MANIFEST_BYTES, what: 'manifest', tooLargeCode: 'MANIFEST_TOO_LARGE' });
}
export function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError('MALFORMED', `${path}: not JSON`);
  }
}
export function otaError(err: unknown, prefix: string): never {
  if (err instanceof OtaError) throw new CliError(err.code, `${prefix}${err.message}`);
  throw err;
}


export function parseExpiry(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new CliError('USAGE', `--expires: expected seconds since the epoch or an ISO 8601 date, got "${v}"`, 2);
  return Math.floor(t / 1000);
}


/** Reads a private key JWK (from `outpost ota keygen`). @throws {CliError} USAGE for a public key. */
export async function readKeyPair(io: Io, path: string, flag: string): Promise<KeyPair> {
  let key;
  try {
    key = jwkToKey(parseJson(await readText(io, path, 'key'), path));
  } catch (err) {
    otaError(err, `${path}: `);
  }
  if (key.secretKey === undefined) throw new CliError('USAGE', `--${flag} ${path}: a public key; signing needs the private key (.key.jwk)`, 2);
  return { secretKey: key.secretKey, publicKey: key.publicKey, keyId: key.keyId };
}

/** Reads public keys from JWK files (a JWK or a set {"keys": [...]}), in order. */
export async function readPublicKeys(io: Io, paths: readonly string[]): Promise<Uint8Array[]> {
  const keys: Uint8Array[] = [];
  for (const p of paths) {
    const j = parseJson(await readText(io, p, 'key file'), p) as { keys?: unknown };
    for (const k of Array.isArray(j.keys) ? j.keys : [j]) {
      try {
        keys.push(jwkToKey(k).publicKey);
      } catch (err) {
        otaError(err, `${p}: `);
      }
    }
  }
  return keys;
}

/** Reads a signed root or timestamp document with the size cap applied before any parsing. */
export async function readDocument(io: Io, path: string, what: string, cap: number): Promise<Uint8Array> {
  return readCapped(resolve(io.cwd, path), { cap, what, tooLargeCode: 'METADATA_TOO_LARGE' });
}
