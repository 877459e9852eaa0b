/**
 * A bounded cache of successful device-credential checks, so that reconnecting the same device
 * with the same PEM inputs does not parse certificates and keys again (~1 ms each time). Only
 * successes are cached, keyed by a SHA-256 of the inputs (the key text itself is not kept), with
 * the certificate's validity window: outside it, or for anything new, the full check runs again
 * and raises its own typed error.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { checkClientCredentials } from './credentials.js';
import type { ResolvedOptions } from './options.js';

interface Entry {
  readonly clientId: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

/** Entries kept; the oldest is dropped first. */
export const CREDENTIAL_CACHE_SIZE = 64;
const cache = new Map<string, Entry>();

function keyOf(o: ResolvedOptions): string {
  const h = createHash('sha256');
  // Lengths first, so that moving bytes from one field to the next changes the key.
  for (const part of [o.cert ?? '', o.key ?? '', ...(o.ca ?? []), o.clientId ?? '']) h.update(`${part.length}:`).update(part);
  return h.digest('base64');
}

/**
 * {@link checkClientCredentials}, remembered per identical input while the certificate is valid.
 * `insecure` connects without a certificate are not cached (there is nothing to parse).
 */
export function checkClientCredentialsCached(o: ResolvedOptions): string {
  if (o.cert === undefined || o.key === undefined || o.ca === undefined) return checkClientCredentials(o);
  const k = keyOf(o);
  const now = o.now();
  const hit = cache.get(k);
  if (hit !== undefined && now >= hit.notBefore && now <= hit.notAfter) return hit.clientId;
  const clientId = checkClientCredentials(o);
  // The check passed, so cert parses; its validity window bounds how long the result holds.
  const cert = new X509Certificate(o.cert);
  cache.delete(k);
  cache.set(k, { clientId, notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo) });
  if (cache.size > CREDENTIAL_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return clientId;
}
