import { createHash } from 'node:crypto';
import { generateKeyPair, signManifest, createTrustStore, type KeyPair, type ManifestFields, type TrustStore } from '../../src/index.js';

export const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

/** Deterministic pseudo-random image bytes. */
export function makeImage(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export const KEY = generateKeyPair(new Uint8Array(32).fill(7));
export const OTHER_KEY = generateKeyPair(new Uint8Array(32).fill(9));
export const ROOT = generateKeyPair(new Uint8Array(32).fill(1));
export const TRUST: TrustStore = createTrustStore({ rootKeys: [ROOT.publicKey], signingKeys: [KEY.publicKey] });
export const DEVICE = { deviceClass: 'gw-1', vendor: 'acme', hwRevision: 'rev-b' } as const;
export const NOW = 1_800_000_000;

export interface Release {
  readonly image: Uint8Array;
  readonly manifest: Uint8Array;
  readonly fields: ManifestFields;
}

export function release(version: string, seq: number, opts: Partial<ManifestFields> & { key?: KeyPair; size?: number; imageSeed?: number } = {}): Release {
  const image = makeImage(opts.size ?? 3000, opts.imageSeed ?? seq);
  const { key, size: _s, imageSeed: _i, ...over } = opts;
  void _s;
  void _i;
  const fields: ManifestFields = {
    vendor: 'acme', deviceClass: 'gw-1', hwRevisions: ['rev-a', 'rev-b'], version, sequence: seq, securityCounter: 1,
    imageSize: image.length, imageDigest: sha256(image), ...over,
  };
  return { image, manifest: signManifest(fields, key ?? KEY), fields };
}

export async function* chunks(bytes: Uint8Array, size = 1000): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}
