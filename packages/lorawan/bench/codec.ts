// Decode + MIC check + decrypt of an uplink with a 20-byte FRMPayload:
// @outpost/lorawan vs lora-packet (fromWire + verifyMIC + decrypt) vs a minimal hand-written
// AES-CMAC + AES-CTR on node:crypto (a new cipher per operation, no caching).
// Run: npx tsx --conditions=@outpost/source packages/lorawan/bench/codec.ts
import { createCipheriv } from 'node:crypto';
import { createRequire } from 'node:module';
import { decodeFrame, encodeFrame } from '@outpost/lorawan';
import { bench, report } from '@outpost/test-peers';

type LoraPacket = (typeof import('lora-packet'))['default'];
const lp = createRequire(import.meta.url)('lora-packet') as LoraPacket;

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const nwkSKey = hex('44024241ed4ce9a68c6a8bc055233fd3');
const appSKey = hex('ec925802ae430ca77fd3dd73cb2cc588');
const payload = hex('000102030405060708090a0b0c0d0e0f10111213');
const frame = encodeFrame({ type: 'UnconfirmedDataUp', devAddr: hex('26011bda'), fCnt: 1234, fPort: 10, payload }, { nwkSKey, appSKey });
const frameBuf = Buffer.from(frame);
const nwkBuf = Buffer.from(nwkSKey);
const appBuf = Buffer.from(appSKey);

// ---- reference: minimal AES-CMAC (RFC 4493) + LoRaWAN AES-CTR on node:crypto -------------
function dbl(b: Buffer): Buffer {
  const o = Buffer.alloc(16);
  for (let i = 0; i < 15; i++) o[i] = ((b[i]! << 1) | (b[i + 1]! >> 7)) & 0xff;
  o[15] = ((b[15]! << 1) & 0xff) ^ (b[0]! & 0x80 ? 0x87 : 0);
  return o;
}
function cmac(key: Buffer, msg: Buffer): Buffer {
  const l = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false).update(Buffer.alloc(16));
  const k1 = dbl(l);
  const n = Math.max(1, Math.ceil(msg.length / 16));
  const m = Buffer.alloc(n * 16);
  msg.copy(m);
  const last = (n - 1) * 16;
  if (msg.length > 0 && msg.length % 16 === 0) for (let i = 0; i < 16; i++) m[last + i]! ^= k1[i]!;
  else {
    const k2 = dbl(k1);
    m[msg.length] = 0x80;
    for (let i = 0; i < 16; i++) m[last + i]! ^= k2[i]!;
  }
  const c = createCipheriv('aes-128-cbc', key, Buffer.alloc(16)).setAutoPadding(false).update(m);
  return c.subarray(c.length - 16);
}
function reference(phy: Buffer): { ok: boolean; plain: Buffer } {
  const micOff = phy.length - 4;
  const fOptsLen = phy[5]! & 0x0f;
  const portOff = 8 + fOptsLen;
  const b0 = Buffer.alloc(16);
  b0[0] = 0x49;
  phy.copy(b0, 6, 1, 5); // DevAddr
  b0[10] = phy[6]!; b0[11] = phy[7]!; // FCnt (low 16 bits)
  b0[15] = micOff;
  const mic = cmac(nwkBuf, Buffer.concat([b0, phy.subarray(0, micOff)]));
  const ok = mic.compare(phy, micOff, micOff + 4, 0, 4) === 0;
  const a1 = Buffer.alloc(16);
  a1[0] = 0x01;
  phy.copy(a1, 6, 1, 5);
  a1[10] = phy[6]!; a1[11] = phy[7]!;
  a1[15] = 1;
  const plain = createCipheriv('aes-128-ctr', appBuf, a1).update(phy.subarray(portOff + 1, micOff));
  return { ok, plain };
}

function ours(): Uint8Array {
  const f = decodeFrame(frame, { nwkSKey, appSKey });
  if (f.type !== 'UnconfirmedDataUp' || f.micStatus !== 'valid') throw new Error('bad');
  return f.payload!;
}
function oursColdKeys(): Uint8Array {
  // new key arrays every call: the per-key cipher cache never hits
  const f = decodeFrame(frame, { nwkSKey: nwkSKey.slice(), appSKey: appSKey.slice() });
  if (f.type !== 'UnconfirmedDataUp' || f.micStatus !== 'valid') throw new Error('bad');
  return f.payload!;
}
function loraPacket(): Buffer {
  const p = lp.fromWire(frameBuf);
  if (!lp.verifyMIC(p, nwkBuf)) throw new Error('bad');
  return lp.decrypt(p, appBuf, nwkBuf);
}
function ref(): Buffer {
  const r = reference(frameBuf);
  if (!r.ok) throw new Error('bad');
  return r.plain;
}

// all three agree before we time them
const want = Buffer.from(payload).toString('hex');
for (const [name, fn] of [['ours', ours], ['ours (cold keys)', oursColdKeys], ['lora-packet', loraPacket], ['reference', ref]] as const) {
  const got = Buffer.from(fn()).toString('hex');
  if (got !== want) throw new Error(`${name} decrypted ${got}, want ${want}`);
}

const results = [
  bench('@outpost/lorawan decodeFrame', ours),
  bench('lora-packet fromWire+verifyMIC+decrypt', loraPacket),
  bench('node:crypto minimal CMAC+CTR', ref),
  bench('@outpost/lorawan, new key arrays per call', oursColdKeys),
];
report(`decode + MIC + decrypt, ${frame.length}-byte PHYPayload (20-byte FRMPayload)`, results);
const [a, b, c] = results as [typeof results[0], typeof results[0], typeof results[0]];
console.log(`  speed-up vs lora-packet: ${(a.opsPerSec / b.opsPerSec).toFixed(1)}×; time vs node:crypto reference: ${(a.usPerOp / c.usPerOp).toFixed(2)}×`);
