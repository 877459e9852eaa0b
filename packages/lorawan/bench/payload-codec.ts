// TS013 codec in isolation (worker + vm context + time budget) against the same codec called
// directly in-process, on the Cayenne LPP fixture with an 18-byte uplink; and the isolation's
// start-up time per codec. Each round times the three paths back to back; the ratios are the
// medians of the per-round ratios, so a change of machine load between rounds moves both sides.
// Run: npx tsx --conditions=@outpost/source packages/lorawan/bench/payload-codec.ts
// The isolated configurations run in the same rounds, interleaved: by default the defaults, the
// codec declared `stateless` (one stringify per message), and stateless with 2 workers; set
// BENCH_CONFIGS to a JSON array of options to compare others (e.g. '[{"chunkSize":64},{"chunkSize":500}]').
// CPU time (every thread of the process, from process.cpuUsage) is reported per decode next to
// the wall-clock rate: the price of the isolation that does not depend on the machine's load.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { loadPayloadCodec, type PayloadCodecOptions } from '@outpost/lorawan';

const source = readFileSync(new URL('../test/fixtures/codecs/cayenne-lpp.js', import.meta.url), 'utf8');
const bytes = [0x03, 0x67, 0x01, 0x10, 0x05, 0x68, 0x52, 0x01, 0x88, 0x06, 0x76, 0x5f, 0xf2, 0x96, 0x0a, 0x00, 0x03, 0xe8];
const N = 5_000;
const BATCH = 500;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 15);
const CONFIGS = JSON.parse(process.env['BENCH_CONFIGS'] ?? '[{}, {"stateless": true}, {"stateless": true, "workers": 2}]') as PayloadCodecOptions[];

// Direct: the same script evaluated in this realm (what a gateway does without isolation).
const direct = new Function(`${source}; return decodeUplink;`)() as (i: { bytes: number[]; fPort: number }) => unknown;

let sink: unknown; // keeps the direct results alive, as a caller would use them

/** CPU µs per item (user + system, every thread of the process) since `u0`. */
function cpuPerItem(u0: NodeJS.CpuUsage, n: number): number {
  const u = process.cpuUsage(u0);
  return (u.user + u.system) / n;
}

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
  const codecs = await Promise.all(CONFIGS.map((c) => loadPayloadCodec(source, c)));
  const codec = codecs[0]!;
  const inputs = Array.from({ length: BATCH }, () => ({ bytes, fPort: 1 }));
  const rDirect: number[] = [];
  const rBatch: number[][] = CONFIGS.map(() => []);
  const cpuBatch: number[][] = CONFIGS.map(() => []);
  const cpuDirect: number[] = [];
  const rSingle: number[] = [];
  const ratioBatch: number[][] = CONFIGS.map(() => []);
  const ratioSingle: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let t0 = performance.now();
    let u0 = process.cpuUsage();
    for (let i = 0; i < N; i++) sink = direct({ bytes, fPort: 1 });
    rDirect.push(N / ((performance.now() - t0) / 1000));
    cpuDirect.push(cpuPerItem(u0, N));
    for (let k = 0; k < codecs.length; k++) {
      t0 = performance.now();
      u0 = process.cpuUsage();
      for (let i = 0; i < N; i += BATCH) {
        const rs = await codecs[k]!.decodeUplinks(inputs);
        if (!rs[0]?.ok) throw new Error('decode failed');
      }
      rBatch[k]!.push(N / ((performance.now() - t0) / 1000));
      cpuBatch[k]!.push(cpuPerItem(u0, N));
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
  console.log(`load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`direct in-process:            ${Math.round(d).toLocaleString('en')} decodes/s, ${median(cpuDirect).toFixed(2)} µs CPU each`);
  CONFIGS.forEach((options, k) => {
    const b = median(rBatch[k]!);
    console.log(`isolated, batches of ${BATCH}, ${JSON.stringify(options)}: ${Math.round(b).toLocaleString('en')} decodes/s (${median(ratioBatch[k]!).toFixed(2)}× direct, median of ${ROUNDS} paired rounds), ${median(cpuBatch[k]!).toFixed(2)} µs CPU each`);
  });
  console.log(`isolated, one call at a time: ${Math.round(s).toLocaleString('en')} decodes/s (${median(ratioSingle).toFixed(3)}× direct)`);
  void sink;
}
await main();
