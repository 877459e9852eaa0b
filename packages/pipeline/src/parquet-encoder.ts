// Parquet encoding of a batch, on the calling thread or on a worker thread. Internal.
//
// hyparquet-writer encodes synchronously (about 1.5 µs a row): a 50,000-row file blocks the event
// loop for ~75 ms, and with it every MQTT message and every alert of the hot path. The worker
// encoder moves that work off the event loop; the thread pays only for copying the columns.
// The worker is a small inline script that imports hyparquet-writer by the path this module
// resolves, so it runs the same from the sources, under tsx or vitest, and from dist/.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { TelemetryPoint } from './types.js';

/** Column names of the lake's files, in order. */
export const COLUMNS = ['device', 'time', 'metric', 'value', 'extra'] as const;

/** Turns a batch into the bytes of one Parquet file. */
export interface ParquetEncoder {
  encode(points: readonly TelemetryPoint[], extras: readonly (string | null)[]): Promise<Uint8Array>;
  /** Stops the worker, if any. Encodes after close start a new one. */
  close(): Promise<void>;
  /** Starts the worker (and its import of the Parquet writer) now, so the first batch does not wait for it. */
  warm(): void;
}

/**
 * The columns in a form that crosses a thread boundary cheaply: numbers in transferable arrays,
 * device and metric names dictionary-coded (a fleet has few of them: cloning 50,000 strings per
 * batch took tens of milliseconds of the event loop), `extra` only when a point has one.
 */
interface Columns {
  readonly devices: string[];
  readonly device: Int32Array;
  readonly metrics: string[];
  readonly metric: Int32Array;
  readonly time: Float64Array;
  readonly value: Float64Array;
  readonly isNull: Uint8Array;
  readonly extra: (string | null)[] | null;
}

function columnsOf(points: readonly TelemetryPoint[], extras: readonly (string | null)[]): Columns {
  const n = points.length;
  const c: Columns = { devices: [], device: new Int32Array(n), metrics: [], metric: new Int32Array(n), time: new Float64Array(n), value: new Float64Array(n), isNull: new Uint8Array(n), extra: null };
  const devices = new Map<string, number>();
  const metrics = new Map<string, number>();
  let anyExtra = false;
  for (let i = 0; i < n; i++) {
    const p = points[i] as TelemetryPoint;
    let d = devices.get(p.device);
    if (d === undefined) devices.set(p.device, (d = c.devices.push(p.device) - 1));
    let m = metrics.get(p.metric);
    if (m === undefined) metrics.set(p.metric, (m = c.metrics.push(p.metric) - 1));
    c.device[i] = d;
    c.metric[i] = m;
    c.time[i] = p.time;
    if (p.value === null) c.isNull[i] = 1;
    else c.value[i] = p.value;
    if ((extras[i] ?? null) !== null) anyExtra = true;
  }
  return anyExtra ? { ...c, extra: extras.length === n ? (extras as (string | null)[]) : Array.from({ length: n }, (_, i) => extras[i] ?? null) } : c;
}

/** The encoding itself; its source is also the worker's (keep it free of outside references but `write`). */
function encodeColumns(write: typeof parquetWriteBuffer, names: readonly string[], c: Columns): ArrayBuffer {
  const n = c.time.length;
  const time = new Array<bigint>(n);
  const value = new Array<number | null>(n);
  const device = new Array<string>(n);
  const metric = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    time[i] = BigInt(c.time[i] as number);
    value[i] = c.isNull[i] === 1 ? null : (c.value[i] as number);
    device[i] = c.devices[c.device[i] as number] as string;
    metric[i] = c.metrics[c.metric[i] as number] as string;
  }
  return write({
    columnData: [
      { name: names[0] as string, data: device, type: 'STRING', nullable: false },
      { name: names[1] as string, data: time, type: 'TIMESTAMP', nullable: false },
      { name: names[2] as string, data: metric, type: 'STRING', nullable: false },
      { name: names[3] as string, data: value, type: 'DOUBLE' },
      { name: names[4] as string, data: c.extra ?? new Array<null>(n).fill(null), type: 'STRING' },
    ],
    codec: 'SNAPPY',
    createdBy: 'outpost-pipeline',
  });
}

/** Encodes on the calling thread. */
export function inlineEncoder(): ParquetEncoder {
  return {
    encode: (points, extras) => Promise.resolve(new Uint8Array(encodeColumns(parquetWriteBuffer, COLUMNS, columnsOf(points, extras)))),
    close: () => Promise.resolve(),
    warm: () => undefined,
  };
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const encodeColumns = ${encodeColumns.toString()};
const ready = import(workerData.writer);
parentPort.on('message', async (m) => {
  try {
    const { parquetWriteBuffer } = await ready;
    const buf = encodeColumns(parquetWriteBuffer, workerData.names, m.columns);
    parentPort.postMessage({ id: m.id, buf }, [buf]);
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String((err && err.stack) || err) });
  }
});
`;

const WARM_POINTS: readonly TelemetryPoint[] = Array.from({ length: 64 }, (_, i) => ({ device: `warm-${i % 4}`, time: i, metric: `m${i % 3}`, value: i % 5 === 0 ? null : i / 3 }));
const WARM_EXTRAS: readonly (string | null)[] = WARM_POINTS.map((_, i) => (i % 7 === 0 ? '{"unit":"Cel"}' : null));

/**
 * Encodes on one worker thread, created on first use. Batches queue there in order. If the worker
 * dies, the encodes in flight reject (the lake retries the commit) and the next one starts a new
 * worker. The worker is unref'd while idle, so it never keeps a process alive by itself.
 */
export function workerEncoder(): ParquetEncoder {
  const writer = pathToFileURL(createRequire(import.meta.url).resolve('hyparquet-writer')).href;
  let worker: Worker | undefined;
  let nextId = 0;
  const pending = new Map<number, { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }>();

  function failAll(err: Error): void {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  }

  function start(): Worker {
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { writer, names: COLUMNS } });
    w.on('message', (m: { id: number; buf?: ArrayBuffer; error?: string }) => {
      const p = pending.get(m.id);
      if (p === undefined) return;
      pending.delete(m.id);
      if (m.buf !== undefined) p.resolve(new Uint8Array(m.buf));
      else p.reject(new Error(`parquet encoding failed: ${m.error ?? 'unknown error'}`));
      if (pending.size === 0) w.unref();
    });
    w.on('error', (err) => failAll(new Error(`parquet worker failed: ${err.message}`)));
    w.on('exit', (code) => {
      if (worker === w) worker = undefined;
      if (pending.size > 0) failAll(new Error(`parquet worker exited with code ${code}`));
    });
    w.unref();
    return w;
  }

  const encoder: ParquetEncoder = {
    encode(points, extras) {
      const columns = columnsOf(points, extras);
      const w = (worker ??= start());
      const id = nextId++;
      return new Promise<Uint8Array>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        w.ref(); // an encode in flight keeps the process alive, like the commit waiting for it
        const transfer = [columns.device, columns.metric, columns.time, columns.value, columns.isNull].map((a) => a.buffer as ArrayBuffer);
        w.postMessage({ id, columns }, transfer);
      });
    },
    async close() {
      const w = worker;
      worker = undefined;
      if (w !== undefined) await w.terminate();
    },
    warm() {
      if (worker !== undefined) return;
      worker = start(); // unref'd while idle: it does not keep the process alive
      // One small encode now: the writer's import and the first compilation of its code happen
      // at start-up, not in the first commit (the latency bench's first second held the tail).
      void encoder.encode(WARM_POINTS, WARM_EXTRAS).catch(() => undefined);
    },
  };
  return encoder;
}
