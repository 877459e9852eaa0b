// TS013 codec in isolation (worker + vm context + time budget) against the same codec called
// directly in-process, on the Cayenne LPP fixture with an 18-byte uplink; and the isolation's
// start-up time per codec.
// Run: npx tsx --conditions=@outpost/source packages/lorawan/bench/payload-codec.ts
//
// Both sides do the same job: the same batch of BATCH inputs (each its own `bytes` array, as
// uplinks arrive), turned into the same TS013 results ({ ok, data, warnings }), which a consumer
// reads. The direct side calls the codec through a function value it was handed, as an
// application would (not a call site the bench wrote around one known function), and checks
// each answer's TS013 shape as the isolated side does. Rounds are of equal wall time (ROUND_MS
// each, whole batches), not of equal counts: rounds of a few ms were either untouched or hit by
// a whole scheduler slice on a shared machine, so their median flipped between two modes
// (2.0M ↔ 3.2M decodes/s direct between runs). Unreported warm-up rounds first, so every path
// is optimised before it is timed. The order of the paths alternates between rounds. (A forced
// full GC before each round was tried: it left direct as it was and made every isolated path
// cost 2–3× the CPU, so it is not done.) The ratio of a configuration is the median of its per-round ratios to the
// direct rate of the same round; p25–p75 of those ratios shows how far one run can be trusted.
// BENCH_CONFIGS: a JSON array of options to compare (default: defaults, stateless, stateless
// with 2 workers); BENCH_ROUNDS (15), BENCH_WARMUP (4), BENCH_ROUND_MS (60).
// CPU time (every thread of the process, from process.cpuUsage) is reported per decode next to
// the wall-clock rate, and its ratio to direct's: the price of the isolation that does not depend
// on the machine's load. On a loaded machine the wall-clock ratio is not to be trusted either
// way: the isolated path runs on two threads and so gets a larger share of a contended machine
// than the one-thread direct path (ratios over 0.5× were seen at load 15).
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { loadPayloadCodec, type PayloadCodecInput, type PayloadCodecOptions, type PayloadCodecResult } from '@outpost/lorawan';
import { dataShape } from '../src/payload-codec-wire.js';

const source = readFileSync(new URL('../test/fixtures/codecs/cayenne-lpp.js', import.meta.url), 'utf8');
const bytes = [0x03, 0x67, 0x01, 0x10, 0x05, 0x68, 0x52, 0x01, 0x88, 0x06, 0x76, 0x5f, 0xf2, 0x96, 0x0a, 0x00, 0x03, 0xe8];
const BATCH = 500;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 15);
const WARMUP = Number(process.env['BENCH_WARMUP'] ?? 4);
const ROUND_MS = Number(process.env['BENCH_ROUND_MS'] ?? 60);
const CONFIGS = JSON.parse(process.env['BENCH_CONFIGS'] ?? '[{}, {"stateless": true}, {"stateless": true, "workers": 2}]') as PayloadCodecOptions[];


type Decode = (input: PayloadCodecInput) => unknown;
/** What an application without isolation does with a batch: each input through the codec it was handed, each answer read as TS013. */
function decodeDirect(decode: Decode, inputs: readonly PayloadCodecInput[]): PayloadCodecResult<unknown>[] {
  const out = new Array<PayloadCodecResult<unknown>>(inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    let r: PayloadCodecResult<unknown>;
    try {
      r = dataShape(decode(inputs[i] as PayloadCodecInput));
    } catch (e) {
      r = { ok: false, code: 'CODEC_THREW', errors: [String(e)], warnings: [] };
    }
    out[i] = r;
  }
  return out;
}

/** The consumer: reads every result (the same on both sides); failures are counted and reported. */
let consumed = 0;
const failures = new Map<string, number>();
function consume(results: readonly PayloadCodecResult<unknown>[]): void {
  for (const r of results) {
    if (r.ok) consumed += (r.data as { temperature_3: number }).temperature_3;
    else failures.set(r.code, (failures.get(r.code) ?? 0) + 1);
  }
}

