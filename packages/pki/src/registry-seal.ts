// registry.json with its own SHA-256: a damaged byte is REGISTRY_CORRUPT instead of a quietly
// different registry. A flipped hex digit in a revoked certificate's serial would otherwise drop
// it from the next CRL and let the revoked device back in. The file stays readable JSON: the
// digest is the last field, `"sha256"`, over the compact JSON of everything before it.
// Registries written before the seal (no `sha256`) are still read.
import { createHash } from 'node:crypto';
import type { RegistryData } from './ca-registry.js';
import { PkiError } from './errors.js';

const digest = (o: object): string => createHash('sha256').update(JSON.stringify(o)).digest('hex');

/** The registry file's text, sealed. */
export function sealRegistry(registry: RegistryData): string {
  return `${JSON.stringify({ ...registry, sha256: digest(registry) }, null, 2)}\n`;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses and checks a registry file. @throws {PkiError} `REGISTRY_CORRUPT`; `CA_NOT_FOUND` for a file of another kind. */
export function parseRegistry(text: string, path: string): RegistryData {
  const corrupt = (why: string): PkiError => new PkiError('REGISTRY_CORRUPT', `${path}: ${why}; restore it from a backup (the CA refuses to issue or revoke from a registry it cannot trust)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw corrupt('not JSON');
  }
  if (!isRecord(parsed)) throw corrupt('not an object');
  if (parsed['version'] !== 1) throw new PkiError('CA_NOT_FOUND', `openCaDir: ${path} is not an Outpost registry (version 1)`);
  const { sha256, ...rest } = parsed;
  if (sha256 !== undefined && (typeof sha256 !== 'string' || sha256 !== digest(rest))) throw corrupt('its sha256 does not match its contents');
  if (typeof rest['crlNumber'] !== 'number' || !isRecord(rest['devices']) || !isRecord(rest['keys'])) throw corrupt('unexpected shape');
  for (const d of Object.values(rest['devices'])) {
    if (!isRecord(d) || !isRecord(d['current']) || !Array.isArray(d['previous']) || typeof d['revoked'] !== 'boolean') throw corrupt('a device entry of unexpected shape');
  }
  return rest as unknown as RegistryData;
}
