// What the result formats between the codec's context and the caller cost per item, next to the
// decode itself (Cayenne LPP fixture, 18-byte uplink, batches of 500, in one thread): JSON
// (stringify per item inside the context + JSON.parse of the array outside, what the runner
// does without `stateless`; bench/payload-codec-stages.ts prices the tagged text it uses with it) against the V8 serializer and structuredClone (what postMessage of objects would cost).
// CPU time per item, not wall time, so a loaded machine moves the figures less.
// Run: npx tsx --conditions=@outpost/source packages/lorawan/bench/payload-codec-wire.ts
import { readFileSync } from 'node:fs';
import { deserialize, serialize } from 'node:v8';

const source = readFileSync(new URL('../test/fixtures/codecs/cayenne-lpp.js', import.meta.url), 'utf8');
const decode = new Function(`${source}; return decodeUplink;`)() as (i: { bytes: number[]; fPort: number }) => unknown;
const bytes = [0x03, 0x67, 0x01, 0x10, 0x05, 0x68, 0x52, 0x01, 0x88, 0x06, 0x76, 0x5f, 0xf2, 0x96, 0x0a, 0x00, 0x03, 0xe8];
const N = 500;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 30);
const results = Array.from({ length: N }, () => decode({ bytes, fPort: 1 }));
const json = `[${results.map((r) => JSON.stringify(r)).join(',')}]`;
// The same shape with integers in place of the decimals (27.2 → 272, …): what the decimals cost.
const integral = JSON.parse(json.replace(/\.(\d+)/g, '$1')) as unknown[];
const integralJson = JSON.stringify(integral);
const ser = serialize(results);
let sink: unknown;

/** CPU ns per item (process.cpuUsage, so time the thread waits for a core is left out): p10 and median of ROUNDS rounds of 20 batches. */
function time(f: () => unknown): [number, number] {
  const xs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const u0 = process.cpuUsage();
    for (let k = 0; k < 20; k++) sink = f();
    const u = process.cpuUsage(u0);
    xs.push(((u.user + u.system) * 1000) / 20 / N);
  }
  xs.sort((a, b) => a - b);
  return [xs[Math.floor(xs.length / 10)]!, xs[Math.floor(xs.length / 2)]!];
}

const rows: [string, [number, number]][] = [
  ['decode (the work itself)', time(() => { for (let i = 0; i < N; i++) sink = decode({ bytes, fPort: 1 }); })],
  ['JSON.stringify per item + concatenation', time(() => { let b = ''; for (const r of results) b += `,${JSON.stringify(r)}`; return b; })],
  ['JSON.parse of the answer array', time(() => JSON.parse(json))],
  ['  the same, integers for the decimals: stringify', time(() => { let b = ''; for (const r of integral) b += `,${JSON.stringify(r)}`; return b; })],
  ['  the same, integers for the decimals: parse', time(() => JSON.parse(integralJson))],
  ['v8.serialize of the array', time(() => serialize(results))],
  ['v8.deserialize of the array', time(() => deserialize(ser))],
  ['structuredClone of the array', time(() => structuredClone(results))],
];
const d = rows[0]![1][0];
console.log(`CPU per item, ${N} results of ${json.length / N | 0} B JSON each: p10 / median of ${ROUNDS} rounds`);
for (const [name, [p10, med]] of rows) console.log(`  ${name.padEnd(50)} ${p10.toFixed(0).padStart(6)} / ${med.toFixed(0).padStart(6)} ns  (${(p10 / d).toFixed(2)}× the decode)`);
void sink;
