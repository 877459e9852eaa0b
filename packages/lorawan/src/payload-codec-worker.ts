// The worker side of the TS013 codec runner, as source text: the worker is started with
// `eval: true`, so it does not depend on where the built files land. Inside the worker the codec
// runs in a `vm` context with no Node globals, no code generation from strings, promise jobs
// drained inside the evaluation; loading runs under a `vm` timeout, calls under the caller's
// watchdog, which ends this worker when a call overruns its budget. Only data crosses into and
// out of the context (strings in; out a string, or a buffer of 16-bit units the dispatcher made,
// read here with this realm's intrinsics), so no object of the worker's realm (whose
// constructors reach `process`) is ever visible to the codec.

/** Source of the codec worker. */
export const WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const vm = require('node:vm');
const { types } = require('node:util');
// This realm's getter of a typed array's buffer: the dispatcher's answer buffer is an object of the
// context's realm, read here with this realm's intrinsics only (no getter of the context runs).
const bufferOf = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint16Array.prototype), 'buffer').get;

const context = vm.createContext(Object.create(null), {
  name: 'ts013-codec',
  codeGeneration: { strings: false, wasm: false },
  microtaskMode: 'afterEvaluate',
});

vm.runInContext(workerData.bootstrap, context, { filename: 'outpost-bootstrap.js' });

// The codec runs in a function scope whose parameters are the context's own built-ins (Math,
// JSON, Object, …, read from the context's global before the codec runs, so still objects of the
// context's realm): every global look-up in a vm context goes through the context's property
// interceptor, which made the codec's own top-level names and every Math.x several times slower
// than in-process. Its top-level declarations become locals of that scope; a resolver closure
// gives the dispatcher the current decodeUplink/encodeDownlink/decodeDownlink. A script that is
// not valid in a function body with those parameters (e.g. a top-level \`let Map\`) runs at top
// level as before. The plain script is compiled first, so the wrapper cannot change what parses.
function wrapped(source) {
  const skip = new Set(['eval', 'arguments', 'undefined', 'NaN', 'Infinity']);
  const names = vm.runInContext('Object.getOwnPropertyNames(globalThis).join(",")', context).split(',')
    .filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && !skip.has(n) && !n.startsWith('__outpost'));
  const resolve = ['decodeUplink', 'encodeDownlink', 'decodeDownlink'].map((n) => 'typeof ' + n + " === 'function' ? " + n + ' : undefined');
  const code = '__outpostInstall((function (' + names.join(', ') + ') {\n' + source + '\n;return function (k) { return k === 0 ? ' +
    resolve[0] + ' : k === 1 ? ' + resolve[1] + ' : ' + resolve[2] + '; };\n}).call(this, ' + names.join(', ') + '));';
  try {
    return new vm.Script(code, { filename: 'codec.js', lineOffset: -1 });
  } catch (e) {
    return undefined;
  }
}

try {
  const plain = new vm.Script(workerData.source, { filename: 'codec.js' });
  (wrapped(workerData.source) || plain).runInContext(context, { timeout: workerData.loadTimeoutMs });
  parentPort.postMessage({ type: 'ready' });
} catch (e) {
  parentPort.postMessage({ type: 'load-failed', message: e && e.message ? String(e.message) : String(e) });
}

