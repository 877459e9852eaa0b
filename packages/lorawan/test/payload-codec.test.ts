import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { LoRaWANError, loadPayloadCodec, type PayloadCodec } from '../src/index.js';
import { readTagged } from '../src/payload-codec-wire.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/codecs/${name}`, import.meta.url), 'utf8');
const open: PayloadCodec[] = [];
async function load(source: string, options = {}): Promise<PayloadCodec> {
  const c = await loadPayloadCodec(source, options);
  open.push(c);
  return c;
}
afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
});

describe('TS013 codecs that behave', () => {
  it('Cayenne LPP: decodeUplink, encodeDownlink and decodeDownlink per TS013', async () => {
    const lpp = await load(fixture('cayenne-lpp.js'));
    // channel 3 temperature 27.2 °C (0x0110), channel 5 humidity 41 % (0x52), channel 1 GPS
    const bytes = [0x03, 0x67, 0x01, 0x10, 0x05, 0x68, 0x52, 0x01, 0x88, 0x06, 0x76, 0x5f, 0xf2, 0x96, 0x0a, 0x00, 0x03, 0xe8];
    const up = await lpp.decodeUplink({ bytes: Uint8Array.from(bytes), fPort: 1 });
    expect(up).toEqual({ ok: true, data: { temperature_3: 27.2, humidity_5: 41, gps_1: { latitude: 42.3519, longitude: -87.9094, altitude: 10 } }, warnings: [] });
    const down = await lpp.encodeDownlink({ data: { channel: 4, value: 1 } });
    expect(down.ok && [...down.data.bytes]).toEqual([4, 1, 1]);
    expect(down.ok && down.data.fPort).toBe(99);
    expect(await lpp.decodeDownlink({ bytes: [4, 1, 1], fPort: 99 })).toEqual({ ok: true, data: { digital_out_4: 1 }, warnings: [] });
  });

  it('TS013 errors and warnings are results, not exceptions', async () => {
    const lpp = await load(fixture('cayenne-lpp.js'));
    expect(await lpp.decodeUplink({ bytes: [1, 200, 0], fPort: 1 })).toEqual({ ok: false, code: 'CODEC_ERRORS', errors: ['unknown LPP type 200 at offset 1'], warnings: [] });
    expect(await lpp.encodeDownlink({ data: 'on' })).toMatchObject({ ok: false, code: 'CODEC_ERRORS' });
    const soil = await load(fixture('soil-sensor.js'));
    // 2900 mV, 21.5 °C as float32 0x41ac0000, 37 %
    const r = await soil.decodeUplink({ bytes: [0x0b, 0x54, 0x41, 0xac, 0x00, 0x00, 37], fPort: 2 });
    expect(r).toEqual({ ok: true, data: { battery_mv: 2900, temperature: 21.5, moisture: 37 }, warnings: ['battery low'] });
    const t = new Date('2026-12-07T10:00:00.000Z');
    expect(await soil.decodeUplink({ bytes: [0], fPort: 3, recvTime: t })).toMatchObject({ ok: true, data: { status: 'ok', received: t.toISOString() } });
    expect(await soil.encodeDownlink({ data: {} })).toMatchObject({ ok: false, code: 'CODEC_MISSING_FUNCTION' });
  });

  it('a batch decodes in one round trip, each input with its own outcome', async () => {
    const lpp = await load(fixture('cayenne-lpp.js'));
    const rs = await lpp.decodeUplinks([{ bytes: [1, 103, 0, 100], fPort: 1 }, { bytes: [1, 250], fPort: 1 }, { bytes: [2, 104, 80], fPort: 1 }]);
    expect(rs.map((r) => (r.ok ? r.data : r.code))).toEqual([{ temperature_1: 10 }, 'CODEC_ERRORS', { humidity_2: 40 }]);
  });

  it('refuses wrong inputs with TypeError / RangeError before the codec runs', async () => {
    const lpp = await load(fixture('cayenne-lpp.js'));
    await expect(lpp.decodeUplink({ bytes: 'ab' as never, fPort: 1 })).rejects.toThrow(TypeError);
    await expect(lpp.decodeUplink({ bytes: [256], fPort: 1 })).rejects.toThrow(RangeError);
    await expect(lpp.decodeUplink({ bytes: new Uint8Array(256), fPort: 1 })).rejects.toThrow(RangeError);
    await expect(lpp.decodeUplink({ bytes: [1], fPort: 1, recvTime: 'now' as never })).rejects.toThrow(TypeError);
    await expect(loadPayloadCodec(42 as never)).rejects.toThrow(TypeError);
    await expect(loadPayloadCodec('', { timeoutMs: 0 })).rejects.toThrow(RangeError);
  });
});

