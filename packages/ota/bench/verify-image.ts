// Verifying a 64 MiB image from a file (manifest signature + streaming SHA-256 with the size
// check) against node:crypto's SHA-256 over the same file alone, same run, interleaved rounds.
//   npx tsx --conditions=@outpost/source packages/ota/bench/verify-image.ts [MiB]
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTrustStore, generateKeyPair, signManifest, streamImage, verifyManifest } from '@outpost/ota';

const MiB = Number(process.argv[2] ?? 64);
const ROUNDS = 11;
const CHUNK = 1 << 20;
const dir = mkdtempSync(join(tmpdir(), 'ota-bench-'));
const path = join(dir, 'image.bin');
const image = randomBytes(MiB * 1024 * 1024);
writeFileSync(path, image);
const digest = new Uint8Array(createHash('sha256').update(image).digest());
const key = generateKeyPair();
const manifest = signManifest({ vendor: 'bench', deviceClass: 'gw', version: '1.0.0', sequence: 1, securityCounter: 1, imageSize: image.length, imageDigest: digest }, key);
const trust = createTrustStore({ signingKeys: [key.publicKey] });

async function plainSha256(): Promise<void> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: CHUNK })) h.update(c as Buffer);
  h.digest();
}

async function otaVerify(): Promise<void> {
  const r = verifyManifest(manifest, { trust, device: { deviceClass: 'gw' }, state: { sequence: 0, securityCounter: 0 } });
  if (!r.ok) throw new Error(r.code);
  await streamImage(createReadStream(path, { highWaterMark: CHUNK }) as AsyncIterable<Uint8Array>, { expectedSize: r.manifest.imageSize, expectedDigest: r.manifest.imageDigest });
}

const cpu: Record<string, number[]> = { base: [], ota: [] };
const time = async (f: () => Promise<void>): Promise<number> => {
  const c = process.cpuUsage();
  const t = process.hrtime.bigint();
  await f();
  const wall = Number(process.hrtime.bigint() - t) / 1e6;
  const used = process.cpuUsage(c);
  (cpu[f === plainSha256 ? 'base' : 'ota'] as number[]).push((used.user + used.system) / 1000);
  return wall;
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;

await plainSha256();
await otaVerify();
const base: number[] = [];
const ota: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  // alternate the order so page-cache and CPU-frequency effects fall on both alike
  if (i % 2 === 0) {
    base.push(await time(plainSha256));
    ota.push(await time(otaVerify));
  } else {
    ota.push(await time(otaVerify));
    base.push(await time(plainSha256));
  }
}
const b = median(base);
const o = median(ota);
// Each round pairs the two runs back to back; the median of the per-round ratios is what load
// from other processes disturbs least.
const ratios = base.map((x, i) => (ota[i] as number) / x);
console.log(`${MiB} MiB image, median of ${ROUNDS} rounds`);
console.log(`  node:crypto SHA-256 over the file:           ${b.toFixed(1)} ms (${(MiB / (b / 1000)).toFixed(0)} MiB/s)`);
console.log(`  verifyManifest + streamImage from the file:  ${o.toFixed(1)} ms (${(MiB / (o / 1000)).toFixed(0)} MiB/s)`);
console.log(`  ratio of medians ${(o / b).toFixed(3)}, median of per-round ratios ${median(ratios).toFixed(3)} (target ≤ 1.1)`);
console.log(`  CPU time (user + system), medians: ${median(cpu['base'] as number[]).toFixed(1)} ms vs ${median(cpu['ota'] as number[]).toFixed(1)} ms, ratio ${(median(cpu['ota'] as number[]) / median(cpu['base'] as number[])).toFixed(3)}`);
rmSync(dir, { recursive: true, force: true });