context.__outpostMax = workerData.maxResultBytes;
context.__outpostOnce = workerData.stateless === true;
const call = new vm.Script('__outpostRun(__outpostKind, __outpostInputs, __outpostTimes, __outpostMax, __outpostOnce)', { filename: 'outpost-dispatch.js' });
parentPort.on('message', (m) => {
  context.__outpostKind = m.kind;
  context.__outpostInputs = m.inputs;
  context.__outpostTimes = m.times;
  try {
    // No vm timeout here: the caller's watchdog ends this worker when a call overruns its budget.
    const out = call.runInContext(context);
    if (types.isUint16Array(out)) {
      // a tagged answer in a buffer the dispatcher made for it and keeps no reference to: [length
      // (2 units), status, '\n', tagged text], made a string here by one native copy (in the
      // context that took String.fromCharCode over thousands of arguments, more than the codec;
      // transferring the buffer instead cost more than posting the string)
      const text = Buffer.from(bufferOf.call(out), 4, (out[0] * 0x10000 + out[1]) * 2).toString('utf16le');
      parentPort.postMessage({ type: 'done', id: m.id, out: text });
    } else parentPort.postMessage({ type: 'done', id: m.id, out: typeof out === 'string' ? out : '' });
  } catch (e) {
    const timedOut = e && e.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
    parentPort.postMessage({ type: 'failed', id: m.id, timedOut, message: e && e.message ? String(e.message) : String(e) });
  }
});
`;

/**
 * Runs first inside the context, before the codec. It captures the built-ins it uses (JSON, Date,
 * Array, Object.keys, the typed arrays' methods, …) so a codec that replaces them cannot change
 * how inputs are built or results are written, and
 * defines the dispatcher the worker calls (LoRaWAN TS013-1.0.0: `decodeUplink({ bytes, fPort,
 * recvTime })`, `encodeDownlink({ data })`, `decodeDownlink({ bytes, fPort })`).
 */
export const CONTEXT_BOOTSTRAP = String.raw`
  (function (g) {
    const parse = JSON.parse, stringify = JSON.stringify, D = Date, A = Array;
    const keysOf = Object.keys, protoOf = Object.getPrototypeOf, isArray = Array.isArray, apply = Reflect.apply;
    const OP = Object.prototype, AP = Array.prototype, f64 = new Float64Array(1), u16 = new Uint16Array(f64.buffer);
    const U16 = Uint16Array, setAll = U16.prototype.set, create = Object.create, min = Math.min;
    const fnName = ['decodeUplink', 'encodeDownlink', 'decodeDownlink'];
    // Decode inputs arrive packed in a string (one char per byte: fPort, length, bytes…), which
    // is much cheaper to unpack here than JSON; encodeDownlink inputs arrive as JSON.
    function unpack(packed, timesJson) {
      const times = timesJson === '' ? undefined : parse(timesJson);
      const inputs = [];
      let i = 0;
      while (i < packed.length) {
        const fPort = packed.charCodeAt(i), n = packed.charCodeAt(i + 1);
        const bytes = new A(n);
        for (let j = 0; j < n; j++) bytes[j] = packed.charCodeAt(i + 2 + j);
        i += 2 + n;
        const input = { bytes: bytes, fPort: fPort };
        if (times !== undefined && times[inputs.length] !== '') input.recvTime = new D(times[inputs.length]);
        inputs.push(input);
      }
      return inputs;
    }
    function message(e) {
      let m = 'threw a non-error value';
      try { m = e instanceof Error ? String(e.message) : String(e); } catch (e2) { /* keep the default */ }
      return m.slice(0, 500);
    }
    let resolver;
    // Calls of run under way: only the outermost may answer in a writer's buffer, so the buffer of
    // the worker's call never reaches the codec (a codec calling the dispatcher from its code or a
    // getter gets a string; from a promise job, after the answer was returned, a buffer of its own).
    let depth = 0;
    // The answer is one char of status per input (r result, t threw, l too large, m missing), a
    // newline, then a JSON array of the results, messages or sizes: no wrapper object per item.
    // The outermost call answers with the same in a writer's buffer, the values tagged (see writer).
    function run(kind, payload, timesJson, max, once) {
      depth++;
      try {
        return dispatch(kind, payload, timesJson, max, once);
      } finally {
        depth--;
      }
    }
    function dispatch(kind, payload, timesJson, max, once) {
      const inputs = kind === 1 ? parse(payload) : unpack(payload, timesJson);
      const f = typeof resolver === 'function' ? resolver(kind) : g[fnName[kind]];
      if (typeof f !== 'function') {
        let status = '', body = '0';
        for (let i = 0; i < inputs.length; i++) { status += 'm'; if (i > 0) body += ',0'; }
        return status + '\n[' + body + ']';
      }
      return once ? runOnce(f, inputs, max) : depth === 1 ? runEachTagged(f, inputs, max) : runEach(f, inputs, max);
    }
    // One value stringified alone: the JSON, or the size when over max; sets st to its status.
    let st = 'r';
    function one(v, max) {
      try {
        let r = stringify(v);
        if (r === undefined) r = 'null';
        if (r.length + 11 > max) { st = 'l'; return '' + (r.length + 11); }
        st = 'r';
        return r;
      } catch (e) {
        st = 't';
        return stringify(message(e));
      }
    }
    // Each result is stringified as soon as it is returned (a codec may reuse and change one
    // object between calls) and alone (one that cannot be, or is over max, fails alone).
    function runEach(f, inputs, max) {
      let status = '';
      let body = '';
      for (let i = 0; i < inputs.length; i++) {
        let r;
        try {
          r = one(f(inputs[i]), max);
        } catch (e) {
          st = 't'; r = stringify(message(e));
        }
        status += st;
        body += i > 0 ? ',' + r : r;
      }
      return status + '\n[' + body + ']';
    }
    // A tagged answer (read by readResults / readTagged in payload-codec-wire.ts): the writer's
    // buffer of 16-bit units holding the answer's length (2 units), a status unit per input, a
    // newline and the tagged text of the values, handed to the worker as it is (turning it into a
    // string here, by String.fromCharCode over thousands of arguments, cost more than the codec).
    // The tagged text: a tag per value, 'i' int32 and 'd' float64 as raw 16-bit units (no number
    // printed or parsed), 's' string, 'T'/'F'/'n', 'a' array, 'o' object whose keys are written
    // once per message ('K' new key, 'k' index of one seen), 'j' a value as JSON text; counts and
    // lengths are two units. Only plain data is tagged: anything JSON would treat specially
    // (toJSON, undefined, functions, symbols, NaN, other prototypes, deep nesting) is refused by
    // value(), which then leaves nothing of it written. value() gives an upper bound of the
    // value's JSON length (at most 6 chars per string unit, 26 per number), so a value that
    // might be over max is measured by JSON. -0 becomes 0, as through JSON. The buffer never
    // grows past cap and is new for each answer (sized by the last one): the worker hands it
    // over whole, and a later call of the dispatcher (from a promise job of the codec's, after
    // this answer is returned) cannot write into it.
    let last = 1024;
    function writer(cap, count) {
      if (count + 6 > cap) return undefined;
      let buf = new U16(min(cap, last > count + 6 ? last : count + 1030));
      let o = 0, bound = 0, nkeys = 0;
      const seen = create(null), order = [];
      // room for n more units; false when the text would be past cap
      function room(n) {
        if (o + n <= buf.length) return true;
        if (o + n > cap) return false;
        const b = new U16(min(cap, 2 * (o + n)));
        apply(setAll, b, [buf]);
        buf = b;
        return true;
      }
      function text(t) {
        const n = t.length;
        if (!room(n + 2)) return false;
        buf[o++] = n >>> 16; buf[o++] = n & 0xffff;
        for (let i = 0; i < n; i++) buf[o++] = t.charCodeAt(i);
        return true;
      }
      function put(v, depth) {
        if (!room(5)) return false;
        if (typeof v === 'number') {
          if ((v | 0) === v) { buf[o++] = 105; buf[o++] = v & 0xffff; buf[o++] = v >>> 16; bound += 12; return true; }
          if (v - v !== 0) return false;
          f64[0] = v;
          buf[o++] = 100; buf[o++] = u16[0]; buf[o++] = u16[1]; buf[o++] = u16[2]; buf[o++] = u16[3]; bound += 26;
          return true;
        }
        if (typeof v === 'string') { buf[o++] = 115; bound += 2 + 6 * v.length; return text(v); }
        if (typeof v === 'boolean') { buf[o++] = v ? 84 : 70; bound += 6; return true; }
        if (v === null) { buf[o++] = 110; bound += 5; return true; }
        if (typeof v !== 'object' || depth > 64 || typeof v.toJSON === 'function') return false;
        const p = protoOf(v);
        if (isArray(v)) {
          if (p !== AP) return false;
          const n = v.length;
          buf[o++] = 97; buf[o++] = n >>> 16; buf[o++] = n & 0xffff; bound += 2 + n;
          for (let i = 0; i < n; i++) if (!put(v[i], depth + 1)) return false;
          return true;
        }
        if (p !== OP && p !== null) return false;
        const ks = keysOf(v);
        buf[o++] = 111; buf[o++] = ks.length >>> 16; buf[o++] = ks.length & 0xffff; bound += 2 + ks.length;
        for (let i = 0; i < ks.length; i++) {
          const k = ks[i], x = v[k];
          if (x === undefined || typeof x === 'function' || typeof x === 'symbol' || !room(3)) return false;
          const seenAt = seen[k];
          bound += 4 + 6 * k.length;
          if (seenAt === undefined) {
            seen[k] = nkeys; order[nkeys++] = k;
            buf[o++] = 75;
            if (!text(k)) return false;
          } else { buf[o++] = 107; buf[o++] = seenAt >>> 16; buf[o++] = seenAt & 0xffff; }
          if (!put(x, depth + 1)) return false;
        }
        return true;
      }
      o = count + 3;
      buf[count + 2] = 10;
      // the container is this dispatcher's own array: only the codec's values are checked
      buf[o++] = 97; buf[o++] = count >>> 16; buf[o++] = count & 0xffff; bound = 2 + count;
      return {
        // Writes one value: the bound of its JSON length, or -1 (and nothing of it written) when it
        // is not plain data, does not fit, or might be over limit; a getter's throw goes through.
        value(v, limit) {
          const o0 = o, b0 = bound, k0 = nkeys;
          let ok = false;
          try {
            ok = put(v, 0) && bound - b0 + 11 <= limit;
          } finally {
            if (!ok) {
              o = o0; bound = b0;
              while (nkeys > k0) seen[order[--nkeys]] = undefined;
            }
          }
          return ok ? bound - b0 : -1;
        },
        json(t) { if (!room(1)) return false; buf[o++] = 106; return text(t); }, // 'j'
        status(i, s) { buf[i + 2] = s; },
        bound() { return bound; },
        end() {
          buf[0] = (o - 2) >>> 16; buf[1] = (o - 2) & 0xffff;
          last = o + (o >>> 3) + 64;
          return buf;
        },
      };
    }
    // Each result written as soon as it is returned (a codec may reuse and change one object
    // between calls) and alone (one that cannot be, or is over max, fails alone), as runEach
    // does, but tagged: a value that is not plain data, or might be over max, is measured by
    // JSON.stringify and goes as its JSON text ('j'), or fails as runEach's would. Such a value's
    // getters run twice (once for the tagged attempt, once for JSON).
    function runEachTagged(f, inputs, max) {
      const n = inputs.length;
      const w = writer(n * (max + 16) + 6, n);
      if (w === undefined) return runEach(f, inputs, max);
      for (let i = 0; i < n; i++) {
        let v;
        try {
          v = f(inputs[i]);
          if (w.value(v, max) >= 0) { w.status(i, 114); continue; } // 'r'
        } catch (e) {
          // the codec, or a getter of its result, threw
          w.status(i, 116); w.value(message(e), Infinity); continue; // 't'
        }
        let r;
        try {
          r = stringify(v);
        } catch (e) {
          w.status(i, 116); w.value(message(e), Infinity); continue;
        }
        if (r === undefined) r = 'null';
        if (r.length + 11 > max) { w.status(i, 108); w.value(r.length + 11, Infinity); } // 'l'
        else if (w.json(r)) w.status(i, 114);
      }
      return w.end();
    }
    // A stateless codec (it changes no result it returned): all results of the message are
    // written at once, as tagged text when they are plain data, else through one stringify
    // (cheaper than one per item). When that throws, or the whole is over max (so one item
    // might be), each is stringified alone as above.
    function runOnce(f, inputs, max) {
      const n = inputs.length;
      const values = new A(n);
      let status = '';
      for (let i = 0; i < n; i++) {
        try {
          values[i] = f(inputs[i]);
          status += 'r';
        } catch (e) {
          values[i] = message(e);
          status += 't';
        }
      }
      let body;
      // a getter of the codec's that calls the dispatcher again while this writes gets JSON (depth 2)
      if (depth === 1) {
        try {
          const w = writer(max, n);
          let i = 0;
          if (w !== undefined) for (; i < n && w.value(values[i], Infinity) >= 0; i++) w.status(i, status.charCodeAt(i));
          if (i === n && w.bound() + 11 <= max) return w.end();
        } catch (e) { /* JSON decides */ }
      }
      try { body = stringify(values); } catch (e) { body = undefined; }
      if (typeof body === 'string' && body.length + 11 <= max) return status + '\n' + body;
      let status2 = '';
      body = '';
      for (let i = 0; i < n; i++) {
        let r;
        if (status.charCodeAt(i) === 116) { st = 't'; r = stringify(values[i]); } else r = one(values[i], max); // 116: 't'
        status2 += st;
        body += i > 0 ? ',' + r : r;
      }
      return status2 + '\n[' + body + ']';
    }
    Object.defineProperty(g, '__outpostRun', { value: run, writable: false, configurable: false, enumerable: false });
    // Takes the codec's resolver (see the worker's wrapped()) once; later calls are ignored.
    function install(r) { if (resolver === undefined) resolver = r; }
    Object.defineProperty(g, '__outpostInstall', { value: install, writable: false, configurable: false, enumerable: false });
    // Plain, non-configurable data slots: a codec cannot turn them into accessors that would
    // run its code when the worker writes the next inputs (outside any timeout).
    for (const [name, value] of [['__outpostKind', 0], ['__outpostInputs', ''], ['__outpostTimes', ''], ['__outpostMax', 0], ['__outpostOnce', false]]) {
      Object.defineProperty(g, name, { value: value, writable: true, configurable: false, enumerable: false });
    }
  })(this);
`;
