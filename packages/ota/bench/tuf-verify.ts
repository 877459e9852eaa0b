// What TUF-grade trust costs per manifest check: verifyManifest on a single-signature store (the
// old path), and on TUF stores with a timestamp and targets thresholds 1, 2 and 3; also a root
// rotation (two thresholds of signatures). Interleaved rounds, medians.
//   npx tsx --conditions=@outpost/source packages/ota/bench/tuf-verify.ts
import { createHash } from 'node:crypto';
import {
  applyRootUpdate, createTrustStore, generateKeyPair, signManifest, signRoot, signTimestamp, trustFromRoot, verifyManifest,
  type KeyPair, type RootMetadata, type VerifyManifestOptions,
} from '../src/index.js';

const NOW = 1_800_000_000;
const keys = Array.from({ length: 8 }, (_, i) => generateKeyPair(new Uint8Array(32).fill(i + 1)));
const k = (i: number): KeyPair => keys[i] as KeyPair;
const image = new Uint8Array(1024);
const fields = { vendor: 'acme', deviceClass: 'gw', version: '1.1.0', sequence: 2, securityCounter: 1, imageSize: image.length, imageDigest: new Uint8Array(createHash('sha256').update(image).digest()) };
const state = { sequence: 1, securityCounter: 1 };
const device = { deviceClass: 'gw' };

function tuf(threshold: number): { options: VerifyManifestOptions; manifest: Uint8Array } {
  const targets = [k(2), k(3), k(4)].slice(0, Math.max(threshold, 1));
  const root: RootMetadata = {
    version: 1, expiresAt: NOW + 86_400, root: { keys: [k(0).publicKey, k(1).publicKey], threshold: 2 },
    targets: { keys: targets.map((x) => x.publicKey), threshold }, timestamp: { keys: [k(5).publicKey], threshold: 1 },
  };
  const manifest = signManifest(fields, targets.slice(0, threshold));
  const timestamp = signTimestamp({ version: 1, issuedAt: NOW, expiresAt: NOW + 3600, manifests: [manifest] }, [k(5)]);
  return { manifest, options: { trust: trustFromRoot(signRoot(root, [k(0), k(1)])), device, state, now: NOW, timestamp } };
}

const legacyManifest = signManifest(fields, k(2));
const legacy = { trust: createTrustStore({ signingKeys: [k(2).publicKey] }), device, state, now: NOW };
const t1 = tuf(1);
const t2 = tuf(2);
const t3 = tuf(3);
const rootV1 = trustFromRoot(signRoot({ version: 1, expiresAt: NOW + 86_400, root: { keys: [k(0).publicKey, k(1).publicKey], threshold: 2 }, targets: { keys: [k(2).publicKey], threshold: 1 }, timestamp: { keys: [], threshold: 0 } }, [k(0), k(1)]));
const rootV2 = signRoot({ version: 2, expiresAt: NOW + 86_400, root: { keys: [k(6).publicKey, k(7).publicKey], threshold: 2 }, targets: { keys: [k(2).publicKey], threshold: 1 }, timestamp: { keys: [], threshold: 0 } }, [k(0), k(1), k(6), k(7)]);

const variants: Array<[string, () => boolean]> = [
  ['single-signature store, COSE_Sign1 (old path)', () => verifyManifest(legacyManifest, legacy).ok],
  ['TUF: targets 1-of-1 + timestamp', () => verifyManifest(t1.manifest, t1.options).ok],
  ['TUF: targets 2-of-2 + timestamp', () => verifyManifest(t2.manifest, t2.options).ok],
  ['TUF: targets 3-of-3 + timestamp', () => verifyManifest(t3.manifest, t3.options).ok],
  ['root rotation 2-of-2 → 2-of-2 (applyRootUpdate)', () => applyRootUpdate(rootV1, rootV2).roles?.rootVersion === 2],
];
for (const [name, f] of variants) if (!f()) throw new Error(`${name}: refused`);

const ROUNDS = 9;
const SLICE_MS = 150;
const rates = variants.map((): number[] => []);
for (let r = 0; r < ROUNDS; r++) {
  for (const [i, [, f]] of variants.entries()) {
    let n = 0;
    const start = performance.now();
    while (performance.now() - start < SLICE_MS) {
      f();
      n++;
    }
    (rates[i] as number[]).push((n * 1000) / (performance.now() - start));
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;
const base = median(rates[0] as number[]);
console.log(`checks per second (median of ${ROUNDS} interleaved rounds), and relative to the old path`);
for (const [i, [name]] of variants.entries()) {
  const m = median(rates[i] as number[]);
  console.log(`  ${name.padEnd(50)} ${Math.round(m).toLocaleString('en').padStart(7)} /s   ${(base / m).toFixed(2)}× the time`);
}
