// Where an isolated decode's CPU goes, stage by stage, all in this one thread (no worker, so no
// thread hops): packing the inputs, the run inside the codec's vm context (unpacking, the codec,
// writing the answer) and reading the answer back (the tagged text, or JSON.parse for the JSON a
// value that is not plain data or a nested call still gives; + the TS013 shape checks), against
// the same codec called directly. Cayenne LPP fixture, 18-byte uplink, messages of 128. CPU ns per item from
// process.cpuUsage: p10 and median of 40 rounds.
// Run: npx tsx --conditions=@outpost/source packages/lorawan/bench/payload-codec-stages.ts
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { CONTEXT_BOOTSTRAP } from '../src/payload-codec-worker.js';
import { dataShape, packInputs, readResults } from '../src/payload-codec-wire.js';

const source = readFileSync(new URL('../test/fixtures/codecs/cayenne-lpp.js', import.meta.url), 'utf8');
const bytes = [0x03, 0x67, 0x01, 0x10, 0x05, 0x68, 0x52, 0x01, 0x88, 0x06, 0x76, 0x5f, 0xf2, 0x96, 0x0a, 0x00, 0x03, 0xe8];
const N = 128;
const inputs = Array.from({ length: N }, () => ({ bytes, fPort: 1 }));

// The context as the worker builds it: the codec in a function scope with the context's built-ins.
const context = vm.createContext(Object.create(null), { codeGeneration: { strings: false, wasm: false }, microtaskMode: 'afterEvaluate' });
vm.runInContext(CONTEXT_BOOTSTRAP, context);
const builtins = (vm.runInContext('Object.getOwnPropertyNames(globalThis).join(",")', context) as string).split(',')
  .filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && !['eval', 'arguments', 'undefined', 'NaN', 'Infinity'].includes(n) && !n.startsWith('__outpost'));
const scope = `(function (${builtins.join(', ')}) {\n${source}\n;return function () { return decodeUplink; };\n}).call(this, ${builtins.join(', ')})`;
vm.runInContext(`__outpostInstall(${scope});`, context);
const decodeInContext = (vm.runInContext(scope, context) as () => (i: unknown) => unknown)();
const call = new vm.Script('__outpostRun(0, __outpostInputs, "", __outpostMax, __outpostOnce)');
const direct = new Function(`${source}; return decodeUplink;`)() as (i: unknown) => unknown;
const answerContext = { fn: 'decodeUplink', maxResultBytes: 65536, timeoutMs: 50 };
const ctx = context as { __outpostInputs: string; __outpostMax: number; __outpostOnce: boolean };
ctx.__outpostMax = 65536;
ctx.__outpostInputs = packInputs(inputs).packed;
const tagged = (): { out: string } => {
  // as the worker does: the dispatcher's buffer made a string
  const out = call.runInContext(context) as Uint16Array;
  return { out: Buffer.from(out.buffer, 4, (out[0]! * 0x10000 + out[1]!) * 2).toString('utf16le') };
};
ctx.__outpostOnce = false;
const answerEach = tagged();
ctx.__outpostOnce = true;
const answerTagged = tagged();
if (answerTagged.out[N + 1] !== 'a' || answerEach.out[N + 1] !== 'a') throw new Error('unexpected answer formats');
// as the bootstrap's unpack, with Array captured (a global look-up of Array in the context goes through its interceptor)
const unpacked = (vm.runInContext('(function (A) { return function (p) { const r = []; for (let i = 0; i < p.length;) { const n = p.charCodeAt(i + 1); const b = new A(n); for (let j = 0; j < n; j++) b[j] = p.charCodeAt(i + 2 + j); r.push({ bytes: b, fPort: p.charCodeAt(i) }); i += 2 + n; } return r; }; })(Array)', context) as (p: string) => unknown[]);
const inContext = unpacked(ctx.__outpostInputs);
const results = inContext.map((i) => decodeInContext(i));
const stringifyInContext = vm.runInContext('(function (s) { return function (v) { return s(v); }; })(JSON.stringify)', context) as (v: unknown) => string;
// what the answer was before session 6 without stateless (and still is for a nested call): JSON text
const answerJson = `${'r'.repeat(N)}\n[${results.map((r) => stringifyInContext(r)).join(',')}]`;
let sink: unknown;

const stages: [string, () => unknown][] = [
  ['direct decode (the work itself)', () => { for (const i of inputs) sink = direct(i); }],
  ['pack inputs (caller)', () => packInputs(inputs)],
  ['unpack in the context', () => unpacked(ctx.__outpostInputs)],
  ['decode in the context', () => { for (const i of inContext) sink = decodeInContext(i); }],
  ['JSON.stringify once per message', () => stringifyInContext(results)],
  ['JSON.stringify per item', () => { for (const r of results) sink = stringifyInContext(r); }],
  ['read a JSON answer (JSON.parse + shapes)', () => readResults({ out: answerJson }, N, dataShape, answerContext)],
  ['read a tagged answer (stateless, + shapes)', () => readResults(answerTagged, N, dataShape, answerContext)],
  ['read a tagged answer written per item', () => readResults(answerEach, N, dataShape, answerContext)],
  ['whole pipeline, defaults (tagged per item)', () => { ctx.__outpostOnce = false; ctx.__outpostInputs = packInputs(inputs).packed; return readResults(tagged(), N, dataShape, answerContext); }],
  ['whole pipeline, stateless', () => { ctx.__outpostOnce = true; ctx.__outpostInputs = packInputs(inputs).packed; return readResults(tagged(), N, dataShape, answerContext); }],
];
const samples = stages.map((): number[] => []);
for (let round = 0; round < 40; round++) {
  stages.forEach(([, f], k) => {
    const u0 = process.cpuUsage();
    for (let rep = 0; rep < 40; rep++) sink = f();
    const u = process.cpuUsage(u0);
    samples[k]!.push(((u.user + u.system) * 1000) / 40 / N);
  });
}
console.log(`CPU ns per item, messages of ${N}: p10 / median of 40 rounds`);
stages.forEach(([name], k) => {
  const s = samples[k]!.sort((a, b) => a - b);
  console.log(`  ${name.padEnd(44)} ${s[4]!.toFixed(0).padStart(5)} / ${s[20]!.toFixed(0).padStart(5)}`);
});
void sink;
