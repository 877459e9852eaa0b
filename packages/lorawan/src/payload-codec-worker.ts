// The worker side of the TS013 codec runner, as source text: the worker is started with
// `eval: true`, so it does not depend on where the built files land. Inside the worker the codec
// runs in a `vm` context with no Node globals, no code generation from strings, promise jobs
// drained inside the evaluation, and a timeout on every evaluation. Only strings cross into and
// out of the context, so no object of the worker's realm (whose constructors reach `process`)
// is ever visible to the codec.

/** Source of the codec worker. */
export const WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const vm = require('node:vm');

const context = vm.createContext(Object.create(null), {
  name: 'ts013-codec',
  codeGeneration: { strings: false, wasm: false },
  microtaskMode: 'afterEvaluate',
});

vm.runInContext(workerData.bootstrap, context, { filename: 'outpost-bootstrap.js' });

try {
  new vm.Script(workerData.source, { filename: 'codec.js' }).runInContext(context, { timeout: workerData.loadTimeoutMs });
  parentPort.postMessage({ type: 'ready' });
} catch (e) {
  parentPort.postMessage({ type: 'load-failed', message: e && e.message ? String(e.message) : String(e) });
}

context.__outpostMax = workerData.maxResultBytes;
const call = new vm.Script('__outpostRun(__outpostKind, __outpostInputs, __outpostTimes, __outpostMax)', { filename: 'outpost-dispatch.js' });
parentPort.on('message', (m) => {
  context.__outpostKind = m.kind;
  context.__outpostInputs = m.inputs;
  context.__outpostTimes = m.times;
  try {
    const out = call.runInContext(context, { timeout: m.timeoutMs });
    parentPort.postMessage({ type: 'done', id: m.id, out: typeof out === 'string' ? out : '[]' });
  } catch (e) {
    const timedOut = e && e.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
    parentPort.postMessage({ type: 'failed', id: m.id, timedOut, message: e && e.message ? String(e.message) : String(e) });
  }
});
`;

/**
 * Runs first inside the context, before the codec. It captures JSON, Date and Array.isArray so
 * a codec that replaces them cannot change how inputs are built or results are read, and
 * defines the dispatcher the worker calls (LoRaWAN TS013-1.0.0: `decodeUplink({ bytes, fPort,
 * recvTime })`, `encodeDownlink({ data })`, `decodeDownlink({ bytes, fPort })`).
 */
export const CONTEXT_BOOTSTRAP = String.raw`
  (function (g) {
    const parse = JSON.parse, stringify = JSON.stringify, D = Date;
    const fnName = ['decodeUplink', 'encodeDownlink', 'decodeDownlink'];
    // Decode inputs arrive packed in a string (one char per byte: fPort, length, bytes…), which
    // is much cheaper to unpack here than JSON; encodeDownlink inputs arrive as JSON.
    function unpack(packed, timesJson) {
      const times = timesJson === '' ? undefined : parse(timesJson);
      const inputs = [];
      let i = 0;
      while (i < packed.length) {
        const fPort = packed.charCodeAt(i), n = packed.charCodeAt(i + 1);
        const bytes = new Array(n);
        for (let j = 0; j < n; j++) bytes[j] = packed.charCodeAt(i + 2 + j);
        i += 2 + n;
        const input = { bytes: bytes, fPort: fPort };
        if (times !== undefined && times[inputs.length] !== '') input.recvTime = new D(times[inputs.length]);
        inputs.push(input);
      }
      return inputs;
    }
    function run(kind, payload, timesJson, max) {
      const inputs = kind === 1 ? parse(payload) : unpack(payload, timesJson);
      const f = g[fnName[kind]];
      const out = [];
      for (let i = 0; i < inputs.length; i++) {
        if (typeof f !== 'function') { out.push('{"missing":1}'); continue; }
        let r;
        try {
          r = stringify({ result: f(inputs[i]) });
        } catch (e) {
          let message = 'threw a non-error value';
          try { message = e instanceof Error ? String(e.message) : String(e); } catch (e2) { /* keep the default */ }
          r = stringify({ threw: message.slice(0, 500) });
        }
        if (r === undefined) r = '{"result":null}';
        else if (r.length > max) r = '{"tooLarge":' + r.length + '}';
        out.push(r);
      }
      return '[' + out.join(',') + ']';
    }
    Object.defineProperty(g, '__outpostRun', { value: run, writable: false, configurable: false, enumerable: false });
    // Plain, non-configurable data slots: a codec cannot turn them into accessors that would
    // run its code when the worker writes the next inputs (outside any timeout).
    for (const [name, value] of [['__outpostKind', 0], ['__outpostInputs', ''], ['__outpostTimes', ''], ['__outpostMax', 0]]) {
      Object.defineProperty(g, name, { value: value, writable: true, configurable: false, enumerable: false });
    }
  })(this);
`;
