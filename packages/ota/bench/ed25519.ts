// Ed25519 verifications per second: @noble/ed25519 and node:crypto side by side, raw and with
// the strict pre-checks of verifyEd25519, on a 200-byte message (a manifest's Sig_structure).
//   npx tsx --conditions=@outpost/source packages/ota/bench/ed25519.ts
import { randomBytes } from 'node:crypto';
import { rawVerifyEd25519, signEd25519, publicKeyOf, verifyEd25519 } from '../src/ed25519.js';

const sk = new Uint8Array(randomBytes(32));
const pk = publicKeyOf(sk);
const msg = new Uint8Array(randomBytes(200));
const sig = signEd25519(msg, sk);

const variants: Array<[string, () => boolean]> = [
  ['@noble/ed25519 verify (zip215: false)', () => rawVerifyEd25519(sig, msg, pk, 'noble')],
  ['node:crypto verify', () => rawVerifyEd25519(sig, msg, pk, 'node')],
  ['verifyEd25519, strict checks + noble', () => verifyEd25519(sig, msg, pk, 'noble')],
  ['verifyEd25519, strict checks + node:crypto', () => verifyEd25519(sig, msg, pk, 'node')],
];
for (const [name, f] of variants) for (let i = 0; i < 50; i++) if (!f()) throw new Error(`${name} refused a valid signature`);

// Rounds rotate through the variants so that load from other processes falls on all of them.
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
console.log(`Ed25519 verifications per second (median of ${ROUNDS} interleaved rounds, 200-byte message)`);
for (const [i, [name]] of variants.entries()) {
  const xs = [...(rates[i] as number[])].sort((a, b) => a - b);
  console.log(`  ${name.padEnd(44)} ${Math.round(xs[xs.length >> 1] as number).toLocaleString('en')} /s`);
}
