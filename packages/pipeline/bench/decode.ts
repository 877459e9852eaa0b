// One createDecoder() instance: CPU time per message (process.cpuUsage, so a loaded machine
// slows the run but not the figure much), per payload shape, beside the parse floor (TextDecoder
// + JSON.parse, or cbor-x alone) in the same run. The difference is the cost of the bounds (depth
// and CBOR scans, the document check, prototype-free extra) and of the one schema's checks.
//   npx tsx --conditions=@outpost/source packages/pipeline/bench/decode.ts
import { Decoder, Encoder } from 'cbor-x';
import { createDecoder, type IncomingMessage } from '../src/decode.js';

const enc = new TextEncoder();
const cborEnc = new Encoder({ useRecords: false, mapsAsObjects: true } as ConstructorParameters<typeof Encoder>[0]);
const cborDec = new Decoder({ mapsAsObjects: true, useRecords: false, int64AsType: 'number' } as ConstructorParameters<typeof Decoder>[0]);
const now = Date.UTC(2026, 10, 27, 12);
const object = { ts: now - 1000, temperature: 21.5, humidity: 40.25, rpm: 1500, fw: '1.2.0', site: { id: 'plant-7', line: 3 } };
const json = enc.encode(JSON.stringify(object));
const cbor = cborEnc.encode(object);
const senml = enc.encode(JSON.stringify([{ bn: 'urn:dev:ow:10e2073a01080063:', bt: (now - 5000) / 1000, bu: 'Cel', n: 'temp', v: 23.1 }, ...[1, 2, 3, 4].map((t) => ({ n: 'temp', t, v: 23 + t / 10 }))]));
const deep = enc.encode(`{"a":${'['.repeat(3000)}${']'.repeat(3000)},"v":1}`);

const decode = createDecoder();
const msg = (payload: Uint8Array): IncomingMessage => ({ topic: 'devices/pump-1/telemetry', payload, receivedAt: now });
const text = new TextDecoder();

/** Median over 5 rounds of CPU µs per call. */
function cpu(f: () => unknown, n = 50_000): number {
  for (let i = 0; i < 5_000; i++) f();
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const c = process.cpuUsage();
    for (let i = 0; i < n; i++) f();
    const d = process.cpuUsage(c);
    rounds.push((d.user + d.system) / n);
  }
  return rounds.sort((a, b) => a - b)[2] as number;
}
const refuse = (m: IncomingMessage): number => {
  try {
    return decode(m).length;
  } catch {
    return -1;
  }
};

const rows: [string, number][] = [
  ['JSON parse floor (TextDecoder + JSON.parse)', cpu(() => JSON.parse(text.decode(json)) as unknown)],
  ['JSON object, 3 metrics + extra', cpu(() => decode(msg(json)).length)],
  ['CBOR parse floor (cbor-x decode)', cpu(() => cborDec.decode(cbor) as unknown)],
  ['CBOR object, 3 metrics + extra', cpu(() => decode(msg(cbor)).length)],
  ['SenML JSON pack, 5 records', cpu(() => decode(msg(senml)).length)],
  ['refused: 3,000 nested arrays (6 KB)', cpu(() => refuse(msg(deep)), 5_000)],
];
console.log(`\npipeline decode, CPU µs per message (node ${process.version}, ${process.arch})`);
for (const [name, us] of rows) console.log(`  ${name.padEnd(44)} ${us.toFixed(2).padStart(8)} µs  ${Math.round(1e6 / us).toLocaleString('en-US').padStart(10)} msg/s per core`);