async function expectFailure(source: string, code: string, options = {}): Promise<PayloadCodec> {
  const c = await load(source, options);
  const r = await c.decodeUplink({ bytes: [1, 2, 3], fPort: 1 });
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.code).toBe(code);
  return c;
}

// Every hostile case runs with one worker, and with a pool of two for a codec declared stateless
// (results read in one stringify per message): the same guarantees hold on both paths.
describe.each([{ workers: 1 }, { workers: 2, stateless: true }])('hostile codecs fail safely (%o)', (pool) => {
  it('an endless loop is stopped at the time budget and the codec keeps serving', async () => {
    const src = 'function decodeUplink(i) { if (i.bytes[0] === 1) { for (;;) {} } return { data: i.bytes.length }; }';
    const c = await expectFailure(src, 'CODEC_TIMEOUT', { ...pool, timeoutMs: 30 });
    expect(await c.decodeUplink({ bytes: [7], fPort: 1 })).toEqual({ ok: true, data: 1, warnings: [] });
    expect(c.stats()).toMatchObject({ calls: 2, failures: 1, timeouts: 1, crashes: 0 });
  });

  it('an endless promise chain and a getter that never returns are stopped too', async () => {
    await expectFailure('function decodeUplink() { (function f() { Promise.resolve().then(f); })(); return { data: 1 }; }', 'CODEC_TIMEOUT', { ...pool, timeoutMs: 30 });
    await expectFailure('function decodeUplink() { return { get data() { for (;;) {} } }; }', 'CODEC_TIMEOUT', { ...pool, timeoutMs: 30 });
  });

  it('the caller\'s event loop keeps running while a codec spins', async () => {
    const c = await load('function decodeUplink() { for (;;) {} }', { ...pool, timeoutMs: 300 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const r = await c.decodeUplink({ bytes: [1], fPort: 1 });
    clearInterval(timer);
    expect(r.ok === false && r.code).toBe('CODEC_TIMEOUT');
    expect(ticks).toBeGreaterThan(0);
  });

  it('unbounded allocation kills only the codec\'s worker, which is restarted for the next call', async () => {
    const src = 'var keep = []; function decodeUplink(i) { if (i.bytes[0] === 1) { for (;;) keep.push(new Array(100000).fill(i)); } return { data: "fine" }; }';
    const c = await expectFailure(src, 'CODEC_CRASHED', { ...pool, timeoutMs: 5000, maxHeapMb: 16 });
    expect(await c.decodeUplink({ bytes: [2], fPort: 1 })).toEqual({ ok: true, data: 'fine', warnings: [] });
    expect(c.stats()).toMatchObject({ crashes: 1, restarts: 1 });
  });

  it('no Node: require, process, timers, import and globalThis tricks throw inside the codec', async () => {
    for (const body of [
      "require('node:fs')",
      'process.exit(1)',
      'setTimeout(function () {}, 1)',
      "this.constructor.constructor('return process')()",
      "input.constructor.constructor('return process')()",
      "eval('1 + 1')",
      "new Function('return 1')()",
      "globalThis.process.exit(1)",
    ]) {
      const c = await load(`function decodeUplink(input) { return { data: ${body} }; }`, pool);
      const r = await c.decodeUplink({ bytes: [1], fPort: 1 });
      expect(r.ok === false && r.code, body).toBe('CODEC_THREW');
    }
    // import() has no loader in the codec's context: it rejects, and the module never arrives.
    const imp = await load("var seen = 'pending'; import('node:fs').then(function (m) { seen = typeof m.readFileSync; }, function (e) { seen = 'refused: ' + e.message; });" +
      'function decodeUplink() { return { data: seen }; }', pool);
    await new Promise((r) => setTimeout(r, 50));
    const r = await imp.decodeUplink({ bytes: [], fPort: 1 });
    expect(r.ok && r.data).toMatch(/^refused: /);
  });

  it('prototype tricks stay inside the codec', async () => {
    const c = await load('Object.prototype.polluted = "yes"; Array.prototype.map = null; JSON.parse = null; JSON.stringify = function () { return "{}"; };' +
      'function decodeUplink(i) { return { data: { n: i.bytes.length, p: ({}).polluted } }; }', pool);
    expect(await c.decodeUplink({ bytes: [1, 2], fPort: 1 })).toEqual({ ok: true, data: { n: 2, p: 'yes' }, warnings: [] });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(typeof [].map).toBe('function');
  });

  it('results that are not TS013 are CODEC_OUTPUT_INVALID; a bad script is CODEC_INVALID at load', async () => {
    await expectFailure('function decodeUplink() { return 42; }', 'CODEC_OUTPUT_INVALID', pool);
    await expectFailure('function decodeUplink() { return { nodata: 1 }; }', 'CODEC_OUTPUT_INVALID', pool);
    await expectFailure('function decodeUplink() { return { data: "x".repeat(100000) }; }', 'CODEC_OUTPUT_INVALID', { ...pool, maxResultBytes: 1024 });
    const enc = await load('function encodeDownlink() { return { bytes: [1, 300] }; }', pool);
    expect(await enc.encodeDownlink({ data: 1 })).toMatchObject({ ok: false, code: 'CODEC_OUTPUT_INVALID' });
    await expectFailure('function decodeUplink() { throw 42; }', 'CODEC_THREW', pool);
    for (const src of ['function (', 'for (;;) {}', 'throw new Error("no")']) {
      const e = await loadPayloadCodec(src, { ...pool, loadTimeoutMs: 50 }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(LoRaWANError);
      expect((e as LoRaWANError).code).toBe('CODEC_INVALID');
    }
    const big = await loadPayloadCodec('//' + 'x'.repeat(2000), { ...pool, maxScriptBytes: 1000 }).catch((x: unknown) => x);
    expect((big as LoRaWANError).code).toBe('CODEC_INVALID');
  });

  it('after close, calls are refused', async () => {
    const c = await loadPayloadCodec('function decodeUplink() { return { data: 1 }; }', pool);
    await c.close();
    await expect(c.decodeUplink({ bytes: [], fPort: 1 })).rejects.toThrow(RangeError);
  });
});

describe('the scope a codec script runs in', () => {
  it('top-level state, globals assigned at run time, a replaced built-in and a redeclared built-in all behave as at top level', async () => {
    const counter = await load('var n = 0; function decodeUplink() { n++; return { data: n }; }');
    await counter.decodeUplink({ bytes: [], fPort: 1 });
    expect(await counter.decodeUplink({ bytes: [], fPort: 1 })).toEqual({ ok: true, data: 2, warnings: [] });
    const viaGlobal = await load('globalThis.decodeUplink = function (i) { return { data: typeof this.decodeUplink + i.bytes.length }; };');
    expect(await viaGlobal.decodeUplink({ bytes: [1, 2], fPort: 1 })).toEqual({ ok: true, data: 'function2', warnings: [] });
    const sloppy = await load('decodeUplink = function () { return { data: Math.max(1, 2) }; };');
    expect(await sloppy.decodeUplink({ bytes: [], fPort: 1 })).toEqual({ ok: true, data: 2, warnings: [] });
    const replaced = await load('Math = { max: function () { return "mine"; } }; function decodeUplink() { return { data: Math.max(1, 2) }; }');
    expect(await replaced.decodeUplink({ bytes: [], fPort: 1 })).toEqual({ ok: true, data: 'mine', warnings: [] });
    // `let` of a built-in's name cannot be a parameter's sibling: this script runs at top level
    const shadow = await load('const Map = function () { return 7; }; function decodeUplink() { return { data: Map() }; }');
    expect(await shadow.decodeUplink({ bytes: [], fPort: 1 })).toEqual({ ok: true, data: 7, warnings: [] });
    const strict = await load("'use strict'; function decodeUplink() { return { data: (function () { return this; })() === undefined }; }");
    expect(await strict.decodeUplink({ bytes: [], fPort: 1 })).toEqual({ ok: true, data: true, warnings: [] });
  });

  it('the built-ins a codec sees are its context\'s, and its own dispatch slots are not the host\'s', async () => {
    const c = await load('function decodeUplink(i) { return { data: [Object === ({}).constructor, Array.isArray(i.bytes), typeof process, typeof require, typeof Math.constructor.constructor] }; }');
    expect(await c.decodeUplink({ bytes: [1], fPort: 1 })).toEqual({ ok: true, data: [true, true, 'undefined', 'undefined', 'function'], warnings: [] });
    const escape = await load("function decodeUplink() { return { data: Math.constructor.constructor('return process')() }; }");
    expect(await escape.decodeUplink({ bytes: [1], fPort: 1 })).toMatchObject({ ok: false, code: 'CODEC_THREW' });
    // a codec that installs its own resolver only redirects its own calls
    const own = await load('__outpostInstall(function () { return function () { return { data: "redirected" }; }; }); function decodeUplink() { return { data: "plain" }; }');
    expect(await own.decodeUplink({ bytes: [], fPort: 1 })).toEqual({ ok: true, data: 'redirected', warnings: [] });
  });

  it('a result exactly at maxResultBytes passes, one byte over fails alone within its batch', async () => {
    // {"result":{"data":"xxx…"}} = 22 + n bytes
    for (const stateless of [false, true]) {
      const c = await load('function decodeUplink(i) { return { data: "x".repeat(i.bytes[0] * 10 + i.bytes[1]) }; }', { maxResultBytes: 1000, stateless });
      const rs = await c.decodeUplinks([{ bytes: [97, 8], fPort: 1 }, { bytes: [97, 9], fPort: 1 }, { bytes: [1, 0], fPort: 1 }]);
      expect(rs.map((r) => (r.ok ? (r.data as string).length : r.code)), `stateless: ${stateless}`).toEqual([978, 'CODEC_OUTPUT_INVALID', 10]);
    }
  });
});

describe('time budget by ending the worker', () => {
  it('calls queued behind one that overruns are answered by a new worker; the codec\'s state starts afresh', async () => {
    const src = 'var n = 0; function decodeUplink(i) { n++; if (i.bytes[0] === 1) { for (;;) {} } return { data: n }; }';
    const c = await load(src, { timeoutMs: 40 });
    expect(await c.decodeUplink({ bytes: [0], fPort: 1 })).toEqual({ ok: true, data: 1, warnings: [] });
    const [stuck, behind, batch] = await Promise.all([
      c.decodeUplink({ bytes: [1], fPort: 1 }),
      c.decodeUplink({ bytes: [0], fPort: 1 }),
      c.decodeUplinks([{ bytes: [0], fPort: 1 }, { bytes: [0], fPort: 1 }]),
    ]);
    expect(stuck).toMatchObject({ ok: false, code: 'CODEC_TIMEOUT' });
    expect(behind).toEqual({ ok: true, data: 1, warnings: [] }); // n starts again at 0 in the new worker
    expect(batch.map((r) => r.ok && r.data)).toEqual([2, 3]);
    expect(c.stats()).toMatchObject({ calls: 5, failures: 1, timeouts: 1, crashes: 0, restarts: 1 });
  });

  it('a large batch split into chunks keeps input order, and a bad input anywhere refuses all of it before any runs', async () => {
    const c = await load('var seen = 0; function decodeUplink(i) { seen++; return { data: [i.bytes[0] * 256 + i.bytes[1], seen] }; }', { chunkSize: 7 });
    const inputs = Array.from({ length: 50 }, (_, k) => ({ bytes: [k >> 8, k & 255], fPort: 1 }));
    const rs = await c.decodeUplinks(inputs);
    expect(rs.map((r) => r.ok && (r.data as number[])[0])).toEqual(inputs.map((_, k) => k));
    await expect(c.decodeUplinks([...inputs, { bytes: [300], fPort: 1 }])).rejects.toThrow(/inputs\[50\]\.bytes\[0\]/);
    const after = await c.decodeUplink({ bytes: [0, 0], fPort: 1 });
    expect(after.ok && (after.data as number[])[1]).toBe(51); // nothing of the refused batch ran
    await expect(loadPayloadCodec('', { chunkSize: 0 })).rejects.toThrow(RangeError);
  });
});

describe('a pool of workers for a stateless codec', () => {
  it('a batch\'s chunks go to the worker with the fewest inputs outstanding, each worker with its own copy of the script', async () => {
    // a counter at top level breaks the stateless declaration: here it shows which worker ran which input
    const c = await load('var seen = 0; function decodeUplink(i) { seen++; return { data: [i.bytes[0], seen] }; }', { workers: 2, stateless: true, chunkSize: 5 });
    const rs = await c.decodeUplinks(Array.from({ length: 20 }, (_, k) => ({ bytes: [k], fPort: 1 })));
    expect(rs.map((r) => r.ok && (r.data as number[])[0])).toEqual(Array.from({ length: 20 }, (_, k) => k));
    const one = [1, 2, 3, 4, 5], two = [6, 7, 8, 9, 10];
    expect(rs.map((r) => r.ok && (r.data as number[])[1])).toEqual([...one, ...one, ...two, ...two]);
  });

  it('a batch smaller than workers × chunkSize is still shared by every worker', async () => {
    const c = await load('var seen = 0; function decodeUplink() { seen++; return { data: seen }; }', { workers: 2, stateless: true });
    const rs = await c.decodeUplinks(Array.from({ length: 9 }, () => ({ bytes: [], fPort: 1 })));
    expect(rs.map((r) => r.ok && r.data)).toEqual([1, 2, 3, 4, 5, 1, 2, 3, 4]);
  });

  it('a message read in one stringify still fails item by item: a throw, a result JSON cannot hold, one over maxResultBytes', async () => {
    const src = 'function decodeUplink(i) { var b = i.bytes[0]; if (b === 1) throw new Error("one"); if (b === 2) return { data: 10n };' +
      ' return { data: "x".repeat(b === 3 ? 2000 : b) }; }';
    const c = await load(src, { stateless: true, maxResultBytes: 1000 });
    const rs = await c.decodeUplinks([5, 1, 6, 2, 7, 3, 8].map((b) => ({ bytes: [b], fPort: 1 })));
    expect(rs.map((r) => (r.ok ? r.data : `${r.code} ${r.errors[0]}`))).toEqual([
      'xxxxx', 'CODEC_THREW one', 'xxxxxx', 'CODEC_THREW Do not know how to serialize a BigInt', 'xxxxxxx',
      'CODEC_OUTPUT_INVALID result of 2022 bytes is over maxResultBytes 1000', 'xxxxxxxx',
    ]);
    // all of them fit, some threw: still one stringify, the same outcomes
    const fine = await c.decodeUplinks([5, 1, 6].map((b) => ({ bytes: [b], fPort: 1 })));
    expect(fine.map((r) => (r.ok ? r.data : r.code))).toEqual(['xxxxx', 'CODEC_THREW', 'xxxxxx']);
    // a codec that gives arrays a toJSON changes its own results only: plain ones still arrive (tagged),
    // and a message holding an array goes through JSON, where the toJSON spoils that message's answer
    const spoiler = await load('Array.prototype.toJSON = function () { return "forged"; }; function decodeUplink(i) { return { data: i.bytes[0] ? [1] : 1 }; }', { stateless: true });
    expect((await spoiler.decodeUplinks([{ bytes: [0], fPort: 1 }])).map((r) => r.ok && r.data)).toEqual([1]);
    expect((await spoiler.decodeUplinks([{ bytes: [1], fPort: 1 }])).map((r) => !r.ok && r.code)).toEqual(['CODEC_OUTPUT_INVALID']);
    expect('toJSON' in Array.prototype).toBe(false);
    const none = await load('var x = 1;', { stateless: true });
    expect((await none.decodeUplinks([{ bytes: [], fPort: 1 }, { bytes: [], fPort: 1 }])).map((r) => !r.ok && r.code)).toEqual(['CODEC_MISSING_FUNCTION', 'CODEC_MISSING_FUNCTION']);
  });

  it('a message gives exactly the values a JSON round trip gives, plain data or not, stateless or not', async () => {
    const cases = String.raw`[
      0, -0, 1, -1, 2147483647, -2147483648, 2147483648, 4294967296, -9007199254740993, 27.2, -87.9094, 0.1 + 0.2, 5e-324, 1e21, 1e-7,
      -1.7976931348623157e308, NaN, Infinity, -Infinity, '', 'é ✓ \u0000 "q" \\ \n', '\ud800 lone', 'x'.repeat(70000), true, false, null,
      [], {}, [[[1]], { a: [] }], { b: 1, a: 2, 10: 3, 2: 4 }, JSON.parse('{"__proto__": {"polluted": 1}, "k": 1}'),
      Object.assign(Object.create(null), { n: 1 }), { u: undefined, f: function () {}, v: 1 }, [undefined, function () {}], new Date(0),
      { toJSON: function () { return 'mine'; } }, new Map([[1, 2]]), new (function C() { this.c = 1; })(), Object(5), Object('s'),
      { get g() { return 7; } }, [1, , 3], { d: { e: { f: { g: 'deep' } } } }, (function () { var o = []; var d = o; for (var i = 0; i < 80; i++) { d[0] = []; d = d[0]; } return o; })()
    ]`;
    const src = `var CASES = ${cases}; function decodeUplink(i) { return { data: CASES[i.bytes[0]] }; }`;
    // the reference: each value through JSON in this realm
    const values = (new Function(`return ${cases}`) as () => unknown[])();
    const viaJson = values.map((v) => ({ ok: true, data: (JSON.parse(JSON.stringify({ data: v })) as { data: unknown }).data, warnings: [] }));
    const n = values.length;
    const inputs = Array.from({ length: n }, (_, k) => ({ bytes: [k], fPort: 1 }));
    const each = await (await load(src, { maxResultBytes: 1 << 20 })).decodeUplinks(inputs);
    expect(each).toStrictEqual(viaJson);
    const stateless = await load(src, { stateless: true, maxResultBytes: 1 << 20 });
    const together = await stateless.decodeUplinks(inputs);
    const alone = await Promise.all(inputs.map((i) => stateless.decodeUplink(i)));
    expect(together).toStrictEqual(each);
    expect(alone).toStrictEqual(each);
    for (const r of [...together, ...alone]) expect(r.ok).toBe(true);
    // the plain cases in one message (tagged as a whole; the mixed message above went as JSON)
    const plain = [...Array.from({ length: 16 }, (_, k) => k), ...Array.from({ length: 13 }, (_, k) => 19 + k), 40, 42];
    expect(await stateless.decodeUplinks(plain.map((k) => inputs[k]!))).toStrictEqual(plain.map((k) => each[k]));
    const d = (r: (typeof each)[number]): unknown => (r.ok ? r.data : r.code);
    expect(Object.is(d(alone[1]!), 0)).toBe(true); // -0 arrives as 0, as through JSON
    expect(d(alone[16]!)).toBe(null); // NaN
    const proto = d(alone[30]!) as Record<string, unknown>;
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.keys(proto)).toEqual(['__proto__', 'k']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.keys(d(alone[29]!) as object)).toEqual(['2', '10', 'b', 'a']);
  });

  it('a getter that calls the dispatcher again while the answer is written does not spoil it', async () => {
    const c = await load('var calls = 0; function decodeUplink(i) { return { data: { get v() {' +
      ' if (calls++ === 0) __outpostRun(0, String.fromCharCode(1, 1, 7), "", 65536, true); return i.bytes[0]; } } }; }', { stateless: true });
    const rs = await c.decodeUplinks([5, 6, 7].map((b) => ({ bytes: [b], fPort: 1 })));
    expect(rs.map((r) => r.ok && r.data)).toEqual([{ v: 5 }, { v: 6 }, { v: 7 }]);
  });

  it('built-ins the codec replaces do not change how its answer is written', async () => {
    const c = await load('Object.keys = function () { return ["forged"]; }; Object.getPrototypeOf = function () { return null; }; Array.isArray = function () { return false; };' +
      ' String.fromCharCode = function () { return "?"; }; Reflect.apply = function () { return "?"; }; Uint16Array.prototype.set = null; Uint16Array.prototype.subarray = function () { return [63]; }; globalThis.Uint16Array = null; globalThis.Array = null; Object.create = null; Math.min = null;' +
      ' function decodeUplink(i) { return { data: { n: i.bytes[0] / 4, list: [i.bytes[0], "é"], long: "x".repeat(5000 * i.bytes[0]) } }; }', { stateless: true, maxResultBytes: 1 << 20 });
    const rs = await c.decodeUplinks([1, 2].map((b) => ({ bytes: [b], fPort: 1 })));
    // 15,000 chars (under maxResultBytes / 6, so tagged): the writer's buffer grows, and its text is made in two pieces
    expect(rs.map((r) => r.ok && r.data)).toEqual([{ n: 0.25, list: [1, 'é'], long: 'x'.repeat(5000) }, { n: 0.5, list: [2, 'é'], long: 'x'.repeat(10000) }]);
  });

  it('a malformed tagged answer is refused, never half read', () => {
    for (const bad of ['a', 'a\u0000\u0001', 'a\u0000\u0001x', 'a\u0000\u0001i\u0001', 'a\u0000\u0001o\u0000\u0001k\u0000\u0000n', 'a\u0000\u0001nn', 'a\u0000\u0001s\u0000\u0009abc', 'a\u0000\u0001j\u0000\u0002{x']) {
      expect(() => readTagged(bad, 0), JSON.stringify(bad)).toThrow(RangeError);
    }
    expect(readTagged('a\u0000\u0002o\u0000\u0001K\u0000\u0001ai\u0005\u0000o\u0000\u0001k\u0000\u0000T', 0)).toEqual([{ a: 5 }, { a: true }]);
    expect(readTagged('a\u0000\u0001j\u0000\u0007{"b":1}', 0)).toEqual([{ b: 1 }]);
  });

  it('a codec calling the dispatcher itself cannot reach or change the answer buffer', async () => {
    // from the codec and from a getter while the answer is written: text; from a promise job after
    // the answer was returned: a buffer of its own realm, not the one handed over
    const c = await load('var seen = [], busy = false; function probe() { if (busy) return; busy = true; var r = __outpostRun(0, String.fromCharCode(1, 1, 7), "", 65536, true); busy = false;' +
      ' seen.push(typeof r === "string" ? "text" : r instanceof Uint16Array ? "own" : "foreign"); if (typeof r !== "string") r.fill(0); }' +
      ' function decodeUplink(i) { if (busy) return { data: 0 }; probe(); Promise.resolve().then(probe); return { data: { n: i.bytes[0], get s() { probe(); return seen.join(); } } }; }', { stateless: true });
    const first = await c.decodeUplinks([5, 6].map((b) => ({ bytes: [b], fPort: 1 })));
    expect(first).toEqual([
      { ok: true, data: { n: 5, s: 'text,text,text' }, warnings: [] },
      { ok: true, data: { n: 6, s: 'text,text,text,text' }, warnings: [] },
    ]);
    expect(await c.decodeUplinks([{ bytes: [7], fPort: 1 }])).toEqual([{ ok: true, data: { n: 7, s: 'text,text,text,text,own,own,text,text' }, warnings: [] }]);
  });

  it('an overrun ends only its own worker: the other keeps answering and the queued inputs go to a new one', async () => {
    const c = await load('function decodeUplink(i) { if (i.bytes[0] === 1) { for (;;) {} } return { data: i.bytes[0] }; }', { workers: 2, stateless: true, chunkSize: 1, timeoutMs: 40 });
    const rs = await c.decodeUplinks([1, 2, 3, 4, 5].map((b) => ({ bytes: [b], fPort: 1 })));
    expect(rs.map((r) => (r.ok ? r.data : r.code))).toEqual(['CODEC_TIMEOUT', 2, 3, 4, 5]);
    expect(c.stats()).toMatchObject({ calls: 5, failures: 1, timeouts: 1, crashes: 0, restarts: 1 });
    await expect(loadPayloadCodec('', { workers: 0 })).rejects.toThrow(RangeError);
    await expect(loadPayloadCodec('', { workers: 1.5, stateless: true })).rejects.toThrow(RangeError);
    await expect(loadPayloadCodec('', { workers: 2 })).rejects.toThrow(/stateless: true/);
    await expect(loadPayloadCodec('', { stateless: 'yes' as never })).rejects.toThrow(TypeError);
  });
});

describe('answers written as each result returns (not stateless)', () => {
  it('each input fails alone: a throw, a throwing getter, a result JSON cannot hold, one over maxResultBytes; keys of a refused value are forgotten', async () => {
    const src = 'var state = 0; function decodeUplink(i) { var b = i.bytes[0]; state++; if (b === 1) throw new Error("one"); if (b === 2) return { data: 10n };' +
      ' if (b === 3) return { data: "x".repeat(2000) }; if (b === 4) return { data: { get g() { throw new Error("getter"); } } };' +
      // a value refused half way (its key "a" was written first), then one that needs "a" again
      ' if (b === 5) return { data: { a: 1, when: new Date(0) } }; return { data: { a: b, state: state } }; }';
    const c = await load(src, { maxResultBytes: 1000 });
    const rs = await c.decodeUplinks([6, 1, 5, 7, 2, 3, 4, 8].map((b) => ({ bytes: [b], fPort: 1 })));
    expect(rs.map((r) => (r.ok ? r.data : `${r.code} ${r.errors[0]}`))).toEqual([
      { a: 6, state: 1 }, 'CODEC_THREW one', { a: 1, when: '1970-01-01T00:00:00.000Z' }, { a: 7, state: 4 },
      'CODEC_THREW Do not know how to serialize a BigInt', 'CODEC_OUTPUT_INVALID result of 2022 bytes is over maxResultBytes 1000',
      'CODEC_THREW getter', { a: 8, state: 8 },
    ]);
  });
});

describe('batch results are snapshots', () => {
  it('a codec that reuses and changes one result object still gives each input its own result', async () => {
    const c = await load('var out = { data: {} }; function decodeUplink(i) { out.data.v = i.bytes[0]; return out; }', { chunkSize: 2 });
    const rs = await c.decodeUplinks([1, 2, 3, 4, 5].map((b) => ({ bytes: [b], fPort: 1 })));
    expect(rs.map((r) => r.ok && (r.data as { v: number }).v)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('close', () => {
  it('calls in flight when the codec is closed settle at once as CODEC_CRASHED', async () => {
    const c = await loadPayloadCodec('function decodeUplink() { var t = Date.now(); while (Date.now() - t < 200) {} return { data: 1 }; }', { timeoutMs: 5000 });
    const inFlight = c.decodeUplink({ bytes: [], fPort: 1 });
    await new Promise((r) => setTimeout(r, 20));
    await c.close();
    await expect(inFlight).resolves.toMatchObject({ ok: false, code: 'CODEC_CRASHED', errors: ['the codec was closed'] });
    await expect(loadPayloadCodec('', { timeoutGraceMs: -1 })).rejects.toThrow(RangeError);
  });
});
