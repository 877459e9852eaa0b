// The TLS secure contexts of the gateway's broker connections, cached by credential set. Node
// builds a new SecureContext (CA store, certificate chain, private key parsed from PEM) for
// every tls.connect given `ca`/`cert`/`key`; with one broker connection per MQTT-SN client that
// was one build per client connect and reconnect. Internal.
import { createHash } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';

type Pem = string | Uint8Array;

/**
 * Secure contexts keyed by the SHA-256 of their contents (CA, certificate, key), so the cache
 * holds no second copy of a private key and a credential set that changes (a renewed
 * certificate on disk read again by the CLI, a credential function returning new PEM) gets a
 * new context at its next connect: invalidation by content, no restart, no file watching.
 * Bounded: at most `max` contexts (least recently used dropped first).
 */
export class SecureContextCache {
  private readonly byKey = new Map<string, SecureContext>();
  /** Contexts built so far (a cache miss each). */
  built = 0;

  constructor(private readonly max: number) {}

  get(ca: readonly Pem[] | undefined, cert: Pem | undefined, key: Pem | undefined): SecureContext {
    const h = createHash('sha256');
    for (const part of [...(ca ?? []), '\0', cert ?? '', '\0', key ?? '']) h.update(part);
    const id = h.digest('base64');
    const hit = this.byKey.get(id);
    if (hit !== undefined) {
      this.byKey.delete(id); // most recently used last
      this.byKey.set(id, hit);
      return hit;
    }
    const pem = (v: Pem): string | Buffer => (typeof v === 'string' ? v : Buffer.from(v));
    const ctx = createSecureContext({ minVersion: 'TLSv1.2', ...(ca !== undefined ? { ca: ca.map(pem) } : {}), ...(cert !== undefined ? { cert: pem(cert) } : {}), ...(key !== undefined ? { key: pem(key) } : {}) });
    this.built += 1;
    this.byKey.set(id, ctx);
    if (this.byKey.size > this.max) this.byKey.delete(this.byKey.keys().next().value as string);
    return ctx;
  }

  get size(): number {
    return this.byKey.size;
  }
}
