// Ed25519 verifications per second: @noble/ed25519 and node:crypto side by side, raw and with
// the strict pre-checks of verifyEd25519, on a 200-byte message (a manifest's Sig_structure).
//   npx tsx --conditions=@outpost/source packages/ota/bench/ed25519.ts
import { randomBytes } from 'node:crypto';
import { rawVerifyEd25519, signEd25519, publicKeyOf, verifyEd25519 } from '../src/ed25519.js';

const sk = new Uint8Array(randomBytes(32));
const pk = publicKeyOf(sk);
const msg = new Uint8Array(randomBytes(200));
const sig = signEd25519(msg, sk);

function rate(name: string, f: () => boolean, ms = 1500): string {
  for (let i = 0; i < 50; i++) if (!f()) throw new Error(`${name} refused a valid signature`);
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    let n = 0;
    const end = performance.now() + ms / 5;
    while (performance.now() < end) {
      f();
      n++;
    }
    rounds.push((n * 5000) / ms);
  }
  rounds.sort((a, b) => a - b);
  return `  ${name.padEnd(44)} ${Math.round(rounds[2] as number).toLocaleString('en')} /s`;
}

console.log('Ed25519 verifications per second (median of 5 rounds)');
console.log(rate('@noble/ed25519 verify (zip215: false)', () => rawVerifyEd25519(sig, msg, pk, 'noble')));
console.log(rate('node:crypto verify', () => rawVerifyEd25519(sig, msg, pk, 'node')));
console.log(rate('verifyEd25519, strict checks + noble', () => verifyEd25519(sig, msg, pk, 'noble')));
console.log(rate('verifyEd25519, strict checks + node:crypto', () => verifyEd25519(sig, msg, pk, 'node')));