/** CPU µs per item (user + system, every thread of the process) since `u0`. */
function cpuPerItem(u0: NodeJS.CpuUsage, n: number): number {
  const u = process.cpuUsage(u0);
  return (u.user + u.system) / n;
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
}

interface Path {
  readonly name: string;
  readonly batch: () => Promise<number> | number;
  readonly rate: number[];
  readonly cpu: number[];
}

/** Runs whole batches of `path` for ROUND_MS; decodes per second and CPU µs per decode. */
async function round(path: Path, record: boolean): Promise<void> {
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  let t = t0;
  do {
    n += await path.batch();
    t = performance.now();
  } while (t - t0 < ROUND_MS);
  if (!record) return;
  path.rate.push(n / ((t - t0) / 1000));
  path.cpu.push(cpuPerItem(u0, n));
}

async function main(): Promise<void> {
  const starts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const c = await loadPayloadCodec(source);
    starts.push(performance.now() - t0);
    await c.close();
  }
  const direct = new Function(`${source}; return decodeUplink;`)() as Decode;
  const codecs = await Promise.all(CONFIGS.map((c) => loadPayloadCodec(source, c)));
  const inputs: PayloadCodecInput[] = Array.from({ length: BATCH }, () => ({ bytes: [...bytes], fPort: 1 }));
  const single = inputs.slice(0, 50);
  const paths: Path[] = [
    { name: 'direct in-process', batch: () => { consume(decodeDirect(direct, inputs)); return BATCH; }, rate: [], cpu: [] },
    ...codecs.map((c, k): Path => ({
      name: `isolated, batches of ${BATCH}, ${JSON.stringify(CONFIGS[k])}`,
      batch: async () => { consume(await c.decodeUplinks(inputs)); return BATCH; },
      rate: [], cpu: [],
    })),
    { name: 'isolated, one call at a time, {}', batch: async () => { for (const i of single) consume([await codecs[0]!.decodeUplink(i)]); return single.length; }, rate: [], cpu: [] },
  ];
  for (let r = 0; r < WARMUP + ROUNDS; r++) {
    const order = r % 2 === 0 ? paths : [...paths].reverse();
    for (const p of order) await round(p, r >= WARMUP);
  }
  await Promise.all(codecs.map((c) => c.close()));
  const d = paths[0]!;
  console.log(`start-up per codec (worker + context + script): median ${quantile(starts, 0.5).toFixed(1)} ms over 5`);
  console.log(`load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${ROUNDS} rounds of ${ROUND_MS} ms per path after ${WARMUP} warm-up rounds`);
  const fmt = (x: number): string => Math.round(x).toLocaleString('en');
  console.log(`${d.name}: ${fmt(quantile(d.rate, 0.5))} decodes/s (p25–p75 ${fmt(quantile(d.rate, 0.25))}–${fmt(quantile(d.rate, 0.75))}), ${quantile(d.cpu, 0.5).toFixed(2)} µs CPU each`);
  for (const p of paths.slice(1)) {
    const ratios = p.rate.map((x, i) => x / (d.rate[i] as number));
    const cpuRatios = p.cpu.map((x, i) => (d.cpu[i] as number) / x);
    const digits = p === paths.at(-1) ? 3 : 2;
    console.log(`${p.name}: ${fmt(quantile(p.rate, 0.5))} decodes/s, ${quantile(ratios, 0.5).toFixed(digits)}× direct (p25–p75 ${quantile(ratios, 0.25).toFixed(digits)}–${quantile(ratios, 0.75).toFixed(digits)}), ${quantile(p.cpu, 0.5).toFixed(2)} µs CPU each (direct's CPU per decode ÷ this one's: ${quantile(cpuRatios, 0.5).toFixed(digits)}×)`);
  }
  if (consumed === 0) console.log('nothing consumed');
  // a loaded machine can delay a message past its budget (timeoutMs + timeoutGraceMs): reported, not hidden
  if (failures.size > 0) console.log(`failed decodes: ${JSON.stringify(Object.fromEntries(failures))}`);
}
await main();
