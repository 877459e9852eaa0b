// TS013 codec in isolation (worker + vm context + time budget) against the same codec called
// directly in-process, on the Cayenne LPP fixture with an 18-byte uplink; and the isolation's
// start-up time per codec. Each round times the three paths back to back; the ratios are the
// medians of the per-round ratios, so a change of machine load between rounds moves both sides.
// Run: npx tsx --conditions=@outpost/source packages/lorawan/bench/payload-codec.ts
// BENCH_CHUNKS=32,128,500 compares chunkSize values (same rounds, interleaved); default 128.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loadPayloadCodec } from '@outpost/lorawan';

const source = readFileSync(new URL('../test/fixtures/codecs/cayenne-lpp.js', import.meta.url), 'utf8');
const bytes = [0x03, 0x67, 0x01, 0x10, 0x05, 0x68, 0x52, 0x01, 0x88, 0x06, 0x76, 0x5f, 0xf2, 0x96, 0x0a, 0x00, 0x03, 0xe8];
const N = 5_000;
const BATCH = 500;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 15);
const CHUNKS = (process.env['BENCH_CHUNKS'] ?? '128').split(',').map(Number);

// Direct: the same script evaluated in this realm (what a gateway does without isolation).
const direct = new Function(`${source}; return decodeUplink;`)() as (i: { bytes: number[]; fPort: number }) => unknown;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function main(): Promise<void> {
  const starts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const c = await loadPayloadCodec(source);
    starts.push(performance.now() - t0);
    await c.close();
  }
  const codecs = await Promise.all(CHUNKS.map((chunkSize) => loadPayloadCodec(source, { chunkSize })));
  const codec = codecs[0]!;
  const inputs = Array.from({ length: BATCH }, () => ({ bytes, fPort: 1 }));
  const rDirect: number[] = [];
  const rBatch: number[][] = CHUNKS.map(() => []);
  const rSingle: number[] = [];
  const ratioBatch: number[][] = CHUNKS.map(() => []);
  const ratioSingle: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let t0 = performance.now();
    for (let i = 0; i < N; i++) direct({ bytes, fPort: 1 });
    rDirect.push(N / ((performance.now() - t0) / 1000));
    for (let k = 0; k < codecs.length; k++) {
      t0 = performance.now();
      for (let i = 0; i < N; i += BATCH) {
        const rs = await codecs[k]!.decodeUplinks(inputs);
        if (!rs[0]?.ok) throw new Error('decode failed');
      }
      rBatch[k]!.push(N / ((performance.now() - t0) / 1000));
      ratioBatch[k]!.push((rBatch[k]!.at(-1) as number) / (rDirect.at(-1) as number));
    }
    t0 = performance.now();
    for (let i = 0; i < N / 10; i++) await codec.decodeUplink({ bytes, fPort: 1 });
    rSingle.push(N / 10 / ((performance.now() - t0) / 1000));
    ratioSingle.push((rSingle.at(-1) as number) / (rDirect.at(-1) as number));
  }
  await Promise.all(codecs.map((c) => c.close()));
  const d = median(rDirect);
  const s = median(rSingle);
  console.log(`start-up per codec (worker + context + script): median ${median(starts).toFixed(1)} ms over 5`);
  console.log(`direct in-process:            ${Math.round(d).toLocaleString('en')} decodes/s`);
  CHUNKS.forEach((chunk, k) => {
    const b = median(rBatch[k]!);
    console.log(`isolated, batches of ${BATCH}, chunkSize ${String(chunk).padStart(3)}: ${Math.round(b).toLocaleString('en')} decodes/s (${median(ratioBatch[k]!).toFixed(2)}× direct, median of ${ROUNDS} paired rounds)`);
  });
  console.log(`isolated, one call at a time: ${Math.round(s).toLocaleString('en')} decodes/s (${median(ratioSingle).toFixed(3)}× direct)`);
}
await main();
